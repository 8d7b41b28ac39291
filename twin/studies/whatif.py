"""What-if studies: change facility fields by path, solve each case, compare (``twin whatif``).

A change is ``PATH=VALUE``. ``PATH`` walks the facility the way the file is written:
dots between fields, ``[NAME]`` to pick an item of a list by its ``name`` (``[*]``: every
item; ``[0]``: by position) or an entry of a table::

    halls[H1].cooling_units[CRAH-1].supply_temp_c=21
    halls[H1].cooling_units[*].supply_temp_c=16          # every unit of the hall
    halls[H1].rows[A].type=hgx-h100-air                  # rack type of a row
    halls[H1].rows[A].count=6                            # racks in a row
    halls[H1].tiles[CA].open_area_frac=0.25
    rack_types[cpu-compute].nameplate_power_kw=15

and a few study switches that are not fields of the file:

* ``utilization=0.6`` (alias ``load``): IT utilisation of every rack (0 idle .. 1 design);
* ``halls[H].rows[R].utilization=0.5`` / ``halls[H].racks[R].utilization``: one row or rack;
* ``halls[H].cooling_units[U].enabled=false`` or ``...airflow_m3_s=0``: the unit stands
  (its body stays) but moves no air and removes no heat, as after a fan or valve failure;
* ``halls[H].containment=none`` (remove all), ``=cold-aisle:A+B`` or ``=hot-aisle:A+B``
  (contain the aisle between rows A and B); ``halls[H].containment[C].enabled=false``.

Every changed facility is checked by the facility validator before any solve; a bad path
or value is one line naming the path and the valid choices.

Each case is one steady state (pseudo-time stepping to the criterion of
:class:`kernels.solver.SolverSettings`, then the exact energy finish) at a coarse cell;
the cases run in parallel on Dask (:mod:`twin.studies.sweep`).

Metrics (:func:`inlet_metrics`): the *rack inlet temperature* is the mean over the rack's
intake face (what a front-door sensor array reads); the Rack Cooling Index is computed
over every intake cell (one cell of the face ~ one server intake), after

    Herrlin, M.K. (2005), "Rack Cooling Effectiveness in Data Centers and Telecom Central
    Offices: The Rack Cooling Index (RCI)", ASHRAE Transactions 111(2), 725-731.

with the ASHRAE TC 9.9 class A1 limits (Thermal Guidelines for Data Processing
Environments, 5th ed., 2021): recommended 18-27 degC, allowable 15-32 degC; RTI after
Herrlin (2008). The indices are those of :mod:`twin.models.metrics`.
"""
from __future__ import annotations

import itertools
import math
import re
import time
import tomllib
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from common.errors import InputError
from twin.models.metrics import ALLOWABLE_MAX_C, RECOMMENDED_MAX_C, rci_hi_pct, rci_lo_pct, rti_pct

#: Comparison columns: key, heading, format, whether higher is worse (for the marks).
METRIC_COLUMNS = [
    ("inlet_max_c", "max inlet C", "{:.1f}", True),
    ("inlet_mean_c", "mean inlet C", "{:.1f}", True),
    ("inlet_cell_max_c", "hottest cell C", "{:.1f}", True),
    ("racks_over_27", "racks >27C", "{:d}", True),
    ("racks_over_32", "racks >32C", "{:d}", True),
    ("rci_hi_pct", "RCI_HI %", "{:.1f}", False),
    ("rci_lo_pct", "RCI_LO %", "{:.1f}", False),
    ("rti_pct", "RTI %", "{:.0f}", None),
    ("cooling_kw", "cooling kW", "{:.1f}", None),
    ("rack_heat_kw", "rack heat kW", "{:.1f}", None),
    ("supply_c", "supply C", "{:.1f}", None),
    ("return_c", "return C", "{:.1f}", None),
]


# ------------------------------------------------------------------------------ metrics
def inlet_metrics(solver) -> dict:
    """Comparison metrics of a solved hall (a :class:`kernels.solver.Solver`)."""
    T = solver.backend.to_host(solver.T)
    racks, units = [], []
    cells = []
    for n, d in enumerate(solver.devices):
        if d.kind == "rack":
            c = d.intake.cells
            cells.append(T[c[:, 0], c[:, 1], c[:, 2]].astype(float))
            racks.append((d, float(solver.dev_tin[n]), float(solver.dev_tin_max[n]),
                          float(solver.dev_tout[n])))
        else:
            units.append((d, float(solver.dev_tin[n]), float(solver.dev_tout[n])))
    allc = np.concatenate(cells) if cells else np.zeros(0)
    rcp = solver.problem.fluid.rho_cp
    out = {"racks": {d.name: round(tin, 3) for d, tin, _, _ in racks}}
    if racks:
        tin = np.array([r[1] for r in racks])
        worst = int(np.argmax(tin))
        q = np.array([r[0].flow_m3_s for r in racks])
        tout = np.array([r[3] for r in racks])
        out.update(
            inlet_max_c=float(tin.max()), inlet_mean_c=float(tin.mean()),
            inlet_cell_max_c=float(allc.max()), worst_rack=racks[worst][0].name,
            racks_over_27=int((tin > RECOMMENDED_MAX_C).sum()),
            racks_over_32=int((tin > ALLOWABLE_MAX_C).sum()),
            rci_hi_pct=rci_hi_pct(allc), rci_lo_pct=rci_lo_pct(allc),
            rack_heat_kw=float(np.sum(rcp * q * (tout - tin)) / 1e3))
    else:
        q = tin = tout = np.zeros(0)
    on = [(d, ti, to) for d, ti, to in units if d.flow_m3_s > 0]
    if on:
        qu = np.array([d.flow_m3_s for d, _, _ in on])
        tr = np.array([ti for _, ti, _ in on])
        ts = np.array([to for _, _, to in on])
        sup = float(np.average(ts, weights=qu))
        ret = float(np.average(tr, weights=qu))
        r = rti_pct(tr, ts, qu, tout - tin, q) if q.size else float("nan")
        out.update(supply_c=sup, return_c=ret, rti_pct=r,
                   cooling_kw=float(sum(rcp * d.flow_m3_s * (ti - to) for d, ti, to in on) / 1e3))
    else:
        out.update(supply_c=float("nan"), return_c=float("nan"), rti_pct=float("nan"),
                   cooling_kw=0.0)
    return out


# -------------------------------------------------------------------------- a solved case
def solve_case(facility, hall: str | None = None, cell_m: float = 0.3, backend="auto",
               settings=None, utilization: float = 1.0, off_units=(), rack_utilization=(),
               progress=None, coarse_start: bool = False):
    """Mesh and solve one case to steady state.

    Like :func:`twin.thermal.steady.solve_hall` (same summary keys), plus: ``off_units`` (unit
    names, ``UNIT`` or ``HALL/UNIT``) move no air; ``rack_utilization`` ((rack or row,
    utilisation) pairs) overrides the utilisation of single racks or whole rows;
    ``coarse_start`` as in :func:`twin.thermal.steady.steady_solve`. Returns a :class:`twin.thermal.steady.HallSolution` whose summary also has ``metrics``.
    """
    from twin.thermal.mesh import mesh_hall
    from twin.thermal.steady import HallSolution, hot_spots, steady_solve

    lay = facility.layout(facility.hall(hall).name)
    rack_power = _rack_power(lay, rack_utilization)
    off = set(unit_device_names(lay, off_units))

    def mesh_at(cell):
        problem, report = mesh_hall(facility, hall, cell_m=cell, utilization=utilization,
                                    rack_power_w=rack_power or None,
                                    backend=backend if isinstance(backend, str) else None)
        if off:
            problem = problem.with_devices(replace(d, flow_m3_s=0.0) if d.name in off else d
                                           for d in problem.devices)
        return problem, report
    problem, report = mesh_at(cell_m)
    t0 = time.perf_counter()
    solver, run, coarse = steady_solve(problem, lambda cell: mesh_at(cell)[0], cell_m, backend,
                                       settings, progress, coarse_start)
    summary = hall_summary(facility, report, solver, run, cell_m, time.perf_counter() - t0)
    summary["coarse_start"] = coarse
    summary["hot_spots"] = hot_spots(solver)
    summary["off_units"] = sorted(off)
    return HallSolution(report.hall, solver, report, run, summary)


def hall_summary(facility, report, solver, run, cell_m, wall_s) -> dict:
    """The summary of :func:`twin.thermal.steady.solve_hall` (same keys) plus ``metrics``."""
    from twin.thermal.steady import RESULT_SCHEMA, convergence_summary
    racks, units = [], []
    for rec in solver.device_report():
        if rec["kind"] == "rack":
            racks.append({"name": rec["name"], "hall": report.hall,
                          "intake_temp_c": rec["intake_temp_c"],
                          "intake_max_c": rec["intake_max_c"],
                          "exhaust_temp_c": rec["exhaust_temp_c"],
                          "flow_m3_s": rec["flow_m3_s"], "air_heat_w": rec["heat_w"]})
        else:
            units.append({"name": rec["name"], "hall": report.hall,
                          "heat_removed_w": rec["heat_w"], "supply_temp_c": rec["supply_temp_c"],
                          "return_temp_c": rec["return_temp_c"],
                          "airflow_m3_s": rec["flow_m3_s"]})
    racks.sort(key=lambda r: -r["intake_max_c"])
    return {
        "schema": RESULT_SCHEMA,
        "facility": str(getattr(facility, "source", "") or ""),
        "hall": report.hall, "racks": racks, "cooling_units": units,
        "cells": int(solver.problem.grid.cells), "cell_m": float(cell_m),
        "backend": solver.backend.name, "device": solver.backend.device,
        "iterations": int(run.iterations), "converged": bool(run.converged),
        "wall_s": float(wall_s),
        "residual_velocity": float(run.residuals.get("velocity", np.nan)),
        "convergence": convergence_summary(run),
        "energy_budget": solver.energy_budget(),
        "max_divergence_m_s": float(solver.max_divergence()),
        "metrics": inlet_metrics(solver),
    }


def unit_device_names(lay, names) -> list[str]:
    """Device names of the cooling units ``names`` (``UNIT``, ``HALL/UNIT``; a unit with
    ``count > 1`` stands for all its copies)."""
    hall = lay.hall.name
    devs = [u.name for u in lay.units]
    out = []
    for n in names:
        full = n if n.startswith(hall + "/") else f"{hall}/{n}"
        hit = [d for d in devs if d == full or re.fullmatch(re.escape(full) + r"-\d\d", d)]
        if not hit:
            choices = [d.split("/", 1)[1] for d in devs]
            raise InputError(f"no cooling unit '{n}' in hall {hall}{_suggest(n, choices)}; "
                             f"units: {', '.join(choices) or '(none)'}")
        out += hit
    return list(dict.fromkeys(out))


def _rack_power(lay, rack_utilization) -> dict:
    """{rack device name: power [W]} for (row or rack name, utilisation) pairs."""
    hall = lay.hall.name
    out = {}
    for ref, u in rack_utilization:
        hit = [r for r in lay.racks if r.row == ref or r.name in (ref, f"{hall}/{ref}")]
        if not hit:
            raise InputError(f"no row or rack '{ref}' in hall {hall}")
        for r in hit:
            out[r.name] = r.power_w(u)
    return out


def _suggest(word, choices) -> str:
    import difflib
    m = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{m[0]}'?)" if m else ""


# ------------------------------------------------------------------------------- paths
@dataclass(frozen=True)
class Case:
    """One what-if case: a changed facility and the study switches that go with it."""

    name: str
    label: str
    facility: object                      # twin.facility.Facility
    changes: tuple = ()                   # ((path, value text), ...)
    utilization: float = 1.0
    off_units: tuple = ()                 # unit names (HALL/UNIT)
    rack_utilization: tuple = ()          # ((row or rack, utilisation), ...)


@dataclass
class _Edit:
    doc: dict
    utilization: float = 1.0
    off_units: list = field(default_factory=list)
    rack_utilization: list = field(default_factory=list)


_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\[\]]*\])*)\s*(?:\.|$)")


def parse_path(path: str) -> list[tuple[str, list[str]]]:
    """``a[b].c`` -> ``[("a", ["b"]), ("c", [])]`` (names in brackets may hold dots)."""
    out, pos = [], 0
    if not path.strip():
        raise InputError("--set: empty path; write PATH=V1,V2 (e.g. "
                         "halls[H1].cooling_units[CRAH-1].supply_temp_c=18,21)")
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m or m.end() == pos:
            raise InputError(f"--set {path}: cannot read the path at '{path[pos:]}'; write "
                             "fields separated by dots, items as [NAME] (e.g. "
                             "halls[H1].rows[A].count)")
        keys = re.findall(r"\[([^\[\]]*)\]", m.group(2))
        out.append((m.group(1), [k.strip() for k in keys]))
        pos = m.end()
    return out


def parse_set(text: str) -> tuple[str, list[str]]:
    """``PATH=V1,V2`` -> (PATH, [V1, V2])."""
    if "=" not in text:
        raise InputError(f"--set {text}: write PATH=V1,V2,... (e.g. "
                         "halls[H1].cooling_units[CRAH-1].supply_temp_c=18,21,24)")
    path, _, vals = text.partition("=")
    values = [v.strip() for v in vals.split(",")]
    if not path.strip() or not any(values) or any(v == "" for v in values):
        raise InputError(f"--set {text}: give a path and at least one value, comma-separated")
    parse_path(path.strip())
    return path.strip(), values


def _scalar_types(ann):
    """(python types, literal choices) accepted by a pydantic annotation."""
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return _scalar_types(typing.get_args(ann)[0])
    if origin is typing.Literal:
        vals = typing.get_args(ann)
        return {type(v) for v in vals}, list(vals)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        ts, lits = set(), []
        for a in typing.get_args(ann):
            t, l_ = _scalar_types(a)
            ts |= t
            lits += l_
        return ts, lits
    if ann is type(None):
        return set(), []
    return {ann}, []


def _coerce(ann, raw: str, where: str):
    types_, lits = _scalar_types(ann)
    low = raw.strip().lower()
    if lits:
        for v in lits:
            if str(v).lower() == low:
                return v
        raise InputError(f"{where}={raw}: not a valid choice; choose one of "
                         + ", ".join(str(v) for v in lits))
    if bool in types_:
        if low in ("true", "on", "yes", "1"):
            return True
        if low in ("false", "off", "no", "0"):
            return False
        raise InputError(f"{where}={raw}: give true or false")
    if int in types_ and float not in types_:
        try:
            return int(raw)
        except ValueError:
            raise InputError(f"{where}={raw}: give a whole number") from None
    if float in types_:
        try:
            v = float(raw)
        except ValueError:
            raise InputError(f"{where}={raw}: give a number") from None
        if not math.isfinite(v):
            raise InputError(f"{where}={raw}: give a finite number")
        return v
    if str in types_:
        return raw.strip()
    raise InputError(f"{where}: this field is a table or list and cannot be set to '{raw}'; "
                     "set one of its fields instead")


def _inner_model(ann):
    """The pydantic model class inside ``list[M]``, ``dict[str, M]``, ``M | None``."""
    from pydantic import BaseModel
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return _inner_model(typing.get_args(ann)[0])
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in typing.get_args(ann) or ():
        m = _inner_model(a)
        if m is not None:
            return m
    return None


def _container_kind(ann) -> str:
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return _container_kind(typing.get_args(ann)[0])
    if origin is list:
        return "list"
    if origin is dict:
        return "dict"
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for a in typing.get_args(ann):
            k = _container_kind(a)
            if k != "scalar":
                return k
    return "scalar"


_VIRTUAL = {
    "Facility": {"utilization": "IT utilisation of every rack (0..1)", "load": "alias of utilization"},
    "CoolingUnit": {"enabled": "false: the unit moves no air"},
    "Row": {"utilization": "IT utilisation of the row's racks (0..1)"},
    "Rack": {"utilization": "IT utilisation of the rack (0..1)"},
    "Containment": {"enabled": "false: remove this containment"},
}


def _apply(edit: _Edit, path: str, raw: str):
    """Apply ``path=raw`` to ``edit`` (the facility as a plain document)."""
    from twin.facility import Facility
    segs = parse_path(path)
    targets = [(edit.doc, Facility, "", None)]     # (dict, model class, where, hall name)
    for i, (name, keys) in enumerate(segs):
        last = i == len(segs) - 1
        nxt = []
        for obj, cls, where, hall in targets:
            here = f"{where}.{name}" if where else name
            fields = cls.model_fields
            virtual = _VIRTUAL.get(cls.__name__, {})
            if name not in fields and name not in virtual:
                choices = sorted(set(fields) | set(virtual))
                raise InputError(f"--set {path}: '{name}' is not a field of "
                                 f"{where or 'the facility'}{_suggest(name, choices)}; "
                                 f"fields: {', '.join(choices)}")
            if name in virtual and name not in fields:
                if keys or not last:
                    raise InputError(f"--set {path}: '{here}' is a value; nothing goes after it")
                _apply_virtual(edit, obj, cls.__name__, name, raw, here, hall, path)
                continue
            ann = fields[name].annotation
            kind = _container_kind(ann)
            if cls.__name__ == "Hall" and name == "containment" and not keys and last:
                obj["containment"] = _containment_spec(raw, here, obj)
                continue
            if not keys:
                if last:
                    obj[name] = _set_scalar(obj, cls.__name__, name, ann, raw, here, edit, hall)
                    continue
                sub = obj.get(name)
                model = _inner_model(ann)
                if kind != "scalar" or model is None:
                    raise InputError(f"--set {path}: '{here}' is a list or table; pick an item "
                                     f"with [NAME] (or [*] for all)")
                if sub is None:
                    raise InputError(f"--set {path}: '{here}' is not set in this facility")
                nxt.append((sub, model, here, hall))
                continue
            items = [(obj, name, None)]
            for k in keys:
                step = []
                for parent, key, _ in items:
                    cont = parent.get(key) if isinstance(parent, dict) else parent[key]
                    if cont is None and parent is obj:
                        cont = parent[key] = {} if kind == "dict" else []
                    step += _select(cont, k, f"{here}", path)
                items = [(c, idx, lab) for c, idx, lab in step]
            model = _inner_model(ann)
            if last:
                raise InputError(f"--set {path}: '{here}[{keys[-1]}]' is an item; name one of "
                                 f"its fields after a dot (e.g. {here}[{keys[-1]}].{_example(model)})")
            for cont, idx, lab in items:
                h = cont[idx]["name"] if (cls.__name__ == "Facility" and name == "halls") else hall
                nxt.append((cont[idx], model, f"{here}[{lab}]", h))
        targets = nxt


def _select(cont, key, where, path):
    """Items of a list (by name, ``*`` or position) or table (by key): [(container, index, label)]."""
    if isinstance(cont, dict):
        if key == "*":
            return [(cont, k, k) for k in cont]
        if key not in cont:
            raise InputError(f"--set {path}: no '{key}' in {where}{_suggest(key, list(cont))}; "
                             f"choices: {', '.join(map(str, cont)) or '(none)'}")
        return [(cont, key, key)]
    if not isinstance(cont, list):
        raise InputError(f"--set {path}: {where} is not a list or table; remove [{key}]")
    names = [it.get("name") if isinstance(it, dict) else None for it in cont]
    if key == "*":
        return [(cont, n, names[n] or str(n)) for n in range(len(cont))]
    if key in names:
        return [(cont, names.index(key), key)]
    if re.fullmatch(r"-?\d+", key) and -len(cont) <= int(key) < len(cont):
        n = int(key) % len(cont)
        return [(cont, n, names[n] or key)]
    shown = [n for n in names if n is not None] or [str(n) for n in range(len(cont))]
    raise InputError(f"--set {path}: no '{key}' in {where}{_suggest(key, shown)}; "
                     f"choices: {', '.join(shown) or '(none)'}")


def _example(model) -> str:
    if model is None:
        return "name"
    for f in model.model_fields:
        if f != "name":
            return f
    return "name"


def _set_scalar(obj, cls_name, name, ann, raw, here, edit, hall):
    if cls_name == "CoolingUnit" and name == "airflow_m3_s":
        try:
            if float(raw) == 0.0:
                _switch_off(edit, obj, hall)
                return obj.get(name)
        except ValueError:
            pass
    if cls_name == "Row" and name == "type" and obj.get("types") is not None:
        obj["count"] = len(obj.pop("types"))
    if cls_name == "Row" and name == "count" and obj.get("types") is not None:
        raise InputError(f"{here}: row lists one type per rack (types); set {here[:-6]}.type "
                         "first or give the count in the file")
    return _coerce(ann, raw, here)


def _switch_off(edit, unit_doc, hall):
    name = unit_doc["name"]
    edit.off_units.append(f"{hall}/{name}" if hall else name)


def _apply_virtual(edit, obj, cls_name, name, raw, here, hall, path):
    if cls_name == "Facility":
        u = _coerce(float, raw, here)
        if not 0.0 <= u <= 1.0:
            raise InputError(f"--set {here}={raw}: utilisation must be between 0 and 1")
        edit.utilization = u
    elif cls_name in ("Row", "Rack"):
        u = _coerce(float, raw, here)
        if not 0.0 <= u <= 1.0:
            raise InputError(f"--set {here}={raw}: utilisation must be between 0 and 1")
        ref = obj["name"] if cls_name == "Row" else f"{hall}/{obj['name']}"
        edit.rack_utilization.append((ref, u))
    elif cls_name == "CoolingUnit":
        if not _coerce(bool, raw, here):
            _switch_off(edit, obj, hall)
    elif cls_name == "Containment":
        if not _coerce(bool, raw, here):
            obj["__remove__"] = True


def _containment_spec(raw, here, hall_doc):
    """``none`` or ``cold-aisle:A+B`` / ``hot-aisle:A+B`` -> a containment list."""
    low = raw.strip().lower()
    if low in ("none", "off", "false", "no"):
        return []
    m = re.fullmatch(r"(cold-aisle|hot-aisle):([^+]+)\+([^+]+)", raw.strip())
    if not m:
        raise InputError(f"--set {here}={raw}: give none, cold-aisle:ROW1+ROW2 or "
                         "hot-aisle:ROW1+ROW2")
    rows = [r["name"] for r in hall_doc.get("rows", [])]
    for r in (m.group(2), m.group(3)):
        if r not in rows:
            raise InputError(f"--set {here}={raw}: no row '{r}'{_suggest(r, rows)}; "
                             f"rows: {', '.join(rows) or '(none)'}")
    return [{"name": f"{m.group(1)}-{m.group(2)}-{m.group(3)}", "kind": m.group(1),
             "rows": [m.group(2), m.group(3)]}]


def _drop_removed(doc):
    for h in doc.get("halls", []):
        if "containment" in h:
            h["containment"] = [c for c in h["containment"] if not c.pop("__remove__", False)]


def make_case(facility, changes, name: str = "case", label: str | None = None) -> Case:
    """A :class:`Case` from ``[(path, value text), ...]``; the changed facility is
    checked by the facility validator (one-line :class:`InputError` if it fails)."""
    import copy

    from twin.facility import FacilityError, parse_facility
    edit = _Edit(doc=copy.deepcopy(facility.to_dict()))
    for path, raw in changes:
        _apply(edit, path, raw)
    _drop_removed(edit.doc)
    label = label or ", ".join(f"{short_path(p, facility)}={v}" for p, v in changes) or "baseline"
    try:
        fac = parse_facility(edit.doc, source=facility.source, origins=facility._origins)
    except FacilityError as exc:
        first = exc.errors[0] if exc.errors else exc.diagnostics[0]
        where = f"{first.path}: " if first.path else ""
        more = f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
        raise InputError(f"case '{label}': the changed facility is not valid: {where}"
                         f"{first.message}{more}") from None
    return Case(name=name, label=label, facility=fac, changes=tuple(changes),
                utilization=edit.utilization, off_units=tuple(dict.fromkeys(edit.off_units)),
                rack_utilization=tuple(edit.rack_utilization))


def short_path(path: str, facility) -> str:
    """``halls[H1].cooling_units[CRAH-1].supply_temp_c`` -> ``CRAH-1.supply_temp_c`` where
    the facility has one hall."""
    p = path
    if len(facility.halls) == 1:
        p = re.sub(r"^halls\[[^\]]*\]\.", "", p)
    p = re.sub(r"^(cooling_units|rows|racks|tiles|containment)\[([^\]*][^\]]*)\]\.", r"\2.", p)
    return p


def read_sweep_file(path) -> tuple[list, list]:
    """A sweep file (TOML): ``[sweep]`` maps paths to lists of values (every combination);
    ``[[cases]]`` are named cases with a ``set`` table of path = value.

    Returns (grid: [(path, [values])], cases: [(name, [(path, value)])]).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--sweep {path}: file not found")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"--sweep {path}: not valid TOML ({exc})") from None
    unknown = set(doc) - {"sweep", "cases"}
    if unknown:
        raise InputError(f"--sweep {path}: unknown table(s) {', '.join(sorted(unknown))}; "
                         "use [sweep] (path = [values]) and [[cases]] (name, set)")

    def txt(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float, str)):
            return str(v)
        raise InputError(f"--sweep {path}: value {v!r} must be a number, string or boolean")

    grid = []
    for k, v in doc.get("sweep", {}).items():
        vals = v if isinstance(v, list) else [v]
        if not vals:
            raise InputError(f"--sweep {path}: [sweep] {k} has no values")
        parse_path(k)
        grid.append((k, [txt(x) for x in vals]))
    cases = []
    for i, c in enumerate(doc.get("cases", [])):
        if not isinstance(c, dict) or not isinstance(c.get("set"), dict) or not c["set"]:
            raise InputError(f"--sweep {path}: cases[{i}] needs a set table "
                             "(set = {{\"PATH\" = VALUE}})")
        extra = set(c) - {"name", "set"}
        if extra:
            raise InputError(f"--sweep {path}: cases[{i}] has unknown key(s) "
                             f"{', '.join(sorted(extra))}; use name and set")
        cases.append((str(c.get("name", f"file-{i + 1}")),
                      [(k, txt(v)) for k, v in c["set"].items()]))
    return grid, cases


def build_cases(facility, sets=(), sweep_file=None) -> list[Case]:
    """The baseline, then every combination of the ``--set`` values, then the named cases
    of the sweep file. All are validated before anything is solved."""
    grid = [parse_set(s) for s in sets]
    named = []
    if sweep_file:
        g2, named = read_sweep_file(sweep_file)
        grid += g2
    if not grid and not named:
        raise InputError("nothing to compare: give --set PATH=V1,V2 or --sweep FILE")
    cases = [make_case(facility, [], name="baseline", label="baseline")]
    n = 0
    if grid:
        paths = [g[0] for g in grid]
        for combo in itertools.product(*[g[1] for g in grid]):
            n += 1
            cases.append(make_case(facility, list(zip(paths, combo)), name=f"case-{n:02d}"))
    for name, changes in named:
        n += 1
        cases.append(make_case(facility, changes, name=f"case-{n:02d}",
                               label=f"{name}: " + ", ".join(
                                   f"{short_path(p, facility)}={v}" for p, v in changes)))
    return cases


# ------------------------------------------------------------------------------ running
def run_case(case: Case, hall=None, cell_m=0.3, backend="auto", settings=None,
             coarse_start: bool = False) -> dict:
    """Solve one case (runs on a Dask worker): its comparison record (``coarse_start``:
    :func:`twin.thermal.steady.steady_solve`)."""
    from common.errors import DivergenceError, TwinError
    t0 = time.perf_counter()
    rec = {"case": case.name, "label": case.label, "changes": [list(c) for c in case.changes],
           "worker": _worker_address()}
    try:
        sol = solve_case(case.facility, hall, cell_m=cell_m, backend=backend,
                         settings=settings, utilization=case.utilization,
                         off_units=case.off_units, rack_utilization=case.rack_utilization,
                         coarse_start=coarse_start)
    except (DivergenceError, RuntimeError, FloatingPointError) as exc:
        # a numerical failure of one case (a run that blew up, a singular heat-balance
        # factorisation) must not lose the others: it is reported in its row
        if isinstance(exc, TwinError) and not isinstance(exc, DivergenceError):
            raise                          # e.g. a backend the worker does not have
        rec.update({k: float("nan") for k, *_ in METRIC_COLUMNS})
        msg = str(exc) if isinstance(exc, DivergenceError) else \
            f"the solver failed ({type(exc).__name__}: {exc})"
        rec.update(converged=False, iterations=0, wall_s=time.perf_counter() - t0,
                   error=msg, racks={}, worst_rack="")
        return rec
    s = sol.summary
    rec.update(converged=s["converged"], iterations=s["iterations"], cells=s["cells"],
               backend=s["backend"], wall_s=time.perf_counter() - t0, off_units=s["off_units"],
               convergence=s["convergence"], coarse_start=s["coarse_start"])
    rec.update(s["metrics"])
    return rec


def _worker_address() -> str:
    """The Dask worker running this (provenance), or ``in-process``."""
    try:
        from distributed import get_worker
        return str(get_worker().address)
    except (ImportError, ValueError):
        return "in-process"


def run_whatif(cases: list[Case], hall=None, cell_m=0.3, backend="auto", settings=None,
               scheduler=None, workers=None, progress=None,
               coarse_start: bool = False, dashboard: str | None = None) -> list[dict]:
    """Solve every case in parallel (:func:`twin.studies.sweep.run_tasks`); records in case order,
    each with ``delta`` (difference to the baseline, the first case)."""
    from twin.studies.sweep import run_tasks
    tasks = [(c, hall, cell_m, backend, settings, coarse_start) for c in cases]
    recs = run_tasks(run_case, tasks, scheduler=scheduler, workers=workers, progress=progress,
                     backend=backend, dashboard=dashboard)
    return add_deltas(recs)


def add_deltas(recs: list[dict]) -> list[dict]:
    base = recs[0]
    for r in recs:
        d = {}
        for key, *_ in METRIC_COLUMNS:
            a, b = r.get(key), base.get(key)
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                d[key] = a - b
        r["delta"] = d
    return recs


def comparison_rows(recs: list[dict]) -> tuple[list[str], list[list]]:
    """Flat table for CSV: case, label, metrics, then ``d_<metric>`` vs baseline."""
    keys = [k for k, *_ in METRIC_COLUMNS]
    head = (["case", "label", "worst_rack"] + keys + ["converged", "iterations", "wall_s", "error"]
            + [f"d_{k}" for k in keys])
    rows = []
    for r in recs:
        row = [r["case"], r["label"], r.get("worst_rack", "")]
        row += [_num(r.get(k)) for k in keys]
        row += [r["converged"], r["iterations"], round(r["wall_s"], 2), r.get("error", "")]
        row += [_num(r["delta"].get(k)) for k in keys]
        rows.append(row)
    return head, rows


def _num(v):
    if isinstance(v, float):
        return "" if not math.isfinite(v) else round(v, 4)
    return "" if v is None else v


def write_outputs(out_dir, recs, meta: dict) -> list[Path]:
    """``whatif.csv`` and ``whatif.json`` in ``out_dir`` (each written atomically)."""
    import csv
    import io

    from twin.outputs.files import atomic_write, write_json
    out = Path(out_dir)
    head, rows = comparison_rows(recs)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(head)
    w.writerows(rows)
    text = buf.getvalue()
    atomic_write(out / "whatif.csv", lambda p: p.write_text(text, encoding="utf-8"))
    write_json(out / "whatif.json", {**meta, "cases": recs})
    return [out / "whatif.csv", out / "whatif.json"]
