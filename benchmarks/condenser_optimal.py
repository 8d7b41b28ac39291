"""What the optimal condenser-water control does to the small hall's PUE: fixed, wet-bulb
reset and optimal in one process.

``python -m benchmarks.condenser_optimal [--hours 744] [--step 1h] [--cell 0.5]`` runs
``meshes/small-hall.toml`` as shipped (no ``[plant]`` section: condenser water fixed at
24 degC), with ``[plant.condenser_water] control = "wet-bulb-reset"`` and with ``control =
"optimal"`` from 1 January, the racks at their design airflow (one flow solve, shared),
and prints per month and for the whole run the PUE, the chillers' and tower fans' energy
and the mean condenser water (the rows of :mod:`benchmarks.condenser_reset`). Then
``plant_step`` alone over wet bulbs -10..25 degC and loads of 20-100 % of design: chiller
+ tower-fan power of the optimal control against the fixed set-point and the reset, and
the host time of one ``plant_step`` over a month of hours with each control. Prints
Markdown; nothing is asserted.
"""
from __future__ import annotations

import os
import platform
import time
import warnings
from dataclasses import replace

import numpy as np

from benchmarks.condenser_reset import RESET, run_controls, sweep_plants

OPTIMAL = '\n[plant.condenser_water]\ncontrol = "optimal"\n'


def _plant_sweep():
    """Per plant: the largest and mean saving of chiller + tower-fan power of the optimal
    control against the fixed set-point and the reset, over wet bulbs and loads."""
    from twin.models.inputs import CurveRangeWarning
    from twin.models.plant import plant_step
    plants = sweep_plants()
    wb1 = np.arange(-10.0, 25.5, 1.0)
    loads = (0.2, 0.4, 0.6, 0.8, 1.0)
    wb = np.tile(wb1, len(loads))
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CurveRangeWarning)
        for name, (spec, design_w) in plants.items():
            q = np.repeat(loads, wb1.size) * design_w
            use = {}
            for k, s in (("fixed", spec), ("reset", replace(spec, cw_reset=True)),
                         ("optimal", replace(spec, cw_optimal=True))):
                r = plant_step(q, 0.0, wb + 3.0, wb, s)
                use[k] = np.asarray(r.chiller_power_w) + np.asarray(r.tower_fan_power_w)
            on = use["fixed"] > 0.0
            vs_fixed = (use["fixed"][on] - use["optimal"][on]) / use["fixed"][on]
            vs_reset = (use["reset"][on] - use["optimal"][on]) / use["reset"][on]
            worst = int(np.argmax(np.where(on, use["reset"] - use["optimal"], -np.inf)))
            rows.append((name, vs_fixed.max(), vs_fixed.mean(), vs_reset.max(), vs_reset.mean(),
                         vs_reset.min(), wb[worst], q[worst] / design_w))
    return rows


def _plant_time(hours: int = 744):
    """Host seconds of one ``plant_step`` over ``hours`` steps, per control (the small
    hall's plant, January-like wet bulbs)."""
    from twin.models.inputs import CurveRangeWarning
    from twin.models.plant import plant_step
    spec = sweep_plants()["small hall's (150 kW, no economizer)"][0]
    rng = np.random.default_rng(1)
    wb = rng.uniform(-8.0, 8.0, hours)
    q = rng.uniform(0.7, 1.0, hours) * 150e3
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CurveRangeWarning)
        for k, s in (("fixed", spec), ("reset", replace(spec, cw_reset=True)),
                     ("optimal", replace(spec, cw_optimal=True))):
            t0 = time.perf_counter()
            plant_step(q, 0.0, wb + 3.0, wb, s)
            out[k] = time.perf_counter() - t0
    return out


def main(argv=None) -> int:
    args, step_s, runs = run_controls("python -m benchmarks.condenser_optimal", 744.0,
                                      ("", RESET, OPTIMAL), argv)
    print(f"small hall, {args.hours:g} h from 1 January, {args.step} steps, {args.cell:g} m cells, "
          f"design rack airflow; {platform.node()}, {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| month | PUE fixed / reset / optimal | chillers kWh fixed / reset / optimal | "
          "tower fans kWh fixed / reset / optimal | plant kWh fixed / reset / optimal | "
          "condenser water degC fixed / reset / optimal |")
    print("|---|---|---|---|---|---|")
    for ra, rb, rc in zip(*runs):
        print(f"| {ra[0]} | {ra[1]:.4f} / {rb[1]:.4f} / {rc[1]:.4f} | "
              f"{ra[2]:,.0f} / {rb[2]:,.0f} / {rc[2]:,.0f} | {ra[3]:,.0f} / {rb[3]:,.0f} / {rc[3]:,.0f} | "
              f"{ra[4]:,.0f} / {rb[4]:,.0f} / {rc[4]:,.0f} | {ra[5]:.1f} / {rb[5]:.1f} / {rc[5]:.1f} |")
    print("\n| plant (plant_step alone) | saving vs fixed, largest / mean | saving vs reset, largest / "
          "mean / least | largest saving vs reset at wet bulb degC, load |")
    print("|---|---|---|---|")
    for name, fmax, fmean, rmax, rmean, rmin, wb, load in _plant_sweep():
        print(f"| {name} | {fmax:.1%} / {fmean:.1%} | {rmax:.2%} / {rmean:.2%} / {rmin:+.2%} | "
              f"{wb:g}, {load:.0%} |")
    t = _plant_time()
    print("\nhost s of one plant_step over 744 hours (small hall's plant): "
          + ", ".join(f"{k} {v:.2f}" for k, v in t.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
