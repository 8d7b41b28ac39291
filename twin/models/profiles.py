"""Utilisation profiles of AI and CPU racks over time (training, inference, constant,
CSV traces), step means for the loop."""
from __future__ import annotations

import csv
import math
import os
import warnings
from dataclasses import dataclass

import numpy as np

from common.errors import InputError

from .inputs import CurveRangeWarning, as_array, check_param

__all__ = ["constant_profile", "training_profile", "inference_profile", "UtilizationTrace",
           "read_utilization_csv", "trace_profile", "PROFILES", "utilization_profile"]




# --- utilisation profiles ------------------------------------------------------------------
def _fraction_param(name, v):
    v = check_param("profile", name, v, 0.0, 1.0)
    return v


def constant_profile(time_h, level: float = 0.9):
    """Constant utilisation.

    Parameters
    ----------
    time_h : array_like
        Times [h].
    level : float
        Utilisation [-], 0..1.

    Returns
    -------
    ndarray
        ``level`` at every time.
    """
    t = as_array("time_h", time_h)
    return np.full(t.shape, _fraction_param("level", level))


def training_profile(time_h, level: float = 0.9, checkpoint_interval_h: float = 1.0,
                     checkpoint_duration_h: float = 5.0 / 60.0, checkpoint_level: float = 0.3,
                     phase_h: float = 0.0):
    """AI training: near-flat utilisation with periodic checkpoint dips.

    Parameters
    ----------
    time_h : array_like
        Times [h].
    level : float
        Utilisation while training [-] (synchronous data-parallel jobs keep GPUs near
        full power; ~0.9 of the dynamic range is typical, est.).
    checkpoint_interval_h : float
        Time between checkpoint starts [h].
    checkpoint_duration_h : float
        Length of a checkpoint (GPUs wait on storage) [h].
    checkpoint_level : float
        Utilisation during a checkpoint [-].
    phase_h : float
        Time of the first checkpoint start [h].

    Returns
    -------
    ndarray
        ``checkpoint_level`` while ``(t - phase) mod interval < duration``, else ``level``.

    Notes
    -----
    Square-wave stand-in for the synchronous power swings of large training jobs
    (checkpoint and evaluation pauses); est., shape after published cluster traces
    that show near-flat power with short periodic dips.
    """
    t = as_array("time_h", time_h)
    level = _fraction_param("level", level)
    ck = _fraction_param("checkpoint_level", checkpoint_level)
    period = check_param("profile", "checkpoint_interval_h", checkpoint_interval_h, 0.0, lo_open=True)
    dur = check_param("profile", "checkpoint_duration_h", checkpoint_duration_h, 0.0, period)
    in_ck = np.mod(t - phase_h, period) < dur
    return np.where(in_ck, ck, level).astype(float)


def inference_profile(time_h, mean: float = 0.55, amplitude: float = 0.3,
                      peak_hour: float = 15.0, floor: float = 0.1):
    """Inference serving: a daily cycle following user demand.

    Parameters
    ----------
    time_h : array_like
        Times [h] from local midnight of day 0.
    mean : float
        Daily mean utilisation [-].
    amplitude : float
        Half the peak-to-trough swing [-].
    peak_hour : float
        Local hour of the daily peak [h].
    floor : float
        Lowest utilisation (batch back-fill keeps some load) [-].

    Returns
    -------
    ndarray
        ``clip(mean + amplitude cos(2 pi (t - peak_hour) / 24), floor, 1)``.

    Notes
    -----
    Sinusoidal stand-in for diurnal request traffic (est.).
    """
    t = as_array("time_h", time_h)
    mean = _fraction_param("mean", mean)
    amplitude = _fraction_param("amplitude", amplitude)
    floor = _fraction_param("floor", floor)
    u = mean + amplitude * np.cos(2.0 * np.pi * (t - peak_hour) / 24.0)
    return np.clip(u, floor, 1.0)


@dataclass(frozen=True)
class UtilizationTrace:
    """A utilisation trace read from CSV.

    Parameters
    ----------
    time_h : ndarray, shape (n,)
        Strictly increasing times [h].
    utilization : ndarray, shape (n, k)
        Utilisation per column [-].
    columns : tuple of str
        ``("utilization",)`` for one site-wide column, else the rack names.
    path : str
        File it came from.
    """

    time_h: np.ndarray
    utilization: np.ndarray
    columns: tuple
    path: str = ""


def read_utilization_csv(path) -> UtilizationTrace:
    """Read a utilisation trace: ``time_h,utilization`` or ``time_h,<rack>,<rack>,...``.

    Parameters
    ----------
    path : str or os.PathLike
        CSV file with a header row; blank lines and lines starting with ``#`` are skipped.

    Returns
    -------
    UtilizationTrace

    Raises
    ------
    common.errors.InputError
        One line naming the file, the line and the fix: missing file, no header, first
        column not ``time_h``, a non-numeric or out-of-range value, a short row, or times
        that do not increase.
    """
    p = os.fspath(path)
    try:
        fh = open(p, newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{p}: cannot open utilization trace ({exc.strerror}); check the path") from None
    with fh:
        try:
            rows = [(i, r) for i, r in enumerate(csv.reader(fh), start=1)
                    if r and any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
        except UnicodeDecodeError as exc:
            raise InputError(f"{p}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                             f"{exc.start}); a utilization trace is a CSV text file: re-save it "
                             "as UTF-8 text") from None
        except csv.Error as exc:
            raise InputError(f"{p}: not a readable CSV file ({exc}); a utilization trace is text: "
                             "'time_h,utilization' and one row per time") from None
    if not rows:
        raise InputError(f"{p}: empty utilization trace; write a header 'time_h,utilization' "
                         "and one row per time")
    hline, header = rows[0]
    header = [h.strip() for h in header]
    if header[0] != "time_h":
        raise InputError(f"{p}:{hline}: first column is {header[0]!r}, expected 'time_h'; "
                         "header must be 'time_h,utilization' or 'time_h,<rack>,...'")
    cols = header[1:]
    if not cols or any(not c for c in cols):
        raise InputError(f"{p}:{hline}: header needs named utilization columns after time_h "
                         "('utilization' or one name per rack)")
    if len(set(cols)) != len(cols):
        raise InputError(f"{p}:{hline}: duplicate column names in header; give each rack a "
                         "unique name")
    if len(rows) < 2:
        raise InputError(f"{p}: header only, no data rows; add at least one 'time_h,value' row")
    times, values = [], []
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise InputError(f"{p}:{line}: {len(row)} fields, header has {len(header)}; "
                             "give one value per column")
        try:
            nums = [float(x) for x in row]
        except ValueError:
            bad = next(x for x in row if not _is_float(x))
            raise InputError(f"{p}:{line}: {bad.strip()!r} is not a number; use plain decimals "
                             "(utilization as a fraction 0..1)") from None
        if not all(math.isfinite(v) for v in nums):
            raise InputError(f"{p}:{line}: NaN or infinity; every value must be finite")
        for name, v in zip(cols, nums[1:]):
            if not 0.0 <= v <= 1.0:
                raise InputError(f"{p}:{line}: {name} = {v:g} outside 0..1; write utilization "
                                 "as a fraction (0.9, not 90)")
        if times and nums[0] <= times[-1]:
            raise InputError(f"{p}:{line}: time_h {nums[0]:g} does not increase (previous "
                             f"{times[-1]:g}); sort the rows by time and remove duplicates")
        times.append(nums[0])
        values.append(nums[1:])
    return UtilizationTrace(time_h=np.asarray(times), utilization=np.asarray(values),
                            columns=tuple(cols), path=p)


def _is_float(x: str) -> bool:
    try:
        float(x)
        return True
    except ValueError:
        return False


def trace_profile(trace: UtilizationTrace, time_h, periodic: bool = False):
    """Utilisation of a trace at arbitrary times (linear interpolation).

    Parameters
    ----------
    trace : UtilizationTrace
    time_h : array_like
        Times [h].
    periodic : bool
        Repeat the trace with period ``t_last - t_first + dt_last`` (e.g. a one-day trace
        over a year). Otherwise times outside the trace hold its end values and warn
        (:class:`~twin.models.airside.CurveRangeWarning`).

    Returns
    -------
    ndarray
        Shape ``time_h.shape`` for a single column, else ``time_h.shape + (k,)``.
    """
    t = as_array("time_h", time_h)
    t0, t1 = trace.time_h[0], trace.time_h[-1]
    if periodic:
        step = trace.time_h[-1] - trace.time_h[-2] if trace.time_h.size > 1 else 1.0
        period = t1 - t0 + step
        t = t0 + np.mod(t - t0, period)
        tt = np.append(trace.time_h, t0 + period)
        uu = np.vstack([trace.utilization, trace.utilization[:1]])
    else:
        if np.any(t < t0) or np.any(t > t1):
            warnings.warn(f"{trace.path or 'trace'}: times outside the trace "
                          f"[{t0:g}, {t1:g}] h hold its end values", CurveRangeWarning,
                          stacklevel=2)
        tt, uu = trace.time_h, trace.utilization
    out = np.stack([np.interp(t, tt, uu[:, j]) for j in range(uu.shape[1])], axis=-1)
    return out[..., 0] if uu.shape[1] == 1 else out


#: Utilisation profiles by name (shared by the CLI's choices and the tests).
PROFILES = {
    "constant": constant_profile,
    "training": training_profile,
    "inference": inference_profile,
}


def utilization_profile(kind: str, time_h, **params):
    """Utilisation over time by profile name.

    Parameters
    ----------
    kind : str
        Key of :data:`PROFILES`, or ``"csv"`` with ``path=...`` (and optional
        ``periodic=...``).
    time_h : array_like
        Times [h].
    **params
        Passed to the profile function.
    """
    if kind == "csv":
        if "path" not in params:
            raise InputError("utilization profile 'csv' needs path=<file.csv>")
        params = dict(params)
        trace = read_utilization_csv(params.pop("path"))
        return trace_profile(trace, time_h, **params)
    if kind not in PROFILES:
        raise InputError(f"utilization profile {kind!r} unknown; choose one of "
                         f"{sorted(PROFILES) + ['csv']}")
    try:
        return PROFILES[kind](time_h, **params)
    except TypeError as exc:
        raise InputError(f"utilization profile {kind!r}: {exc}") from None
