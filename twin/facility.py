"""Facility description: campus, buildings, halls, racks, cooling, plant and power.

A facility is one human-edited TOML file (plus the files it includes), read with the
standard library's safe ``tomllib`` and written back with ``tomli_w``. The format is
documented by example in ``meshes/*.toml`` and in ``docs/facility-format.md``.

Conventions
-----------
* SI units, the unit in every key name (``power_kw``, ``airflow_m3_s``, ``x_m``); the
  glossary of suffixes is in :mod:`twin.units`.
* Per hall: ``x`` along the hall length (``length_m``), ``y`` across (``width_m``),
  ``z`` up; the origin is the hall's corner on the structural slab, so ``z = 0`` is the
  bottom of the raised-floor plenum. Every ``*_z_m`` and ``*_height_m`` of a hall is
  measured from that slab; a body's ``height_m`` is its own size.
* A footprint is given by its lower corner ``(x_m, y_m)``; ``width_m`` runs along the
  face that ``facing`` names, ``depth_m`` along ``facing``.
* ``facing`` is the direction the rack *intake* (or the cooler *supply*) faces:
  ``"+x"``, ``"-x"``, ``"+y"``, ``"-y"``.

Loading (:func:`load_facility`) runs in four stages, each reporting *all* the problems
it finds as :class:`Diagnostic` records (file, object path, message):

1. read TOML (syntax errors with line and column);
2. resolve ``include`` lists and hall ``file``/``template``/``count`` entries, all inside
   the facility's own folder;
3. check the schema (pydantic v2, ``extra="forbid"``, strict types), with its errors
   translated into our messages and a "did you mean" for unknown keys;
4. check the engineering: geometry, references, capacities (:func:`check_facility`).

Errors raise :class:`FacilityError` (an :class:`kernels.errors.InputError`) carrying all
of them; warnings stay on :attr:`Facility.warnings`.
"""
from __future__ import annotations

import copy
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import tomli_w
import tomllib
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints,
                      ValidationError, field_validator, model_validator)

from kernels.errors import InputError
from kernels.problem import Fluid

__all__ = [
    "Diagnostic", "FacilityError", "Facility", "Campus", "Building", "RackType", "Row",
    "Rack", "CoolingUnit", "TileGroup", "Containment", "CDU", "Hall", "Plant", "Power",
    "load_facility", "loads_facility", "parse_facility", "check_facility",
    "cell_size_warnings", "flow_for_delta_t",
    "idelchik_perforated_plate_k", "Box", "PlacedRack", "PlacedUnit", "PlacedOpening",
    "PlacedPanel", "HallLayout", "RackRecord", "CoolingUnitRecord", "BUILTIN_DIR",
    "MIN_INTAKE_CLEARANCE_M", "MIN_EXHAUST_CLEARANCE_M", "MIN_UNIT_CLEARANCE_M",
]

#: Folder of the shipped facilities and rack library (``builtin:NAME`` includes).
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "meshes"
BUILTIN_INCLUDES = {"racks": "racks/racks.toml"}

#: Free space a rack needs in front of its intake [m]: one 600 mm floor tile. Cold aisles
#: are normally two tiles (1.2 m) wide (ASHRAE TC 9.9, *Design Considerations for Datacom
#: Equipment Centers*, 2nd ed., ch. 4, hot-aisle/cold-aisle layout); below one tile the
#: rack draws its own or its neighbours' exhaust.
MIN_INTAKE_CLEARANCE_M = 0.6
#: Free space behind a rack's exhaust [m] (half a tile) before it is taken as blocked.
MIN_EXHAUST_CLEARANCE_M = 0.3
#: Free space in front of a cooling unit's supply and return faces [m].
MIN_UNIT_CLEARANCE_M = 0.3

_AIR = Fluid()          # air properties shared with the thermal core (rho, cp)
_W_PER_KW = 1e3
_TOL = 1e-6             # geometric tolerance [m]
_MAX_INCLUDE_DEPTH = 16
#: Largest facility (or included) file read [bytes]; the shipped campus is a few kB.
MAX_FILE_BYTES = 4 * 2 ** 20
#: Deepest nesting of tables and arrays in a facility file (the format needs about 4).
MAX_NESTING = 64
_MAX_PER_KIND = 25      # repeated messages of one kind per hall before "and N more"

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
NAME_HELP = ("names may use letters, digits, '_', '.' and '-' and start with a letter or "
             "digit (no '/', no spaces)")


# ----------------------------------------------------------------------------- problems
@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a facility: where it is and what to do about it."""

    severity: Literal["error", "warning"]
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.file, self.path) if p)
        return f"{self.severity}: {where}: {self.message}" if where else \
            f"{self.severity}: {self.message}"


class FacilityError(InputError):
    """A facility with errors; ``diagnostics`` holds every problem found (one per line)."""

    def __init__(self, diagnostics):
        self.diagnostics = list(diagnostics)
        errs = self.errors
        files = sorted({d.file for d in errs if d.file})
        head = f"{len(errs)} error{'s' if len(errs) != 1 else ''} in {', '.join(files) or 'facility'}"
        super().__init__(head + ":\n" + "\n".join(str(d) for d in self.diagnostics))

    @property
    def errors(self):
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self):
        return [d for d in self.diagnostics if d.severity == "warning"]


def _display(path) -> str:
    if path is None or path == "":
        return ""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


# ------------------------------------------------------------------------------- schema
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=64)]
PosReal = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegReal = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Frac = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
OpenFrac = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
PosInt = Annotated[int, Field(ge=1)]

# Plausible ranges: what an engineer could mean. A value outside is a typo or a wrong unit,
# refused with the limit named (``_LIMIT_WHY``) rather than solved or run out of memory.
#: Longest side of a hall [m] (the largest data halls are ~150 m; split a building into halls).
MAX_HALL_SIZE_M = 500.0
#: Highest ceiling above the slab [m]; deepest raised floor and return plenum [m].
MAX_HALL_HEIGHT_M = 30.0
MAX_RAISED_FLOOR_M = 3.0
MAX_PLENUM_M = 10.0
#: Largest rack body [m]: width, depth, height (racks are 0.6-1.2 x 1.0-1.4 x 2.0-2.6 m).
MAX_RACK_WIDTH_M, MAX_RACK_DEPTH_M, MAX_RACK_HEIGHT_M = 3.0, 3.0, 4.0
#: Most power of one rack [kW] (liquid-cooled AI racks reach a few hundred kW).
MAX_RACK_POWER_KW = 2000.0
#: Most racks in one row, cooling units in one entry, patches or tiles in one row of them.
MAX_ROW_RACKS = 500
MAX_UNIT_COUNT = 200
MAX_PATCH_COUNT = 1000
MAX_TILE_COUNT = 1000
#: Most copies of one hall entry (``count`` of a hall), and of one plant or power item.
MAX_HALL_COPIES = 200
MAX_ITEM_COUNT = 1000

#: Largest cooling unit or air handler: airflow [m3/s] and capacity [kW] (the largest air
#: handlers move ~50 m3/s and remove ~2 MW); most air through one rack [m3/s].
MAX_UNIT_AIRFLOW_M3_S = 100.0
MAX_UNIT_CAPACITY_KW = 10_000.0
MAX_RACK_AIRFLOW_M3_S = 50.0
#: One item of the plant or power system [kW, kVA] (chillers, CDUs, towers, UPS and
#: transformers stay below ~100 MW a unit); a site's grid, PPAs and solar [MW].
MAX_PLANT_ITEM_KW = 100_000.0
MAX_SITE_MW = 10_000.0
#: Temperature differences (approach, range, rise) [K]; chiller COP; pumps; voltages;
#: prices [KRW/kWh] and grid carbon [kg CO2/kWh] (coal is ~1).
MAX_DELTA_T_K = 50.0
MAX_COP = 50.0
MAX_PUMP_FLOW_M3_S = 50.0
MAX_PUMP_HEAD_KPA = 5_000.0
MAX_VOLTAGE_KV = 1_200.0
MAX_PRICE_KRW_PER_KWH = 10_000.0
MAX_CARBON_KG_PER_KWH = 2.0
#: Site elevation [m] (the Dead Sea shore to the highest towns).
MIN_ELEVATION_M, MAX_ELEVATION_M = -500.0, 6_000.0


def _upto(hi: float, lo: float = 0.0, strict_lo: bool = True):
    """A finite float in (lo, hi] (or [lo, hi] when ``strict_lo`` is false)."""
    low = {"gt": lo} if strict_lo else {"ge": lo}
    return Annotated[float, Field(le=hi, allow_inf_nan=False, **low)]


HallSize = Annotated[float, Field(gt=0, le=MAX_HALL_SIZE_M, allow_inf_nan=False)]
#: A position in a hall [m]: from its corner, within the largest hall (and as far outside).
Coord = Annotated[float, Field(ge=-MAX_HALL_SIZE_M, le=MAX_HALL_SIZE_M, allow_inf_nan=False)]
UnitFlow = _upto(MAX_UNIT_AIRFLOW_M3_S)
DeltaT = _upto(MAX_DELTA_T_K)
ItemKw = _upto(MAX_PLANT_ITEM_KW)
SiteMw = _upto(MAX_SITE_MW)
Price = _upto(MAX_PRICE_KRW_PER_KWH, strict_lo=False)
Carbon = _upto(MAX_CARBON_KG_PER_KWH, strict_lo=False)
Voltage = _upto(MAX_VOLTAGE_KV)
RackPower = Annotated[float, Field(gt=0, le=MAX_RACK_POWER_KW, allow_inf_nan=False)]
ItemCount = Annotated[int, Field(ge=1, le=MAX_ITEM_COUNT)]
Facing = Literal["+x", "-x", "+y", "-y"]
Axis = Literal["x", "y"]
CoolerType = Literal["crah-downflow", "crah-front", "fan-wall", "inrow", "air-handler"]
Surface = Literal["floor", "ceiling", "-x", "+x", "-y", "+y"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Air(_Model):
    """Air properties of a campus (``[campus.air]``), used by the thermal core
    (``kernels.Fluid``: Boussinesq flow and heat), by the racks' flow from
    ``design_delta_t_k`` and by the heat and coil models (``rho * cp * Q * dT``).

    Defaults: dry air near 22 degC at sea level (ASHRAE Handbook - Fundamentals 2021,
    ch. 33; the same values as ``kernels.problem.Fluid``). The ranges admit air from sea
    level to about 3,000 m (density 0.85 to 1.3 kg/m3) and 0 to 50 degC; a site at
    altitude should state its density (about 1.19 * exp(-z / 8,400 m)).
    """

    density_kg_m3: Annotated[float, Field(ge=0.85, le=1.3, allow_inf_nan=False)] = 1.19
    cp_j_kgk: Annotated[float, Field(ge=990.0, le=1030.0, allow_inf_nan=False)] = 1006.0
    expansion_1_k: Annotated[float, Field(ge=1.0 / 330.0, le=1.0 / 270.0, allow_inf_nan=False)] = 1.0 / 295.0
    reference_temp_c: Annotated[float, Field(ge=0.0, le=50.0, allow_inf_nan=False)] = 22.0
    viscosity_m2_s: Annotated[float, Field(ge=1.2e-5, le=2.4e-5, allow_inf_nan=False)] = 1.5e-5
    diffusivity_m2_s: Annotated[float, Field(ge=1.8e-5, le=3.4e-5, allow_inf_nan=False)] = 2.2e-5

    def fluid(self) -> Fluid:
        """The thermal core's record of these properties."""
        return Fluid(density_kg_m3=self.density_kg_m3, cp_j_kgk=self.cp_j_kgk,
                     viscosity_m2_s=self.viscosity_m2_s, diffusivity_m2_s=self.diffusivity_m2_s,
                     expansion_1_k=self.expansion_1_k, reference_temp_c=self.reference_temp_c)

    @property
    def rho_cp(self) -> float:
        """Volumetric heat capacity ``rho * cp`` [J/(m3 K)]."""
        return self.density_kg_m3 * self.cp_j_kgk


class Campus(_Model):
    """The site. ``weather``: ``"builtin:NAME"`` (e.g. ``builtin:ulsan``) or the path of
    an EnergyPlus EPW file inside the facility's folder."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    location: str = ""
    lat_deg: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lon_deg: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
    elevation_m: Annotated[float, Field(ge=MIN_ELEVATION_M, le=MAX_ELEVATION_M, allow_inf_nan=False)] = 0.0
    weather: Annotated[str, StringConstraints(min_length=1)]
    description: str = ""
    air: Air = Air()


class Building(_Model):
    name: Name
    description: str = ""
    floor_area_m2: _upto(1e6) | None = None


class RackType(_Model):
    """Nameplate data of a kind of rack (one entry of ``[rack_types.NAME]``).

    Give exactly one of ``design_airflow_m3_s`` (air through the rack at nameplate power)
    and ``design_delta_t_k`` (intake-to-exhaust rise of the *air-side* heat at nameplate
    power); the other follows from ``Q = P_air / (rho * cp * dT)``.
    ``liquid_capture_frac`` is the share of the power carried away by liquid.
    """

    description: str = ""
    source: str = ""
    nameplate_power_kw: RackPower
    idle_power_kw: Annotated[float, Field(ge=0, le=MAX_RACK_POWER_KW, allow_inf_nan=False)]
    design_airflow_m3_s: _upto(MAX_RACK_AIRFLOW_M3_S) | None = None
    design_delta_t_k: DeltaT | None = None
    liquid_capture_frac: Frac = 0.0
    width_m: Annotated[float, Field(gt=0, le=MAX_RACK_WIDTH_M, allow_inf_nan=False)]
    depth_m: Annotated[float, Field(gt=0, le=MAX_RACK_DEPTH_M, allow_inf_nan=False)]
    height_m: Annotated[float, Field(gt=0, le=MAX_RACK_HEIGHT_M, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _check(self):
        if (self.design_airflow_m3_s is None) == (self.design_delta_t_k is None):
            raise ValueError("give exactly one of design_airflow_m3_s and design_delta_t_k")
        if self.idle_power_kw > self.nameplate_power_kw:
            raise ValueError(f"idle_power_kw = {self.idle_power_kw} is above nameplate_power_kw "
                             f"= {self.nameplate_power_kw}")
        return self

    def design_flow_m3_s(self, design_power_kw: float | None = None,
                         rho_cp_j_m3k: float | None = None) -> float:
        """Air through the rack at its design power [m3/s] (fans at design speed).

        ``rho_cp_j_m3k``: the campus air's ``rho * cp`` (default: ``kernels.Fluid()``).
        """
        p = self.nameplate_power_kw if design_power_kw is None else design_power_kw
        if self.design_airflow_m3_s is not None:
            return self.design_airflow_m3_s * p / self.nameplate_power_kw
        air_w = p * _W_PER_KW * (1.0 - self.liquid_capture_frac)
        rcp = _AIR.rho_cp if rho_cp_j_m3k is None else rho_cp_j_m3k
        return air_w / (rcp * self.design_delta_t_k)


def _check_along_facing(along, facing, what):
    if along is not None and along == facing[1]:
        other = "y" if along == "x" else "x"
        raise ValueError(f"{what} placed along {along} must face +{other} or -{other} "
                         f"(they stand side by side along {along}); facing = '{facing}'")


class Row(_Model):
    """``count`` racks of one ``type`` (or one per entry of ``types``) side by side.

    ``(x_m, y_m)`` is the lower corner of the row; rack ``i`` (numbered from 1, device
    name ``HALL/ROW/NN``) starts ``(i-1) * pitch_m`` along ``along`` (default: each rack
    beside the previous). Fronts (intakes) are aligned when depths differ.
    ``power_kw`` overrides every rack's design power.
    """

    name: Name
    type: str | None = None
    types: Annotated[list[str], Field(max_length=MAX_ROW_RACKS)] | None = None
    count: Annotated[int, Field(ge=1, le=MAX_ROW_RACKS)] | None = None
    x_m: Coord
    y_m: Coord
    along: Axis = "x"
    pitch_m: HallSize | None = None
    facing: Facing
    power_kw: RackPower | None = None

    @model_validator(mode="after")
    def _check(self):
        if (self.type is None) == (self.types is None):
            raise ValueError("give either type (with count) or types (one per rack)")
        if self.type is not None and self.count is None:
            raise ValueError("type needs count (the number of racks in the row)")
        if self.types is not None:
            if not self.types:
                raise ValueError("types is empty")
            if self.count is not None and self.count != len(self.types):
                raise ValueError(f"count = {self.count} but types lists {len(self.types)} racks")
        _check_along_facing(self.along, self.facing, "racks")
        return self

    def type_names(self) -> list[str]:
        return list(self.types) if self.types is not None else [self.type] * int(self.count)


class Rack(_Model):
    """One rack; device name ``HALL/NAME``."""

    name: Name
    type: str
    x_m: Coord
    y_m: Coord
    facing: Facing
    power_kw: RackPower | None = None


_UNIT_BODY_KEYS = ("x_m", "y_m", "width_m", "depth_m", "height_m", "facing")


class CoolingUnit(_Model):
    """A CRAH/CRAC, fan wall or in-row cooler (``count`` identical units at ``pitch_m``),
    or an air handler outside the hall.

    ``facing`` is the supply direction. ``intake`` (return side): ``"top"`` or ``"back"``;
    default top for ``crah-downflow`` and ``crah-front``, back for ``fan-wall`` and
    ``inrow``. A ``crah-downflow`` unit stands ``height_m`` above the raised floor and
    its body continues down to the slab: it supplies into the plenum through its front.

    An ``air-handler`` has no body in the hall (leave out ``x_m``, ``y_m``, ``width_m``,
    ``depth_m``, ``height_m``, ``facing``, ``intake``): its air enters through the
    ``[[halls.diffusers]]`` and leaves through the ``[[halls.returns]]`` that name it.
    Its coil, fan and plant models are those of a CRAH (same keys).
    """

    name: Name
    type: CoolerType
    x_m: Coord | None = None
    y_m: Coord | None = None
    width_m: HallSize | None = None
    depth_m: HallSize | None = None
    height_m: Annotated[float, Field(gt=0, le=MAX_HALL_HEIGHT_M, allow_inf_nan=False)] | None = None
    facing: Facing | None = None
    airflow_m3_s: UnitFlow
    supply_temp_c: Annotated[float, Field(ge=5, le=45, allow_inf_nan=False)]
    capacity_kw: _upto(MAX_UNIT_CAPACITY_KW)
    intake: Literal["top", "back"] | None = None
    count: Annotated[int, Field(ge=1, le=MAX_UNIT_COUNT)] = 1
    along: Axis | None = None
    pitch_m: HallSize | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.type == "air-handler":
            given = [k for k in _UNIT_BODY_KEYS + ("intake", "along", "pitch_m")
                     if getattr(self, k) is not None]
            if given:
                raise ValueError(f"an air-handler stands outside the hall: leave out "
                                 f"{', '.join(given)} (its air comes and goes through "
                                 "[[halls.diffusers]] and [[halls.returns]])")
            if self.count > 1:
                raise ValueError("an air-handler entry is one unit (count = 1): its diffusers "
                                 "and returns name it; add one entry per air handler")
            return self
        missing = [k for k in _UNIT_BODY_KEYS if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.type} unit stands in the hall: give {', '.join(missing)}")
        if self.count > 1 and self.along is None:
            raise ValueError("count > 1 needs along = 'x' or 'y' (the direction the units repeat)")
        _check_along_facing(self.along, self.facing, "units")
        return self

    @property
    def outside(self) -> bool:
        """True for an air handler (no body in the hall)."""
        return self.type == "air-handler"

    @property
    def intake_side(self) -> str | None:
        if self.outside:
            return None
        if self.intake is not None:
            return self.intake
        return "top" if self.type in ("crah-downflow", "crah-front") else "back"


class Patch(_Model):
    """A supply diffuser (``[[halls.diffusers]]``) or return grille (``[[halls.returns]]``)
    of an air handler: an axis-aligned rectangle on one surface of the room.

    ``surface``: ``"floor"`` (slab-floor halls only), ``"ceiling"`` (halls without a return
    plenum), or a wall ``"-x"`` (x = 0), ``"+x"`` (x = length_m), ``"-y"``, ``"+y"``.
    On the floor or ceiling the rectangle is ``x_m``, ``y_m`` (lower corner), ``length_m``
    (along x) and ``width_m`` (along y). On a wall it is the coordinate along the wall
    (``y_m`` on the x walls, ``x_m`` on the y walls) with ``length_m`` along the wall,
    and ``z_m`` (above the slab) with ``height_m``.

    Air crosses the patch normal to the surface (into the room at a diffuser, out at a
    return) at one speed over the patch. ``airflow_m3_s`` (per patch; each patch of a row)
    may be left out: patches without it share what the stated ones leave of the unit's
    flow in proportion to their areas. ``count`` > 1 makes a row of identical patches
    ``pitch_m`` apart (default: side by side) along ``along``, named ``NAME-NN``.
    """

    name: Name
    unit: Name
    surface: Surface
    x_m: Coord | None = None
    y_m: Coord | None = None
    z_m: Coord | None = None
    length_m: HallSize
    width_m: HallSize | None = None
    height_m: Annotated[float, Field(gt=0, le=MAX_HALL_HEIGHT_M, allow_inf_nan=False)] | None = None
    airflow_m3_s: UnitFlow | None = None
    count: Annotated[int, Field(ge=1, le=MAX_PATCH_COUNT)] = 1
    along: Axis | None = None
    pitch_m: HallSize | None = None

    @model_validator(mode="after")
    def _check(self):
        s = self.surface
        if s in ("floor", "ceiling"):
            need, refuse = ("x_m", "y_m", "width_m"), ("z_m", "height_m")
        elif s in ("-x", "+x"):
            need, refuse = ("y_m", "z_m", "height_m"), ("x_m", "width_m")
        else:
            need, refuse = ("x_m", "z_m", "height_m"), ("y_m", "width_m")
        missing = [k for k in need if getattr(self, k) is None]
        extra = [k for k in refuse if getattr(self, k) is not None]
        if missing or extra:
            where = "the floor or ceiling" if s in ("floor", "ceiling") else f"wall '{s}'"
            parts = []
            if missing:
                parts.append(f"give {', '.join(missing)}")
            if extra:
                parts.append(f"leave out {', '.join(extra)}")
            raise ValueError(f"a patch on {where} is placed by length_m and "
                             f"{', '.join(need)}: {'; '.join(parts)}")
        if self.count > 1:
            if self.along is None:
                raise ValueError("count > 1 needs along = 'x' or 'y' (the direction the patches repeat)")
            if s in ("-x", "+x") and self.along != "y" or s in ("-y", "+y") and self.along != "x":
                raise ValueError(f"patches on wall '{s}' repeat along the wall: along = "
                                 f"'{'y' if s in ('-x', '+x') else 'x'}'")
        return self


def idelchik_perforated_plate_k(open_area_frac: float) -> float:
    """Loss coefficient of a thin perforated plate, referred to the approach velocity.

    ``zeta = (0.707 * (1 - f)**0.375 + 1 - f)**2 / f**2`` with ``f`` the open-area
    fraction (sharp-edged orifices, thin plate, Re > 1e5).

    Source: I.E. Idelchik, *Handbook of Hydraulic Resistance*, 3rd ed. (1994),
    diagram 8-1. Valid for 0 < f < 1; perforated floor tiles are 0.25 (standard) to
    0.56 (grates).
    """
    f = float(open_area_frac)
    if not 0.0 < f < 1.0:
        raise InputError(f"open_area_frac = {f}: it must be between 0 and 1 (exclusive)")
    return (0.707 * (1.0 - f) ** 0.375 + 1.0 - f) ** 2 / f ** 2


class TileGroup(_Model):
    """Perforated floor tiles (or ceiling return grilles): a row of ``count`` square tiles
    of ``tile_m`` along ``along``, or a ``length_m`` x ``width_m`` area (x by y); lower
    corner ``(x_m, y_m)``. Give ``open_area_frac`` (loss from Idelchik) or ``k_loss``."""

    name: Name
    x_m: Coord
    y_m: Coord
    count: Annotated[int, Field(ge=1, le=MAX_TILE_COUNT)] | None = None
    along: Axis = "x"
    length_m: HallSize | None = None
    width_m: HallSize | None = None
    tile_m: Annotated[float, Field(gt=0, le=3.0, allow_inf_nan=False)] = 0.6
    open_area_frac: OpenFrac | None = None
    k_loss: _upto(1e4) | None = None

    @model_validator(mode="after")
    def _check(self):
        area = self.length_m is not None or self.width_m is not None
        if (self.count is None) == (not area) or (area and (self.length_m is None or self.width_m is None)):
            raise ValueError("give either count (a row of tiles) or length_m and width_m (an area)")
        if (self.open_area_frac is None) == (self.k_loss is None):
            raise ValueError("give exactly one of open_area_frac and k_loss")
        return self

    @property
    def loss_coefficient(self) -> float:
        if self.k_loss is not None:
            return self.k_loss
        return idelchik_perforated_plate_k(self.open_area_frac)

    def rect(self):
        """(x0, x1, y0, y1) [m]."""
        if self.count is not None:
            n = self.count * self.tile_m
            if self.along == "x":
                return (self.x_m, self.x_m + n, self.y_m, self.y_m + self.tile_m)
            return (self.x_m, self.x_m + self.tile_m, self.y_m, self.y_m + n)
        return (self.x_m, self.x_m + self.length_m, self.y_m, self.y_m + self.width_m)


class Containment(_Model):
    """Hot- or cold-aisle containment of the aisle between two parallel rows: a roof at
    ``roof_z_m`` (default: the top of the tallest rack or unit in the two rows) and doors
    at both ends. A ``roof_z_m`` above the rows also closes the aisle's two sides from
    the rows' top up to it (panels over the racks); with ``roof = false`` and
    ``roof_z_m`` at the ceiling this is a chimney to ceiling returns. The aisle runs along the rows and over in-row units in line with them;
    ``start_m``/``end_m`` override its ends (coordinates along the rows).

    Doors are never airtight: ``door_leakage_frac`` is the open fraction of a door (gaps
    around and under it; 0.02 by default, 0 for sealed doors), meshed as a quadratic loss
    (Idelchik, diagram 8-1). It lets a contained aisle whose racks move more or less air than
    its coolers spill or draw the difference through the doors, as a real one does."""

    name: Name
    kind: Literal["hot-aisle", "cold-aisle"]
    rows: Annotated[list[Name], Field(min_length=2, max_length=2)]
    doors: bool = True
    door_leakage_frac: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.02
    roof: bool = True
    roof_z_m: _upto(MAX_HALL_HEIGHT_M) | None = None
    start_m: Coord | None = None
    end_m: Coord | None = None


class CDU(_Model):
    """Coolant distribution unit of a liquid loop: ``serves`` lists row names, rack names
    (``ROW/NN`` for a rack of a row, or an individual rack's name) or ``"*"`` (every
    liquid-cooled rack of the hall). ``supply_temp_c``: technology-cooling-system supply to
    the racks; ``approach_k``: above the facility-water supply."""

    name: Name
    capacity_kw: ItemKw
    approach_k: DeltaT
    supply_temp_c: Annotated[float, Field(ge=5, le=70, allow_inf_nan=False)] = 35.0
    serves: Annotated[list[str], Field(min_length=1)]


class Hall(_Model):
    """A data hall. Heights are z above the structural slab: the room is between
    ``raised_floor_height_m`` (0: no raised floor) and ``ceiling_height_m``; a return
    plenum of ``return_plenum_height_m`` (0: none) sits above the ceiling."""

    name: Name
    building: Name | None = None
    description: str = ""
    length_m: HallSize
    width_m: HallSize
    ceiling_height_m: Annotated[float, Field(gt=0, le=MAX_HALL_HEIGHT_M, allow_inf_nan=False)]
    raised_floor_height_m: Annotated[float, Field(ge=0, le=MAX_RAISED_FLOOR_M, allow_inf_nan=False)] = 0.0
    return_plenum_height_m: Annotated[float, Field(ge=0, le=MAX_PLENUM_M, allow_inf_nan=False)] = 0.0
    rows: list[Row] = []
    racks: list[Rack] = []
    cooling_units: list[CoolingUnit] = []
    diffusers: list[Patch] = []
    returns: list[Patch] = []
    tiles: list[TileGroup] = []
    ceiling_grilles: list[TileGroup] = []
    containment: list[Containment] = []
    cdus: list[CDU] = []

    @property
    def height_m(self) -> float:
        """Height of the whole air volume, slab to roof [m]."""
        return self.ceiling_height_m + self.return_plenum_height_m


# --- plant and power: typed records for the plant, power and carbon models ----------------
class Chiller(_Model):
    """``count`` identical chillers. ``cop`` at the rating point (AHRI 550/590: 6.7 degC
    chilled water leaving, 29.4 degC condenser water entering for water-cooled)."""

    name: Name
    type: Literal["water-cooled-centrifugal", "water-cooled-screw", "air-cooled-screw",
                  "air-cooled-scroll", "absorption"] = "water-cooled-centrifugal"
    count: ItemCount = 1
    capacity_kw: ItemKw
    cop: _upto(MAX_COP)


class CoolingTower(_Model):
    """``approach_k`` above the ambient wet bulb and ``range_k`` at design."""

    name: Name
    count: ItemCount = 1
    capacity_kw: ItemKw
    approach_k: DeltaT
    range_k: DeltaT
    fan_power_kw: ItemKw


class DryCooler(_Model):
    """``approach_k`` of the leaving fluid above the ambient dry bulb at design;
    ``adiabatic``: evaporative pre-cooling of the inlet air on hot days."""

    name: Name
    count: ItemCount = 1
    capacity_kw: ItemKw
    approach_k: DeltaT
    fan_power_kw: ItemKw
    adiabatic: bool = False
    loop: str = "facility-water"


class Pump(_Model):
    name: Name
    loop: Annotated[str, StringConstraints(min_length=1)]
    count: ItemCount = 1
    flow_m3_s: _upto(MAX_PUMP_FLOW_M3_S)
    head_kpa: _upto(MAX_PUMP_HEAD_KPA)
    efficiency_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.75


class Economizer(_Model):
    """Free cooling: ``water-side`` (towers through a plate heat exchanger of
    ``hx_approach_k``) or ``air-side``."""

    kind: Literal["none", "water-side", "air-side"] = "water-side"
    hx_approach_k: DeltaT = 1.5


class Plant(_Model):
    chilled_water_supply_temp_c: Annotated[float, Field(ge=2, le=30, allow_inf_nan=False)] = 14.0
    chilled_water_return_temp_c: Annotated[float, Field(ge=2, le=40, allow_inf_nan=False)] = 22.0
    facility_water_supply_temp_c: Annotated[float, Field(ge=5, le=60, allow_inf_nan=False)] = 32.0
    economizer: Economizer | None = None
    chillers: list[Chiller] = []
    cooling_towers: list[CoolingTower] = []
    dry_coolers: list[DryCooler] = []
    pumps: list[Pump] = []

    @model_validator(mode="after")
    def _check(self):
        if self.chilled_water_return_temp_c <= self.chilled_water_supply_temp_c:
            raise ValueError("chilled_water_return_temp_c must be above chilled_water_supply_temp_c")
        return self


class Ups(_Model):
    name: Name
    count: ItemCount = 1
    capacity_kw: ItemKw
    efficiency_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class Transformer(_Model):
    name: Name
    count: ItemCount = 1
    capacity_kva: ItemKw
    efficiency_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    primary_kv: Voltage
    secondary_kv: Voltage


class GridSupply(_Model):
    """Utility supply: connection size, emission factor and energy tariff."""

    capacity_mw: SiteMw
    carbon_kg_per_kwh: Carbon
    tariff_krw_per_kwh: Price
    voltage_kv: Voltage | None = None


class Contract(_Model):
    """A renewable power purchase agreement (``capacity_factor_frac``: annual energy /
    (capacity * 8760 h))."""

    name: Name
    kind: Literal["solar", "onshore-wind", "offshore-wind", "hydro", "nuclear", "other"]
    capacity_mw: SiteMw
    capacity_factor_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    price_krw_per_kwh: Price
    carbon_kg_per_kwh: Carbon = 0.0


class Power(_Model):
    grid: GridSupply | None = None
    solar_mw: _upto(MAX_SITE_MW, strict_lo=False) = 0.0
    solar_capacity_factor_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.15
    contracts: list[Contract] = []
    ups: list[Ups] = []
    transformers: list[Transformer] = []


class Facility(_Model):
    """A whole facility: the root of a facility file, includes and templates resolved.

    Frozen (like every record here): derive a changed copy with ``model_copy(update=...)``
    or edit the file; layouts are computed once per hall and cached.
    """

    format_version: Literal[1] = 1
    campus: Campus
    buildings: list[Building] = []
    rack_types: dict[str, RackType] = {}
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
                         f"{_did_you_mean(name, self.hall_names)}; halls: {', '.join(self.hall_names)}")

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


def _did_you_mean(word, choices) -> str:
    m = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{m[0]}'?" if m else ""


# ------------------------------------------------------------------------------ layout
@dataclass(frozen=True)
class Box:
    """Axis-aligned box [m] in hall coordinates."""

    x0: float
    x1: float
    y0: float
    y1: float
    z0: float
    z1: float

    def lo(self, axis: int) -> float:
        return (self.x0, self.y0, self.z0)[axis]

    def hi(self, axis: int) -> float:
        return (self.x1, self.y1, self.z1)[axis]

    def size(self, axis: int) -> float:
        return self.hi(axis) - self.lo(axis)

    def bounds(self):
        return (self.x0, self.x1, self.y0, self.y1, self.z0, self.z1)

    def intersects(self, other: "Box", tol: float = _TOL) -> bool:
        return all(self.lo(a) < other.hi(a) - tol and other.lo(a) < self.hi(a) - tol
                   for a in range(3))


_FACING_AXIS = {"+x": 0, "-x": 0, "+y": 1, "-y": 1}
_FACING_SIGN = {"+x": 1, "-x": -1, "+y": 1, "-y": -1}
_OPPOSITE = {"+x": "-x", "-x": "+x", "+y": "-y", "-y": "+y"}


def _footprint(x_m, y_m, width_m, depth_m, facing):
    """(x0, x1, y0, y1) of a body whose face of width ``width_m`` looks along ``facing``."""
    if _FACING_AXIS[facing] == 1:
        return (x_m, x_m + width_m, y_m, y_m + depth_m)
    return (x_m, x_m + depth_m, y_m, y_m + width_m)


def _front_box(box: Box, facing: str, reach: float) -> Box:
    """The slab of space of thickness ``reach`` in front of ``box``'s ``facing`` face."""
    a, s = _FACING_AXIS[facing], _FACING_SIGN[facing]
    lo = [box.x0, box.y0, box.z0]
    hi = [box.x1, box.y1, box.z1]
    if s > 0:
        lo[a], hi[a] = hi[a], hi[a] + reach
    else:
        lo[a], hi[a] = lo[a] - reach, lo[a]
    return Box(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])


@dataclass(frozen=True)
class RackRecord:
    """A rack's load at one utilization (what the solver, plant and reports use)."""

    name: str
    hall: str
    type: str
    power_w: float
    air_heat_w: float
    liquid_heat_w: float
    flow_m3_s: float


@dataclass(frozen=True)
class CoolingUnitRecord:
    name: str
    hall: str
    type: str
    airflow_m3_s: float
    supply_temp_c: float
    capacity_w: float


@dataclass(frozen=True)
class PlacedRack:
    """A rack placed in a hall. ``name`` is the device name (``HALL/ROW/NN`` or
    ``HALL/RACK``), ``path`` the object path used in messages."""

    name: str
    path: str
    hall: str
    row: str | None
    type_name: str
    rack_type: RackType
    box: Box
    facing: str
    design_power_w: float
    idle_power_w: float
    flow_m3_s: float

    @property
    def liquid_capture_frac(self) -> float:
        return self.rack_type.liquid_capture_frac

    def power_w(self, utilization: float = 1.0) -> float:
        """Electrical power at ``utilization`` (0: idle, 1: design), linear in between."""
        u = float(utilization)
        if not (np.isfinite(u) and 0.0 <= u <= 1.0):
            raise InputError(f"rack {self.name}: utilization {u} must be between 0 and 1")
        return self.idle_power_w + u * (self.design_power_w - self.idle_power_w)

    def record(self, utilization: float = 1.0, power_w: float | None = None) -> RackRecord:
        p = self.power_w(utilization) if power_w is None else float(power_w)
        liq = p * self.liquid_capture_frac
        return RackRecord(self.name, self.hall, self.type_name, p, p - liq, liq, self.flow_m3_s)


@dataclass(frozen=True)
class PlacedUnit:
    """A cooling unit of a hall. An air handler (``outside``) has no ``box``, ``facing``
    or ``intake``: its air crosses the hall's diffusers and returns (:class:`PlacedPatch`)."""

    name: str
    path: str
    hall: str
    type: str
    box: Box | None
    facing: str | None
    intake: str | None
    airflow_m3_s: float
    supply_temp_c: float
    capacity_w: float

    @property
    def outside(self) -> bool:
        return self.box is None

    def record(self) -> CoolingUnitRecord:
        return CoolingUnitRecord(self.name, self.hall, self.type, self.airflow_m3_s,
                                 self.supply_temp_c, self.capacity_w)


@dataclass(frozen=True)
class PlacedOpening:
    """Perforated tiles (``kind="tile"``, in the raised floor) or return grilles
    (``kind="grille"``, in the suspended ceiling): a plan rectangle and a loss."""

    name: str
    path: str
    kind: str
    rect: tuple
    k_loss: float


#: Surface of a patch -> (axis of its normal, side: -1 the lower wall of the room, +1 the upper)
PATCH_SURFACE = {"floor": (2, -1), "ceiling": (2, 1), "-x": (0, -1), "+x": (0, 1),
                 "-y": (1, -1), "+y": (1, 1)}


@dataclass(frozen=True)
class PlacedPatch:
    """A supply diffuser (``role="supply"``) or return grille (``role="return"``) of an
    air handler, placed: ``box`` has zero thickness along the surface's normal ``axis``
    and lies on the room's surface (``side`` -1: floor or a wall at 0; +1: ceiling or the
    far wall). ``airflow_m3_s`` is resolved (stated, or the unit's flow by area)."""

    name: str
    path: str
    hall: str
    role: str
    unit: str
    surface: str
    box: Box
    airflow_m3_s: float

    @property
    def axis(self) -> int:
        return PATCH_SURFACE[self.surface][0]

    @property
    def side(self) -> int:
        return PATCH_SURFACE[self.surface][1]

    @property
    def area_m2(self) -> float:
        return math.prod(self.box.size(a) for a in range(3) if a != self.axis)

    @property
    def inward(self) -> int:
        """Direction of the supply air along ``axis``: into the room."""
        return -self.side


@dataclass(frozen=True)
class PlacedPanel:
    """A containment panel: a plane normal to ``axis`` at ``pos_m``; the mesh puts it one
    cell thick on side ``side`` of the plane. ``box`` spans the panel (zero thickness)."""

    name: str
    path: str
    axis: int
    pos_m: float
    side: int
    box: Box


@dataclass
class HallLayout:
    """Everything placed in one hall, in metres (input of :func:`twin.thermal.mesh.mesh_hall`)."""

    hall: Hall
    racks: list[PlacedRack] = field(default_factory=list)
    units: list[PlacedUnit] = field(default_factory=list)
    patches: list[PlacedPatch] = field(default_factory=list)
    openings: list[PlacedOpening] = field(default_factory=list)
    panels: list[PlacedPanel] = field(default_factory=list)
    cdu_racks: dict = field(default_factory=dict)     # CDU name -> rack device names

    @property
    def floor_z_m(self) -> float:
        return self.hall.raised_floor_height_m

    @property
    def size_m(self):
        return (self.hall.length_m, self.hall.width_m, self.hall.height_m)

    def rack(self, name: str) -> PlacedRack:
        for r in self.racks:
            if r.name == name:
                return r
        raise InputError(f"no rack '{name}' in hall {self.hall.name}"
                         f"{_did_you_mean(name, [r.name for r in self.racks])}")


class _Collector:
    """Collects diagnostics with a cap per (hall, kind)."""

    def __init__(self, file):
        self.file = file
        self.items: list[Diagnostic] = []
        self._counts: dict = {}

    def add(self, severity, path, message, kind=None, file=None):
        if kind is not None:
            n = self._counts.get(kind, 0) + 1
            self._counts[kind] = n
            if n > _MAX_PER_KIND:
                return
        self.items.append(Diagnostic(severity, _display(file or self.file), path, message))

    def finish(self):
        for kind, n in self._counts.items():
            if n > _MAX_PER_KIND:
                sev, path = kind[0], kind[1]
                self.items.append(Diagnostic(sev, _display(self.file), path,
                                             f"... and {n - _MAX_PER_KIND} more like the above ({kind[2]})"))
        return self.items


def _hall_file(fac: Facility, index: int):
    return fac._origins.get(("halls", index)) or fac._source


def _build_layout(fac: Facility, hall: Hall, hidx: int, col: _Collector | None = None):
    """Place every object of ``hall``; collect geometry problems found on the way."""
    col = col or _Collector(_hall_file(fac, hidx))
    hp = f"halls[{hall.name}]"
    lay = HallLayout(hall=hall)
    floor = hall.raised_floor_height_m

    # racks of rows
    for row in hall.rows:
        rp = f"{hp}.rows[{row.name}]"
        names = row.type_names()
        rtypes = []
        for i, tn in enumerate(names):
            rt = fac.rack_types.get(tn)
            if rt is None and (row.types is not None or i == 0):
                col.add("error", rp + (f".types[{i}]" if row.types is not None else ".type"),
                        f"rack type '{tn}' does not exist{_did_you_mean(tn, fac.rack_types)}; "
                        f"known types: {', '.join(sorted(fac.rack_types)) or '(none: include a rack library)'}",
                        kind=("error", rp, "unknown rack type"))
            rtypes.append(rt)
        if any(rt is None for rt in rtypes):
            continue
        depth = max(rt.depth_m for rt in rtypes)
        a = 0 if row.along == "x" else 1
        offset = 0.0
        for i, (tn, rt) in enumerate(zip(names, rtypes)):
            start = (row.x_m, row.y_m)[a] + (i * row.pitch_m if row.pitch_m else offset)
            offset += rt.width_m
            # fronts aligned: the intake faces sit on one line
            s = _FACING_SIGN[row.facing]
            across0 = (row.x_m, row.y_m)[1 - a] + ((depth - rt.depth_m) if s > 0 else 0.0)
            if a == 0:
                x0, y0 = start, across0
            else:
                x0, y0 = across0, start
            fx = _footprint(x0, y0, rt.width_m, rt.depth_m, row.facing)
            num = f"{i + 1:02d}"
            p = rt.nameplate_power_kw if row.power_kw is None else row.power_kw
            scale = p / rt.nameplate_power_kw
            lay.racks.append(PlacedRack(
                name=f"{hall.name}/{row.name}/{num}", path=f"{rp}.racks[{num}]", hall=hall.name,
                row=row.name, type_name=tn, rack_type=rt,
                box=Box(*fx, floor, floor + rt.height_m), facing=row.facing,
                design_power_w=p * _W_PER_KW, idle_power_w=rt.idle_power_kw * scale * _W_PER_KW,
                flow_m3_s=rt.design_flow_m3_s(p, fac.campus.air.rho_cp)))
    # individual racks
    for rk in hall.racks:
        rp = f"{hp}.racks[{rk.name}]"
        rt = fac.rack_types.get(rk.type)
        if rt is None:
            col.add("error", rp + ".type",
                    f"rack type '{rk.type}' does not exist{_did_you_mean(rk.type, fac.rack_types)}; "
                    f"known types: {', '.join(sorted(fac.rack_types)) or '(none: include a rack library)'}",
                    kind=("error", hp, "unknown rack type"))
            continue
        p = rt.nameplate_power_kw if rk.power_kw is None else rk.power_kw
        scale = p / rt.nameplate_power_kw
        fx = _footprint(rk.x_m, rk.y_m, rt.width_m, rt.depth_m, rk.facing)
        lay.racks.append(PlacedRack(
            name=f"{hall.name}/{rk.name}", path=rp, hall=hall.name, row=None, type_name=rk.type,
            rack_type=rt, box=Box(*fx, floor, floor + rt.height_m), facing=rk.facing,
            design_power_w=p * _W_PER_KW, idle_power_w=rt.idle_power_kw * scale * _W_PER_KW,
            flow_m3_s=rt.design_flow_m3_s(p, fac.campus.air.rho_cp)))
    # cooling units
    for cu in hall.cooling_units:
        if cu.outside:
            lay.units.append(PlacedUnit(
                name=f"{hall.name}/{cu.name}", path=f"{hp}.cooling_units[{cu.name}]",
                hall=hall.name, type=cu.type, box=None, facing=None, intake=None,
                airflow_m3_s=cu.airflow_m3_s, supply_temp_c=cu.supply_temp_c,
                capacity_w=cu.capacity_kw * _W_PER_KW))
            continue
        a = None if cu.along is None else (0 if cu.along == "x" else 1)
        pitch = cu.pitch_m or cu.width_m
        for i in range(cu.count):
            name = cu.name if cu.count == 1 else f"{cu.name}-{i + 1:02d}"
            x0, y0 = cu.x_m, cu.y_m
            if a == 0:
                x0 += i * pitch
            elif a == 1:
                y0 += i * pitch
            fx = _footprint(x0, y0, cu.width_m, cu.depth_m, cu.facing)
            z0 = 0.0 if cu.type == "crah-downflow" else floor
            lay.units.append(PlacedUnit(
                name=f"{hall.name}/{name}",
                path=f"{hp}.cooling_units[{cu.name}]" + (f"[{i + 1:02d}]" if cu.count > 1 else ""),
                hall=hall.name, type=cu.type, box=Box(*fx, z0, floor + cu.height_m),
                facing=cu.facing, intake=cu.intake_side, airflow_m3_s=cu.airflow_m3_s,
                supply_temp_c=cu.supply_temp_c, capacity_w=cu.capacity_kw * _W_PER_KW))
    _place_patches(hall, hp, lay, col)
    # tiles and grilles
    for kind, groups in (("tile", hall.tiles), ("grille", hall.ceiling_grilles)):
        key = "tiles" if kind == "tile" else "ceiling_grilles"
        for tg in groups:
            lay.openings.append(PlacedOpening(tg.name, f"{hp}.{key}[{tg.name}]", kind, tg.rect(),
                                              tg.loss_coefficient))
    # containment panels
    rows_by_name = {}
    for r in lay.racks:
        if r.row is not None:
            rows_by_name.setdefault(r.row, []).append(r)
    for ct in hall.containment:
        _place_containment(ct, hall, hp, rows_by_name, lay, col)
    # CDUs
    for cdu in hall.cdus:
        served = []
        for ref in cdu.serves:
            if ref == "*":
                served += [r.name for r in lay.racks if r.liquid_capture_frac > 0]
                continue
            hit = [r.name for r in lay.racks
                   if r.row == ref or r.name == f"{hall.name}/{ref}"]
            if not hit:
                choices = sorted({r.row for r in lay.racks if r.row} |
                                 {r.name.split("/", 1)[1] for r in lay.racks})
                col.add("error", f"{hp}.cdus[{cdu.name}].serves",
                        f"'{ref}' is neither a row nor a rack of hall {hall.name}"
                        f"{_did_you_mean(ref, choices)}; use a row name, ROW/NN, a rack name or '*'")
            served += hit
        lay.cdu_racks[cdu.name] = list(dict.fromkeys(served))
    return lay, col


def _place_patches(hall: Hall, hp: str, lay: HallLayout, col):
    """Diffusers and returns of the air handlers: rectangles on the room's surfaces, with
    each patch's flow resolved (stated, or what the stated ones leave, split by area)."""
    floor, ceil = hall.raised_floor_height_m, hall.ceiling_height_m
    units = {u.name.split("/", 1)[1]: u for u in lay.units}
    groups: dict = {}                       # (unit, role) -> [(patch, stated flow)]
    for role, key, entries in (("supply", "diffusers", hall.diffusers),
                               ("return", "returns", hall.returns)):
        for pt in entries:
            pp = f"{hp}.{key}[{pt.name}]"
            u = units.get(pt.unit)
            if u is None:
                col.add("error", pp + ".unit",
                        f"cooling unit '{pt.unit}' does not exist in hall {hall.name}"
                        f"{_did_you_mean(pt.unit, units)}; name an air-handler of "
                        "[[halls.cooling_units]]")
                continue
            if not u.outside:
                col.add("error", pp + ".unit",
                        f"cooling unit '{pt.unit}' is a {u.type} with its own {role} face; "
                        f"{key} serve units of type 'air-handler' only")
                continue
            a_norm, side = PATCH_SURFACE[pt.surface]
            along = None if pt.along is None else (0 if pt.along == "x" else 1)
            for i in range(pt.count):
                lo, hi = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
                if pt.surface in ("floor", "ceiling"):
                    z = floor if pt.surface == "floor" else ceil
                    lo = [pt.x_m, pt.y_m, z]
                    hi = [pt.x_m + pt.length_m, pt.y_m + pt.width_m, z]
                else:
                    wall_at = 0.0 if side < 0 else (hall.length_m, hall.width_m)[a_norm]
                    a_wall = 1 - a_norm
                    start = (pt.x_m, pt.y_m)[a_wall]
                    lo[a_norm] = hi[a_norm] = wall_at
                    lo[a_wall], hi[a_wall] = start, start + pt.length_m
                    lo[2], hi[2] = pt.z_m, pt.z_m + pt.height_m
                if along is not None and i:
                    size = hi[along] - lo[along]
                    shift = i * (pt.pitch_m or size)
                    lo[along] += shift
                    hi[along] += shift
                name = pt.name if pt.count == 1 else f"{pt.name}-{i + 1:02d}"
                box = Box(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
                placed = PlacedPatch(f"{hall.name}/{name}",
                                     pp + (f"[{i + 1:02d}]" if pt.count > 1 else ""), hall.name,
                                     role, u.name, pt.surface, box, 0.0)
                groups.setdefault((u.name, role), []).append((placed, pt.airflow_m3_s))
    for u in lay.units:
        if not u.outside:
            continue
        for role, key in (("supply", "diffusers"), ("return", "returns")):
            items = groups.get((u.name, role), [])
            if not items:
                col.add("error", u.path, f"air handler {u.name} has no {role} patch; add a "
                        f"[[halls.{key}]] entry with unit = '{u.name.split('/', 1)[1]}'")
                continue
            stated = sum(q for _, q in items if q is not None)
            free_area = sum(p.area_m2 for p, q in items if q is None)
            rest = u.airflow_m3_s - stated
            tol = 1e-9 * u.airflow_m3_s
            what = "diffusers" if role == "supply" else "returns"
            if free_area == 0 and abs(rest) > tol:
                col.add("error", u.path, f"the {what} of air handler {u.name} state "
                        f"{stated:.4g} m3/s in all, but the unit moves {u.airflow_m3_s:.4g} m3/s; "
                        f"make their airflow_m3_s add up to the unit's (or leave some out to "
                        "share the rest by area)")
                continue
            if free_area > 0 and rest <= tol:
                col.add("error", u.path, f"the {what} of air handler {u.name} that state "
                        f"airflow_m3_s take {stated:.4g} m3/s of the unit's {u.airflow_m3_s:.4g}, "
                        "leaving nothing for the others; lower the stated flows or state all")
                continue
            for p, q in items:
                flow = q if q is not None else rest * p.area_m2 / free_area
                lay.patches.append(PlacedPatch(p.name, p.path, p.hall, p.role, p.unit,
                                               p.surface, p.box, float(flow)))


def _place_containment(ct: Containment, hall: Hall, hp: str, rows_by_name, lay: HallLayout, col):
    cp = f"{hp}.containment[{ct.name}]"
    missing = [r for r in ct.rows if r not in rows_by_name]
    if missing:
        for r in missing:
            if r in [rw.name for rw in hall.rows]:
                return      # the row exists but its racks failed (already reported)
            col.add("error", cp + ".rows",
                    f"row '{r}' does not exist in hall {hall.name}"
                    f"{_did_you_mean(r, rows_by_name)}; rows: {', '.join(rows_by_name) or '(none)'}")
        return
    if ct.rows[0] == ct.rows[1]:
        col.add("error", cp + ".rows", "the two rows must be different")
        return
    ra, rb = rows_by_name[ct.rows[0]], rows_by_name[ct.rows[1]]
    fa, fb = {r.facing for r in ra}, {r.facing for r in rb}
    if len(fa) != 1 or len(fb) != 1 or _FACING_AXIS[fa.pop()] != _FACING_AXIS[fb.pop()]:
        col.add("error", cp + ".rows", f"rows {ct.rows[0]} and {ct.rows[1]} are not parallel; "
                "containment needs two rows along the same axis")
        return
    across = _FACING_AXIS[ra[0].facing]          # the aisle's width runs along the facing axis
    along = 1 - across
    box_a = _union([r.box for r in ra])
    box_b = _union([r.box for r in rb])
    if box_a.hi(across) <= box_b.lo(across) + _TOL:
        lower, upper, lrow, urow = ra, rb, ct.rows[0], ct.rows[1]
        a0, a1 = box_a.hi(across), box_b.lo(across)
    elif box_b.hi(across) <= box_a.lo(across) + _TOL:
        lower, upper, lrow, urow = rb, ra, ct.rows[1], ct.rows[0]
        a0, a1 = box_b.hi(across), box_a.lo(across)
    else:
        col.add("error", cp + ".rows", f"rows {ct.rows[0]} and {ct.rows[1]} overlap across the aisle; "
                "there is no aisle between them")
        return
    if a1 - a0 < MIN_INTAKE_CLEARANCE_M - _TOL:
        col.add("error", cp, f"the aisle between rows {lrow} and {urow} is {a1 - a0:.2f} m wide; "
                f"contained aisles need at least {MIN_INTAKE_CLEARANCE_M} m")
        return
    ax = "xyz"[across]
    want = ("+", "-") if ct.kind == "cold-aisle" else ("-", "+")
    got = (lower[0].facing[0], upper[0].facing[0])
    if got != want:
        what = "intakes" if ct.kind == "cold-aisle" else "exhausts"
        col.add("error", cp + ".kind",
                f"a {ct.kind} needs both rows' {what} on the aisle: row {lrow} must face "
                f"'{want[0]}{ax}' and row {urow} '{want[1]}{ax}' (they face '{lower[0].facing}' and "
                f"'{upper[0].facing}'); swap kind or the rows' facing")
        return
    # the aisle's ends: the rows, extended over in-line units (in-row coolers)
    lo = min(box_a.lo(along), box_b.lo(along))
    hi = max(box_a.hi(along), box_b.hi(along))
    bands = [(box_a.lo(across), box_a.hi(across)), (box_b.lo(across), box_b.hi(across))]
    members = [r.box for r in ra + rb]
    changed = True
    while changed:
        changed = False
        for u in lay.units:
            b = u.box
            if b is None:
                continue
            in_band = any(min(b.hi(across), q1) - max(b.lo(across), q0) > 0.5 * (q1 - q0)
                          for q0, q1 in bands)
            if in_band and b not in members and b.lo(along) <= hi + 0.01 and b.hi(along) >= lo - 0.01:
                lo, hi = min(lo, b.lo(along)), max(hi, b.hi(along))
                members.append(b)
                changed = True
    if abs(box_a.lo(along) - box_b.lo(along)) > 0.05 or abs(box_a.hi(along) - box_b.hi(along)) > 0.05:
        col.add("warning", cp, f"rows {ct.rows[0]} and {ct.rows[1]} do not start and end together "
                "along the aisle: the containment is open beside the shorter row "
                "(add racks, in-row units or set start_m/end_m)")
    if ct.start_m is not None:
        lo = ct.start_m
    if ct.end_m is not None:
        hi = ct.end_m
    if hi - lo <= _TOL:
        col.add("error", cp, f"start_m/end_m leave no aisle ({lo} to {hi} m)")
        return
    floor = hall.raised_floor_height_m
    top = max(b.z1 for b in members)
    roof = ct.roof_z_m if ct.roof_z_m is not None else top
    if roof > hall.ceiling_height_m + _TOL or roof <= floor:
        col.add("error", cp + ".roof_z_m", f"roof at z = {roof} m is outside the room "
                f"(floor {floor} m, ceiling {hall.ceiling_height_m} m)")
        return

    def box(along_lo, along_hi, across_lo, across_hi, z0, z1):
        lo3, hi3 = [0.0] * 3, [0.0] * 3
        lo3[along], hi3[along] = along_lo, along_hi
        lo3[across], hi3[across] = across_lo, across_hi
        lo3[2], hi3[2] = z0, z1
        return Box(lo3[0], hi3[0], lo3[1], hi3[1], lo3[2], hi3[2])

    if ct.roof:
        lay.panels.append(PlacedPanel(f"{hall.name}/{ct.name}/roof", cp + ".roof", 2, roof, +1,
                                      box(lo, hi, a0, a1, roof, roof)))
    if roof > top + _TOL:
        # a roof (or, roofless, doors) above the rows: the aisle's sides are closed from
        # the top of the rows up to roof_z_m (panels over the racks, as a chimney)
        lay.panels.append(PlacedPanel(f"{hall.name}/{ct.name}/side-{lrow}", cp + ".roof_z_m",
                                      across, a0, -1, box(lo, hi, a0, a0, top, roof)))
        lay.panels.append(PlacedPanel(f"{hall.name}/{ct.name}/side-{urow}", cp + ".roof_z_m",
                                      across, a1, +1, box(lo, hi, a1, a1, top, roof)))
    if ct.doors:
        lay.panels.append(PlacedPanel(f"{hall.name}/{ct.name}/door-start", cp + ".doors", along, lo, -1,
                                      box(lo, lo, a0, a1, floor, roof)))
        lay.panels.append(PlacedPanel(f"{hall.name}/{ct.name}/door-end", cp + ".doors", along, hi, +1,
                                      box(hi, hi, a0, a1, floor, roof)))


def _union(boxes):
    return Box(min(b.x0 for b in boxes), max(b.x1 for b in boxes), min(b.y0 for b in boxes),
               max(b.y1 for b in boxes), min(b.z0 for b in boxes), max(b.z1 for b in boxes))


# ------------------------------------------------------------------- engineering checks
def check_facility(fac: Facility) -> list[Diagnostic]:
    """Every engineering problem of a schema-valid facility (errors and warnings)."""
    root = fac._source
    out: list[Diagnostic] = []
    col = _Collector(root)
    if not fac.halls:
        col.add("error", "halls", "the facility has no hall; add a [[halls]] table")
    _unique(col, "buildings", [b.name for b in fac.buildings], "building")
    _unique(col, "halls", [h.name for h in fac.halls], "hall")
    bnames = [b.name for b in fac.buildings]
    for name in fac.rack_types:
        if not re.match(NAME_PATTERN, name):
            col.add("error", f"rack_types[{name}]", f"rack type name '{name}': {NAME_HELP}",
                    file=fac._origins.get(("rack_types", name)))
    w = fac.campus.weather
    if w.startswith("builtin:"):
        from twin.models.weather import BUILTIN_CLIMATES
        if not re.match(r"^builtin:[a-z0-9_\-]+$", w):
            col.add("error", "campus.weather", f"weather '{w}': builtin names are lower-case, "
                    "e.g. 'builtin:ulsan'")
        elif w.split(":", 1)[1] not in BUILTIN_CLIMATES:
            key = w.split(":", 1)[1]
            col.add("error", "campus.weather",
                    f"weather '{w}' is not a built-in climate{_did_you_mean(key, BUILTIN_CLIMATES)}; "
                    "use one of " + ", ".join(f"'builtin:{k}'" for k in sorted(BUILTIN_CLIMATES))
                    + " or the path of an EPW file inside the facility's folder")
    elif not w.lower().endswith(".epw"):
        col.add("error", "campus.weather", f"weather '{w}' must be 'builtin:NAME' or the path of "
                "an EPW file (ending .epw) inside the facility's folder")
    elif root is not None:
        try:
            p = _inside(w, root.parent, root.parent)
            if not p.is_file():
                col.add("error", "campus.weather", f"weather file '{w}' not found (looked for {p})")
            else:
                # the same reader `twin run` uses: a file it would refuse fails here too
                from twin.models.weather import read_epw
                try:
                    read_epw(p)
                except InputError as exc:
                    col.add("error", "campus.weather", f"weather file '{w}': {exc}")
        except _PathError as exc:
            col.add("error", "campus.weather", str(exc))
    out += col.finish()
    for i, hall in enumerate(fac.halls):
        hc = _Collector(_hall_file(fac, i))
        if hall.building is not None and hall.building not in bnames:
            hc.add("error", f"halls[{hall.name}].building",
                   f"building '{hall.building}' is not defined{_did_you_mean(hall.building, bnames)}; "
                   f"buildings: {', '.join(bnames) or '(none: add [[buildings]])'}",
                   file=fac._origins.get(("halls", i, "building")))
        lay, hc = _build_layout(fac, hall, i, hc)
        n_err = sum(d.severity == "error" for d in hc.items)
        _check_hall(fac, hall, lay, hc)
        if n_err == 0:
            fac._layouts[hall.name] = lay
        out += hc.finish()
    out += _check_plant(fac)
    return out


def _unique(col, path, names, what):
    seen = set()
    for n in names:
        if n in seen:
            col.add("error", f"{path}[{n}]", f"{what} name '{n}' is used twice; names must be unique")
        seen.add(n)


def _check_hall(fac: Facility, hall: Hall, lay: HallLayout, col: _Collector):
    hp = f"halls[{hall.name}]"
    L, W = hall.length_m, hall.width_m
    floor, ceil = hall.raised_floor_height_m, hall.ceiling_height_m
    top_all = hall.height_m
    if ceil <= floor + 1.0:
        col.add("error", hp + ".ceiling_height_m",
                f"ceiling at z = {ceil} m leaves {ceil - floor:.2f} m above the raised floor "
                f"({floor} m); z is measured from the structural slab, so ceiling_height_m "
                "includes the raised floor")
    _unique(col, hp + ".rows", [r.name for r in hall.rows], "row")
    _unique(col, hp + ".tiles", [t.name for t in hall.tiles], "tile group")
    _unique(col, hp + ".ceiling_grilles", [t.name for t in hall.ceiling_grilles], "grille group")
    _unique(col, hp + ".containment", [c.name for c in hall.containment], "containment")
    _unique(col, hp + ".cdus", [c.name for c in hall.cdus], "CDU")
    # device names are unique in a hall
    seen = {}
    for obj in list(lay.racks) + list(lay.units):
        if obj.name in seen:
            col.add("error", obj.path, f"device name '{obj.name}' is also used by {seen[obj.name]}; "
                    "give the rack or unit another name")
        else:
            seen[obj.name] = obj.path

    bodies = [("rack", r.name, r.path, r.box) for r in lay.racks] + \
             [("cooling unit", u.name, u.path, u.box) for u in lay.units if not u.outside]
    # inside the hall
    for kind, name, path, b in bodies:
        out = []
        if b.x0 < -_TOL or b.x1 > L + _TOL:
            out.append(f"x {b.x0:.2f}..{b.x1:.2f} m (hall: 0..{L} m)")
        if b.y0 < -_TOL or b.y1 > W + _TOL:
            out.append(f"y {b.y0:.2f}..{b.y1:.2f} m (hall: 0..{W} m)")
        if out:
            col.add("error", path, f"{kind} {name} is outside the hall: " + ", ".join(out),
                    kind=("error", hp, "outside the hall"))
    for r in lay.racks:
        if r.box.z1 > ceil + _TOL:
            col.add("error", r.path, f"rack {r.name} is {r.rack_type.height_m} m tall and reaches "
                    f"z = {r.box.z1:.2f} m, above the ceiling ({ceil} m)",
                    kind=("error", hp, "above the ceiling"))
    for u in lay.units:
        if u.outside:
            continue
        z1 = u.box.z1
        in_plenum = hall.return_plenum_height_m > 0 and ceil + MIN_UNIT_CLEARANCE_M <= z1 <= \
            top_all - MIN_UNIT_CLEARANCE_M + _TOL
        if u.intake == "top" and not (z1 <= ceil - MIN_UNIT_CLEARANCE_M + _TOL or in_plenum):
            col.add("error", u.path, f"cooling unit {u.name} draws from its top at z = {z1:.2f} m but "
                    f"needs {MIN_UNIT_CLEARANCE_M} m of free air above it (ceiling at {ceil} m"
                    + (f", return plenum up to {top_all} m" if hall.return_plenum_height_m else "")
                    + "); lower height_m", kind=("error", hp, "unit top"))
        elif u.intake != "top" and z1 > ceil + _TOL:
            col.add("error", u.path, f"cooling unit {u.name} reaches z = {z1:.2f} m, above the "
                    f"ceiling ({ceil} m)", kind=("error", hp, "unit top"))
        if u.type == "crah-downflow" and floor <= 0:
            col.add("error", u.path, f"cooling unit {u.name} is crah-downflow but hall {hall.name} "
                    "has no raised floor (raised_floor_height_m = 0); use crah-front, fan-wall or "
                    "inrow, or give the floor height")
    # overlaps (sweep along x: each body against those starting before it ends, so the
    # cost follows the number of near pairs, not n^2)
    boxes = [b for *_, b in bodies]
    for i, j in _near_pairs(boxes, boxes):
        if j <= i:
            continue
        a, b = boxes[i], boxes[j]
        ov = [min(a.hi(k), b.hi(k)) - max(a.lo(k), b.lo(k)) for k in range(3)]
        if all(o > _TOL for o in ov):
            k1, n1, p1, _ = bodies[i]
            k2, n2, _, _ = bodies[j]
            col.add("error", p1, f"{k1} {n1} overlaps {k2} {n2} by {ov[0]:.2f} m x "
                    f"{ov[1]:.2f} m in plan; move one of them",
                    kind=("error", hp, "overlap"))
    # breathing space in front of intakes and behind exhausts
    index = _BoxIndex([b for *_, b in bodies])
    for r in lay.racks:
        _clearance(col, hp, r.path, f"rack {r.name}", "intake", r.box, r.facing,
                   MIN_INTAKE_CLEARANCE_M, L, W, bodies, index)
        _clearance(col, hp, r.path, f"rack {r.name}", "exhaust", r.box, _OPPOSITE[r.facing],
                   MIN_EXHAUST_CLEARANCE_M, L, W, bodies, index)
    for u in lay.units:
        if u.outside:
            continue
        supply_box = u.box
        if u.type == "crah-downflow":
            supply_box = Box(u.box.x0, u.box.x1, u.box.y0, u.box.y1, 0.0, floor)
        _clearance(col, hp, u.path, f"cooling unit {u.name}", "supply", supply_box, u.facing,
                   MIN_UNIT_CLEARANCE_M, L, W, bodies, index)
        if u.intake == "back":
            _clearance(col, hp, u.path, f"cooling unit {u.name}", "return (back)", u.box,
                       _OPPOSITE[u.facing], MIN_UNIT_CLEARANCE_M, L, W, bodies, index)
    _check_patches(hall, hp, lay, col, bodies)
    # tiles and grilles
    for op in lay.openings:
        x0, x1, y0, y1 = op.rect
        if op.kind == "tile" and floor <= 0:
            col.add("error", op.path, f"perforated tiles need a raised floor, but hall {hall.name} has "
                    "raised_floor_height_m = 0; remove the tiles or give the floor height")
            continue
        if op.kind == "grille" and hall.return_plenum_height_m <= 0:
            col.add("error", op.path, f"ceiling grilles need a return plenum, but hall {hall.name} has "
                    "return_plenum_height_m = 0; remove the grilles or give the plenum height")
            continue
        if x0 < -_TOL or x1 > L + _TOL or y0 < -_TOL or y1 > W + _TOL:
            col.add("error", op.path, f"{op.kind}s {op.name} at x {x0:.2f}..{x1:.2f} m, y {y0:.2f}.."
                    f"{y1:.2f} m reach outside the {'raised floor' if op.kind == 'tile' else 'ceiling'} "
                    f"(x 0..{L} m, y 0..{W} m)")
            continue
        pl = Box(x0, x1, y0, y1, -1.0, 1e9)
        under = [name for kind, name, _, b in bodies
                 if op.kind == "tile" and pl.intersects(Box(b.x0, b.x1, b.y0, b.y1, -1.0, 1e9))]
        if under:
            more = f" and {len(under) - 3} more" if len(under) > 3 else ""
            col.add("warning", op.path, f"tiles {op.name} lie under {', '.join(under[:3])}{more}: "
                    "the mesh keeps those bodies solid and the tiles beneath them pass no air")
    ops = [o for o in lay.openings]
    for i in range(len(ops)):
        for j in range(i + 1, len(ops)):
            a, b = ops[i], ops[j]
            if a.kind == b.kind and Box(*a.rect, 0, 1).intersects(Box(*b.rect, 0, 1)):
                col.add("error", a.path, f"{a.kind}s {a.name} and {b.name} overlap; "
                        "each floor position holds one tile")
    # heat and cooling
    recs = [r.record(1.0) for r in lay.racks]
    air_w = sum(r.air_heat_w for r in recs)
    liq_w = sum(r.liquid_heat_w for r in recs)
    cap_w = sum(u.capacity_w for u in lay.units)
    if air_w > 0 and not lay.units:
        col.add("error", hp, f"hall {hall.name} has {air_w / 1e3:.0f} kW of air-side heat at "
                "design load but no cooling units; add [[halls.cooling_units]]")
    elif air_w > 0 and cap_w < air_w:
        col.add("warning", hp, f"cooling capacity {cap_w / 1e3:.0f} kW is below the air-side "
                f"design load {air_w / 1e3:.0f} kW ({100 * cap_w / air_w:.0f}%); the supply "
                "temperature will rise: add units or capacity")
    rack_q = sum(r.flow_m3_s for r in lay.racks)
    unit_q = sum(u.airflow_m3_s for u in lay.units)
    if lay.units and rack_q > 0 and unit_q < 0.9 * rack_q:
        col.add("warning", hp, f"cooling units move {unit_q:.2f} m3/s but the racks draw "
                f"{rack_q:.2f} m3/s ({100 * unit_q / rack_q:.0f}%): expect recirculation of hot "
                "air to the intakes")
    # liquid cooling
    served: dict = {}
    for cdu in hall.cdus:
        for rn in lay.cdu_racks.get(cdu.name, []):
            served.setdefault(rn, []).append(cdu.name)
    for r in lay.racks:
        if r.liquid_capture_frac > 0 and r.name not in served:
            col.add("error", r.path, f"rack {r.name} sends {r.design_power_w * r.liquid_capture_frac / 1e3:.0f} kW "
                    "to liquid but no CDU serves it; add its row or name to a CDU's serves list",
                    kind=("error", hp, "no CDU"))
    by_name = {r.name: r for r in lay.racks}
    for cdu in hall.cdus:
        names = lay.cdu_racks.get(cdu.name, [])
        dry = [n for n in names if by_name[n].liquid_capture_frac == 0]
        if dry:
            col.add("warning", f"{hp}.cdus[{cdu.name}]", f"serves {len(dry)} air-cooled rack(s) "
                    f"(e.g. {dry[0]}) that have no liquid loop")
    if liq_w > 0 and hall.cdus:
        cdu_w = sum(c.capacity_kw for c in hall.cdus) * _W_PER_KW
        if cdu_w < liq_w:
            col.add("warning", f"{hp}.cdus", f"CDU capacity {cdu_w / 1e3:.0f} kW is below the "
                    f"liquid design load {liq_w / 1e3:.0f} kW ({100 * cdu_w / liq_w:.0f}%)")


def _check_patches(hall: Hall, hp: str, lay: HallLayout, col, bodies):
    """Diffusers and returns: on their surface, apart, not under a body, with free air."""
    L, W = hall.length_m, hall.width_m
    floor, ceil = hall.raised_floor_height_m, hall.ceiling_height_m
    extent = (L, W, ceil)
    _unique(col, hp + ".diffusers", [p.name for p in hall.diffusers], "diffuser")
    _unique(col, hp + ".returns", [p.name for p in hall.returns], "return")
    for name in sorted({p.name for p in hall.diffusers} & {p.name for p in hall.returns}):
        col.add("error", f"{hp}.returns[{name}]", f"'{name}' names a diffuser and a return; "
                "patch names must be unique in a hall")
    ok = []
    for p in lay.patches:
        what = f"{'diffuser' if p.role == 'supply' else 'return'} {p.name}"
        b = p.box
        if p.surface == "floor" and floor > 0:
            col.add("error", p.path, f"{what} is on the floor, but hall {hall.name} has a "
                    f"{floor} m raised floor; use perforated [[halls.tiles]] there, or a wall "
                    "or the ceiling", kind=("error", hp, "floor patch"))
            continue
        if p.surface == "ceiling" and hall.return_plenum_height_m > 0:
            col.add("error", p.path, f"{what} is on the ceiling, but hall {hall.name} has a "
                    "return plenum above it; use [[halls.ceiling_grilles]] into the plenum, or "
                    "a wall", kind=("error", hp, "ceiling patch"))
            continue
        lo_ok = [0.0, 0.0, floor]
        out = []
        for a in range(3):
            if a == p.axis:
                continue
            if b.lo(a) < lo_ok[a] - _TOL or b.hi(a) > extent[a] + _TOL:
                out.append(f"{'xyz'[a]} {b.lo(a):.2f}..{b.hi(a):.2f} m "
                           f"(surface: {lo_ok[a]:g}..{extent[a]:g} m)")
        if out:
            surf = p.surface if p.surface in ("floor", "ceiling") else f"wall '{p.surface}'"
            col.add("error", p.path, f"{what} reaches outside the {surf}: " + ", ".join(out)
                    + "; move or shrink it", kind=("error", hp, "patch outside"))
            continue
        ok.append(p)
    # overlaps on one surface
    for i in range(len(ok)):
        for j in range(i + 1, len(ok)):
            a, c = ok[i], ok[j]
            if a.surface != c.surface:
                continue
            ov = [min(a.box.hi(x), c.box.hi(x)) - max(a.box.lo(x), c.box.lo(x))
                  for x in range(3) if x != a.axis]
            if all(o > _TOL for o in ov):
                col.add("error", a.path, f"patch {a.name} overlaps patch {c.name} on the "
                        f"{a.surface} by {ov[0]:.2f} m x {ov[1]:.2f} m; move one of them",
                        kind=("error", hp, "patch overlap"))
    # free air in front of each patch: no body (or containment panel) within the reach
    need = MIN_UNIT_CLEARANCE_M
    for p in ok:
        what = f"{'diffuser' if p.role == 'supply' else 'return'} {p.name}"
        lo = [p.box.lo(a) for a in range(3)]
        hi = [p.box.hi(a) for a in range(3)]
        if p.side < 0:
            hi[p.axis] = lo[p.axis] + need
        else:
            lo[p.axis] = hi[p.axis] - need
        front = Box(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
        blocked = None
        for kind, name, _, bb in bodies:
            if p.surface == "floor":
                if Box(bb.x0, bb.x1, bb.y0, bb.y1, -1.0, 1e9).intersects(
                        Box(p.box.x0, p.box.x1, p.box.y0, p.box.y1, -1.0, 1e9)):
                    col.add("error", p.path, f"{what} lies under {kind} {name}; a floor patch "
                            "must be in the open: move it into an aisle",
                            kind=("error", hp, "patch under body"))
                    blocked = ""
                    break
            if front.intersects(bb):
                blocked = f"{kind} {name}"
                break
        if blocked is None:
            for pn in lay.panels:
                lo3 = [pn.box.lo(a) for a in range(3)]
                hi3 = [pn.box.hi(a) for a in range(3)]
                hi3[pn.axis] = lo3[pn.axis] + 0.01 if pn.side > 0 else lo3[pn.axis]
                lo3[pn.axis] = hi3[pn.axis] - 0.01
                if front.intersects(Box(lo3[0], hi3[0], lo3[1], hi3[1], lo3[2], hi3[2])):
                    blocked = f"containment panel {pn.name}"
                    break
        if blocked:
            col.add("error", p.path, f"{what} on the {p.surface} is blocked by {blocked} within "
                    f"{need} m; it needs {need} m of free air in front of it: move it",
                    kind=("error", hp, "patch blocked"))


def _clearance(col, hp, path, what, face, box, facing, need, L, W, bodies, index=None):
    a, s = _FACING_AXIS[facing], _FACING_SIGN[facing]
    wall = (L, W)[a] - box.hi(a) if s > 0 else box.lo(a)
    if wall < need - _TOL:
        col.add("error", path, f"{what}: its {face} faces the wall '{facing}' at {max(wall, 0):.2f} m; "
                f"it needs at least {need} m of free air there (turn it to face "
                f"'{_OPPOSITE[facing]}' or move it)", kind=("error", hp, f"{face} at wall"))
        return
    front = _front_box(box, facing, need)
    index = index if index is not None else _BoxIndex([b for *_, b in bodies])
    near = [bodies[j] for j in index.near(front)]
    for kind, name, p2, b in near:
        if b is box or p2 == path or b.intersects(box):      # overlaps are reported once
            continue
        if front.intersects(b):
            gap = (b.lo(a) - box.hi(a)) if s > 0 else (box.lo(a) - b.hi(a))
            col.add("error", path, f"{what}: its {face} ('{facing}') is blocked by {kind} {name} "
                    f"{max(gap, 0):.2f} m away; it needs {need} m of free air",
                    kind=("error", hp, f"{face} blocked"))
            return


def _check_plant(fac: Facility) -> list[Diagnostic]:
    col = _Collector(fac._source)
    if fac.plant is None:
        return []
    air_w = liq_w = 0.0
    for h in fac.halls:
        try:
            lay, _ = _build_layout(fac, h, _hall_index(fac, h))
        except Exception:       # a broken hall is reported by its own checks
            continue
        for r in lay.racks:
            rec = r.record(1.0)
            air_w += rec.air_heat_w
            liq_w += rec.liquid_heat_w
    p = fac.plant
    _unique(col, "plant.chillers", [c.name for c in p.chillers], "chiller")
    _unique(col, "plant.cooling_towers", [c.name for c in p.cooling_towers], "tower")
    _unique(col, "plant.dry_coolers", [c.name for c in p.dry_coolers], "dry cooler")
    _unique(col, "plant.pumps", [c.name for c in p.pumps], "pump")
    chill_w = sum(c.count * c.capacity_kw for c in p.chillers) * _W_PER_KW
    dry_w = sum(c.count * c.capacity_kw for c in p.dry_coolers) * _W_PER_KW
    if p.chillers and air_w > 0 and chill_w < air_w:
        col.add("warning", "plant.chillers", f"chillers total {chill_w / 1e6:.1f} MW for "
                f"{air_w / 1e6:.1f} MW of air-side IT heat at design load")
    if liq_w > 0 and p.dry_coolers and dry_w < liq_w:
        col.add("warning", "plant.dry_coolers", f"dry coolers total {dry_w / 1e6:.1f} MW for "
                f"{liq_w / 1e6:.1f} MW of liquid IT heat at design load")
    if liq_w > 0 and not p.dry_coolers and not p.chillers:
        col.add("warning", "plant", "liquid-cooled racks but no dry coolers or chillers to reject "
                "their heat")
    if p.chillers and not p.cooling_towers and any(c.type.startswith("water-cooled") for c in p.chillers):
        col.add("warning", "plant.cooling_towers", "water-cooled chillers but no cooling towers")
    if fac.power is not None:
        pw = fac.power
        _unique(col, "power.contracts", [c.name for c in pw.contracts], "contract")
        _unique(col, "power.ups", [c.name for c in pw.ups], "UPS")
        _unique(col, "power.transformers", [c.name for c in pw.transformers], "transformer")
    return col.finish()


def cell_size_warnings(fac: Facility, cell_m: float, hall_name: str | None = None) -> list[Diagnostic]:
    """Geometry smaller than one cell of ``cell_m`` (it will be lost or thickened in the mesh)."""
    if not (np.isfinite(cell_m) and cell_m > 0):
        raise InputError(f"cell size {cell_m} m must be a positive number")
    out = []
    halls = fac.halls if hall_name is None else [fac.hall(hall_name)]
    for h in halls:
        lay = fac.layout(h.name)
        col = _Collector(_hall_file(fac, _hall_index(fac, h)))
        hp = f"halls[{h.name}]"
        items = [(r.path, f"rack {r.name}", r.box) for r in lay.racks] + \
                [(u.path, f"cooling unit {u.name}", u.box) for u in lay.units if not u.outside]
        for pt in lay.patches:
            small = [f"{'xyz'[a]} {pt.box.size(a):.3f} m" for a in range(3)
                     if a != pt.axis and pt.box.size(a) < cell_m - _TOL]
            if small:
                col.add("warning", pt.path, f"patch {pt.name} is smaller than one cell "
                        f"({cell_m} m) along " + ", ".join(small) + "; the mesh makes it one cell",
                        kind=("warning", hp, "patch smaller than a cell"))
        for path, what, b in items:
            small = [f"{'xyz'[a]} {b.size(a):.3f} m" for a in range(3) if b.size(a) < cell_m - _TOL]
            if small:
                col.add("warning", path, f"{what} is smaller than one cell ({cell_m} m) along "
                        + ", ".join(small) + "; the mesh makes it one cell thick",
                        kind=("warning", hp, "smaller than a cell"))
        for op in lay.openings:
            x0, x1, y0, y1 = op.rect
            if min(x1 - x0, y1 - y0) < cell_m - _TOL:
                col.add("warning", op.path, f"{op.kind}s {op.name} ({x1 - x0:.2f} m x {y1 - y0:.2f} m) "
                        f"are smaller than one cell ({cell_m} m)")
        if h.raised_floor_height_m > 0 and h.raised_floor_height_m < 2 * cell_m - _TOL:
            col.add("warning", hp + ".raised_floor_height_m",
                    f"a {h.raised_floor_height_m} m raised floor is less than two cells of {cell_m} m "
                    "(one for the floor, one for the plenum air); use a smaller cell")
        if h.return_plenum_height_m > 0 and h.return_plenum_height_m < 2 * cell_m - _TOL:
            col.add("warning", hp + ".return_plenum_height_m",
                    f"a {h.return_plenum_height_m} m return plenum is less than two cells of {cell_m} m")
        # gaps between bodies that close in the mesh
        boxes = [it[2] for it in items]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                gap = _gap(boxes[i], boxes[j])
                if gap is not None and _TOL < gap < cell_m - _TOL:
                    col.add("warning", items[i][0], f"the {gap:.2f} m gap between {items[i][1]} and "
                            f"{items[j][1]} is smaller than one cell ({cell_m} m): it may close "
                            "in the mesh", kind=("warning", hp, "small gap"))
        out += col.finish()
    return out


class _BoxIndex:
    """Boxes sorted by their lower x, to find those that meet a query box in plan without
    n x n arrays: O(log n + candidates) a query."""

    def __init__(self, boxes):
        x0 = np.array([b.x0 for b in boxes], float)
        self.order = np.argsort(x0, kind="stable")
        self.x0 = x0[self.order]
        self.x1 = np.array([b.x1 for b in boxes], float)[self.order]
        self.y0 = np.array([b.y0 for b in boxes], float)[self.order]
        self.y1 = np.array([b.y1 for b in boxes], float)[self.order]
        # a box can start at most this far before a query and still reach it
        self.reach = float(np.max(self.x1 - self.x0)) if len(boxes) else 0.0

    def near(self, q) -> np.ndarray:
        """Indices (ascending) of the boxes meeting ``q`` (or touching it) in x and y."""
        if not len(self.x0):
            return np.zeros(0, int)
        lo = np.searchsorted(self.x0, q.x0 - self.reach - _TOL, side="left")
        hi = np.searchsorted(self.x0, q.x1 + _TOL, side="right")
        sl = slice(lo, hi)
        hit = (self.x1[sl] >= q.x0 - _TOL) & (self.y1[sl] >= q.y0 - _TOL) & (self.y0[sl] <= q.y1 + _TOL)
        return np.sort(self.order[sl][hit])


def _near_pairs(queries, boxes):
    """Index pairs ``(i, j)``, ``queries[i]`` and ``boxes[j]`` meeting in plan, in order."""
    index = _BoxIndex(boxes)
    return [(i, int(j)) for i, q in enumerate(queries) for j in index.near(q)]


def _gap(a: Box, b: Box):
    """Gap between two boxes that face each other along one axis (None otherwise)."""
    for ax in range(3):
        others = [o for o in range(3) if o != ax]
        if all(min(a.hi(o), b.hi(o)) - max(a.lo(o), b.lo(o)) > _TOL for o in others):
            if a.hi(ax) <= b.lo(ax) + _TOL:
                return b.lo(ax) - a.hi(ax)
            if b.hi(ax) <= a.lo(ax) + _TOL:
                return a.lo(ax) - b.hi(ax)
    return None


# ------------------------------------------------------------------ reading and includes
class _PathError(Exception):
    pass


def _inside(ref: str, base_dir: Path, root_dir: Path) -> Path:
    """Resolve ``ref`` relative to ``base_dir``; refuse anything outside ``root_dir``."""
    if ref.startswith("builtin:"):
        key = ref[len("builtin:"):]
        if key not in BUILTIN_INCLUDES:
            raise _PathError(f"'{ref}' is not a builtin file{_did_you_mean(key, BUILTIN_INCLUDES)}; "
                             f"builtins: {', '.join('builtin:' + k for k in BUILTIN_INCLUDES)}")
        return (BUILTIN_DIR / BUILTIN_INCLUDES[key]).resolve()
    p = Path(ref).expanduser()
    target = (p if p.is_absolute() else base_dir / p).resolve()
    root = root_dir.resolve()
    if target != root and root not in target.parents:
        raise _PathError(f"'{ref}' resolves to {target}, outside the facility's folder {root}; "
                         "included files must lie inside the folder of the facility file "
                         "(copy the file there, or use 'builtin:racks' for the shipped rack library)")
    return target


def _nesting_depth(doc) -> int:
    """Deepest nesting of tables and arrays in a parsed document (iterative)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_NESTING:
            return d
        kids = node.values() if isinstance(node, dict) else node
        stack.extend((k, d + 1) for k in kids if isinstance(k, (dict, list)))
    return deepest


def _read_toml(path: Path, diags: list, via: str = "", text: str | None = None):
    where = _display(path)
    if text is None:
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                diags.append(Diagnostic("error", where, via, _too_big(size)))
                return None
            data = path.read_bytes()
        except FileNotFoundError:
            diags.append(Diagnostic("error", where, via, "file not found"))
            return None
        except IsADirectoryError:
            diags.append(Diagnostic("error", where, via, "is a folder; give a TOML file"))
            return None
        except OSError as exc:
            diags.append(Diagnostic("error", where, via, f"cannot be read: {exc}"))
            return None
        if len(data) > MAX_FILE_BYTES:
            diags.append(Diagnostic("error", where, via, _too_big(len(data))))
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            diags.append(Diagnostic(
                "error", where, via,
                f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {col} "
                "(a facility file must be UTF-8 TOML text; re-save it as UTF-8, e.g. "
                "'iconv -f latin1 -t utf-8', or include only .toml files)"))
            return None
    elif len(text) > MAX_FILE_BYTES:
        diags.append(Diagnostic("error", where, via, _too_big(len(text.encode("utf-8", "replace")))))
        return None
    text = text.removeprefix("\ufeff")     # a UTF-8 byte-order mark, as some editors write
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        if msg.endswith("(at end of document)"):
            n_lines = text.count("\n") + (not text.endswith("\n"))
            msg = (msg.removesuffix(")") + f", line {n_lines}: is the file cut short? "
                   "compare it with the original)")
        diags.append(Diagnostic("error", where, "", f"not valid TOML: {msg}"))
        return None
    except RecursionError:
        doc = None
    if doc is None or _nesting_depth(doc) > MAX_NESTING:
        diags.append(Diagnostic("error", where, "",
                                f"arrays, inline tables or dotted keys nest deeper than "
                                f"{MAX_NESTING} levels; a facility file needs a few (flatten the "
                                "nesting)"))
        return None
    return doc


def _too_big(size: int) -> str:
    return (f"the file is {size / 2 ** 20:.1f} MiB; a facility file may be at most "
            f"{MAX_FILE_BYTES // 2 ** 20} MiB (split it into included files, or is this the "
            "right file?)")


def _tag_origins(doc: dict, path: Path):
    """Mark top-level list items and rack types with the file they came from."""
    for key, val in doc.items():
        if isinstance(val, list):
            for item in val:
                if isinstance(item, dict):
                    item.setdefault("__origin__", str(path))
        elif key == "rack_types" and isinstance(val, dict):
            for item in val.values():
                if isinstance(item, dict):
                    item.setdefault("__origin__", str(path))


def _strip(d):
    if isinstance(d, dict):
        return {k: _strip(v) for k, v in d.items() if k not in ("__origin__", "__overrides__")}
    if isinstance(d, list):
        return [_strip(v) for v in d]
    return d


def _merge(dst: dict, src: dict, where: str, diags: list, file: Path):
    """Merge an included document ``src`` into ``dst`` (src's content comes first)."""
    for k, v in src.items():
        if k in ("include", "format_version"):
            continue
        if k not in dst:
            dst[k] = copy.deepcopy(v)
        elif isinstance(dst[k], list) and isinstance(v, list):
            dst[k] = copy.deepcopy(v) + dst[k]
        elif isinstance(dst[k], dict) and isinstance(v, dict):
            if k == "rack_types":
                for name, rt in v.items():
                    if name in dst[k]:
                        if _strip(dst[k][name]) != _strip(rt):
                            diags.append(Diagnostic(
                                "error", _display(file), f"rack_types[{name}]",
                                f"rack type '{name}' is defined differently in "
                                f"{_display(dst[k][name].get('__origin__', ''))} and "
                                f"{_display(rt.get('__origin__', ''))}; rename one"))
                    else:
                        dst[k][name] = copy.deepcopy(rt)
            else:
                _merge(dst[k], v, f"{where}{k}.", diags, file)
        elif _strip(dst[k]) != _strip(v):
            diags.append(Diagnostic("error", _display(file), f"{where}{k}",
                                    f"'{k}' is set both here and in an included file; set it once"))


def _load_doc(path: Path, root: Path, diags: list, stack: tuple = (), via: str = "",
              text: str | None = None):
    """Read ``path`` (or ``text`` standing for it) and everything it includes, merged;
    None on a fatal problem."""
    path = path.resolve()
    if path in stack:
        chain = " -> ".join(_display(p) for p in stack + (path,))
        diags.append(Diagnostic("error", _display(stack[-1]), "include", f"include cycle: {chain}"))
        return None
    if len(stack) > _MAX_INCLUDE_DEPTH:
        diags.append(Diagnostic("error", _display(path), "include",
                                f"includes nest deeper than {_MAX_INCLUDE_DEPTH} files"))
        return None
    doc = _read_toml(path, diags, via, text)
    if doc is None:
        return None
    _tag_origins(doc, path)
    inc = doc.pop("include", [])
    if isinstance(inc, str):
        inc = [inc]
    if not isinstance(inc, list) or not all(isinstance(s, str) for s in inc):
        diags.append(Diagnostic("error", _display(path), "include",
                                "include must be a list of file names, e.g. include = [\"racks.toml\"]"))
        return doc
    merged: dict = {}
    for i, ref in enumerate(inc):
        try:
            target = _inside(ref, path.parent, root)
        except _PathError as exc:
            diags.append(Diagnostic("error", _display(path), f"include[{i}]", str(exc)))
            continue
        if target.is_dir():
            diags.append(Diagnostic("error", _display(path), f"include[{i}]",
                                    f"'{ref}' is a folder ({target}); include a TOML file, e.g. "
                                    f"'{ref.rstrip('/')}/racks.toml'"))
            continue
        if not target.is_file():
            diags.append(Diagnostic("error", _display(path), f"include[{i}]",
                                    f"included file '{ref}' not found (looked for {target})"))
            continue
        sub = _load_doc(target, root, diags, stack + (path,), f"include[{i}]")
        if sub is not None:
            _merge(merged, sub, "", diags, path)
    _merge(doc, merged, "", diags, path)
    return doc


_HALL_REUSE_KEYS = ("file", "from_hall", "template", "count")


def _expand_halls(doc: dict, path: Path, root: Path, diags: list, stack: tuple,
                  copies: dict | None = None):
    """Resolve hall entries with ``file``/``from_hall``, ``template`` and ``count``;
    ``copies`` gets {copy name: (entry name, copy names)} of every ``count > 1``."""
    halls = doc.get("halls")
    if not isinstance(halls, list):
        return
    out = []
    for i, h in enumerate(halls):
        if not isinstance(h, dict) or not any(k in h for k in _HALL_REUSE_KEYS):
            out.append(h)
            continue
        origin = Path(h.get("__origin__", path))
        label = h.get("name", i)
        hp = f"halls[{label}]"
        base = None
        if "file" in h and "template" in h:
            diags.append(Diagnostic("error", _display(origin), hp, "give file or template, not both"))
            continue
        if "file" in h:
            ref = h["file"]
            if not isinstance(ref, str):
                diags.append(Diagnostic("error", _display(origin), hp + ".file",
                                        "file must be a string: the facility file holding the hall"))
                continue
            try:
                target = _inside(ref, origin.parent, root)
            except _PathError as exc:
                diags.append(Diagnostic("error", _display(origin), hp + ".file", str(exc)))
                continue
            if target.is_dir():
                diags.append(Diagnostic("error", _display(origin), hp + ".file",
                                        f"'{ref}' is a folder ({target}); give the facility file "
                                        "(.toml) that holds the hall"))
                continue
            if not target.is_file():
                diags.append(Diagnostic("error", _display(origin), hp + ".file",
                                        f"hall file '{ref}' not found (looked for {target})"))
                continue
            sub = _load_doc(target, root, diags, stack + (path.resolve(),), hp + ".file")
            if sub is None:
                continue
            _expand_halls(sub, target, root, diags, stack + (path.resolve(),))
            sub_halls = [x for x in sub.get("halls", []) if isinstance(x, dict)]
            want = h.get("from_hall")
            names = [x.get("name") for x in sub_halls]
            if want is None and len(sub_halls) == 1:
                base = sub_halls[0]
            elif want is None:
                diags.append(Diagnostic("error", _display(origin), hp + ".from_hall",
                                        f"'{ref}' holds {len(sub_halls)} halls; say which with "
                                        f"from_hall = one of {names}"))
                continue
            else:
                match = [x for x in sub_halls if x.get("name") == want]
                if not match:
                    diags.append(Diagnostic("error", _display(origin), hp + ".from_hall",
                                            f"no hall '{want}' in '{ref}'{_did_you_mean(want, names)}; "
                                            f"halls there: {names}"))
                    continue
                base = match[0]
            for name, rt in (sub.get("rack_types") or {}).items():
                doc.setdefault("rack_types", {})
                if name in doc["rack_types"] and _strip(doc["rack_types"][name]) != _strip(rt):
                    diags.append(Diagnostic("error", _display(origin), f"rack_types[{name}]",
                                            f"rack type '{name}' of hall file '{ref}' differs from "
                                            "the one defined here; rename one"))
                else:
                    doc["rack_types"].setdefault(name, copy.deepcopy(rt))
            base = copy.deepcopy(base)
            base["__origin__"] = str(target)
        elif "template" in h:
            want = h["template"]
            match = [x for x in out if isinstance(x, dict) and x.get("name") == want]
            if not match:
                names = [x.get("name") for x in out if isinstance(x, dict)]
                diags.append(Diagnostic("error", _display(origin), hp + ".template",
                                        f"template hall '{want}' must be defined above this one"
                                        f"{_did_you_mean(want, names)}; halls so far: {names}"))
                continue
            base = copy.deepcopy(match[0])
        else:
            base = {}
        over = {k: copy.deepcopy(v) for k, v in h.items() if k not in _HALL_REUSE_KEYS}
        over.pop("__origin__", None)
        new = {**base, **over}
        if base:    # keys set on this entry are this file's, not the hall file's
            new["__overrides__"] = {**base.get("__overrides__", {}),
                                    **{k: str(origin) for k in over if not k.startswith("__")}}
        if "from_hall" in h and "file" not in h:
            diags.append(Diagnostic("error", _display(origin), hp + ".from_hall",
                                    "from_hall goes with file"))
        count = h.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            diags.append(Diagnostic("error", _display(origin), hp + ".count",
                                    f"count = {count!r} must be a whole number >= 1"))
            continue
        if count > MAX_HALL_COPIES:
            diags.append(Diagnostic("error", _display(origin), hp + ".count",
                                    f"count = {count}: it must be <= {MAX_HALL_COPIES} copies of "
                                    "one hall (a campus of more halls is not a layout the twin "
                                    "takes; check the number)"))
            continue
        if count == 1:
            out.append(new)
        else:
            names = [f"{new.get('name', 'hall')}{k + 1:02d}" for k in range(count)]
            for name in names:
                c = copy.deepcopy(new)
                c["name"] = name
                out.append(c)
                if copies is not None:
                    copies[name] = (str(new.get("name", "hall")), names)
    doc["halls"] = out


def _collect_origins(doc: dict) -> dict:
    origins = {}
    for i, h in enumerate(doc.get("halls", []) if isinstance(doc.get("halls"), list) else []):
        if isinstance(h, dict) and "__origin__" in h:
            origins[("halls", i)] = Path(h["__origin__"])
        if isinstance(h, dict) and isinstance(h.get("__overrides__"), dict):
            for key, f in h["__overrides__"].items():
                origins[("halls", i, key)] = Path(f)
    rts = doc.get("rack_types")
    if isinstance(rts, dict):
        for name, rt in rts.items():
            if isinstance(rt, dict) and "__origin__" in rt:
                origins[("rack_types", name)] = Path(rt["__origin__"])
    return origins


# ------------------------------------------------------------ pydantic error translation
def _unwrap(ann):
    """('list'|'dict'|'model'|'scalar', inner model class or None) of an annotation."""
    while True:
        origin = typing.get_origin(ann)
        if origin is Annotated:
            ann = typing.get_args(ann)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if len(args) == 1:
                ann = args[0]
                continue
            return "scalar", None
        break
    origin = typing.get_origin(ann)
    if origin is list:
        kind, inner = _unwrap(typing.get_args(ann)[0])
        return "list", inner if kind == "model" else None
    if origin is dict:
        kind, inner = _unwrap(typing.get_args(ann)[1])
        return "dict", inner if kind == "model" else None
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "model", ann
    return "scalar", None


def _walk_loc(loc, raw):
    """Object path with names (``halls[H1].rows[A].facing``) and the model at the end."""
    cls, node, parts, mode = Facility, raw, [], "model"
    for el in loc:
        if mode == "model" and isinstance(el, str) and cls is not None and el in cls.model_fields:
            parts.append(el)
            node = node.get(el) if isinstance(node, dict) else None
            mode, cls = _unwrap(cls.model_fields[el].annotation)
        elif mode == "list" and isinstance(el, int):
            item = node[el] if isinstance(node, list) and el < len(node) else None
            label = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) \
                and item.get("name") else el
            if parts:
                parts[-1] += f"[{label}]"
            node = item
            mode = "model" if cls is not None else "scalar"
        elif mode == "dict":
            if parts:
                parts[-1] += f"[{el}]"
            node = node.get(el) if isinstance(node, dict) else None
            mode = "model" if cls is not None else "scalar"
        else:
            parts.append(str(el))
            cls, mode = None, "scalar"
    return ".".join(parts), cls


_EXPECTED = {
    "float_type": "a number (e.g. 2.5)", "float_parsing": "a number (e.g. 2.5)",
    "int_type": "a whole number (e.g. 4)", "int_from_float": "a whole number (e.g. 4)",
    "string_type": "a string in quotes", "bool_type": "true or false",
    "list_type": "a list [ ... ] (or an array of tables [[...]])",
    "dict_type": "a table", "model_type": "a table", "model_attributes_type": "a table",
}


_SIZE_WHY = (f"the twin takes halls up to {MAX_HALL_SIZE_M:g} m a side; split a longer "
             "building into halls, and check the unit: metres")
_DT_WHY = (f"a design temperature difference is at most {MAX_DELTA_T_K:g} K; "
           "check the unit: K")
_KV_WHY = f"a voltage is at most {MAX_VOLTAGE_KV:,.0f} kV; check the unit: kV, not V"
_PRICE_WHY = f"a price is at most {MAX_PRICE_KRW_PER_KWH:,.0f} KRW per kWh; check the unit: KRW/kWh"
_POS_WHY = (f"a position is metres from the hall's corner, at most {MAX_HALL_SIZE_M:g} m; "
            "check the unit: metres")
_LOWER_WHY = {"elevation_m", "x_m", "y_m", "z_m", "start_m", "end_m"}
_LIMIT_WHY = {
    ("Hall", "length_m"): _SIZE_WHY, ("Hall", "width_m"): _SIZE_WHY,
    "length_m": _SIZE_WHY, "width_m": _SIZE_WHY, "pitch_m": _SIZE_WHY, "depth_m": _SIZE_WHY,
    ("Hall", "ceiling_height_m"): f"a hall's ceiling is at most {MAX_HALL_HEIGHT_M:g} m above the slab; "
                                  "check the unit: metres",
    ("Hall", "raised_floor_height_m"): f"a raised floor is at most {MAX_RAISED_FLOOR_M:g} m deep; "
                                       "check the unit: metres",
    ("Hall", "return_plenum_height_m"): f"a return plenum is at most {MAX_PLENUM_M:g} m deep; "
                                        "check the unit: metres",
    "height_m": f"nothing in a hall is taller than {MAX_HALL_HEIGHT_M:g} m; check the unit: metres",
    ("RackType", "width_m"): f"a rack is at most {MAX_RACK_WIDTH_M:g} m wide; check the unit: metres",
    ("RackType", "depth_m"): f"a rack is at most {MAX_RACK_DEPTH_M:g} m deep; check the unit: metres",
    ("RackType", "height_m"): f"a rack is at most {MAX_RACK_HEIGHT_M:g} m tall; check the unit: metres",
    "nameplate_power_kw": f"a rack draws at most {MAX_RACK_POWER_KW:g} kW (2 MW); check the unit: kW",
    "idle_power_kw": f"a rack draws at most {MAX_RACK_POWER_KW:g} kW (2 MW); check the unit: kW",
    "power_kw": f"a rack draws at most {MAX_RACK_POWER_KW:g} kW (2 MW); check the unit: kW",
    ("Row", "count"): f"a row holds at most {MAX_ROW_RACKS} racks; split it into rows",
    ("Row", "types"): f"a row holds at most {MAX_ROW_RACKS} racks; split it into rows",
    ("CoolingUnit", "count"): f"one entry makes at most {MAX_UNIT_COUNT} units; add entries",
    ("Patch", "count"): f"one entry makes at most {MAX_PATCH_COUNT} patches; add entries",
    ("TileGroup", "count"): f"one row of tiles holds at most {MAX_TILE_COUNT} tiles",
    ("TileGroup", "tile_m"): "floor tiles are 0.6 m (at most 3 m); check the unit: metres",
    "count": f"one entry makes at most {MAX_ITEM_COUNT} items; check the number",
    ("CoolingUnit", "airflow_m3_s"): f"one cooling unit or air handler moves at most "
                                     f"{MAX_UNIT_AIRFLOW_M3_S:g} m3/s; check the unit: m3/s, not L/s",
    ("Patch", "airflow_m3_s"): f"one air handler moves at most {MAX_UNIT_AIRFLOW_M3_S:g} m3/s; "
                               "check the unit: m3/s, not L/s",
    ("CoolingUnit", "capacity_kw"): f"one cooling unit removes at most {MAX_UNIT_CAPACITY_KW:,.0f} kW; "
                                    "check the unit: kW, not W",
    ("RackType", "design_airflow_m3_s"): f"a rack moves at most {MAX_RACK_AIRFLOW_M3_S:g} m3/s; "
                                         "check the unit: m3/s, not L/s",
    "capacity_kw": f"one plant or power item is at most {MAX_PLANT_ITEM_KW:,.0f} kW (100 MW); "
                   "check the unit: kW, not W",
    "capacity_kva": f"one transformer is at most {MAX_PLANT_ITEM_KW:,.0f} kVA; check the unit: kVA",
    "fan_power_kw": f"fans of one item draw at most {MAX_PLANT_ITEM_KW:,.0f} kW; check the unit: kW",
    "approach_k": _DT_WHY, "range_k": _DT_WHY, "hx_approach_k": _DT_WHY, "design_delta_t_k": _DT_WHY,
    "cop": f"a chiller's COP is at most {MAX_COP:g} (about 3 to 10 at design)",
    "flow_m3_s": f"one pump moves at most {MAX_PUMP_FLOW_M3_S:g} m3/s; check the unit: m3/s, not L/s",
    "head_kpa": f"a pump head is at most {MAX_PUMP_HEAD_KPA:,.0f} kPa (50 bar); check the unit: kPa",
    "capacity_mw": f"a grid connection or contract is at most {MAX_SITE_MW:,.0f} MW; check the unit: MW",
    "solar_mw": f"on-site solar is at most {MAX_SITE_MW:,.0f} MW; check the unit: MW",
    "voltage_kv": _KV_WHY, "primary_kv": _KV_WHY, "secondary_kv": _KV_WHY,
    "tariff_krw_per_kwh": _PRICE_WHY, "price_krw_per_kwh": _PRICE_WHY,
    "carbon_kg_per_kwh": f"grid carbon is at most {MAX_CARBON_KG_PER_KWH:g} kg CO2/kWh (coal is about 1); "
                         "check the unit: kg per kWh",
    "elevation_m": f"a site lies between {MIN_ELEVATION_M:,.0f} and {MAX_ELEVATION_M:,.0f} m above sea "
                   "level; check the unit: metres",
    "x_m": _POS_WHY, "y_m": _POS_WHY, "z_m": _POS_WHY, "start_m": _POS_WHY, "end_m": _POS_WHY,
    "floor_area_m2": "a building's floor is at most 1,000,000 m2; check the unit: m2",
    "k_loss": "a tile's or grille's loss coefficient is below 10,000 (a 50 % open tile: about 4)",
    "roof_z_m": f"a containment roof is at most {MAX_HALL_HEIGHT_M:g} m above the slab; "
                "check the unit: metres",
}


def _fmt(v):
    return repr(v) if isinstance(v, str) else ("a table" if isinstance(v, dict) else str(v))


def _translate(err: dict, raw: dict, origins: dict, root) -> Diagnostic:
    loc = tuple(err.get("loc", ()))
    typ = err.get("type", "")
    ctx = err.get("ctx") or {}
    inp = err.get("input")
    file = root
    if len(loc) >= 2 and loc[0] in ("halls", "rack_types"):
        file = origins.get((loc[0], loc[1]), root)
        if len(loc) >= 3:
            file = origins.get((loc[0], loc[1], loc[2]), file)
    if typ == "extra_forbidden":
        parent, cls = _walk_loc(loc[:-1], raw)
        key = str(loc[-1])
        allowed = list(cls.model_fields) if cls is not None else []
        msg = f"unknown key '{key}'{_did_you_mean(key, allowed)}"
        if allowed:
            msg += f" (allowed here: {', '.join(allowed)})"
        return Diagnostic("error", _display(file), parent, msg)
    if typ == "missing":
        parent, cls = _walk_loc(loc[:-1], raw)
        return Diagnostic("error", _display(file), parent, f"missing required key '{loc[-1]}'")
    path, _ = _walk_loc(loc, raw)
    key = str(loc[-1]) if loc else "value"
    if typ in _EXPECTED:
        msg = f"{key} = {_fmt(inp)} has the wrong type: expected {_EXPECTED[typ]}"
    elif typ == "literal_error" and key == "format_version":
        msg = (f"format_version = {_fmt(inp)} is not allowed; it must be the integer 1, "
               "without quotes: format_version = 1")
    elif typ == "literal_error":
        msg = f"{key} = {_fmt(inp)} is not allowed; use one of {ctx.get('expected', '')}"
    elif typ in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
              "less_than_equal": "<="}[typ]
        bound = ctx.get({"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt",
                         "less_than_equal": "le"}[typ])
        msg = f"{key} = {_fmt(inp)}: it must be {op} {bound}"
        if op == ">" and bound == 0:
            msg += " (a zero or negative power, flow or size is not physical)"
        elif op in ("<", "<=") or (op == ">=" and key in _LOWER_WHY):
            _, pcls = _walk_loc(loc[:-1], raw)
            why = _LIMIT_WHY.get((pcls.__name__ if pcls else "", key)) or _LIMIT_WHY.get(key)
            if why:
                msg += f" ({why})"
    elif typ == "finite_number":
        msg = f"{key} = {_fmt(inp)}: it must be a finite number"
    elif typ == "string_pattern_mismatch":
        msg = f"name {_fmt(inp)}: {NAME_HELP}"
    elif typ in ("too_short", "too_long"):
        msg = f"{key}: {err.get('msg', '')}"
        _, pcls = _walk_loc(loc[:-1], raw)
        why = _LIMIT_WHY.get((pcls.__name__ if pcls else "", key)) if typ == "too_long" else None
        if why:
            msg += f" ({why})"
    elif typ == "string_too_short":
        msg = f"{key} must not be empty"
    elif typ == "value_error":
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
    else:
        msg = f"{key}: {err.get('msg', typ)}"
    return Diagnostic("error", _display(file), path, msg)


# ------------------------------------------------------------------------- entry points
def parse_facility(doc: dict, *, source=None, origins=None) -> Facility:
    """Check a resolved document (no includes left) and return the facility.

    Raises :class:`FacilityError` with every schema and engineering error found.
    """
    origins = origins or {}
    clean = _strip(doc)
    try:
        fac = Facility.model_validate(clean)
    except ValidationError as exc:
        diags = [_translate(e, clean, origins, source) for e in exc.errors()]
        raise FacilityError(diags) from None
    fac._source = Path(source) if source is not None else None
    fac._origins = dict(origins)
    diags = check_facility(fac)
    errs = [d for d in diags if d.severity == "error"]
    if errs:
        raise FacilityError(errs + [d for d in diags if d.severity == "warning"])
    fac._warnings = diags
    return fac


def load_facility(path) -> Facility:
    """Read, resolve, check and return the facility described by the TOML file ``path``.

    Raises :class:`FacilityError` (an :class:`~kernels.errors.InputError`) listing every
    error; warnings are on :attr:`Facility.warnings`.
    """
    p = Path(path)
    if p.is_dir():
        raise FacilityError([Diagnostic("error", _display(p), "",
                                        "is a folder; give the facility file (.toml)")])
    if not p.is_file():
        raise FacilityError([Diagnostic("error", _display(p), "", "facility file not found")])
    return _load(p, None)


def loads_facility(text: str, folder=None, name: str = "facility.toml") -> Facility:
    """Like :func:`load_facility` for TOML ``text`` standing for ``folder/name`` (default:
    the current folder); its includes resolve inside ``folder``. Nothing is written."""
    folder = Path(folder) if folder is not None else Path.cwd()
    return _load(folder / name, text)


def _load(p: Path, text: str | None) -> Facility:
    diags: list[Diagnostic] = []
    copies: dict = {}
    root = p.resolve().parent
    doc = _load_doc(p, root, diags, text=text)
    if doc is not None:
        _expand_halls(doc, p.resolve(), root, diags, (), copies)
    if diags or doc is None:
        raise FacilityError(diags or [Diagnostic("error", _display(p), "", "could not be read")])
    try:
        fac = parse_facility(doc, source=p, origins=_collect_origins(doc))
    except FacilityError as exc:
        raise FacilityError(_fold_copies(exc.diagnostics, copies)) from None
    fac._warnings = _fold_copies(fac._warnings, copies)
    return fac


def _fold_copies(diags: list, copies: dict) -> list:
    """One diagnostic for a problem that every copy of a hall entry (``count = N``) has:
    the first copy's, naming the others, instead of N lines that differ by the name."""
    if not copies:
        return list(diags)
    groups: dict = {}
    for d in diags:
        m = re.match(r"halls\[([^\]]+)\]", d.path)
        name = m.group(1) if m and m.group(1) in copies else None
        if name is None:
            groups[id(d)] = [d]
            continue
        entry = copies[name][0]
        key = (d.severity, d.file, d.path.replace(name, "\0"), d.message.replace(name, "\0"), entry)
        groups.setdefault(key, []).append(d)
    out = []
    for same in groups.values():
        d = same[0]
        if len(same) > 1:
            first = re.match(r"halls\[([^\]]+)\]", same[1].path).group(1)
            last = re.match(r"halls\[([^\]]+)\]", same[-1].path).group(1)
            entry = copies[first][0]
            d = Diagnostic(d.severity, d.file, d.path,
                           f"{d.message} (the same in {len(same) - 1} more copies of hall "
                           f"'{entry}': {first}" + (f" .. {last})" if len(same) > 2 else ")"))
        out.append(d)
    return out


def _rho_cp(air: "Air | None" = None) -> float:
    return _AIR.rho_cp if air is None else air.rho_cp


def flow_for_delta_t(power_w: float, delta_t_k: float, air: "Air | None" = None) -> float:
    """Air flow [m3/s] that carries ``power_w`` at a rise of ``delta_t_k``:
    ``Q = P / (rho * cp * dT)`` with ``air`` (a campus's :class:`Air`; default the thermal
    core's default air, ``kernels.Fluid()``)."""
    if delta_t_k <= 0 or not math.isfinite(delta_t_k):
        raise InputError(f"delta_t_k = {delta_t_k} must be a positive number")
    return power_w / (_rho_cp(air) * delta_t_k)
