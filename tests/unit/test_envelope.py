"""Envelope gains (issue 24, item 6): walls and roof with U-values to the outdoor air and
the sun on the roof (sol-air temperature), as heat into the air next to them; against a
hand calculation ``U A dT`` on a simple box, in the heat balance of ``twin solve``, and
refused with one line when wrong."""
from __future__ import annotations

import numpy as np
import pytest

from kernels.solver import SolverSettings
from twin.facility import BUILTIN_DIR, FacilityError, load_facility, loads_facility
from twin.thermal.envelope import (LONGWAVE_HORIZONTAL_K, EnvelopeFace, design_outdoor,
                                   envelope_heat_w, sol_air_temp_c)
from twin.thermal.mesh import mesh_hall
from twin.thermal.steady import solve_hall

# A 6 x 4 m room, 3 m high on a slab, one 5 kW rack and a front-supply unit.
BOX = """
format_version = 1
[campus]
name = "box"
lat_deg = 35.5
lon_deg = 129.3
weather = "builtin:ulsan"

[rack_types.r]
nameplate_power_kw = 5.0
idle_power_kw = 2.0
design_delta_t_k = 12.0
width_m = 0.6
depth_m = 1.2
height_m = 2.0

[[halls]]
name = "H1"
length_m = 6.0
width_m = 4.0
ceiling_height_m = 3.0
{envelope}

[[halls.racks]]
name = "R1"
type = "r"
x_m = 3.6
y_m = 1.2
facing = "-y"

[[halls.cooling_units]]
name = "CU"
type = "crah-front"
x_m = 0.4
y_m = 1.6
width_m = 1.2
depth_m = 0.6
height_m = 2.0
facing = "+x"
airflow_m3_s = 1.0
supply_temp_c = 20.0
capacity_kw = 20.0
"""

ENV = """
[halls.envelope]
wall_u_w_m2k = 0.5
roof_u_w_m2k = 0.3
roof_solar_absorptance = 0.6
design_outdoor_temp_c = 35.0
design_roof_irradiance_w_m2 = 800.0
"""


def _box(env=ENV):
    return loads_facility(BOX.replace("{envelope}", env), folder=BUILTIN_DIR)


def test_envelope_heat_by_hand():
    """A 40 m2 wall of U 0.5 at 35 degC outdoors and 25 inside: 0.5 * 40 * 10 = 200 W; a
    100 m2 roof of U 0.3, absorptance 0.6, 800 W/m2 of sun: T_sa = 35 + 0.6 * 800 / 17
    - 3.9 = 59.335 degC, 0.3 * 100 * 34.335 = 1030.06 W (ASHRAE Fundamentals ch. 18)."""
    cells = np.zeros((1, 3), dtype=np.int64)
    wall = EnvelopeFace("-x", 0.5, 40.0, 0.0, 0.0, cells)
    roof = EnvelopeFace("roof", 0.3, 100.0, 0.6, LONGWAVE_HORIZONTAL_K, cells)
    q = envelope_heat_w([wall, roof], [25.0, 25.0], 35.0, 800.0)
    assert q[0] == pytest.approx(200.0, rel=1e-12)
    assert float(sol_air_temp_c(35.0, 800.0, 0.6, 3.9)) == pytest.approx(59.3353, abs=1e-4)
    assert q[1] == pytest.approx(1030.0588, abs=1e-3)
    # a winter night: the same roof loses heat
    assert envelope_heat_w([roof], [25.0], -5.0, 0.0)[0] == pytest.approx(0.3 * 100 * (-33.9))


def test_box_envelope_is_meshed_as_sources_on_the_air_by_its_faces():
    """0.2 m cells: the -x wall is 4 x 3 m (12 m2), the -y wall 6 x 3 m (18 m2), the roof
    6 x 4 m (24 m2); each face's source lies on the fluid cells touching it; without an
    envelope (the default) there are none."""
    problem, report = mesh_hall(_box(), cell_m=0.2, backend=None)
    faces = {f.name: f for f in report.envelope}
    assert sorted(faces) == ["+x", "+y", "-x", "-y", "roof"]
    assert faces["-x"].area_m2 == pytest.approx(12.0) and faces["-y"].area_m2 == pytest.approx(18.0)
    assert faces["roof"].area_m2 == pytest.approx(24.0)
    assert np.all(faces["-x"].cells[:, 0] == 0) and np.all(faces["roof"].cells[:, 2] == 14)
    assert report.outdoor == (35.0, 800.0)
    assert {s.name for s in problem.sources} == {f"H1/envelope/{n}" for n in faces}
    plain, rep0 = mesh_hall(_box(""), cell_m=0.2, backend=None)
    assert rep0.envelope == [] and plain.sources == ()


@pytest.fixture(scope="module")
def solved():
    return solve_hall(_box(), None, cell_m=0.2, backend="numba-cpu",
                      settings=SolverSettings(max_steps=3000))


def test_solved_envelope_against_u_a_dt(solved):
    """After the solve each face passes U A (T_sa - T_air) with T_air the mean of the air
    touching it in the final field (to 0.2 %: the refinement stops within a watt), the sum
    is the heat balance's envelope term, and the unit removes the rack's heat plus it.

    The balance closes within 1e-5: the answer's heat solve goes on until it closes to
    ``tol_energy_finish`` (1e-6; measured 2026-12-07: -9.4e-7, where stopping on the
    temperature change alone left 1.02e-5; the float32 floor of this box is 7e-7 to
    1e-6, so the limit stays at 1e-5). The pressure field keeps its scale: the envelope's new solver carries the step
    ``phi`` belongs to (divided by 1 s it read 0.02 Pa across the room)."""
    s, solver = solved.summary, solved.solver
    assert s["converged"]
    env = s["envelope"]
    T = solver.backend.to_host(solver.T).astype(float)
    by = {f.name: f for f in solved.report.envelope}
    total = 0.0
    for row in env["faces"]:
        f = by[row["name"]]
        t_air = float(np.mean(T[f.cells[:, 0], f.cells[:, 1], f.cells[:, 2]]))
        u, area = (0.3, 24.0) if f.name == "roof" else (0.5, 12.0 if "x" in f.name else 18.0)
        t_sa = 35.0 + (0.6 * 800.0 / 17.0 - 3.9 if f.name == "roof" else 0.0)
        assert row["air_temp_c"] == pytest.approx(t_air, abs=1e-4)
        assert row["heat_w"] == pytest.approx(u * area * (t_sa - t_air), rel=2e-3, abs=1.0)
        total += row["heat_w"]
    assert 300.0 < total < 1500.0
    hb = s["heat_balance"]
    assert hb["envelope_heat_w"] == pytest.approx(total, rel=1e-12)
    assert s["energy_budget"]["source_heat_w"] == pytest.approx(total, rel=1e-9)
    assert hb["cooler_heat_w"] == pytest.approx(hb["rack_heat_to_room_w"] + total, rel=2e-5)
    assert abs(s["energy_budget"]["imbalance_frac"]) < 1e-5
    p = solver.fields()["pressure_pa"]
    p = p[np.isfinite(p)]
    print(f"imbalance {s['energy_budget']['imbalance_frac']:.3g}, "
          f"pressure {p.min():.3f} to {p.max():.3f} Pa")
    assert solver.dt is not None and p.max() - p.min() > 0.5


def test_design_outdoor_defaults_to_the_weathers_cooling_design_dry_bulb():
    """Without ``design_outdoor_temp_c`` the steady commands use the dry-bulb exceeded in
    0.4 % of the campus weather's hours (35 of 8,760)."""
    from twin.models.weather import load_weather
    fac = _box(ENV.replace("design_outdoor_temp_c = 35.0\n", ""))
    t, sun = design_outdoor(fac, fac.hall())
    db = np.sort(np.asarray(load_weather("builtin:ulsan").dry_bulb_temp_c, float))
    assert sun == 800.0
    assert int((db > t + 1e-9).sum()) <= 35 and int((db >= t - 1e-9).sum()) >= 35
    assert 25.0 < t < 40.0


@pytest.mark.parametrize("extra,words", [
    ("wall_u_w_m2k = -0.5", ["halls[H1].envelope.wall_u_w_m2k", ">= 0"]),
    ("wall_u_w_m2k = 60.0", ["halls[H1].envelope.wall_u_w_m2k", "<= 6"]),
    ('walls = ["-x", "-x"]', ["halls[H1].envelope", "names a wall twice"]),
    ('walls = ["north"]', ["halls[H1].envelope.walls", "-x"]),
    ("roof = false", ["halls[H1].envelope", "need a roof to the outdoors"]),
], ids=["negative-u", "u-of-a-window", "wall-twice", "wall-unknown", "sun-without-roof"])
def test_bad_envelopes_are_one_clear_line(extra, words):
    key = extra.split(" =")[0]
    env = "\n".join(ln for ln in ENV.splitlines() if not ln.startswith(key + " ="))
    with pytest.raises(FacilityError) as e:
        _box(env + "\n" + extra + "\n")
    lines = [ln for ln in str(e.value).splitlines() if ln.strip().startswith("error")]
    assert len(lines) == 1, str(e.value)
    for w in words:
        assert w in lines[0], lines[0]


def test_the_legacy_hall_reports_its_envelope():
    fac = load_facility(BUILTIN_DIR / "legacy-hall.toml")
    assert fac.hall().envelope.wall_u_w_m2k == 0.6
    _, report = mesh_hall(fac, cell_m=0.4, backend=None)
    assert [f.name for f in report.envelope] == ["-x", "+x", "-y", "+y", "roof"]
    assert any("envelope" in ln for ln in report.lines())
