"""Candidate sites (twin/models/sites.py) and ``twin sites`` (twin/studies/sites.py):
each site's typical year reproduces its monthly normals; the sites differ the way their
climates do; the command on the small hall over a few hours gives one row per site whose
energy closes; bad site names get one line."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from common.errors import InputError
from twin.cli import main
from twin.facility import BUILTIN_DIR, load_facility
from twin.models.climate import BUILTIN_CLIMATES
from twin.models.sites import SITE_NAMES, SITES, get_site, site_normals, site_weather
from twin.models.weather import load_weather

#: Tolerances of the reproduced monthly normals (stated in docs/sites.md).
TOL_MEAN_K = 0.01          # monthly mean dry bulb
TOL_MAXMIN_K = 0.25        # monthly means of the daily maximum and minimum
TOL_DEW_K = 0.3            # dew point (capped at the dry bulb on some hours)
TOL_REL = 0.005            # GHI, DHI, wind: relative


def _daily(x):
    return np.asarray(x, float).reshape(365, 24)


@pytest.mark.parametrize("key", SITE_NAMES)
@pytest.mark.parametrize("seed", [None, 7])
def test_typical_year_reproduces_monthly_normals(key, seed):
    w = site_weather(key, seed)
    n = site_normals(key)
    month_of_day = np.repeat(np.arange(12), [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    tmax = _daily(w.dry_bulb_temp_c).max(axis=1)
    tmin = _daily(w.dry_bulb_temp_c).min(axis=1)
    for m in range(12):
        s = w.month == m + 1
        d = month_of_day == m
        assert abs(w.dry_bulb_temp_c[s].mean() - n[m, 0]) < TOL_MEAN_K, (key, m)
        # the daily course is a cosine about the day's mean: the mean daily range is kept,
        # its centre is the mean (KMA's mean is not always mid-way between max and min)
        half = (n[m, 1] - n[m, 2]) / 2.0
        assert abs(tmax[d].mean() - (n[m, 0] + half)) < TOL_MAXMIN_K, (key, m)
        assert abs(tmin[d].mean() - (n[m, 0] - half)) < TOL_MAXMIN_K, (key, m)
        assert abs(tmax[d].mean() - n[m, 1]) < abs(n[m, 0] - (n[m, 1] + n[m, 2]) / 2) + TOL_MAXMIN_K
        assert abs(w.dew_point_temp_c[s].mean() - n[m, 3]) < TOL_DEW_K, (key, m)
        days = d.sum()
        assert w.ghi_w_m2[s].sum() / 1000.0 / days == pytest.approx(n[m, 4], rel=TOL_REL)
        assert w.dhi_w_m2[s].sum() / 1000.0 / days == pytest.approx(n[m, 5], rel=TOL_REL)
        assert w.wind_speed_m_s[s].mean() == pytest.approx(n[m, 6], rel=TOL_REL)


def test_site_years_carry_their_station():
    for key, site in SITES.items():
        w = load_weather(f"builtin:{key}")
        assert (w.latitude_deg, w.longitude_deg) == (site.latitude_deg, site.longitude_deg)
        assert w.utc_offset_h == 9.0
    assert set(BUILTIN_CLIMATES) == set(SITE_NAMES)     # every site is a built-in climate


def _winter_mean(key):
    w = load_weather(f"builtin:{key}")
    s = np.isin(w.month, (12, 1, 2))
    return float(w.dry_bulb_temp_c[s].mean())


def test_sites_differ_in_the_right_direction():
    winter = {k: _winter_mean(k) for k in SITE_NAMES}
    # Jeju has the mildest winter; Seoul the coldest; Gangneung colder than Ulsan
    assert winter["jeju"] > max(v for k, v in winter.items() if k != "jeju") + 2.0
    assert winter["seoul"] < min(v for k, v in winter.items() if k != "seoul") - 1.0
    assert winter["gangneung"] < winter["ulsan"]
    # the south-western solar site has the most sun and the most PV per kWp
    from twin.studies.sites import pv_yield_kwh_per_kwp
    ghi = {k: float(np.sum(load_weather(f"builtin:{k}").ghi_w_m2)) for k in SITE_NAMES}
    pv = {k: pv_yield_kwh_per_kwp(k) for k in SITE_NAMES}
    for k in ("seoul", "gangneung", "jeju", "ulsan"):
        assert ghi["haenam"] > ghi[k] and pv["haenam"] > pv[k], k
    # Korean utility PV runs at 14-16 % (press, MOTIE): the modelled yields are near it
    assert all(0.11 < v / 8760 < 0.17 for v in pv.values()), pv
    assert get_site("jeju").grid_region == "jeju"
    assert {get_site(k).grid_region for k in SITE_NAMES if k != "jeju"} == {"mainland"}


#: Annual mean temperatures 1981-2010 [degC], National Atlas of Korea via the Academy of
#: Korean Studies, "GK 1.3.2 Temperatures" (cefia.aks.ac.kr): an independent check of the
#: estimated site normals (Haenam's station is Mokpo).
ANNUAL_MEAN_1981_2010_C = {"gangneung": 13.1, "haenam": 13.9, "jeju": 15.8, "ulsan": 14.1}


def test_site_annual_means_agree_with_the_national_atlas():
    """The synthesised years' annual means lie within -0.3 to +0.7 K of the 1981-2010 means
    (the 1991-2020 normals run 0.2-0.5 K warmer than 1981-2010 at Korean stations)."""
    for key, ref in ANNUAL_MEAN_1981_2010_C.items():
        mean = float(load_weather(f"builtin:{key}").dry_bulb_temp_c.mean())
        print(f"{key}: {mean:.2f} degC against {ref} (1981-2010)")
        assert ref - 0.3 <= mean <= ref + 0.7, (key, mean, ref)


#: Seoul's annual column of the KMA 1981-2010 table the record transcribes (mean, mean daily
#: maximum, mean daily minimum, degC; twin/models/sites.py): a check of the transcription.
SEOUL_1981_2010_ANNUAL_C = (12.5, 17.0, 8.6)


def test_seoul_record_is_the_published_kma_table():
    """The 12 monthly values of each row average to the table's published annual value
    (to its rounding, 0.05 K)."""
    monthly = np.asarray(get_site("seoul").monthly, dtype=float)
    for col, annual in enumerate(SEOUL_1981_2010_ANNUAL_C):
        mean = float(monthly[:, col].mean())
        print(f"column {col}: {mean:.3f} degC against {annual} (KMA 1981-2010 annual)")
        assert abs(mean - annual) <= 0.05, (col, mean, annual)


#: Gangneung's annual 1981-2010 normals on KMA's regional climate page for Gangwon
#: (kma.go.kr/weather/climate/average_regional01.jsp, "강원도의 도시별 평년값"): mean daily
#: maximum and minimum [degC], relative humidity [%], wind speed [m/s].
GANGNEUNG_1981_2010 = dict(tmax_c=17.5, tmin_c=9.2, rh_pct=61.4, wind_m_s=2.6)


def _annual(key):
    tmean, tmax, tmin, rh, _kt, wind, _wd = np.asarray(get_site(key).monthly, float).T
    return dict(tmax_c=tmax.mean(), tmin_c=tmin.mean(), rh_pct=rh.mean(), wind_m_s=wind.mean())


def test_gangneung_humidity_and_wind_agree_with_kma_annual_normals():
    """The estimated monthly humidity and wind average to KMA's 1981-2010 annual values
    within 3 % and 0.3 m/s (allowance for the 1991-2020 period the record aims at, est.)."""
    a, ref = _annual("gangneung"), GANGNEUNG_1981_2010
    print(f"RH {a['rh_pct']:.2f} % against {ref['rh_pct']}; wind {a['wind_m_s']:.2f} m/s "
          f"against {ref['wind_m_s']}")
    assert abs(a["rh_pct"] - ref["rh_pct"]) <= 3.0
    assert abs(a["wind_m_s"] - ref["wind_m_s"]) <= 0.3


@pytest.mark.xfail(strict=True, reason="Gangneung's recalled daily range (9.35 K a year) is "
                   "about 1 K wider than KMA's 1981-2010 annual normals give (8.3 K)")
def test_gangneung_daily_range_agrees_with_kma_annual_normals():
    a, ref = _annual("gangneung"), GANGNEUNG_1981_2010
    rng, ref_rng = a["tmax_c"] - a["tmin_c"], ref["tmax_c"] - ref["tmin_c"]
    print(f"mean daily range {rng:.2f} K against {ref_rng:.1f} K (KMA 1981-2010)")
    assert abs(rng - ref_rng) <= 0.5


def test_bad_site_name_is_one_line():
    with pytest.raises(InputError, match=r"site 'seol' is not known; did you mean 'seoul'"):
        get_site("seol")
    with pytest.raises(InputError, match="unknown built-in climate"):
        load_weather("builtin:busan")
    assert get_site(" Jeju ").key == "jeju"


POWER = """
[power]
solar_mw = 0.05

[power.grid]
capacity_mw = 1.0
carbon_kg_per_kwh = 0.45
tariff = "kepco-tou"

[[power.contracts]]
name = "solar-ppa"
kind = "solar"
capacity_mw = 0.5
capacity_factor_frac = 0.15
price_krw_per_kwh = 160.0

[[power.contracts]]
name = "wind-ppa"
kind = "offshore-wind"
capacity_mw = 0.5
capacity_factor_frac = 0.38
price_krw_per_kwh = 190.0
"""


@pytest.fixture(scope="module")
def small_campus(tmp_path_factory):
    d = tmp_path_factory.mktemp("sites") / "fac"
    shutil.copytree(BUILTIN_DIR / "racks", d / "racks")
    f = d / "f.toml"
    f.write_text((BUILTIN_DIR / "small-hall.toml").read_text() + POWER)
    return f


def test_site_facility_moves_weather_and_scales_contracts(small_campus):
    from twin.studies.sites import pv_yield_kwh_per_kwp, site_facility
    fac = load_facility(small_campus)
    same, _ = site_facility(fac, "ulsan")
    assert [c.capacity_factor_frac for c in same.power.contracts] == [0.15, 0.38]
    jeju, notes = site_facility(fac, "jeju")
    assert jeju.campus.weather == "builtin:jeju" and jeju.campus.lat_deg == 33.51
    solar, wind = jeju.power.contracts
    keep = 1.0 - get_site("jeju").curtailment_frac
    assert solar.capacity_factor_frac == pytest.approx(
        0.15 * pv_yield_kwh_per_kwp("jeju") / pv_yield_kwh_per_kwp("ulsan") * keep)
    assert wind.capacity_factor_frac == pytest.approx(0.38 * 0.327 / 0.38 * keep)
    assert len(notes) == 2
    # the halls are untouched
    assert jeju.halls == fac.halls and jeju.plant == fac.plant


def test_sites_command_small_campus(small_campus, tmp_path):
    out = tmp_path / "out"
    # 15 July 00:00-03:00 on the coarse small hall (wind contracts only: night)
    r = CliRunner().invoke(main, ["sites", str(small_campus), "--hours", "3", "--start-day", "196",
                                  "--cell", "0.5", "--backend", "cpu", "--out", str(out)])
    assert r.exit_code == 0, r.output
    body = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert all(len(ln) <= 80 for ln in body)
    rows = [ln.split()[0] for ln in body[2:]]
    assert rows == list(SITE_NAMES)
    data = json.loads((out / "sites.json").read_text())
    recs = {s["site"]: s for s in data["sites"]}
    assert list(recs) == list(SITE_NAMES)
    for rec in recs.values():
        assert rec["hours"] == 3.0 and rec["status"] == "complete"
        # energy closes: facility = grid import + matched supply = IT + cooling + losses
        assert rec["energy_closure"]["supply_max_frac"] < 1e-9
        assert rec["energy_closure"]["chain_max_frac"] < 1e-9
        assert rec["pue"] > 1.0 and rec["wue_l_per_kwh"] >= 0.0 and 0.0 <= rec["cfe_score"] <= 1.0
        assert rec["hours_over_allowable_h"] >= 0.0
    assert recs["jeju"]["dry_bulb_mean_c"] > recs["seoul"]["dry_bulb_mean_c"]
    csv = (out / "sites.csv").read_text().splitlines()
    assert csv[0].startswith("site,") and len(csv) == 1 + len(SITE_NAMES)
    page = (out / "sites.html").read_text()
    assert page.count("<svg") >= 6 and all(f">{k}<" in page for k in SITE_NAMES)


def test_sites_command_bad_input_is_one_line(small_campus, tmp_path):
    r = CliRunner().invoke(main, ["sites", str(small_campus), "--site", "busan",
                                  "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "site 'busan' is not known" in lines[0] and "ulsan" in lines[0]
    r = CliRunner().invoke(main, ["sites", str(small_campus), "--hours", "0",
                                  "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert not (tmp_path / "o" / "sites.json").exists()


def test_sites_hottest_week_starts_each_site_on_its_own(small_campus, tmp_path):
    from twin.models.weather import extreme_window_start_day
    from twin.studies.sites import run_sites
    fac = load_facility(small_campus)
    settings = dict(hours=2.0, step_s=3600.0, cell_m=0.5, backend="cpu", rack_airflow="design")
    recs = run_sites(fac, ["jeju", "seoul"], settings, week="hottest")
    for rec in recs:
        day = extreme_window_start_day(load_weather(f"builtin:{rec['site']}"), 7, True)
        assert rec["start_h"] == 24.0 * (day - 1)
        assert 150 < day < 250                   # a summer week
    r = CliRunner().invoke(main, ["sites", str(small_campus), "--week", "hottest", "--start-day", "3",
                                  "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "give one of them" in r.output and "Traceback" not in r.output


def test_reference_site_is_the_facility_climate(small_campus, tmp_path):
    from twin.studies.sites import reference_site, site_facility
    f = tmp_path / "jeju.toml"
    shutil.copytree(BUILTIN_DIR / "racks", tmp_path / "racks")
    f.write_text(small_campus.read_text().replace('"builtin:ulsan"', '"builtin:jeju"'))
    fac = load_facility(f)
    assert reference_site(fac) == "jeju"
    at_jeju, _ = site_facility(fac, "jeju")
    # the facility's own site: the file as it is
    assert [c.capacity_factor_frac for c in at_jeju.power.contracts] == [0.15, 0.38]
    at_ulsan, _ = site_facility(fac, "ulsan")
    keep = 1.0 / (1.0 - get_site("jeju").curtailment_frac)     # Ulsan is not curtailed
    assert at_ulsan.power.contracts[1].capacity_factor_frac == pytest.approx(0.38 * 0.38 / 0.327 * keep)


def test_reference_row_is_twin_run_of_the_file(small_campus):
    from twin.loop.simulation import RunSettings, Simulation
    from twin.studies.sites import run_sites
    settings = dict(hours=2.0, step_s=3600.0, cell_m=0.5, backend="cpu", rack_airflow="design",
                    start_h=24.0 * 195 + 11)
    fac = load_facility(small_campus)
    (rec,) = run_sites(fac, ["ulsan"], settings)
    sim = Simulation(fac, RunSettings(**settings))
    sim.run()
    s = sim.summary()
    for k in ("pue", "wue_l_per_kwh", "cfe_score", "cost_krw", "co2_t"):
        assert rec[k] == s[k], k
