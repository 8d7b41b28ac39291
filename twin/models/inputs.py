"""Checks and conversions shared by the component models: inputs as float arrays with
one clear error line (:func:`as_array`, :func:`check_param`), fitted ranges with one
warning (:func:`clamp_warn`, :class:`CurveRangeWarning`), scalar-in scalar-out
(:func:`scalar_or_array`)."""
from __future__ import annotations

import warnings

import numpy as np

from common.errors import InputError
from common.units import ValidityRangeWarning

__all__ = ["CurveRangeWarning", "as_array", "check_param", "clamp_warn", "scalar_or_array"]


class CurveRangeWarning(ValidityRangeWarning):
    """An input lies outside the range over which a correlation was fitted.

    The component models clamp (or clip) such inputs to the bounds and say so once per
    call site, as EnergyPlus does for its performance curves, instead of extrapolating
    silently. A subclass of the project-wide :class:`common.units.ValidityRangeWarning`,
    so one filter on that silences every model.
    """


# --- shared helpers (used by it_load, liquid and plant too) ---------------------------
def as_array(name: str, value, *, nonnegative: bool = False, positive: bool = False) -> np.ndarray:
    """``value`` as a float array; raise InputError for NaN/inf or a wrong sign."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a number or an array of numbers, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: contains NaN or infinity; pass finite numbers")
    if positive and np.any(arr <= 0.0):
        bad = float(arr.flat[int(np.argmin(arr))])
        raise InputError(f"{name} must be > 0 (got {bad:g}); pass a positive value")
    if nonnegative and np.any(arr < 0.0):
        bad = float(arr.flat[int(np.argmin(arr))])
        raise InputError(f"{name} must be >= 0 (got {bad:g}); pass a non-negative value")
    return arr


def check_param(record: str, name: str, value: float, lo: float = 0.0, hi: float = np.inf,
                 *, lo_open: bool = False) -> float:
    """Validate one scalar field of a parameter record (raise InputError)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{record}: {name} must be a number, got {value!r}") from None
    bad_lo = v <= lo if lo_open else v < lo
    if not np.isfinite(v) or bad_lo or v > hi:
        lo_s = f"> {lo:g}" if lo_open else f">= {lo:g}"
        hi_s = "" if not np.isfinite(hi) else f" and <= {hi:g}"
        raise InputError(f"{record}: {name} = {value!r}; it must be {lo_s}{hi_s}")
    return v


def clamp_warn(name: str, arr: np.ndarray, lo: float, hi: float, model: str) -> np.ndarray:
    """Clip ``arr`` to ``[lo, hi]``; warn once (stable message) when anything was clipped."""
    if np.any(arr < lo) or np.any(arr > hi):
        warnings.warn(
            f"{model}: {name} outside the fitted range [{lo:g}, {hi:g}]; clamped to the "
            "bounds (no extrapolation)", CurveRangeWarning, stacklevel=3)
    return np.clip(arr, lo, hi)


def scalar_or_array(arr: np.ndarray):
    """Return a Python float for 0-d results, else the array."""
    arr = np.asarray(arr)
    return float(arr) if arr.ndim == 0 else arr
