"""Steady state of the thermal core by pseudo-time stepping (``Solver.solve_steady``).

Pseudo-time steps in averaging windows (one jet crossing each); at the end of a window
the heat equation is solved at the window's mean flow. The windows from ``min_windows``
on form a record (:class:`FlowRecord`); MSER (White 1997) finds the start-up, and
:func:`record_test` accepts the record's mean when twice its batch-means standard error
and the difference between its halves are below ``tol_temp_k`` for every device. Rules
and their history: ``kernels/README.md`` and ``benchmarks/results/kernels-notes.md``.

White, K.P. (1997), "An effective truncation heuristic for bias reduction in simulation
output", Simulation 69(6), 323-334.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import stages
from .budget import port_pressures_pa

__all__ = ["RunResult", "FlowRecord", "mser_start", "record_test", "settled_flow", "solve_steady",
           "window_s", "steady_residual"]


@dataclass
class RunResult:
    converged: bool
    iterations: int
    wall_s: float
    sim_time_s: float
    residuals: dict = field(default_factory=dict)


def mser_start(means, max_start: int) -> int:
    """Start of the stationary part of a series of window means: the truncation ``d`` (at
    most ``max_start``, at most half the series) that minimises the marginal standard error
    ``sum_i (x_i - mean(x[d:]))^2 / (n - d)^2`` summed over the devices (MSER, White,
    Simulation 69:323, 1997). Windows still carrying the start-up transient inflate the
    spread of what follows them more than they lengthen it, so the rule drops them."""
    K = len(means)
    if K < 3:
        return 0
    m = np.asarray(means, dtype=np.float64).reshape(K, -1)
    best, best_d = np.inf, 0
    for d in range(0, min(max_start, K // 2) + 1):
        x = m[d:]
        n = K - d
        if n < 2:
            break
        stat = float(np.sum((x - x.mean(axis=0)) ** 2)) / (n * n)
        if stat < best * (1 - 1e-12):
            best, best_d = stat, d
    return best_d


def record_test(means, tol_k: float, min_windows: int = 4, max_start: int = 0) -> dict:
    """Is the mean over a record of averaging windows known to within ``tol_k``?

    ``means`` holds one vector per window (the device intake means at that window's mean
    flow). The first ``start`` windows (at most ``max_start``, chosen by
    :func:`mser_start`) are left out as start-up. On the rest this is the method of batch
    means (Law, *Simulation Modeling and Analysis*, 5th ed., 2015, sec. 9.5.3; Schmeiser,
    Oper. Res. 30:556, 1982): each window is one batch, and with ``K`` windows of
    per-device sample standard deviation ``s`` the record mean has a standard error
    ``s / sqrt(K)``. The record mean is accepted when

    * ``K >= min_windows``,
    * twice the standard error (about the 95 % half-width) is below ``tol_k`` for every
      device, and
    * the means of the record's first and second halves differ by less than ``tol_k`` for
      every device: no drift is left from the start-up (the windows would otherwise be
      samples of a moving target, and their scatter would not measure the uncertainty).

    Returns ``start``, ``windows`` (K), ``uncertainty_k`` (largest standard error),
    ``drift_k`` (largest difference of the halves) and ``converged``.
    """
    out = {"start": 0, "windows": len(means), "uncertainty_k": float("inf"),
           "drift_k": float("inf"), "converged": False}
    if len(means) < 2:
        return out
    m = np.asarray(means, dtype=np.float64).reshape(len(means), -1)
    if m.shape[1] == 0:
        return out
    d = mser_start(m, max_start)
    m = m[d:]
    K = len(m)
    se = m.std(axis=0, ddof=1) / np.sqrt(K)
    h = K // 2
    drift = np.abs(m[:h].mean(axis=0) - m[K - h:].mean(axis=0))   # odd K: middle left out
    out.update(start=d, windows=K, uncertainty_k=float(np.max(se)),
               drift_k=float(np.max(drift)))
    out["converged"] = bool(K >= min_windows and 2.0 * out["uncertainty_k"] < tol_k
                            and out["drift_k"] < tol_k)
    return out


class FlowRecord:
    """The record of averaging windows of a statistically steady solve, on the host.

    Each window's intake means are kept; its mean flow goes into one of at most
    ``BATCHES`` float32 batches. When a window would make one batch too many, the two
    adjacent batches with the fewest windows together (the oldest such pair) merge, so
    the batches stay about equal in length and the memory stays bounded (dynamic batch
    means: Yeh & Schmeiser, Proc. Winter Simulation Conf. 2000, 1:592). The start-up that
    :func:`mser_start` finds is dropped in whole batches.
    """

    BATCHES = 8

    def __init__(self):
        self.batches = []       # [mean flow per component (float32), samples, windows]
        self.means = []         # intake means of each window

    def add(self, sums, count, means):
        self.batches.append([[(a / count).astype(np.float32) for a in sums], count, 1])
        self.means.append(means)
        if len(self.batches) > self.BATCHES:
            sizes = [self.batches[i][2] + self.batches[i + 1][2]
                     for i in range(len(self.batches) - 1)]
            i = int(np.argmin(sizes))
            (fa, na, wa), (fb, nb, wb) = self.batches[i], self.batches[i + 1]
            merged = [((na * x.astype(np.float64) + nb * y) / (na + nb)).astype(np.float32)
                      for x, y in zip(fa, fb)]
            self.batches[i:i + 2] = [[merged, na + nb, wa + wb]]

    def start_batch(self, start: int) -> tuple[int, int]:
        """The first batch at or after window ``start``, and the window it begins with."""
        w = 0
        for b, (_, _, nw) in enumerate(self.batches):
            if w >= start:
                return b, w
            w += nw
        return len(self.batches), w

    def test(self, tol_k, min_windows) -> dict:
        K = len(self.means)
        _, start = self.start_batch(mser_start(self.means, K // 2))
        out = record_test(self.means[start:], tol_k, min_windows)
        out["start"] = start
        return out

    def mean_flow(self, start: int):
        """Sample-weighted mean flow of the batches from window ``start`` on (float64)."""
        b0, _ = self.start_batch(start)
        batches = self.batches[b0:] or self.batches[-1:]
        total = [np.zeros(a.shape) for a in batches[0][0]]
        n = 0
        for flows, count, _ in batches:
            for acc, a in zip(total, flows):
                acc += count * a.astype(np.float64)
            n += count
        return [a / n for a in total]


def solve_steady(solver, max_steps=None, progress=None) -> RunResult:
    """Pseudo-time stepping to a steady (or statistically steady) state.

    Three ways to converge:

    * **steady** (problems without devices, such as the verification cavities): the
      RMS velocity residual falls below ``tol_velocity``. With devices the answer is
      judged on what it is for, the intake temperatures, by the rule below: a
      velocity residual says little about them. Measured on the small hall
      (``kernels/README.md``): at 0.2 m the residual plateaus at 2.0-2.5e-3 and dipped
      under the 2e-3 tolerance for 250 steps, where the instantaneous flow was 0.35 K
      from the long-run mean at one rack; at 0.25 m it stayed under the tolerance for
      a whole window while the intake means still drifted by 0.7 K.
    * **statistically steady (record mean)**: room jets often keep oscillating
      slowly, so the solver averages the velocity field over windows of one
      jet-crossing time (largest box side over the fastest port speed). At the end of
      each window the heat equation is solved exactly at the window's mean flow
      (divergence-free, being an average of divergence-free fields), which also
      removes the slow thermal transient of the room from the pseudo-time march. The
      windows from ``min_windows`` on form a record (:class:`FlowRecord`), and the
      answer is the record's mean flow once :func:`record_test` says that mean is known
      to within ``tol_temp_k`` (batch means, after dropping the start-up MSER finds).
      A hall that truly settles passes it ``record_min_windows`` windows after it
      settles. A run that stops at ``max_steps`` without converging also returns the
      record mean, the best estimate it has, flagged not converged.
    * **steady (settled flow)**: with local steps and the heat solved exactly at the
      instantaneous flow every ``energy_finish_every`` iterations (which takes the
      room's slow thermal transient out of the march), a flow that settles is
      recognised by :func:`settled_flow` (the last ``settle_checks`` heat solves'
      intakes within ``settle_temp_k``, the velocity residual under
      ``settle_velocity``) and the answer is that flow. Measured at 0.2 m
      (``benchmarks/results/steady-stop-*.md``): the halls that settle stop at
      600-750 iterations instead of the record test's 1,350, within 0.1 K of its
      answer; the small hall, which swings, never meets it and goes on to the record.

    Until 2026-12-06 a second rule also stopped a solve when the last three windows lay
    within ``tol_temp_k`` of each other (``window_change_k``, still reported). Near a
    turning point of a swing several windows long, three windows agree by chance: on
    the small hall at 0.25 m it stopped at window 8, 0.69 K from the record mean of an
    18-window solve (and two windows, the rule before 2026-12-05, 0.5 K at 0.2 m).

    The heat equation is then solved exactly at the final flow (``finish_energy``).
    The flow samples and their window and record sums live on the host (float64), so a
    steady solve needs no device memory beyond the step's own arrays
    (``memory.STEADY_HOST_BYTES``).
    """
    s = solver.settings
    max_steps = max_steps or s.max_steps
    solver.check_steady_state_exists()
    be = solver.backend
    t0 = time.perf_counter()
    dt = solver.compute_dt()
    prev = [be.to_host(a).copy() for a in (solver.u, solver.v, solver.w)]
    prev_T = be.to_host(solver.T).astype(np.float64)
    fluid = solver.problem.fluid_mask
    normalized = {}
    history_normalized = []
    t_prev = solver.time_s
    L = min(solver.problem.grid.size_m)
    res_u = np.inf
    converged = False
    mode = "steady"
    n = 0
    history = []
    local = s.local_steps > 0
    if local:
        from .local_steps import LocalSteps, window_iterations
        solver.local = LocalSteps(solver, s.local_steps)
        window_n = window_iterations(solver) if solver.devices else None
    window = window_s(solver) if solver.devices else np.inf
    w_start, w_first = solver.time_s, n
    w_sum = [np.zeros(a.shape) for a in prev]     # flow samples of the current window
    w_n = 0
    record = FlowRecord()                         # windows from min_windows on
    rec = record.test(s.tol_temp_k, s.record_min_windows)
    recent = []                                   # intake means of the last 3 windows
    # the ports' static pressure, sampled with the flow: the window's sum, then one
    # (sum, samples) per record window, averaged as the record's flow is
    sample_p = bool(solver.devices)
    p_sum, p_n, p_record, p_last = 0.0, 0, [], (0.0, 0)
    windows = 0
    max_change = np.inf                           # their range, largest over devices
    # the settled-flow rule: the intake means of the last heat solves along the way
    settle = bool(local and solver.devices and s.energy_finish_every
                  and s.settle_velocity > 0 and s.settle_temp_k > 0)
    settled = []
    settle_range = np.inf
    try:
        while n < max_steps:
            solver.step(dt)
            n += 1
            if s.energy_finish_every and n % s.energy_finish_every == 0:
                solver.finish_energy()
                if settle:
                    settled = (settled + [solver.dev_tin.copy()])[-s.settle_checks:]
            if n % s.check_every == 0:
                stages.check_finite(solver)
                dt = solver.compute_dt()
                U = stages.velocity_scale(solver)
                span = max(solver.time_s - t_prev, 1e-30)
                sq = 0.0
                comp = []
                for acc, old, a in zip(w_sum, prev, (solver.u, solver.v, solver.w)):
                    cur = be.to_host(a)
                    acc += cur
                    sqa = float(np.sum((cur.astype(np.float64) - old) ** 2))
                    comp.append(np.sqrt(sqa / old.size) / span)     # RMS rate [m/s2]
                    sq += sqa
                    old[...] = cur
                w_n += 1
                if sample_p:
                    p_sum = p_sum + port_pressures_pa(solver)
                    p_n += 1
                nf = sum(a.size for a in prev)
                res_u = steady_residual(np.sqrt(sq / nf) / span, L, U)
                T_now = be.to_host(solver.T).astype(np.float64)
                normalized = normalized_residuals(solver, comp, T_now, prev_T, span, fluid, L, U)
                t_prev = solver.time_s
                history.append((n, res_u))
                history_normalized.append((n,) + tuple(normalized.values()))
                if w_n > 0 and (n - w_first >= window_n if local and window_n
                                else solver.time_s - w_start >= window):
                    # the window's mean flow, its exact steady heat field, its intake means;
                    # the instantaneous flow waits in the predictor's buffers meanwhile
                    for tmp, a in zip((solver.us, solver.vs, solver.ws),
                                      (solver.u, solver.v, solver.w)):
                        tmp[...] = a
                    solver._set_flow([a / w_n for a in w_sum])
                    solver.finish_energy(tol_k=window_heat_tol_k(solver), close_balance=False)
                    means = solver.dev_tin.copy()
                    windows += 1
                    recent = (recent + [means])[-3:]
                    if len(recent) == 3:
                        max_change = float(np.max(np.ptp(np.array(recent), axis=0),
                                                  initial=0.0))
                    # the range of the last three windows is reported, but it does not
                    # end a solve: near a turning point of a slow swing three windows
                    # agree by chance (kernels/README.md, "Steady state")
                    if windows >= s.min_windows:
                        record.add(w_sum, w_n, means)
                        p_record.append((p_sum, p_n))
                        rec = record.test(s.tol_temp_k, s.record_min_windows)
                        if rec["converged"]:
                            solver._set_flow(record.mean_flow(rec["start"]))
                            converged = True
                            mode = "statistically steady (record mean)"
                    if not converged:
                        for a, tmp in zip((solver.u, solver.v, solver.w),
                                          (solver.us, solver.vs, solver.ws)):
                            a[...] = tmp
                    for acc in w_sum:
                        acc[...] = 0.0
                    w_n, w_start, w_first = 0, solver.time_s, n
                    p_last, p_sum, p_n = (p_sum, p_n), 0.0, 0
                prev_T = be.to_host(solver.T).astype(np.float64)   # after any window's finish
                if settle and not converged:
                    ok, settle_range = settled_flow(settled, res_u, s)
                    if ok:
                        converged = True
                        mode = "steady (settled flow)"
                if progress is not None:
                    progress(n, {"res_velocity": res_u, "residuals": normalized,
                                 "time_s": solver.time_s, "dt_s": dt,
                                 "cg": solver.last_cg, "window_change_k": max_change,
                                 "settle_range_k": settle_range,
                                 "windows": windows, "record_windows": rec["windows"],
                                 "record_uncertainty_k": rec["uncertainty_k"],
                                 "record_drift_k": rec["drift_k"]})
                if converged:
                    break
                # rule 1 without devices only: with them the intakes decide (the record)
                if not solver.devices and n >= s.min_steps and res_u < s.tol_velocity:
                    converged = True
                    break
    finally:
        if local:                            # also when the march diverged
            solver.local = None              # the rest is at the global step
            solver.mg.reweight(None)
    flow_settled = mode == "steady (settled flow)"     # the answer is the flow as it stands
    if not converged and record.means:
        solver._set_flow(record.mean_flow(rec["start"]))    # the best estimate there is
        mode = "not converged (record mean)"
    elif not converged:
        mode = "not converged"
    if sample_p:
        solver.port_pressure_pa = _mean_port_pressure(
            record, rec, p_record, (p_sum, p_n) if p_n else p_last,
            (converged or bool(record.means)) and not flow_settled)
    solver.final_projection()
    energy = None
    if s.energy_finish:
        energy = solver.finish_energy()
    bud = solver.energy_budget()
    ok_energy = abs(bud["imbalance_frac"]) < s.tol_energy
    stages.check_finite(solver)
    return RunResult(converged=bool(converged and ok_energy), iterations=n,
                     wall_s=time.perf_counter() - t0, sim_time_s=solver.time_s,
                     residuals={"velocity": res_u, "energy_imbalance": bud["imbalance_frac"],
                                "energy_finish": energy, "history": history,
                                "normalized": normalized,
                                "history_normalized": history_normalized,
                                "mode": mode, "windows": windows,
                                "window_change_k": max_change,
                                "settle_range_k": settle_range,
                                "record_windows": rec["windows"],
                                "record_start": rec["start"],
                                "record_uncertainty_k": rec["uncertainty_k"],
                                "record_drift_k": rec["drift_k"]})


def settled_flow(means, res_velocity: float, settings) -> tuple[bool, float]:
    """The settled-flow rule: has a local-step march with the heat solved along the way
    reached its steady flow? ``means`` holds the intake means of the latest heat solves
    (every ``energy_finish_every`` iterations, each exact at the instantaneous flow),
    ``res_velocity`` the normalized velocity residual (:func:`steady_residual`). Settled
    when the last ``settle_checks`` means lie within ``settle_temp_k`` of each other at
    every device *and* the residual is below ``settle_velocity``. Returns (settled, the
    means' largest range [K], inf while there are too few).

    Both halves are needed. The intakes alone agree by chance near a turning point of a
    slow swing (the rule removed on 2026-12-06, :func:`solve_steady`); the residual tells
    a flow that settles from one that swings: measured with local steps 20 at 0.2 m
    (``benchmarks/results/steady-iterations-*.md``), the halls that settle pass 5e-3 on
    the way down (and reach 1e-3 to 4e-5), while the small hall's, which swings, stays
    at 8e-3 to 2.4e-2 from 800 iterations on at either supply flow. The threshold is
    for local steps: their residual, a rate per unit of the global step's time, is
    several times the global step's for the same flow."""
    if len(means) < settings.settle_checks:
        return False, float("inf")
    spread = float(np.max(np.ptp(np.array(means[-settings.settle_checks:]), axis=0),
                          initial=0.0))
    return bool(spread <= settings.settle_temp_k
                and res_velocity <= settings.settle_velocity), spread


def _mean_port_pressure(record, rec, p_record, current, from_record: bool):
    """The ports' mean static pressure [Pa], shape ``(2, devices)``
    (``budget.port_pressures_pa``), over the samples of the flow the answer is: the
    record's windows from the first of the batches its mean flow uses
    (``FlowRecord.mean_flow``), or, without a record, ``current``: the samples since
    the last window ended, else that window's. ``None`` without samples."""
    parts = p_record
    if from_record and p_record:
        _, first = record.start_batch(rec["start"])
        parts = p_record[first:] or p_record[-1:]
    else:
        parts = [current] if current[1] else p_record[-1:]
    n = sum(c for _, c in parts)
    if not n:
        return None
    return sum(x for x, _ in parts) / n


def window_s(solver) -> float:
    """Averaging window: the time a jet at the fastest port speed takes to cross the box."""
    g = solver.problem.grid
    U = max([float(np.max(solver.pf_speed_h))] if len(solver.pf_speed_h) else [0.0])
    U = max(U, stages.velocity_scale(solver))
    return max(g.size_m) / U


def window_heat_tol_k(solver) -> float:
    """Stopping change of a window-end heat solve [K]: a tenth of ``tol_temp_k``, or the
    final solve's own where that is looser. The window means it gives are judged
    against ``tol_temp_k``; the final answer gets the full solve (``finish_energy``'s
    default). Measured 2026-12-06 on the small hall at 0.2 m (8 windows, float32),
    against a solve to 1e-3 K: stopping at 5e-3 K took 9-20 defect-correction
    iterations, intake means within 1.5e-4 K; at 2e-2 K 6-15 iterations, within
    1.1e-3 K (fields within 0.03 K); at 5e-2 K 5-12 iterations, within 2.7e-3 K."""
    return max(solver.settings.tol_temp_k / 10.0, solver._heat_tol_k())


#: The normalised residuals of a steady solve, in the order of ``history_normalized``.
RESIDUALS = ("continuity", "u", "v", "w", "energy")


def normalized_residuals(solver, comp, T_now, T_prev, span_s, fluid, L, U) -> dict:
    """The residuals a CFD engineer reads, each scaled to be dimensionless (in the spirit
    of the scaled residuals of commercial finite-volume codes, for a pseudo-time march):

    * ``continuity``: the largest mass imbalance the last step's pressure left before the
      projection (``|div u* - lap phi|``) times ``L / U``; it falls to the projection's
      tolerance (``pressure_tol``) and stays near it, since each projection stops there;
    * ``u``, ``v``, ``w``: the RMS change of each velocity component per unit time since
      the last check (``comp``, m/s2), times ``L / U^2`` (as :func:`steady_residual`);
    * ``energy``: the RMS change of the fluid temperature per unit time, times ``L / (U
      dT)`` with ``dT`` the spread of the fluid temperatures (at least 1 K).

    ``L`` is the smallest box side, ``U`` the largest face speed. Each tends to 0 at a
    steady state; a flow that keeps oscillating holds them at a plateau."""
    d = (T_now - T_prev)[fluid]
    Tf = T_now[fluid]
    spread = max(float(Tf.max() - Tf.min()) if Tf.size else 0.0, 1.0)
    rms_T = float(np.sqrt(np.mean(d * d))) / span_s if d.size else 0.0
    vals = (float(solver.last_div0) * L / U,) + tuple(float(c) * L / U ** 2 for c in comp) + (
        rms_T * L / (U * spread),)
    return dict(zip(RESIDUALS, vals))


def steady_residual(rms_rate_m_s2, length_m, speed_m_s):
    """Rule 1's residual: the RMS velocity change per unit time scaled by ``L / U^2``."""
    return rms_rate_m_s2 * length_m / (speed_m_s * speed_m_s)
