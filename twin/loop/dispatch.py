"""Storage, curtailment, the grid import cap and flexible load in a campus run.

:class:`CampusDispatch` is made by :meth:`twin.loop.simulation.Simulation.prepare` when
the facility's ``[power]`` has ``storage``, ``flexible_load`` or ``grid.import_cap_mw``
(otherwise the run is exactly as before). It

1. plans the flexible training load before the first step
   (:func:`twin.models.flexload.plan_flexible_load` on the profile's utilisation and the
   carbon-free supply) and hands the halls the planned utilisation;
2. dispatches the battery in each block of campus steps
   (:func:`twin.models.storage.dispatch_series`, sequential, the state carried from block
   to block and read back from the results file at ``--resume``). The look-ahead of the
   ``tou-arbitrage`` and ``peak-shaving`` policies (24 h) sees the carbon-free supply and
   the price of the run's steps (known before the run: weather and tariff), the campus
   load of the block's own steps, and beyond the block the block's last load held
   (a persistence forecast; the campus load varies little from hour to hour);
3. writes the ``dispatch`` series (battery flows, stored energy, closure, curtailment,
   shortfall, the same grid, cost and carbon without storage, the flexible-load plan) and
   the summary's ``dispatch`` section.
"""
from __future__ import annotations

import numpy as np

from common.units import J_PER_KWH
from twin.models.flexload import FlexibleLoadSpec, apply_plan, plan_flexible_load
from twin.models.storage import (BatterySpec, BatteryState, ageing_cost_krw, capacity_j,
                                 dispatch_series, equivalent_full_cycles)

__all__ = ["CampusDispatch", "DISPATCH_DESCRIPTIONS"]

_J_PER_MWH = J_PER_KWH * 1e3
#: Look-ahead of the dispatch policies that plan (a day, as SAM's look-ahead dispatch).
HORIZON_S = 86400.0

#: Descriptions of the ``/dispatch`` series in the results file.
DISPATCH_DESCRIPTIONS = {
    "dispatch/charge_w": "battery charge at the bus (from surplus carbon-free supply and the grid)",
    "dispatch/discharge_w": "battery discharge at the bus, to the load",
    "dispatch/storage_loss_w": "battery conversion losses (round-trip efficiency)",
    "dispatch/stored_energy_j": "energy in the battery at the end of the step",
    "dispatch/energy_change_j": "stored energy after the step minus before",
    "dispatch/closure_j": "(charge - discharge - loss) x step - change of stored energy",
    "dispatch/capacity_j": "battery energy capacity after cycle ageing (throughput model)",
    "dispatch/curtailed_w": "surplus carbon-free supply neither used nor stored",
    "dispatch/shortfall_w": "load the grid import cap could not serve",
    "dispatch/carbon_free_served_w": "load served by carbon-free supply, directly or from storage",
    "dispatch/grid_import_without_storage_w": "grid import of the same load without the battery",
    "dispatch/flex_cut_frac": "planned cut of the racks' utilisation (flexible load)",
    "dispatch/flex_catch_up_frac": "planned catch-up of deferred work: u + g (1 - u)",
    "dispatch/flex_lost_j": "flexible work lost (slowed, or deferred beyond max_defer_h), J of design dynamic energy",
}


class CampusDispatch:
    """The campus's storage, grid cap and flexible load over a run (see the module)."""

    def __init__(self, sim):
        pw = sim.facility.power
        st, fl, grid = pw.storage, pw.flexible_load, pw.grid
        self.step_s = sim.settings.step_s
        self.cap_w = grid.import_cap_mw * 1e6 if grid is not None and grid.import_cap_mw is not None else None
        self.spec = None
        self.policy = "renewable-shifting"
        self.target_w = None
        self.replacement_krw_per_kwh = 0.0
        if st is not None:
            self.spec = BatterySpec(energy_j=st.energy_mwh * _J_PER_MWH, power_w=st.power_mw * 1e6,
                                    round_trip_efficiency_frac=st.round_trip_efficiency_frac,
                                    soc_min_frac=st.soc_min_frac, soc_max_frac=st.soc_max_frac,
                                    cycle_life_efc=st.cycle_life_efc, end_of_life_frac=st.end_of_life_frac)
            self.state = BatteryState.at_soc(self.spec, st.initial_soc_frac)
            self.initial_j = self.state.stored_energy_j
            self.policy = st.policy
            self.target_w = st.peak_shave_mw * 1e6 if st.peak_shave_mw is not None else None
            self.replacement_krw_per_kwh = st.replacement_cost_krw_per_kwh
        else:
            self.state = None
            self.initial_j = 0.0
        self.price_krw_per_kwh = np.asarray(sim.price, float)     # the run's steps
        self.carbon_free_w = np.asarray(sim.supply["carbon_free_w"], float)
        self.flex_spec = None
        self.plan = None
        if fl is not None:
            self.flex_spec = FlexibleLoadSpec(share_frac=fl.share_frac, mode=fl.mode,
                                              max_defer_s=fl.max_defer_h * 3600.0,
                                              planning_pue=fl.planning_pue, trigger=fl.trigger)

    @staticmethod
    def wanted(facility) -> bool:
        """Whether the facility asks for storage, flexible load or a grid import cap."""
        pw = facility.power
        return pw is not None and (pw.storage is not None or pw.flexible_load is not None
                                   or (pw.grid is not None and pw.grid.import_cap_mw is not None))

    # ------------------------------------------------------------------ flexible load
    def plan_flexible_load(self, sim) -> None:
        """Plan the flexible load on the run's utilisation and supply; replace ``sim.util``.
        Each solved hall's racks count by its installed copies at each step
        (``sim.hall_weight``: replicas times their installed share)."""
        if self.flex_spec is None:
            return
        nameplate, idle_frac, hall_of_rack = [], [], []
        for i, hm in enumerate(sim.halls):
            npl = np.zeros(hm.n_r)
            idl = np.zeros(hm.n_r)
            for spec, ix in hm.spec_groups:
                npl[ix] = spec.nameplate_power_w
                idl[ix] = spec.idle_fraction
            nameplate.append(npl)
            idle_frac.append(idl)
            hall_of_rack.append(np.full(hm.n_r, i))
        npl, idl, hall_of_rack = (np.concatenate(a) for a in (nameplate, idle_frac, hall_of_rack))
        # the installed copies of each rack column at each step (phases: twin.loop.phases)
        rep = np.asarray(sim.hall_weight, float)[:, hall_of_rack.astype(int)]
        u = sim.util
        if np.all(rep == rep[:1]):                                  # the same all along
            rep = rep[0]
            dyn_range = rep * npl * (1.0 - idl)                      # W per unit utilisation
            idle_w = np.full(u.shape[0], float(np.sum(rep * npl * idl)))
            dynamic_w, headroom_w = u @ dyn_range, (1.0 - u) @ dyn_range
        else:                                                       # halls ramping up
            dyn_range = rep * npl * (1.0 - idl)
            idle_w = np.sum(rep * npl * idl, axis=1)
            dynamic_w, headroom_w = np.sum(u * dyn_range, axis=1), np.sum((1.0 - u) * dyn_range, axis=1)
        supply = np.asarray(sim.supply["carbon_free_w"], float)
        if self.flex_spec.trigger == "grid-cap":
            supply = supply + self.cap_w
        self.plan = plan_flexible_load(idle_w, dynamic_w, headroom_w, supply, self.step_s,
                                       self.flex_spec)
        sim.util = apply_plan(u, self.plan)

    # ------------------------------------------------------------------ the blocks
    def block(self, ks, load_w, carbon_free_w, price_krw_per_kwh, grid_carbon_kg_per_kwh,
              contract_carbon_kg, ppa_cost_krw) -> tuple[dict, dict]:
        """Dispatch the steps ``ks``: the power group's grid import, CO2 and cost, and the
        ``dispatch`` series of these steps."""
        dt = self.step_s
        before = self.state
        ks = np.asarray(ks, int)
        nxt = np.arange(ks[-1] + 1, min(self.carbon_free_w.size, ks[-1] + 1 + int(HORIZON_S // dt)))
        ahead = (np.full(nxt.size, float(np.asarray(load_w, float)[-1])), self.carbon_free_w[nxt],
                 self.price_krw_per_kwh[nxt])
        res = dispatch_series(load_w, carbon_free_w, self.spec, self.state, dt, self.policy,
                              price_krw_per_kwh=price_krw_per_kwh, import_cap_w=self.cap_w,
                              target_import_w=self.target_w,
                              replacement_cost_krw_per_kwh=self.replacement_krw_per_kwh,
                              horizon_s=HORIZON_S, ahead=ahead)
        self.state = res.state
        cfe = np.asarray(carbon_free_w, float)

        def carbon_cost(grid_w, curtailed_w):
            used = np.where(cfe > 0, (cfe - curtailed_w) / np.where(cfe > 0, cfe, 1.0), 0.0)
            kwh = grid_w * dt / J_PER_KWH
            return (kwh * grid_carbon_kg_per_kwh + contract_carbon_kg * used,
                    kwh * price_krw_per_kwh + ppa_cost_krw)

        co2, cost = carbon_cost(res.grid_import_w, res.curtailed_w)
        deficit = load_w - res.direct_w
        cap = np.inf if self.cap_w is None else self.cap_w
        grid0 = np.minimum(deficit, cap)
        curt0 = cfe - res.direct_w
        co2_0, cost_0 = carbon_cost(grid0, curt0)
        n = len(ks)
        age = np.zeros(n)
        if self.spec is not None:
            used_j = np.diff(np.concatenate([[before.throughput_j], res.throughput_j]))
            age = np.asarray(ageing_cost_krw(self.spec, used_j, self.replacement_krw_per_kwh), float)
            soc = np.where(res.capacity_j > 0, res.stored_energy_j / np.where(res.capacity_j > 0,
                                                                              res.capacity_j, 1.0), 0.0)
        else:
            soc = np.zeros(n)
        closure = (res.charge_w - res.discharge_w - res.loss_w) * dt - res.energy_change_j
        d = {"charge_w": res.charge_w, "charge_from_grid_w": res.charge_from_grid_w,
             "discharge_w": res.discharge_w, "storage_loss_w": res.loss_w,
             "stored_energy_j": res.stored_energy_j, "energy_change_j": res.energy_change_j,
             "closure_j": closure, "soc_frac": soc, "capacity_j": res.capacity_j,
             "throughput_j": res.throughput_j,
             "carbon_free_stored_j": res.carbon_free_stored_j,
             "ageing_cost_krw": age, "direct_w": res.direct_w, "curtailed_w": res.curtailed_w,
             "shortfall_w": res.shortfall_w, "carbon_free_served_w": res.carbon_free_served_w,
             "grid_import_without_storage_w": grid0, "shortfall_without_storage_w": deficit - grid0,
             "curtailed_without_storage_w": curt0, "co2_without_storage_kg": co2_0,
             "cost_without_storage_krw": cost_0}
        if self.plan is not None:
            p = self.plan
            for name in ("cut_frac", "catch_up_frac", "requested_j", "cut_j", "added_j", "lost_j",
                         "backlog_j", "planned_before_w", "planned_after_w"):
                d["flex_" + name] = np.asarray(getattr(p, name))[ks]
        power = {"grid_import_w": res.grid_import_w, "matched_w": res.direct_w, "co2_kg": co2,
                 "cost_krw": cost}
        return power, d

    # ------------------------------------------------------------------ resume
    def restore(self, series: dict) -> None:
        """Take the battery state from the last stored step (``--resume``)."""
        d = series.get("dispatch", {})
        if self.spec is None or not d.get("stored_energy_j"):
            return
        self.state = BatteryState(stored_energy_j=float(d["stored_energy_j"][-1]),
                                  throughput_j=float(d["throughput_j"][-1]),
                                  carbon_free_j=float(d["carbon_free_stored_j"][-1]))

    # ------------------------------------------------------------------ summary
    def summary(self, arrays: dict, load_w, renewable_w) -> dict:
        """The summary's ``dispatch`` section: the battery, the grid, curtailment, and the
        hourly CFE score, renewable share, cost and carbon with and without storage."""
        dt = self.step_s
        d = arrays["dispatch"]
        pw = arrays["power"]
        load = np.asarray(load_w, float)
        tot = float(np.sum(load))

        def mwh(w):
            return float(np.sum(w) * dt / _J_PER_MWH)

        def frac(x):
            return float(x / tot) if tot > 0 else 0.0
        cfe = np.asarray(pw["carbon_free_supply_w"], float)
        ren = float(np.sum(renewable_w))
        out = {
            "policy": self.policy if self.spec is not None else None,
            "import_cap_mw": None if self.cap_w is None else self.cap_w / 1e6,
            "grid_import_max_mw": float(np.max(pw["grid_import_w"])) / 1e6,
            "shortfall_mwh": mwh(d["shortfall_w"]),
            "shortfall_steps": int(np.sum(d["shortfall_w"] > 0)),
            "curtailed_mwh": mwh(d["curtailed_w"]),
            "with_storage": {
                "cfe_score": frac(np.sum(d["carbon_free_served_w"])),
                "renewable_share": min(1.0, frac(ren)),
                "carbon_free_used_share": min(1.0, frac(np.sum(cfe - d["curtailed_w"]))),
                "grid_import_mwh": mwh(pw["grid_import_w"]),
                "grid_import_max_mw": float(np.max(pw["grid_import_w"])) / 1e6,
                "cost_krw": float(np.sum(pw["cost_krw"])),
                "co2_t": float(np.sum(pw["co2_kg"])) / 1e3,
            },
            "without_storage": {
                "cfe_score": frac(np.sum(d["direct_w"])),
                "renewable_share": min(1.0, frac(ren)),
                "carbon_free_used_share": min(1.0, frac(np.sum(cfe - d["curtailed_without_storage_w"]))),
                "grid_import_mwh": mwh(d["grid_import_without_storage_w"]),
                "grid_import_max_mw": float(np.max(d["grid_import_without_storage_w"])) / 1e6,
                "cost_krw": float(np.sum(d["cost_without_storage_krw"])),
                "co2_t": float(np.sum(d["co2_without_storage_kg"])) / 1e3,
                "shortfall_mwh": mwh(d["shortfall_without_storage_w"]),
                "curtailed_mwh": mwh(d["curtailed_without_storage_w"]),
            },
        }
        if self.spec is not None:
            sp = self.spec
            e_end = float(d["stored_energy_j"][-1])
            thr = float(d["throughput_j"][-1])
            scale = max(sp.energy_j, float(np.max(np.abs(d["energy_change_j"]))))
            out["battery"] = {
                "energy_mwh": sp.energy_j / _J_PER_MWH, "power_mw": sp.power_w / 1e6,
                "round_trip_efficiency_frac": sp.round_trip_efficiency_frac,
                "charged_mwh": mwh(d["charge_w"]), "charged_from_grid_mwh": mwh(d["charge_from_grid_w"]),
                "discharged_mwh": mwh(d["discharge_w"]), "losses_mwh": mwh(d["storage_loss_w"]),
                "stored_start_mwh": self.initial_j / _J_PER_MWH, "stored_end_mwh": e_end / _J_PER_MWH,
                "equivalent_full_cycles": equivalent_full_cycles(sp, thr),
                "capacity_end_frac": capacity_j(sp, thr) / sp.energy_j,
                "ageing_cost_krw": float(np.sum(d["ageing_cost_krw"])),
                "closure_max_rel": float(np.max(np.abs(d["closure_j"]))) / scale,
            }
        if self.plan is not None:
            f = self.flex_spec
            req = float(np.sum(d["flex_requested_j"]))
            before = np.asarray(d["flex_planned_before_w"], float)
            after = np.asarray(d["flex_planned_after_w"], float)
            sup = cfe

            def planned_cfe(x):
                return float(np.sum(np.minimum(x, sup)) / np.sum(x)) if np.sum(x) > 0 else 0.0
            out["flexible_load"] = {
                "mode": f.mode, "share_frac": f.share_frac, "trigger": f.trigger,
                "work_requested_mwh": req / _J_PER_MWH,
                "work_cut_mwh": float(np.sum(d["flex_cut_j"])) / _J_PER_MWH,
                "work_caught_up_mwh": float(np.sum(d["flex_added_j"])) / _J_PER_MWH,
                "work_lost_mwh": float(np.sum(d["flex_lost_j"])) / _J_PER_MWH,
                "work_waiting_end_mwh": float(d["flex_backlog_j"][-1]) / _J_PER_MWH,
                "work_lost_frac": float(np.sum(d["flex_lost_j"]) / req) if req > 0 else 0.0,
                "steps_cut": int(np.sum(d["flex_cut_frac"] > 0)),
                "planned_cfe_score_without_flex": planned_cfe(before),
                "planned_cfe_score_with_flex": planned_cfe(after),
            }
        return out
