"""Results of a ``twin run``: a self-describing, versioned HDF5 file and ``summary.json``.

Schema ``dc-twin-results``, version 1
=====================================
Every dimensional dataset carries a ``units`` attribute (derived from the unit suffix of
its name, see :func:`unit_of` and the glossary in :mod:`common.units`) and a
``description`` where one helps. Time series have the step as their first axis, attached
to the dimension scale ``/time_h``; per-object series have a second axis attached to the
group's name scale (``/racks/rack``, ``/cooling_units/cooling_unit``, ...), so the file
reads with plain h5py, h5netcdf/xarray or HDFView without this code (layout after the
Dedalus evaluator's self-describing HDF5 output).

``/`` attributes
    ``schema`` (``"dc-twin-results"``), ``schema_version`` (1), ``status``
    (``"running"``, ``"interrupted"`` or ``"complete"``), ``steps_done``,
    ``steps_planned``, ``step_s``, ``start_h``, ``facility_name``, ``dc_twin_version``,
    ``written_utc`` and the run attributes (``backend``, ``cells``, ...).
``/time_h`` (time)
    Middle of each step, hours after 1 January 00:00 local standard time (dimension
    scale ``time_h``); ``/step`` the step number. A step's values are its means over
    ``[time_h - step_s/2, time_h + step_s/2)``.
``/racks``, ``/cooling_units``, ``/cdus``, ``/halls`` (time, object)
    Per-object series; ``/racks/rack`` (the names, a dimension scale) and label datasets
    (``/racks/hall``, ``/racks/type`` ...). Only the halls that were solved are listed;
    ``/halls/replicas`` says how many identical halls each one stands for.
``/campus``, ``/plant``, ``/power``, ``/weather`` (time)
    Campus totals, plant, electrical chain and renewables, outdoor conditions.
``/facility``
    ``source_text`` (the facility file as read), ``expanded_toml`` (includes and hall
    templates expanded: enough to rebuild the facility), attributes ``source_path`` and
    ``sha256`` (of ``expanded_toml``).
``/settings``
    The run settings, one attribute each, and ``json`` (all of them as JSON text).
``/grids/<hall>``
    Cell-centre coordinates ``x_m``, ``y_m``, ``z_m`` (dimension scales) of each hall
    that has snapshots.
``/snapshots/<nnnn>``
    3D fields of one hall at one step (cell-centred, float32, NaN in solids):
    ``temp_c``, ``u_m_s``, ``v_m_s``, ``w_m_s``, attributes ``hall``, ``step``,
    ``time_h``; ``hot_spots`` (n, 4: temp_c, x_m, y_m, z_m).
``/log``
    Notes of the run (fallbacks, approximations, warnings), one string each.
``/summary``
    The summary (JSON text), also written beside the file as ``summary.json``.
``/restart``
    What a resumed run needs (controller states, frozen flow fields, thermal response
    matrices); not meant for analysis.

Writing is atomic: :func:`write_results` writes a temporary file in the same folder and
renames it over the target (``os.replace``), so a reader never sees half a file and an
exception leaves the previous file as it was.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from common.errors import InputError
from twin.outputs.files import atomic_write, json_text

__all__ = [
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "GROUP_DIMS",
    "Snapshot",
    "RunData",
    "unit_of",
    "write_results",
    "read_results",
    "results_path",
    "open_h5",
    "RunFile",
    "SnapshotEntry",
    "summary_path",
]

SCHEMA_NAME = "dc-twin-results"
SCHEMA_VERSION = 1

#: Per-object groups and the name of their second dimension.
GROUP_DIMS = {"racks": "rack", "cooling_units": "cooling_unit", "cdus": "cdu", "halls": "hall"}

# longest suffix first
_UNITS = (
    ("_krw_per_kwh", "KRW/kWh"), ("_kg_per_kwh", "kg/kWh"), ("_l_per_kwh", "L/kWh"),
    ("_m3_s", "m3/s"), ("_kg_s", "kg/s"), ("_m_s", "m/s"), ("_w_m2", "W/m2"),
    ("_pct", "%"), ("_frac", "1"), ("_kwh", "kWh"), ("_krw", "KRW"), ("_c", "degC"),
    ("_k", "K"), ("_w", "W"), ("_j", "J"), ("_pa", "Pa"), ("_kg", "kg"), ("_l", "L"),
    ("_t", "t"), ("_h", "h"), ("_s", "s"), ("_m", "m"),
)


def unit_of(name: str) -> str:
    """The unit a name's suffix declares (``"supply_temp_c"`` -> ``"degC"``); ``"1"`` if none."""
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return "1"


@dataclass
class Snapshot:
    """3D fields of one hall at one step (cell-centred host arrays)."""

    hall: str
    step: int
    time_h: float
    fields: dict                      # name -> (nx, ny, nz) float32
    coords: dict                      # "x_m", "y_m", "z_m" -> 1D cell centres
    hot_spots: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))


@dataclass
class RunData:
    """Everything a results file holds: what :func:`write_results` writes and
    :func:`read_results` returns.

    ``series[group][name]`` is an array with the step as first axis; ``labels[group]``
    maps label names to one string per object (the first, named as in
    :data:`GROUP_DIMS`, is the dimension scale).
    """

    settings: dict
    facility_name: str = ""
    facility_source_path: str = ""
    facility_source_text: str = ""
    facility_expanded_toml: str = ""
    status: str = "running"
    steps_planned: int = 0
    step_s: float = 0.0
    start_h: float = 0.0
    time_h: np.ndarray = field(default_factory=lambda: np.zeros(0))
    series: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    descriptions: dict = field(default_factory=dict)   # "group/name" -> text
    snapshots: list = field(default_factory=list)
    log: list = field(default_factory=list)
    restart: dict | None = None
    summary: dict = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)

    @property
    def steps_done(self) -> int:
        return int(len(self.time_h))

    @property
    def facility_sha256(self) -> str:
        return hashlib.sha256(self.facility_expanded_toml.encode("utf-8")).hexdigest()


#: Calendar of ``time_h`` (hours after 1 January 00:00 local standard time of a typical
#: year: 365 days, so a non-leap year), for clock times in tables and charts.
CALENDAR_YEAR = 2027

def results_path(out_dir) -> Path:
    """``OUT/results.h5``."""
    return Path(out_dir) / "results.h5"


def summary_path(out_dir) -> Path:
    """``OUT/summary.json``."""
    return Path(out_dir) / "summary.json"


# ------------------------------------------------------------------------------- writing
def _atomic(path: Path, write):
    """Run ``write(tmp_path)`` then rename the temporary file over ``path``
    (:func:`twin.outputs.files.atomic_write`)."""
    return atomic_write(path, write)


_STR = h5py.string_dtype()


def _str_dataset(g, name, values):
    arr = np.array([str(v) for v in values], dtype=object)
    return g.create_dataset(name, data=arr, dtype=_STR)


def _scalar_str(g, name, text):
    return g.create_dataset(name, data=str(text), dtype=_STR)


def _attr_value(v):
    if v is None:
        return "null"
    if isinstance(v, (bool, np.bool_)):
        return np.bool_(v)
    if isinstance(v, (int, float, np.integer, np.floating, str)):
        return v
    return json_text(v)


def _series_dataset(g, name, arr, time_scale, dim_scale, description):
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    kw = {}
    if arr.size > 4096:
        kw = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    d = g.create_dataset(name, data=arr, **kw)
    d.attrs["kind"] = "series"
    d.attrs["units"] = unit_of(name)
    if description:
        d.attrs["description"] = description
    if time_scale is not None and arr.ndim >= 1:
        d.dims[0].attach_scale(time_scale)
    if dim_scale is not None and arr.ndim >= 2:
        d.dims[1].attach_scale(dim_scale)
    return d


def _write_tree(g, obj):
    """Nested dicts/lists of arrays and plain values -> groups, datasets and attributes."""
    if isinstance(obj, dict):
        g.attrs["_kind"] = "dict"
        for k, v in obj.items():
            k = str(k)
            if isinstance(v, (dict, list, tuple)):
                _write_tree(g.create_group(k), v)
            elif isinstance(v, np.ndarray):
                kw = {"compression": "gzip", "compression_opts": 4} if v.size > 4096 else {}
                if v.dtype.kind in "OU":
                    _str_dataset(g, k, v.tolist())
                else:
                    g.create_dataset(k, data=v, **kw)
            else:
                g.attrs[k] = json_text(v)
    else:
        g.attrs["_kind"] = "list"
        g.attrs["_len"] = len(obj)
        for i, v in enumerate(obj):
            sub = g.create_group(f"{i:05d}")
            if isinstance(v, (dict, list, tuple)):
                _write_tree(sub, v)
            else:
                _write_tree(sub, {"value": v})
                sub.attrs["_kind"] = "boxed"


def _read_tree(g):
    kind = g.attrs.get("_kind", "dict")
    if kind == "list":
        return [_read_tree(g[f"{i:05d}"]) for i in range(int(g.attrs["_len"]))]
    out = {}
    for k, v in g.attrs.items():
        if k.startswith("_"):
            continue
        out[k] = json.loads(v)
    for k, item in g.items():
        if isinstance(item, h5py.Group):
            out[k] = _read_tree(item)
        elif h5py.check_string_dtype(item.dtype) is not None:
            out[k] = np.array(item.asstr()[()], dtype=object)
        else:
            out[k] = item[()]
    if kind == "boxed":
        return out["value"]
    return out


def _write_file(tmp: str, data: RunData):
    from twin import __version__ as version     # noqa: PLC0415
    with h5py.File(tmp, "w") as f:
        a = f.attrs
        a["schema"] = SCHEMA_NAME
        a["schema_version"] = SCHEMA_VERSION
        a["status"] = data.status
        a["steps_done"] = data.steps_done
        a["steps_planned"] = int(data.steps_planned)
        a["step_s"] = float(data.step_s)
        a["start_h"] = float(data.start_h)
        a["facility_name"] = data.facility_name
        a["dc_twin_version"] = str(version)
        a["written_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for k, v in data.attrs.items():
            a[k] = _attr_value(v)
        t = f.create_dataset("time_h", data=np.asarray(data.time_h, dtype=float))
        t.attrs["units"] = "h"
        t.attrs["description"] = ("middle of each step, hours after 1 January 00:00 local "
                                  "standard time")
        t.make_scale("time_h")
        st = f.create_dataset("step", data=np.arange(data.steps_done, dtype=np.int64))
        st.dims[0].attach_scale(t)
        # series
        for group, cols in data.series.items():
            g = f.require_group(group)
            dim_scale = None
            if group in GROUP_DIMS:
                labels = data.labels.get(group, {})
                dim = GROUP_DIMS[group]
                if dim not in labels:
                    raise InputError(f"results: group {group} needs its '{dim}' labels")
                dim_scale = _str_dataset(g, dim, labels[dim])
                dim_scale.attrs["kind"] = "label"
                dim_scale.make_scale(dim)
                for lname, vals in labels.items():
                    if lname == dim:
                        continue
                    vals = np.asarray(vals)
                    if vals.dtype.kind in "OU":
                        ds = _str_dataset(g, lname, vals.tolist())
                    else:
                        ds = g.create_dataset(lname, data=vals)
                        ds.attrs["units"] = unit_of(lname)
                    ds.attrs["kind"] = "label"
                    ds.dims[0].attach_scale(dim_scale)
            for name, arr in cols.items():
                _series_dataset(g, name, arr, t, dim_scale, data.descriptions.get(f"{group}/{name}", ""))
        # facility and settings
        fg = f.create_group("facility")
        _scalar_str(fg, "source_text", data.facility_source_text)
        _scalar_str(fg, "expanded_toml", data.facility_expanded_toml)
        fg.attrs["source_path"] = data.facility_source_path
        fg.attrs["sha256"] = data.facility_sha256
        sg = f.create_group("settings")
        for k, v in data.settings.items():
            sg.attrs[k] = _attr_value(v)
        _scalar_str(sg, "json", json_text(data.settings, sort_keys=True))
        # snapshots
        if data.snapshots:
            grids = f.create_group("grids")
            snaps = f.create_group("snapshots")
            scales = {}
            for k, s in enumerate(data.snapshots):
                if s.hall not in scales:
                    gg = grids.create_group(s.hall.replace("/", "_"))
                    gg.attrs["hall"] = s.hall
                    sc = []
                    for c in ("x_m", "y_m", "z_m"):
                        d = gg.create_dataset(c, data=np.asarray(s.coords[c], dtype=float))
                        d.attrs["units"] = "m"
                        d.attrs["description"] = "cell centres"
                        d.make_scale(c)
                        sc.append(d)
                    scales[s.hall] = sc
                sg2 = snaps.create_group(f"{k:04d}")
                sg2.attrs["hall"] = s.hall
                sg2.attrs["step"] = int(s.step)
                sg2.attrs["time_h"] = float(s.time_h)
                for name, arr in s.fields.items():
                    d = sg2.create_dataset(name, data=np.asarray(arr, dtype=np.float32),
                                           compression="gzip", compression_opts=4, shuffle=True)
                    d.attrs["units"] = unit_of(name)
                    for ax in range(3):
                        d.dims[ax].attach_scale(scales[s.hall][ax])
                hs = sg2.create_dataset("hot_spots", data=np.asarray(s.hot_spots, dtype=float).reshape(-1, 4))
                hs.attrs["columns"] = "temp_c, x_m, y_m, z_m"
                hs.attrs["description"] = ("local maxima of the air temperature in front of rack "
                                           "intakes above the ASHRAE recommended maximum, hottest first")
        _str_dataset(f, "log", data.log)
        _scalar_str(f, "summary", json_text(data.summary, indent=1))
        if data.restart is not None:
            _write_tree(f.create_group("restart"), data.restart)


def write_results(path, data: RunData) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then
    ``os.replace``). On any exception the target is left untouched and the temporary file
    removed."""
    return _atomic(Path(path), lambda tmp: _write_file(tmp, data))


# ------------------------------------------------------------------------------- reading
def open_h5(path, missing_hint: str = ""):
    """``h5py.File(path, "r")``, or one :class:`InputError` line when the file is missing
    or not HDF5 (``missing_hint``: what to do when it is missing)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: result file not found" + (f" ({missing_hint})" if missing_hint else ""))
    try:
        return h5py.File(p, "r")
    except OSError as exc:
        raise InputError(f"{path}: not an HDF5 result file ({exc})") from None


#: Root attributes that :func:`_write_file` sets itself (the others are the run's).
_RESERVED_ATTRS = frozenset({"schema", "schema_version", "status", "steps_done", "steps_planned",
                             "step_s", "start_h", "facility_name", "dc_twin_version",
                             "written_utc"})
#: Root members that are not groups of series.
_NOT_SERIES = frozenset({"time_h", "step", "facility", "settings", "grids", "snapshots", "log",
                         "summary", "restart"})
_REQUIRED = object()


def _text(v) -> str:
    """A string attribute or scalar string dataset as ``str``."""
    if isinstance(v, h5py.Dataset):
        v = v[()]
    return v.decode() if isinstance(v, bytes) else str(v)


@dataclass(frozen=True)
class SnapshotEntry:
    """Where a snapshot is in the file and what it shows."""

    key: str                          # its group under /snapshots
    hall: str
    step: int
    time_h: float


class RunFile:
    """An open results file, read through the layout this module writes (the one place
    that knows its groups, datasets, attributes and time axis). Members are read on
    demand: :func:`read_results` reads all of them, :mod:`twin.outputs.view` one snapshot
    and one step. Accessors with a ``default`` return it when the member is missing and
    raise ``KeyError`` without one."""

    def __init__(self, f: h5py.File, path):
        self.f = f
        self.path = Path(path)

    @staticmethod
    def is_run(f: h5py.File) -> bool:
        """Whether an open HDF5 file says it is a results file of this schema."""
        return f.attrs.get("schema") == SCHEMA_NAME

    def check_schema(self):
        """One :class:`InputError` line unless the file is of this schema and version."""
        a = self.f.attrs
        if not self.is_run(self.f):
            raise InputError(f"{self.path} is not a dc-twin results file "
                             f"(schema {a.get('schema')!r})")
        ver = int(a.get("schema_version", 0))
        if ver != SCHEMA_VERSION:
            raise InputError(f"{self.path} has results schema version {ver}; this dc-twin reads "
                             f"version {SCHEMA_VERSION}")

    def _member(self, name, default):
        if default is not _REQUIRED and name not in self.f:
            return None
        return self.f[name]

    # ---------------------------------------------------------------- attributes
    def attr(self, name: str, default=_REQUIRED):
        """A root attribute (strings as ``str``, numbers as they are stored)."""
        if default is not _REQUIRED and name not in self.f.attrs:
            return default
        v = self.f.attrs[name]
        return v.decode() if isinstance(v, bytes) else v

    def run_attrs(self) -> dict:
        """The run's own root attributes (``backend``, ``cells``, ...)."""
        return {k: (v.item() if isinstance(v, np.generic) else v)
                for k, v in self.f.attrs.items() if k not in _RESERVED_ATTRS}

    def settings(self, default=_REQUIRED) -> dict:
        """The run settings (``/settings/json``)."""
        d = self._member("settings/json", default)
        return default if d is None else json.loads(d.asstr()[()])

    def facility(self, name: str, default=_REQUIRED) -> str:
        """``source_text``, ``expanded_toml`` or ``source_path`` of ``/facility``."""
        if name == "source_path":
            g = self._member("facility", default)
            if g is None or (default is not _REQUIRED and name not in g.attrs):
                return default
            return _text(g.attrs[name])
        d = self._member(f"facility/{name}", default)
        return default if d is None else _text(d)

    # ---------------------------------------------------------------- series
    def time_h(self, default=_REQUIRED) -> np.ndarray:
        """Middle of each step [h] (the time axis of every series)."""
        d = self._member("time_h", default)
        return default if d is None else d[()]

    def series_groups(self) -> list[str]:
        """Names of the groups of series (per object or campus-wide)."""
        return [name for name, g in self.f.items()
                if name not in _NOT_SERIES and isinstance(g, h5py.Group)]

    def group(self, group: str) -> tuple[dict, dict, dict]:
        """``(series, labels, descriptions)`` of one group (see :class:`RunData`)."""
        cols, labels, desc = {}, {}, {}
        for name, d in self.f[group].items():
            if d.attrs.get("kind") == "label":
                if h5py.check_string_dtype(d.dtype) is not None:
                    labels[name] = np.array(d.asstr()[()], dtype=object)
                else:
                    labels[name] = d[()]
                continue
            cols[name] = d[()]
            text = d.attrs.get("description")
            if text:
                desc[f"{group}/{name}"] = str(text)
        return cols, labels, desc

    def series(self, group: str, name: str):
        """One whole series (None when the file has none)."""
        d = self._member(f"{group}/{name}", None)
        return None if d is None else d[()]

    def object_names(self, group: str) -> list[str]:
        """The names of a per-object group's objects (its dimension scale)."""
        return [_text(x) for x in self.f[group][GROUP_DIMS[group]][...]]

    def hall_row(self, group: str, name: str, step: int, hall: str):
        """``(object names, values)`` at ``step`` of the objects of ``hall`` in a per-object
        series; ``(None, None)`` when the file has no such series."""
        if group not in self.f or name not in self.f[group]:
            return None, None
        g = self.f[group]
        names = self.object_names(group)
        halls_of = [_text(x) for x in g["hall"][...]] if "hall" in g else [hall] * len(names)
        vals = np.asarray(g[name][step], dtype=float)
        keep = [i for i, h in enumerate(halls_of) if h == hall]
        return [names[i] for i in keep], vals[keep]

    # ---------------------------------------------------------------- snapshots
    def snapshot_index(self) -> list[SnapshotEntry]:
        """The stored snapshots in the order they were taken."""
        if "snapshots" not in self.f:
            return []
        snaps = self.f["snapshots"]
        return [SnapshotEntry(key=k, hall=_text(snaps[k].attrs["hall"]),
                              step=int(snaps[k].attrs["step"]),
                              time_h=float(snaps[k].attrs["time_h"])) for k in sorted(snaps)]

    def snapshot(self, entry: SnapshotEntry) -> Snapshot:
        """The fields, grid and hot spots of one snapshot."""
        sg = self.f["snapshots"][entry.key]
        gg = self.f["grids"][entry.hall.replace("/", "_")]
        hs = (np.asarray(sg["hot_spots"][()]).reshape(-1, 4) if "hot_spots" in sg
              else np.zeros((0, 4)))
        return Snapshot(hall=entry.hall, step=entry.step, time_h=entry.time_h,
                        fields={n: sg[n][()] for n in sg if n != "hot_spots"},
                        coords={c: gg[c][()] for c in ("x_m", "y_m", "z_m")}, hot_spots=hs)

    # ---------------------------------------------------------------- the rest
    def log(self) -> list[str]:
        return [str(s) for s in self.f["log"].asstr()[()]]

    def summary(self, default=_REQUIRED) -> dict:
        """The summary (``ValueError`` if its text is not JSON)."""
        d = self._member("summary", default)
        return default if d is None else json.loads(_text(d))

    def restart(self) -> dict | None:
        return _read_tree(self.f["restart"]) if "restart" in self.f else None


def read_results(path, restart: bool = True) -> RunData:
    """Read a results file written by :func:`write_results` (schema version 1)."""
    p = Path(path)
    with open_h5(p) as f:
        rf = RunFile(f, p)
        rf.check_schema()
        data = RunData(
            settings=rf.settings(), facility_name=str(rf.attr("facility_name")),
            facility_source_path=rf.facility("source_path"),
            facility_source_text=rf.facility("source_text"),
            facility_expanded_toml=rf.facility("expanded_toml"),
            status=str(rf.attr("status")), steps_planned=int(rf.attr("steps_planned")),
            step_s=float(rf.attr("step_s")), start_h=float(rf.attr("start_h")),
            time_h=rf.time_h(), attrs=rf.run_attrs())
        for group in rf.series_groups():
            cols, labels, desc = rf.group(group)
            data.descriptions.update(desc)
            data.series[group] = cols
            if labels:
                data.labels[group] = labels
        data.snapshots = [rf.snapshot(e) for e in rf.snapshot_index()]
        data.log = rf.log()
        data.summary = rf.summary()
        if restart:
            data.restart = rf.restart()
    return data
