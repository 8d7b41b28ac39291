"""Results of a ``twin run``: a self-describing, versioned HDF5 file and ``summary.json``.

Schema ``dc-twin-results``, version 2
=====================================
A netCDF-4 file with CF conventions (written with h5py through :mod:`twin.outputs.cf`):
``xarray.open_datatree(path, engine="h5netcdf")`` (or :func:`twin.open_results`) opens
every group. Every variable has ``units`` (from the unit suffix of its name, see
:func:`unit_of` and the glossary in :mod:`common.units`; ``"1"`` for numbers without a
unit, labels and text) and ``long_name``; ``description`` where more helps. Each group
holds the coordinates of its own axes (layout after the Dedalus evaluator's
self-describing HDF5 output, in netCDF form).

``/`` attributes
    ``Conventions`` (``"CF-1.10"``), ``schema`` (``"dc-twin-results"``),
    ``schema_version`` (2), ``status`` (``"running"``, ``"interrupted"`` or
    ``"complete"``), ``steps_done``, ``steps_planned``, ``step_s``, ``start_h``,
    ``start_time`` (ISO 8601 local standard time with its UTC offset),
    ``utc_offset_h``, ``weather_source``, ``facility_name``, ``dc_twin_version``,
    ``written_utc`` and the run attributes (``backend``, ``cells``, ...).
``/time`` (time)
    Middle of each step, CF time: ``units = "hours since 2027-01-01 00:00:00+09:00"``
    (1 January 00:00 local standard time of the site, its UTC offset from the weather
    file), ``calendar = "proleptic_gregorian"``; the values are ``time_h``, hours after
    1 January (:data:`twin.outputs.cf.CALENDAR_YEAR` is the calendar of the typical
    year). ``time_bnds`` (time, nv) holds each step's start and end,
    ``[time_h - step_s/2, time_h + step_s/2]`` (CF 7.1: ``time`` has ``bounds =
    "time_bnds"``), in every group that has a ``time``. ``/step`` the step number.
    Each series says what its value is over the step in ``cell_methods`` (CF 7.3,
    :func:`cell_method_of`): ``time: mean`` (powers, temperatures, flows, fractions),
    ``time: sum`` (amounts per step: kg, L, KRW, J, kWh), ``time: point`` (a state at the
    end of the step, e.g. the battery's stored energy), none for the diagnostics of a
    step's computation (balances, iterations, flags).
``/racks``, ``/cooling_units``, ``/cdus``, ``/halls`` (time, object)
    Per-object series, with the group's own ``time`` coordinate and name coordinate
    (``/racks/rack``, ``/cooling_units/cooling_unit``, ...) and label variables
    (``/racks/hall``, ``/racks/type`` ...). Only the halls that were solved are listed;
    ``/halls/replicas`` says how many identical halls each one stands for. A rack's
    ``inlet_temp_c`` is the mean over its cabinet's intake face, ``server_inlet_temp_c``
    the air its servers draw (with the cabinet's internal recirculation, missing
    blanking panels; equal to the face's without it).
``/campus``, ``/plant``, ``/power``, ``/weather``, ``/dispatch`` (time)
    Campus totals, plant, electrical chain and renewables, outdoor conditions, storage;
    each with its own ``time`` coordinate.
``/facility``
    ``source_text`` (the facility file as read), ``expanded_toml`` (includes and hall
    templates expanded: enough to rebuild the facility), attributes ``source_path`` and
    ``sha256`` (of ``expanded_toml``).
``/settings``
    The run settings, one attribute each, and ``json`` (all of them as JSON text).
``/snapshots/<nnnn>``
    3D fields of one hall at one step (cell-centred, float32, NaN in solids):
    ``temp_c``, ``u_m_s``, ``v_m_s``, ``w_m_s`` on the group's cell-centre coordinates
    ``x_m``, ``y_m``, ``z_m``; attributes ``hall``, ``step``, ``time_h``, ``time``
    (ISO 8601); hot spots along the dimension ``hot_spot``: ``hot_spot_temp_c``,
    ``hot_spot_x_m``, ``hot_spot_y_m``, ``hot_spot_z_m`` (local maxima of the air
    temperature in front of rack intakes above the ASHRAE recommended maximum, hottest
    first).
``/log``
    Notes of the run (fallbacks, approximations, warnings), one string each.
``/summary``
    The summary (JSON text), also written beside the file as ``summary.json``
    (its schema: ``twin/outputs/summary.schema.json``).
``/restart``
    What a resumed run needs (controller states, frozen flow fields, thermal response
    matrices); not meant for analysis.

Version 1 (written before 2026-12-07) kept ``time_h`` (hours, not CF) at the root only,
the snapshots' coordinates in ``/grids/<hall>`` and the hot spots as one ``(n, 4)``
array; :class:`twin.outputs.runfile.RunFile` reads both versions, and a resumed version-1
run is written as version 2.

Writing is atomic: :func:`write_results` writes a temporary file in the same folder and
renames it over the target (``os.replace``), so a reader never sees half a file and an
exception leaves the previous file as it was.

Reading: :mod:`twin.outputs.runfile` (:class:`~twin.outputs.runfile.RunFile`,
:func:`~twin.outputs.runfile.read_results`, :func:`~twin.outputs.runfile.open_h5`).
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
from twin.outputs.cf import (_UNITS, CALENDAR_YEAR, FIELD_LONG_NAMES, describe, dimension,
                             is_pure_dimension, local_time, long_name_of, time_units, unit_of)
from twin.outputs.files import atomic_write, json_text

__all__ = [
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "GROUP_DIMS",
    "Snapshot",
    "RunData",
    "unit_of",
    "write_results",
    "results_path",
    "summary_path",
    "CALENDAR_YEAR",
    "READS_VERSIONS",
    "SUMMARY_SCHEMA",
    "SUMMARY_SCHEMA_VERSION",
    "SUMMARY_SCHEMA_FILE",
    "SUMMARY_UNITS_NOTE",
]

SCHEMA_NAME = "dc-twin-results"
SCHEMA_VERSION = 2
#: Versions :class:`twin.outputs.runfile.RunFile` reads.
READS_VERSIONS = (1, 2)

#: ``summary.json`` of a run: its schema name and version (JSON schema:
#: :data:`SUMMARY_SCHEMA_FILE`, ``docs/results.md``).
SUMMARY_SCHEMA = "dc-twin-run-summary"
SUMMARY_SCHEMA_VERSION = 1
SUMMARY_SCHEMA_FILE = Path(__file__).with_name("summary.schema.json")
#: The ``units`` note of ``summary.json``.
SUMMARY_UNITS_NOTE = ("SI, with the unit in each key's suffix (common/units.py): _c degC, _k K, "
                      "_w W, _kwh kWh, _j J, _s s, _h h, _m3_s m3/s, _pct percent, _frac and no "
                      "suffix dimensionless, _krw Korean won, _t tonnes, _l litres, "
                      "_l_per_kwh L/kWh, _kg_per_kwh kg CO2e/kWh; times ISO 8601 local standard "
                      "time with the UTC offset; start_h hours after 1 January 00:00 local "
                      "standard time")

#: Per-object groups and the name of their second dimension.
GROUP_DIMS = {"racks": "rack", "cooling_units": "cooling_unit", "cdus": "cdu", "halls": "hall"}

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
    :func:`twin.outputs.runfile.read_results` returns.

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
    utc_offset_h: float = 0.0         # time zone of time_h (the weather's), h east of UTC
    weather_source: str = ""          # the facility's weather (builtin name or EPW path)

    @property
    def steps_done(self) -> int:
        return int(len(self.time_h))

    @property
    def facility_sha256(self) -> str:
        return hashlib.sha256(self.facility_expanded_toml.encode("utf-8")).hexdigest()

    def to_dataframe(self, group: str):
        """One group of series as a pandas DataFrame. The index is the middle of each step
        as time-zone-aware local standard time (``time``); per-object groups (``racks``,
        ``cooling_units``, ...) are long, indexed by ``(time, <object>)``. Columns are the
        series names (their suffix is the unit); ``.attrs["units"]`` maps them to units."""
        import pandas as pd
        if group not in self.series:
            raise InputError(f"results: no group {group!r}; groups: {', '.join(sorted(self.series))}")
        t0 = pd.Timestamp(local_time(0.0, self.utc_offset_h))
        times = t0 + pd.to_timedelta(np.asarray(self.time_h, dtype=float), unit="h")
        cols = self.series[group]
        if group in GROUP_DIMS:
            dim = GROUP_DIMS[group]
            names = [str(n) for n in self.labels[group][dim]]
            idx = pd.MultiIndex.from_product([times, names], names=["time", dim])
            data = {k: np.asarray(v).reshape(len(times) * len(names)) for k, v in cols.items()}
            df = pd.DataFrame(data, index=idx)
        else:
            df = pd.DataFrame({k: np.asarray(v) for k, v in cols.items()},
                              index=pd.Index(times, name="time"))
        df.attrs["units"] = {c: unit_of(c) for c in df.columns}
        return df

    def to_xarray(self):
        """The run as an ``xarray.DataTree`` in memory: the groups, CF time coordinate,
        ``units`` and ``long_name`` of its ``results.h5`` (:func:`write_results` to a
        temporary folder and read back, so the two cannot differ; ``tree["racks"].ds`` is
        one group as a ``Dataset``)."""
        import tempfile

        import xarray as xr
        with tempfile.TemporaryDirectory(prefix="dc-twin-") as folder:
            path = write_results(Path(folder) / "results.h5", self)
            with xr.open_datatree(path, engine="h5netcdf") as tree:
                return tree.load()

    @property
    def start_time(self) -> str:
        """The start of the run, ISO 8601 local standard time with its UTC offset."""
        return local_time(self.start_h, self.utc_offset_h).isoformat()

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


def _str_dataset(g, name, values, long_name: str = ""):
    arr = np.array([str(v) for v in values], dtype=object)
    d = g.create_dataset(name, data=arr, dtype=_STR)
    if long_name:
        describe(d, "1", long_name)
    return d


def _scalar_str(g, name, text, long_name: str = ""):
    d = g.create_dataset(name, data=str(text), dtype=_STR)
    if long_name:
        describe(d, "1", long_name)
    return d


def _attr_value(v):
    if v is None:
        return "null"
    if isinstance(v, (bool, np.bool_)):
        return np.int8(bool(v))        # netCDF has no boolean attribute type
    if isinstance(v, (int, float, np.integer, np.floating, str)):
        return v
    return json_text(v)


def _pure_dims(g, d, name: str, first: int = 0):
    """Give the axes ``first..`` of ``d`` dimensions of their own, ``<name>__<axis>``."""
    for ax in range(first, d.ndim):
        dim = f"{name}__{ax}"
        if dim not in g:
            dimension(g, dim, d.shape[ax])
        d.dims[ax].attach_scale(g[dim])


def _time_coord(g, data: RunData):
    """The group's CF time coordinate ``time`` (the values of ``time_h``) and its cell
    boundaries ``time_bnds`` (time, nv): each step ``[time_h - step_s/2, time_h + step_s/2]``
    (CF 1.10 section 7.1; the bounds carry the coordinate's units and calendar)."""
    th = np.asarray(data.time_h, dtype=float)
    t = g.create_dataset("time", data=th)
    units = time_units(data.utc_offset_h)
    describe(t, units, "middle of the step (each series is its mean over the step)")
    t.attrs["calendar"] = "proleptic_gregorian"
    t.attrs["standard_name"] = "time"
    t.attrs["axis"] = "T"
    t.attrs["bounds"] = "time_bnds"
    t.make_scale("time")
    half_h = 0.5 * float(data.step_s) / 3600.0
    b = g.create_dataset("time_bnds", data=np.column_stack([th - half_h, th + half_h]).reshape(-1, 2))
    describe(b, units, "start and end of the step")
    b.attrs["calendar"] = "proleptic_gregorian"
    b.dims[0].attach_scale(t)
    b.dims[1].attach_scale(dimension(g, "nv", 2))
    return t


#: Series that are the state at the end of a step or a diagnostic of its computation, not
#: a mean or a sum over it: no ``cell_methods`` (or ``time: point`` for the states).
_POINT_SERIES = frozenset({"dispatch/stored_energy_j", "dispatch/capacity_j", "dispatch/soc_frac",
                           "dispatch/throughput_j", "dispatch/carbon_free_stored_j",
                           "dispatch/flex_backlog_j"})
_DIAGNOSTIC_SERIES = frozenset({"halls/converged", "halls/direct", "halls/flow_state",
                                "halls/inner_iterations", "halls/linear_error_k",
                                "campus/it_balance_w", "campus/plant_balance_w",
                                "campus/air_balance_frac", "halls/air_balance_frac",
                                "plant/balance_w", "dispatch/closure_j"})
#: Unit suffixes of amounts per step (their step's total: ``time: sum``).
_AMOUNT_SUFFIXES = ("_kg", "_l", "_krw", "_j", "_kwh")


def cell_method_of(group: str, name: str) -> str | None:
    """CF ``cell_methods`` (section 7.3) of a run series: ``"time: mean"`` for rates, powers,
    temperatures and fractions (the step's mean), ``"time: sum"`` for amounts per step
    (kg, L, KRW, J, kWh), ``"time: point"`` for a state at the end of the step, ``None``
    for the diagnostics of a step's computation (balances, iterations, flags)."""
    key = f"{group}/{name}"
    if key in _DIAGNOSTIC_SERIES:
        return None
    if key in _POINT_SERIES:
        return "time: point"
    if name.endswith(_AMOUNT_SUFFIXES):
        return "time: sum"
    return "time: mean"


def _series_dataset(g, name, arr, time_scale, dim_scale, description, owner="", group=""):
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    kw = {}
    if arr.size > 4096:
        kw = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    d = g.create_dataset(name, data=arr, **kw)
    d.attrs["kind"] = "series"
    describe(d, unit_of(name), description or long_name_of(name, _UNITS, owner))
    if description:
        d.attrs["description"] = description
    if time_scale is not None and arr.ndim >= 1:
        d.dims[0].attach_scale(time_scale)
        method = cell_method_of(group, name)
        if method:
            d.attrs["cell_methods"] = method
    if dim_scale is not None and arr.ndim >= 2:
        d.dims[1].attach_scale(dim_scale)
    _pure_dims(g, d, name, first=1 + (dim_scale is not None))
    return d


_RESTART_NAME = "restart state of a run (for --resume; not for analysis)"


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
                    d = _str_dataset(g, k, v.ravel().tolist()) if v.ndim else _scalar_str(g, k, v.item())
                    if v.ndim > 1:
                        d.attrs["_shape"] = np.asarray(v.shape, dtype=np.int64)
                else:
                    d = g.create_dataset(k, data=v, **kw)
                describe(d, "1", _RESTART_NAME)
                _pure_dims(g, d, k)
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
        elif is_pure_dimension(item):
            continue
        elif h5py.check_string_dtype(item.dtype) is not None:
            arr = np.array(item.asstr()[()], dtype=object)
            if "_shape" in item.attrs:
                arr = arr.reshape(tuple(int(n) for n in item.attrs["_shape"]))
            out[k] = arr
        else:
            out[k] = item[()]
    if kind == "boxed":
        return out["value"]
    return out


def _write_labels(g, group, data: RunData):
    """The name coordinate of a per-object group and its label variables."""
    labels = data.labels.get(group, {})
    dim = GROUP_DIMS[group]
    if dim not in labels:
        raise InputError(f"results: group {group} needs its '{dim}' labels")
    dim_scale = _str_dataset(g, dim, labels[dim], f"{dim.replace('_', ' ')} name")
    dim_scale.attrs["kind"] = "label"
    dim_scale.make_scale(dim)
    for lname, vals in labels.items():
        if lname == dim:
            continue
        vals = np.asarray(vals)
        if vals.dtype.kind in "OU":
            ds = _str_dataset(g, lname, vals.tolist(), long_name_of(lname, _UNITS, dim.replace("_", " ")))
        else:
            ds = g.create_dataset(lname, data=vals)
            describe(ds, unit_of(lname), long_name_of(lname, _UNITS, dim.replace("_", " ")))
        ds.attrs["kind"] = "label"
        ds.dims[0].attach_scale(dim_scale)
    return dim_scale


def _write_snapshot(g, s: Snapshot, utc_offset_h: float):
    g.attrs["hall"] = s.hall
    g.attrs["step"] = int(s.step)
    g.attrs["time_h"] = float(s.time_h)
    g.attrs["time"] = local_time(s.time_h, utc_offset_h).isoformat()
    scales = []
    for c in ("x_m", "y_m", "z_m"):
        d = g.create_dataset(c, data=np.asarray(s.coords[c], dtype=float))
        describe(d, "m", FIELD_LONG_NAMES[c])
        d.make_scale(c)
        scales.append(d)
    for name, arr in s.fields.items():
        d = g.create_dataset(name, data=np.asarray(arr, dtype=np.float32),
                             compression="gzip", compression_opts=4, shuffle=True)
        describe(d, unit_of(name), FIELD_LONG_NAMES.get(name, long_name_of(name, _UNITS)))
        for ax in range(3):
            d.dims[ax].attach_scale(scales[ax])
    hs = np.asarray(s.hot_spots, dtype=float).reshape(-1, 4)
    dim = dimension(g, "hot_spot", hs.shape[0])
    for k, (col, text) in enumerate(_HOT_SPOT_COLUMNS):
        d = g.create_dataset(col, data=hs[:, k])
        describe(d, unit_of(col), text)
        d.dims[0].attach_scale(dim)


#: The hot-spot variables of a snapshot (columns of :attr:`Snapshot.hot_spots`).
_HOT_SPOT_COLUMNS = (
    ("hot_spot_temp_c", "air temperature of a hot spot in front of rack intakes (above the ASHRAE "
                        "recommended maximum; hottest first)"),
    ("hot_spot_x_m", "x of the hot spot"), ("hot_spot_y_m", "y of the hot spot"),
    ("hot_spot_z_m", "z of the hot spot"))


def _write_file(tmp: str, data: RunData):
    from twin import __version__ as version  # noqa: PLC0415
    with h5py.File(tmp, "w") as f:
        a = f.attrs
        a["Conventions"] = "CF-1.10"
        a["title"] = f"dc-twin run of {data.facility_name}"
        a["schema"] = SCHEMA_NAME
        a["schema_version"] = SCHEMA_VERSION
        a["status"] = data.status
        a["steps_done"] = data.steps_done
        a["steps_planned"] = int(data.steps_planned)
        a["step_s"] = float(data.step_s)
        a["start_h"] = float(data.start_h)
        a["start_time"] = data.start_time
        a["utc_offset_h"] = float(data.utc_offset_h)
        a["weather_source"] = data.weather_source
        a["facility_name"] = data.facility_name
        a["dc_twin_version"] = str(version)
        a["written_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for k, v in data.attrs.items():
            a[k] = _attr_value(v)
        t = _time_coord(f, data)
        st = f.create_dataset("step", data=np.arange(data.steps_done, dtype=np.int64))
        describe(st, "1", "step number (from 0)")
        st.dims[0].attach_scale(t)
        # series, each group with its own time coordinate
        for group, cols in data.series.items():
            g = f.require_group(group)
            tg = _time_coord(g, data)
            dim_scale = _write_labels(g, group, data) if group in GROUP_DIMS else None
            owner = GROUP_DIMS.get(group, group).replace("_", " ")
            for name, arr in cols.items():
                _series_dataset(g, name, arr, tg, dim_scale,
                                data.descriptions.get(f"{group}/{name}", ""), owner, group)
        # facility and settings
        fg = f.create_group("facility")
        _scalar_str(fg, "source_text", data.facility_source_text, "the facility file as read")
        _scalar_str(fg, "expanded_toml", data.facility_expanded_toml,
                    "the facility with includes and hall templates expanded (TOML)")
        fg.attrs["source_path"] = data.facility_source_path
        fg.attrs["sha256"] = data.facility_sha256
        sg = f.create_group("settings")
        for k, v in data.settings.items():
            sg.attrs[k] = _attr_value(v)
        _scalar_str(sg, "json", json_text(data.settings, sort_keys=True), "the run settings (JSON)")
        # snapshots
        if data.snapshots:
            snaps = f.create_group("snapshots")
            for k, s in enumerate(data.snapshots):
                _write_snapshot(snaps.create_group(f"{k:04d}"), s, data.utc_offset_h)
        log = _str_dataset(f, "log", data.log, "notes of the run (fallbacks, approximations, warnings)")
        log.dims[0].attach_scale(dimension(f, "log_line", len(data.log)))
        _scalar_str(f, "summary", json_text(data.summary, indent=1), "summary of the run (JSON, as "
                    "summary.json)")
        if data.restart is not None:
            _write_tree(f.create_group("restart"), data.restart)


def write_results(path, data: RunData) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then
    ``os.replace``). On any exception the target is left untouched and the temporary file
    removed."""
    return _atomic(Path(path), lambda tmp: _write_file(tmp, data))


# ------------------------------------------------------------------------------- reading
