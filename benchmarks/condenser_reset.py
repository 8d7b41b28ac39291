"""What the condenser-water reset does to the small hall's PUE: an A/B in one process.

``python -m benchmarks.condenser_reset [--hours 8760] [--step 1h] [--cell 0.5]`` runs
``meshes/small-hall.toml`` as shipped (A: no ``[plant]`` section, the tower holds 24 degC)
and with ``[plant.condenser_water] control = "wet-bulb-reset"`` (B) from 1 January, the
racks at their design airflow (one flow solve, shared), and prints per month and for the
whole run the PUE, the chillers' and tower fans' energy and the mean condenser water.
Then ``plant_step`` alone over wet bulbs -10..25 degC and loads of 20-100 % of design:
the largest extra plant power the reset costs, at the bare design approach and at the
default (:data:`twin.models.plant.CW_RESET_APPROACH_MARGIN_K` more). Prints Markdown;
nothing is asserted, no time is measured.
"""
from __future__ import annotations

import argparse
import platform
import warnings
from dataclasses import replace

import numpy as np

from benchmarks.report import MESHES

RESET = '\n[plant.condenser_water]\ncontrol = "wet-bulb-reset"\n'
MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _run(text: str, hours: float, step_s: float, cell_m: float, memo: dict):
    from twin.facility import loads_facility
    from twin.loop.settings import RunSettings
    from twin.loop.simulation import Simulation
    fac = loads_facility(text, folder=MESHES, name="small-hall.toml")
    sim = Simulation(fac, RunSettings(hours=hours, step_s=step_s, cell_m=cell_m, backend="cpu",
                                      rack_airflow="design", checkpoint_every_s=0.0), flow_memo=memo)
    sim.run()
    return sim.run_data()


def _rows(data, step_s: float):
    """``(label, pue, chiller kWh, tower fan kWh, plant kWh, mean condenser degC)`` per
    month and for the whole run."""
    c, p = data.series["campus"], data.series["plant"]
    t_h = np.asarray(data.time_h, float)
    kwh = step_s / 3.6e6
    edges = np.cumsum((0,) + MONTH_DAYS) * 24.0
    month = np.searchsorted(edges, t_h, side="right") - 1
    out = []
    groups = [(f"{m + 1:02d}", month == m) for m in range(12) if np.any(month == m)]
    for label, sel in groups + [("run", np.ones(t_h.shape, bool))]:
        it = np.sum(np.asarray(c["it_power_w"])[sel])
        fac = np.sum(np.asarray(c["facility_power_w"])[sel])
        out.append((label, fac / it, np.sum(np.asarray(p["chiller_power_w"])[sel]) * kwh,
                    np.sum(np.asarray(p["tower_fan_power_w"])[sel]) * kwh,
                    np.sum(np.asarray(p["total_power_w"])[sel]) * kwh,
                    float(np.mean(np.asarray(p["condenser_water_temp_c"])[sel]))))
    return out


def sweep_plants() -> dict:
    """The two plants the sweeps compare controls on: name -> (spec, design heat [W])."""
    from twin.models.plant import design_plant
    return {
        "small hall's (150 kW, no economizer)": (design_plant(150e3, 0.0, economizer=False,
                                                               chw_supply_temp_c=14.0,
                                                               chw_design_delta_t_k=8.0), 150e3),
        "20 MW, water-side economizer": (design_plant(20e6, 0.0), 20e6),
    }


def _plant_sweep():
    """Largest extra plant power of the reset over a grid of wet bulbs and loads."""
    from twin.models.inputs import CurveRangeWarning
    from twin.models.plant import CW_RESET_APPROACH_MARGIN_K, plant_step
    plants = sweep_plants()
    wb = np.arange(-10.0, 25.5, 1.0)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CurveRangeWarning)
        for name, (spec, design_w) in plants.items():
            for margin in (0.0, CW_RESET_APPROACH_MARGIN_K):
                worst, worst_frac, best_frac = 0.0, 0.0, 0.0
                approach = spec.tower.design_approach_k + margin
                for frac in (0.2, 0.4, 0.6, 0.8, 1.0):
                    a = plant_step(frac * design_w, 0.0, wb + 3.0, wb, spec)
                    b = plant_step(frac * design_w, 0.0, wb + 3.0, wb,
                                   replace(spec, cw_reset=True, cw_reset_approach_k=approach))
                    d = np.asarray(b.total_power_w) - np.asarray(a.total_power_w)
                    rel = d / np.asarray(a.total_power_w)
                    worst = max(worst, float(d.max()))
                    worst_frac = max(worst_frac, float(rel.max()))
                    best_frac = min(best_frac, float(rel.min()))
                rows.append((name, approach, worst, worst_frac, best_frac))
    return rows


def run_controls(prog: str, hours: float, extras, argv=None):
    """Parse ``--hours``, ``--step``, ``--cell`` (default ``hours``) and run the small hall
    once per text in ``extras`` appended to its file (one flow solve, shared); returns
    ``(args, step_s, rows per run)`` (:func:`_rows`)."""
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--hours", type=float, default=hours)
    ap.add_argument("--step", default="1h")
    ap.add_argument("--cell", type=float, default=0.5)
    args = ap.parse_args(argv)
    from twin.loop.simulation import parse_duration_s
    step_s = parse_duration_s(args.step)
    text = (MESHES / "small-hall.toml").read_text()
    memo: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = [_rows(_run(text + extra, args.hours, step_s, args.cell, memo), step_s)
                for extra in extras]
    return args, step_s, runs


def main(argv=None) -> int:
    args, step_s, (a, b) = run_controls("python -m benchmarks.condenser_reset", 8760.0,
                                        ("", RESET), argv)
    print(f"small hall, {args.hours:g} h from 1 January, {args.step} steps, {args.cell:g} m cells, "
          f"design rack airflow; {platform.node()}, {platform.python_version()}\n")
    print("| month | PUE fixed 24 degC | PUE reset | d PUE | chillers kWh fixed / reset | "
          "tower fans kWh fixed / reset | plant kWh fixed / reset | condenser water degC fixed / reset |")
    print("|---|---|---|---|---|---|---|---|")
    for ra, rb in zip(a, b):
        print(f"| {ra[0]} | {ra[1]:.4f} | {rb[1]:.4f} | {rb[1] - ra[1]:+.4f} | {ra[2]:,.0f} / {rb[2]:,.0f} | "
              f"{ra[3]:,.0f} / {rb[3]:,.0f} | {ra[4]:,.0f} / {rb[4]:,.0f} | {ra[5]:.1f} / {rb[5]:.1f} |")
    print("\n| plant (plant_step alone) | reset approach K | largest extra plant kW | "
          "largest extra, share of plant power | largest saving, share |")
    print("|---|---|---|---|---|")
    for name, approach, worst, wf, bf in _plant_sweep():
        print(f"| {name} | {approach:.1f} | {worst / 1e3:,.2f} | {wf:+.2%} | {bf:+.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
