"""The CUDA code checked without a GPU.

1. Every Numba CUDA driver (``kernels.cuda_numba``) against its Numba CPU twin
   (``kernels.cpu``) on the same random inputs, run by the Numba CUDA simulator, and one
   full :class:`~kernels.solver.Solver` step on a simulator backend against ``numba-cpu``.
   The simulator must be switched on before Numba is imported, so these checks run in one
   child process (this file run as a script with ``NUMBA_ENABLE_CUDASIM=1``) that prints a
   JSON record per check; the tests read the records. Tolerances, relative to the largest
   reference value: 1e-12 in float64 (only the order of float sums differs), 1e-5 in
   float32 (the simulator runs NumPy scalar arithmetic, which keeps float32 operations in
   float32 where Numba's typing promotes ``0.5 * x`` to float64).
2. Every Numba CUDA kernel compiled to PTX for sm_90 by the real CUDA target (Numba's
   typing and NVVM: what the pure-Python simulator cannot check). Needs libNVVM.
3. The ``cupy`` backend's drivers (``kernels/cuda_cupy.py``) with their CUDA C kernels
   (``kernels/cuda/poisson.cu``) compiled for the host by g++ with a small emulation of
   the CUDA built-ins (a block's threads as ``std::thread``, ``__syncthreads`` as a
   ``std::barrier``) behind a stand-in for the few CuPy calls the module makes; every
   launch checks its arguments against the kernel's C parameter types. Against the CPU
   drivers, alone and in two solver steps. Needs g++ with C++20.

The simulator is slow (a Python thread per CUDA thread): the grids are tiny and the
launches small (16 threads, 2 blocks, grid-stride loops).
"""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.parity.children import Child

ROOT = Path(__file__).resolve().parents[2]
SHAPE = (6, 5, 4)
SPACING = (0.2, 0.25, 0.3)
TOL = {"float64": 1e-12, "float32": 1e-5}
DTYPES = ("float64", "float32")

DRIVER_CHECKS = (
    "predict_velocity_0", "predict_velocity_1", "predict_velocity_2", "apply_resistance",
    "divergence", "laplacian", "correct_velocity_0", "correct_velocity_1",
    "correct_velocity_2", "cg_residual_inplace", "mask_solid", "masked_shift", "cg_update_p",
    "cg_update_xr", "cg_update_xr_value", "dot", "max_abs", "max_abs_diff", "masked_sum",
    "residual", "residual_value", "temperature_step", "update_nut_0", "update_nut_1",
    "update_nut_2", "port_intake_stats_sums", "port_intake_stats_maxs", "apply_ports",
    "apply_sources", "coarse_restrict", "coarse_prolong_add", "box_scale",
    "max_advection_rate", "turbulence_k", "turbulence_eps", "turbulence_nut",
    "turbulence_nutw", "predict_velocity_wall_0", "mg_relax_fine_0", "mg_relax_fine_1",
    "mg_relax_coarse_0", "mg_relax_coarse_1", "mg_restrict_fine", "mg_restrict_coarse",
    "mg_prolong_fine", "mg_prolong_coarse",
)
STEP_CHECKS = ("T", "u", "v", "w", "phi", "nut", "dev_tin", "dev_tout", "cg_iterations")


# ----------------------------------------------------------------------------- inputs
def _inputs(dtype, seed=7):
    """Random fields on a 6x5x4 grid with a solid block, flag bits and boundary data."""
    R = np.dtype(dtype).type
    rng = np.random.default_rng(seed)
    nx, ny, nz = SHAPE

    def rand(shape, scale=1.0, offset=0.0):
        return (offset + scale * rng.standard_normal(shape)).astype(R)

    solid = np.zeros(SHAPE, np.uint8)
    solid[2:4, 1:3, 0:3] = 1 | 2            # a rack-like block (SOLID | RACK)
    solid[0, 4, 3] = 1 | 128                # a lone wall cell in a corner
    solid[5, 0, 0] = 32                     # a fluid cell with another bit (TILE)
    from kernels.setup import cell_codes
    solid = cell_codes(solid)               # what the solver hands the kernels
    slip = np.array([0, 0, 1, 0, 0, 0], np.int32)           # y- is a slip face
    uw = np.zeros((6, 3), R)
    uw[5] = (0.4, 0.1, 0.0)                                 # moving lid on z+
    hk = np.array([0.01, 0.0, 0.0, 0.02, 0.0, 0.03], R)
    tb = np.array([30.0, 0.0, 0.0, 15.0, 0.0, 25.0], R)
    # ports: two devices; cell (1, 1, 1) is touched twice (a repeated cell must add up)
    pf_cell = np.array([[1, 1, 0], [1, 1, 1], [1, 2, 2], [1, 1, 1],     # device 0 intake
                        [4, 1, 0], [4, 2, 1],                           # device 0 exhaust
                        [5, 3, 3], [5, 4, 2],                           # device 1 intake
                        [0, 0, 0], [1, 1, 1]], np.int64)                # device 1 exhaust
    pf_dev = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], np.int64)
    pf_role = np.array([0, 0, 0, 0, 1, 1, 0, 0, 1, 1], np.int64)
    return {
        "R": R, "solid": solid, "slip": slip, "uw": uw, "hk": hk, "tb": tb,
        "u": rand((nx + 1, ny, nz), 0.5), "v": rand((nx, ny + 1, nz), 0.5),
        "w": rand((nx, ny, nz + 1), 0.5), "T": rand(SHAPE, 3.0, 22.0),
        "nut": np.abs(rand(SHAPE, 1e-3)), "walldist": np.abs(rand(SHAPE, 0.3)),
        "phi": rand(SHAPE), "a": rand(SHAPE), "b": rand(SHAPE), "c": rand(SHAPE),
        "faces": np.array([[0, 0, 3], [1, 4, 2], [5, 3, 1], [4, 0, 3]], np.int64),
        "k_loss": np.abs(rand(4, 10.0)),
        "pf_cell": pf_cell, "pf_dev": pf_dev, "pf_role": pf_role,
        "pf_rate": np.abs(rand(len(pf_cell), 2.0)), "dev_tout": np.array([35.0, 18.0], R),
        "src_cell": np.array([[0, 1, 1], [5, 2, 3], [0, 1, 1]], np.int64),
        "src_rate": np.abs(rand(3, 0.5)),
    }


def _residual_ref(r, b, Ax, solid):
    """``cpu.residual`` in NumPy: r = b - Ax on fluid cells, 0 on solids; max |r|."""
    fluid = (solid & 1) == 0
    r[...] = np.where(fluid, b - Ax, 0)
    return float(np.max(np.abs(r[fluid])))


def _rel(x, ref) -> float:
    x = np.asarray(x, np.float64)
    ref = np.asarray(ref, np.float64)
    scale = max(float(np.max(np.abs(ref))) if ref.size else 0.0, 1e-300)
    return float(np.max(np.abs(x - ref))) / scale if ref.size else 0.0


# ----------------------------------------------------------------------------- the child
def _driver_checks(cpu, gpu, dtype) -> dict:
    """Each driver on copies of the same inputs; the relative error of the CUDA result."""
    d = _inputs(dtype)
    R = d["R"]
    dx, dy, dz = (R(s) for s in SPACING)
    out = {}

    def both(name, fn, *names, extra=(), ret=False):
        """Run ``fn(k, *arrays, *extra)`` for k = cpu, gpu on copies; compare arrays[0]."""
        res = []
        for k in (cpu, gpu):
            arrs = [d[n].copy() for n in names]
            val = fn(k, *arrs, *extra)
            res.append((arrs, val))
        out[name] = _rel(res[1][0][0], res[0][0][0])
        if ret:
            out[name + "_value"] = _rel(res[1][1], res[0][1])

    s, slip, uw = d["solid"], d["slip"], d["uw"]
    for c, q in enumerate("uvw"):
        d["out"] = np.zeros_like(d[q])
        both(f"predict_velocity_{c}",
             lambda k, out, u, v, w, nut, T, c=c: k.predict_velocity(
                 c, u, v, w, out, nut, T, s, dx, dy, dz, R(1.5e-5), R(0.033), R(22.0), slip,
                 uw, R(0.01)),
             "out", "u", "v", "w", "nut", "T")
        both(f"correct_velocity_{c}",
             lambda k, q_, phi, c=c: k.correct_velocity(c, q_, phi, s, R(SPACING[c])), q, "phi")
    both("apply_resistance",
         lambda k, w, wold, faces, kl, phi: k.apply_resistance(w, wold, faces, kl, dz, R(0.05),
                                                               phi, s, 2),
         "w", "w", "faces", "k_loss", "phi")
    d["out"] = np.zeros(SHAPE, R)
    both("divergence", lambda k, o, u, v, w: k.divergence(o, u, v, w, s, dx, dy, dz),
         "out", "u", "v", "w")
    both("laplacian", lambda k, o, phi: k.laplacian(o, phi, s, dx, dy, dz), "out", "phi")
    both("cg_residual_inplace", lambda k, r, ax: k.cg_residual_inplace(r, ax, s), "a", "b")
    both("mask_solid", lambda k, a: k.mask_solid(a, s), "a")
    both("masked_shift", lambda k, a: k.masked_shift(a, s, R(0.3)), "a")
    both("cg_update_p", lambda k, p, z: k.cg_update_p(p, z, R(0.7)), "a", "b")
    both("cg_update_xr", lambda k, x, r, p, ap: k.cg_update_xr(x, r, p, ap, R(0.3)),
         "a", "b", "c", "phi", ret=True)
    # cpu.residual does not compile (Numba parfor: "unexpected cycle in lookup()"): NumPy
    r1, r2 = np.zeros(SHAPE, R), np.zeros(SHAPE, R)
    out["residual_value"] = _rel(gpu.residual(r2, d["a"], d["b"], s),
                                 _residual_ref(r1, d["a"], d["b"], s))
    out["residual"] = _rel(r2, r1)
    out["dot"] = _rel(gpu.dot(d["a"], d["b"]), cpu.dot(d["a"], d["b"]))
    out["max_abs"] = _rel(gpu.max_abs(d["w"]), cpu.max_abs(d["w"]))
    out["max_abs_diff"] = _rel(gpu.max_abs_diff(d["a"], d["b"]), cpu.max_abs_diff(d["a"], d["b"]))
    out["masked_sum"] = _rel(gpu.masked_sum(d["T"], s), cpu.masked_sum(d["T"], s))
    inv = tuple(R(1 / h) for h in SPACING)
    out["max_advection_rate"] = _rel(gpu.max_advection_rate(d["u"], d["v"], d["w"], *inv),
                                     cpu.max_advection_rate(d["u"], d["v"], d["w"], *inv))
    both("temperature_step",
         lambda k, o, T, u, v, w, nut: k.temperature_step(
             o, T, u, v, w, nut, s, dx, dy, dz, R(2.2e-5), R(1 / 0.9), d["hk"], d["tb"],
             R(0.05)),
         "out", "T", "u", "v", "w", "nut")
    for model in (0, 1, 2):
        both(f"update_nut_{model}",
             lambda k, nut, u, v, w, wd, m=model: k.update_nut(nut, u, v, w, wd, R(2e-3), m),
             "nut", "u", "v", "w", "walldist")
    # k-epsilon: k over eight decades, wall bits on most closed faces
    from kernels.problem import KEPS
    rng = np.random.default_rng(3)
    d["tk"] = (10.0 ** rng.uniform(-6, 0, SHAPE)).astype(R)
    d["teps"] = (10.0 ** rng.uniform(-5, 0, SHAPE)).astype(R)
    wallc = np.zeros(SHAPE, np.uint8)
    for b in range(6):
        closed = ((s & 1) == 0) & (((s >> (2 + b)) & 1) == 0) & (rng.random(SHAPE) < 0.8)
        wallc |= closed.astype(np.uint8) << b
    c = KEPS
    kec = np.array([1.5e-5, 1.0, 1 / 1.3, 0.037, c["c1"], c["c2"], c["c_mu"],
                    c["c_mu"] ** 0.25, c["kappa"], c["e_log"], c["yplus_lam"], c["k_min"],
                    c["eps_min"]], R)
    zero6 = np.zeros(6, R)
    d["out"] = np.zeros(SHAPE, R)
    for name in ("turbulence_k", "turbulence_eps"):
        both(name, lambda k, o, tk, te, u, v, w, nut, T, name=name: getattr(k, name)(
            o, tk, te, u, v, w, nut, T, s, wallc, dx, dy, dz, slip, zero6, kec, R(0.01)),
            "out", "tk", "teps", "u", "v", "w", "nut", "T")
    d["out2"] = np.zeros(SHAPE, R)
    both("turbulence_nut", lambda k, o, o2, tk, te: k.turbulence_viscosity(
        o, o2, tk, te, s, wallc, dx, dy, dz, kec), "out", "out2", "tk", "teps")
    both("turbulence_nutw", lambda k, o2, o, tk, te: k.turbulence_viscosity(
        o, o2, tk, te, s, wallc, dx, dy, dz, kec), "out2", "out", "tk", "teps")
    d["out"] = np.zeros_like(d["u"])
    both("predict_velocity_wall_0",
         lambda k, out, u, v, w, nut, T, walln: k.predict_velocity(
             0, u, v, w, out, nut, T, s, dx, dy, dz, R(1.5e-5), R(0.033), R(22.0), slip,
             uw, R(0.01), nutw=walln),
         "out", "u", "v", "w", "nut", "T", "walldist")
    sums = [np.full(2, 5.0), np.full(2, 7.0)]
    maxs = [np.full(2, 5.0), np.full(2, 7.0)]
    for k, sm, mx in zip((cpu, gpu), sums, maxs):
        k.port_intake_stats(d["T"], d["pf_cell"], d["pf_dev"], d["pf_role"], sm, mx)
    out["port_intake_stats_sums"] = _rel(sums[1], sums[0])
    out["port_intake_stats_maxs"] = _rel(maxs[1], maxs[0])
    both("apply_ports",
         lambda k, o, T: k.apply_ports(o, T, d["pf_cell"], d["pf_dev"], d["pf_role"],
                                       d["pf_rate"], d["dev_tout"], R(0.05)),
         "c", "T")
    both("apply_sources", lambda k, o: k.apply_sources(o, d["src_cell"], d["src_rate"], R(0.05)),
         "c")
    # coarse-space transfers: 7 aggregates spread over the fluid cells, int16 map
    agg = np.full(SHAPE, -1, np.int16)
    fluid = (s & 1) == 0
    agg[fluid] = np.arange(int(fluid.sum())) % 7
    aggf = agg.reshape(-1)
    rcs = []
    for k in (cpu, gpu):
        rc = np.full(7, np.nan)
        k.coarse_restrict(d["a"].reshape(-1), aggf, rc)
        rcs.append(rc)
    out["coarse_restrict"] = _rel(rcs[1], rcs[0])
    xc = np.linspace(-1.0, 1.0, 7)
    both("coarse_prolong_add", lambda k, a: k.coarse_prolong_add(a.reshape(-1), aggf, xc), "a")
    # the DCT box solve's division by the separable eigenvalues (ex[0] + ey[0] + ez[0] = 0)
    eig = [((2.0 * np.cos(np.pi * np.arange(n) / n) - 2.0) / (h * h)).astype(R)
           for n, h in zip(SHAPE, SPACING)]
    both("box_scale", lambda k, a: k.box_scale(a, *eig), "a")
    # multigrid: the finest level (cell codes) and a coarse level (face coefficients)
    from kernels import multigrid as mg
    levels = mg.levels_for(fluid, SPACING, coarsest_cells=1, semi=False)
    no_g, no_c = np.zeros((1, 1, 1), R), np.zeros((1, 1, 1), np.uint8)
    c0 = tuple(R(1 / h ** 2) for h in SPACING)
    c1 = tuple(R(1 / h ** 2) for h in levels[1].spacing_m)
    g1 = tuple(np.ascontiguousarray(g, dtype=R) for g in levels[1].g)
    rng = np.random.default_rng(5)
    lv_args = {"fine": (s, no_g, no_g, no_g) + c0 + (True,),
               "coarse": (no_c,) + g1 + c1 + (False,)}
    shapes = {"fine": SHAPE, "coarse": levels[1].shape}
    cshape = {"fine": levels[1].shape, "coarse": levels[2].shape}
    for lvl, args in lv_args.items():
        d["mx"] = rng.standard_normal(shapes[lvl]).astype(R)
        d["mb"] = rng.standard_normal(shapes[lvl]).astype(R)
        d["mc"] = np.zeros(cshape[lvl], R)
        d["mxc"] = rng.standard_normal(cshape[lvl]).astype(R)
        for colour in (0, 1):
            both(f"mg_relax_{lvl}_{colour}",
                 lambda k, x, b, a=args, c=colour: k.mg_relax(x, b, *a, c), "mx", "mb")
        both(f"mg_restrict_{lvl}", lambda k, bc, x, b, a=args: k.mg_restrict(bc, x, b, *a, 2,
                                                                            2, 2),
             "mc", "mx", "mb")
        both(f"mg_prolong_{lvl}", lambda k, x, xc, a=args: k.mg_prolong(x, xc, *a, 2, 2, 2),
             "mx", "mxc")
    return out


def _problem(turbulence="chen-xu"):
    """A 6x5x4 room: a rack with its intake and exhaust ports, a grille, a heat source."""
    from kernels import (BoundaryFace, Device, Grid, HeatSource, Port, Problem, Resistance,
                         Turbulence)
    grid = Grid(SHAPE, SPACING)
    solid = np.zeros(SHAPE, np.uint8)
    solid[2:4, 1:3, 0:3] = 1 | 2
    yz = [(j, k) for j in (1, 2) for k in (0, 1, 2)]
    rack = Device("rack", "rack",
                  intake=Port([(1, j, k) for j, k in yz], axis=0, side=1),
                  exhaust=Port([(4, j, k) for j, k in yz], axis=0, side=-1),
                  flow_m3_s=0.05, heat_w=800.0)
    grille = Resistance("grille", [(0, j, 3) for j in range(5)], axis=2, k_loss=8.0)
    lamp = HeatSource("lamp", [(5, 4, 3), (5, 3, 3)], power_w=60.0)
    bnd = {"z+": BoundaryFace(thermal="convective", temp_c=30.0, h_w_m2k=2.0),
           "y-": BoundaryFace(velocity="slip")}
    return Problem(grid=grid, solid=solid, devices=(rack,), resistances=(grille,),
                   sources=(lamp,), boundaries=bnd, turbulence=Turbulence(turbulence),
                   initial_temp_c=24.0, name="sim-room")


def _step_checks(gpu_kernels, dtype, steps, turbulence="chen-xu") -> dict:
    """``steps`` solver steps on the simulator backend and on numba-cpu, same dt."""
    from kernels.backend import Backend
    from kernels.solver import Solver, SolverSettings
    be = Backend(name="numba-cuda-simulator", xp=np, kernels=gpu_kernels,
                 device="Numba CUDA simulator", memory_bytes=1 << 30, is_gpu=False)
    settings = SolverSettings(dtype=dtype, pressure_max_iter=40)
    solvers = [Solver(_problem(turbulence), backend=b, settings=settings)
               for b in ("numba-cpu", be)]
    dt = solvers[0].compute_dt()
    for s in solvers:
        for _ in range(steps):
            s.step(dt)
    ref, sim = solvers
    out = {}
    fields = ("T", "u", "v", "w", "phi", "nut")
    if ref.tk is not None:
        fields += ("tk", "teps", "nutw")
    for name in fields:
        out[name] = _rel(getattr(sim, name), getattr(ref, name))
    for name in ("dev_tin", "dev_tout"):
        out[name] = _rel(getattr(sim, name), getattr(ref, name))
    out["cg_iterations"] = float(sim.last_cg[0] != ref.last_cg[0])
    out["_info"] = {"cg": [ref.last_cg[0], sim.last_cg[0]], "dt": dt}
    return out


def _child():
    assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
    # the simulator runs a Python thread per CUDA thread and hands the GIL between them at
    # barriers and thread starts: the default 5 ms switch interval doubles its run time
    sys.setswitchinterval(5e-4)
    from kernels import cpu, cuda_numba
    # few, busy threads: the simulator's cost is mostly one Python thread per CUDA thread
    gpu = cuda_numba.NumbaCudaKernels(threads_per_block=8, max_blocks=2, reduction_blocks=2)
    records = {}
    for dtype in DTYPES:
        for name, rel in _driver_checks(cpu, gpu, dtype).items():
            records[f"{name}[{dtype}]"] = rel
    nan = np.ones(SHAPE)
    nan[3, 2, 1] = np.nan
    records["max_abs_nan"] = gpu.max_abs(nan)
    records["max_abs_after_nan"] = gpu.max_abs(np.ones(SHAPE))
    for dtype, steps in (("float64", 2), ("float32", 1)):
        for name, rel in _step_checks(gpu, dtype, steps).items():
            records[f"step_{name}[{dtype}]"] = rel
    for name, rel in _step_checks(gpu, "float64", 2, "k-epsilon").items():
        records[f"keps_step_{name}"] = rel
    print(json.dumps(records, default=str))


# ----------------------------------------------------------------------------- the tests
_EARLY: dict = {}


def start_early():
    """Start the simulator run and the PTX compilation now (``tests/conftest.py`` calls
    this when the session has collected this module): warm they take ~20 s each, but on
    a fresh clone the simulator run first compiles the CPU drivers in both precisions,
    ~14 min on 2 cores, which then overlaps the tests that run before this module."""
    if not _EARLY:
        _EARLY.update(sim=Child("test_cuda_sim", "_child", {"NUMBA_ENABLE_CUDASIM": "1"}),
                      ptx=Child("test_cuda_sim", "_ptx_child", {"NUMBA_ENABLE_CUDASIM": "0"}))


def stop_early():
    """Stop the children if they still run (the session ends without this module's
    tests, e.g. after ``-x``)."""
    for kid in _EARLY.values():
        kid.stop()
    _EARLY.clear()


@pytest.fixture(scope="module")
def children():
    """The simulator run and the PTX compilation (started early, or now)."""
    start_early()
    yield dict(_EARLY)
    stop_early()


@pytest.fixture(scope="module")
def sim_records(children):
    return children["sim"].records()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("check", DRIVER_CHECKS)
def test_cuda_driver_matches_cpu(sim_records, check, dtype):
    rel = sim_records[f"{check}[{dtype}]"]
    assert rel <= TOL[dtype], f"{check} ({dtype}): relative difference {rel:.3g}"


def test_cuda_max_abs_propagates_nan(sim_records):
    """NaN in a field must reach the solver's divergence check (np.max semantics), and the
    flag must not leak into the next reduction."""
    assert np.isnan(sim_records["max_abs_nan"])
    assert sim_records["max_abs_after_nan"] == 1.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("check", STEP_CHECKS)
def test_solver_step_on_simulator_matches_cpu(sim_records, check, dtype):
    """Two full steps (Chen-Xu, rack ports, grille, heat source, convective wall) with the
    Numba CUDA drivers under the simulator, against numba-cpu at the same dt. Float64:
    1e-10 relative (CG rounds differently but takes the same iterations); float32: 1e-4."""
    rel = sim_records[f"step_{check}[{dtype}]"]
    tol = {"float64": 1e-10, "float32": 1e-4}[dtype]
    if check == "cg_iterations":
        tol = 0.0
    assert rel <= tol, f"solver step {check} ({dtype}): relative difference {rel:.3g}"


@pytest.mark.parametrize("check", STEP_CHECKS + ("tk", "teps", "nutw"))
def test_keps_solver_step_on_simulator_matches_cpu(sim_records, check):
    """Two full float64 steps of the same room with the k-epsilon model (the turbulence
    stage, its port inflow, the wall-side viscosity in the predictor) on the simulator,
    against numba-cpu: 1e-10 relative."""
    rel = sim_records[f"keps_step_{check}"]
    tol = 0.0 if check == "cg_iterations" else 1e-10
    assert rel <= tol, f"k-epsilon solver step {check}: relative difference {rel:.3g}"


# ----------------------------------------------------------------------------- PTX
def _ptx_child():
    """Compile every Numba CUDA kernel for sm_90 (float32) with the real CUDA target."""
    import types as pytypes

    import numba.cuda.dispatcher as dispatcher
    from numba import cuda
    from numba import types as t

    try:
        from numba.cuda.cudadrv.nvvm import NVVM
        NVVM()
    except Exception as exc:  # no libNVVM on this machine
        print(json.dumps({"_skip": f"libNVVM is not available ({type(exc).__name__}: {exc})"}))
        return
    from kernels import cuda_numba as cn
    # Numba's built-in target asks the current GPU for the compute capability of device
    # functions; there is none here
    if hasattr(dispatcher, "get_current_device"):
        dispatcher.get_current_device = lambda: pytypes.SimpleNamespace(
            compute_capability=(9, 0))
    R = t.float32
    A3, U8 = t.Array(R, 3, "C"), t.Array(t.uint8, 3, "C")
    I2, I1, R1 = t.Array(t.int64, 2, "C"), t.Array(t.int64, 1, "C"), t.Array(R, 1, "C")
    F1, B, S = t.Array(t.float64, 1, "C"), t.Array(t.float64, 2, "C"), t.int64
    pred = (A3,) * 7 + (U8,) + (R,) * 6 + (t.Array(t.int32, 1, "C"), t.Array(R, 2, "C"), R)
    I32 = t.Array(t.int32, 1, "C")
    ke = (A3,) * 8 + (U8, U8, R, R, R, I32, R1, R1, R)
    sigs = {
        "predict_velocity_0": pred, "predict_velocity_1": pred, "predict_velocity_2": pred,
        "correct_velocity_0": (A3, A3, U8, R), "correct_velocity_1": (A3, A3, U8, R),
        "correct_velocity_2": (A3, A3, U8, R), "apply_resistance": (A3, A3, I2, R1, R, R, A3, U8, S),
        "divergence": (A3,) * 4 + (U8, R, R, R), "laplacian": (A3, A3, U8, R, R, R),
        "cg_residual_inplace": (A3, A3, U8), "mask_solid": (A3, U8), "masked_shift": (A3, U8, R),
        "cg_update_p": (A3, A3, R), "cg_update_xr": (A3,) * 4 + (R, B, S),
        "dot": (A3, A3, B, S), "masked_sum": (A3, U8, B, S), "max_abs": (A3, B, S),
        "max_abs_diff": (A3, A3, B, S), "residual": (A3, A3, A3, U8, B, S),
        "temperature_step": (A3,) * 6 + (U8,) + (R,) * 5 + (R1, R1, R),
        "update_nut": (A3,) * 5 + (R, S), "stats_init": (F1, F1),
        "stats_accumulate": (A3, I2, I1, I1, F1, F1),
        "apply_ports": (A3, A3, I2, I1, I1, R1, R1, R), "apply_sources": (A3, I2, R1, R),
        "coarse_restrict": (R1, t.Array(t.int16, 1, "C"), F1),
        "coarse_prolong_add": (R1, t.Array(t.int16, 1, "C"), F1),
        "box_scale": (A3, R1, R1, R1), "max_advection_rate": (A3, A3, A3, R, R, R, B, S),
        "turbulence_k": ke, "turbulence_eps": ke, "ke_nut": (A3, A3, A3, U8, R1),
        "wall_viscosity": (A3, A3, A3, U8, R, R, R, R1),
        "mg_relax": (A3, A3, U8, A3, A3, A3, R, R, R, t.boolean, S),
        "mg_restrict": (A3, A3, A3, U8, A3, A3, A3, R, R, R, t.boolean, S, S, S),
        "mg_prolong": (A3, A3, U8, A3, A3, A3, R, R, R, t.boolean, S, S, S),
    }
    assert set(sigs) == set(cn.KERNELS), set(sigs) ^ set(cn.KERNELS)
    from numba.cuda.cudadrv.error import CudaSupportError
    done, f64 = {}, {}
    for name, sig in sigs.items():
        try:
            ptx, _ = cuda.compile_ptx(cn.KERNELS[name].py_func, sig, cc=(9, 0))
        except CudaSupportError as exc:   # this Numba wants a driver even to compile
            print(json.dumps({"_skip": f"compiling needs a CUDA driver here ({exc})"}))
            return
        done[name] = ".entry" in ptx
        # double-precision instructions in this float32 build (declarations aside)
        f64[name] = sum(1 for line in ptx.splitlines()
                        if ".f64" in line and not line.lstrip().startswith(".reg"))
    print(json.dumps({"entry": done, "f64": f64}))


def test_numba_cuda_kernels_compile_for_sm90(children):
    done = children["ptx"].records()
    if "_skip" in done:
        pytest.skip(done["_skip"])
    assert done["entry"] and all(done["entry"].values()), done["entry"]


#: float32 kernels whose arithmetic is all float32; the others accumulate reductions (dot,
#: max, r.r, intake sums) or the coarse space in float64 on purpose
FLOAT32_PURE = ("predict_velocity_0", "predict_velocity_1", "predict_velocity_2",
                "correct_velocity_0", "correct_velocity_1", "correct_velocity_2",
                "temperature_step", "laplacian", "divergence", "update_nut",
                "apply_resistance", "cg_update_p", "cg_residual_inplace", "mask_solid",
                "masked_shift", "apply_ports", "apply_sources", "box_scale",
                "turbulence_k", "turbulence_eps", "ke_nut", "wall_viscosity")


def test_float32_cuda_kernels_have_no_double_arithmetic(children):
    """A float literal in the pointwise source (``0.5 * x``) is a float64 in Numba and
    turns a float32 kernel into double arithmetic with conversions (an H100 does float64
    at half the float32 rate, and the conversions cost registers); ``pointwise.const``
    types every constant like the field. Checked in the PTX itself."""
    done = children["ptx"].records()
    if "_skip" in done:
        pytest.skip(done["_skip"])
    f64 = done["f64"]
    assert set(FLOAT32_PURE) <= set(f64)
    bad = {name: f64[name] for name in FLOAT32_PURE if f64[name]}
    assert not bad, f"float64 instructions in float32 kernels: {bad}"


# ----------------------------------------------------------------------------- CUDA C with nvcc
def _cuda_c_source(real: str) -> str:
    """``kernels/cuda/poisson.cu`` with the preamble ``cuda_cupy._module`` gives it."""
    return (f"#define REAL {real}\n#define THREADS 256\n"
            + (ROOT / "kernels" / "cuda" / "poisson.cu").read_text())


def _check_ptx(ptx: str, source: str, real: str):
    """Every declared kernel is in the PTX; in the float build only the reductions that
    accumulate in double on purpose (dot, max, r.r) have double arithmetic."""
    import re
    entry, f64 = None, {}
    for line in ptx.splitlines():
        if ".entry" in line:
            entry = line.split(".entry")[1].strip().split("(")[0]
            f64[entry] = 0
        elif entry and ".f64" in line and not line.lstrip().startswith(".reg"):
            f64[entry] += 1
    declared = set(re.findall(r'extern "C" __global__ void (\w+)', source))
    assert declared and set(f64) == declared, (sorted(f64), sorted(declared))
    if real == "float":
        bad = {k: n for k, n in f64.items() if n and k not in ("dot", "max_abs", "cg_update_xr")}
        assert not bad, f"double arithmetic in float kernels: {bad}"


@pytest.mark.parametrize("real", ["float", "double"])
def test_cuda_c_source_compiles_with_nvcc_for_sm90(tmp_path, real):
    """``kernels/cuda/poisson.cu`` as CuPy builds it (the same ``REAL`` / ``THREADS``
    preamble) compiles for sm_90 with the CUDA compiler where one is installed; the float
    build keeps double precision to the reductions (dot, max, r.r) that accumulate in
    double on purpose."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed on this machine")
    src = tmp_path / "poisson.cu"
    src.write_text(_cuda_c_source(real))
    ptx = tmp_path / "poisson.ptx"
    run = subprocess.run([nvcc, "-ptx", "-arch=sm_90", "--std=c++11", str(src), "-o", str(ptx)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    _check_ptx(ptx.read_text(), src.read_text(), real)


def _nvrtc_library():
    """libnvrtc: ``TWIN_NVRTC`` (a path), the pip wheel ``nvidia-cuda-nvrtc-cu12`` or
    ``-cu13`` (what ``cupy-cuda12x``/``13x`` load), or the system's; None if none loads."""
    import ctypes.util
    import glob
    candidates = [os.environ.get("TWIN_NVRTC")]
    for mod in ("nvidia.cuda_nvrtc", "nvidia.cu13"):
        try:
            pkg = __import__(mod, fromlist=["__path__"])
            for d in pkg.__path__:
                candidates += sorted(glob.glob(os.path.join(d, "lib", "libnvrtc.so*")))
        except ImportError:
            pass
    candidates.append(ctypes.util.find_library("nvrtc"))
    for c in candidates:
        if c and "builtins" not in c:
            try:
                return ctypes.CDLL(c)
            except OSError:
                continue
    return None


def _nvrtc_compile(lib, source: str, options: list[str]) -> tuple[int, str, str]:
    """Compile ``source`` with NVRTC as CuPy's ``RawModule`` does: (status, log, PTX)."""
    prog = ctypes.c_void_p()
    st = lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), b"poisson.cu", 0,
                                None, None)
    assert st == 0, f"nvrtcCreateProgram: {st}"
    try:
        opts = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
        status = lib.nvrtcCompileProgram(prog, len(options), opts)
        n = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(prog, ctypes.byref(n))
        log = ctypes.create_string_buffer(n.value)
        lib.nvrtcGetProgramLog(prog, log)
        ptx = b""
        if status == 0:
            lib.nvrtcGetPTXSize(prog, ctypes.byref(n))
            buf = ctypes.create_string_buffer(n.value)
            lib.nvrtcGetPTX(prog, buf)
            ptx = buf.value
        return status, log.value.decode(errors="replace"), ptx.decode()
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))


@pytest.mark.parametrize("real", ["float", "double"])
def test_cuda_c_source_compiles_with_nvrtc_for_sm90(real):
    """The build CuPy really makes: NVRTC (not nvcc) on the same source, with the module's
    option ``--std=c++11`` and the virtual architecture CuPy passes for an H100/H200
    (``-arch=compute_90``). NVRTC has no host compiler and no system headers, so this is
    what catches a header or host-only construct that nvcc would accept. Runs where a
    libnvrtc loads (the ``gpu`` extra installs one; ``TWIN_NVRTC`` names one)."""
    lib = _nvrtc_library()
    if lib is None:
        pytest.skip("no libnvrtc on this machine (pip install nvidia-cuda-nvrtc-cu12, or "
                    "set TWIN_NVRTC to its path)")
    source = _cuda_c_source(real)
    status, log, ptx = _nvrtc_compile(lib, source, ["--std=c++11", "-arch=compute_90"])
    assert status == 0, log[-3000:]
    _check_ptx(ptx, source, real)
    # control: a host-only header, which nvcc would find, is refused by NVRTC
    status, log, _ = _nvrtc_compile(lib, "#include <vector>\n" + source,
                                    ["--std=c++11", "-arch=compute_90"])
    assert status != 0 and "vector" in log


# ----------------------------------------------------------------------------- CUDA C on the host
_SHIM = r"""
#include <barrier>
#include <cmath>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>
struct emu_dim3 { unsigned x = 0, y = 0, z = 0; };
static thread_local emu_dim3 threadIdx;
static emu_dim3 blockIdx, blockDim, gridDim;
static std::barrier<>* emu_barrier = nullptr;
static std::mutex emu_mutex;
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
using std::fabs;
inline void __syncthreads() { emu_barrier->arrive_and_wait(); }
inline double atomicAdd(double* p, double v) {
    std::lock_guard<std::mutex> g(emu_mutex);
    double o = *p;
    *p += v;
    return o;
}
inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v) {
    std::lock_guard<std::mutex> g(emu_mutex);
    unsigned long long o = *p;
    if (v > o) *p = v;
    return o;
}
inline long long __double_as_longlong(double x) {
    long long r;
    std::memcpy(&r, &x, 8);
    return r;
}
template <class F> void emu_launch(unsigned grid, unsigned block, F f) {
    gridDim.x = grid;
    blockDim.x = block;
    for (unsigned b = 0; b < grid; ++b) {
        blockIdx.x = b;
        std::barrier<> bar(block);
        emu_barrier = &bar;
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < block; ++t) ts.emplace_back([=] { threadIdx.x = t; f(); });
        for (auto& t : ts) t.join();
    }
}
"""
# C scalar and pointee types of the kernels' parameters, as NumPy dtypes ("REAL": the field's)
_C_TYPES = {"int": "int32", "index_t": "int64", "long long": "int64", "double": "float64",
            "float": "float32", "REAL": "REAL", "unsigned char": "uint8"}
_CTYPES = {"int32": ctypes.c_int32, "int64": ctypes.c_int64, "float32": ctypes.c_float,
           "float64": ctypes.c_double}


class _HostArray(np.ndarray):
    """A NumPy array with the two CuPy array methods ``kernels.cuda_cupy`` uses."""

    def get(self):
        return np.array(self)

    @property
    def data(self):
        arr = self

        class _Pointer:
            def memset_async(self, value, size):
                arr.view(np.uint8).reshape(-1)[:size] = value
        return _Pointer()


class _HostModule:
    """``cupy.RawModule`` on the host: the CUDA C compiled by g++ with the emulation shim;
    each launch checks every argument against the kernel's C parameter types."""

    def __init__(self, code, build_dir):
        import re
        real = re.search(r"#define REAL (\w+)", code).group(1)
        self.real = {"float": "float32", "double": "float64"}[real]
        self.params, wrappers = {}, []
        for name, plist in re.findall(r'extern "C" __global__ void (\w+)\(([^)]*)\)', code):
            params = [" ".join(p.split()) for p in plist.split(",")]
            names = [p.replace("*", " ").split()[-1] for p in params]
            self.params[name] = params
            wrappers.append(f"extern \"C\" void emu_{name}(unsigned emu_g, unsigned emu_b, "
                            f"{', '.join(params)}) {{ emu_launch(emu_g, emu_b, [&] {{ "
                            f"{name}({', '.join(names)}); }}); }}")
        src = build_dir / f"module_{real}.cpp"
        src.write_text(_SHIM + code + "\n" + "\n".join(wrappers) + "\n")
        so = src.with_suffix(".so")
        proc = subprocess.run([shutil.which("g++"), "-std=c++20", "-O1", "-shared", "-fPIC",
                               "-pthread", str(src), "-o", str(so)],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"poisson.cu does not build for the host:\n{proc.stderr[-4000:]}")
        self.lib = ctypes.CDLL(str(so))

    def _ctype(self, decl):
        t = decl.replace("const", "").replace("*", "").split()[:-1]
        dt = _C_TYPES[" ".join(t)]
        return self.real if dt == "REAL" else dt

    def get_function(self, name):
        params = self.params[name]

        def launch(grid, block, args):
            assert len(args) == len(params), f"{name}: {len(args)} arguments for {params}"
            cargs = [ctypes.c_uint(grid[0]), ctypes.c_uint(block[0])]
            for decl, a in zip(params, args):
                want = self._ctype(decl)
                if "*" in decl:
                    assert isinstance(a, np.ndarray) and a.dtype == want and \
                        a.flags.c_contiguous, f"{name}: {decl} got {type(a)} {a.dtype}"
                    cargs.append(ctypes.c_void_p(a.ctypes.data))
                else:
                    assert isinstance(a, np.generic) and a.dtype == want, \
                        f"{name}: {decl} got {type(a).__name__}"
                    cargs.append(_CTYPES[want](a))
            getattr(self.lib, f"emu_{name}")(*cargs)
        return launch


def _host_cupy(build_dir):
    """Just enough of CuPy for ``kernels.cuda_cupy``, on the host."""
    import functools
    import types
    cp = types.ModuleType("cupy")
    cp.ndarray = np.ndarray
    cp.zeros = lambda shape, dtype: np.zeros(shape, dtype).view(_HostArray)
    cp.memoize = lambda for_each_device=False: functools.lru_cache(maxsize=None)
    cp.cuda = types.SimpleNamespace(Device=lambda: types.SimpleNamespace(id=0))
    cp.RawModule = lambda code, options=(): _HostModule(code, build_dir)
    return cp


@pytest.fixture(scope="module")
def host_cuda_cupy(tmp_path_factory):
    """``kernels/cuda_cupy.py`` loaded against a host CuPy (small blocks, so that launches
    span many blocks and the reductions loop); its Numba drivers are the CPU ones."""
    import importlib.util
    if shutil.which("g++") is None:
        pytest.skip("g++ is not available to build the CUDA C kernels for the host")
    probe = subprocess.run([shutil.which("g++"), "-std=c++20", "-x", "c++", "-fsyntax-only",
                            "-"], input="#include <barrier>\n", capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("g++ lacks C++20 <barrier>")
    spec = importlib.util.spec_from_file_location("kernels._cuda_cupy_on_host",
                                                  ROOT / "kernels" / "cuda_cupy.py")
    module = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("cupy")
    sys.modules["cupy"] = _host_cupy(tmp_path_factory.mktemp("cuda_c"))
    try:
        spec.loader.exec_module(module)   # binds the host CuPy; sys.modules is restored below
    finally:
        if saved is None:
            del sys.modules["cupy"]
        else:
            sys.modules["cupy"] = saved
    module.THREADS = 8
    module.REDUCTION_BLOCKS = 3
    return module


def _cpu_delegate():
    """The CPU drivers standing in for the Numba CUDA ones (``residual`` from NumPy)."""
    import types

    from kernels import cpu
    drivers = {name: getattr(cpu, name) for name in dir(cpu) if not name.startswith("_")}
    drivers["residual"] = _residual_ref
    return types.SimpleNamespace(**drivers)


C_KERNEL_CHECKS = ("laplacian", "divergence", "correct_velocity_0", "correct_velocity_1",
                   "correct_velocity_2", "cg_update_p", "cg_update_xr", "cg_update_xr_value",
                   "dot", "max_abs")


@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_c_kernels_on_host_match_cpu(host_cuda_cupy, dtype):
    """CupyKernels (its C kernels built for the host) against the CPU drivers. Float32: the
    C Laplacian sums in float where Numba's typing sums in double."""
    from kernels import cpu
    k = host_cuda_cupy.CupyKernels(_cpu_delegate())
    rel = _driver_checks(cpu, k, dtype)
    bad = {name: rel[name] for name in C_KERNEL_CHECKS if not rel[name] <= TOL[dtype]}
    assert not bad, f"CUDA C kernels ({dtype}) differ from the CPU drivers: {bad}"
    nan = np.ones(SHAPE, dtype)
    nan[3, 2, 1] = np.nan
    assert np.isnan(k.max_abs(nan)) and k.max_abs(np.ones(SHAPE, dtype)) == 1.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_solver_step_with_cuda_c_kernels_on_host(host_cuda_cupy, dtype):
    """Two solver steps whose projection runs the CUDA C kernels (on the host)."""
    from kernels.backend import Backend
    from kernels.solver import Solver, SolverSettings
    be = Backend(name="cupy-on-host", xp=np, kernels=host_cuda_cupy.CupyKernels(_cpu_delegate()),
                 device="host", memory_bytes=1 << 30, is_gpu=False)
    settings = SolverSettings(dtype=dtype, pressure_max_iter=40)
    ref, host = (Solver(_problem(), backend=b, settings=settings) for b in ("numba-cpu", be))
    dt = ref.compute_dt()
    for _ in range(2):
        ref.step(dt)
        host.step(dt)
    tol = {"float64": 1e-10, "float32": 1e-4}[dtype]
    for name in ("T", "u", "v", "w", "phi"):
        rel = _rel(getattr(host, name), getattr(ref, name))
        assert rel <= tol, f"{name} ({dtype}): relative difference {rel:.3g}"
    assert host.last_cg[0] == ref.last_cg[0]


if __name__ == "__main__":  # pragma: no cover - the simulator child, run by sim_records
    _child()
