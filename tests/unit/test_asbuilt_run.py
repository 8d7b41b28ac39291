"""The hall as built over time (issue 24, items 2 and 6 in ``twin run``): the legacy hall's
rear doors send their heat to the chilled-water plant and the IT energy still closes; its
walls and roof follow the weather hour by hour."""
from __future__ import annotations

import numpy as np
import pytest

from twin.facility import BUILTIN_DIR
from twin.loop.simulation import RunSettings, Simulation


@pytest.fixture(scope="module")
def run():
    # three hours of a summer morning (day 200), 1 h steps, coarse cells; the envelope's
    # inputs of every step are kept for the hand calculation
    from twin.loop.hall import HallModel
    seen = []
    plain = HallModel.set_envelope

    def keep(self, t_out, sun):
        plain(self, t_out, sun)
        seen.append((t_out, sun, self.env_air_temp_c.copy(), self.env_powers.copy()))
    HallModel.set_envelope = keep
    try:
        sim = Simulation(BUILTIN_DIR / "legacy-hall.toml",
                         RunSettings(hours=3.0, step_s=3600.0, cell_m=0.4, backend="cpu",
                                     start_h=24 * 200 + 6))
        sim.run()
    finally:
        HallModel.set_envelope = plain
    sim.envelope_seen = seen
    return sim


def test_rear_doors_heat_goes_to_the_plant_and_energy_closes(run):
    c, pl = run.series["campus"], run.series["plant"]
    it = np.asarray(c["it_power_w"], float)
    door = np.asarray(c["door_heat_w"], float)
    assert np.all(door > 0.1 * it)                       # row B's doors take their share
    # IT power (+ door fans, none: passive) = heat to room air + liquid + rear doors
    assert np.max(np.abs(np.asarray(c["it_balance_w"], float))) < 1e-6 * it.max()
    # the doors are on chilled water: the chilled-water load is the units' heat, fans, doors
    units = np.asarray(c["cooler_heat_w"], float)
    fans = np.asarray(run.series["power"]["crah_fan_power_w"], float)
    assert np.asarray(pl["chw_load_w"], float) == pytest.approx(units + fans + door, rel=1e-9)
    # the room air: racks' heat to the room + envelope = what the units remove
    assert np.max(np.abs(np.asarray(c["air_balance_frac"], float))) < 1e-3
    per_rack = np.asarray(run.series["racks"]["door_heat_w"], float)
    assert per_rack.shape[1] == 12 and np.all(per_rack[:, :6] == 0) and np.all(per_rack[:, 6:] > 0)


def test_envelope_follows_the_weather(run):
    """Every step's walls and roof pass U A (T_sa - T_air) by hand, T_sa from the step's
    dry-bulb and sun (roof: absorptance 0.7, h_o 17, 3.9 K to the sky), T_air the air next
    to them; the recorded heat is theirs (the solver is made again when they move by more
    than 5 %); the morning warms and the gain grows."""
    hm = run.halls[0]
    db = np.asarray(run.env["dry_bulb_c"], float)
    sun = np.asarray(run.ghi_w_m2, float)
    rec = np.asarray(run.series["campus"]["boundary_heat_w"], float)
    assert [f.name for f in hm.env_faces] == ["-x", "+x", "-y", "+y", "roof"]
    ua = {"-x": 0.6 * 8.4 * 3.6, "+x": 0.6 * 8.4 * 3.6, "-y": 0.6 * 12.0 * 3.6,
          "+y": 0.6 * 12.0 * 3.6, "roof": 0.45 * 12.0 * 8.4}
    assert len(run.envelope_seen) == 3
    for k, (t_out, irr, t_air, powers) in enumerate(run.envelope_seen):
        assert (t_out, irr) == (db[k], sun[k])
        hand = np.array([ua[f.name] * (t_out + (0.7 * irr / 17.0 - 3.9 if f.name == "roof"
                                                else 0.0) - t_air[n])
                         for n, f in enumerate(hm.env_faces)])
        # the sources the solver holds: these, or the last ones within 5 % (or 96 W, 0.1 %
        # of the hall's design heat to air) of them
        tol = max(0.05 * np.abs(hand).sum(), 96.0)
        assert np.abs(powers - hand).sum() <= tol + 1e-9
        assert rec[k] == pytest.approx(float(powers.sum()), abs=0.5)
    assert db[-1] > db[0] and sun[-1] > sun[0] and rec[-1] > rec[1]


def test_active_rear_doors_fans_are_counted():
    """The same hall with active doors (300 W of fans at the rated airflow): their fans'
    power is cooling power and heat in the air, and IT + fans = room + liquid + doors."""
    from twin.facility import loads_facility
    doc = (BUILTIN_DIR / "legacy-hall.toml").read_text(encoding="utf-8").replace(
        'kind = "passive"', 'kind = "active"\nfan_power_w = 300.0')
    sim = Simulation(loads_facility(doc, folder=BUILTIN_DIR),
                     RunSettings(hours=1.0, step_s=3600.0, cell_m=0.4, backend="cpu",
                                 start_h=24 * 200 + 6))
    sim.run()
    c, pw, pl = sim.series["campus"], sim.series["power"], sim.series["plant"]
    fans = np.asarray(c["door_fan_power_w"], float)
    assert np.all(fans > 6 * 50.0) and np.all(fans < 6 * 600.0)
    it = np.asarray(c["it_power_w"], float)
    assert np.max(np.abs(np.asarray(c["it_balance_w"], float))) < 1e-6 * it.max()
    other = (np.asarray(pl["total_power_w"], float) + np.asarray(pw["crah_fan_power_w"], float)
             + np.asarray(pw["cdu_pump_power_w"], float))
    assert np.asarray(pw["cooling_power_w"], float) - other == pytest.approx(fans, rel=1e-9)
