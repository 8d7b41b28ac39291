"""k-epsilon in use: the wall functions obey the law of the wall, and a hall solves with it
through ``twin.solve(turbulence="k-epsilon")`` (``twin solve --turbulence k-epsilon``)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import twin
from kernels import reference_keps as rk
from kernels.problem import KEPS
from kernels.setup import cell_codes

ROOT = Path(__file__).resolve().parents[2]
NU = 1.5e-5


@pytest.mark.parametrize("yplus", [30.0, 100.0, 500.0])
def test_wall_function_follows_the_law_of_the_wall(yplus):
    """A wall cell in an equilibrium log layer (``k = u_tau^2 / sqrt(Cmu)``, the speed
    ``U = u_tau / kappa ln(E y+)`` half a cell from the wall): the wall function's shear is
    ``u_tau^2``, its production equals its dissipation, ``u_tau^3 / (kappa y)``, and the
    eddy viscosity at the wall gives the same shear (Launder & Spalding 1974)."""
    c = KEPS
    d = 0.2
    y = 0.5 * d
    u_tau = yplus * NU / y
    k = u_tau ** 2 / math.sqrt(c["c_mu"])
    speed = u_tau / c["kappa"] * math.log(c["e_log"] * yplus)
    shape = (1, 1, 3)
    u = np.full((2, 1, 3), speed)        # flow along x over a floor (z-)
    v = np.zeros((1, 2, 3))
    w = np.zeros((1, 1, 4))
    tk = np.full(shape, k)
    wallc = np.zeros(shape, np.uint8)
    wallc[0, 0, 0] = 1 << 4              # the floor face of the bottom cell
    n, G, E, NW = rk.wall_terms(u, v, w, tk, wallc, NU, (d, d, d))
    assert n[0, 0, 0] == 1 and n[0, 0, 1:].sum() == 0
    tau = (NU + NW[0, 0, 0]) * speed / y
    assert tau == pytest.approx(u_tau ** 2, rel=1e-12)
    assert G[0, 0, 0] == pytest.approx(u_tau ** 3 / (c["kappa"] * y), rel=1e-12)
    assert E[0, 0, 0] == pytest.approx(G[0, 0, 0], rel=1e-12)
    # the compiled kernel's wall viscosity is the same number
    from kernels import cpu
    nut = np.zeros(shape)
    nutw = np.zeros(shape)
    kec = np.array([NU, 1.0, 1 / 1.3, 0.0, c["c1"], c["c2"], c["c_mu"], c["c_mu"] ** 0.25,
                    c["kappa"], c["e_log"], c["yplus_lam"], c["k_min"], c["eps_min"]])
    solid = cell_codes(np.zeros(shape, np.uint8))
    cpu.turbulence_viscosity(nut, nutw, tk, np.full(shape, 1.0), solid, wallc, d, d, d, kec)
    assert nutw[0, 0, 0] == pytest.approx(NW[0, 0, 0], rel=1e-12)


def test_viscous_sublayer_has_no_wall_eddy_viscosity():
    """Below ``y+_lam`` the wall's eddy viscosity is 0: the shear is the laminar one."""
    c = KEPS
    y = 0.1
    k = (5.0 * NU / y / c["c_mu"] ** 0.25) ** 2          # y+ = 5
    n, G, E, NW = rk.wall_terms(np.ones((2, 1, 1)), np.zeros((1, 2, 1)), np.zeros((1, 1, 2)),
                                np.full((1, 1, 1), k), np.full((1, 1, 1), 1 << 4, np.uint8),
                                NU, (0.2, 0.2, 0.2))
    assert NW[0, 0, 0] == 0.0 and n[0, 0, 0] == 1


def test_small_hall_solves_with_k_epsilon():
    """The shipped small hall at 0.5 m through the API with k-epsilon (a capped number of
    steps): the summary names the model, k-epsilon's eddy viscosity is positive in the
    air, and the final heat solve closes the balance as with every model."""
    sol = twin.solve(ROOT / "meshes" / "small-hall.toml", cell_m=0.5, racks="fixed",
                     turbulence="k-epsilon", max_steps=1500)
    s = sol.summary
    assert s["turbulence"] == "k-epsilon"
    inlets = [r["intake_temp_c"] for r in s["racks"]]
    assert all(np.isfinite(inlets)) and 15.0 < min(inlets) and max(inlets) < 45.0
    assert abs(s["energy_budget"]["imbalance_frac"]) < 1e-4
    with pytest.raises(Exception, match="turbulence model 'bogus' is unknown"):
        twin.solve(ROOT / "meshes" / "small-hall.toml", cell_m=0.5, turbulence="bogus")
