"""Thermal core: buoyant incompressible airflow and heat on uniform 3D grids of data halls.

One physics, several backends (Numba CPU, Numba CUDA, CuPy); see ``kernels/README.md``.
"""
import os as _os

# Numba's OpenMP layer busy-waits between parallel regions; on a shared or small machine
# that costs ~8 ms per region (measured, benchmarks/results/cpu-2026-11-23.md). Threads
# that sleep instead cost ~20 us. Set before Numba starts its thread pool; a user's own
# setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .errors import (BackendUnavailable, DivergenceError, InputError, MemoryLimitError,
                     TwinError)
from .flags import Flag
from .grid import Grid
from .problem import (BoundaryFace, Device, Fluid, HeatSource, Port, Problem, Resistance,
                      Turbulence)

__all__ = [
    "BackendUnavailable", "DivergenceError", "InputError", "MemoryLimitError", "TwinError",
    "Flag", "Grid", "BoundaryFace", "Device", "Fluid", "HeatSource", "Port", "Problem",
    "Resistance", "Turbulence",
]
