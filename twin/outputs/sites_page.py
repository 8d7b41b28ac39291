"""The HTML page of ``twin sites`` (:mod:`twin.studies.sites`): bar charts of each metric
by site, the table, and each site's grid region, renewable resource and sources; written
with the page writer of ``twin report`` (:mod:`twin.outputs.html_page`).
"""
from __future__ import annotations

import html

import numpy as np

from twin.outputs.html_page import PALETTE, fmt_value, nice_ticks, page, table, tick_label


def svg_bar_chart(labels, values, title="", ylabel="", width=340, height=240, fmt="{:.3g}") -> str:
    """An inline SVG bar chart, one bar per label (``values`` NaN or None: no bar, "-");
    the y axis starts at zero unless a value is negative."""
    vals = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    ml, mr, mt, mb = 52, 10, 30, 46
    pw, ph = width - ml - mr, height - mt - mb
    fin = vals[np.isfinite(vals)]
    lo = min(0.0, float(fin.min())) if fin.size else 0.0
    hi = max(0.0, float(fin.max())) if fin.size else 1.0
    yt = nice_ticks(lo, hi if hi > lo else lo + 1.0)
    y0, y1 = yt[0], yt[-1]

    def sy(v):
        return mt + ph - (v - y0) / (y1 - y0) * ph

    e = html.escape
    n = max(len(labels), 1)
    bw = pw / n
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{e(title)}">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
           f'<text x="{ml}" y="18" font-size="13" font-weight="600">{e(title)}</text>']
    for t in yt:
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#e6e8eb"/>')
        out.append(f'<text x="{ml - 6}" y="{sy(t) + 4:.1f}" font-size="10" text-anchor="end">{tick_label(t)}</text>')
    for i, (lbl, v) in enumerate(zip(labels, vals)):
        x = ml + i * bw
        cx = x + bw / 2
        if np.isfinite(v):
            top, bot = sorted((sy(v), sy(0.0)))
            out.append(f'<rect x="{x + 0.15 * bw:.1f}" y="{top:.1f}" width="{0.7 * bw:.1f}" '
                       f'height="{max(bot - top, 0.5):.1f}" fill="{PALETTE[i % len(PALETTE)]}"/>')
            out.append(f'<text x="{cx:.1f}" y="{top - 3:.1f}" font-size="10" '
                       f'text-anchor="middle">{e(fmt.format(v))}</text>')
        else:
            out.append(f'<text x="{cx:.1f}" y="{sy(0.0) - 3:.1f}" font-size="10" '
                       'text-anchor="middle">-</text>')
        out.append(f'<text x="{cx:.1f}" y="{mt + ph + 14}" font-size="10" '
                   f'text-anchor="middle">{e(str(lbl))[:12]}</text>')
    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#9aa1ab"/>')
    out.append(f'<text x="12" y="{mt + ph / 2:.1f}" font-size="11" text-anchor="middle" '
               f'transform="rotate(-90 12 {mt + ph / 2:.1f})">{e(ylabel)}</text>')
    out.append("</svg>")
    return "".join(out)


#: Charts of the sites page: (record key, title, y label, value format, factor).
SITE_CHARTS = (("pue", "PUE", "", "{:.3f}", 1.0),
               ("wue_l_per_kwh", "WUE", "L/kWh of IT", "{:.2f}", 1.0),
               ("cfe_score", "Hourly CFE score", "%", "{:.0f}", 100.0),
               ("cost_mkrw", "Energy cost", "M KRW", "{:,.0f}", 1.0),
               ("co2_t", "CO2", "t", "{:,.0f}", 1.0),
               ("hours_over_allowable_h", "Hours a rack inlet > allowable", "h", "{:.1f}", 1.0),
               ("pv_yield_kwh_per_kwp", "PV yield (typical year)", "kWh/kWp", "{:.0f}", 1.0))


def build_sites_report(recs, meta: dict) -> str:
    """The HTML page of ``twin sites``: bar charts of each metric by site, the table, and
    each site's grid region, renewable resource and sources (self-contained, as
    :func:`build_report`)."""
    e = html.escape
    labels = [r["site"] for r in recs]
    charts = []
    for key, title, ylabel, fmt, factor in SITE_CHARTS:
        vals = [None if r.get(key) is None else float(r[key]) * factor for r in recs]
        charts.append(svg_bar_chart(labels, vals, title=title, ylabel=ylabel, fmt=fmt))
    start = (f"the first day of each site's {meta['week']} week" if meta.get("week")
             else f"hour {meta.get('start_h', 0):g}")
    period = (f"{meta.get('hours', 0):g} h from {start} of the typical year, "
              f"{meta.get('step_s', 3600) / 60:g}-minute steps")
    parts = [f'<section id="sites-charts"><h2>The campus at each site</h2><p class="note">'
             f'{e(period)}; the same halls, plant, grid tariff and emission factor everywhere; '
             'weather, PV and contract capacity factors follow the site (twin/studies/sites.py).'
             '</p><div class="cards">' + "".join(charts) + "</div></section>"]
    head = ["site", "grid", "PUE", "WUE L/kWh", "CFE %", "cost M KRW", "CO2 t",
            "h > allowable", "mean dry bulb C", "max wet bulb C"]
    rows = [[r["site"], r["grid_region"], fmt_value(r.get("pue"), "{:.3f}"),
             fmt_value(r.get("wue_l_per_kwh"), "{:.3f}"),
             fmt_value(100.0 * r["cfe_score"] if r.get("cfe_score") is not None else None, "{:.1f}"),
             fmt_value(r.get("cost_mkrw"), "{:,.1f}"), fmt_value(r.get("co2_t"), "{:,.1f}"),
             fmt_value(r.get("hours_over_allowable_h")), fmt_value(r.get("dry_bulb_mean_c")),
             fmt_value(r.get("wet_bulb_max_c"))] for r in recs]
    parts.append('<section id="sites-table"><h2>Results</h2>' + table(head, rows) + "</section>")
    res = [[r["site"], r["name"], r["station"], f"{r['latitude_deg']:.2f} N {r['longitude_deg']:.2f} E",
            fmt_value(r.get("pv_yield_kwh_per_kwp"), "{:.0f}"),
            fmt_value(100 * r["onshore_wind_cf_frac"], "{:.1f}"),
            fmt_value(100 * r["offshore_wind_cf_frac"], "{:.1f}"),
            fmt_value(100 * r["curtailment_frac"], "{:.0f}")]
           for r in recs]
    parts.append('<section id="sites-resource"><h2>Sites, grid and renewable resource</h2>' + table(
        ["site", "place", "station", "position", "PV kWh/kWp", "onshore wind CF %",
         "offshore wind CF %", "curtailed %"], res)
        + "<ul>" + "".join(f"<li><b>{e(r['site'])}</b>: {e(r['grid_note'])}. Sources: "
                           f"{e(r['sources'])}.</li>" for r in recs) + "</ul></section>")
    title = f"dc-twin sites: {meta.get('facility', '')}"
    return page(title, parts)
