"""The reader of ``twin run``'s results files, both schema versions (moved out of
:mod:`twin.outputs.results`, which writes them and describes the format).

:class:`RunFile` is the one place that knows the file's groups, datasets, attributes and
time axis; :func:`read_results` reads a whole file into a
:class:`twin.outputs.results.RunData`. Version 1 (written before 2026-12-07) kept ``time_h``
at the root and the snapshots' coordinates in ``/grids/<hall>`` with the hot spots as one
``(n, 4)`` array; version 2 is CF (see :mod:`twin.outputs.results`). The version-1
branches (:meth:`RunFile.time_h`, :meth:`RunFile.snapshot`) go when version-1 files are no
longer read.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from common.errors import InputError
from twin.outputs.cf import is_pure_dimension
from twin.outputs.results import (_HOT_SPOT_COLUMNS, GROUP_DIMS, READS_VERSIONS, SCHEMA_NAME,
                                  SCHEMA_VERSION, RunData, Snapshot, _read_tree)


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
                             "written_utc", "Conventions", "title", "start_time", "utc_offset_h",
                             "weather_source"})
#: Root members that are not groups of series.
_NOT_SERIES = frozenset({"time_h", "time", "time_bnds", "nv", "step", "facility", "settings",
                         "grids", "snapshots", "log", "log_line", "summary", "restart"})
#: Members of a version-2 snapshot group that are not 3D fields.
_SNAPSHOT_OTHER = frozenset({"x_m", "y_m", "z_m", "hot_spot"} | {c for c, _ in _HOT_SPOT_COLUMNS})
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
    demand: :func:`read_results` reads all of them, :mod:`twin.outputs.loader` one snapshot
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
        if ver not in READS_VERSIONS:
            raise InputError(f"{self.path} has results schema version {ver}; this dc-twin reads "
                             f"versions {', '.join(map(str, READS_VERSIONS))}")

    @property
    def version(self) -> int:
        """The file's schema version (1 or 2)."""
        return int(self.f.attrs.get("schema_version", SCHEMA_VERSION))

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
        d = self._member("time_h" if self.version == 1 else "time", default)
        return default if d is None else d[()]

    def utc_offset_h(self) -> float:
        """Time zone of ``time_h`` [h east of UTC] (version 1 did not say: 0)."""
        return float(self.attr("utc_offset_h", 0.0))

    def series_groups(self) -> list[str]:
        """Names of the groups of series (per object or campus-wide)."""
        return [name for name, g in self.f.items()
                if name not in _NOT_SERIES and isinstance(g, h5py.Group)]

    def group(self, group: str) -> tuple[dict, dict, dict]:
        """``(series, labels, descriptions)`` of one group (see :class:`RunData`)."""
        cols, labels, desc = {}, {}, {}
        for name, d in self.f[group].items():
            if name in ("time", "time_bnds") or is_pure_dimension(d):
                continue
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
        if self.version == 1:
            gg = self.f["grids"][entry.hall.replace("/", "_")]
            hs = (np.asarray(sg["hot_spots"][()]).reshape(-1, 4) if "hot_spots" in sg
                  else np.zeros((0, 4)))
            fields = {n: sg[n][()] for n in sg if n != "hot_spots"}
        else:
            gg = sg
            hs = np.column_stack([np.asarray(sg[c][()], dtype=float) for c, _ in _HOT_SPOT_COLUMNS])
            fields = {n: sg[n][()] for n in sg if n not in _SNAPSHOT_OTHER}
        return Snapshot(hall=entry.hall, step=entry.step, time_h=entry.time_h, fields=fields,
                        coords={c: gg[c][()] for c in ("x_m", "y_m", "z_m")},
                        hot_spots=hs.reshape(-1, 4))

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
    """Read a results file written by :func:`write_results` (schema version 1 or 2)."""
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
            time_h=rf.time_h(), attrs=rf.run_attrs(), utc_offset_h=rf.utc_offset_h(),
            weather_source=str(rf.attr("weather_source", "")))
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
