"""The loader of ``twin view`` and ``twin report``: one hall of a result file as a
:class:`ResultView` (moved out of :mod:`twin.outputs.view`, which draws it).

Three layouts are read:

- ``twin solve --out`` and ``twin fail --out`` (``fail.h5``): the layout of
  :func:`twin.thermal.steady.write_steady_h5` (``/halls/<hall>/{temp_c, u_m_s, v_m_s, w_m_s,
  flags, x_m, y_m, z_m}``, the summary as JSON in the group's ``summary_json`` attribute, the
  facility text in the file's ``facility_toml``); fields that are 4D (time first, with a
  ``time_s`` scale) are a time series, of which ``time_s`` picks the nearest state;
- ``twin run``'s results (:mod:`twin.outputs.results`, read through
  :class:`twin.outputs.runfile.RunFile`): one stored 3D snapshot, the nearest to the time
  asked, and the series values of its step as a steady-style summary.

The time asked (``--time``, :func:`parse_time`) is a duration after the start (``3h``:
after the run's start, or after the start of a solve's or failure's series) or, for a
run, a clock time in the site's local standard time (``2026-08-01T14:00``,
``Aug 01 14:00`` as the view's titles write it; an ISO offset such as ``+09:00`` or ``Z``
is converted). A run's snapshot is the mean state of its step, so a time within that step
is the snapshot's own; any other answer is said in one note: which snapshot is shown and
how far it is from the time asked.

The facility embedded in the file is loaded and meshed again on the result's grid, so the
rack inlets are intake-face means of the field (else the summary's).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from common.errors import InputError


@dataclass
class ResultView:
    """One hall of a result file, ready to draw."""

    path: Path
    hall: str
    centers_m: tuple                    # (x, y, z) cell centres [m]
    fields: dict                        # name -> (nx, ny, nz) array
    summary: dict
    facility: object = None             # twin.facility.Facility or None
    layout: object = None               # twin.facility.HallLayout or None
    ports: list = None                  # twin.thermal.mesh.PortInfo list (same grid) or None
    rack_inlet_c: dict = field(default_factory=dict)
    time_s: float | None = None
    notes: list = field(default_factory=list)
    clock_time: str | None = None       # a run snapshot's local clock time (:func:`clock_label`)

    @property
    def spacing_m(self):
        return tuple(float(c[1] - c[0]) if len(c) > 1 else 1.0 for c in self.centers_m)

    @property
    def origin_m(self):
        return tuple(float(c[0]) - 0.5 * d for c, d in zip(self.centers_m, self.spacing_m))

    @property
    def shape(self):
        return tuple(len(c) for c in self.centers_m)


def result_halls(path) -> list[str]:
    import h5py
    with h5py.File(path, "r") as f:
        return list(f["halls"].keys()) if "halls" in f else []


_DURATION = re.compile(r"(\d+(\.\d*)?|\.\d+)\s*(s|m|min|h|d)?", re.IGNORECASE)
_CLOCK_FORMATS = ("%b %d %H:%M:%S", "%b %d %H:%M", "%b %d")
_TIME_HELP = ("give a time after the start (90s, 15m, 3h, 2d) or, for a run, a clock time in "
              "the site's local standard time (2026-08-01T14:00)")


def parse_time(text) -> tuple[str, object]:
    """``--time`` text -> ``("after_start", seconds)`` or ``("clock", datetime)`` (naive:
    the site's local standard time; aware: converted by the run). A number is seconds
    after the start. Anything else is one :class:`InputError` line."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        v = float(text)
        if not (np.isfinite(v) and v >= 0.0):
            raise InputError(f"--time {text}: {_TIME_HELP}")
        return "after_start", v
    t = str(text).strip()
    m = _DURATION.fullmatch(t)
    if m:
        mult = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
        return "after_start", float(m.group(1)) * mult[(m.group(3) or "s").lower()]
    try:
        return "clock", datetime.fromisoformat(t.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        pass
    from twin.outputs.cf import CALENDAR_YEAR
    for fmt in _CLOCK_FORMATS:
        try:
            return "clock", datetime.strptime(f"{CALENDAR_YEAR} {t}", "%Y " + fmt)
        except ValueError:
            continue
    if re.match(r"\d{4}-\d{2}-\d{2}", t) or re.match(r"[a-z]{3} \d", t, re.IGNORECASE):
        raise InputError(f"--time {t}: not a date and time of the calendar; {_TIME_HELP}")
    raise InputError(f"--time {t}: not understood; {_TIME_HELP}")


def clock_time_h(when: datetime, utc_offset_h: float, run_year: int | None = None,
                 span_h: tuple[float, float] = (0.0, 8760.0)) -> float:
    """A clock time as a run's ``time_h`` (hours after 1 January 00:00 local standard time
    of the run's typical 365-day year, :data:`twin.outputs.cf.CALENDAR_YEAR`).

    An aware time is first converted to the site's standard time (``utc_offset_h``). The
    year counts where the run has a calendar year (``twin run --year``): a date of the
    next year is 8760 h later; otherwise (a typical weather year) the date is placed in
    the year of the run's ``span_h`` nearest to it (of those the run covers, so a January
    date is before an August run)."""
    from twin.outputs.cf import CALENDAR_YEAR
    if when.tzinfo is not None:
        when = when.astimezone(timezone(timedelta(hours=float(utc_offset_h)))).replace(tzinfo=None)
    if when.month == 2 and when.day == 29:
        raise InputError(f"--time {when.isoformat()}: the run's weather year is a typical "
                         "365-day year, without 29 February")
    h0 = (when.replace(year=CALENDAR_YEAR) - datetime(CALENDAR_YEAR, 1, 1)).total_seconds() / 3600.0
    if run_year is not None:
        return h0 + 8760.0 * (when.year - int(run_year))
    lo, hi = span_h
    first, last = int(np.floor(lo / 8760.0)), int(np.floor(hi / 8760.0))
    return min((h0 + 8760.0 * k for k in range(first, last + 1)),
               key=lambda h: max(lo - h, h - hi, 0.0))


def load_result(path, hall: str | None = None, time_s: float | None = None,
                time: str | None = None) -> ResultView:
    """Read one hall of a result file (see the module docstring). ``time``: the text of
    ``--time`` (:func:`parse_time`); ``time_s``: seconds after the start."""
    import h5py

    from twin.outputs.runfile import RunFile, open_h5
    p = Path(path)
    clock = None
    if time is not None:
        kind, value = parse_time(time)
        if kind == "clock":
            clock = value
        else:
            time_s = value
    elif time_s is not None:
        time_s = parse_time(time_s)[1]
    f = open_h5(p, "write one with twin solve --out DIR")
    with f:
        if RunFile.is_run(f):
            view, text = _load_run(RunFile(f, p), hall, time_s, clock, time)
            _attach_geometry(view, text)
            view.rack_inlet_c = _rack_inlets(view)
            return view
        if "halls" not in f or not len(f["halls"]):
            raise InputError(f"{path}: no /halls group; expected a results.h5 of twin solve "
                             "--out, twin fail --out or twin run")
        names = list(f["halls"].keys())
        if hall is None:
            hall = names[0]
        if hall not in names:
            raise InputError(f"{path}: no hall '{hall}'; halls: {', '.join(names)}")
        h = f["halls"][hall]
        if "temp_c" not in h:
            raise InputError(f"{path}: hall {hall} has no temp_c field")
        centers = tuple(np.asarray(h[k][...], dtype=float) for k in ("x_m", "y_m", "z_m"))
        shape = tuple(len(c) for c in centers)
        summary = json.loads(h.attrs["summary_json"]) if "summary_json" in h.attrs else {}
        t_pick = None
        times_seen = None
        fields = {}
        for key, ds in h.items():
            if not isinstance(ds, h5py.Dataset) or key in ("x_m", "y_m", "z_m"):
                continue
            if ds.shape == shape:
                fields[key] = ds[...]
            elif ds.ndim == 4 and ds.shape[1:] == shape:
                times = _times(h, ds)
                times_seen = times
                k = len(times) - 1 if time_s is None else int(np.argmin(np.abs(times - time_s)))
                fields[key] = ds[k]
                t_pick = float(times[k])
        if t_pick is None and "time_s" in h.attrs:
            t_pick = float(h.attrs["time_s"])
        if clock is not None:
            raise InputError(f"--time {time}: {path} is not a twin run result and has no clock; "
                             "give a time after its start, e.g. 90s or 15m")
        if time_s is not None and t_pick is None:
            raise InputError(f"--time {time if time is not None else time_s}: {path} holds one "
                             "state, not a time series")
        text = f.attrs.get("facility_toml", "")
        text = text.decode() if isinstance(text, bytes) else str(text)
    view = ResultView(p, hall, centers, fields, summary, time_s=t_pick)
    if time_s is not None and t_pick is not None and times_seen is not None:
        _note_time(view, time_s, t_pick, times_seen, "")
    _attach_geometry(view, text)
    view.rack_inlet_c = _rack_inlets(view)
    return view


def _load_run(rf, hall, time_s, clock=None, asked=None):
    """A ``twin run`` results file (read through :class:`twin.outputs.runfile.RunFile`):
    one 3D snapshot (the last; or the nearest to ``time_s`` after the run's start or to
    the clock time ``clock``) and the series values of its step, as a steady-style
    summary."""
    p = rf.path
    snaps = rf.snapshot_index()
    if not snaps:
        raise InputError(f"{p}: the run kept no 3D snapshot; run it with snapshots "
                         "(snapshot_times_h or snapshot_every_h) to view it")
    halls = list(dict.fromkeys(s.hall for s in snaps))
    if hall is None:
        hall = halls[0]
    if hall not in halls:
        raise InputError(f"{p}: no snapshot of hall '{hall}'; halls with snapshots: "
                         + ", ".join(halls))
    mine = [s for s in snaps if s.hall == hall]
    settings = rf.settings({})
    start_h = float(settings.get("start_h", 0.0))
    step_h = float(settings.get("step_s", 900.0)) / 3600.0
    times_h = rf.time_h(None)
    end_h = (float(times_h[-1]) + 0.5 * step_h if times_h is not None and len(times_h)
             else max(s.time_h for s in mine) + 0.5 * step_h)
    want_h = None
    if clock is not None:
        year = settings.get("year")
        want_h = clock_time_h(clock, rf.utc_offset_h(), None if year in (None, "") else int(year),
                              (start_h, end_h))
    elif time_s is not None:
        want_h = start_h + time_s / 3600.0
    pick = mine[-1] if want_h is None else min(mine, key=lambda s: abs(s.time_h - want_h))
    step, t_h = pick.step, pick.time_h
    snap = rf.snapshot(pick)
    centers = tuple(np.asarray(snap.coords[k], dtype=float) for k in ("x_m", "y_m", "z_m"))

    def col(group, name):
        return rf.hall_row(group, name, step, hall)

    names, tin = col("racks", "inlet_temp_c")
    racks = []
    if names is not None:
        extra = {k: col("racks", k)[1] for k in
                 ("inlet_max_c", "exhaust_temp_c", "airflow_m3_s", "heat_to_air_w")}
        for i, n in enumerate(names):
            def ex(k, i=i):
                return float(extra[k][i]) if extra[k] is not None else float("nan")
            racks.append({"name": n, "hall": hall, "intake_temp_c": float(tin[i]),
                          "intake_max_c": ex("inlet_max_c"), "exhaust_temp_c": ex("exhaust_temp_c"),
                          "flow_m3_s": ex("airflow_m3_s"), "air_heat_w": ex("heat_to_air_w")})
        racks.sort(key=lambda r: -r["intake_max_c"])
    names, q = col("cooling_units", "heat_removed_w")
    units = []
    if names is not None:
        extra = {k: col("cooling_units", k)[1] for k in
                 ("supply_temp_c", "return_temp_c", "airflow_m3_s")}
        for i, n in enumerate(names):
            units.append({"name": n, "hall": hall, "heat_removed_w": float(q[i]),
                          **{k: float(extra[k][i]) if extra[k] is not None else float("nan")
                             for k in extra}})
    summary = {
        "schema": str(rf.attr("schema", "")), "kind": "run",
        "facility": rf.facility("source_path", ""),
        "hall": hall, "racks": racks, "cooling_units": units,
        "cells": int(np.prod([len(c) for c in centers])),
        "cell_m": float(settings["cell_m"]) if "cell_m" in settings else None,
        "backend": str(rf.attr("backend", "")), "step": step, "time_h": t_h,
        "energy_budget": {"rack_heat_w": float(sum(r["air_heat_w"] for r in racks)),
                          "cooler_heat_w": float(sum(u["heat_removed_w"] for u in units))},
        "hot_spots": [{"temp_c": float(r[0]), "rack": "", "position_m": [float(x) for x in r[1:]]}
                      for r in snap.hot_spots],
    }
    try:
        summary["run"] = rf.summary()
    except (KeyError, ValueError):          # no summary, or not JSON
        pass
    text = rf.facility("expanded_toml", "")
    view = ResultView(p, hall, centers, snap.fields, summary, time_s=t_h * 3600.0,
                      clock_time=clock_label(t_h, rf.utc_offset_h()))
    if want_h is not None:
        asked = asked if asked is not None else _fmt_s(time_s)
        _note_snapshot(view, str(asked).strip(), want_h, pick, mine, (start_h, end_h), step_h,
                       rf.utc_offset_h())
    return view, text


def _note_snapshot(view, asked: str, want_h: float, pick, mine, span_h, step_h: float,
                   utc_offset_h: float) -> None:
    """The one line that says which snapshot answers ``--time`` when it is not the state of
    the step asked for: how far it is, what is stored, and the run's span when the time
    lies outside it."""
    gap_h = pick.time_h - want_h
    if abs(gap_h) <= 0.5 * step_h + 1e-6:
        return                               # the asked time lies in the snapshot's step
    start_h, end_h = span_h

    def short(t_h):
        return clock_label(t_h, utc_offset_h).split(" (")[0]
    where = ""
    if want_h < start_h - 1e-6 or want_h > end_h + 1e-6:
        where = (f", {'before' if want_h < start_h else 'after'} the run ({short(start_h)} to "
                 f"{short(end_h)})")
    stored = ", ".join(short(s.time_h) for s in mine[:6]) + (", ..." if len(mine) > 6 else "")
    view.notes.append(
        f"--time {asked} is {clock_label(want_h, utc_offset_h)}{where}; no snapshot then: "
        f"showing the nearest, step {pick.step} at {short(pick.time_h)}, "
        f"{_fmt_s(abs(gap_h) * 3600.0)} {'later' if gap_h > 0 else 'earlier'} (stored: {stored})"
        + ("" if where else "; store more with twin run --snapshot-every"))


def clock_label(time_h: float, utc_offset_h: float) -> str:
    """A run's time (hours after 1 January 00:00 local standard time) as a person reads it:
    ``"Jul 19 14:07:30 (UTC+09:00)"`` (seconds only when not zero; no year: the weather
    year is a typical one, :data:`twin.outputs.cf.CALENDAR_YEAR`)."""
    from twin.outputs.cf import local_time, utc_offset_text
    when = local_time(round(float(time_h) * 3600.0) / 3600.0, utc_offset_h)
    fmt = "%b %d %H:%M:%S" if when.second else "%b %d %H:%M"
    return f"{when.strftime(fmt)} (UTC{utc_offset_text(utc_offset_h)})"


def _fmt_s(t_s: float) -> str:
    t = float(t_s)
    if t >= 2 * 86400.0:
        return f"{t / 86400.0:.1f} d"
    if t >= 3600.0:
        return f"{t / 3600.0:g} h"
    return f"{t / 60.0:g} min" if t >= 60.0 else f"{t:g} s"


def _note_time(view, asked_s, picked_s, stored_s, hint: str) -> None:
    """Say so when ``--time`` is answered by a stored state at another time."""
    if abs(asked_s - picked_s) <= 1.0:
        return
    stored = np.asarray(stored_s, float)
    shown = ", ".join(_fmt_s(t) for t in stored[:8]) + (", ..." if len(stored) > 8 else "")
    view.notes.append(f"--time {_fmt_s(asked_s)}: no state stored then; showing the nearest, at "
                      f"{_fmt_s(picked_s)} (stored: {shown}){hint}")


def _times(group, ds):
    try:
        scale = ds.dims[0][0]
        return np.asarray(scale[...], dtype=float)
    except (IndexError, KeyError, RuntimeError):
        pass
    for k in ("time_s", "t_s"):
        if k in group:
            return np.asarray(group[k][...], dtype=float)
    return np.arange(ds.shape[0], dtype=float)


def _attach_geometry(view: ResultView, text: str):
    """The facility (from the embedded text), its layout and the ports on the same grid."""
    from twin.facility import BUILTIN_DIR, loads_facility
    if not text:
        view.notes.append("no facility in the result file: geometry from the cell flags only")
        return
    folders = []
    src = view.summary.get("facility") or ""
    if src:
        folders.append(Path(src).parent if Path(src).is_absolute() else Path.cwd() / Path(src).parent)
    folders += [view.path.parent, BUILTIN_DIR]
    fac, err = None, None
    for folder in folders:
        try:
            fac = loads_facility(text, folder=folder)
            break
        except Exception as exc:            # try the next folder for the includes
            err = exc
    if fac is None:
        view.notes.append(f"the embedded facility did not load ({str(err).splitlines()[0]}): "
                          "geometry from the cell flags only")
        return
    view.facility = fac
    try:
        view.layout = fac.layout(view.hall)
    except Exception as exc:
        view.notes.append(f"no layout for hall {view.hall}: {exc}")
        return
    cell = view.summary.get("cell_m") or min(view.spacing_m)
    try:
        from twin.thermal.mesh import mesh_hall
        problem, report = mesh_hall(fac, view.hall, cell_m=float(cell), check_memory=False)
        if problem.grid.shape == view.shape:
            view.ports = report.ports
        else:
            view.notes.append("the facility meshes to another grid than the result's: rack "
                              "inlets from the summary")
    except Exception as exc:
        view.notes.append(f"could not mesh the facility again ({exc}): inlets from the summary")


def _rack_inlets(view: ResultView) -> dict:
    """Rack inlet temperatures [degC]: intake-face means of the field where the ports are
    known (any time of a series), else the summary's."""
    if view.ports:
        T = view.fields["temp_c"]
        out = {}
        for pi in view.ports:
            if pi.role == "rack-intake":
                c = pi.port.cells
                out[pi.device] = float(np.nanmean(T[c[:, 0], c[:, 1], c[:, 2]]))
        return out
    return {r["name"]: float(r["intake_temp_c"]) for r in view.summary.get("racks", [])}
