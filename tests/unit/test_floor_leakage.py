"""Raised-floor leakage (issue 24, item 4): cable cut-outs and panel seams as a
distributed leak from the plenum (``floor_leakage_open_frac``), meshed as a loss on every
floor cell under room air; its flow follows the orifice relation and takes air from the
tiles. The shipped ``meshes/legacy-hall.toml`` leaks through 0.4 % of its floor."""
from __future__ import annotations

import math

import numpy as np
import pytest

from kernels.flags import Flag
from kernels.solver import SolverSettings
from twin.facility import (BUILTIN_DIR, FacilityError, floor_leak_k, idelchik_perforated_plate_k,
                           load_facility, loads_facility)
from twin.thermal.mesh import LEAK_CELL_OPEN_FRAC, mesh_hall
from twin.thermal.steady import solve_hall

LEGACY = BUILTIN_DIR / "legacy-hall.toml"
_BASE = LEGACY.read_text(encoding="utf-8")
SETTINGS = SolverSettings(max_steps=4000)
CELL = 0.4


def _sealed():
    doc = _BASE.replace("floor_leakage_open_frac = 0.004", "floor_leakage_open_frac = 0.0")
    assert doc != _BASE
    return loads_facility(doc, folder=BUILTIN_DIR)


def test_the_leak_is_an_orifice():
    """The floor as a thin plate of open fraction f: ``dp = zeta rho v^2 / 2`` over the
    whole floor is ``Q = mu f A sqrt(2 dp / rho)`` through the openings, with a discharge
    coefficient ``mu = 1 / (f sqrt(zeta))`` near the sharp orifice's 0.6 for small f."""
    for f in (0.001, 0.004, 0.02):
        zeta = floor_leak_k(f)
        assert zeta == idelchik_perforated_plate_k(f)
        mu = 1.0 / (f * math.sqrt(zeta))
        assert mu == pytest.approx(1.0 / (0.707 * (1 - f) ** 0.375 + 1 - f), rel=1e-12)
        assert 0.58 < mu < 0.6
    # by hand at f = 0.004: zeta = (0.707 * 0.996^0.375 + 0.996)^2 / 0.004^2
    assert floor_leak_k(0.004) == pytest.approx((0.707 * 0.996 ** 0.375 + 0.996) ** 2 / 1.6e-5,
                                                rel=1e-12)


def test_a_leaky_floor_is_meshed_open_under_room_air():
    """0.4 m cells: 521 floor cells lie under room air and are not tiles; 0.4 % of them,
    2.084 cells of open area, gathered into openings of a tile's open fraction: 8 cells
    open as ``FLOOR`` fluid cells behind one resistance of ``zeta(2.084 / 8)``, spread
    over the floor; none under racks, units or columns; a sealed floor has none."""
    fac = load_facility(LEGACY)
    problem, report = mesh_hall(fac, cell_m=CELL, backend=None)
    leak = [r for r in problem.resistances if r.name == "H1/floor-leakage"]
    assert len(leak) == 1 and leak[0].axis == 2
    assert LEAK_CELL_OPEN_FRAC == 0.25
    k = int(leak[0].faces[0, 2])
    layer = problem.solid[:, :, k]
    opened = layer == int(Flag.FLOOR)
    closed = (layer == int(Flag.SOLID | Flag.FLOOR)) & (
        (problem.solid[:, :, k + 1] & int(Flag.SOLID)) == 0)
    assert int(opened.sum()) + int(closed.sum()) == 521
    assert int(opened.sum()) == report.leak_cells == len(leak[0].faces) == 8
    assert leak[0].k_loss == pytest.approx(floor_leak_k(0.004 * 521 / 8), rel=1e-12)
    assert np.ptp(leak[0].faces[:, 0]) >= 20            # spread along the hall
    assert np.all((problem.solid[:, :, k + 1][opened] & int(Flag.SOLID)) == 0)
    # under every rack and column the floor stays solid
    assert np.all(layer[(problem.solid[:, :, k + 1] & int(Flag.SOLID)) != 0] & int(Flag.SOLID))
    sealed, rep0 = mesh_hall(_sealed(), cell_m=CELL, backend=None)
    assert rep0.leak_cells == 0 and not any(r.name.endswith("floor-leakage")
                                            for r in sealed.resistances)


def _open_flows(solver, name):
    """Flow up through a resistance's faces [m3/s] and their mean speed [m/s]."""
    r = next(r for r in solver.problem.resistances if r.name == name)
    w = solver.get_state()["w"]
    g = solver.problem.grid
    v = w[r.faces[:, 0], r.faces[:, 1], r.faces[:, 2]].astype(float)
    return float(v.sum() * g.spacing_m[0] * g.spacing_m[1]), float(v.mean())


@pytest.fixture(scope="module")
def solves():
    leaky = solve_hall(load_facility(LEGACY), None, cell_m=CELL, backend="numba-cpu",
                       settings=SETTINGS)
    sealed = solve_hall(_sealed(), None, cell_m=CELL, backend="numba-cpu", settings=SETTINGS)
    return leaky, sealed


def test_leak_flow_follows_the_orifice_relation_and_lowers_the_tile_flow(solves):
    """Plenum and room are each near one pressure, so tile and leak faces see about the
    same ``dp`` and their speeds stand as ``sqrt(zeta_tile / zeta_leak)`` (within 10 %: the
    plenum's own dynamic pressure varies along it), the leak's flow that of its open area
    by the orifice relation.
    Everything the CRAHs blow into the plenum leaves through tiles and leaks; sealing the
    floor sends the leak's share back through the tiles."""
    leaky, sealed = solves
    assert leaky.summary["converged"] and sealed.summary["converged"]
    crah = sum(d.flow_m3_s for d in leaky.solver.devices if d.kind == "cooler")
    q_tile, v_tile = _open_flows(leaky.solver, "H1/CA")
    q_leak, v_leak = _open_flows(leaky.solver, "H1/floor-leakage")
    assert q_tile + q_leak == pytest.approx(crah, rel=1e-3)
    r = next(r for r in leaky.solver.problem.resistances if r.name == "H1/floor-leakage")
    want = math.sqrt(idelchik_perforated_plate_k(0.25) / r.k_loss)
    assert v_leak / v_tile == pytest.approx(want, rel=0.10)
    assert 0.1 < q_leak / crah < 0.4                   # seams and cut-outs: a real bypass
    q_tile0, _ = _open_flows(sealed.solver, "H1/CA")
    assert q_tile0 == pytest.approx(crah, rel=1e-3)
    assert q_tile < q_tile0 - 0.9 * q_leak


@pytest.mark.parametrize("extra,words", [
    ("floor_leakage_open_frac = 0.5", ["halls[H1].floor_leakage_open_frac", "it must be <= 0.1"]),
    ("floor_leakage_open_frac = -0.01", ["halls[H1].floor_leakage_open_frac", "it must be >= 0"]),
], ids=["a-grate", "negative"])
def test_bad_floor_leakage_is_one_clear_line(extra, words):
    with pytest.raises(FacilityError) as e:
        loads_facility(_BASE.replace("floor_leakage_open_frac = 0.004", extra),
                       folder=BUILTIN_DIR)
    lines = [ln for ln in str(e.value).splitlines() if ln.strip().startswith("error")]
    assert len(lines) == 1, str(e.value)
    for w in words:
        assert w in lines[0], lines[0]


def test_floor_leakage_without_a_raised_floor_is_refused():
    slab = BUILTIN_DIR.parent / "benchmarks" / "validation" / "halls" / "slab-ceiling.toml"
    doc = slab.read_text(encoding="utf-8").replace(
        "raised_floor_height_m = 0.0", "raised_floor_height_m = 0.0\nfloor_leakage_open_frac = 0.01", 1)
    with pytest.raises(FacilityError) as e:
        loads_facility(doc, folder=slab.parent)
    lines = [ln for ln in str(e.value).splitlines() if ln.strip().startswith("error")]
    assert len(lines) == 1, str(e.value)
    assert "floor_leakage_open_frac = 0.01 but the hall has no raised floor" in lines[0]
