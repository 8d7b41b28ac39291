"""Each shipped facility validates, meshes and solves (issue 3).

Coarse cells and a capped number of pseudo-time steps keep this within CI's budget on
2 cores; what must hold even then: the heat balance closes (the energy finish solves the
heat equation exactly at the flow reached), temperatures are finite and physical (between
the lowest supply temperature and a plausible exhaust), and the flow is divergence-free.
"""
from pathlib import Path

import numpy as np
import pytest

from kernels.solver import SolverSettings
from twin.facility import load_facility
from twin.solve import solve_hall

MESHES = Path(__file__).resolve().parents[2] / "meshes"


@pytest.mark.parametrize("name,hall,cell,steps", [
    ("small-hall.toml", None, 0.25, 9000),
    ("ai-hall.toml", None, 0.3, 400),
    ("ulsan-campus.toml", "DC1-H01", 0.3, 300),
])
def test_shipped_facility_solves(name, hall, cell, steps):
    fac = load_facility(MESHES / name)
    sol = solve_hall(fac, hall, cell_m=cell, backend="numba-cpu",
                     settings=SolverSettings(max_steps=steps))
    s = sol.summary
    assert s["racks"] and s["cooling_units"]
    b = s["energy_budget"]
    assert abs(b["imbalance_frac"]) < 0.005, b
    assert b["rack_heat_w"] > 0
    supply = min(u["supply_temp_c"] for u in s["cooling_units"])
    for r in s["racks"]:
        assert np.isfinite(r["intake_temp_c"]) and supply - 0.5 <= r["intake_temp_c"] < 60.0
        assert r["exhaust_temp_c"] > r["intake_temp_c"]
    assert s["max_divergence_m_s"] < 1e-3
    if name == "small-hall.toml":
        # the quick-start default reaches its (statistically) steady state
        assert s["converged"], sol.run.residuals
