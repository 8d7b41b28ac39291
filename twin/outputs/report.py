"""One self-contained HTML page of a result (``twin report``).

The page has no script and loads nothing: CSS inline, charts as inline SVG drawn here,
the 3D picture as a base64 PNG (:mod:`twin.outputs.view`). Sections: summary (heat, cooling,
inlet metrics), time series (every group of the file with a ``time_s`` axis: the N-1
runs of ``twin fail``, the series of ``twin run``), the N-1 table where there is one,
the worst racks, the cooling units, the hot spots and the picture.

Inlet metrics: rack inlet = intake-face mean; RCI_HI / RCI_LO over every intake cell of
the hall shown, at the state shown, when the facility in the file meshes to the result's
grid (else over the rack means); see :mod:`twin.studies.whatif` for the definitions and
references. A run's page shows one hall's state and labels these so; beside them it states
the run summary's RCI, RTI and SHI of the campus over the period, each hall counted by its
installed copies (:func:`twin.loop.campus.air_indices`).

The page head, cards, tables and line charts are :mod:`twin.outputs.html_page`'s, shared
with the candidate-sites page of ``twin sites`` (:mod:`twin.outputs.sites_page`).
"""
from __future__ import annotations

import base64
import html
import math
import tempfile
from pathlib import Path

import numpy as np

from twin.models.metrics import (ALLOWABLE_MAX_C, RECOMMENDED_MAX_C, RECOMMENDED_MIN_C, rci_hi_pct,
                                 rci_lo_pct, rti_pct)
from twin.outputs.cf import CALENDAR_YEAR
from twin.outputs.html_page import card, fmt_value, page, svg_line_chart, table

#: The cards of a run's summary (``summary.json``, :func:`twin.loop.campus.run_summary`):
#: key, label, format. Its RCI, RTI and SHI are the campus's over the period
#: (:func:`twin.loop.campus.air_indices`: each hall counted by its installed copies).
RUN_CARDS = (("pue", "PUE (period)", "{:.3f}"), ("it_energy_kwh", "IT energy kWh", "{:,.0f}"),
             ("renewable_share", "renewable share", "{:.1%}"),
             ("co2_t", "CO2 t", "{:.2f}"), ("wue_l_per_kwh", "WUE L/kWh", "{:.2f}"),
             ("rci_hi_pct", "RCI_HI campus (period)", "{:.1f} %"),
             ("rci_lo_pct", "RCI_LO campus (period)", "{:.1f} %"),
             ("rti_pct", "RTI campus (period)", "{:.0f} %"), ("shi", "SHI campus (period)", "{:.2f}"))
CAMPUS_NOTE = (" The campus's RCI, RTI and SHI (period) are the run summary's: over every "
               "completed step, each rack and cooling unit of a solved hall counted by its "
               "hall's installed copies.")

#: Outdoor series of a run, as a person names them.
WEATHER_LABELS = {"dry_bulb_c": "dry bulb", "wet_bulb_c": "wet bulb", "dew_point_c": "dew point"}


# ---------------------------------------------------------------------------- contents
def time_series(path) -> list[dict]:
    """Every group of the file with a 1-D ``time_s`` dataset: its series (datasets whose
    first axis is time). Returns [{"group", "time_s", "series": [(name, units, array,
    column labels)], "attrs"}]."""
    import h5py
    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and "time_s" in obj and \
                isinstance(obj["time_s"], h5py.Dataset) and obj["time_s"].ndim == 1:
            t = obj["time_s"][...].astype(float)
            ser = []
            for key, ds in obj.items():
                if key == "time_s" or not isinstance(ds, h5py.Dataset) or ds.ndim not in (1, 2):
                    continue
                if ds.shape[0] != t.size or ds.dtype.kind not in "fiu":
                    continue
                cols = None
                if ds.ndim == 2:
                    try:
                        cols = [c.decode() if isinstance(c, bytes) else str(c)
                                for c in ds.dims[1][0][...]]
                    except (IndexError, KeyError, RuntimeError):
                        cols = [str(i) for i in range(ds.shape[1])]
                u = ds.attrs.get("units", "")
                ser.append((key, u.decode() if isinstance(u, bytes) else str(u),
                            ds[...].astype(float), cols))
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in obj.attrs.items()}
            found.append({"group": name, "time_s": t, "series": ser, "attrs": attrs})

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def clock_ticks(t0_h: float, t1_h: float, n: int = 6) -> list[tuple[float, str]]:
    """Ticks in clock time for a run's axis of hours after 1 January 00:00 local standard
    time: about ``n`` of them on whole hours (a day or less: ``HH:00``, the date at
    midnight) or whole days (``Mon DD``)."""
    import datetime as dt
    start = dt.datetime(CALENDAR_YEAR, 1, 1)
    span = max(t1_h - t0_h, 1e-9)
    steps_h = (1, 2, 3, 6, 12, 24, 48, 72, 7 * 24, 14 * 24, 28 * 24, 91 * 24)
    step = next((h for h in steps_h if span / h <= n), steps_h[-1])
    first = math.ceil(t0_h / step - 1e-9) * step
    ticks = []
    t = first
    while t <= t1_h + 1e-9:
        when = start + dt.timedelta(hours=t)
        if step >= 24 or when.hour == 0:
            label = when.strftime("%b %d")
        else:
            label = when.strftime("%H:00")
        ticks.append((float(t), label))
        t += step
    return ticks


def run_charts(path) -> list[str]:
    """Charts of a ``twin run`` results file (:mod:`twin.outputs.results`) in clock time:
    power, PUE, rack inlets, renewable share (when the campus has renewable supply),
    outdoor temperatures."""
    import h5py

    from twin.outputs.runfile import RunFile
    charts = []
    with h5py.File(path, "r") as f:
        rf = RunFile(f, path)
        t = rf.time_h(None)
        if t is None:
            return []
        x = np.asarray(t, dtype=float)
        if x.size == 0:
            return []
        lo = float(x.min()) - 0.5 * (float(x[1] - x[0]) if x.size > 1 else 1.0)
        hi = float(x.max()) + 0.5 * (float(x[1] - x[0]) if x.size > 1 else 1.0)
        ticks = clock_ticks(lo, hi)
        if ticks:
            ticks = [(lo, "")] * (ticks[0][0] > lo) + ticks + [(hi, "")] * (ticks[-1][0] < hi)
        xlabel = "local standard time"

        def chart(series, title, ylabel, **kw):
            charts.append(svg_line_chart(x, series, title, xlabel, ylabel, xticks=ticks, **kw))

        def get(group, name):
            v = rf.series(group, name)
            return None if v is None else np.asarray(v, dtype=float)

        power = [(lbl, v / 1e3) for lbl, v in (("IT", get("campus", "it_power_w")),
                                                ("facility", get("campus", "facility_power_w")),
                                                ("cooling", get("campus", "cooling_power_w")))
                 if v is not None]
        if power:
            chart(power, "Campus load [kW]", "kW")
        pue = get("campus", "pue")
        if pue is not None:
            chart([("PUE", pue)], "PUE [-]", "")
        inl = get("racks", "inlet_temp_c")
        if inl is not None and inl.ndim == 2 and inl.shape[1]:
            if inl.shape[1] <= 10:
                names = rf.object_names("racks")
                ser = [(names[k], inl[:, k]) for k in range(inl.shape[1])]
            else:
                ser = [("hottest", inl.max(axis=1)), ("mean", inl.mean(axis=1)),
                       ("coolest", inl.min(axis=1))]
            chart(ser, "Rack inlet temperatures [degC]", "degC",
                  hlines=[(RECOMMENDED_MAX_C, f"recommended {RECOMMENDED_MAX_C:g} C", "#b36b00"),
                          (ALLOWABLE_MAX_C, f"allowable {ALLOWABLE_MAX_C:g} C", "#b30000")])
        ren, load = get("power", "renewable_supply_w"), get("power", "facility_power_w")
        if ren is not None and load is not None and np.nanmax(np.abs(ren), initial=0.0) > 0:
            share = np.where(load > 0, 100.0 * np.minimum(ren, load) / np.where(load > 0, load, 1),
                             np.nan)
            chart([("renewable share", share)], "Renewable share of the load [%]", "%",
                  yrange=(0.0, 100.0))
        stored, grid = get("dispatch", "stored_energy_j"), get("power", "grid_import_w")
        if stored is not None and grid is not None:
            chart([("stored energy [MWh]", stored / 3.6e9), ("grid import [MW]", grid / 1e6),
                   ("curtailed [MW]", get("dispatch", "curtailed_w") / 1e6)],
                  "Storage and the grid connection", "MWh, MW")
        if "weather" in rf.series_groups():
            wx = [(WEATHER_LABELS.get(k, k), np.asarray(v, dtype=float))
                  for k, v in rf.group("weather")[0].items()
                  if k.endswith("_c") and v.ndim == 1 and v.shape[0] == x.size]
            if wx:
                chart(wx, "Outdoor [degC]", "degC")
    return charts


def _chart_for(ts: dict, limit_lines=True) -> list[str]:
    """SVG charts of one time-series group (one per unit of measure)."""
    t = ts["time_s"]
    scale, xlabel = (60.0, "time [min]") if t.size and t.max() > 600 else (1.0, "time [s]")
    if t.size and t.max() > 3 * 86400:
        scale, xlabel = 86400.0, "time [days]"
    elif t.size and t.max() > 3 * 3600:
        scale, xlabel = 3600.0, "time [h]"
    by_unit: dict = {}
    for name, units, arr, cols in ts["series"]:
        if arr.ndim == 1:
            by_unit.setdefault(units, []).append((name, arr))
        elif arr.shape[1] <= 10:
            for k in range(arr.shape[1]):
                by_unit.setdefault(units, []).append((cols[k] if cols else f"{name}[{k}]", arr[:, k]))
        else:
            by_unit.setdefault(units, []).extend([(f"{name} max", arr.max(axis=1)),
                                                  (f"{name} mean", arr.mean(axis=1)),
                                                  (f"{name} min", arr.min(axis=1))])
    charts = []
    for units, series in by_unit.items():
        hl = []
        if limit_lines and units == "degC":
            hl = [(RECOMMENDED_MAX_C, f"recommended {RECOMMENDED_MAX_C:g} C", "#b36b00"),
                  (ALLOWABLE_MAX_C, f"allowable {ALLOWABLE_MAX_C:g} C", "#b30000")]
        title = f"{ts['group']}" + (f" [{units}]" if units else "")
        charts.append(svg_line_chart(t / scale, series, title=title, xlabel=xlabel,
                                     ylabel=units, hlines=hl))
    return charts


def inlet_summary(view) -> dict:
    """Inlet metrics of a :class:`twin.outputs.loader.ResultView` (see the module docstring)."""
    T = view.fields["temp_c"]
    cells = []
    if view.ports:
        for pi in view.ports:
            if pi.role == "rack-intake":
                c = pi.port.cells
                cells.append(T[c[:, 0], c[:, 1], c[:, 2]])
    over = "intake cells" if cells else "rack means"
    vals = np.concatenate(cells) if cells else np.array(list(view.rack_inlet_c.values()))
    vals = vals[np.isfinite(vals)]
    inl = np.array([v for v in view.rack_inlet_c.values() if np.isfinite(v)])
    s = view.summary
    racks, units = s.get("racks", []), s.get("cooling_units", [])
    q = np.array([r["flow_m3_s"] for r in racks]) if racks else np.zeros(0)
    out = {"rci_over": over,
           "rci_hi_pct": rci_hi_pct(vals) if vals.size else float("nan"),
           "rci_lo_pct": rci_lo_pct(vals) if vals.size else float("nan"),
           "inlet_max_c": float(inl.max()) if inl.size else float("nan"),
           "inlet_mean_c": float(inl.mean()) if inl.size else float("nan"),
           "racks_over_27": int((inl > RECOMMENDED_MAX_C).sum()),
           "racks_over_32": int((inl > ALLOWABLE_MAX_C).sum()), "rti_pct": float("nan")}
    run = [u for u in units if u.get("airflow_m3_s", 0) > 0]
    if racks and run and q.sum() > 0:
        tin = np.array([r["intake_temp_c"] for r in racks])
        tout = np.array([r["exhaust_temp_c"] for r in racks])
        out["rti_pct"] = rti_pct([u["return_temp_c"] for u in run],
                                 [u["supply_temp_c"] for u in run],
                                 [u["airflow_m3_s"] for u in run], tout - tin, q)
    return out


def _cls(t):
    if not math.isfinite(t):
        return ""
    if t > ALLOWABLE_MAX_C:
        return "hot"
    if t > RECOMMENDED_MAX_C:
        return "warm"
    return "ok"


def dispatch_section(d: dict) -> str:
    """The report's storage and grid section: the metrics with and without storage, the
    battery, curtailment, the import cap and the flexible load (summary's ``dispatch``)."""
    w, wo = d["with_storage"], d["without_storage"]
    rows = [[label, fmt.format(wo[k]), fmt.format(w[k])] for k, label, fmt in (
        ("cfe_score", "hourly CFE score", "{:.1%}"), ("renewable_share", "renewable share (volume)", "{:.1%}"),
        ("carbon_free_used_share", "carbon-free supply used / load", "{:.1%}"),
        ("grid_import_mwh", "grid import MWh", "{:,.1f}"), ("cost_krw", "cost KRW", "{:,.0f}"),
        ("co2_t", "CO2 t", "{:,.2f}"))]
    rows += [["curtailed MWh", f"{wo['curtailed_mwh']:,.1f}", f"{d['curtailed_mwh']:,.1f}"],
             ["unserved under the import cap MWh", f"{wo['shortfall_mwh']:,.2f}", f"{d['shortfall_mwh']:,.2f}"]]
    notes = []
    b = d.get("battery")
    if b:
        notes.append(f"battery {b['energy_mwh']:g} MWh / {b['power_mw']:g} MW, policy {d['policy']}: "
                     f"charged {b['charged_mwh']:,.1f} MWh ({b['charged_from_grid_mwh']:,.1f} from the grid), "
                     f"discharged {b['discharged_mwh']:,.1f} MWh, losses {b['losses_mwh']:,.1f} MWh, "
                     f"{b['equivalent_full_cycles']:.1f} equivalent full cycles, capacity "
                     f"{b['capacity_end_frac']:.2%} of nameplate at the end")
    if d.get("import_cap_mw") is not None:
        notes.append(f"grid import cap {d['import_cap_mw']:g} MW, largest import {d['grid_import_max_mw']:.2f} MW")
    f = d.get("flexible_load")
    if f:
        notes.append(f"flexible load ({f['mode']}, {f['share_frac']:.0%} of the GPU work): "
                     f"{f['work_cut_mwh']:,.2f} MWh of work cut in {f['steps_cut']} steps, "
                     f"{f['work_caught_up_mwh']:,.2f} run later, {f['work_lost_mwh']:,.2f} lost "
                     f"({f['work_lost_frac']:.2%}), {f['work_waiting_end_mwh']:,.2f} still waiting; "
                     f"planned CFE {f['planned_cfe_score_without_flex']:.1%} -> "
                     f"{f['planned_cfe_score_with_flex']:.1%}")
    return ('<section id="dispatch"><h2>Storage and the grid connection</h2>'
            + table(["metric", "without storage", "with storage"], rows)
            + "".join(f'<p class="note">{html.escape(n)}.</p>' for n in notes) + "</section>")


def build_report(result, hall=None, limit_c: float = RECOMMENDED_MAX_C, picture=True,
                 time_s=None, time=None) -> str:
    """The HTML text of the report of ``result`` (a results .h5 file); ``time`` the text of
    ``--time`` (:func:`twin.outputs.loader.parse_time`), ``time_s`` seconds after the start."""
    from twin.outputs.loader import load_result
    from twin.outputs.view import render_png
    e = html.escape
    view = load_result(result, hall, time_s=time_s, time=time)
    s = view.summary
    m = inlet_summary(view)
    # a run's page shows one hall's state beside the campus's figures over the period
    state = f" (hall {view.hall}, this state)" if s.get("kind") == "run" else ""
    parts = []
    # --- summary
    bud = s.get("energy_budget", {})
    cards = [
        card("rack air heat", f"{bud.get('rack_heat_w', float('nan')) / 1e3:.1f} kW" if bud else "-"),
        card("heat removed by units", f"{bud.get('cooler_heat_w', float('nan')) / 1e3:.1f} kW" if bud else "-"),
        card("hottest rack inlet", f"{fmt_value(m['inlet_max_c'])} degC"),
        card("mean rack inlet", f"{fmt_value(m['inlet_mean_c'])} degC"),
        card(f"racks above {RECOMMENDED_MAX_C:g} degC", str(m["racks_over_27"])),
        card(f"racks above {ALLOWABLE_MAX_C:g} degC", str(m["racks_over_32"])),
        card(f"RCI_HI{state}", f"{fmt_value(m['rci_hi_pct'])} %"),
        card(f"RCI_LO{state}", f"{fmt_value(m['rci_lo_pct'])} %"),
        card(f"RTI{state}", f"{fmt_value(m['rti_pct'], '{:.0f}')} %"),
    ]
    run = s.get("run") or {}
    for key, label, fmt in RUN_CARDS:
        v = run.get(key)
        if isinstance(v, (int, float)) and math.isfinite(v):
            cards.append(card(label, fmt.format(v)))
    conv = s.get("converged")
    meta = [f"hall {view.hall}", f"{s.get('cells', np.prod(view.shape)):,} cells of "
            f"{fmt_value(s.get('cell_m', min(view.spacing_m)), '{:.2f}')} m",
            f"backend {s.get('backend', '?')}"]
    if conv is not None:
        meta.append(("converged" if conv else "NOT converged") + f" after {s.get('iterations', '?')} steps")
    if view.clock_time:
        meta.append(f"state at {view.clock_time}")
    elif view.time_s is not None:
        meta.append(f"state at t = {view.time_s:.0f} s")
    if s.get("off_units"):
        meta.append("units off: " + ", ".join(s["off_units"]))
    parts.append('<section id="summary"><h2>Summary</h2><div class="cards">' + "".join(cards)
                 + f'</div><p class="note">{e("; ".join(meta))}. Rack inlet = mean over the intake '
                 f'face; RCI (Herrlin 2005) over the {e(m["rci_over"])}{e(state)}, ASHRAE A1 '
                 'recommended '
                 f'{RECOMMENDED_MIN_C:g}-{RECOMMENDED_MAX_C:g} degC, allowable up to '
                 f'{ALLOWABLE_MAX_C:g} degC; RTI (Herrlin 2008): 100 % balanced, below: bypass, '
                 'above: recirculation.' + (CAMPUS_NOTE if run else '') + '</p></section>')
    # --- time series
    series = time_series(view.path)
    charts = run_charts(view.path) if s.get("kind") == "run" else []
    for ts in series:
        charts += _chart_for(ts)
    if charts:
        note = ""
        if s.get("kind") == "run" and not any("Renewable share" in c for c in charts):
            note = ('<p class="note">No renewable supply in this facility (no PV, wind or '
                    'contracts): the whole load is met from the grid.</p>')
        parts.append('<section id="timeseries"><h2>Time series</h2>' + "".join(
            f"<figure>{c}</figure>" for c in charts) + note + "</section>")
    if run.get("dispatch"):
        parts.append(dispatch_section(run["dispatch"]))
    # --- N-1 table
    n1 = [ts for ts in series if "time_to_recommended_s" in ts["attrs"]]
    if n1:
        rows, cls = [], []
        for ts in n1:
            a = ts["attrs"]
            tr, ta = a.get("time_to_recommended_s"), a.get("time_to_allowable_s")
            held = bool(a.get("holds_recommended"))
            rows.append([a.get("unit", ts["group"]), _tl(tr, ts), _tl(ta, ts),
                         "yes" if held else "no"])
            cls.append(["", "warm" if _finite(tr) else "", "hot" if _finite(ta) else "",
                        "ok" if held else "hot"])
        parts.append('<section id="n-1"><h2>N-1: a cooling unit fails</h2>' + table(
            ["failed unit", f"time to {RECOMMENDED_MAX_C:g} degC", f"time to {ALLOWABLE_MAX_C:g} degC",
             "remaining units hold the load"], rows, cls) + "</section>")
    # --- worst racks
    racks = {r["name"]: r for r in s.get("racks", [])}
    worst = sorted(view.rack_inlet_c.items(), key=lambda kv: -kv[1] if math.isfinite(kv[1]) else 0)[:12]
    rows, cls = [], []
    for name, t in worst:
        r = racks.get(name, {})
        rows.append([name, fmt_value(t), fmt_value(r.get("intake_max_c")), fmt_value(r.get("exhaust_temp_c")),
                     fmt_value(r.get("flow_m3_s"), "{:.2f}"), fmt_value(r.get("air_heat_w", float("nan")) / 1e3)])
        cls.append(["", _cls(t), _cls(r.get("intake_max_c", float("nan"))), "", "", ""])
    parts.append('<section id="worst-racks"><h2>Worst racks</h2>' + table(
        ["rack", "inlet C", "hottest intake cell C", "exhaust C", "flow m3/s", "air heat kW"],
        rows, cls) + "</section>")
    # --- cooling units and hot spots
    units = s.get("cooling_units", [])
    if units:
        parts.append('<section id="cooling-units"><h2>Cooling units</h2>' + table(
            ["unit", "removed kW", "supply C", "return C", "airflow m3/s"],
            [[u["name"], fmt_value(u["heat_removed_w"] / 1e3), fmt_value(u["supply_temp_c"]),
              fmt_value(u["return_temp_c"]), fmt_value(u["airflow_m3_s"], "{:.2f}")] for u in units])
            + "</section>")
    spots = s.get("hot_spots", [])
    if spots:
        parts.append('<section id="hot-spots"><h2>Hot spots</h2>' + table(
            ["rack intake", "temperature C", "x m", "y m", "z m"],
            [[h.get("rack") or _rack_near(view, h["position_m"]), fmt_value(h["temp_c"]),
              *[fmt_value(p) for p in h["position_m"]]] for h in spots],
            [["", _cls(h["temp_c"]), "", "", ""] for h in spots]) + "</section>")
    # --- the picture
    if picture:
        with tempfile.TemporaryDirectory() as tmp:
            png = Path(tmp) / "view.png"
            try:
                render_png(view, png, limit_c=limit_c)
                b64 = base64.b64encode(png.read_bytes()).decode("ascii")
                fig = (f'<figure><img class="view" alt="3D view of hall {e(view.hall)}: racks '
                       f'coloured by inlet temperature" src="data:image/png;base64,{b64}">'
                       f'<figcaption>Racks coloured by inlet temperature; translucent: air above '
                       f'{limit_c:g} degC; lines: streamlines from the cooling units\' supply; '
                       'slice: air temperature at mid-rack height.</figcaption></figure>')
            except Exception as exc:         # the page is still useful without it
                fig = f'<p class="note">3D picture not available: {e(str(exc))}</p>'
        parts.append(f'<section id="picture"><h2>3D view</h2>{fig}</section>')
    if view.notes:
        parts.append('<section id="notes"><h2>Notes</h2><ul>' + "".join(
            f"<li>{e(n)}</li>" for n in view.notes) + "</ul></section>")
    title = f"dc-twin report: {s.get('facility') or view.path.name}, hall {view.hall}"
    return page(title, parts, source=str(view.path))


def _rack_near(view, position_m) -> str:
    """The rack whose intake face lies nearest ``position_m`` (a run stores its hot spots
    as positions only); empty without the meshed ports."""
    best, name = np.inf, ""
    for pi in view.ports or ():
        if pi.role != "rack-intake":
            continue
        c = pi.port.cells
        pos = np.stack([np.asarray(view.centers_m[a])[c[:, a]] for a in range(3)], axis=1)
        d = float(np.min(np.linalg.norm(pos - np.asarray(position_m, float), axis=1)))
        if d < best:
            best, name = d, pi.device
    return name


def _finite(v):
    return isinstance(v, (int, float, np.floating)) and math.isfinite(float(v))


def _tl(v, ts):
    if not _finite(v):
        t = ts["time_s"]
        return f"not reached in {t.max() / 60:.1f} min" if t.size else "not reached"
    return "already above" if float(v) == 0.0 else f"{float(v):.0f} s"


def write_report(result, out_html, hall=None, limit_c=RECOMMENDED_MAX_C, picture=True,
                 time_s=None, time=None) -> Path:
    """Write the report of ``result`` to ``out_html`` (atomically)."""
    from twin.outputs.files import atomic_write
    text = build_report(result, hall=hall, limit_c=limit_c, picture=picture, time_s=time_s,
                        time=time)
    out = Path(out_html)
    atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
    return out
