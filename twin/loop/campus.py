"""The campus evaluation of ``twin run``: plant, power, renewables, grid and the run's summary.

Moved out of :mod:`twin.loop.simulation`; these functions read a
:class:`~twin.loop.simulation.Simulation` (passed in, never imported: no cycle) once its
halls have advanced:

* :func:`campus_block`, called by ``Simulation.flush`` for a block of committed steps:
  the halls' totals, each solved hall taken at its installed replicas
  (``Simulation.hall_weight``) -> plant (:func:`twin.models.plant.plant_step`) with the
  step's dry and wet bulb (:func:`twin.models.weather.weather_at`,
  :func:`twin.models.weather.wet_bulb_temp_c`); the chilled-water load is the heat the
  units remove plus their fan heat (draw-through fans: the coil takes it), the
  facility-water load the CDU heat plus CDU pump heat -> electrical chain losses
  (transformer, UPS, PDU: :func:`twin.models.power.electrical_chain`) -> on-site PV and
  contracted solar and wind (:func:`renewable_supply`), hour-by-hour matching, grid carbon
  and tariff -> with ``[power.storage]``, ``[power.flexible_load]`` or a grid
  ``import_cap_mw`` the battery dispatch, curtailment and the import cap
  (:class:`twin.loop.dispatch.CampusDispatch`).
* :func:`run_summary`: the numbers of ``summary.json`` (:mod:`twin.models.metrics`: RCI,
  RTI, SHI, ASHRAE compliance, PUE, WUE, CUE; renewable share and hourly CFE score); the
  inlet metrics over the halls in service at each step (:func:`in_service`).
* :func:`renewable_supply`: the per-step renewable supply, set up once by
  ``Simulation.prepare``.
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from common.units import J_PER_KWH
from twin.models.design_days import period_offset_k, period_summary
from twin.models.metrics import (ASHRAE_CLASSES, RECOMMENDED, inlet_class_compliance, rci_hi_pct,
                                 rci_lo_pct, rti_pct, shi_rhi)
from twin.models.plant import plant_step
from twin.models.power import electrical_chain
from twin.outputs.cf import local_time
from twin.outputs.results import SUMMARY_SCHEMA, SUMMARY_SCHEMA_VERSION, SUMMARY_UNITS_NOTE

__all__ = ["campus_block", "hours_over", "in_service", "run_summary", "racks_over", "renewable_supply"]


def campus_block(sim, recs) -> dict:
    """Campus, plant, power and weather series of the steps ``recs`` (vectorised): the
    groups ``campus``, ``plant``, ``power``, ``weather`` (and ``dispatch``) of the results."""
    s = sim.settings
    dt = s.step_s
    ks = np.array([r.step for r in recs], dtype=int)

    weight = sim.hall_weight[ks]          # installed replicas of each solved hall

    def tot(f):
        return np.array([sum(w * f(h) for w, h in zip(weight[i], r.halls))
                         for i, r in enumerate(recs)], dtype=float)
    it_w = tot(lambda h: h.it_power_w)
    air_w = tot(lambda h: h.heat_to_air_w)
    liq_w = tot(lambda h: h.heat_to_liquid_w)
    cooler_w = tot(lambda h: h.cooler_heat_total_w)
    bnd_w = tot(lambda h: h.boundary_heat_w)
    fan_w = tot(lambda h: float(h.cooler_fan_power_w.sum()))
    cdu_pump_w = np.where(liq_w > 0, tot(lambda h: float(h.cdu_pump_power_w.sum())), 0.0)
    # rear doors: their heat to their loop's plant side, their fans as cooling power
    door_w = tot(lambda h: h.door_heat_w)
    door_chw = tot(lambda h: h.door_chilled_water_heat_w)
    door_fan_w = tot(lambda h: h.door_fan_power_w)
    chw_load = np.maximum(cooler_w + fan_w + door_chw, 0.0)
    liq_load = liq_w + cdu_pump_w + (door_w - door_chw)
    db, wb = sim.env["dry_bulb_c"][ks], sim.env["wet_bulb_c"][ks]
    pr = plant_step(chw_load, liq_load, db, wb, sim.plant_spec, dt_s=dt)
    plant = {f.name: np.asarray(getattr(pr, f.name), float) * np.ones(len(ks))
             for f in dataclasses.fields(pr)}
    plant["chw_load_w"] = chw_load
    plant["liquid_load_w"] = liq_load
    plant["balance_w"] = plant["heat_rejected_w"] - (plant["heat_removed_w"] + plant["chiller_power_w"]
                                                     + plant["pump_power_w"])
    cooling_w = plant["total_power_w"] + fan_w + cdu_pump_w + door_fan_w
    ch = electrical_chain(it_w, sim.chain, non_ups_load_w=cooling_w)
    fac_w = np.asarray(ch.grid_power_w, float)
    # renewables, grid, carbon and cost
    sup = {n: v[ks] for n, v in sim.supply.items()}
    cfe_w = sup["carbon_free_w"]
    matched_w = np.minimum(fac_w, cfe_w)
    grid_w = fac_w - matched_w
    e_grid_kwh = grid_w * dt / J_PER_KWH
    used = np.where(cfe_w > 0, matched_w / np.where(cfe_w > 0, cfe_w, 1.0), 0.0)
    co2 = e_grid_kwh * sim.grid_carbon + sup["contract_carbon_kg_per_h"] * dt / 3600.0 * used
    cost = e_grid_kwh * sim.price[ks] + sup["ppa_cost_krw_per_h"] * dt / 3600.0
    extra = {}
    if sim.dispatch is not None:                     # storage, curtailment, grid cap
        upd, extra["dispatch"] = sim.dispatch.block(
            ks, fac_w, cfe_w, sim.price[ks], sim.grid_carbon,
            sup["contract_carbon_kg_per_h"] * dt / 3600.0, sup["ppa_cost_krw_per_h"] * dt / 3600.0)
        grid_w, matched_w, co2, cost = (upd[k] for k in ("grid_import_w", "matched_w", "co2_kg", "cost_krw"))
    losses = np.asarray(ch.pdu_loss_w + ch.ups_loss_w + ch.transformer_loss_w, float)
    power = {
        "it_power_w": it_w, "pdu_loss_w": np.asarray(ch.pdu_loss_w, float),
        "ups_loss_w": np.asarray(ch.ups_loss_w, float),
        "transformer_loss_w": np.asarray(ch.transformer_loss_w, float), "cooling_power_w": cooling_w,
        "crah_fan_power_w": fan_w, "cdu_pump_power_w": cdu_pump_w,
        "facility_power_w": fac_w, "grid_import_w": grid_w, "renewable_supply_w": sup["renewable_w"],
        "carbon_free_supply_w": cfe_w, "matched_w": matched_w,
        "onsite_pv_w": sup["onsite_pv_w"], "wind_w": sup["wind_w"],
        "contract_solar_w": sup["contract_solar_w"],
        "price_krw_per_kwh": sim.price[ks], "carbon_kg_per_kwh": np.full(len(ks), float(sim.grid_carbon)),
        "co2_kg": co2, "cost_krw": cost,
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        campus = {
            "it_power_w": it_w, "facility_power_w": fac_w, "cooling_power_w": cooling_w,
            "heat_to_air_w": air_w, "heat_to_liquid_w": liq_w, "cooler_heat_w": cooler_w,
            "boundary_heat_w": bnd_w,
            "pue": np.where(it_w > 0, fac_w / it_w, np.nan),
            "ppue_cooling": np.where(it_w > 0, (it_w + cooling_w) / it_w, np.nan),
            "ppue_electrical": np.where(it_w > 0, (it_w + losses) / it_w, np.nan),
            "water_l": plant["water_use_l"], "co2_kg": co2, "cost_krw": cost,
            "it_balance_w": it_w + door_fan_w - air_w - liq_w - door_w,
            "air_balance_frac": np.where(air_w > 0, (air_w + bnd_w - cooler_w) / air_w, 0.0),
            "plant_balance_w": plant["balance_w"],
            "max_inlet_c": np.array([max((h.max_inlet_c for w, h in zip(weight[i], r.halls) if w > 0),
                                         default=np.nan) for i, r in enumerate(recs)]),
        }
        if sim.has_doors:                      # rear doors: their heat and fans
            campus.update(door_heat_w=door_w, door_fan_power_w=door_fan_w)
    weather = {n: v[ks] for n, v in sim.env.items()}
    return {"campus": campus, "plant": plant, "power": power, "weather": weather, **extra}


def run_summary(sim) -> dict:
    """The numbers of ``summary.json`` of ``sim`` (energies over the completed steps)."""
    s = sim.settings
    a = sim._arrays()
    dt = s.step_s
    w = sim._weather_record()
    out = {"schema": SUMMARY_SCHEMA, "schema_version": SUMMARY_SCHEMA_VERSION,
           "units": SUMMARY_UNITS_NOTE,
           "status": sim.status, "steps": sim.k, "steps_planned": sim.n_steps,
           "hours": sim.k * dt / 3600.0, "step_s": dt, "start_h": s.start_h,
           "start_time": local_time(s.start_h, w.utc_offset_h).isoformat(),
           "end_time": local_time(s.start_h + sim.k * dt / 3600.0, w.utc_offset_h).isoformat(),
           "weather": {"source": sim.facility.campus.weather, "description": w.source,
                       "site": w.site_name, "latitude_deg": w.latitude_deg,
                       "longitude_deg": w.longitude_deg, "elevation_m": w.elevation_m,
                       "utc_offset_h": w.utc_offset_h},
           **({"period": period_summary(w, s.period)} if s.period else {}),
           "thermal": s.thermal, "profile": s.profile,
           "cells": int(sum(h.report.cells for h in sim.halls)),
           "backend": sim.halls[0].backend_name if sim.halls else "",
           "wall_s": round(sim.wall_s, 3),
           "halls_solved": [h.name for h in sim.halls],
           "halls_represented": int(sum(len(h.replicas) for h in sim.halls))}
    if not sim.k:
        return out
    c, pw, pl, hl, rk = a["campus"], a["power"], a["plant"], a["halls"], a["racks"]
    it_j = float(np.sum(c["it_power_w"]) * dt)
    fac_j = float(np.sum(c["facility_power_w"]) * dt)
    cool_j = float(np.sum(c["cooling_power_w"]) * dt)
    loss_j = float(np.sum(pw["pdu_loss_w"] + pw["ups_loss_w"] + pw["transformer_loss_w"]) * dt)
    water = float(np.sum(pl["water_use_l"]))
    co2 = float(np.sum(pw["co2_kg"]))
    it_kwh = it_j / J_PER_KWH
    load = c["facility_power_w"]
    ren = pw["renewable_supply_w"]
    cfe = pw["carbon_free_supply_w"]
    inlet = rk["inlet_temp_c"]
    cls = s.ashrae_class
    rec_env, alw = (RECOMMENDED["H1"] if cls == "H1" else RECOMMENDED["A"]), ASHRAE_CLASSES[cls]
    # each rack column stands for its hall's installed replicas at each step; the inlet
    # metrics count only the halls in service (a hall before its commissioning draws no IT)
    hall_on, rack_on = in_service(sim, inlet.shape[0])
    installed = np.asarray(sim.hall_weight, float)[:inlet.shape[0]][:, _hall_of_rack(sim)]
    inlet_on = inlet[rack_on]
    face_on = np.asarray(rk["inlet_max_c"], float)[rack_on]
    # the air the servers draw (the face's mean with the cabinet's recirculation)
    srv_on = np.asarray(rk.get("server_inlet_temp_c", inlet), float)[rack_on]
    comp = (inlet_class_compliance(inlet_on, cls) if inlet_on.size
            else {"within_recommended_frac": float("nan"), "over_allowable": 0})

    def hall_min(v):
        v = np.asarray(v, float)[hall_on]
        return float(np.nanmin(v)) if np.any(np.isfinite(v)) else float("nan")
    out.update({
        "pue": fac_j / it_j if it_j > 0 else float("nan"),
        "pue_min": float(np.nanmin(c["pue"])), "pue_max": float(np.nanmax(c["pue"])),
        "ppue_cooling": (it_j + cool_j) / it_j if it_j > 0 else float("nan"),
        "ppue_electrical": (it_j + loss_j) / it_j if it_j > 0 else float("nan"),
        "it_energy_kwh": it_kwh, "facility_energy_kwh": fac_j / J_PER_KWH,
        "cooling_energy_kwh": cool_j / J_PER_KWH,
        "max_rack_inlet_c": float(np.max(inlet_on)) if inlet_on.size else float("nan"),
        "max_rack_inlet_face_c": float(np.max(face_on)) if face_on.size else float("nan"),
        "max_server_inlet_c": (float(np.nanmax(srv_on)) if np.any(np.isfinite(srv_on))
                               else float("nan")),
        **air_indices(sim, a, installed, rec_env, alw),
        "rci_hi_min_pct": hall_min(hl["rci_hi_pct"]),
        "rci_lo_min_pct": hall_min(hl["rci_lo_pct"]),
        "racks_over_recommended": racks_over(inlet, rec_env.max_temp_c, installed),
        "rack_steps_within_recommended_frac": comp["within_recommended_frac"],
        "rack_steps_over_allowable": comp["over_allowable"],
        "throttled_rack_hours": float(np.sum(rk["throttled"] * installed) * dt / 3600.0),
        "water_l": water,
        "wue_l_per_kwh": water / it_kwh if it_kwh > 0 else float("nan"),
        "co2_t": co2 / 1000.0,
        "cue_kg_per_kwh": co2 / it_kwh if it_kwh > 0 else float("nan"),
        "renewable_share": float(min(1.0, np.sum(ren) / np.sum(load))) if np.sum(load) > 0 else 0.0,
        "cfe_score": float(np.sum(np.minimum(load, cfe)) / np.sum(load)) if np.sum(load) > 0 else 0.0,
        "cost_krw": float(np.sum(pw["cost_krw"])),
        "tariff": sim.tariff_name,
        "grid_carbon_kg_per_kwh": float(sim.grid_carbon),
        "what_if": {k: getattr(sim.settings, k) for k in (
            "dry_bulb_offset_k", "dew_point_offset_k", "solar_scale", "wind_scale",
            "grid_carbon_kg_per_kwh")},
        "energy_closure": {
            "it_max_w": float(np.max(np.abs(c["it_balance_w"]))),
            "air_max_frac": float(np.max(np.abs(c["air_balance_frac"]))),
            "plant_max_w": float(np.max(np.abs(c["plant_balance_w"]))),
        },
        "thermal_solves": dict(sim.counters),
        **({"dispatch": sim.dispatch.summary(a, load, ren)} if sim.dispatch is not None else {}),
        "max_linear_error_k": (float(np.nanmax(hl["linear_error_k"]))
                               if np.any(np.isfinite(hl["linear_error_k"])) else None),
        "inner_iterations_max": int(np.max(hl["inner_iterations"])),
        "inner_not_converged_steps": int(np.sum(~hl["converged"].astype(bool))),
    })
    if sim.dispatch is not None:                     # hourly CFE with storage
        out["cfe_score"] = out["dispatch"]["with_storage"]["cfe_score"]
    return out


def air_indices(sim, a: dict, installed, rec_env, alw) -> dict:
    """The campus's RCI_HI, RCI_LO, RTI and SHI over the completed steps, every rack and
    cooling unit of a solved hall counted by its installed copies at each step.

    ``a``: the results' series (:meth:`Simulation._arrays`); ``installed`` (steps, rack
    columns): the copies of each rack column (``sim.hall_weight`` by hall, 0 before a
    hall's commissioning, so such racks count in nothing: :func:`in_service`);
    ``rec_env``, ``alw``: the ASHRAE recommended and allowable envelopes.

    * RCI over all rack intakes of the campus and of the steps (Herrlin 2005: over every
      intake), each solved rack ``copies`` times (:func:`twin.models.metrics.rci_hi_pct`).
    * RTI airflow-weighted (Herrlin 2008): the cooling units' airflow-weighted
      return-minus-supply over the racks' airflow-weighted rise, each airflow times its
      copies (:func:`twin.models.metrics.rti_pct`).
    * SHI heat-weighted (Sharma et al. 2002): ``sum (T_in - T_ref) / sum (T_out - T_ref)``
      over the racks, each ``copies`` times, ``T_ref`` its own hall's airflow-weighted
      supply at the step; i.e. the halls' SHI weighted by copies times their denominator
      (:func:`twin.models.metrics.shi_rhi`).
    """
    nan = float("nan")
    rk, cu = a["racks"], a.get("cooling_units", {})
    inlet = np.asarray(rk["inlet_temp_c"], float)
    n = inlet.shape[0]
    w_r = np.asarray(installed, float)
    on = w_r > 0
    out = {"rci_hi_pct": nan, "rci_lo_pct": nan, "rti_pct": nan, "shi": nan}
    if not np.any(on):
        return out
    out["rci_hi_pct"] = rci_hi_pct(inlet[on], rec_env.max_temp_c, alw.max_temp_c, weight=w_r[on])
    out["rci_lo_pct"] = rci_lo_pct(inlet[on], rec_env.min_temp_c, alw.min_temp_c, weight=w_r[on])
    if not cu or not len(cu.get("airflow_m3_s", [])):
        return out
    hall_of_unit = np.concatenate([np.full(h.n_c, i) for i, h in enumerate(sim.halls)]).astype(int)
    if not hall_of_unit.size:
        return out
    w_u = np.asarray(sim.hall_weight, float)[:n][:, hall_of_unit]
    qc = np.asarray(cu["airflow_m3_s"], float)
    ts = np.asarray(cu["supply_temp_c"], float)
    tr = np.asarray(cu["return_temp_c"], float)
    qr = np.asarray(rk["airflow_m3_s"], float)
    tex = np.asarray(rk["exhaust_temp_c"], float)
    u_on = w_u > 0
    if np.any(u_on):
        out["rti_pct"] = rti_pct(tr[u_on], ts[u_on], (qc * w_u)[u_on], (tex - inlet)[on], (qr * w_r)[on])
    # each hall's airflow-weighted supply at each step, at its racks
    t_ref = np.full((n, len(sim.halls)), np.nan)
    for i in range(len(sim.halls)):
        q = qc[:, hall_of_unit == i]
        qs = q.sum(axis=1)
        t_ref[:, i] = np.where(qs > 0, np.sum(q * ts[:, hall_of_unit == i], axis=1) / np.where(qs > 0, qs, 1.0),
                               np.nan)
    t_ref = t_ref[:, _hall_of_rack(sim)]
    ok = on & np.isfinite(t_ref)
    if np.any(ok):
        out["shi"] = shi_rhi(inlet[ok], tex[ok], t_ref[ok], weight=w_r[ok])[0]
    return out


def _hall_of_rack(sim) -> np.ndarray:
    """The solved hall (index into ``sim.halls``) of each rack column of the results."""
    return np.concatenate([np.full(h.n_r, i) for i, h in enumerate(sim.halls)]).astype(int)


def in_service(sim, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Which solved halls, and which rack columns, are in service at each of the first
    ``n_steps`` steps [bool, (steps, halls) and (steps, rack columns)].

    A solved hall is in service at a step when some of the halls it stands for are
    installed then (``sim.hall_weight`` > 0: :func:`twin.loop.phases.installed_frac`).
    Before its phase's commissioning date a hall's field is still solved (for the steps
    after it) but it draws no IT, so its rack inlets count in no inlet metric (the
    largest inlet, RCI, RTI, SHI, the ASHRAE counts, ``twin sites``' hours above the
    allowable)."""
    hall_on = np.asarray(sim.hall_weight, float)[:n_steps] > 0
    return hall_on, hall_on[:, _hall_of_rack(sim)]


def hours_over(sim, limit_c: float) -> float:
    """Hours of the completed steps in which some rack inlet of a hall in service
    (:func:`in_service`) is above ``limit_c`` [h] (``twin sites``: the ASHRAE allowable
    maximum, :data:`twin.models.metrics.ASHRAE_CLASSES`)."""
    inlet = np.asarray(sim._arrays()["racks"]["inlet_temp_c"], float)
    if inlet.ndim != 2 or not inlet.size:
        return 0.0
    over = np.any((inlet > limit_c) & in_service(sim, inlet.shape[0])[1], axis=1)
    return float(np.sum(over) * sim.settings.step_s / 3600.0)


def racks_over(inlet_temp_c, limit_c: float, installed) -> int:
    """Racks of the campus whose inlet was above ``limit_c`` at some step [-] (the limit:
    the ASHRAE TC 9.9 recommended maximum, :data:`twin.models.metrics.RECOMMENDED`).

    ``inlet_temp_c`` (steps, rack columns) holds the solved halls' racks; ``installed``
    (same shape) how many copies of each column were installed at each step (the hall's
    replicas times their installed share, :func:`twin.loop.phases.installed_frac`). A
    column counts the most copies installed at a step when it was over the limit (the
    installed copies only grow during a run), rounded to whole racks; a hall not yet
    commissioned counts nothing.
    """
    over = np.asarray(inlet_temp_c, float) > limit_c
    if not over.size:
        return 0
    return int(round(float(np.sum(np.max(np.where(over, installed, 0.0), axis=0)))))


def renewable_supply(sim, t_mid_h) -> dict:
    """Per-step renewable supply [W] and contract carbon and cost rates.

    On-site PV: PVWatts v5 on the site weather (:func:`twin.models.renewables.pv_output`).
    Contracts: solar follows the same PV shape, wind the Ulsan offshore farm's shape
    (:func:`twin.models.renewables.ulsan_offshore_farm`), other kinds flat; each scaled
    so that its annual mean is ``capacity x capacity_factor_frac`` of the contract. The
    run's ``solar_scale`` and ``wind_scale`` (what-ifs) scale the solar and wind output. A
    heat wave (the run's dry-bulb offset, a design day's included) warms the modules too:
    PV output from the shifted dry bulb (PVWatts' temperature coefficient), the contracts
    still scaled by the weather file's own annual mean.
    """
    from twin.models.pv import PvSystem, pv_output
    from twin.models.wind import ulsan_offshore_farm, wind_farm_power_w

    pw = sim.facility.power
    n = len(t_mid_h)
    idx = np.mod(np.floor(t_mid_h).astype(int), 8760)
    out = {k: np.zeros(n) for k in ("onsite_pv_w", "wind_w", "contract_solar_w", "renewable_w",
                                    "carbon_free_w", "contract_carbon_kg_per_h", "ppa_cost_krw_per_h")}
    if pw is None:
        return out
    weather = sim.weather
    pv_unit = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pw.solar_mw > 0 or any(c.kind == "solar" for c in pw.contracts):
            pv = pv_output(weather, PvSystem(dc_capacity_w=1e6))
            pv_unit = np.asarray(pv.ac_power_w, float) / 1e6        # W per W of DC
            pv_mean = pv_unit.mean()                # the contracts' annual yield
            st = sim.settings
            db_off = st.dry_bulb_offset_k + (period_offset_k(weather, st.period)
                                             if st.period else 0.0)
            if db_off:                              # heat wave: warmer modules
                hot = dataclasses.replace(
                    weather, dry_bulb_temp_c=np.asarray(weather.dry_bulb_temp_c, float) + db_off)
                pv = pv_output(hot, PvSystem(dc_capacity_w=1e6))
                pv_unit = np.asarray(pv.ac_power_w, float) / 1e6
        wind_unit = None
        if any(c.kind in ("onshore-wind", "offshore-wind") for c in pw.contracts):
            farm = ulsan_offshore_farm()
            wp = np.asarray(wind_farm_power_w(weather.wind_speed_m_s, farm), float)
            wind_unit = wp / farm.rated_power_w
    st = sim.settings                        # renewable what-if: scaled output
    if pw.solar_mw > 0 and pv_unit is not None:
        out["onsite_pv_w"] = pw.solar_mw * 1e6 * pv_unit[idx] * st.solar_scale
    for c in pw.contracts:
        cap = c.capacity_mw * 1e6
        if c.kind == "solar":
            shape = pv_unit
        elif c.kind in ("onshore-wind", "offshore-wind"):
            shape = wind_unit
        else:
            shape = None
        mean = (pv_mean if c.kind == "solar" else shape.mean()) if shape is not None else 0.0
        if shape is None or mean <= 0:
            p = np.full(n, cap * c.capacity_factor_frac)
        else:
            p = cap * c.capacity_factor_frac * shape[idx] / mean
        if c.kind == "solar":
            p = p * st.solar_scale
        elif c.kind in ("onshore-wind", "offshore-wind"):
            p = p * st.wind_scale
        if c.kind == "solar":
            out["contract_solar_w"] += p
        elif "wind" in c.kind:
            out["wind_w"] += p
        if c.kind in ("solar", "onshore-wind", "offshore-wind", "hydro"):
            out["renewable_w"] += p
        if c.carbon_kg_per_kwh <= 0.05:
            out["carbon_free_w"] += p
        out["contract_carbon_kg_per_h"] += p / 1e3 * c.carbon_kg_per_kwh
        out["ppa_cost_krw_per_h"] += p / 1e3 * c.price_krw_per_kwh
    out["renewable_w"] += out["onsite_pv_w"]
    out["carbon_free_w"] += out["onsite_pv_w"]
    return out

