"""The small HTML writer of dc-twin's pages (``twin report``, ``twin sites``): one
self-contained page with no script and nothing loaded (CSS inline, charts as inline SVG
drawn here), its cards, tables and line charts.

:func:`page` writes the page head (title, style, header line) that every page shares.
"""
from __future__ import annotations

import html
import math
import time

import numpy as np

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]
#: Line styles after the palette runs out: series n gets colour n % 10 and dash n // 10.
DASHES = ("", "7 3", "2 2")

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#c5cad3;font-size:13px}
main{padding:8px 32px 40px;max-width:1200px}
section{background:#fff;border-radius:8px;padding:14px 20px;margin:16px 0;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{font-size:17px;margin:4px 0 12px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #e3e6ea;border-radius:6px;padding:8px 12px;min-width:130px}
.card .v{font-size:20px;font-weight:600}.card .k{font-size:12px;color:#5b6472}
table{border-collapse:collapse;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid #eceef1;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f0f2f5}
.hot{color:#b30000;font-weight:600}.warm{color:#b36b00}.ok{color:#1b7f3b}
.note{font-size:12px;color:#5b6472}
figure{margin:0}figcaption{font-size:12px;color:#5b6472}
img.view{max-width:100%;height:auto;border:1px solid #e3e6ea}
svg text{font-family:inherit}
"""


def page(title: str, sections, source: str = "") -> str:
    """The whole HTML page: ``title`` in the tab and the header, a line saying what it
    was written from (``source``, e.g. the result file) and when, and ``sections`` (HTML
    text, in order) in its main part."""
    e = html.escape
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    origin = f"{source}, written" if source else "written"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{e(title)}</h1><p>{e(origin)} {stamp} by dc-twin</p></header><main>"
            + "".join(sections) + "</main></body></html>\n")


def card(k, v):
    return f'<div class="card"><div class="v">{html.escape(v)}</div><div class="k">{html.escape(k)}</div></div>'


def table(head, rows, classes=None) -> str:
    e = html.escape
    out = ["<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for i, r in enumerate(rows):
        cl = classes[i] if classes else [""] * len(r)
        out.append("<tr>" + "".join(f'<td class="{c}">{e(str(v))}</td>' if c else f"<td>{e(str(v))}</td>"
                                    for v, c in zip(r, cl)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def fmt_value(v, fmt="{:.1f}"):
    return fmt.format(v) if isinstance(v, (int, float)) and math.isfinite(v) else "-"


# ---------------------------------------------------------------------------------- SVG
def nice_ticks(lo, hi, n=5):
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    start = math.floor(lo / step) * step
    ticks = []
    t = start
    while t <= hi + 1e-6 * step:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi - 1e-6 * step:
        ticks.append(round(t, 10))
    return ticks


def tick_label(v):
    return f"{v:g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def svg_line_chart(x, series, title="", xlabel="", ylabel="", hlines=(), width=720,
                   height=320, xticks=None, yrange=None) -> str:
    """An inline SVG line chart: ``series`` = [(label, y)], ``hlines`` = [(y, label,
    colour)] (limits drawn dashed); ``xticks`` = [(x, label)] replaces the numeric x ticks
    (clock time); ``yrange`` = (lo, hi) fixes the y axis. Series past the ten colours of
    :data:`PALETTE` are told apart by their dashes (:data:`DASHES`)."""
    x = np.asarray(x, dtype=float)
    ml, mr, mt, mb = 62, 170, 30, 46
    pw, ph = width - ml - mr, height - mt - mb
    ys = [np.asarray(y, dtype=float) for _, y in series]
    finite = [v[np.isfinite(v)] for v in ys]
    allv = np.concatenate([f for f in finite if f.size] or [np.zeros(1)])
    lo, hi = float(allv.min()), float(allv.max())
    if yrange is not None:
        lo, hi = min(lo, yrange[0]), max(hi, yrange[1])
    for v, *_ in hlines:
        if lo - 0.25 * (hi - lo + 1) <= v <= hi + 0.25 * (hi - lo + 1):
            lo, hi = min(lo, v), max(hi, v)
    yt = nice_ticks(lo, hi)
    y0, y1 = yt[0], yt[-1]
    if xticks:
        xt = [float(v) for v, _ in xticks]
        xlabels = [str(lbl) for _, lbl in xticks]
    else:
        xt = nice_ticks(float(x.min()) if x.size else 0.0, float(x.max()) if x.size else 1.0)
        xlabels = [tick_label(t) for t in xt]
    x0, x1 = xt[0], xt[-1]
    if x1 <= x0:
        x1 = x0 + 1.0

    def sx(v):
        return ml + (v - x0) / (x1 - x0) * pw

    def sy(v):
        return mt + ph - (v - y0) / (y1 - y0) * ph

    e = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{e(title)}">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
           f'<text x="{ml}" y="18" font-size="14" font-weight="600">{e(title)}</text>']
    for t in yt:
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" '
                   'stroke="#e6e8eb"/>')
        out.append(f'<text x="{ml - 6}" y="{sy(t) + 4:.1f}" font-size="11" '
                   f'text-anchor="end">{tick_label(t)}</text>')
    for t, lbl in zip(xt, xlabels):
        out.append(f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{mt}" y2="{mt + ph}" '
                   'stroke="#f0f1f3"/>')
        out.append(f'<text x="{sx(t):.1f}" y="{mt + ph + 16}" font-size="11" '
                   f'text-anchor="middle">{e(lbl)}</text>')
    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#9aa1ab"/>')
    out.append(f'<text x="{ml + pw / 2:.1f}" y="{height - 8}" font-size="12" '
               f'text-anchor="middle">{e(xlabel)}</text>')
    out.append(f'<text x="14" y="{mt + ph / 2:.1f}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 14 {mt + ph / 2:.1f})">{e(ylabel)}</text>')
    legend = []
    for v, label, colour in hlines:
        if y0 <= v <= y1:
            out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" '
                       f'stroke="{colour}" stroke-dasharray="6 4" stroke-width="1.5"/>')
            legend.append((label, colour, "6 4"))
    for n, ((label, _), y) in enumerate(zip(series, ys)):
        colour = PALETTE[n % len(PALETTE)]
        dash = DASHES[(n // len(PALETTE)) % len(DASHES)]
        style = f' stroke-dasharray="{dash}"' if dash else ""
        segs, cur = [], []
        for xv, yv in zip(x, y):
            if np.isfinite(yv):
                cur.append(f"{sx(xv):.1f},{sy(yv):.1f}")
            elif cur:
                segs.append(cur)
                cur = []
        if cur:
            segs.append(cur)
        for s in segs:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6"{style} '
                       f'points="{" ".join(s)}"/>')
        legend.append((label, colour, dash))
    for n, (label, colour, dashes) in enumerate(legend[:16]):
        ly = mt + 8 + 16 * n
        dash = f' stroke-dasharray="{dashes}"' if dashes else ""
        out.append(f'<line x1="{ml + pw + 10}" x2="{ml + pw + 30}" y1="{ly}" y2="{ly}" '
                   f'stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{ml + pw + 34}" y="{ly + 4}" font-size="11">{e(str(label))[:24]}</text>')
    if len(legend) > 16:
        out.append(f'<text x="{ml + pw + 10}" y="{mt + 8 + 16 * 16 + 4}" font-size="11">'
                   f'and {len(legend) - 16} more</text>')
    out.append("</svg>")
    return "".join(out)
