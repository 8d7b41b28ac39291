"""A campus of distinct halls built in phases (issue 22, items 1 and 2): the installed
share of a phase, a partial campus's plant and electrical chain, the distinct halls on
Dask workers with the serial run's numbers, and the facility keys' messages.

The runs are a small campus of the small hall twice (phase P1) and a leakier copy of it
(phase P2, commissioned during the run) at 0.5 m cells, two hourly steps."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.facility import BUILTIN_DIR, FacilityError, load_facility
from twin.loop.phases import (HOURS_PER_MONTH, hours_into_year, installed_frac, scaled_plant,
                              scaled_power)
from twin.loop.simulation import RunSettings, Simulation
from twin.models.metrics import ASHRAE_CLASSES, RECOMMENDED, rci_hi_pct

CAMPUS = """
format_version = 1
include = ["racks/racks.toml"]

[campus]
name = "Two-hall test campus"
lat_deg = 35.54
lon_deg = 129.31
weather = "builtin:ulsan"

[[buildings]]
name = "B1"

[[phases]]
name = "P1"
commissioning_date = "2029-01-01"

[[phases]]
name = "P2"
commissioning_date = "2029-01-02"

[[halls]]
name = "A"
file = "small-hall.toml"
building = "B1"
phase = "P1"
count = 2

[[halls]]
name = "B"
file = "small-hall.toml"
building = "B1"
phase = "P2"
floor_leakage_open_frac = 0.01

[[plant.chillers]]
name = "CH"
count = 3
capacity_kw = 300.0
cop = 6.0

[[plant.pumps]]
name = "CHWP"
loop = "chilled-water"
count = 3
flow_m3_s = 0.01
head_kpa = 200.0

[[power.ups]]
name = "UPS"
count = 4
capacity_kw = 200.0
efficiency_frac = 0.96

[[power.transformers]]
name = "TR"
count = 2
capacity_kva = 800.0
efficiency_frac = 0.99
primary_kv = 22.9
secondary_kv = 0.38
"""

# 1 January 2029, 23:00-01:00: hall B's phase is commissioned at midnight, between the steps
SETTINGS = dict(hours=2.0, step_s=3600.0, cell_m=0.5, backend="cpu", rack_airflow="design",
                solver={"tol_velocity": 5e-3}, start_h=23.0, year=2029)


def campus(tmp_path, text=CAMPUS):
    d = tmp_path / "campus"
    if not d.exists():
        shutil.copytree(BUILTIN_DIR / "racks", d / "racks")
        shutil.copy(BUILTIN_DIR / "small-hall.toml", d / "small-hall.toml")
    f = d / "campus.toml"
    f.write_text(text)
    return f


@pytest.fixture(scope="module")
def memo():
    return {}


@pytest.fixture(scope="module")
def serial(tmp_path_factory, memo):
    sim = Simulation(campus(tmp_path_factory.mktemp("serial")), RunSettings(**SETTINGS),
                     flow_memo=memo)
    assert sim.run() == "complete"
    return sim


# ------------------------------------------------------------------ phases
def test_installed_share_of_a_phase():
    from twin.facility import Phase
    p = Phase(name="P", commissioning_date="2030-03-01", it_ramp_months=2.0)
    t0 = hours_into_year("2030-03-01", 2030)
    assert t0 == (31 + 28) * 24.0
    t = np.array([t0 - 1.0, t0, t0 + HOURS_PER_MONTH, t0 + 2 * HOURS_PER_MONTH, t0 + 1e4])
    assert np.allclose(installed_frac(p, 2030, t), [0.0, 0.0, 0.5, 1.0, 1.0])
    assert np.all(installed_frac(p, None, t) == 1.0)          # no year: fully built
    assert np.all(installed_frac(p, 2031, t) == 1.0)          # a year later: built
    assert np.all(installed_frac(p, 2029, t[:4]) == 0.0)      # a year earlier: not yet
    step = Phase(name="Q", commissioning_date="2030-01-02")
    assert list(installed_frac(step, 2030, [23.9, 24.0])) == [0.0, 1.0]


def test_halls_not_commissioned_draw_no_it(serial):
    a = serial._arrays()
    names = [h.name for h in serial.halls]
    assert names == ["A01", "B"]                             # two distinct halls solved
    hall_it = a["halls"]["it_power_w"]                         # (steps, solved halls)
    it = a["campus"]["it_power_w"]
    assert hall_it[0, 1] > 0                                   # B's field is solved all along
    assert it[0] == pytest.approx(2 * hall_it[0, 0], rel=1e-12)     # but draws nothing yet
    assert it[1] == pytest.approx(2 * hall_it[1, 0] + hall_it[1, 1], rel=1e-12)
    assert np.all(np.abs(a["campus"]["it_balance_w"]) < 1e-6 * it)
    assert np.all(np.abs(a["campus"]["plant_balance_w"]) < 1e-6 * it)


def test_a_phase_after_the_run_is_left_out(tmp_path, memo):
    s = dict(SETTINGS, start_h=0.0, hours=1.0)          # 1 January: P2 not yet built
    sim = Simulation(campus(tmp_path), RunSettings(**s), flow_memo=memo)
    sim.prepare()
    assert [h.name for h in sim.halls] == ["A01"]
    assert any("left out" in line for line in sim.log_lines())
    assert any("partial campus: 2 of 3 halls" in line for line in sim.log_lines())


def test_racks_over_recommended_count_the_installed_share(tmp_path, memo):
    """A hall's racks over the recommended inlet count by its installed copies at the time:
    hall A (2 copies) in the first of its 730.5 h IT ramp, hall B not yet built at the
    first step. The old count (every replica whatever its share) is far higher."""
    text = CAMPUS.replace('commissioning_date = "2029-01-01"',
                          'commissioning_date = "2029-01-01"\nit_ramp_months = 1.0')
    s = dict(SETTINGS, ashrae_class="H1")           # recommended up to 22 degC: racks over
    sim = Simulation(campus(tmp_path, text), RunSettings(**s), flow_memo=memo)
    assert sim.run() == "complete"
    inlet = sim._arrays()["racks"]["inlet_temp_c"]                 # (2 steps, racks of A01, B)
    n_a = sim.halls[0].n_r
    over = inlet > 22.0
    assert over[:, :n_a].any() and over[:, n_a:].any()
    share_a = np.array([23.5, 24.5]) / HOURS_PER_MONTH              # A's ramp at the step mid-times
    copies = np.concatenate([np.outer(2 * share_a, np.ones(n_a)),   # A: 2 copies at that share
                             np.outer([0.0, 1.0], np.ones(inlet.shape[1] - n_a))], axis=1)
    want = sum(max(copies[k, r] for k in range(2) if over[k, r]) for r in range(inlet.shape[1])
               if over[:, r].any())
    got = sim.summary()["racks_over_recommended"]
    assert got == round(want)
    old = 2 * int(over[:, :n_a].any(axis=0).sum()) + int(over[:, n_a:].any(axis=0).sum())
    assert got < old
    thr = sim._arrays()["racks"]["throttled"]
    assert sim.summary()["throttled_rack_hours"] == pytest.approx(float(np.sum(thr * copies)))


def test_inlet_metrics_count_only_the_halls_in_service(tmp_path, memo):
    """Hall B (phase P2) is commissioned at midnight, between the two steps. Its field is
    solved from the first step, but before its date it draws no IT, so its racks count in
    no inlet metric of that step: made 15 K hotter there (above the H1 allowable 25 degC),
    they move neither the summary nor ``twin sites``' hours above the allowable."""
    from twin.loop.campus import hours_over, in_service
    sim = Simulation(campus(tmp_path), RunSettings(**dict(SETTINGS, ashrae_class="H1")),
                     flow_memo=memo)
    assert sim.run() == "complete"
    n_a = sim.halls[0].n_r
    hall_on, rack_on = in_service(sim, 2)
    assert hall_on.tolist() == [[True, False], [True, True]]
    assert rack_on[0].tolist() == [True] * n_a + [False] * (rack_on.shape[1] - n_a)
    before = sim.summary()
    hours = hours_over(sim, 25.0)
    inlet = sim._arrays()["racks"]["inlet_temp_c"]
    assert before["max_rack_inlet_c"] == float(np.max(inlet[rack_on]))
    assert before["rack_steps_over_allowable"] == int(np.sum(inlet[rack_on] > 25.0))
    copies = np.asarray(sim.hall_weight, float)[:2][:, [0] * n_a + [1] * (rack_on.shape[1] - n_a)]
    assert before["rci_hi_pct"] == pytest.approx(rci_hi_pct(inlet[rack_on], 22.0, 25.0,
                                                            weight=copies[rack_on]), rel=1e-12)
    series = sim.series
    series["racks"]["inlet_temp_c"][0][n_a:] = 40.0        # hall B before its date: hot
    series["racks"]["inlet_max_c"][0][n_a:] = 45.0
    series["halls"]["rci_hi_pct"][0][1] = -100.0
    series["halls"]["rti_pct"][0][1] = 500.0
    series["halls"]["shi"][0][1] = 0.9
    after = sim.summary()
    for key in ("max_rack_inlet_c", "max_rack_inlet_face_c", "rci_hi_pct", "rci_lo_pct",
                "rci_hi_min_pct", "rti_pct", "shi", "rack_steps_over_allowable",
                "rack_steps_within_recommended_frac"):
        assert after[key] == before[key], key
    assert after["max_rack_inlet_c"] < 40.0
    assert hours_over(sim, 25.0) == hours
    assert hours_over(sim, 39.0) == 0.0                     # the hot step does not count
    # the same rack made hot after hall B's date counts
    series["racks"]["inlet_temp_c"][1][n_a:] = 40.0
    assert sim.summary()["max_rack_inlet_c"] == 40.0 and hours_over(sim, 39.0) == 1.0


@pytest.fixture(scope="module")
def h1(tmp_path_factory, memo):
    """The campus run under ASHRAE H1 (recommended up to 22 degC: RCI_HI below 100 %)."""
    sim = Simulation(campus(tmp_path_factory.mktemp("h1")),
                     RunSettings(**dict(SETTINGS, ashrae_class="H1")), flow_memo=memo)
    assert sim.run() == "complete"
    return sim


def test_campus_air_indices_count_each_hall_by_its_copies(h1):
    """RCI over every rack intake of the campus (Herrlin 2005), RTI airflow-weighted and
    SHI heat-weighted, each solved hall's racks and units counted by its installed copies:
    hall A01 stands for 2 halls at both steps, hall B for 1 at the second only. The
    campus figures against a hand computation from each hall's figures at each step (its
    RCI, SHI and SHI denominator; its units' and racks' airflows and temperature rises
    for RTI); the old figures (each solved rack once, the halls' RTI and SHI averaged)
    differ."""
    sim = h1
    a, s = sim._arrays(), sim.summary()
    hl, rk, cu = a["halls"], a["racks"], a["cooling_units"]
    w = np.asarray(sim.hall_weight, float)[:2]                       # (steps, halls) copies
    assert w.tolist() == [[2.0, 0.0], [2.0, 1.0]]
    nr = [h.n_r for h in sim.halls]
    nc = [h.n_c for h in sim.halls]
    r_of = np.repeat([0, 1], nr)
    u_of = np.repeat([0, 1], nc)
    # RCI_HI: 100 - RCI_h = 100 x (sum of excesses) / (span n_h) per hall and step
    num = sum(w[k, h] * nr[h] * (100.0 - hl["rci_hi_pct"][k, h]) for k in range(2) for h in range(2))
    den = sum(w[k, h] * nr[h] for k in range(2) for h in range(2))
    assert s["rci_hi_pct"] == pytest.approx(100.0 - num / den, rel=1e-9)
    assert s["rci_hi_pct"] < 100.0                                   # racks above 22 degC
    num_lo = sum(w[k, h] * nr[h] * (100.0 - hl["rci_lo_pct"][k, h]) for k in range(2) for h in range(2))
    assert s["rci_lo_pct"] == pytest.approx(100.0 - num_lo / den, rel=1e-9)
    # RTI: RTI_h = dT_units,h / dT_racks,h; the campus's units and racks airflow-weighted
    qc, qr = cu["airflow_m3_s"], rk["airflow_m3_s"]
    d_r = rk["exhaust_temp_c"] - rk["inlet_temp_c"]
    d_u = cu["return_temp_c"] - cu["supply_temp_c"]
    t_ref = np.zeros((2, 2))
    units_num = units_den = racks_num = racks_den = 0.0
    shi_num = shi_den = 0.0
    for k in range(2):
        for h in range(2):
            qch, qrh = qc[k, u_of == h], qr[k, r_of == h]
            dr = float(np.sum(qrh * d_r[k, r_of == h]) / qrh.sum())
            du = float(np.sum(qch * d_u[k, u_of == h]) / qch.sum())
            # the hall's own RTI weighs its racks by the solved flow through them, the
            # results' rack airflow is the racks' own (the same to the flow solve's
            # tolerance)
            assert hl["rti_pct"][k, h] == pytest.approx(du / dr * 100.0, rel=1e-2)
            units_num += w[k, h] * qch.sum() * du
            units_den += w[k, h] * qch.sum()
            racks_num += w[k, h] * qrh.sum() * dr
            racks_den += w[k, h] * qrh.sum()
            # SHI: the hall's SHI times its denominator sum (T_out - T_ref)
            t_ref[k, h] = float(np.sum(qch * cu["supply_temp_c"][k, u_of == h]) / qch.sum())
            d_h = float(np.sum(rk["exhaust_temp_c"][k, r_of == h] - t_ref[k, h]))
            shi_num += w[k, h] * hl["shi"][k, h] * d_h
            shi_den += w[k, h] * d_h
    assert s["rti_pct"] == pytest.approx(units_num / units_den / (racks_num / racks_den) * 100.0, rel=1e-9)
    assert s["shi"] == pytest.approx(shi_num / shi_den, rel=1e-9)
    # the old figures: each solved rack once; the halls' RTI and SHI averaged
    on = w > 0
    old_rci = rci_hi_pct(rk["inlet_temp_c"][on[:, r_of]], 22.0, 25.0)
    old_rti, old_shi = np.mean(hl["rti_pct"][on]), np.mean(hl["shi"][on])
    print(f"campus RCI_HI {s['rci_hi_pct']:.3f} % (old {old_rci:.3f}), RTI {s['rti_pct']:.3f} % "
          f"(old {old_rti:.3f}), SHI {s['shi']:.5f} (old {old_shi:.5f})")
    assert abs(s["rci_hi_pct"] - old_rci) > 1e-6
    assert abs(s["rti_pct"] - old_rti) > 1e-6 and abs(s["shi"] - old_shi) > 1e-9


def test_report_states_the_campus_air_indices_of_the_summary(h1, tmp_path):
    """The report of a campus run states the summary's RCI, RTI and SHI (each hall by its
    copies: hall A stands for 2 halls, B for 1), not its own figures over the cells of the
    hall it shows, and labels those as that hall's at that state."""
    from twin.outputs.report import build_report
    h1.write(tmp_path)
    s = h1.summary()
    page = build_report(tmp_path / "results.h5", picture=False)

    def shown(label):
        found = re.findall(r'<div class="v">([^<]*)</div><div class="k">' + re.escape(label)
                           + "</div>", page)
        assert len(found) == 1, label
        return found[0]

    assert shown("RCI_HI campus (period)") == f"{s['rci_hi_pct']:.1f} %"
    assert shown("RCI_LO campus (period)") == f"{s['rci_lo_pct']:.1f} %"
    assert shown("RTI campus (period)") == f"{s['rti_pct']:.0f} %"
    assert shown("SHI campus (period)") == f"{s['shi']:.2f}"
    # the copies matter here: each solved rack once gives another RCI_HI
    a = h1._arrays()
    inlet = np.asarray(a["racks"]["inlet_temp_c"], float)
    on = np.asarray(h1.hall_weight, float)[:2][:, np.repeat([0, 1], [h.n_r for h in h1.halls])] > 0
    once = rci_hi_pct(inlet[on], RECOMMENDED["H1"].max_temp_c, ASHRAE_CLASSES["H1"].max_temp_c)
    assert f"{once:.1f} %" != shown("RCI_HI campus (period)")
    hall = re.search(r"hall (\S+), this state", page).group(1)
    shown(f"RCI_HI (hall {hall}, this state)")
    assert "counted by its hall's installed copies" in page


def test_flexible_load_plans_on_the_installed_share(tmp_path):
    """The flexible-load plan (``[power.flexible_load]``) sees the campus IT that is
    installed: 2 of the 3 identical halls' worth before hall B's phase is commissioned, all
    three after. The plan is made by ``prepare`` (no flow solve)."""
    text = CAMPUS.replace('phase = "P2"\nfloor_leakage_open_frac = 0.01', 'phase = "P2"') + \
        '\n[power.flexible_load]\nshare_frac = 0.3\nmode = "defer"\n'
    f = campus(tmp_path, text)
    plans = {}
    for year in (2029, None):
        sim = Simulation(f, RunSettings(**dict(SETTINGS, year=year)))
        sim.prepare()
        plans[year] = sim.dispatch.plan
    built, full = plans[2029].requested_j, plans[None].requested_j
    assert built[0] == pytest.approx(full[0] * 2 / 3, rel=1e-12)   # B not yet built
    assert built[1] == pytest.approx(full[1], rel=1e-12)           # all three


# ------------------------------------------------------------------ Dask
def test_distinct_halls_on_dask_give_the_serial_numbers(tmp_path, serial):
    from twin.studies.sweep import TaskRunner
    sim = Simulation(campus(tmp_path), RunSettings(**SETTINGS))       # no memo: solved there
    with TaskRunner(n_tasks=2, workers=2) as runner:
        assert runner.client is not None
        assert sim.run(client=runner.client) == "complete"
    a, b = serial._arrays(), sim._arrays()
    assert sorted(a) == sorted(b)
    for group in a:
        assert sorted(a[group]) == sorted(b[group])
        for name in a[group]:
            assert np.array_equal(a[group][name], b[group][name], equal_nan=True), (group, name)
    assert sim.counters["flow_solves"] == 2 and sim.counters["direct_steps"] + \
        sim.counters["linear_steps"] == 4
    assert sim.log_lines() == [line for line in serial.log_lines()
                               if "memo" not in line]   # the same notes
    trees = sim.run_data().restart["halls"]                 # the workers' state, kept
    assert sorted(trees) == ["A01", "B"] and trees["B"]["state"]


# ------------------------------------------------------------------ partial campus
def test_partial_campus_pue_near_the_full_campus(tmp_path, memo):
    text = CAMPUS.replace('phase = "P2"\nfloor_leakage_open_frac = 0.01', 'phase = "P2"')
    f = campus(tmp_path, text)                    # three identical halls: one solve
    s = dict(SETTINGS, year=None, hours=1.0, utilization=0.8, profile="constant")
    full = Simulation(f, RunSettings(**s), flow_memo=memo)
    full.run()
    part = Simulation(f, RunSettings(**s, halls=("A01",)), flow_memo=memo)
    part.run()
    p_full, p_part = full.summary()["pue"], part.summary()["pue"]
    assert part._arrays()["campus"]["it_power_w"][0] == pytest.approx(
        full._arrays()["campus"]["it_power_w"][0] / 3, rel=1e-12)
    assert abs(p_part - p_full) < 0.01 * p_full, (p_part, p_full)
    # the plant and chain of the whole campus behind one hall: far worse
    fac = load_facility(f)
    one = Simulation(fac.model_copy(update={"halls": fac.halls[:1]}), RunSettings(**s),
                     flow_memo=memo)
    one.run()
    assert one.summary()["pue"] > p_part + 0.02
    # the selection by phase is the same partial campus as by hall
    by_phase = Simulation(f, RunSettings(**s, phases=("P2",)), flow_memo=memo)
    by_phase.run()
    assert by_phase.summary()["pue"] == pytest.approx(p_part, rel=1e-12)


def test_scaled_plant_and_power_keep_their_share():
    fac = load_facility(BUILTIN_DIR / "ulsan-campus.toml")
    pl = scaled_plant(fac.plant, 1 / 24, 1 / 24)
    for old, new in ((fac.plant.chillers, pl.chillers), (fac.plant.dry_coolers, pl.dry_coolers),
                     (fac.plant.cooling_towers, pl.cooling_towers)):
        for o, n in zip(old, new):
            assert n.count * n.capacity_kw == pytest.approx(o.count * o.capacity_kw / 24)
            assert 1 <= n.count <= o.count
    assert sum(p.count * p.flow_m3_s for p in pl.pumps) == pytest.approx(
        sum(p.count * p.flow_m3_s for p in fac.plant.pumps) / 24)
    pw = scaled_power(fac.power, 0.25)
    assert pw.ups[0].count == 13 and pw.ups[0].count * pw.ups[0].capacity_kw == pytest.approx(
        52 * 2500.0 / 4)
    assert pw.transformers[0].count == 1
    assert pw.contracts == fac.power.contracts and pw.grid == fac.power.grid
    assert scaled_plant(None, 0.5, 0.5) is None and scaled_power(None, 0.5) is None


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("old, new, says", [
    ('phase = "P2"', 'phase = "P3"', "halls[B].phase: phase 'P3' is not defined"),
    ('commissioning_date = "2029-01-02"', 'commissioning_date = "2029-02-30"',
     "is not a date; write it as YYYY-MM-DD"),
    ('commissioning_date = "2029-01-02"', 'commissioning_date = "Jan 2029"', "commissioning_date"),
])
def test_phase_keys_refused_with_one_line(tmp_path, old, new, says):
    f = campus(tmp_path, CAMPUS.replace(old, new, 1))
    with pytest.raises(FacilityError) as e:
        load_facility(f)
    assert says in str(e.value)
    r = CliRunner().invoke(main, ["validate", str(f)])
    assert r.exit_code != 0 and "Traceback" not in r.output


def test_run_refuses_an_unknown_phase_or_year_with_one_line(tmp_path):
    f = campus(tmp_path)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", str(f), "--phase", "P9", "--hours", "1", "--cell", "0.5",
                                  "--out", str(out), "--quiet"])
    assert r.exit_code == 2 and "no phase 'P9'" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["run", str(f), "--year", "2020", "--hours", "1", "--cell", "0.5",
                                  "--out", str(out), "--quiet", "--force"])
    assert r.exit_code == 2 and "no hall" in r.output and "commissioned" in r.output
    r = CliRunner().invoke(main, ["run", str(f), "--scheduler", "tcp://127.0.0.1:1", "--hours", "1",
                                  "--cell", "0.5", "--out", str(out), "--quiet", "--force"])
    assert r.exit_code == 2 and "cannot reach the Dask scheduler" in r.output
    assert "Traceback" not in r.output and not (out / "results.h5").exists()


def test_sites_takes_phase_and_year_as_run_does(tmp_path):
    """``twin sites --year/--phase``: the same selection of halls as ``twin run``, and the
    same one-line refusals."""
    import json
    f = campus(tmp_path)
    common = ["--site", "ulsan", "--hours", "1", "--start-day", "1", "--cell", "0.5",
              "--backend", "cpu", "--rack-airflow", "design"]
    recs = {}
    for tag, extra in (("year", ["--year", "2029"]), ("p1", ["--phase", "P1"]),
                       ("all", [])):
        out = tmp_path / tag
        r = CliRunner().invoke(main, ["sites", str(f), *common, *extra, "--out", str(out)])
        assert r.exit_code == 0, r.output
        recs[tag] = json.loads((out / "sites.json").read_text())
    year, p1, full = (recs[k]["sites"][0] for k in ("year", "p1", "all"))
    assert recs["year"]["year"] == 2029 and recs["p1"]["phases"] == ["P1"]
    # on 1 January 2029 hall B (phase P2, 2 January) is not built: the campus of phase P1
    assert year["it_energy_kwh"] == pytest.approx(p1["it_energy_kwh"], rel=1e-12)
    assert year["pue"] == pytest.approx(p1["pue"], rel=1e-12)
    assert year["it_energy_kwh"] < 0.8 * full["it_energy_kwh"]
    for extra, says in ((["--phase", "P9"], "no phase 'P9'"), (["--year", "2020"], "commissioned"),
                        (["--year", "1800"], "1800")):
        lines = []
        for cmd in (["sites", str(f), *common[:2]], ["run", str(f), "--quiet"]):
            r = CliRunner().invoke(main, [*cmd, "--hours", "1", "--cell", "0.5", *extra,
                                          "--out", str(tmp_path / "bad")])
            assert r.exit_code == 2 and says in r.output and "Traceback" not in r.output, r.output
            lines.append([ln for ln in r.output.splitlines() if says in ln])
        assert lines[0] == lines[1]                     # the same message as twin run
    assert not (tmp_path / "bad" / "sites.json").exists()


def test_a_hall_worker_keeps_its_state_at_the_block_start(tmp_path, memo, serial):
    """What a run interrupted while the workers run a block keeps: the state of the last
    committed step, equal to the serial run's after the same steps."""
    from twin.loop.distributed import HallWorker
    s = dict(SETTINGS, hours=1.0)
    one = Simulation(campus(tmp_path), RunSettings(**s), flow_memo=memo)
    one.run()                                             # the serial run, one step
    sim = Simulation(campus(tmp_path), RunSettings(**SETTINGS), flow_memo=memo)
    sim.prepare()
    hm = sim.halls[0]
    w = HallWorker(sim.facility, sim.settings, sim.env, sim.ghi_w_m2, sim.plant_spec, hm.name,
                   hm.replicas, sim.util[:, :hm.n_r], sim.t_mid_h,
                   sim.plant_spec.facility_supply_temp_c, sim.snapshot_steps)
    w.advance(0, 1)
    w.advance(1, 2)
    at_1, now = w.restart_tree(1), w.restart_tree(2)
    with pytest.raises(RuntimeError, match="no restart state for step 0"):
        w.restart_tree(0)
    for tree, ref in ((at_1, one), (now, serial)):      # after one step, after two
        want = ref.run_data().restart["halls"]["A01"]["state"]
        for key, v in want.items():
            assert np.array_equal(np.asarray(tree["state"][key]), np.asarray(v)), key


@pytest.mark.parametrize("stop", ["interrupt", "gone"])
def test_workers_gone_with_the_run(tmp_path, monkeypatch, stop):
    """A signal to the whole process group (Ctrl-C, ``timeout``) stops the Dask workers
    too: the completed steps are written and --resume refuses them with one line; workers
    gone in the middle of a run are one line (SweepError)."""
    import twin.loop.distributed as dist
    from common.errors import InputError
    from twin.studies.sweep import SweepError, TaskRunner
    monkeypatch.setattr(dist, "BLOCK_STEPS", 1)
    f = campus(tmp_path)
    out = tmp_path / "out"
    sim = Simulation(f, RunSettings(**SETTINGS))
    with TaskRunner(n_tasks=2, workers=2) as runner:
        def callback(sim_, rec):
            runner.cluster.close()                       # the workers stop
            if stop == "interrupt":
                raise KeyboardInterrupt
        if stop == "gone":
            with pytest.raises(SweepError, match="a Dask worker running the halls is gone"):
                sim.run(callback=callback, out_dir=out, client=runner.client)
            return
        assert sim.run(callback=callback, out_dir=out, client=runner.client) == "interrupted"
    assert sim.k == 1 and any("cannot be resumed" in line for line in sim.log_lines())
    with pytest.raises(InputError, match="restart state does not match"):
        Simulation.resume(out)
