"""The racks of a hall as the IT model sees them, for every command.

One rack model (:func:`twin.models.it_load.rack_power`: the EnergyPlus ITE model, with
server fans that follow the inlet temperature, leakage power and throttling) serves
``twin run`` over time and the steady commands (``solve``, ``whatif``, ``fail``,
``capacity``) alike. At the design inlet temperature (25 degC unless the behaviour record
says otherwise) it gives the rack's design power at its utilisation and its design
airflow, the answer of a fixed black box; away from it the heat and the airflow move.

A steady hall is brought to the rack model's fixed point by :func:`settle_racks`: the heat
follows the intakes through the exact steady heat solve at the solved flow (cheap), and
the flow is solved again only when a rack's airflow moves more than ``flow_tol_frac`` from
the flow in the field (as ``twin run`` does).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from common.fluids import Fluid
from twin.models.it_load import RACK_SPECS, RackSpec, rack_power

#: Facility rack types -> the :data:`twin.models.it_load.RACK_SPECS` record whose
#: behaviour (fan share, throttling limits, leakage) they take; power, idle power, liquid
#: share and design temperature rise always come from the facility's rack type.
RACK_BEHAVIOUR = {
    "hgx-h100-air": "dgx-h100-x4",
    "hgx-h100-air-half": "dgx-h100-x4",
    "gb200-nvl72": "gb200-nvl72",
    "cpu-compute": "cpu-2u-x20",
}

#: How a steady solve treats the racks: ``ite`` the rack model (heat and server airflow
#: follow the inlet), ``design`` the rack model's heat at the design airflow, ``fixed``
#: the black box at design heat and airflow (the OpenFOAM cross-check's racks).
RACK_MODELS = ("ite", "design", "fixed")


def rack_spec_for(rack, rho_cp_j_m3k: float = Fluid().rho_cp) -> RackSpec:
    """The :class:`~twin.models.it_load.RackSpec` of a placed rack (``PlacedRack``).

    Nameplate (the rack's design power), idle power, liquid share and design air
    temperature rise come from the facility; fan share, throttling limits and leakage from
    the behaviour record :data:`RACK_BEHAVIOUR` names (defaults of ``RackSpec`` otherwise).
    """
    rt = rack.rack_type
    base = RACK_SPECS.get(RACK_BEHAVIOUR.get(rack.type_name, ""))
    p_n = float(rack.design_power_w)
    f_liq = float(rt.liquid_capture_frac)
    air_w = p_n * (1.0 - f_liq)
    d_t = air_w / (rho_cp_j_m3k * rack.flow_m3_s) if rack.flow_m3_s > 0 else 12.0
    kw = dict(name=rack.type_name, nameplate_power_w=p_n,
              idle_fraction=min(max(rack.idle_power_w / p_n, 0.0), 1.0),
              liquid_capture_fraction=f_liq, design_air_delta_t_k=max(d_t, 1e-3),
              source=rt.source or rt.description, air_rho_cp_j_m3k=rho_cp_j_m3k)
    if base is None:
        return RackSpec(**kw)
    return replace(base, **kw)


@dataclass(frozen=True)
class HallRacks:
    """The racks of one meshed hall: their device index in the problem, their specs and
    utilisation [-] (``RackSpec`` of each, in device order)."""

    names: tuple
    device_index: np.ndarray
    specs: tuple
    utilization: np.ndarray

    def response(self, inlet_temp_c) -> dict:
        """The rack model at the given intake temperatures [degC]: ``power_w``,
        ``air_w`` (heat to the air), ``flow_m3_s`` (server airflow), ``work`` (done over
        asked, 1 unless throttled), ``fan_w``."""
        tin = np.asarray(inlet_temp_c, dtype=float)
        out = {k: np.zeros(len(self.names)) for k in ("power_w", "air_w", "flow_m3_s",
                                                       "work", "fan_w")}
        for n, spec in enumerate(self.specs):
            r = rack_power(self.utilization[n], tin[n], spec)
            out["power_w"][n] = r.power_w
            out["air_w"][n] = r.heat_to_air_w
            out["flow_m3_s"][n] = r.airflow_m3_s
            out["work"][n] = r.work_fraction
            out["fan_w"][n] = r.fan_power_w
        return out


def hall_racks(facility, problem, utilization: float = 1.0,
               rack_utilization: dict | None = None) -> HallRacks:
    """The :class:`HallRacks` of ``problem`` (meshed from ``facility``): every rack device
    with its placed rack's spec; ``rack_utilization`` ({device name: utilisation})
    overrides ``utilization`` rack by rack."""
    placed = {}
    for hall in facility.halls:
        for r in facility.layout(hall.name).racks:
            placed[r.name] = r
    over = dict(rack_utilization or {})
    names, index, specs, util = [], [], [], []
    rho_cp = facility.rho_cp
    for n, d in enumerate(problem.devices):
        if d.kind != "rack" or d.name not in placed:
            continue
        names.append(d.name)
        index.append(n)
        specs.append(rack_spec_for(placed[d.name], rho_cp))
        util.append(float(over.get(d.name, utilization)))
    return HallRacks(tuple(names), np.array(index, dtype=np.int64), tuple(specs),
                     np.array(util, dtype=float))


def settle_racks(solver, racks: HallRacks, model: str = "ite", flow_tol_frac: float = 0.10,
                 heat_tol_frac: float = 0.005, max_rounds: int = 12, progress=None) -> dict:
    """Bring a solved hall to the rack model's fixed point.

    Each round reads the intakes, evaluates the rack model, and updates the rack devices:
    the heat (relaxed by one half against oscillation) through the exact steady heat solve
    at the current flow (``Solver.finish_energy``), and, under ``model="ite"``, the
    airflow through a new steady solve when any rack's airflow differs by more than
    ``flow_tol_frac`` from the one the field was solved with. Stops when no rack's heat
    moves more than ``heat_tol_frac``. ``model="fixed"`` leaves the racks alone.

    Returns ``rounds``, ``flow_solves``, ``heat_change_frac`` (largest relative change of
    the last round), ``settled``, ``steps`` (pseudo-steps of the flow solves), the last
    flow solve's ``run`` (or ``None``) and the rack model's answer (``response``).
    """
    if model not in RACK_MODELS:
        raise ValueError(f"rack model {model!r}: one of {', '.join(RACK_MODELS)}")
    info = {"model": model, "rounds": 0, "flow_solves": 0, "heat_change_frac": 0.0,
            "settled": True, "steps": 0, "run": None, "response": None}
    if model == "fixed" or not racks.names:
        return info
    ix = racks.device_index
    info["settled"] = False
    for rnd in range(1, max_rounds + 1):
        devices = list(solver.devices)
        res = racks.response(solver.dev_tin[ix])
        old_air = np.array([devices[i].heat_w for i in ix])
        old_flow = np.array([devices[i].flow_m3_s for i in ix])
        change = float(np.max(np.abs(res["air_w"] - old_air) / np.maximum(old_air, 1.0)))
        flow_move = np.abs(res["flow_m3_s"] - old_flow) / np.maximum(old_flow, 1e-9)
        resolve = model == "ite" and float(np.max(flow_move)) > flow_tol_frac
        info.update(rounds=rnd, heat_change_frac=change, response=res)
        if change <= heat_tol_frac and not resolve:
            info["settled"] = True
            break
        air = old_air + 0.5 * (res["air_w"] - old_air) if rnd > 1 else res["air_w"]
        for k, i in enumerate(ix):
            d = devices[i]
            devices[i] = replace(d, heat_w=float(air[k]),
                                 flow_m3_s=float(res["flow_m3_s"][k]) if resolve else d.flow_m3_s)
        solver.set_devices(devices)
        if resolve:
            run = solver.solve_steady(progress=progress)
            info["flow_solves"] += 1
            info["steps"] += int(run.iterations)
            info["run"] = run
        else:
            solver.finish_energy()
    return info
