"""The :class:`Facility`: the root of the schema, with its layouts and the records
the solver, plant and reports take."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import tomli_w
from pydantic import PrivateAttr, field_validator

from common.errors import InputError
from common.fluids import Fluid

from .diagnostics import Diagnostic, FacilityError, _fmt, did_you_mean
from .layout import CoolingUnitRecord, HallLayout, RackRecord, _build_layout
from .plant import Plant, Power
from .schema import _W_PER_KW, Building, Campus, Hall, Phase, RackType, RearDoorType, _Model


class Facility(_Model):
    """A whole facility: the root of a facility file, includes and templates resolved.

    Frozen (like every record here): derive a changed copy with ``model_copy(update=...)``
    or edit the file; layouts are computed once per hall and cached.
    """

    format_version: Literal[1] = 1
    campus: Campus
    buildings: list[Building] = []
    phases: list[Phase] = []
    rack_types: dict[str, RackType] = {}
    rear_doors: dict[str, RearDoorType] = {}
    halls: list[Hall] = []
    plant: Plant | None = None
    power: Power | None = None

    _source: Path | None = PrivateAttr(default=None)
    _warnings: list = PrivateAttr(default_factory=list)
    _origins: dict = PrivateAttr(default_factory=dict)
    _layouts: dict = PrivateAttr(default_factory=dict)

    @field_validator("format_version", mode="before")
    @classmethod
    def _integer_version(cls, v):
        if type(v) is not int:      # 1.0 and '1' equal 1 to Python, not to the format
            raise ValueError(f"format_version = {_fmt(v)} is not allowed; it must be the "
                             "integer 1, without quotes: format_version = 1")
        return v

    def __eq__(self, other):
        return type(other) is type(self) and self.model_dump() == other.model_dump()

    __hash__ = None

    def with_changes(self, changes: dict) -> "Facility":
        """A new facility with ``changes`` (``{path: value}``, the paths of ``twin whatif
        --set``, e.g. ``{"halls[H1].rows[A].racks[03].power_kw": 30}``) applied and checked
        again; this one is left as it was (:func:`twin.api.with_changes`)."""
        from twin.api import with_changes
        return with_changes(self, changes)

    # --- access
    @property
    def source(self) -> Path | None:
        """The file this facility was read from (None if built in Python)."""
        return self._source

    @property
    def warnings(self) -> list[Diagnostic]:
        """Warnings found while loading (errors raise instead)."""
        return list(self._warnings)

    @property
    def hall_names(self) -> list[str]:
        return [h.name for h in self.halls]

    @property
    def fluid(self) -> Fluid:
        """The campus air as the thermal core's :class:`kernels.Fluid` (``[campus.air]``)."""
        return self.campus.air.fluid()

    @property
    def rho_cp(self) -> float:
        """``rho * cp`` of the campus air [J/(m3 K)]."""
        return self.campus.air.rho_cp

    def phase(self, name: str) -> Phase:
        """The build phase called ``name``."""
        for p in self.phases:
            if p.name == name:
                return p
        names = [p.name for p in self.phases]
        raise InputError(f"no phase '{name}' in facility '{self.campus.name}'"
                         f"{did_you_mean(name, names)}; phases: {', '.join(names) or '(none)'}")

    def hall(self, name: str | None = None) -> Hall:
        """The hall called ``name`` (``None``: the only hall)."""
        if name is None:
            if len(self.halls) == 1:
                return self.halls[0]
            raise InputError(f"facility '{self.campus.name}' has {len(self.halls)} halls; "
                             f"choose one with --hall: {', '.join(self.hall_names) or '(none)'}")
        for h in self.halls:
            if h.name == name:
                return h
        raise InputError(f"no hall '{name}' in facility '{self.campus.name}'"
                         f"{did_you_mean(name, self.hall_names)}; halls: {', '.join(self.hall_names)}")

    def layout(self, hall_name: str | None = None) -> "HallLayout":
        """Geometry of one hall in metres: racks, units, tiles, panels (see :class:`HallLayout`)."""
        hall = self.hall(hall_name)
        if hall.name not in self._layouts:
            lay, col = _build_layout(self, hall, _hall_index(self, hall))
            errs = [d for d in col.items if d.severity == "error"]
            if errs:
                raise FacilityError(errs)
            self._layouts[hall.name] = lay
        return self._layouts[hall.name]

    # --- records for the solver, plant and reports
    def rack_list(self, utilization: float = 1.0) -> list["RackRecord"]:
        """Every rack of every hall with its power split at ``utilization`` (0..1)."""
        out = []
        for h in self.halls:
            for r in self.layout(h.name).racks:
                out.append(r.record(utilization))
        return out

    def cooling_unit_list(self) -> list["CoolingUnitRecord"]:
        """Every air-side cooling unit of every hall."""
        out = []
        for h in self.halls:
            for u in self.layout(h.name).units:
                out.append(u.record())
        return out

    def summary(self, utilization: float = 1.0) -> list[dict]:
        """One dict per hall: racks, it_kw, air_kw, liquid_kw, cooling_kw, cdu_kw, ..."""
        rows = []
        for h in self.halls:
            lay = self.layout(h.name)
            recs = [r.record(utilization) for r in lay.racks]
            it = sum(r.power_w for r in recs) / _W_PER_KW
            air = sum(r.air_heat_w for r in recs) / _W_PER_KW
            liq = sum(r.liquid_heat_w for r in recs) / _W_PER_KW
            rows.append({
                "hall": h.name, "building": h.building or "", "racks": len(recs),
                "it_kw": it, "air_kw": air, "liquid_kw": liq,
                "cooling_kw": sum(u.capacity_w for u in lay.units) / _W_PER_KW,
                "cdu_kw": sum(c.capacity_kw for c in h.cdus),
                "rack_airflow_m3_s": sum(r.flow_m3_s for r in recs),
                "cooler_airflow_m3_s": sum(u.airflow_m3_s for u in lay.units),
                "liquid_frac": liq / it if it > 0 else 0.0,
            })
        return rows

    # --- writing
    def to_dict(self) -> dict:
        """Plain data, defaults left out, ready for TOML (includes and templates expanded)."""
        d = self.model_dump(mode="python", exclude_none=True, exclude_defaults=True)
        return {"format_version": self.format_version, **d}

    def to_toml(self) -> str:
        """The facility as one self-contained TOML document (reads back equal)."""
        head = (f"# Facility '{self.campus.name}', written by dc-twin: includes, hall files and "
                "templates expanded.\n")
        return head + tomli_w.dumps(self.to_dict())

    def write_toml(self, path) -> Path:
        p = Path(path)
        p.write_text(self.to_toml(), encoding="utf-8")
        return p


def _hall_index(fac: Facility, hall: Hall) -> int:
    for i, h in enumerate(fac.halls):
        if h is hall:
            return i
    return 0
