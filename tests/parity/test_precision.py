"""Float32 kernels compute in float32.

A bare float literal in Numba is a float64, and ``x32 * 0.5`` follows NumPy's scalar
promotion: the whole expression is computed in double and rounded back on the store. The
pointwise physics therefore writes every constant as ``pointwise.const(field, value)``,
typed like the field it meets. This test compiles the per-cell functions for float32
fields on the CPU and checks the optimised LLVM IR of the kernel body for any double
arithmetic or float/double conversion. (The PTX of the CUDA kernels is checked the same
way in ``test_cuda_sim.py`` where libNVVM is installed.)

Compiling the two test kernels takes ~6 min of one core on a fresh clone, so they compile
in a child process started as soon as the session has collected this module
(``start_early``, see ``tests/conftest.py``), beside the tests that run before it.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from numba import njit

from kernels import pointwise
from tests.parity.children import Child

_P = pointwise.build(njit(inline="always"))
momentum_rate = _P.momentum_rate
temperature_rate = _P.temperature_rate
laplacian = _P.laplacian
chen_xu_nut = _P.chen_xu_nut


@njit
def _cells(out, u, v, w, nut, T, solid, walldist, dx, dy, dz, nu, gbeta, tref, bc_slip, bc_uw,
           alpha, inv_prt, bc_hk, bc_tb, i, j, k):
    # the momentum update (walls, slip faces; along k clamped and not), the heat update,
    # the Laplacian, the eddy viscosity
    out[0] = momentum_rate(0, i, j, k, u, v, w, nut, nut, T, solid, dx, dy, dz, nu, gbeta, tref,
                           bc_slip, bc_uw, False)
    out[4] = momentum_rate(2, i, j, k, u, v, w, nut, nut, T, solid, dx, dy, dz, nu, gbeta, tref,
                           bc_slip, bc_uw, False)
    out[5] = momentum_rate(1, i, j, k, u, v, w, nut, nut, T, solid, dx, dy, dz, nu, gbeta, tref,
                           bc_slip, bc_uw, True)
    out[1] = temperature_rate(i, j, k, u, v, w, nut, T, solid, dx, dy, dz, alpha, inv_prt,
                              bc_hk, bc_tb)
    out[2] = laplacian(i, j, k, T, solid, dx, dy, dz)     # (1/dx**2 ... in the solver)
    out[3] = chen_xu_nut(i, j, k, u, v, w, walldist)


k_item = _P.k_item
eps_item = _P.eps_item
ke_nut = _P.ke_nut
wall_viscosity = _P.wall_viscosity


@njit
def _keps_cells(out, u, v, w, nut, T, solid, tk, teps, wallc, dx, dy, dz, bc_slip, bc_zero, c,
                dt, i, j, k):
    # the k-epsilon items: sources, wall functions (log, sqrt), point-implicit updates
    out[0] = k_item(i, j, k, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip,
                    bc_zero, c[0], c[1], c[3], c[7], c[8], c[9], c[10], c[11], c[12], dt)
    out[1] = eps_item(i, j, k, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip,
                      bc_zero, c[0], c[2], c[3], c[4], c[5], c[7], c[8], c[9], c[10], c[11],
                      c[12], dt)
    out[2] = ke_nut(i, j, k, tk, teps, solid, c[6], c[11], c[12])
    out[3] = wall_viscosity(i, j, k, tk, nut, wallc, c[0], dx, dy, dz, c[7], c[8], c[9],
                            c[10], c[11])


_DOUBLE = re.compile(r"\b(fadd|fsub|fmul|fdiv|frem|fneg|fcmp \w+|fpext|fptrunc|sitofp|uitofp)"
                     r"\b[^=]*\bdouble\b|\bfpext float\b|\bcall [^(]*double")


def _kernel_bodies(ir: str) -> dict[str, list[str]]:
    """The functions of an LLVM module by name, without Numba's CPython wrappers (which
    unbox Python floats through ``PyFloat_AsDouble``)."""
    funcs, name, body = {}, None, []
    for line in ir.splitlines():
        m = re.match(r'define .*?@"?([^"(]+)"?\(', line)
        if m:
            name, body = m.group(1), []
            continue
        if name is not None:
            if line.startswith("}"):
                if "cpython" not in name and "cfunc" not in name:
                    funcs[name] = body
                name = None
            else:
                body.append(line)
    return funcs


def _args(dtype, n=6):
    a = lambda *s: np.ones(s, dtype)  # noqa: E731
    f = np.dtype(dtype).type
    return ((a(6), a(n + 1, n, n), a(n, n + 1, n), a(n, n, n + 1), a(n, n, n), a(n, n, n),
             np.zeros((n, n, n), np.uint8), a(n, n, n))
            + tuple(f(x) for x in (0.1, 0.1, 0.1, 1.5e-5, 0.03, 20.0))
            + (np.zeros(6, np.int32), np.zeros((6, 3), dtype), f(2.1e-5), f(1 / 0.9),
               np.zeros(6, dtype), np.zeros(6, dtype), 2, 2, 2))


def _double_lines(fn, args) -> list[str]:
    fn(*args)
    bodies = _kernel_bodies(fn.inspect_llvm(fn.signatures[-1]))
    assert bodies, "no kernel body found in the LLVM IR"
    return [line.strip() for body in bodies.values() for line in body if _DOUBLE.search(line)]


@njit
def _literal(out, x):
    out[0] = x[0] * 0.5 + 1e-30      # what the pointwise source must not do


def _keps_args():
    n = 6
    a = lambda *s: np.ones(s, np.float32)  # noqa: E731
    f = np.float32
    return (a(4), a(n + 1, n, n), a(n, n + 1, n), a(n, n, n + 1), a(n, n, n), a(n, n, n),
            np.zeros((n, n, n), np.uint8), a(n, n, n), a(n, n, n), np.zeros((n, n, n), np.uint8),
            f(0.1), f(0.1), f(0.1), np.zeros(6, np.int32), np.zeros(6, np.float32),
            np.ones(13, np.float32), f(0.01), 2, 2, 2)


def _child():
    """In the child process: the double-precision lines of both float32 test kernels, as
    one JSON line."""
    print(json.dumps({"pointwise": _double_lines(_cells, _args("float32")),
                      "keps": _double_lines(_keps_cells, _keps_args())}))


_EARLY: dict = {}


def start_early():
    if "child" not in _EARLY:
        _EARLY["child"] = Child("test_precision", "_child", {"NUMBA_ENABLE_CUDASIM": "0"})


def stop_early():
    child = _EARLY.pop("child", None)
    if child is not None:
        child.stop()


@pytest.fixture(scope="module")
def ir_records():
    start_early()
    return _EARLY["child"].records()


def test_pointwise_float32_arithmetic_stays_float32(ir_records):
    double = ir_records["pointwise"]
    assert not double, (f"{len(double)} double-precision instructions in the float32 "
                        f"kernel, e.g. {double[:3]}")


def test_keps_float32_arithmetic_stays_float32(ir_records):
    """The k-epsilon items (``math.log``, ``math.sqrt`` of float32 values, the wall
    counts as floats) compile to float32 arithmetic only."""
    double = ir_records["keps"]
    assert not double, (f"{len(double)} double-precision instructions in the float32 "
                        f"k-epsilon items, e.g. {double[:3]}")


def test_the_check_sees_a_promoted_literal():
    """Negative control: a float32 kernel with a bare literal is caught."""
    x = np.ones(2, np.float32)
    assert _double_lines(_literal, (np.zeros(1, np.float32), x))


def test_const_types_like_its_field():
    """In plain Python (the CUDA simulator) ``const`` builds the NumPy scalar of the field's
    dtype, from a scalar or an array."""
    for dt in (np.float32, np.float64):
        assert type(pointwise.const(dt(1.0), 0.5)) is dt
        assert type(pointwise.const(np.zeros(2, dt), 0.5)) is dt
        assert pointwise.const(dt(1.0), 0.5) == 0.5
