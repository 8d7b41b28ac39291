"""Thermal core: buoyant incompressible airflow and heat on uniform 3D grids of data halls.

One physics, several backends (Numba CPU, Numba CUDA, CuPy); see ``kernels/README.md``.
Importing the package (or any of its modules) changes nothing; the CPU backend configures
Numba's threads when it is created (``kernels.cpu.prepare``).
"""
from common.errors import (BackendUnavailable, DivergenceError, InputError, MemoryLimitError,
                           TwinError)

from .flags import Flag
from .grid import Grid
from .problem import BoundaryFace, Device, Fluid, HeatSource, Port, Problem, Resistance, Turbulence

__all__ = [
    "BackendUnavailable", "DivergenceError", "InputError", "MemoryLimitError", "TwinError",
    "Flag", "Grid", "BoundaryFace", "Device", "Fluid", "HeatSource", "Port", "Problem",
    "Resistance", "Turbulence",
]
