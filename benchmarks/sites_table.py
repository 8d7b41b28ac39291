"""The table of what each candidate site's typical year and resource record give
(``docs/sites.md``, "What the typical years and the resource records give").

Run ``python -m benchmarks.sites_table`` to print it as Markdown. Every figure comes from
the records in ``twin/models/sites.py`` and the smooth typical years (no variability seed):
annual, December-February and June-August mean dry bulb; the hourly maximum dry bulb; the
hourly maximum thermodynamic wet bulb (:func:`twin.models.weather.wet_bulb_temp_c`, ASHRAE
Fundamentals 2017 ch. 1); annual GHI; the PVWatts yield of 1 kWp
(:func:`twin.studies.sites.pv_yield_kwh_per_kwp`) and its capacity factor over 8,760 h; the
annual mean 10 m wind speed; the records' wind capacity factors ("est." where the record
marks them so) and grid region. A few seconds on one core.
"""
from __future__ import annotations

import numpy as np

__all__ = ["site_figures", "markdown_table"]

#: Capacity factors with a published source (twin/models/sites.py): the onshore national
#: mean (etnews 2019) and the Tamra farm off Jeju (hankookilbo 2019); the rest are est.
_SOURCED_CF = {("onshore", 0.189), ("offshore", 0.327)}


def site_figures(key: str) -> dict:
    """The table's figures for one site (a dict, SI units in the key names)."""
    from twin.models.sites import get_site
    from twin.models.weather import load_weather, wet_bulb_temp_c
    from twin.studies.sites import pv_yield_kwh_per_kwp
    site = get_site(key)
    w = load_weather(f"builtin:{key}")
    t = np.asarray(w.dry_bulb_temp_c, float)
    pv = pv_yield_kwh_per_kwp(key)
    return dict(
        site=key,
        dry_bulb_mean_c=float(t.mean()),
        dry_bulb_dec_feb_c=float(t[np.isin(w.month, (12, 1, 2))].mean()),
        dry_bulb_jun_aug_c=float(t[np.isin(w.month, (6, 7, 8))].mean()),
        dry_bulb_max_c=float(t.max()),
        wet_bulb_max_c=float(np.max(wet_bulb_temp_c(w))),
        ghi_kwh_m2_yr=float(np.sum(w.ghi_w_m2) / 1e3),
        pv_kwh_per_kwp=pv,
        pv_cf_frac=pv / 8760.0,
        wind_m_s=float(np.mean(w.wind_speed_m_s)),
        onshore_wind_cf_frac=site.onshore_wind_cf_frac,
        offshore_wind_cf_frac=site.offshore_wind_cf_frac,
        grid_region=site.grid_region,
    )


def _cf(kind: str, value: float) -> str:
    text = f"{100 * value:.1f}"
    return text if (kind, round(value, 3)) in _SOURCED_CF else text + " est."


def markdown_table(keys=None) -> str:
    """The docs table as Markdown, one row per site (all sites by default)."""
    from twin.models.sites import SITE_NAMES
    head = ("| site | mean dry bulb C | Dec-Feb C | Jun-Aug C | hourly max C | max wet bulb C "
            "| GHI kWh/m2/yr | PV kWh/kWp (CF) | wind m/s (10 m) | onshore wind CF % "
            "| offshore wind CF % | grid |")
    lines = [head, "|" + "---|" * 12]
    for key in keys or SITE_NAMES:
        f = site_figures(key)
        lines.append(
            f"| {key} | {f['dry_bulb_mean_c']:.1f} | {f['dry_bulb_dec_feb_c']:.1f} "
            f"| {f['dry_bulb_jun_aug_c']:.1f} | {f['dry_bulb_max_c']:.1f} "
            f"| {f['wet_bulb_max_c']:.1f} | {f['ghi_kwh_m2_yr']:.0f} "
            f"| {f['pv_kwh_per_kwp']:.0f} ({100 * f['pv_cf_frac']:.1f} %) | {f['wind_m_s']:.1f} "
            f"| {_cf('onshore', f['onshore_wind_cf_frac'])} "
            f"| {_cf('offshore', f['offshore_wind_cf_frac'])} | {f['grid_region']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
