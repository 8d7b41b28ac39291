"""k-epsilon: the compiled kernels (``kernels.cpu``) against the NumPy reference
(``kernels.reference_keps``), the wall bits against brute force, and the momentum
update's wall-side viscosity against ``kernels.reference.momentum_rate``.

Random fields on the small anisotropic grids of ``test_reference`` (solid blocks, slip
box faces, port-like faces), with k spread over eight decades so that wall cells fall
both in the viscous sublayer and in the log layer, and a stratification that both
produces and damps (buoyancy). Tolerance as for every kernel: float64,
``max |numba - reference| <= 1e-12 * max |reference|``.
"""
from __future__ import annotations

import numpy as np
import pytest

from kernels import reference as ref
from kernels import reference_keps as rk
from kernels.problem import KEPS, BoundaryFace
from kernels.setup import cell_codes, wall_codes
from tests.parity.test_reference import BC_SLIP, BC_UW, SPACING, _fields, assert_parity

cpu = pytest.importorskip("kernels.cpu")

NU = 1.5e-5
GBETA_PRT = 9.81 / 295.0 / 0.9
DT = 0.02


def _kec(dtype=np.float64, buoyancy=True):
    c = KEPS
    return np.array([NU, 1 / c["sigma_k"], 1 / c["sigma_eps"], GBETA_PRT if buoyancy else 0.0,
                     c["c1"], c["c2"], c["c_mu"], c["c_mu"] ** 0.25, c["kappa"], c["e_log"],
                     c["yplus_lam"], c["k_min"], c["eps_min"]], dtype=dtype)


@pytest.fixture(params=[0, 1, 2], ids=lambda s: f"seed{s}")
def ke(request):
    seed = request.param
    f = _fields(seed, sprinkle=0.0 if seed == 0 else 0.08)
    f["solid"] = cell_codes(f["solid"])
    rng = f["rng"]
    shape = f["T"].shape
    f["tk"] = 10.0 ** rng.uniform(-8, 0, shape)
    f["teps"] = 10.0 ** rng.uniform(-6, 0, shape)
    f["nut"] = KEPS["c_mu"] * f["tk"] ** 2 / f["teps"]
    f["nut"] = np.minimum(f["nut"], 0.05)
    # wall bits: most closed faces (some stay ports), none on the slip faces
    codes = f["solid"]
    fluid = (codes & 1) == 0
    wallc = np.zeros(shape, np.uint8)
    for b in range(6):
        closed = fluid & (((codes >> (2 + b)) & 1) == 0) & (rng.random(shape) < 0.8)
        wallc |= closed.astype(np.uint8) << b
    f["wallc"] = wallc
    return f


def _run(kernel, f, dtype=np.float64):
    out = np.zeros(f["T"].shape, dtype)
    F = dtype
    kernel(out, f["tk"].astype(F), f["teps"].astype(F), f["u"].astype(F), f["v"].astype(F),
           f["w"].astype(F), f["nut"].astype(F), f["T"].astype(F), f["solid"], f["wallc"],
           F(SPACING[0]), F(SPACING[1]), F(SPACING[2]), BC_SLIP, np.zeros(6, F), _kec(F),
           F(DT))
    return out


def test_cases_reach_both_wall_layers(ke):
    """Wall cells in the log layer and in the viscous sublayer, production and damping."""
    yplus = KEPS["c_mu"] ** 0.25 * np.sqrt(ke["tk"]) * 0.5 * min(SPACING) / NU
    walled = ke["wallc"] > 0
    assert (yplus[walled] > KEPS["yplus_lam"]).any() and (yplus[walled] < 1).any()
    assert walled.mean() > 0.2 and (~walled & ((ke["solid"] & 1) == 0)).any()


def test_turbulence_k_matches_reference(ke):
    kn = _run(cpu.turbulence_k, ke)
    want = rk.k_step(ke["tk"], ke["teps"], ke["u"], ke["v"], ke["w"], ke["nut"], ke["T"],
                     ke["solid"], ke["wallc"], SPACING, BC_SLIP, NU, GBETA_PRT, DT)
    assert_parity(kn, want, what="turbulence_k")
    assert (kn >= KEPS["k_min"]).all()


def test_turbulence_eps_matches_reference(ke):
    en = _run(cpu.turbulence_eps, ke)
    want = rk.eps_step(ke["tk"], ke["teps"], ke["u"], ke["v"], ke["w"], ke["nut"], ke["T"],
                       ke["solid"], ke["wallc"], SPACING, BC_SLIP, NU, GBETA_PRT, DT)
    assert_parity(en, want, what="turbulence_eps")
    assert (en >= KEPS["eps_min"]).all()


def test_strain_rate_of_a_linear_shear():
    """``u = G z`` in an open box with slip walls across: ``S^2 = G^2`` away from the
    floor and ceiling (a hand calculation), where the no-slip rule takes over."""
    shape = (6, 5, 8)
    dz = 0.1
    G = 3.0
    z_face = np.arange(shape[2]) * dz + 0.5 * dz
    u = np.broadcast_to(G * z_face, (shape[0] + 1, shape[1], shape[2])).copy()
    v = np.zeros((shape[0], shape[1] + 1, shape[2]))
    w = np.zeros((shape[0], shape[1], shape[2] + 1))
    solid = cell_codes(np.zeros(shape, np.uint8))
    s2 = rk.strain_rate_sq(u, v, w, solid, (0.1, 0.1, dz), np.ones(6, np.int32))
    np.testing.assert_allclose(s2[:, :, 1:-1], G ** 2, rtol=1e-12)


def test_turbulence_viscosity_matches_reference(ke):
    nut = np.zeros(ke["T"].shape)
    nutw = np.zeros(ke["T"].shape)
    cpu.turbulence_viscosity(nut, nutw, ke["tk"], ke["teps"], ke["solid"], ke["wallc"],
                             *SPACING, _kec())
    want = rk.ke_nut(ke["tk"], ke["teps"], ke["solid"])
    assert_parity(nut, want, what="nut")
    assert_parity(nutw, rk.wall_viscosity(ke["tk"], want, ke["wallc"], NU, SPACING),
                  what="nutw")


@pytest.mark.parametrize("c", [0, 1, 2])
def test_momentum_wall_viscosity_matches_reference(ke, c):
    """The predictor with a wall-side viscosity apart from ``nut``."""
    f = ke
    nutw = 0.05 * f["rng"].random(f["T"].shape)
    q = (f["u"], f["v"], f["w"])[c]
    out = np.zeros_like(q)
    cpu.predict_velocity(c, f["u"], f["v"], f["w"], out, f["nut"], f["T"], f["solid"],
                         *SPACING, 0.01, 9.81 / 295.0, 22.0, BC_SLIP, BC_UW, DT, nutw=nutw)
    rate = ref.momentum_rate(c, f["u"], f["v"], f["w"], f["nut"], f["T"], f["solid"], SPACING,
                             0.01, 9.81 / 295.0, 22.0, BC_SLIP, BC_UW, nutw=nutw)
    assert_parity((out - q) / DT, rate, rtol=1e-10, what=f"predict {c} with nutw")
    same = ref.momentum_rate(c, f["u"], f["v"], f["w"], f["nut"], f["T"], f["solid"], SPACING,
                             0.01, 9.81 / 295.0, 22.0, BC_SLIP, BC_UW)
    assert np.abs(rate - same).max() > 1e-6 * np.abs(same).max()     # it does act


def test_float32_kernels_follow_float64(ke):
    """Float32 within 1e-4 of the float64 answer (relative to its largest value)."""
    for kernel in (cpu.turbulence_k, cpu.turbulence_eps):
        a = _run(kernel, ke, np.float32)
        b = _run(kernel, ke, np.float64)
        assert a.dtype == np.float32
        err = np.abs(a - b) / np.maximum(np.abs(b), 1e-30)
        # compare where the value is well above the floors
        big = np.abs(b) > 1e-6 * np.abs(b).max()
        assert float(np.max(err[big])) < 2e-3


def test_wall_codes_brute_force():
    """Closed faces of fluid cells are walls, except port faces and slip box faces."""
    rng = np.random.default_rng(5)
    f = _fields(3)
    codes = cell_codes(f["solid"])
    fluid = (codes & 1) == 0
    shape = codes.shape
    cells = np.argwhere(fluid)[rng.choice(int(fluid.sum()), 12, replace=False)]
    axes = rng.integers(0, 3, 12)
    sides = rng.choice([-1, 1], 12)

    class _P:
        boundaries = {n: BoundaryFace("slip" if n == "x-" else "wall")
                      for n in ("x-", "x+", "y-", "y+", "z-", "z+")}
    got = wall_codes(codes, _P, cells, axes, sides)
    ports = {(tuple(c), 2 * a + (s > 0)) for c, a, s in zip(cells, axes, sides)}
    for i, j, k in np.ndindex(*shape):
        for ax in range(3):
            for s in (-1, 1):
                bit = 2 * ax + (s > 0)
                n = [i, j, k]
                n[ax] += s
                inside = 0 <= n[ax] < shape[ax]
                closed = fluid[i, j, k] and not (inside and fluid[tuple(n)])
                slip = (not inside) and bit == 0
                want = closed and not slip and ((i, j, k), bit) not in ports
                assert bool((got[i, j, k] >> bit) & 1) == want, (i, j, k, bit)
