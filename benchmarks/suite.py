"""The benchmark program: kernels alone, solver steps, scaling, steady state, ratios.

:func:`run` returns one JSON-ready dict (see ``benchmarks/README`` in the module docstring
of :mod:`benchmarks.__main__` for the keys); :mod:`benchmarks.report` writes it out.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from kernels import reference as ref
from kernels.solver import SolverSettings

from . import counts
from .cases import shipped_hall, synthetic_room
from .targets import (Target, cpu_threads, gpu_pool_bytes, host_available_bytes,
                      host_resident_bytes, make_target, reference_kernels, set_cpu_threads,
                      solver_kernels, time_solver_stages, traced_peak)

#: The NumPy reference step's pressure solve: the solver's default preconditioner, so that
#: both do the same CG work (``tests/unit/test_benchmarks.py``).
_REF_PRESSURE = ("multigrid" if SolverSettings().pressure_preconditioner == "multigrid"
                 else "pcg")

KERNEL_ORDER = ("predict_velocity_u", "predict_velocity_v", "predict_velocity_w",
                "temperature_step", "update_nut", "divergence", "laplacian",
                "correct_velocity_u", "correct_velocity_v", "correct_velocity_w",
                "cg_update_xr", "cg_update_p", "dot", "max_abs", "precondition")


@dataclass
class Options:
    backends: tuple = ("numba-cpu", "numpy")
    sizes: tuple = (32, 64, 128)
    dtypes: tuple = ("float64", "float32")
    repeats: int = 5
    warmup: int = 2
    prep_steps: int = 5             # steps from rest before anything is timed
    hall_prep_steps: int = 600      # ... for the shipped hall: a developed flow, as a
                                    # steady solve spends most of its steps in
    quick: bool = False
    threads: int | None = None
    budget_s: float = 600.0         # per target, for the size ladder (and --grow)
    grow: bool = False              # go on past the last size (2x cells) while it fits
    max_size: int = 1024
    hall: str = "small-hall"
    hall_cell_m: float = 0.2
    steady: bool = True
    steady_dtype: str = "float32"
    steady_max_steps: int | None = None
    copy_mib: int = 256
    kernels: bool = True
    stage_steps: int = 3
    campus: bool = False            # a day of meshes/ulsan-campus.toml per backend
    campus_halls: tuple = (1, 24)   # campus of the first N halls, for each N
    campus_hours: float = 24.0
    campus_step_s: float = 3600.0
    campus_cell_m: float = 0.3
    campus_file: str | None = None  # default meshes/ulsan-campus.toml


@dataclass
class _Budget:
    limit_s: float
    spent_s: float = 0.0
    last: dict = field(default_factory=dict)     # cells, seconds of the last size run

    def allows(self, cells: int) -> tuple[bool, str]:
        if not self.last:
            return True, ""
        guess = self.last["seconds"] * (cells / self.last["cells"]) ** 1.1
        if self.spent_s + guess > self.limit_s:
            return False, (f"time budget: about {guess:.0f} s more would pass the "
                           f"{self.limit_s:.0f} s budget ({self.spent_s:.0f} s spent)")
        return True, ""


def _say(log, msg):
    if log is not None:
        log(msg)


def _targets(opts: Options, log):
    from common.errors import BackendUnavailable
    out, skipped = [], []
    for name in opts.backends:
        dtypes = ("float64",) if name == "numpy" else opts.dtypes
        for dt in dtypes:
            try:
                out.append(make_target(name, dt))
            except (BackendUnavailable, ImportError) as exc:
                skipped.append({"backend": name, "dtype": dt, "reason": str(exc)})
                _say(log, f"skip {name}: {exc}")
                break
    return out, skipped


def _fits(target: Target, problem, peak_per_cell: float | None) -> tuple[bool, str]:
    """Whether a solve (and the benchmark's four scratch fields) fits the target's memory."""
    g = problem.grid
    if target.name == "numpy":
        need = g.cells * (peak_per_cell or 600.0)
        free = host_available_bytes()
        if need > 0.7 * free:
            return False, (f"memory: about {need / 2**30:.1f} GiB needed, "
                           f"{free / 2**30:.1f} GiB free")
        return True, ""
    from common.errors import MemoryLimitError
    from kernels.memory import check_fits
    try:
        est = check_fits(g, target.backend, target.dtype.itemsize, headroom=0.85)
    except MemoryLimitError as exc:
        return False, f"memory: {exc}"
    extra = 4 * g.cells * target.dtype.itemsize
    if est["device_bytes"] + extra > 0.85 * target.backend.memory_bytes:
        return False, "memory: the solve plus the benchmark's scratch fields would not fit"
    return True, ""


# ---------------------------------------------------------------------- shared start state
def _prepare_state(problem, targets, opts: Options, log, prep_steps=None):
    """A flow developed for a few steps from rest (float64 host arrays) and its ``dt``.

    Every target starts its timing from this state, so step timings (and the CG work
    in them) are comparable across backends.
    """
    from kernels.solver import Solver, SolverSettings
    names = {t.name for t in targets}
    # the fastest backend present prepares it (a GPU when there is one)
    backend = next((b for b in ("cupy", "numba-cuda") if b in names), "numba-cpu")
    if backend == "numba-cpu":
        set_cpu_threads(cpu_threads(problem.grid.cells, opts.threads), bool(opts.threads))
    t0 = time.perf_counter()
    s = Solver(problem, backend=backend, settings=SolverSettings(dtype="float64"))
    prep_steps = opts.prep_steps if prep_steps is None else prep_steps
    dt = s.compute_dt()
    for n in range(prep_steps):
        if n and n % 50 == 0:
            dt = s.compute_dt()          # the flow speeds up as it develops
        s.step(dt)
    dt = s.compute_dt()
    be = s.backend
    state = {k: be.to_host(getattr(s, k)).astype(np.float64) for k in ("u", "v", "w", "T", "phi")}
    _say(log, f"  start state: {prep_steps} steps from rest on {backend}, timed steps of "
              f"{dt:.3g} s ({time.perf_counter() - t0:.1f} s)")
    return state, float(dt)


def _load_state(solver, state):
    be = solver.backend
    for k in ("u", "v", "w", "T", "phi"):
        a = getattr(solver, k)
        a[...] = be.asarray(state[k].astype(solver.dtype))
    for a, b in ((solver.us, solver.u), (solver.vs, solver.v), (solver.ws, solver.w)):
        a[...] = b


# ---------------------------------------------------------------------- records
def _kernel_record(target: Target, case: str, problem, kernel: str, timing, threads):
    cells = problem.grid.cells
    rec = {"backend": target.name, "dtype": target.dtype.name, "case": case,
           "shape": list(problem.grid.shape), "cells": cells, "kernel": kernel,
           "timer": target.timer, "threads": threads, **timing.as_dict()}
    rec["cell_updates_per_s"] = cells / timing.median_s
    if kernel in counts.KERNEL_ARRAYS:
        b = counts.bytes_per_cell(kernel, target.dtype.itemsize)
        rec["bytes_per_cell"] = b
        rec["arrays"] = counts.describe(kernel)
        rec["effective_bandwidth_B_s"] = b * cells / timing.median_s
    else:
        rec["bytes_per_cell"] = None
        rec["effective_bandwidth_B_s"] = None
    return rec


def _run_kernels(target: Target, case, problem, state, dt, solver, opts, log, threads):
    if target.name == "numpy":
        params = ref.params_from_problem(problem)
        fns = reference_kernels(params, state, dt)
    else:
        fns = solver_kernels(solver)
    recs = []
    for name in KERNEL_ORDER:
        fn = fns.get(name)
        if fn is None:
            continue
        t = target.time(fn, opts.repeats, warmup=max(1, opts.warmup))
        rec = _kernel_record(target, case, problem, name, t, threads)
        recs.append(rec)
        bw = rec["effective_bandwidth_B_s"]
        _say(log, f"    {name:22s} {t.median_s * 1e3:10.3f} ms  "
                  f"{rec['cell_updates_per_s'] / 1e6:9.1f} Mcell/s"
                  + (f"  {bw / 1e9:7.2f} GB/s" if bw else ""))
    return recs


def _run_solver_steps(target: Target, case, problem, state, dt, opts, log, threads,
                      with_kernels):
    """Steps (and optionally kernels) of a Numba/CuPy target; returns (step, kernels)."""
    from kernels.solver import Solver, SolverSettings
    if target.is_gpu:
        import cupy
        cupy.get_default_memory_pool().free_all_blocks()
        pool0 = gpu_pool_bytes()
    t0 = time.perf_counter()
    solver = Solver(problem, backend=target.backend,
                    settings=SolverSettings(dtype=target.dtype.name))
    setup_s = time.perf_counter() - t0
    _load_state(solver, state)
    solver.dt = dt
    for _ in range(opts.warmup):
        solver.step(dt)
    _load_state(solver, state)
    iters = []

    def one():
        solver.step(dt)
        iters.append(solver.last_cg[0])
    t = target.time(one, opts.repeats, warmup=0)
    cells = problem.grid.cells
    cg = float(np.mean(iters)) if iters else 0.0
    rec = {"backend": target.name, "dtype": target.dtype.name, "case": case,
           "shape": list(problem.grid.shape), "cells": cells, "timer": target.timer,
           "threads": getattr(solver, "threads", None) or threads,
           "stencil_threads": getattr(solver, "stencil_threads", None),
           "setup_s": setup_s, "dt_s": dt, "cg_iterations": cg,
           "preconditioner": ("multigrid V-cycle" if getattr(solver, "mg", None) is not None
                              else "DCT + coarse space"
                              if getattr(solver, "coarse", None) is not None else "DCT"),
           **t.as_dict()}
    rec["cell_updates_per_s"] = cells / t.median_s
    b = counts.step_bytes_per_cell(target.dtype.itemsize, cg)
    rec["bytes_per_cell_counted"] = b
    rec["effective_bandwidth_B_s"] = b * cells / t.median_s
    if target.is_gpu:
        rec["memory_bytes_per_cell"] = (gpu_pool_bytes() - pool0) / cells
        rec["memory_kind"] = "cupy pool used bytes / cells"
    else:
        rec["memory_bytes_per_cell"] = host_resident_bytes(solver) / cells
        rec["memory_kind"] = "host arrays held by the solver / cells"
        rec["step_peak_temporary_bytes_per_cell"] = traced_peak(lambda: solver.step(dt)) / cells
    rec["stages_s"] = time_solver_stages(target, solver, dt, opts.stage_steps)
    _say(log, f"    step {t.median_s * 1e3:10.2f} ms  {rec['cell_updates_per_s'] / 1e6:8.2f} "
              f"Mcell/s  CG {cg:.1f} it  {rec['memory_bytes_per_cell']:.0f} B/cell")
    krecs = []
    if with_kernels:
        _load_state(solver, state)
        krecs = _run_kernels(target, case, problem, state, dt, solver, opts, log, threads)
    solver = None           # frees its arrays (the closures above share this name's cell)
    return rec, krecs


def _run_reference_steps(target: Target, case, problem, state, dt, opts, log, with_kernels):
    from kernels.solver import SolverSettings
    params = ref.params_from_problem(problem)
    # the same step as the solver's: its CG stopping rule (max |div u| <= pressure_tol U / L)
    tol = SolverSettings().pressure_tol
    st = dict(state)
    iters = []
    stage_acc: dict = {}

    def one():
        nonlocal st
        stage = {}
        st, info = ref.step(st, params, dt, pressure=_REF_PRESSURE, pressure_tol=tol,
                            timings=stage)
        iters.append(info["cg_iterations"])
        for k, v in stage.items():
            stage_acc.setdefault(k, []).append(v)
    for _ in range(max(0, min(opts.warmup, 1))):
        ref.step(state, params, dt, pressure=_REF_PRESSURE, pressure_tol=tol)
    t = target.time(one, opts.repeats, warmup=0)
    cells = problem.grid.cells
    cg = float(np.mean(iters)) if iters else 0.0
    rec = {"backend": "numpy", "dtype": "float64", "case": case,
           "shape": list(problem.grid.shape), "cells": cells, "timer": target.timer,
           "threads": None, "setup_s": 0.0, "dt_s": dt, "cg_iterations": cg,
           "preconditioner": "multigrid V-cycle" if _REF_PRESSURE == "multigrid" else "DCT",
           **t.as_dict()}
    rec["cell_updates_per_s"] = cells / t.median_s
    b = counts.step_bytes_per_cell(8, cg)
    rec["bytes_per_cell_counted"] = b
    rec["effective_bandwidth_B_s"] = b * cells / t.median_s
    resident = sum(a.nbytes for a in state.values()) + sum(
        a.nbytes for a in (params.solid, params.walldist) if a is not None)
    rec["memory_bytes_per_cell"] = resident / cells
    rec["memory_kind"] = "state + geometry arrays / cells"
    rec["step_peak_temporary_bytes_per_cell"] = traced_peak(
        lambda: ref.step(state, params, dt, pressure=_REF_PRESSURE, pressure_tol=tol)) / cells
    rec["stages_s"] = {k: float(np.median(v)) for k, v in stage_acc.items()}
    _say(log, f"    step {t.median_s * 1e3:10.2f} ms  {rec['cell_updates_per_s'] / 1e6:8.2f} "
              f"Mcell/s  CG {cg:.1f} it  "
              f"peak {rec['step_peak_temporary_bytes_per_cell']:.0f} B/cell")
    krecs = []
    if with_kernels:
        krecs = _run_kernels(target, case, problem, state, dt, None, opts, log, None)
    return rec, krecs


def _run_case(targets, case, problem, opts, log, results, budgets, peaks, with_kernels,
              prep_steps=None):
    """All targets on one problem, from ``prep_steps`` steps after rest (default
    ``opts.prep_steps``): returns how many targets ran."""
    runnable = []
    for t in targets:
        ok, why = _fits(t, problem, peaks.get(t.label))
        if ok and budgets is not None:
            ok, why = budgets[t.label].allows(problem.grid.cells)
        if not ok:
            results["skipped"].append({"backend": t.name, "dtype": t.dtype.name, "case": case,
                                       "reason": why})
            _say(log, f"  skip {t.label} on {case}: {why}")
            continue
        runnable.append(t)
    if not runnable:
        return 0
    _say(log, f"{case}: {problem.grid.shape} = {problem.grid.cells:,} cells")
    state, dt = _prepare_state(problem, runnable, opts, log, prep_steps)
    for t in runnable:
        t0 = time.perf_counter()
        threads = None
        if t.name == "numba-cpu":
            threads = cpu_threads(problem.grid.cells, opts.threads)
            set_cpu_threads(threads, bool(opts.threads))
        _say(log, f"  {t.label}" + (f" ({threads} threads)" if threads else ""))
        if t.name == "numpy":
            srec, krecs = _run_reference_steps(t, case, problem, state, dt, opts, log, with_kernels)
        else:
            srec, krecs = _run_solver_steps(t, case, problem, state, dt, opts, log, threads,
                                            with_kernels)
        results["steps"].append(srec)
        results["kernels"].extend(krecs)
        peaks[t.label] = srec.get("step_peak_temporary_bytes_per_cell", 0.0) + srec[
            "memory_bytes_per_cell"]
        if budgets is not None:
            spent = time.perf_counter() - t0
            budgets[t.label].spent_s += spent
            budgets[t.label].last = {"cells": problem.grid.cells, "seconds": spent}
    return len(runnable)


# ---------------------------------------------------------------------- steady state
def _run_steady(targets, problem, case, opts, log, results):
    from kernels.solver import Solver, SolverSettings
    numba_steps = None
    for t in targets:
        if t.name == "numpy":
            continue
        if t.dtype.name != opts.steady_dtype and any(
                x.name == t.name and x.dtype.name == opts.steady_dtype for x in targets):
            continue
        threads = None
        if t.name == "numba-cpu":
            threads = cpu_threads(problem.grid.cells, opts.threads)
            set_cpu_threads(threads, bool(opts.threads))
        _say(log, f"  steady state {t.label} on {case} ...")
        t0 = time.perf_counter()
        solver = Solver(problem, backend=t.backend, settings=SolverSettings(dtype=t.dtype.name))
        setup_s = time.perf_counter() - t0
        t.sync()
        t1 = time.perf_counter()
        res = solver.solve_steady(max_steps=opts.steady_max_steps)
        t.sync()
        wall = time.perf_counter() - t1
        cells = problem.grid.cells
        rec = {"backend": t.name, "dtype": t.dtype.name, "case": case,
               "shape": list(problem.grid.shape), "cells": cells, "threads": threads,
               "setup_s": setup_s, "wall_s": wall, "steps": int(res.iterations),
               "converged": bool(res.converged), "sim_time_s": float(res.sim_time_s),
               "mode": res.residuals.get("mode"), "max_steps": opts.steady_max_steps,
               "energy_imbalance": res.residuals.get("energy_imbalance"),
               "velocity_residual": res.residuals.get("velocity"),
               "timer": "perf_counter (host, synchronised)"}
        rec["cell_updates_per_s"] = cells * res.iterations / wall if wall > 0 else None
        rec["seconds_per_step"] = wall / max(res.iterations, 1)
        results["steady"].append(rec)
        if t.name == "numba-cpu":
            numba_steps = res.iterations
        mode = "" if rec["mode"] in ("steady", "not converged") else f" ({rec['mode']})"
        _say(log, f"    {'converged' if res.converged else 'NOT converged'}{mode} "
                  f"in {res.iterations} steps, {wall:.1f} s "
                  f"({rec['cell_updates_per_s'] / 1e6:.2f} Mcell/s)")
    # the NumPy reference: estimated from its step time on the same hall
    np_step = [s for s in results["steps"] if s["backend"] == "numpy" and s["case"] == case]
    if np_step and numba_steps:
        est = np_step[0]["median_s"] * numba_steps
        results["steady"].append({
            "backend": "numpy", "dtype": "float64", "case": case,
            "shape": list(problem.grid.shape), "cells": problem.grid.cells,
            "estimated": True, "steps": int(numba_steps), "wall_s": est,
            "note": "not run: the NumPy step time on this hall times the Numba CPU step count"})
        _say(log, f"    numpy (estimated): {est:.0f} s for {numba_steps} steps")


# ---------------------------------------------------------------------- summaries
def scaling_summary(steps: list) -> dict:
    """Per target: step time against cells on the synthetic rooms, and the growth exponent
    ``p`` in ``time ~ cells^p`` between consecutive sizes and over all of them."""
    out = {}
    for rec in steps:
        if not rec["case"].startswith("synthetic-room"):
            continue
        key = f"{rec['backend']}/{rec['dtype']}"
        out.setdefault(key, {"points": []})["points"].append(
            {"n": rec["shape"][0], "cells": rec["cells"], "step_s": rec["median_s"],
             "ns_per_cell": rec["median_s"] / rec["cells"] * 1e9,
             "cg_iterations": rec["cg_iterations"]})
    for key, d in out.items():
        pts = sorted(d["points"], key=lambda p: p["cells"])
        d["points"] = pts
        d["exponents"] = [
            math.log(b["step_s"] / a["step_s"]) / math.log(b["cells"] / a["cells"])
            for a, b in zip(pts, pts[1:])]
        if len(pts) >= 2:
            x = np.log([p["cells"] for p in pts])
            y = np.log([p["step_s"] for p in pts])
            d["exponent_fit"] = float(np.polyfit(x, y, 1)[0])
        else:
            d["exponent_fit"] = None
        d["largest_cells"] = pts[-1]["cells"] if pts else 0
    return out


def ratios(steps: list) -> list:
    """NumPy reference step time over the Numba CPU step time, per case and dtype.

    ``explicit_stages`` compares everything but the projection (the pressure solvers
    differ: the reference uses the DCT preconditioner alone, the solver adds a coarse space).
    """
    out = []
    by = {}
    for r in steps:
        by.setdefault(r["case"], []).append(r)
    for case, recs in by.items():
        npy = [r for r in recs if r["backend"] == "numpy"]
        if not npy:
            continue
        npy = npy[0]
        for r in recs:
            if r["backend"] != "numba-cpu":
                continue
            st_n, st_r = npy.get("stages_s", {}), r.get("stages_s", {})
            expl_n = sum(v for k, v in st_n.items() if k not in ("project", "velocity_scale"))
            expl_r = sum(v for k, v in st_r.items() if k != "project")
            out.append({
                "case": case, "cells": r["cells"], "numba_dtype": r["dtype"],
                "numpy_step_s": npy["median_s"], "numba_step_s": r["median_s"],
                "step_ratio": npy["median_s"] / r["median_s"],
                "step_ratio_of_minima": npy["min_s"] / r["min_s"],
                "numpy_cg_iterations": npy["cg_iterations"],
                "numba_cg_iterations": r["cg_iterations"],
                "explicit_stages_ratio": (expl_n / expl_r) if expl_r > 0 else None,
                "projection_ratio": (st_n.get("project", 0.0) / st_r["project"])
                if st_r.get("project") else None,
                "target_10x_met": npy["median_s"] / r["median_s"] >= 10.0,
            })
    return out


def attach_fractions(results: dict):
    """Effective bandwidth as a fraction of the same run's copy bandwidth."""
    for key in ("kernels", "steps"):
        for rec in results[key]:
            cb = results["copy_bandwidth"].get("gpu" if rec["backend"] in ("numba-cuda", "cupy")
                                               else "cpu")
            bw = rec.get("effective_bandwidth_B_s")
            rec["copy_fraction"] = (bw / cb["bandwidth_B_s"]) if (bw and cb) else None


# ---------------------------------------------------------------------- the program
def run(opts: Options, log=print) -> dict:
    from .report import metadata
    results = {"schema": "dc-twin-benchmarks/1", "meta": metadata(opts),
               "copy_bandwidth": {}, "kernels": [], "steps": [], "steady": [],
               "scaling": {}, "ratios": [], "skipped": [], "notes": []}
    targets, skipped = _targets(opts, log)
    results["skipped"].extend(skipped)
    results["targets"] = [{"backend": t.name, "dtype": t.dtype.name, "device": t.device_name(),
                           "timer": t.timer, **{k: v for k, v in t.info.items() if k != "device"}}
                          for t in targets]
    if not targets:
        results["notes"].append("no backend could run")
        return results
    # copy bandwidth of each device, measured in this run
    cpu_t = next((t for t in targets if not t.is_gpu), None)
    gpu_t = next((t for t in targets if t.is_gpu), None)
    copy_bytes = (1 << 20) * (16 if opts.quick else opts.copy_mib)
    copy_reps = 3 if opts.quick else max(5, opts.repeats)
    if cpu_t is not None:
        if any(t.name == "numba-cpu" for t in targets):
            set_cpu_threads(cpu_threads(1 << 30, opts.threads), bool(opts.threads))
            cpu_t = next(t for t in targets if t.name == "numba-cpu")
        results["copy_bandwidth"]["cpu"] = cpu_t.copy_bandwidth(copy_bytes, copy_reps)
        _say(log, f"copy bandwidth (cpu): "
                  f"{results['copy_bandwidth']['cpu']['bandwidth_B_s'] / 1e9:.2f} GB/s")
    if gpu_t is not None:
        results["copy_bandwidth"]["gpu"] = gpu_t.copy_bandwidth(
            (1 << 20) * (64 if opts.quick else 2048), copy_reps)
        _say(log, f"copy bandwidth (gpu): "
                  f"{results['copy_bandwidth']['gpu']['bandwidth_B_s'] / 1e9:.1f} GB/s")

    # kernels and steps on the synthetic rooms, ascending sizes (and beyond with grow)
    budgets = {t.label: _Budget(opts.budget_s) for t in targets}
    peaks: dict = {}
    sizes = sorted(set(int(n) for n in opts.sizes))
    i = 0
    while i < len(sizes):
        n = sizes[i]
        problem = synthetic_room(n)
        ran = _run_case(targets, f"synthetic-room-{n}", problem, opts, log, results, budgets,
                        peaks, opts.kernels)
        if ran == 0:
            break
        if opts.grow and i == len(sizes) - 1 and ran:
            nxt = int(round(n * 2 ** (1 / 3) / 8.0)) * 8
            if nxt <= opts.max_size:
                sizes.append(max(nxt, n + 8))
        i += 1

    # a shipped hall: steps on every target, then steady state
    hall, why = shipped_hall(opts.hall, opts.hall_cell_m)
    if hall is None:
        results["notes"].append(f"shipped hall not benchmarked: {why}")
        n = 16 if opts.quick else 48
        hall = synthetic_room(n)
        case = f"synthetic-room-{n} (hall stand-in)"
    else:
        case = f"{opts.hall}@{opts.hall_cell_m:g}m"
        results["notes"].append(f"hall case: {why}")
    results["notes"].append(
        f"hall steps timed from a developed flow, {opts.hall_prep_steps} steps after rest (a "
        f"steady solve spends most of its steps there: few CG iterations per step); the "
        f"synthetic rooms from {opts.prep_steps} steps after rest")
    _run_case(targets, case, hall, opts, log, results, None, peaks, False,
              prep_steps=opts.hall_prep_steps)
    if opts.steady:
        _run_steady(targets, hall, case, opts, log, results)

    if opts.campus:
        from .campus import run_campus_day
        results["campus_day"] = run_campus_day(targets, opts, log)
    else:
        results["campus_day"] = {"status": "not run", "reason": "not asked for (--campus)"}
    attach_fractions(results)
    results["scaling"] = scaling_summary(results["steps"])
    results["ratios"] = ratios(results["steps"])
    results["meta"]["load_average_end"] = list(os.getloadavg())
    results["meta"]["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        import numba
        results["meta"]["numba_threading_layer"] = numba.threading_layer()
    except Exception:
        pass
    return results
