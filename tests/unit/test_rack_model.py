"""One rack model for every command (issue 20): ``twin solve``, ``whatif``, ``fail`` and
``capacity`` use the ITE rack model of ``twin run`` (server fans that follow the inlet,
leakage, throttling), and the design point is unchanged.
"""
from __future__ import annotations

import numpy as np
import pytest

from kernels.solver import SolverSettings
from twin.facility import BUILTIN_DIR, load_facility
from twin.models.it_load import rack_power
from twin.thermal.racks import hall_racks, rack_spec_for
from twin.thermal.steady import solve_hall

SMALL = BUILTIN_DIR / "small-hall.toml"
AI = BUILTIN_DIR / "ai-hall.toml"
SETTINGS = SolverSettings(max_steps=3000)


@pytest.mark.parametrize("path", [SMALL, AI], ids=["small", "ai"])
def test_design_point_is_the_black_box(path):
    """At the design inlet temperature the rack model gives each rack its design heat to
    the air at the utilisation and, at full load, its design airflow: the answer of the
    fixed racks (the server fans slow down at part load, as servers do)."""
    fac = load_facility(path)
    for hall in fac.halls:
        for r in fac.layout(hall.name).racks:
            spec = rack_spec_for(r, fac.rho_cp)
            for u in (1.0, 0.6):
                res = rack_power(u, spec.design_inlet_temp_c, spec)
                rec = r.record(u)
                assert res.heat_to_air_w == pytest.approx(rec.air_heat_w, rel=1e-9), r.name
                if u == 1.0:
                    assert res.airflow_m3_s == pytest.approx(r.flow_m3_s, rel=1e-9), r.name
                else:
                    assert res.airflow_m3_s < r.flow_m3_s, r.name


@pytest.fixture(scope="module")
def solved():
    fac = load_facility(SMALL)
    out = {}
    for model in ("fixed", "ite"):
        out[model] = solve_hall(fac, None, cell_m=0.4, backend="numba-cpu", settings=SETTINGS,
                                rack_model=model)
    return fac, out


def test_steady_racks_sit_at_the_rack_models_fixed_point(solved):
    fac, sols = solved
    sol = sols["ite"]
    s = sol.summary
    rm = s["rack_model"]
    assert rm["model"] == "ite" and rm["settled"] and 1 <= rm["rounds"] <= 8, rm
    assert s["converged"]
    racks = hall_racks(fac, sol.solver.problem)
    by_name = {r["name"]: r for r in s["racks"]}
    for n, name in enumerate(racks.names):
        row = by_name[name]
        want = rack_power(racks.utilization[n], row["intake_temp_c"], racks.specs[n])
        # the heat in the field is the model's at the reported inlet (within the stopping
        # rule), the reported power exactly the model's there
        assert row["air_heat_w"] == pytest.approx(want.heat_to_air_w, rel=0.006), name
        assert row["power_w"] == pytest.approx(want.power_w, rel=1e-9), name
        # the airflow in the field is the model's within the re-solve tolerance (10 %)
        assert row["flow_m3_s"] == pytest.approx(want.airflow_m3_s, rel=0.10), name
    bud = s["energy_budget"]
    assert abs(bud["imbalance_frac"]) < 1e-3, bud


def test_the_rack_model_moves_the_answer_away_from_the_design_inlet(solved):
    """The small hall's intakes sit below the 25 degC design inlet: the server fans run
    slower than design, so the racks move less air and their exhaust is hotter than the
    black box's; the fixed racks keep their design flow."""
    fac, sols = solved
    fixed = {r["name"]: r for r in sols["fixed"].summary["racks"]}
    ite = {r["name"]: r for r in sols["ite"].summary["racks"]}
    lay = fac.layout(fac.halls[0].name)
    design = {r.name: r.flow_m3_s for r in lay.racks}
    for name, r in fixed.items():
        assert r["flow_m3_s"] == pytest.approx(design[name], rel=1e-9)
    cool = [n for n, r in ite.items() if r["intake_temp_c"] < 23.0]
    assert cool, "expected racks well below the design inlet"
    assert all(ite[n]["flow_m3_s"] < 0.95 * design[n] for n in cool)
    assert all(ite[n]["exhaust_temp_c"] > fixed[n]["exhaust_temp_c"] for n in cool)
    assert sols["fixed"].summary["rack_model"]["rounds"] == 0


def test_throttling_shows_in_the_steady_answer():
    """A hall whose racks breathe 40 degC air throttles them: the rack model's work
    fraction drops below 1 and the racks' heat with it."""
    fac = load_facility(SMALL)
    lay = fac.layout(fac.halls[0].name)
    spec = rack_spec_for(lay.racks[0], fac.rho_cp)
    hot = rack_power(1.0, spec.inlet_limit_c + 0.5 * spec.throttle_band_k, spec)
    cool = rack_power(1.0, spec.design_inlet_temp_c, spec)
    assert hot.work_fraction < 1.0 and hot.compute_power_w < cool.compute_power_w
    racks = hall_racks(fac, _problem(fac))
    hot_inlets = [sp.inlet_limit_c + sp.throttle_band_k for sp in racks.specs]
    res = racks.response(hot_inlets)
    assert np.all(res["work"] < 1.0) and np.all(res["air_w"] < racks.response(
        [sp.design_inlet_temp_c for sp in racks.specs])["air_w"])


def _problem(fac):
    from twin.thermal.mesh import mesh_hall
    return mesh_hall(fac, None, cell_m=0.4)[0]
