"""The temperature's time mean as a hall's answer, for flows that keep swinging.

A steady solve (:func:`kernels.steady.solve_steady`) answers with the heat equation solved
at the record's mean flow. Where the flow settles that is the steady state. Where it keeps
swinging (room jets, plumes meeting a short supply), the mean of the temperature is not
the temperature of the mean flow: the swings themselves carry heat (the turbulent heat
flux of the resolved motion, ``<u'T'>``, which the mean flow lacks; the Reynolds
averaging argument of Pope, *Turbulent Flows*, 2000, sec. 4.1, applied to the unsteady
part the grid resolves). A transient reference (OpenFOAM's unsettled SIMPLE or PIMPLE
averages) averages the temperature itself; so does a sensor in a real hall.

:func:`time_mean_answer` marches the solver on in real time (one global step, every
stage of :data:`kernels.stages.STEP`: flow and heat together) from its steady answer,
leaves a spin-up behind, and averages the temperature field and the devices' intake
means over ``average_s`` seconds. Its uncertainty is judged as the steady record's is,
by batch means (:func:`kernels.steady.record_test`; Law, *Simulation Modeling and
Analysis*, 5th ed., 2015, sec. 9.5.3): the average is cut into ``batches`` equal spans
and the standard error of their means, and the difference of the halves, are reported
per device. The heat balance of a time mean closes only to the heat the air stored over
the average (``storage_frac``, its share of the heat input) and the statistical error:
the ports' heat is linear in the temperature, so the time mean of a balanced march is a
balanced mean, less what the air stored.

What it changes on the cross-check's halls: ``benchmarks/results/`` (the diagnosis of
2026-12-07 and the time-mean runs that followed it).
"""
from __future__ import annotations

import time

import numpy as np

from common.errors import InputError

from . import stages
from .steady import record_test, window_s

__all__ = ["time_mean_answer", "auto_average_s", "AUTO_WINDOWS", "SPIN_UP_FRAC"]

#: The default averaging time, in averaging windows of the steady march (one jet crossing,
#: :func:`kernels.steady.window_s`), before the bounds of :func:`auto_average_s`.
AUTO_WINDOWS = 40
#: The spin-up left out before the average, as a share of the average: the march starts
#: from the mean flow and its steady heat field, and the swings need a while to return.
SPIN_UP_FRAC = 0.25


def auto_average_s(solver, lo_s: float = 60.0, hi_s: float = 600.0) -> float:
    """The default averaging time [s]: :data:`AUTO_WINDOWS` jet crossings, held within
    ``[lo_s, hi_s]`` (the cross-check's small hall: a crossing of about 6 s, swings of
    tens of seconds, so 240 s)."""
    return float(min(max(AUTO_WINDOWS * window_s(solver), lo_s), hi_s))


def time_mean_answer(solver, average_s: float | None = None, spin_up_s: float | None = None,
                     batches: int = 8, sample_every: int = 1, tol_k: float | None = None,
                     progress=None) -> dict:
    """Replace ``solver``'s temperature by its time mean over ``average_s`` seconds of real
    time (default :func:`auto_average_s`), after ``spin_up_s`` (default
    :data:`SPIN_UP_FRAC` of the average); the flow is put back to the one it had (the
    steady answer's mean flow), and the devices' intake and outlet temperatures follow
    from the mean field.

    The field and the intake means are sampled every ``sample_every`` steps, each sample
    weighted by the step's length. Returns ``average_s``, ``spin_up_s``, ``steps``,
    ``samples``, ``intake_mean_c`` (per device, the samples' mean), ``swing_k`` (per
    device, the range of the samples), ``uncertainty_k`` and ``drift_k`` (largest over
    the devices: the batch means' standard error and the difference of the halves),
    ``converged`` (both below ``tol_k``, default the solver's ``tol_temp_k``, with
    twice the standard error), ``storage_frac`` (heat stored in the air over the average
    over the heat input), ``wall_s``."""
    if average_s is None:
        average_s = auto_average_s(solver)
    if not np.isfinite(average_s) or average_s <= 0:
        raise InputError(f"time-mean answer: averaging time {average_s} s must be a positive "
                         "number of seconds (e.g. 240)")
    spin_up_s = SPIN_UP_FRAC * average_s if spin_up_s is None else float(spin_up_s)
    if not np.isfinite(spin_up_s) or spin_up_s < 0:
        raise InputError(f"time-mean answer: spin-up {spin_up_s} s must be >= 0")
    if int(batches) < 2 or int(sample_every) < 1:
        raise InputError(f"time-mean answer: batches = {batches} must be >= 2 and "
                         f"sample_every = {sample_every} >= 1")
    tol_k = solver.settings.tol_temp_k if tol_k is None else float(tol_k)
    be = solver.backend
    t0 = time.perf_counter()
    if solver.local is not None:
        raise InputError("time-mean answer: the solver is still on local pseudo-time steps; "
                         "call it after solve_steady has returned")
    flow = [be.to_host(a).copy() for a in (solver.u, solver.v, solver.w)]
    if spin_up_s > 0:
        solver.run(spin_up_s)
    ndev = len(solver.devices)
    T_sum = np.zeros(solver.problem.grid.shape)
    tin_sum = np.zeros(ndev)
    tin_min = np.full(ndev, np.inf)
    tin_max = np.full(ndev, -np.inf)
    edges = solver.time_s + average_s * np.arange(1, batches + 1) / batches
    batch_sum, batch_w, batch_means = np.zeros(ndev), 0.0, []
    heat_in = solver.source_w + sum(d.heat_w for d in solver.devices if d.kind == "rack")
    e0 = solver.stored_heat_j()
    t_start = solver.time_s
    t_end = t_start + average_s
    dt = solver.compute_dt()
    n = 0
    weight = 0.0
    samples = 0
    while solver.time_s < t_end - 1e-9:
        h = solver.step(min(dt, t_end - solver.time_s))      # the step it took
        n += 1
        weight += h
        if n % sample_every == 0 or solver.time_s >= t_end - 1e-9:
            # each sample stands for the steps since the last one
            T_sum += weight * be.to_host(solver.T)
            tin = np.asarray(solver.dev_tin, dtype=np.float64)
            tin_sum += weight * tin
            batch_sum += weight * tin
            batch_w += weight
            np.minimum(tin_min, tin, out=tin_min)
            np.maximum(tin_max, tin, out=tin_max)
            weight = 0.0
            samples += 1
            if len(batch_means) < batches and solver.time_s >= edges[len(batch_means)] - 1e-9:
                batch_means.append(batch_sum / batch_w)
                batch_sum, batch_w = np.zeros(ndev), 0.0
        if n % solver.settings.check_every == 0:
            stages.check_finite(solver)
            dt = solver.compute_dt()
            if progress is not None:
                progress(n, {"stage": "time mean", "time_s": solver.time_s - t_start,
                             "average_s": average_s})
    stages.check_finite(solver)
    span = solver.time_s - t_start
    storage = (solver.stored_heat_j() - e0) / span / heat_in if heat_in > 0 else 0.0
    T_mean = T_sum / span
    solver.T = be.asarray(T_mean.astype(solver.dtype))
    solver._set_flow(flow)
    solver.device_temperatures()
    rec = record_test(batch_means, tol_k, min_windows=batches) if ndev else {
        "uncertainty_k": 0.0, "drift_k": 0.0, "converged": True}
    swing = tin_max - tin_min if ndev else np.zeros(0)
    return {"average_s": float(span), "spin_up_s": float(spin_up_s), "steps": n,
            "samples": samples, "batches": len(batch_means),
            "intake_mean_c": tin_sum / span, "swing_k": swing,
            "max_swing_k": float(np.max(swing, initial=0.0)),
            "uncertainty_k": float(rec["uncertainty_k"]), "drift_k": float(rec["drift_k"]),
            "converged": bool(rec["converged"]), "storage_frac": float(storage),
            "wall_s": time.perf_counter() - t0}
