"""What-if cases: a change is ``PATH=VALUE`` on the facility as written (see
:mod:`twin.studies.whatif` for the path syntax and the study switches); a case is a
checked facility with its changes. Sweep files (``--sweep``) and ``--set`` lists build
every combination."""
from __future__ import annotations

import itertools
import math
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InputError


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
    switches: tuple = ()                  # the changes that are study switches, not fields


@dataclass
class _Edit:
    doc: dict
    utilization: float = 1.0
    off_units: list = field(default_factory=list)
    rack_utilization: list = field(default_factory=list)
    switches: list = field(default_factory=list)


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


#: Tables whose entries a ``--set`` path may create (per-rack overrides of a row).
_NEW_ENTRIES = ("RackInRow",)

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
                    sub = obj[name] = _new_section(model, here, path)
                nxt.append((sub, model, here, hall))
                continue
            items = [(obj, name, None)]
            for k in keys:
                step = []
                for parent, key, _ in items:
                    cont = parent.get(key) if isinstance(parent, dict) else parent[key]
                    if cont is None and parent is obj:
                        cont = parent[key] = {} if kind == "dict" else []
                    if (kind == "dict" and isinstance(cont, dict) and k != "*" and k not in cont
                            and getattr(_inner_model(ann), "__name__", "") in _NEW_ENTRIES):
                        cont[k] = {}        # a new override entry; the validator checks its key
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


def _new_section(model, here, path) -> dict:
    """An empty table for the optional section ``here`` that the facility lacks, so that
    a ``--set`` path can go into it: the schema fills in its defaults and the changed
    facility is validated as if the table were written in the file. A section whose
    fields are not all defaulted (e.g. ``power.grid``) cannot be made from one value."""
    need = [n for n, f in model.model_fields.items() if f.is_required()]
    if need:
        raise InputError(f"--set {path}: '{here}' is not in this facility and has no default "
                         f"for {', '.join(need)}; add a [{here}] table to the file first")
    return {}


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
    edit.switches.append(path)
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
                rack_utilization=tuple(edit.rack_utilization), switches=tuple(edit.switches))


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


def build_cases(facility, sets=(), sweep_file=None, make=None) -> list[Case]:
    """The baseline, then every combination of the ``--set`` values, then the named cases
    of the sweep file. All are validated before anything is solved. ``make`` builds each
    case from ``(facility, changes, name=, label=)`` (default :func:`make_case`; a run
    sweep's :func:`twin.studies.runsweep.make_run_case`)."""
    make_case_ = make or make_case
    grid = [parse_set(s) for s in sets]
    named = []
    if sweep_file:
        g2, named = read_sweep_file(sweep_file)
        grid += g2
    if not grid and not named:
        raise InputError("nothing to compare: give --set PATH=V1,V2 or --sweep FILE")
    cases = [make_case_(facility, [], name="baseline", label="baseline")]
    n = 0
    if grid:
        paths = [g[0] for g in grid]
        for combo in itertools.product(*[g[1] for g in grid]):
            n += 1
            cases.append(make_case_(facility, list(zip(paths, combo)), name=f"case-{n:02d}"))
    for name, changes in named:
        n += 1
        cases.append(make_case_(facility, changes, name=f"case-{n:02d}",
                                label=f"{name}: " + ", ".join(
                                    f"{short_path(p, facility)}={v}" for p, v in changes)))
    return cases


def _suggest(word, choices) -> str:
    import difflib
    m = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{m[0]}'?)" if m else ""
