"""Memory the solver needs per cell, counted from the arrays it allocates.

Fields on the device (``s`` = bytes of the floating type, 4 for float32):

=============================  =====  ==========================================
array                          bytes  role
=============================  =====  ==========================================
u, v, w                        3 s    face velocities (state)
u*, v*, w*                     3 s    predicted velocities (double buffer)
T                              s      temperature (state)
phi                            s      pressure increment (warm start)
nu_t                           s      eddy viscosity
wall distance                  s      Chen-Xu length scale (only with chen-xu)
r, p, z                        3 s    CG vectors; z also holds Ap and the new T
solid flags                    1      uint8 cell codes (``setup.cell_codes``)
coarse aggregate map           2      int16 aggregate of each cell (box preconditioner's
                                      coarse space, ``coarse.py``; at most 32,767)
multigrid levels               s      coarse levels of the V-cycle (default; below)
=============================  =====  ==========================================

With the default multigrid preconditioner (``kernels/multigrid.py``) the coarse levels
hold five arrays each (three face coefficients, ``x``, ``b``), the first at 1/8 of the
cells and each next one at 1/8 or 1/4 (coarsened along two axes only) of the one above:
0.7 words per cell on the small hall and 0.9 on the AI hall at 0.2 m (up to 1.7 where the
first level is coarsened along two axes only), counted as one (``MG_WORDS``). So 14 s + 1 = 57 B per cell in float32, 113 B in
float64. With the DCT box preconditioner (``pressure_preconditioner = "box"``) instead:
13 s + 3 = 55 B, plus the transform's work space (cuFFT / scipy keep a complex copy of the
grid during a DCT: 2 s per cell), 63 B per cell in float32, 123 B in float64; its
eigenvalues are three 1D vectors, and the coarse space's other arrays are per aggregate
(a few thousand numbers), its factorisation on the host.
The k-epsilon model (``Turbulence("k-epsilon")``) has no wall distance but adds k, eps
and the wall-side eddy viscosity (3 s) and a byte of wall bits per cell
(``setup.wall_codes``): ``KEPS_EXTRA_WORDS`` = 2 s and ``KEPS_EXTRA_BYTES`` = 1 more,
66 B per cell in float32 with multigrid (72 B with the box solve).

A steady solve (``Solver.solve_steady``) keeps its flow statistics on the host: the
previous velocity sample (3 s, for the residual), the float64 sum of the current
averaging window (24 B) and the record's mean flows in at most eight float32 batches
(96 B, ``steady.FlowRecord``): ``STEADY_HOST_BYTES`` = 120 B + 3 s. They are
counted in the host figure (and so in the device figure of the CPU backend, whose device
is the host), not in the GPU's.
"""
from __future__ import annotations

from common.errors import MemoryLimitError

from .grid import Grid

FIELD_WORDS = 13      # floating arrays per cell (see table)
FLAG_BYTES = 1
AGG_BYTES = 2         # int16 coarse-space aggregate map
FFT_WORDS = 2         # complex work copy of one field during the DCT
MG_WORDS = 1          # the multigrid's coarse levels (0.7-0.9 words on the shipped halls)
STEADY_HOST_BYTES = 120  # window sum (float64) + 8 record batches (float32), 3 components
STEADY_HOST_WORDS = 3   # the previous velocity sample
KEPS_EXTRA_WORDS = 2    # k-epsilon: k, eps, wall nu_t, less the wall distance
KEPS_EXTRA_BYTES = 1    # k-epsilon: wall bits


def bytes_per_cell(dtype_bytes: int = 4, keps: bool = False, multigrid: bool = True) -> int:
    """Device bytes per cell; ``keps``: with the k-epsilon model's fields; ``multigrid``:
    the V-cycle's coarse levels instead of the box solve's transform space and the
    coarse-space map."""
    words = FIELD_WORDS + (MG_WORDS if multigrid else FFT_WORDS) + (
        KEPS_EXTRA_WORDS if keps else 0)
    return (words * dtype_bytes + FLAG_BYTES + (0 if multigrid else AGG_BYTES)
            + (KEPS_EXTRA_BYTES if keps else 0))


def estimate_bytes(grid: Grid, backend_name: str = "numba-cpu", dtype_bytes: int = 4,
                   keps: bool = False, multigrid: bool = True) -> dict:
    """Bytes needed on the device and on the host for a solve on ``grid``.

    The host always keeps one copy of the solid mask, the temperature and three velocity
    components for results (4 s + 1 per cell) on top of the device's arrays, and a steady
    solve's flow statistics (``STEADY_HOST_BYTES`` + 3 s); on the CPU backend the device
    is the host.
    """
    n = grid.cells
    dev = n * bytes_per_cell(dtype_bytes, keps, multigrid)
    host_extra = n * ((4 + STEADY_HOST_WORDS) * dtype_bytes + 1 + STEADY_HOST_BYTES)
    if backend_name == "numba-cpu":
        return {"device_bytes": dev + host_extra, "host_bytes": dev + host_extra,
                "bytes_per_cell": bytes_per_cell(dtype_bytes, keps, multigrid)}
    return {"device_bytes": dev, "host_bytes": host_extra,
            "bytes_per_cell": bytes_per_cell(dtype_bytes, keps, multigrid)}


def check_fits(grid: Grid, backend, dtype_bytes: int = 4, headroom: float = 0.9,
               keps: bool = False, multigrid: bool = True) -> dict:
    """Raise :class:`MemoryLimitError` (with the numbers) if ``grid`` will not fit."""
    from .backend import get_backend
    be = get_backend(backend) if isinstance(backend, str) else backend
    est = estimate_bytes(grid, be.name, dtype_bytes, keps, multigrid)
    limit = be.memory_bytes * headroom
    if est["device_bytes"] > limit:
        gib = 1024 ** 3
        raise MemoryLimitError(
            f"grid of {grid.cells:,} cells ({grid.nx}x{grid.ny}x{grid.nz}) needs "
            f"{est['device_bytes'] / gib:.1f} GiB on {be.name} ({be.device}), "
            f"{est['bytes_per_cell']} B per cell, but {be.memory_bytes / gib:.1f} GiB is free; "
            "use a coarser cell (--cell) or a bigger device")
    return est
