"""``twin sites``: the same campus run at each candidate site (:mod:`twin.models.sites`).

For each site the facility is changed in three places only, so that the rows differ by
the site and nothing else:

- ``campus.weather`` becomes the site's typical year (``builtin:<site>``), and the campus
  position the site's station (on-site PV and the sun on roofs follow the site);
- each renewable contract's ``capacity_factor_frac`` is scaled from the facility's own
  (which describes its reference site: the facility's built-in climate, else Ulsan) to
  the site's resource: solar by the ratio of modelled PV yields (PVWatts, 30° south, on
  the two typical years, :func:`pv_yield_kwh_per_kwp`), onshore and offshore wind by the
  ratio of the regions' capacity factors (:class:`twin.models.sites.Site`), both times
  the ratio of the shares left after curtailment (1 - curtailment, site over reference),
  so that the reference site's row is the facility as it is; the contract's hourly shape comes from the site's
  weather as in ``twin run`` (:func:`twin.loop.campus.renewable_supply`);
- nothing else: the halls, plant, grid tariff and emission factor are the facility's.

Each site is one ``twin run`` (:class:`twin.loop.simulation.Simulation`) in this process;
the sites share one flow memo, so a hall's airflow solved at one site is reused where the
flows match. Metrics per site are those of ``summary.json`` (PUE, WUE, hourly CFE score,
cost, CO2) plus the hours in which a rack inlet of a hall in service is above the ASHRAE allowable
maximum (ASHRAE TC 9.9, *Thermal Guidelines for Data Processing Environments*, 5th ed., 2021:
class A1 15-32 °C) and the energy closure of the supply side (facility energy = grid
import + matched carbon-free supply, and = IT + cooling + electrical losses).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from common.errors import InputError

__all__ = ["site_facility", "pv_yield_kwh_per_kwp", "run_sites", "SITE_COLUMNS",
           "write_outputs", "reference_site"]

#: Columns of the table, CSV and HTML: (key, header, format, unit).
SITE_COLUMNS = (
    ("site", "site", "{}", ""),
    ("grid_region", "grid", "{}", ""),
    ("pue", "PUE", "{:.3f}", ""),
    ("wue_l_per_kwh", "WUE", "{:.3f}", "L/kWh"),
    ("cfe_score", "CFE", "{:.1%}", "hourly"),
    ("cost_mkrw", "cost", "{:,.1f}", "M KRW"),
    ("co2_t", "CO2", "{:,.1f}", "t"),
    ("hours_over_allowable_h", "h>allow", "{:.1f}", "h"),
    ("dry_bulb_mean_c", "Tdb", "{:.1f}", "degC"),
)


@lru_cache(maxsize=16)
def pv_yield_kwh_per_kwp(site_key: str) -> float:
    """Annual AC yield of 1 kWp of PV (PVWatts defaults: 30° tilt, due south, DC/AC 1.2,
    14 % losses; :func:`twin.models.pv.pv_output`) on the site's typical year, kWh/kWp."""
    import warnings

    from twin.models.pv import PvSystem, pv_output
    from twin.models.weather import load_weather
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pv_output(load_weather(f"builtin:{site_key}"), PvSystem(dc_capacity_w=1e3))
    return float(np.sum(out.ac_power_w) / 1e3)


def reference_site(facility) -> str:
    """The site the facility's capacity factors describe: its built-in climate when that
    is a site, else Ulsan."""
    from twin.models.sites import SITES
    w = facility.campus.weather
    key = w.split(":", 1)[1] if w.startswith("builtin:") else ""
    return key if key in SITES else "ulsan"


def site_facility(facility, site_key: str):
    """The facility moved to a site (see the module notes); returns (facility, notes)."""
    import copy

    from twin.facility import FacilityError, parse_facility
    from twin.models.sites import get_site
    site = get_site(site_key)
    ref = get_site(reference_site(facility))
    doc = copy.deepcopy(facility.to_dict())
    camp = doc["campus"]
    camp["weather"] = f"builtin:{site.key}"
    camp["lat_deg"], camp["lon_deg"] = site.latitude_deg, site.longitude_deg
    camp["elevation_m"] = site.elevation_m
    camp["location"] = f"{site.name}, Republic of Korea"
    keep = (1.0 - site.curtailment_frac) / (1.0 - ref.curtailment_frac)
    ratio = {"solar": pv_yield_kwh_per_kwp(site.key) / pv_yield_kwh_per_kwp(ref.key),
             "onshore-wind": site.onshore_wind_cf_frac / ref.onshore_wind_cf_frac,
             "offshore-wind": site.offshore_wind_cf_frac / ref.offshore_wind_cf_frac}
    notes = []
    for c in (doc.get("power") or {}).get("contracts", []) or []:
        if c.get("kind") in ratio:
            cf = float(c["capacity_factor_frac"]) * ratio[c["kind"]] * keep
            c["capacity_factor_frac"] = float(min(max(cf, 1e-6), 1.0))
            notes.append(f"{c['name']}: capacity factor {c['capacity_factor_frac']:.3f}")
    try:
        fac = parse_facility(doc, source=facility.source, origins=facility._origins)
    except FacilityError as exc:
        first = exc.errors[0] if exc.errors else exc.diagnostics[0]
        raise InputError(f"site '{site.key}': the moved facility is not valid: "
                         f"{first.path}: {first.message}") from None
    return fac, notes


def _record(site, sim, notes) -> dict:
    from twin.loop.campus import hours_over
    from twin.models.metrics import ASHRAE_CLASSES
    s = sim.summary()
    a = sim._arrays()
    alw = ASHRAE_CLASSES[sim.settings.ashrae_class].max_temp_c
    pw = a["power"]
    fac_w = np.asarray(pw["facility_power_w"], float)
    supply_gap = np.abs(fac_w - np.asarray(pw["grid_import_w"], float) - np.asarray(pw["matched_w"], float))
    chain_gap = np.abs(fac_w - np.asarray(pw["it_power_w"], float) - np.asarray(pw["cooling_power_w"], float)
                       - np.asarray(pw["pdu_loss_w"] + pw["ups_loss_w"] + pw["transformer_loss_w"], float))
    scale = max(float(np.max(fac_w)) if fac_w.size else 0.0, 1.0)
    dispatch = "dispatch" in s          # storage moves energy between steps: not closed per step
    return {
        "site": site.key, "name": site.name, "station": site.station,
        "latitude_deg": site.latitude_deg, "longitude_deg": site.longitude_deg,
        "elevation_m": site.elevation_m, "grid_region": site.grid_region,
        "grid_note": site.grid_note,
        "pv_yield_kwh_per_kwp": pv_yield_kwh_per_kwp(site.key),
        "onshore_wind_cf_frac": site.onshore_wind_cf_frac,
        "offshore_wind_cf_frac": site.offshore_wind_cf_frac,
        "curtailment_frac": site.curtailment_frac,
        "contracts": notes,
        "sources": site.sources,
        "hours": s.get("hours"), "steps": s.get("steps"), "status": s.get("status"),
        "pue": s.get("pue"), "wue_l_per_kwh": s.get("wue_l_per_kwh"),
        "cfe_score": s.get("cfe_score"), "renewable_share": s.get("renewable_share"),
        "cost_krw": s.get("cost_krw"), "cost_mkrw": (s.get("cost_krw") or 0.0) / 1e6,
        "co2_t": s.get("co2_t"),
        "it_energy_kwh": s.get("it_energy_kwh"), "facility_energy_kwh": s.get("facility_energy_kwh"),
        "water_l": s.get("water_l"),
        "max_rack_inlet_c": s.get("max_rack_inlet_c"),
        "hours_over_allowable_h": hours_over(sim, alw),
        "allowable_max_c": float(alw),
        "dry_bulb_mean_c": float(np.mean(sim.env["dry_bulb_c"])),
        "wet_bulb_max_c": float(np.max(sim.env["wet_bulb_c"])),
        "energy_closure": {
            "supply_max_frac": None if dispatch else float(np.max(supply_gap) / scale) if supply_gap.size else 0.0,
            "chain_max_frac": float(np.max(chain_gap) / scale) if chain_gap.size else 0.0,
            **(s.get("energy_closure") or {}),
        },
    }


def run_sites(facility, site_keys, settings: dict, progress=None, week: str | None = None) -> list[dict]:
    """Run ``facility`` at each site (``twin run`` with ``settings``, the keywords of
    :class:`twin.loop.settings.RunSettings`); one record per site, in the order given.

    ``week`` = ``"hottest"`` or ``"coldest"``: each site starts on the first day of its
    own hottest (coldest) week (:func:`twin.models.weather.extreme_window_start_day`)
    instead of ``settings["start_h"]``. ``progress(done, total, record)`` is called after
    each site."""
    from twin.loop.simulation import RunSettings, Simulation
    from twin.models.sites import get_site
    from twin.models.weather import extreme_window_start_day, load_weather
    sites = [get_site(k) for k in site_keys]      # every name checked before any run
    if not sites:
        raise InputError("sites: no site given; fix: --site NAME (repeatable) or leave it out for all")
    if week not in (None, "hottest", "coldest"):
        raise InputError(f"sites: week {week!r}; fix: 'hottest' or 'coldest'")
    moved = [site_facility(facility, s.key) for s in sites]
    memo: dict = {}
    recs = []
    for n, (site, (fac, notes)) in enumerate(zip(sites, moved)):
        st = dict(settings)
        if week is not None:
            day = extreme_window_start_day(load_weather(f"builtin:{site.key}"), 7, week == "hottest")
            st["start_h"] = 24.0 * (day - 1)
        sim = Simulation(fac, RunSettings(**st), flow_memo=memo)
        sim.run()
        rec = _record(site, sim, notes)
        rec["start_h"] = st.get("start_h", 0.0)
        recs.append(rec)
        if progress is not None:
            progress(n + 1, len(sites), {"label": site.key})
    return recs


def table_rows(recs) -> tuple[list[list[str]], list[list[str]]]:
    """Two header lines (names, units) and the formatted rows of :data:`SITE_COLUMNS`."""
    head = [[h for _, h, _, _ in SITE_COLUMNS], [u for *_, u in SITE_COLUMNS]]
    rows = []
    for r in recs:
        row = []
        for key, _, fmt, _ in SITE_COLUMNS:
            v = r.get(key)
            if isinstance(v, float) and not np.isfinite(v) or v is None:
                row.append("-")
            else:
                row.append(fmt.format(v))
        rows.append(row)
    return head, rows


def write_outputs(out_dir, recs, meta: dict) -> list[Path]:
    """``sites.csv``, ``sites.json`` and ``sites.html`` in ``out_dir`` (each atomically)."""
    from twin.outputs.files import atomic_write, write_csv, write_json
    from twin.outputs.sites_page import build_sites_report
    out = Path(out_dir)
    keys = ["site", "name", "station", "latitude_deg", "longitude_deg", "elevation_m",
            "grid_region", "pv_yield_kwh_per_kwp", "onshore_wind_cf_frac",
            "offshore_wind_cf_frac", "curtailment_frac", "hours", "pue", "wue_l_per_kwh",
            "cfe_score", "renewable_share", "cost_krw", "co2_t", "it_energy_kwh",
            "facility_energy_kwh", "water_l", "max_rack_inlet_c", "hours_over_allowable_h",
            "dry_bulb_mean_c", "wet_bulb_max_c"]
    write_csv(out / "sites.csv", keys, [[r.get(k) for k in keys] for r in recs])
    write_json(out / "sites.json", {**meta, "sites": recs})
    text = build_sites_report(recs, meta)
    atomic_write(out / "sites.html", lambda p: p.write_text(text, encoding="utf-8"))
    return [out / "sites.csv", out / "sites.json", out / "sites.html"]
