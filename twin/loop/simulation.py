"""The co-simulation loop of ``twin run``: IT load, air and liquid cooling, plant, power.

(Longer than the project's 600-line guide: about 90 lines of this docstring document the
loop; the :class:`Simulation` class itself is about 500, with the distributed run. The
campus evaluation is in :mod:`twin.loop.campus`, the hall selection of a phased run in
:mod:`twin.loop.phases`, the series of a step in :mod:`twin.loop.records`.)

A :class:`Simulation` steps a campus through time on an explicit schedule (after the
``Simulation``/callback pattern of Oceananigans.jl and the ``tick()`` of ExaDigiT RAPS).
Each step is the mean over ``step_s`` seconds, quasi-steady by default:

1. **IT**: utilisation of each rack (step mean of the profile) -> rack power, server
   airflow and fan power, heat to air and to liquid, throttling
   (:func:`twin.models.it_load.rack_power`; the ITE model of EnergyPlus).
2. **Air side**: the hall's steady temperature field at the frozen flow field
   (below) gives every rack's intake temperature (mean and maximum over the intake
   face) and every cooling unit's return temperature; the chilled-water coil
   (:func:`twin.models.airside.crah_coil`) delivers the supply set-point or, when it is
   short of capacity, a warmer supply that is fed back into the field.
3. **Controls**: the supply set-point holds the hottest rack inlet of the hall inside the
   controller's dead band under ``target_inlet_temp_c`` (:meth:`HallModel.control`: the
   controller's steady state within the step; in transient mode one step of
   :func:`twin.models.airside.supply_control_step` per time step); the fan speed of the
   units matches their airflow to ``airflow_ratio`` times the racks' airflow (the usual
   airflow-matching practice, est.) within the fans' speed range.
4. **Liquid side**: CDUs (:func:`twin.models.liquid.cdu_step`) carry the racks' liquid
   heat to the facility water; their secondary supply is the racks' coolant temperature
   (GPU throttling on coolant).
5. Steps 1-4 are iterated within the step (inlet temperature -> server fans and leakage
   -> heat -> inlet; return -> coil -> supply; inlet -> set-point) until no rack inlet,
   set-point, delivered supply or coolant temperature changes by more than
   ``control_tol_k`` (default 0.01 K); the iterations and whether they converged are
   recorded per hall and step.
6. **Campus** (:mod:`twin.loop.campus`, every ``CAMPUS_BLOCK`` steps): plant, electrical
   chain, renewables and hourly matching, grid carbon and tariff, storage dispatch,
   curtailment and the import cap; the metrics of ``summary.json`` (RCI, RTI, SHI, ASHRAE
   compliance, PUE, WUE, CUE, hourly CFE).

Thermal state: exact linear response at a frozen flow
----------------------------------------------------
At a fixed velocity field the steady heat equation the solver finishes
(``Solver.finish_energy``) is linear in the rack heats and the cooling units' supply
temperatures, as long as no unit runs on its capacity limit (the coil model takes that
part here) and no unit's return falls below its supply. So the intake-face temperatures
are affine, ``y = y0 + K (x - x0)`` with ``x = (rack air heats, unit supply
temperatures)``. ``K`` is built by superposition: one ``finish_energy`` solve per rack
heat (perturbed by a quarter of its design air heat) and one per unit supply
temperature (+1 K), or, when there are more than ``max_response_columns`` inputs, one per
row of racks (exact when the racks of a row change load together, which they do under
one utilisation profile; a note says so) and one per cooling-unit entry. A time step
then costs a matrix product, and the iteration of point 5 is nearly free.

Capacity: the units in the field have no capacity limit of their own (the solver's
capacity branch, where the supply follows the return, would break linearity); the coil
model is the limit. A coil short of capacity delivers a warmer supply, which is an input
of the response, and the iteration of point 5 makes supply and return consistent, so the
response stays exact while coils are limited.

Checks: the scheme's MUSCL limiter makes the discrete field only piecewise linear, so the
response is checked against a direct ``finish_energy`` every ``verify_every_h`` hours of
simulated time (an interval that doubles, up to a week, while the checks agree to a
quarter of ``linear_tol_k``), at every snapshot, whenever the set of coils on their
capacity limit changes, and whenever a step leaves the linear range (a rack heat outside
0-1.5x its design, a unit whose return is below its supply). The direct result is then
the one recorded ("direct" steps, the reason in the log), and if the linear prediction
was off by more than ``linear_tol_k`` the response is rebuilt around the current state.

Flow: it is re-solved (``Solver.solve_steady``, warm-started from the nearest flow
already solved) only when a device's airflow moves more than ``flow_tol_frac`` from the
flow field in use; solved flow fields are kept, with their responses, and reused when the
flows come back (training checkpoints, daily cycles). Between re-solves the racks' heat
is exact but their airflow in the field is that of the frozen flow (the exhaust
temperature is off by the flow ratio; the servers' airflow and fan power in the records
are the ITE model's); buoyancy changes of the flow between re-solves are neglected.
``rack_airflow="design"`` keeps the racks' design airflow in the field (one flow solve).

``thermal="direct"`` re-solves the flow every step (warm-started) and solves the heat
equation directly at every iteration of point 5; ``thermal="transient"`` advances the
solver in time over each step (``Solver.run``) with the controls acting once per step.

Campus: halls whose description is identical apart from their name, building and phase
(a hall file reused with ``count``) are solved once; the solved hall stands for all of
them and campus totals, counts (``racks_over_recommended``) and the flexible-load plan
multiply by the number of replicas (``/halls/replicas`` in the results), each taken at
its installed share when the run has a calendar ``year`` and the halls build phases
(:mod:`twin.loop.phases`). A run of some halls (``halls``, ``phases``)
scales the plant and the electrical chain to them (:func:`campus_equipment`). The
distinct halls can advance on Dask workers (:mod:`twin.loop.distributed`).
Not modelled: lighting and other non-IT, non-cooling loads; humidity control; heat
through the hall envelope (adiabatic walls unless the problem says otherwise).
"""
from __future__ import annotations

import json
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from common.errors import InputError
from twin.facility import Facility, load_facility
from twin.models.design_days import check_period_start, period_offset_k
from twin.models.metrics import RECOMMENDED
from twin.models.power import DEFAULT_TARIFF, KOREA_GRID_CARBON_KG_PER_KWH, tou_price_krw_per_kwh
from twin.models.profiles import utilization_profile
from twin.models.weather import load_weather, shifted_weather, weather_at, wet_bulb_temp_c
from twin.outputs.files import write_csv, write_json
from twin.outputs.results import RunData, results_path, summary_path, write_results
from twin.outputs.runfile import read_results
from twin.outputs.tables import timeseries_table
from twin.thermal.racks import RACK_BEHAVIOUR, rack_spec_for

from .campus import campus_block, renewable_supply, run_summary
from .dispatch import DISPATCH_DESCRIPTIONS, CampusDispatch
from .hall import HallModel
from .phases import select_halls
from .records import HallStep, StepRecord, append_step
from .settings import THERMAL_MODES, RunSettings, parse_duration_s
from .specs import _hall_signature, _weather_spec, campus_equipment, plant_spec_for

__all__ = ["THERMAL_MODES", "RACK_BEHAVIOUR", "RunSettings", "HallStep", "StepRecord", "Simulation",
           "rack_spec_for", "plant_spec_for", "parse_duration_s"]


# ==================================================================================== campus
class Simulation:
    """A campus over time.

    Parameters
    ----------
    facility : Facility or path
    settings : RunSettings
    flow_memo : dict, optional
        Solved flow fields shared between simulations of the same process (sweeps,
        tests); keys hash everything the solve depends on, so a hit is exact.
    on_event : callable, optional
        ``on_event(kind, info)`` for progress of long stages (``"mesh"``, ``"flow"``,
        ``"response"``, ``"note"``).

    Use :meth:`run` (with a callback after each step) and :meth:`write`, or
    :meth:`resume` to continue an interrupted run from its results file.
    """

    def __init__(self, facility, settings: RunSettings | None = None, *, flow_memo: dict | None = None,
                 on_event: Callable | None = None):
        self.settings = settings or RunSettings()
        if isinstance(facility, Facility):
            self.facility = facility
        else:
            self.facility = load_facility(facility)
        self.flow_memo = flow_memo
        self.on_event = on_event
        self.notes: dict = {}
        self.counters = {"flow_solves": 0, "response_builds": 0, "energy_solves": 0, "memo_hits": 0,
                         "fallback_steps": 0, "transient_steps": 0, "linear_steps": 0, "direct_steps": 0,
                         "fan_solves": 0}        # of flow_solves: re-solves for the rack fans'
        #                                           operating points (twin.loop.fans)
        self.k = 0
        self.wall_s = 0.0
        self.status = "running"
        self.series: dict = {}
        self.snapshots: list = []
        self.halls: list[HallModel] = []
        self._campus_pending: list = []
        self.dispatch: CampusDispatch | None = None
        self._prepared = False
        self._t_wall0 = None
        self._last_checkpoint = None

    # ------------------------------------------------------------------ notes and events
    def note(self, text: str, step: int | None = None):
        """Record a remark for the log (repeats are counted, not repeated)."""
        key = text
        if key in self.notes:
            self.notes[key]["count"] += 1
        else:
            self.notes[key] = {"count": 1, "step": self.k if step is None else step}
            self.event("note", {"text": text})

    def event(self, kind: str, info: dict):
        if self.on_event is not None:
            self.on_event(kind, info)

    def log_lines(self) -> list[str]:
        out = []
        for text, d in self.notes.items():
            out.append(f"step {d['step']}: {text}" + (f" (x{d['count']})" if d["count"] > 1 else ""))
        return out

    # ------------------------------------------------------------------ setup
    def prepare(self):
        """Mesh the halls, build the models and the schedules (no flow solve yet)."""
        if self._prepared:
            return
        s = self.settings
        fac = self.facility
        # schedules
        n = s.n_steps
        dt_h = s.step_s / 3600.0
        self.t_start_h = s.start_h + np.arange(n) * dt_h
        self.t_mid_h = self.t_start_h + 0.5 * dt_h
        names, built = select_halls(fac, s, self.t_mid_h, self.note)
        # identical halls: one solved hall stands for all
        groups: dict = {}
        for h in names:
            groups.setdefault(_hall_signature(fac.hall(h)), []).append(h)
        # the plant and the electrical chain, scaled to the halls simulated
        self.plant_spec, self.chain, sel, notes = campus_equipment(fac, names)
        self.design_it_w = sel[0]
        for n_ in notes:
            self.note(n_)
        for reps in groups.values():
            self.event("mesh", {"hall": reps[0], "replicas": len(reps)})
            hm = HallModel(self, reps[0], reps)
            self.halls.append(hm)
            if len(reps) > 1:
                self.note(f"hall {reps[0]} is solved once and stands for {len(reps)} identical halls "
                          f"({reps[0]} .. {reps[-1]})")
        # the installed share of every solved hall's replicas, step by step
        self.hall_weight = np.stack([np.sum([built[r] for r in hm.replicas], axis=0)
                                     for hm in self.halls], axis=1)
        self.weather = load_weather(_weather_spec(fac))
        ws = weather_at(self.weather, self.t_mid_h)
        if s.period:                    # a design day's offset on its own day's weather only
            check_period_start(self.weather, s.period, s.start_h)
        db_off = s.dry_bulb_offset_k + (period_offset_k(self.weather, s.period) if s.period else 0.0)
        if db_off or s.dew_point_offset_k:        # weather what-if, design day
            ws = shifted_weather(ws, db_off, s.dew_point_offset_k)
        self.ghi_w_m2 = np.asarray(ws.ghi_w_m2, float)          # the sun on roofs (envelopes)
        self.has_doors = any(r.rear_door is not None for h in fac.halls
                             for r in fac.layout(h.name).racks)
        self.env = {"dry_bulb_c": np.asarray(ws.dry_bulb_temp_c, float),
                    "wet_bulb_c": np.minimum(np.asarray(wet_bulb_temp_c(ws), float), ws.dry_bulb_temp_c),
                    "dew_point_c": np.asarray(ws.dew_point_temp_c, float),
                    "rel_humidity_frac": np.asarray(ws.rel_humidity_frac, float),
                    "ghi_w_m2": np.asarray(ws.ghi_w_m2, float)}
        self.util = self._utilisation()
        self.supply = renewable_supply(self, self.t_mid_h)
        pw = fac.power
        self.grid_carbon = (pw.grid.carbon_kg_per_kwh if pw and pw.grid else KOREA_GRID_CARBON_KG_PER_KWH)
        if s.grid_carbon_kg_per_kwh is not None:                # grid what-if
            self.grid_carbon = float(s.grid_carbon_kg_per_kwh)
        if pw and pw.grid and pw.grid.tariff == "flat":
            self.price = np.full(n, float(pw.grid.tariff_krw_per_kwh))
            self.tariff_name = f"flat {pw.grid.tariff_krw_per_kwh:g} KRW/kWh (facility file)"
        else:
            self.price = np.asarray(tou_price_krw_per_kwh(self.t_mid_h, DEFAULT_TARIFF,
                                                          self.weather.first_weekday), float)
            self.tariff_name = DEFAULT_TARIFF.name
        self.dispatch = CampusDispatch(self) if CampusDispatch.wanted(fac) else None
        if self.dispatch is not None:                     # flexible load: the planned utilisation
            self.dispatch.plan_flexible_load(self)
        # snapshots
        snaps = set()
        times = s.snapshot_times_h
        if times is None:
            snaps |= {0, n - 1}
        else:
            for t in times:
                snaps.add(int(np.clip(round(t / dt_h - 0.5), 0, n - 1)))
        if s.snapshot_every_h > 0:
            every = max(1, int(round(s.snapshot_every_h / dt_h)))
            snaps |= set(range(0, n, every))
        self.snapshot_steps = sorted(snaps)
        self._prepared = True

    def _utilisation(self) -> np.ndarray:
        """Step-mean utilisation, (steps, racks of all solved halls)."""
        s = self.settings
        n_r = sum(h.n_r for h in self.halls)
        sub = (np.arange(s.substeps) + 0.5) / s.substeps * s.step_s / 3600.0
        t = self.t_start_h[:, None] + sub[None, :]
        prof = s.profile
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if prof.lower().endswith(".csv"):
                path = Path(prof)
                if not path.is_absolute() and self.facility.source is not None and not path.exists():
                    path = self.facility.source.parent / path
                v = np.asarray(utilization_profile("csv", (t - s.start_h).ravel(), path=str(path)), float)
                v = v.reshape(t.shape + v.shape[1:])
            else:
                kw = {}
                if s.utilization is not None:
                    kw["mean" if prof == "inference" else "level"] = s.utilization
                v = np.asarray(utilization_profile(prof, t.ravel(), **kw), float).reshape(t.shape)
        v = v.mean(axis=1)
        if v.ndim == 1:
            return np.repeat(v[:, None], n_r, axis=1)
        if v.shape[1] != n_r:
            raise InputError(f"utilisation trace {prof} has {v.shape[1]} columns; give 1 (all racks) or "
                             f"{n_r} (one per rack, in the order of the results' /racks/rack)")
        return v

    # ------------------------------------------------------------------ the loop
    @property
    def n_steps(self) -> int:
        return self.settings.n_steps

    def run(self, callback: Callable | None = None, out_dir=None, client=None) -> str:
        """Step to the end (or until interrupted). ``callback(sim, record)`` is called after
        each completed step; raising ``KeyboardInterrupt`` there (or pressing Ctrl-C, or
        SIGTERM under ``twin``, see :mod:`twin.cli.signals`) stops the run cleanly: completed
        steps are kept and written. The results file is rewritten every
        ``settings.checkpoint_every_s`` of wall time (0: after every step). ``client``: a
        Dask ``distributed.Client`` whose workers advance the distinct halls, a block of
        steps at a time (:mod:`twin.loop.distributed`; the same results). Returns the
        status (``"complete"`` or ``"interrupted"``)."""
        self.prepare()
        t0 = time.perf_counter()
        wall_before = self.wall_s
        self._last_checkpoint = t0
        self._trees = None
        self._restart_lost = False

        def done(rec):
            self.wall_s = wall_before + time.perf_counter() - t0
            if callback is not None:
                callback(self, rec)
            if out_dir is not None and time.perf_counter() - self._last_checkpoint >= self.settings.checkpoint_every_s:
                self.write(out_dir)
                self._last_checkpoint = time.perf_counter()
        try:
            if client is not None and len(self.halls) > 1:
                from .distributed import BLOCK_STEPS, gather, start_workers
                self._actors = start_workers(self, client)
                while self.k < self.n_steps:
                    k1 = min(self.n_steps, self.k + BLOCK_STEPS)
                    blocks = gather(a.advance(self.k, k1) for a in self._actors)
                    # the whole block is committed before any callback or checkpoint, so the
                    # workers' state is always that of a committed step (restart_tree)
                    recs = [self._commit_remote([b["steps"][j] for b in blocks])
                            for j in range(k1 - self.k)]
                    for b in blocks:
                        for key, v in b["counters"].items():
                            self.counters[key] = self.counters.get(key, 0) + v
                    for rec in recs:
                        done(rec)
            else:
                while self.k < self.n_steps:
                    done(self.step())
            self.status = "complete"
        except KeyboardInterrupt as exc:    # Ctrl-C, or SIGTERM/SIGHUP (twin.cli.signals.Stopped)
            self.status = "interrupted"
            self.stopped_by = getattr(exc, "signal_name", "Ctrl-C")
            self.stopped_signum = int(getattr(exc, "signum", 2))
            self.note(f"interrupted ({self.stopped_by}) after {self.k} completed steps")
        except BaseException:
            self.status = "failed"
            self.wall_s = wall_before + time.perf_counter() - t0
            self.note("the run failed; the completed steps are kept")
            if out_dir is not None and self.k > 0:
                try:
                    self.write(out_dir)
                except Exception:          # keep the original error
                    pass
            raise
        self.wall_s = wall_before + time.perf_counter() - t0
        for h in self.halls:
            h.flows.discard_pending()
        self.flush()
        if getattr(self, "_actors", None):       # the workers' last state, kept here
            try:
                self._trees = self._restart_trees()
            except Exception:     # the workers stopped with the run (a signal to the group)
                self._restart_lost = True
                self.note("the Dask workers stopped with the run: its completed steps are "
                          "kept, but it cannot be resumed (start it again)")
            self._actors = None
        if out_dir is not None:
            self.write(out_dir)
        return self.status

    #: Steps whose plant and power are evaluated together (vectorised models).
    CAMPUS_BLOCK = 168

    def step(self) -> StepRecord:
        """Advance every hall one step and commit it (the plant and power follow in
        :meth:`flush`, called every :attr:`CAMPUS_BLOCK` steps and before writing)."""
        self.prepare()
        k = self.k
        t_mid = float(self.t_mid_h[k])
        fw_supply = self.plant_spec.facility_supply_temp_c
        snap_due = k in self.snapshot_steps
        hall_recs, snaps = [], []
        off = 0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for hm in self.halls:
                u = self.util[k, off:off + hm.n_r]
                off += hm.n_r
                rec, snap = hm.advance(k, t_mid, u, fw_supply, snap_due)
                hall_recs.append(rec)
                if snap is not None:
                    snaps.append(snap)
        for w in caught:
            self.note(f"{w.category.__name__}: {w.message}", step=k)
        # commit
        for hm in self.halls:
            hm.commit_step()
        return self._record_step(hall_recs, snaps)

    def _record_step(self, hall_recs: list, snaps: list) -> StepRecord:
        """Count, record and queue (for :meth:`flush`) the step ``self.k``, whose halls are
        committed, and move on."""
        k = self.k
        rec = StepRecord(step=k, time_h=float(self.t_mid_h[k]), step_s=self.settings.step_s,
                         halls=tuple(hall_recs))
        for hr in hall_recs:
            key = {"linear": "linear_steps", "direct": "direct_steps"}.get(hr.thermal_mode)
            if key:
                self.counters[key] += 1
        self._append(rec)
        self._campus_pending.append(rec)
        self.snapshots += snaps
        self.k += 1
        if len(self._campus_pending) >= self.CAMPUS_BLOCK:
            self.flush()
        return rec

    def _commit_remote(self, parts) -> StepRecord:
        """Commit a step whose halls were advanced on workers: ``parts`` holds, hall by
        hall, ``(record, snapshot, notes, warning notes)`` (:meth:`HallWorker.advance`)."""
        k = self.k
        for _, _, notes, _ in parts:
            for text, step in notes:
                self.note(text, step=step)
        for _, _, _, warns in parts:
            for text in warns:
                self.note(text, step=k)
        return self._record_step([p[0] for p in parts], [p[1] for p in parts if p[1] is not None])

    def flush(self):
        """Evaluate plant, power and renewables of the steps done since the last flush."""
        recs = self._campus_pending
        if not recs:
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cols = campus_block(self, recs)
        for w in caught:
            self.note(f"{w.category.__name__}: {w.message}", step=recs[0].step)
        for g, d in cols.items():
            grp = self.series.setdefault(g, {})
            for name, arr in d.items():
                grp.setdefault(name, []).extend(np.asarray(arr, float).tolist())
        self._campus_pending = []

    # ------------------------------------------------------------------ series
    def _append(self, rec: StepRecord):
        append_step(self.series, rec, has_doors=self.has_doors,
                    recommended_max_c=self._recommended().max_temp_c)

    def _arrays(self) -> dict:
        self.flush()
        out = {}
        for g, cols in self.series.items():
            if g == "_time":
                continue
            out[g] = {n: np.asarray(v) for n, v in cols.items()}
        return out

    def _recommended(self):
        return RECOMMENDED["H1"] if self.settings.ashrae_class == "H1" else RECOMMENDED["A"]

    def labels(self) -> dict:
        racks = [r for h in self.halls for r in h.racks]
        units = [u for h in self.halls for u in h.units]
        cdus = [c for h in self.halls for c in h.cdus]
        return {
            "racks": {"rack": [r.name for r in racks], "hall": [r.hall for r in racks],
                      "type": [r.type_name for r in racks], "row": [r.row or "" for r in racks],
                      "design_power_w": np.array([r.design_power_w for r in racks]),
                      "liquid_capture_frac": np.array([r.liquid_capture_frac for r in racks])},
            "cooling_units": {"cooling_unit": [u.name for u in units], "hall": [u.hall for u in units],
                              "type": [u.type for u in units],
                              "design_airflow_m3_s": np.array([u.airflow_m3_s for u in units]),
                              "capacity_w": np.array([u.capacity_w for u in units])},
            "cdus": {"cdu": [c[0] for c in cdus],
                     "design_heat_w": np.array([c[1].design_heat_w for c in cdus])},
            "halls": {"hall": [h.name for h in self.halls],
                      "replicas": np.array([len(h.replicas) for h in self.halls]),
                      "represents": [" ".join(h.replicas) for h in self.halls],
                      "cells": np.array([h.report.cells for h in self.halls])},
        }

    # ------------------------------------------------------------------ summary and files
    def summary(self) -> dict:
        """The numbers of ``summary.json`` (:func:`twin.loop.campus.run_summary`)."""
        return run_summary(self)

    def run_data(self) -> RunData:
        s = self.settings
        fac = self.facility
        src = fac.source
        text = ""
        if src is not None and Path(src).is_file():
            text = Path(src).read_text(encoding="utf-8")
        restart = {"k": self.k, "wall_s": self.wall_s, "counters": dict(self.counters),
                   "notes": json.dumps(self.notes)}
        if getattr(self, "_restart_lost", False):     # --resume refuses it (k does not match)
            restart["k"] = -1
        else:
            restart["halls"] = {h.name.replace("/", "_"): t
                                for h, t in zip(self.halls, self._restart_trees())}
        descriptions = {
            "racks/inlet_temp_c": "mean air temperature over the rack's intake face",
            "racks/inlet_max_c": "hottest cell of the intake face",
            "racks/server_inlet_temp_c": "air temperature the servers draw: the intake face's "
                                         "mean with the cabinet's internal recirculation "
                                         "(cabinet_recirculation_frac; twin.thermal.cabinet."
                                         "server_inlet_fixed_point)",
            "racks/cabinet_hall_dp_pa": "pressure the hall puts across the cabinet's leak "
                                        "paths at the step's flow state: back over face, "
                                        "plus a passive rear door's drop (twin.thermal."
                                        "cabinet.cabinet_dp_pa)",
            "racks/cabinet_recirculation_frac": "share of the servers' exhaust recirculating "
                                                "inside the cabinet at that pressure (orifice "
                                                "law, twin.thermal.cabinet.leak_shares)",
            "racks/cabinet_bypass_frac": "share of the cabinet's draw passing beside the "
                                         "servers at that pressure (twin.thermal.cabinet."
                                         "leak_shares)",
            "racks/exhaust_temp_c": "mean exhaust temperature in the thermal field (frozen-flow airflow)",
            "racks/airflow_m3_s": "server airflow of the ITE model (the field uses the frozen flow)",
            "cooling_units/supply_temp_c": "supply air delivered (set-point, or warmer when the coil is short)",
            "cooling_units/heat_removed_w": "heat taken from the air: rho cp Q (return - supply)",
            "halls/air_balance_frac": "(rack air heat + wall heat - unit heat removed) / rack air heat",
            "halls/linear_error_k": "largest inlet error of the linear response at a direct check (NaN: no check)",
            "halls/direct": "1 where the recorded thermal state is a direct solve",
            "campus/it_balance_w": "IT power + rear-door fans - heat to air - heat to liquid - "
                                   "heat to rear doors (energy closure)",
            "campus/plant_balance_w": "heat rejected - (heat removed + compressor + pump work)",
            "power/co2_kg": "CO2-equivalent of the step (grid import x factor + contracts)",
            **DISPATCH_DESCRIPTIONS,
        }
        return RunData(
            settings=s.to_dict(), facility_name=fac.campus.name,
            facility_source_path=str(src) if src is not None else "",
            facility_source_text=text, facility_expanded_toml=fac.to_toml(),
            status=self.status, steps_planned=self.n_steps, step_s=s.step_s, start_h=s.start_h,
            time_h=np.asarray(self.series.get("_time", {}).get("time_h", []), float),
            series=self._arrays(), labels=self.labels(), descriptions=descriptions,
            snapshots=list(self.snapshots), log=self.log_lines(), restart=restart,
            summary=self.summary(),
            utc_offset_h=self.utc_offset_h, weather_source=fac.campus.weather,
            attrs={"backend": self.halls[0].backend_name if self.halls else "",
                   "cells": int(sum(h.report.cells for h in self.halls)),
                   "thermal": s.thermal, "wall_s": self.wall_s})

    def write(self, out_dir) -> tuple[Path, Path]:
        """Write ``results.h5``, ``summary.json`` and ``timeseries.csv``
        (:func:`twin.outputs.tables.timeseries_table`) into ``out_dir``, each atomically;
        returns the first two."""
        data = self.run_data()
        p = write_results(results_path(out_dir), data)
        q = write_json(summary_path(out_dir), data.summary)
        write_csv(Path(out_dir) / "timeseries.csv", *timeseries_table(data))
        return p, q

    # ------------------------------------------------------------------ resume
    @classmethod
    def resume(cls, path, facility=None, *, hours: float | None = None, flow_memo: dict | None = None,
               on_event: Callable | None = None,
               checkpoint_every_s: float | None = None) -> "Simulation":
        """A simulation that continues the run stored in ``path`` (a results file or its
        folder). The facility is read from its original path (or ``facility``) and must be
        the one the run started with. ``hours`` extends the period;
        ``checkpoint_every_s`` changes the checkpoint interval (results are unchanged)."""
        p = Path(path)
        if p.is_dir():
            p = results_path(p)
        data = read_results(p)
        settings = RunSettings.from_dict(data.settings)
        if hours is not None and abs(hours - settings.hours) > 1e-9:
            if hours < data.steps_done * settings.step_s / 3600.0:
                raise InputError(f"{p} already holds {data.steps_done} steps; --hours {hours} is shorter")
            settings = replace(settings, hours=float(hours))
        if checkpoint_every_s is not None:
            settings = replace(settings, checkpoint_every_s=float(checkpoint_every_s))
        if facility is None:
            facility = data.facility_source_path
            if not facility or not Path(facility).is_file():
                raise InputError(f"the facility file of {p} ({facility or 'unknown'}) is gone; pass it explicitly")
        fac = facility if isinstance(facility, Facility) else load_facility(facility)
        if fac.to_toml() != data.facility_expanded_toml:
            raise InputError(f"the facility has changed since {p} was written; start a new run "
                             "(or restore the facility file)")
        sim = cls(fac, settings, flow_memo=flow_memo, on_event=on_event)
        sim.prepare()
        sim._load(data)
        return sim

    def _load(self, data: RunData):
        r = data.restart or {}
        n = data.steps_done
        if n > self.n_steps:
            raise InputError(f"the results hold {n} steps, more than the {self.n_steps} planned")
        if int(r.get("k", n)) != n:
            raise InputError("the results file's restart state does not match its series; start a new run")
        self.k = n
        self.wall_s = float(r.get("wall_s", 0.0))
        self.counters.update({k: int(v) for k, v in r.get("counters", {}).items()})
        self.notes = json.loads(r.get("notes", "{}")) if isinstance(r.get("notes"), str) else {}
        self.series = {"_time": {"time_h": list(np.asarray(data.time_h, float))}}
        for g, cols in data.series.items():
            self.series[g] = {name: list(arr) for name, arr in cols.items()}
        self.snapshots = list(data.snapshots)
        self._campus_pending = []
        if self.dispatch is not None:
            self.dispatch.restore(self.series)
        halls = r.get("halls", {})
        for h in self.halls:
            tree = halls.get(h.name.replace("/", "_"))
            if tree is not None:
                h.load_restart(tree)
        if self.backend_name() != data.attrs.get("backend", self.backend_name()):
            self.note(f"resumed on {self.backend_name()} (the run started on {data.attrs.get('backend')}); "
                      "results continue but are not bit-identical to an uninterrupted run")

    def _restart_trees(self) -> list:
        """Each solved hall's restart state (from its worker in a distributed run)."""
        actors = getattr(self, "_actors", None)
        if actors:
            from .distributed import gather
            return gather(a.restart_tree(self.k) for a in actors)
        if getattr(self, "_trees", None):
            return self._trees
        return [h.restart_tree() for h in self.halls]

    def backend_name(self) -> str:
        return self.halls[0].backend_name if self.halls else ""

    def _weather_record(self):
        """The run's weather (loaded by :meth:`prepare`; read here when not prepared)."""
        w = getattr(self, "weather", None)
        if w is None:
            w = self.weather = load_weather(_weather_spec(self.facility))
        return w

    @property
    def utc_offset_h(self) -> float:
        """Time zone of the run's time axis [h east of UTC]: the weather file's."""
        return float(self._weather_record().utc_offset_h)

