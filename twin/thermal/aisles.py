"""Sealed contained aisles and the cooling units that serve them.

:func:`sealed_aisle_zones` finds, in a meshed hall, each contained aisle that is sealed
(doors at both ends and a roof) and holds a port of some cooling unit, with the racks and
units that have a port in it. :func:`match_sealed_aisles` sets those units' airflow to
their racks' (the default of ``twin solve`` / ``twin whatif``, ``--units matched``): with
``--units design`` every unit runs at its design airflow, and in-row coolers that move more air
than their aisle's racks draw the difference through the aisle's door leaks, at a
suction of kPa (``benchmarks/results/sealed-aisles-2026-12-07.md``). ``twin run`` matches
the same way at every step (:meth:`twin.loop.hall.HallModel.desired_flows`).

Containment cooling is controlled so: the units' airflow follows the IT airflow of their
aisle, the aisle near neutral pressure (Niemann, J., Brown, K., Avelar, V. (2011)
"Impact of Hot and Cold Aisle Containment on Data Center Temperature and Efficiency",
Schneider Electric White Paper 135).
"""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np

__all__ = ["UNIT_FLOWS", "DEFAULT_UNIT_FLOWS", "sealed_aisle_zones", "match_sealed_aisles"]

#: The steady commands' choices for the cooling units' airflow (``--units``).
UNIT_FLOWS = ("design", "matched")
#: Their default: matched, as containment cooling is run and as ``twin run`` does (at
#: design the AI hall's sealed aisles were pulled to about -10 kPa and its solve diverged:
#: ``benchmarks/results/sealed-aisles-2026-12-07.md``). Halls without a sealed aisle are
#: the same either way.
DEFAULT_UNIT_FLOWS = "matched"

#: Least fan speed of a unit matched to its aisle, share of its design airflow (as
#: ``twin run``: :data:`twin.loop.settings._FAN_MIN_SPEED`; est., EC fans turn down to
#: about 30 %).
MIN_SPEED_FRAC = 0.3


def sealed_aisle_zones(hm) -> list[tuple[np.ndarray, np.ndarray]]:
    """The sealed contained aisles of a meshed hall as (rack indices, unit indices) into
    ``hm.rack_dev`` and ``hm.cooler_dev``.

    ``hm`` carries ``problem`` (the meshed :class:`kernels.problem.Problem`), ``layout``
    and ``hall`` (the facility's), ``name`` (the hall's), ``rack_dev`` and ``cooler_dev``
    (device indices of the racks and units) and ``cooler_design_flow`` (m3/s), as
    :class:`twin.loop.hall.HallModel` does. One zone per ``[[halls.containment]]`` with
    doors and a roof whose aisle holds a port of some unit (an in-row cooler's intake
    behind a hot aisle, or its supply into a cold aisle); its racks are those with a port
    there (their exhausts, or their intakes). A device is in the aisle when most of one of
    its ports' cells have their centres inside the aisle (between the doors, from the
    floor to the roof), within half a cell. An aisle open at its ends or top exchanges air
    freely and is matched with the rest of the hall."""
    p, lay = hm.problem, hm.layout
    g = p.grid
    h = np.asarray(g.spacing_m, float)
    o = np.asarray(g.origin_m, float)
    panels = {pn.name: pn.box for pn in lay.panels}
    zones = []
    for ct in hm.hall.containment:
        a = panels.get(f"{hm.name}/{ct.name}/door-start")
        b = panels.get(f"{hm.name}/{ct.name}/door-end")
        if not (ct.doors and ct.roof) or a is None or b is None:
            continue
        lo = np.array([min(a.x0, b.x0), min(a.y0, b.y0), min(a.z0, b.z0)]) - 0.5 * h
        hi = np.array([max(a.x1, b.x1), max(a.y1, b.y1), max(a.z1, b.z1)]) + 0.5 * h

        def inside(dev) -> bool:
            for port in (dev.intake, dev.exhaust):
                c = o + (np.asarray(port.cells, float) + 0.5) * h
                if len(c) and np.mean(np.all((c >= lo) & (c <= hi), axis=1)) > 0.5:
                    return True
            return False
        units = np.array([k for k, i in enumerate(hm.cooler_dev) if inside(p.devices[i])], dtype=int)
        if not units.size or hm.cooler_design_flow[units].sum() <= 0:
            continue
        racks = np.array([k for k, i in enumerate(hm.rack_dev) if inside(p.devices[i])], dtype=int)
        taken = {int(u) for _, us in zones for u in us}
        units = np.array([u for u in units if int(u) not in taken], dtype=int)
        if units.size:
            zones.append((racks, units))
    return zones


def match_sealed_aisles(problem, facility, hall_name: str,
                        min_speed_frac: float = MIN_SPEED_FRAC) -> tuple[object, list[dict]]:
    """``problem`` with the units of each sealed aisle at their racks' airflow.

    Rule: every unit of a sealed aisle (:func:`sealed_aisle_zones`) runs at the same share
    of its design airflow, the aisle's racks' airflow (as meshed: the cabinets' airflow at
    the command's utilisation) over the units' design airflow, within ``min_speed_frac``
    and full speed; no air then passes the aisle's doors unless the units cannot match
    (the racks beyond the units' full speed, or below their least). The other units keep
    their design airflow (the steady commands' rule). Returns the new problem and, per
    aisle, ``racks_airflow_m3_s``, ``units_design_airflow_m3_s``, ``units_airflow_m3_s``
    and ``speed_frac``.
    """
    devs = problem.devices
    kinds = [d.kind for d in devs]
    hm = SimpleNamespace(problem=problem, layout=facility.layout(hall_name),
                         hall=facility.hall(hall_name), name=hall_name)
    hm.rack_dev = np.array([i for i, k in enumerate(kinds) if k == "rack"], dtype=int)
    hm.cooler_dev = np.array([i for i, k in enumerate(kinds) if k == "cooler"], dtype=int)
    hm.cooler_design_flow = np.array([devs[i].flow_m3_s for i in hm.cooler_dev], dtype=float)
    rack_q = np.array([devs[i].flow_m3_s for i in hm.rack_dev], dtype=float)
    flows = {}
    info = []
    for racks, units in sealed_aisle_zones(hm):
        q = float(rack_q[racks].sum())
        design = float(hm.cooler_design_flow[units].sum())
        speed = float(np.clip(q / design, min_speed_frac, 1.0))
        for k in units:
            flows[int(hm.cooler_dev[k])] = speed * float(hm.cooler_design_flow[k])
        info.append({"racks": [devs[int(hm.rack_dev[r])].name for r in racks],
                     "units": [devs[int(hm.cooler_dev[u])].name for u in units],
                     "racks_airflow_m3_s": q, "units_design_airflow_m3_s": design,
                     "units_airflow_m3_s": speed * design, "speed_frac": speed})
    if not flows:
        return problem, info
    new = problem.with_devices(replace(d, flow_m3_s=flows[i]) if i in flows else d
                               for i, d in enumerate(devs))
    return new, info
