"""The cooling tower's fan airflow by the closed-form root of YorkCalc (the shipped path)
against the 40-step bisection it replaced, in one process.

``python -m benchmarks.tower_root`` runs the plant sweep and the 744-hour ``plant_step``
timing of :mod:`benchmarks.condenser_optimal` twice: as shipped, and with the closed
form's polynomial made NaN so that :func:`twin.models.tower._airflow_for_approach` takes
its fallback bisection for every element (the algorithm of the code before the closed
form, step for step). Prints the largest differences of the plant's outputs between the
two (fixed, reset and optimal control; wet bulbs -10..25 degC, loads 20-100 %) and the
host seconds of each (best of three). Prints Markdown; nothing is asserted (the
agreement is asserted by ``tests/unit/test_plant.py``).
"""
from __future__ import annotations

import os
import platform
import time
import warnings
from dataclasses import replace

import numpy as np

FIELDS = ("total_power_w", "chiller_power_w", "tower_fan_power_w", "tower_airflow_fraction",
          "condenser_water_temp_c", "water_use_l", "chillers_running")


def _outputs():
    """The plant's outputs over the sweep of :mod:`benchmarks.condenser_optimal`, per plant
    and control."""
    from twin.models.inputs import CurveRangeWarning
    from twin.models.plant import design_plant, plant_step
    plants = {"small": (design_plant(150e3, 0.0, economizer=False, chw_supply_temp_c=14.0,
                                     chw_design_delta_t_k=8.0), 150e3),
              "20 MW": (design_plant(20e6, 2e6), 20e6)}
    wb1 = np.arange(-10.0, 25.5, 1.0)
    loads = (0.2, 0.4, 0.6, 0.8, 1.0)
    wb = np.tile(wb1, len(loads))
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CurveRangeWarning)
        for name, (spec, design_w) in plants.items():
            q = np.repeat(loads, wb1.size) * design_w
            liq = 0.1 * design_w if name == "20 MW" else 0.0
            for k, s in (("fixed", spec), ("reset", replace(spec, cw_reset=True)),
                         ("optimal", replace(spec, cw_optimal=True))):
                r = plant_step(q, liq, wb + 3.0, wb, s)
                out[(name, k)] = {f: np.asarray(getattr(r, f), dtype=float) for f in FIELDS}
    return out


def _timed():
    from benchmarks.condenser_optimal import _plant_time
    best = {}
    for _ in range(3):
        for k, v in _plant_time().items():
            best[k] = min(v, best.get(k, np.inf))
    return best


def main() -> int:
    import twin.models.tower as tower
    closed = (_outputs(), _timed())
    real = tower._yorkcalc_lg_polynomial
    tower._yorkcalc_lg_polynomial = lambda wb, r: [np.full(np.broadcast(wb, r).shape, np.nan)] * 3
    try:
        bisect = (_outputs(), _timed())
    finally:
        tower._yorkcalc_lg_polynomial = real
    print(f"# Cooling-tower airflow: closed form against bisection ({time.strftime('%Y-%m-%d')})\n")
    print(f"host: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}\n")
    print("| plant, control | " + " | ".join(FIELDS) + " |")
    print("|---|" + "---|" * len(FIELDS))
    for key in closed[0]:
        a, b = closed[0][key], bisect[0][key]
        cells = []
        for f in FIELDS:
            d = np.abs(a[f] - b[f])
            scale = np.maximum(np.abs(b[f]), 1e-300)
            rel = np.max(np.where(np.abs(b[f]) > 0, d / scale, 0.0))
            cells.append("0" if not np.any(d) else f"{rel:.1e} rel")
        print(f"| {key[0]}, {key[1]} | " + " | ".join(cells) + " |")
    print("\n| host s, one plant_step over 744 h (small hall's plant) | fixed | reset | optimal |")
    print("|---|---|---|---|")
    for name, (_, t) in (("bisection (before)", bisect), ("closed form (now)", closed)):
        print(f"| {name} | {t['fixed']:.3f} | {t['reset']:.3f} | {t['optimal']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
