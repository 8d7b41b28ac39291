"""Where the twin and an OpenFOAM reference differ, region by region (issue 23's question).

The cross-check (``crosscheck.py``) compares rack intake means; this module looks behind
them, on one case whose OpenFOAM folder is still on disk (``python -m benchmarks.validation
run CASE`` leaves it in ``--work``):

* **intake profiles**: each rack's intake temperature by cell layer, twin and reference,
  so a miss can be placed at the top of the rack (air over the row), the bottom (the
  floor jet) or everywhere (the aisle's mixing);
* **eddy viscosity in front of the intakes** (``intake_region``: the cells within a few
  cells of every rack intake, the cold aisles), layer by layer: how much turbulent mixing
  each closure puts where the recirculated air meets the supply;
* **steady answer or time average**: the twin's answer is the heat equation solved at the
  record-mean flow (``kernels.steady``); the reference of an unsteady hall is the time
  average of its temperature, which also carries the heat moved by the flow's swings.
  With ``average_s`` the twin also answers with the time mean of its temperature
  (:func:`kernels.time_mean.time_mean_answer`): the steady and the averaged intakes are
  both reported, and the temperature layers compare the averaged fields.

The reference's eddy viscosity is the last time step's (OpenFOAM does not average ``nut``);
its temperature and velocity are the averaged fields the cross-check reads.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import numpy as np

from .foamcase import fluid_labels, port_faces

__all__ = ["intake_region", "layer_means", "intake_profile", "read_foam_scalar", "diagnose",
           "report_lines"]


def intake_region(problem, depth: int = 3) -> np.ndarray:
    """Fluid cells within ``depth`` cells in front of any rack intake face (bool mask).

    A port's face is on side ``side`` of its cell along ``axis`` (the device body lies
    that way), so the room in front of it lies the other way: the port cell and the
    ``depth - 1`` cells beyond it, stopping at the first solid cell."""
    g = problem.grid
    fluid = problem.fluid_mask
    mask = np.zeros(g.shape, bool)
    for dev in problem.racks:
        cells, axes, sides = port_faces(dev.intake)
        for c, a, s in zip(cells, axes, sides):
            p = np.array(c)
            for _ in range(depth):
                if not (0 <= p[a] < g.shape[a]) or not fluid[tuple(p)]:
                    break
                mask[tuple(p)] = True
                p[a] -= s
    return mask


def layer_means(field: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``field`` over ``mask`` in each cell layer along z (NaN where empty or NaN)."""
    out = np.full(field.shape[2], np.nan)
    for k in range(field.shape[2]):
        v = field[:, :, k][mask[:, :, k]]
        v = v[np.isfinite(v)]
        if v.size:
            out[k] = float(v.mean())
    return out


def intake_profile(problem, T: np.ndarray, rack) -> dict[int, float]:
    """A rack's intake temperature by cell layer: ``{k: flow-weighted mean}`` [degC]."""
    from .foamcase import face_fractions
    cells, _, _ = port_faces(rack.intake)
    w = face_fractions(rack.intake, problem.grid)
    t = T[cells[:, 0], cells[:, 1], cells[:, 2]]
    out = {}
    for k in np.unique(cells[:, 2]):
        sel = cells[:, 2] == k
        out[int(k)] = float((w[sel] @ t[sel]) / w[sel].sum())
    return out


def read_foam_scalar(path, problem, name: str) -> np.ndarray:
    """A scalar cell field of the latest time folder of an OpenFOAM case on the twin's grid
    (NaN in solid cells)."""
    from .openfoam import _latest_time, _read_internal
    g = problem.grid
    labels = fluid_labels(problem)
    ijk = np.stack(np.unravel_index(labels, g.shape, order="F"), axis=1)
    out = np.full(g.shape, np.nan)
    out[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = _read_internal(_latest_time(Path(path)) / name,
                                                          len(labels))
    return out


def diagnose(case, work_dir, model: str | None = None, average_s: float = 0.0,
             depth: int = 3, max_steps: int | None = None, progress=None) -> dict:
    """Solve ``case`` with the twin (``model``: its turbulence closure, default the case's;
    ``max_steps``: the steady solve's cap, default the solver's) and compare it with the
    OpenFOAM answer in ``work_dir/<case>``, region by region."""
    from kernels.solver import SolverSettings
    from twin.thermal.steady import steady_solve

    from . import openfoam
    from .crosscheck import case_problem

    prob = partial(case_problem, case, model)
    problem = prob()
    path = Path(work_dir) / case.name
    ref = openfoam.read_case(path, problem)
    t0, c0 = time.perf_counter(), time.process_time()
    settings = SolverSettings(max_steps=max_steps) if max_steps else SolverSettings()
    solver, run, _ = steady_solve(problem, prob, case.cell_m, backend="numba-cpu",
                                  settings=settings, coarse_start=True)
    h = solver.backend.to_host
    names = [d.name for d in problem.racks]

    def intakes():
        reps = {r["name"]: r for r in solver.device_report()}
        return np.array([reps[n]["intake_temp_c"] for n in names])

    steady = intakes()
    T_twin = h(solver.T).astype(np.float64)
    nut_twin = np.where(problem.fluid_mask, h(solver.nut).astype(np.float64), np.nan)
    out = {"case": case.name, "model": problem.turbulence.model,
           "iterations": int(run.iterations), "converged": bool(run.converged),
           "racks": names, "reference": np.array([r["intake_temp_c"] for r in ref["racks"]]),
           "steady": steady}
    if average_s > 0:
        from kernels.time_mean import time_mean_answer
        tm = time_mean_answer(solver, average_s, progress=None if progress is None else (
            lambda n, i: n % 1000 == 0 and progress(
                f"{case.name}: averaged {i['time_s']:.0f} s of {average_s:g} s")))
        ix = [[d.name for d in solver.devices].index(n) for n in names]
        out.update(time_mean=intakes(), swing=tm["swing_k"][ix], average_s=average_s)
        T_twin = h(solver.T).astype(np.float64)
    out["wall_s"], out["cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    region = intake_region(problem, depth)
    nut_ref = read_foam_scalar(path, problem, "nut")
    out["depth"] = depth
    out["nut_layers"] = np.stack([layer_means(nut_twin, region), layer_means(nut_ref, region)])
    out["T_layers"] = np.stack([layer_means(T_twin, region), layer_means(ref["T"], region)])
    out["profiles"] = {d.name: (intake_profile(problem, T_twin, d),
                                intake_profile(problem, ref["T"], d)) for d in problem.racks}
    return out


def _rms(x) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def report_lines(d: dict) -> list[str]:
    """A Markdown section of one diagnosis."""
    ref, st = d["reference"], d["steady"]
    settled = "settled" if d["converged"] else "not settled"
    lines = [f"## {d['case']}, twin {d['model']}", "",
             f"Twin: {d['iterations']:,} iterations ({settled}), {d['cpu_s']:.0f} s CPU, "
             f"{d['wall_s']:.0f} s wall"
             + (f", then {d['average_s']:g} s of real time averaged." if "time_mean" in d else "."),
             ""]
    head = "| rack | OpenFOAM [degC] | twin steady - ref [K] |"
    rule = "|---|---|---|"
    if "time_mean" in d:
        head += " twin time mean - ref [K] | twin swing [K] |"
        rule += "---|---|"
    lines += [head, rule]
    for i, n in enumerate(d["racks"]):
        row = f"| {n} | {ref[i]:.2f} | {st[i] - ref[i]:+.2f} |"
        if "time_mean" in d:
            row += f" {d['time_mean'][i] - ref[i]:+.2f} | {d['swing'][i]:.2f} |"
        lines.append(row)
    rms = f"| RMS | | {_rms(st - ref):.2f} |"
    if "time_mean" in d:
        rms += f" {_rms(d['time_mean'] - ref):.2f} | |"
    lines += [rms, ""]
    nut, tl = d["nut_layers"], d["T_layers"]
    lines += [f"In front of the intakes (cells within {d['depth']} cells of a rack intake), "
              "by cell layer (k = 0 at the floor of the box):", "",
              "| k | nu_t twin [m2/s] | nu_t OpenFOAM [m2/s] | T twin [degC] | T OpenFOAM [degC] |",
              "|---|---|---|---|---|"]
    for k in range(nut.shape[1]):
        if np.isfinite(nut[0, k]) or np.isfinite(nut[1, k]):
            lines.append(f"| {k} | {nut[0, k]:.4f} | {nut[1, k]:.4f} | {tl[0, k]:.2f} | "
                         f"{tl[1, k]:.2f} |")
    worst = int(np.argmax(np.abs(st - ref)))
    name = d["racks"][worst]
    tw, of = d["profiles"][name]
    lines += ["", f"Intake by layer of the worst rack, {name} (twin steady / OpenFOAM):", "",
              "| k | twin [degC] | OpenFOAM [degC] |", "|---|---|---|"]
    lines += [f"| {k} | {tw[k]:.2f} | {of[k]:.2f} |" for k in sorted(tw)]
    return lines + [""]
