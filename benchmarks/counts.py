"""Bytes moved per cell update, counted from the arrays each kernel reads and writes.

The count is the *ideal* traffic (FluidX3D's convention): every array a kernel touches is
read or written once per cell, neighbours of a stencil coming from cache. ``s`` is the
size of the floating type (4 for float32, 8 for float64); the ``solid`` flags are one
byte. Staggered arrays have ``n + 1`` entries along one axis; they are counted as one
word per cell (the difference is below 1% at 128 cells a side).

========================  =====================================  ==========  =========
kernel                    reads                                  writes      bytes
========================  =====================================  ==========  =========
predict_velocity_u        u, v, w, nut, solid                    u*          5 s + 1
predict_velocity_v        u, v, w, nut, solid                    v*          5 s + 1
predict_velocity_w        u, v, w, nut, T, solid                 w*          6 s + 1
temperature_step          T, u, v, w, nut, solid                 T_new       6 s + 1
update_nut (Chen-Xu)      u, v, w, wall distance                 nut         5 s
divergence                u*, v*, w*, solid                      div         4 s + 1
laplacian                 phi, solid                             out         2 s + 1
correct_velocity_<c>      q, phi, solid                          q           3 s + 1
cg_update_xr              x, r, p, Ap                            x, r        6 s
cg_update_p               z, p                                   p           3 s
dot                       a, b                                   -           2 s
max_abs                   a                                      -           1 s
cg_residual_inplace       r, Ax, solid                           r           3 s + 1
mask_solid                a, solid                               a           2 s + 1
masked_sum                a, solid                               -           1 s + 1
masked_shift              a, solid                               a           2 s + 1
mg_relax                  x, b, solid                            x           3 s + 1
mg_restrict               x, b, solid                            (bc: 1/8)   2 s + 1
mg_prolong                x, solid (xc: 1/8)                     x           2 s + 1
copy (reference)          a                                      b           2 s
========================  =====================================  ==========  =========

The default preconditioner, a multigrid V-cycle (``kernels/multigrid.py``), is counted on
its finest level (:data:`V_CYCLE_FINE`: four red-black sweeps of two half sweeps, each a
pass over every cell on a GPU, the fused residual-restriction, the prolongation, and the
mean taken out); the coarse levels add at most a third of that and the 1/8-sized arrays
are left out. The DCT box preconditioner (``pressure_preconditioner = "box"``: a
DCT-II/DCT-III pair and a coarse-space correction) is not a stencil; its traffic depends
on the FFT library, so it is timed but not counted.

A whole step (:data:`STEP_FIXED` once, :data:`STEP_PER_CG_ITERATION` per CG iteration)
counts the kernels the solver calls (``kernels/solver.py``); sparse stages (resistances,
ports, sources, device intake means) touch a few cells and are left out.
"""
from __future__ import annotations

KERNEL_ARRAYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "predict_velocity_u": (("u", "v", "w", "nut", "solid"), ("u*",)),
    "predict_velocity_v": (("u", "v", "w", "nut", "solid"), ("v*",)),
    "predict_velocity_w": (("u", "v", "w", "nut", "T", "solid"), ("w*",)),
    "temperature_step": (("T", "u", "v", "w", "nut", "solid"), ("T_new",)),
    "update_nut": (("u", "v", "w", "walldist"), ("nut",)),
    "divergence": (("u*", "v*", "w*", "solid"), ("div",)),
    "laplacian": (("phi", "solid"), ("out",)),
    "correct_velocity_u": (("u*", "phi", "solid"), ("u*",)),
    "correct_velocity_v": (("v*", "phi", "solid"), ("v*",)),
    "correct_velocity_w": (("w*", "phi", "solid"), ("w*",)),
    "cg_update_xr": (("x", "r", "p", "Ap"), ("x", "r")),
    "cg_update_p": (("z", "p"), ("p",)),
    "dot": (("a", "b"), ()),
    "max_abs": (("a",), ()),
    "cg_residual_inplace": (("r", "Ax", "solid"), ("r",)),
    "mask_solid": (("a", "solid"), ("a",)),
    "masked_sum": (("a", "solid"), ()),
    "masked_shift": (("a", "solid"), ("a",)),
    "mg_relax": (("x", "b", "solid"), ("x",)),
    "mg_restrict": (("x", "b", "solid"), ()),
    "mg_prolong": (("x", "solid"), ("x",)),
    "copy": (("a",), ("b",)),
}

# Kernels of one solver step outside the CG loop (kernels/solver.py: Solver.step):
# the velocity scale (3 max_abs), the eddy viscosity, three predictions, the projection's
# right-hand side and first residual (the right-hand side's own max, for the rounding
# floor, is bounded instead: kernels.stages.RhsBound; taken once in 64 steps in an ordinary
# hall, every step where the floor binds), the three corrections and the temperature.
STEP_FIXED = (
    "max_abs", "max_abs", "max_abs", "update_nut",
    "predict_velocity_u", "predict_velocity_v", "predict_velocity_w",
    "divergence", "laplacian", "cg_residual_inplace", "max_abs",
    "correct_velocity_u", "correct_velocity_v", "correct_velocity_w",
    "temperature_step",
)
# One V-cycle of the multigrid preconditioner on its finest level (2 pre- and 2 post-
# sweeps of two half sweeps each, the fused residual-restriction, the prolongation, the
# mean over the fluid taken out).
V_CYCLE_FINE = ("mg_relax",) * 8 + ("mg_restrict", "mg_prolong", "masked_sum", "masked_shift")
# Once per step when CG runs at all: first preconditioning, r.z, p = z.
STEP_CG_START = V_CYCLE_FINE + ("dot", "copy")
# Per CG iteration: A p, p.Ap, the x/r update, the residual test, the preconditioner, r.z
# and the new direction.
STEP_PER_CG_ITERATION = ("laplacian", "dot", "cg_update_xr", "max_abs") + V_CYCLE_FINE + (
    "dot", "cg_update_p")


def bytes_per_cell(kernel: str, itemsize: int) -> int:
    """Bytes moved per cell by ``kernel`` for floating arrays of ``itemsize`` bytes."""
    reads, writes = KERNEL_ARRAYS[kernel]
    return sum(1 if a == "solid" else itemsize for a in reads + writes)


def step_bytes_per_cell(itemsize: int, cg_iterations: float) -> float:
    """Counted bytes per cell of one solver step with ``cg_iterations`` CG iterations
    (stencils and vector updates only; the DCT and coarse solves are not counted)."""
    total = sum(bytes_per_cell(k, itemsize) for k in STEP_FIXED)
    if cg_iterations > 0:
        total += sum(bytes_per_cell(k, itemsize) for k in STEP_CG_START)
        total += cg_iterations * sum(bytes_per_cell(k, itemsize) for k in STEP_PER_CG_ITERATION)
    return float(total)


def describe(kernel: str) -> dict:
    reads, writes = KERNEL_ARRAYS[kernel]
    return {"reads": list(reads), "writes": list(writes)}
