"""Does the reference hold the losses it was given? The pressure difference across each
loss face group (tiles, door leaks) and the flow its loss coefficient passes at it.

A one-cell Forchheimer zone, for instance, keeps 0.1 % of a door's pressure drop in a duct
(``benchmarks/results/slab-ceiling-doors-2026-12-07.md``), and a 4-cell zone still leaks
in a hall (``benchmarks/results/door-leaks-2026-12-07.md``). Every reference read
(:func:`benchmarks.validation.openfoam.read_case`) stores these figures beside the
monitored flow; ``tests/verification/test_crosscheck.py`` compares them.
"""
from __future__ import annotations

import numpy as np

from kernels.problem import Problem

#: Cells from a loss face at which its pressure difference is read: beyond the widest
#: spread zone (``zone4``: two cells each side), on both sides.
LOSS_DP_OFFSET_CELLS = 3


def loss_pressure_differences(P: np.ndarray, problem: Problem) -> dict:
    """``{resistance name: {"dp_m2_s2", "loss_flow_m3_s"}}`` for the cell pressure field
    ``P`` on the problem's grid (NaN in solid cells).

    ``dp_m2_s2``: the mean over the group's faces of ``P`` in the cell
    :data:`LOSS_DP_OFFSET_CELLS` upstream minus the one as far downstream along +axis
    (OpenFOAM's kinematic ``p_rgh``, ``p / rho`` less the hydrostatic part).
    ``loss_flow_m3_s``: ``sign(dp) A sqrt(2 |dp| / k)``, the flow that the twin's loss
    ``k rho v^2 / 2 = rho dp`` passes through the group's area ``A``. A group whose cells
    that far out lie outside the box or in solids is left out."""
    g = problem.grid
    out = {}
    d = LOSS_DP_OFFSET_CELLS
    for res in problem.resistances:
        a, faces = res.axis, res.faces
        up, down = faces.copy(), faces.copy()
        up[:, a] -= d                        # face i lies between cells i - 1 and i
        down[:, a] += d - 1
        ok = (up[:, a] >= 0) & (down[:, a] < g.shape[a])
        if not ok.any():
            continue
        pu = P[up[ok, 0], up[ok, 1], up[ok, 2]]
        pd = P[down[ok, 0], down[ok, 1], down[ok, 2]]
        if not (np.isfinite(pu).any() and np.isfinite(pd).any()):
            continue
        dp = float(np.nanmean(pu) - np.nanmean(pd))
        area = len(faces) * g.face_area_m2(a)
        q = (float(np.sign(dp)) * area * np.sqrt(2.0 * abs(dp) / res.k_loss)
             if res.k_loss > 0 else float("nan"))
        out[res.name] = {"dp_m2_s2": dp, "loss_flow_m3_s": float(q)}
    return out
