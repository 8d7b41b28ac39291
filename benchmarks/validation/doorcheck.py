"""The reference's door model in isolation: a channel with one loss plane at a known flow.

    python -m benchmarks.validation.doorcheck [--work DIR] [--cell-m 0.2] [--speed 0.2]

A straight duct (``length_m`` x ``width_m`` x ``width_m``, adiabatic walls, one
temperature, so no buoyancy) carries a prescribed flow: a supply over its whole ``x = 0``
end and a return of the same flow over its ``x = L`` end (a "cooler" device whose two
ports are the duct's ends). Half-way along, every face of the cross-section is a loss
face with ``k_loss`` (the slab-ceiling hall's door: 2 % leak, ``k`` 7,070). The twin's
loss is ``dp = k rho u^2 / 2`` on the face, ``u`` the face-normal velocity
(:class:`kernels.problem.Resistance`); OpenFOAM's is stated as a one-cell Forchheimer
zone (``resistances="zone"``) or a baffle with a pressure jump (``"baffle"``), see
:mod:`benchmarks.validation.foamcase`. Each is run with ``buoyantBoussinesqSimpleFoam``
for ``iterations`` SIMPLE iterations (or ``buoyantBoussinesqPimpleFoam`` for
``transient_s`` seconds, the references' transient) and the pressure drop across the door
is read off the cross-section means of ``p_rgh``: a straight line is fitted to each side's
developed part (``fit_cells`` cells, ``gap_cells`` away from the door) and both are
extrapolated to the door plane, so the duct's own friction is not counted.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from kernels.grid import Grid
from kernels.problem import Device, Port, Problem, Resistance
from twin.facility.schema import Containment, idelchik_perforated_plate_k

from .foamcase import RESISTANCE_TREATMENTS

#: The slab-ceiling hall's door: the facility format's default leak (2 % open area) through
#: the loss model the mesh gives a door (``twin.thermal.mesh``: Idelchik's thin plate),
#: ``k`` about 7,070.
DOOR_K_LOSS = idelchik_perforated_plate_k(
    Containment.model_fields["door_leakage_frac"].default)


def door_channel(cell_m: float = 0.2, speed_m_s: float = 0.2, k_loss: float = DOOR_K_LOSS,
                 length_m: float = 8.0, width_m: float = 1.2) -> Problem:
    """The duct with its door plane at ``x = length_m / 2`` and ``speed_m_s`` through it."""
    g = Grid.from_size((length_m, width_m, width_m), cell_m)
    nx, ny, nz = g.shape
    solid = np.zeros(g.shape, np.uint8)
    jj, kk = np.meshgrid(range(ny), range(nz), indexing="ij")
    jk = np.stack([jj.ravel(), kk.ravel()], 1)
    col = np.ones((len(jk), 1), np.int64)
    supply = Port(np.hstack([0 * col, jk]), axis=0, side=-1)
    ret = Port(np.hstack([(nx - 1) * col, jk]), axis=0, side=+1)
    door = Resistance("door", np.hstack([(nx // 2) * col, jk]), axis=0, k_loss=k_loss)
    flow = speed_m_s * width_m * width_m
    return Problem(grid=g, solid=solid, name="door-channel", resistances=(door,),
                   devices=(Device("duct", "cooler", ret, supply, flow, supply_temp_c=20.0),))


def door_drop(p_rgh_cells: np.ndarray, problem: Problem, fit_cells: int = 6,
              gap_cells: int = 2) -> dict:
    """The jump of the cross-section mean of ``p_rgh`` (kinematic, m2/s2, in the twin's
    cell layout) at the door plane, from straight lines fitted on either side."""
    g = problem.grid
    dx = g.spacing_m[0]
    i_door = int(problem.resistances[0].faces[0, 0])       # the face below cell i_door
    p = np.nanmean(p_rgh_cells, axis=(1, 2))
    x = (np.arange(g.shape[0]) + 0.5) * dx
    x_door = i_door * dx
    up = np.arange(i_door - gap_cells - fit_cells, i_door - gap_cells)
    dn = np.arange(i_door + gap_cells, i_door + gap_cells + fit_cells)
    fu, fd = np.polyfit(x[up], p[up], 1), np.polyfit(x[dn], p[dn], 1)
    drop = float(np.polyval(fu, x_door) - np.polyval(fd, x_door))
    near = {int(i): float(p[i]) for i in range(i_door - 3, i_door + 3)}
    return {"drop_m2_s2": drop, "friction_gradient_m_s2": [-float(fu[0]), -float(fd[0])],
            "profile_near_door": near}


def door_sides(problem: Problem, T: np.ndarray, depth_cells: int = 3) -> list[dict]:
    """The mean temperature of the cell layers on either side of each loss plane (a
    field on the twin's grid, NaN in solid cells): ``low[m]`` is the layer ``m + 1``
    cells below the faces along the axis, ``high[m]`` the layer ``m`` cells above
    (``high[0]`` touches the faces from above), over the faces' extent."""
    out = []
    for res in problem.resistances:
        f, a = np.asarray(res.faces, np.int64), res.axis
        low, high = [], []
        for m in range(depth_cells):
            for sign, lst in ((-(m + 1), low), (m, high)):
                c = f.copy()
                c[:, a] += sign
                ok = (c[:, a] >= 0) & (c[:, a] < problem.grid.shape[a])
                lst.append(float(np.nanmean(T[c[ok, 0], c[ok, 1], c[ok, 2]])) if ok.any()
                           else float("nan"))
        out.append({"name": res.name, "axis": a, "low_c": low, "high_c": high})
    return out


def run_check(work: Path, cell_m: float, speed_m_s: float, treatment: str,
              iterations: int = 400, k_loss: float = DOOR_K_LOSS,
              transient_s: float | None = None) -> dict:
    """Write, run (serially) and read one duct; its door's drop against the twin's.
    ``transient_s``: march the PIMPLE transient of the references (Courant number 4)
    that many seconds instead of SIMPLE, and read the last time."""
    from .foamcase import Transient, fluid_labels, write_case
    from .openfoam import _latest_time, _log_figures, _monitor_means, _read_internal, run_case
    prob = door_channel(cell_m, speed_m_s, k_loss)
    tag = f"-pimple{transient_s:g}s" if transient_s else ""
    path = Path(work) / f"door-{treatment}-{cell_m:g}m-{speed_m_s:g}ms-k{k_loss:g}{tag}"
    transient = (Transient(end_time_s=transient_s, average_from_s=transient_s / 2,
                           max_courant=4.0) if transient_s else None)
    write_case(prob, path, max_iterations=iterations, average_from=iterations // 2,
               resistances=treatment, stop_tol_k=1e9, transient=transient)
    c0 = time.process_time()
    twin = prob.resistances[0].k_loss * speed_m_s ** 2 / 2.0
    base = {"treatment": treatment, "cell_m": cell_m, "speed_m_s": speed_m_s,
            "solver": "PIMPLE" if transient_s else "SIMPLE", "end_time_s": transient_s,
            "k_loss": prob.resistances[0].k_loss, "twin_drop_m2_s2": twin,
            "twin_drop_pa": twin * prob.fluid.density_kg_m3,
            "prescribed_flow_m3_s": prob.devices[0].flow_m3_s}
    try:
        info = run_case(path, poll_s=2.0)
    except RuntimeError:
        # a floating-point exception: the run diverged (an explicit baffle jump)
        fig = _log_figures(path / "log.solver")
        return {**base, "diverged": True, "iterations": fig["iterations"],
                "final_initial_residuals": fig["final_initial_residuals"]}
    nfl = int(prob.fluid_mask.sum())
    g = prob.grid
    ijk = np.stack(np.unravel_index(fluid_labels(prob), g.shape, order="F"), axis=1)
    cells = np.full(g.shape, np.nan)
    cells[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = _read_internal(_latest_time(path) / "p_rgh", nfl)
    res = door_drop(cells, prob)
    flows = _monitor_means(path, "loss_")
    flow = float(next(iter(flows.values()))[-1, 1]) if flows else float("nan")
    fig = _log_figures(path / "log.solver")
    return {**base, "diverged": False, "iterations": fig["iterations"],
            "final_initial_residuals": fig["final_initial_residuals"],
            "door_flow_m3_s": flow, **res, "ratio_to_twin": res["drop_m2_s2"] / twin,
            "solver_cpu_s": info["solver_cpu_s"], "python_cpu_s": time.process_time() - c0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.validation.doorcheck")
    ap.add_argument("--work", type=Path, default=Path("/tmp/dc-twin-doorcheck"))
    ap.add_argument("--cell-m", type=float, action="append")
    ap.add_argument("--speed", type=float, action="append")
    ap.add_argument("--iterations", type=int, default=400)
    ap.add_argument("--treatment", action="append", choices=RESISTANCE_TREATMENTS,
                    help="the door models to run (default all)")
    ap.add_argument("--k-loss", type=float, default=None,
                    help="the door's loss coefficient (default the hall's 7,070)")
    ap.add_argument("--transient-s", type=float, default=None,
                    help="march the references' PIMPLE transient this long instead")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    a = ap.parse_args(argv)
    rows = []
    for cell in a.cell_m or [0.2]:
        for speed in a.speed or [0.2]:
            for treatment in a.treatment or RESISTANCE_TREATMENTS:
                r = run_check(a.work, cell, speed, treatment, a.iterations,
                              a.k_loss or DOOR_K_LOSS, a.transient_s)
                rows.append(r)
                if r["diverged"]:
                    print(f"{treatment:6s} {cell:4.2f} m {speed:5.2f} m/s k {r['k_loss']:g}: "
                          f"diverged after {r['iterations']} iterations", flush=True)
                    continue
                print(f"{treatment:6s} {cell:4.2f} m {speed:5.2f} m/s k {r['k_loss']:g}: drop "
                      f"{r['drop_m2_s2']:8.2f} m2/s2 (twin {r['twin_drop_m2_s2']:8.2f}, "
                      f"ratio {r['ratio_to_twin']:.3f}), door flow {r['door_flow_m3_s']:.4f} "
                      f"of {r['prescribed_flow_m3_s']:.4f} m3/s, {r['iterations']} it, "
                      f"residual p_rgh {r['final_initial_residuals'].get('p_rgh', 0):.1e}, "
                      f"cpu {r['solver_cpu_s']:.1f} s", flush=True)
    if a.out:
        a.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
