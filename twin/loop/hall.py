"""One hall over time (:class:`HallModel`): its mesh and thermal core, its flow states
(:mod:`twin.loop.flowstates`) and the linear heat response, the rack, coil, CDU and supply
control models of a step, and the records. How a step finds its heat field is the thermal
mode's (:mod:`twin.loop.modes`), how its envelope follows the weather
:mod:`twin.loop.envelope`'s.

(Longer than the project's 600-line guide: :class:`HallModel` gathers every model of a
hall's step around its one solver: racks and their rear doors, coils, CDUs, controls and
the records; what could stand apart, the modes and the envelope, does.)"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from common.errors import DivergenceError, InputError
from twin.models.airside import (WATER_CP_J_KG_K, CoilSpec, FanSpec, SupplyControlSpec, crah_coil,
                                 fan_affinity, supply_control_step)
from twin.models.fans import fan_power_at, internal_dp_pa
from twin.models.it_load import rack_power
from twin.models.liquid import CduSpec, cdu_step
from twin.models.metrics import (ASHRAE_CLASSES, RECOMMENDED, hot_spots, rci_hi_pct, rci_lo_pct,
                                 rti_pct, shi_rhi)
from twin.outputs.results import Snapshot
from twin.thermal.aisles import sealed_aisle_zones
from twin.thermal.cabinet import (DOOR_ROOM_FLOOR_FRAC, cabinet_dp_pa, door_air, door_spec_for,
                                  hold_doors, leak_shares, server_inlet_fixed_point)
from twin.thermal.racks import fan_curve_for, rack_spec_for

from . import fans
from .flowstates import FlowState, FlowStates, digest
from .modes import LoopState, StepInput, StepOutcome, mode_for
from .records import HallStep
from .settings import _FAN_DP_PA, _FAN_EFF, _FAN_MIN_SPEED

if TYPE_CHECKING:
    from .simulation import Simulation


#: A direct heat solve of a hall with rear doors starts with every unit's return at least
#: this much over its supply (:meth:`HallModel.direct`) [K].
DOOR_START_MARGIN_K = 0.05
#: A response column moves a unit's supply by this much [K] (:meth:`HallModel.build_response`).
UNIT_COLUMN_K = 1.0
#: The response columns are taken about a base where every unit's return is at least this
#: much over its supply [K], so that no column shuts a coil (:meth:`HallModel._column_base`).
COLUMN_OPEN_K = 1.5


@dataclass
class RackLoads:
    """The rack models of one evaluation, one value per rack."""

    power_w: np.ndarray
    air_w: np.ndarray                 # heat to air
    liquid_w: np.ndarray              # heat to liquid
    flow_m3_s: np.ndarray             # server airflow
    fan_w: np.ndarray
    work: np.ndarray                  # work fraction (below 1: throttled)
    door_w: np.ndarray | None = None      # to the rear doors' water (air_w: to the room)
    door_fan_w: np.ndarray | None = None  # the rear doors' fans
    free_flow_m3_s: np.ndarray | None = None  # the rack model's (fans at free delivery)
    recirc_rise_k: np.ndarray | None = None   # servers' inlet over the face's (recirculation)
    recirculation_frac: np.ndarray | None = None  # the cabinets' leak shares of the evaluation
    bypass_frac: np.ndarray | None = None
    leak_dp_pa: np.ndarray | None = None      # the pressure across the cabinets they follow

    @property
    def cabinet_ratio(self) -> np.ndarray | None:
        """The cabinets' airflow over their servers', ``(1 - r) / (1 - b)`` [-]."""
        if self.recirculation_frac is None:
            return None
        return (1.0 - self.recirculation_frac) / (1.0 - self.bypass_frac)


# ==================================================================================== one hall
class HallModel:
    """One solved hall: its mesh, solver, devices, controls and flow states."""

    def __init__(self, sim: "Simulation", hall_name: str, replicas: list[str]):
        from kernels.solver import Solver, SolverSettings
        from twin.thermal.mesh import mesh_hall

        self.sim = sim
        s = sim.settings
        fac = sim.facility
        self.name = hall_name
        self.replicas = list(replicas)
        self.layout = fac.layout(hall_name)
        self.hall = fac.hall(hall_name)
        self.problem, self.report = mesh_hall(fac, hall_name, cell_m=s.cell_m, backend=s.backend)
        self.solver = Solver(self.problem, backend=s.backend, settings=SolverSettings(**s.solver))
        self.backend_name = self.solver.backend.name
        p = self.problem
        self.rho_cp = p.fluid.rho_cp          # the campus air ([campus.air])
        names = [d.name for d in p.devices]
        by_name = {r.name: r for r in self.layout.racks}
        kinds = [d.kind for d in p.devices]
        self.rack_dev = np.array([i for i, kd in enumerate(kinds) if kd == "rack"], dtype=int)
        self.cooler_dev = np.array([i for i, kd in enumerate(kinds) if kd == "cooler"], dtype=int)
        self.racks = [by_name[names[i]] for i in self.rack_dev]
        units = {u.name: u for u in self.layout.units}
        self.units = [units[names[i]] for i in self.cooler_dev]
        self.n_r, self.n_c = len(self.racks), len(self.units)
        # rack models, grouped by identical spec for vectorised calls
        specs = [rack_spec_for(r, self.rho_cp) for r in self.racks]
        groups: dict = {}
        for i, sp in enumerate(specs):
            groups.setdefault(sp, []).append(i)
        self.spec_groups = [(sp, np.array(ix, dtype=int)) for sp, ix in groups.items()]
        self.rack_design_air_w = np.array([r.design_power_w * (1 - r.liquid_capture_frac)
                                           for r in self.racks])
        self.rack_liquid = np.array([r.liquid_capture_frac > 0 for r in self.racks])
        self.rack_design_flow = np.array([r.flow_m3_s for r in self.racks], dtype=float)
        # leaky cabinets (twin.thermal.cabinet.cabinet_air): the servers see their inlet, the
        # room the cabinet's flow, (1 - r) / (1 - b) of the servers'; the shares as stated,
        # or, where the rack type gives cabinet_leak_dp_pa, at the pressure difference the
        # active flow state puts across the cabinet (leak_shares_at)
        self.rack_recirc = np.array([r.recirculation_frac for r in self.racks], dtype=float)
        self.rack_bypass = np.array([r.bypass_frac for r in self.racks], dtype=float)
        self.rack_cabinet_ratio = (1.0 - self.rack_recirc) / (1.0 - self.rack_bypass)
        self.rack_leak_dp_d = np.array([
            np.nan if getattr(r.rack_type, "cabinet_leak_dp_pa", None) is None
            else float(r.rack_type.cabinet_leak_dp_pa) for r in self.racks], dtype=float)
        self.leaks_follow = bool(np.any(np.isfinite(self.rack_leak_dp_d)
                                        & (self.rack_leak_dp_d > 0)
                                        & ((self.rack_recirc > 0) | (self.rack_bypass > 0))))
        self._want_ratio = self.rack_cabinet_ratio    # the cabinets' ratio of desired_flows
        # rear doors (twin.thermal.cabinet.door_air): what they take goes to their water loop
        self.rack_doors = tuple(door_spec_for(fac, r) for r in self.racks)
        self.has_doors = any(d is not None for d in self.rack_doors)
        self.door_chw = np.array([r.rear_door is not None and fac.rear_doors[r.rear_door]
                                  .water_loop == "chilled-water" for r in self.racks], dtype=bool)
        # rack fans against pressure (twin.loop.fans): only where the airflow follows the
        # rack model; the operating point of each thermal update is on the active flow
        # state's pressure line
        self.fan_curves = tuple(fan_curve_for(r) for r in self.racks)
        self.fans_on = (s.rack_airflow == "model"
                        and any(c is not None for c in self.fan_curves))
        if any(c is not None for c in self.fan_curves) and not self.fans_on:
            sim.note(f"hall {hall_name}: rack airflow at design (--rack-airflow design): the "
                     "racks' fan curves are not applied")
        self.last_free_flow = None        # the rack model's airflow at its last evaluation
        # the chassis' resistance the server fans raise at design (their power follows the
        # operating point: twin.models.fans.fan_power_at)
        self.rack_fan_dp_i = np.zeros(self.n_r)
        for sp, ix in self.spec_groups:
            self.rack_fan_dp_i[ix] = internal_dp_pa(sp.design_fan_power_w,
                                                    self.rack_design_flow[ix])
        # the envelope's heat sources follow the weather (set_envelope)
        self.env_faces = list(self.report.envelope)
        self.env_powers = np.array([src.power_w for src in p.sources
                                    if "/envelope/" in src.name], dtype=float)
        # cooling units: design flow, fan and coil records
        self.cooler_design_flow = np.array([u.airflow_m3_s for u in self.units])
        self.cooler_capacity_w = np.array([u.capacity_w for u in self.units])
        plant = sim.plant_spec
        chw_dt = plant.chw_design_delta_t_k
        self.chw_supply_c = plant.chw_supply_temp_c
        coil_groups: dict = {}
        fan_groups: dict = {}
        for j, u in enumerate(self.units):
            t_in_d = u.supply_temp_c + u.capacity_w / (self.rho_cp * u.airflow_m3_s)
            try:
                coil = CoilSpec(name=f"{u.type} {u.capacity_w / 1e3:.0f} kW coil",
                                design_capacity_w=u.capacity_w, design_airflow_m3_s=u.airflow_m3_s,
                                design_air_inlet_temp_c=t_in_d,
                                design_water_flow_kg_s=u.capacity_w / (WATER_CP_J_KG_K * chw_dt),
                                design_water_inlet_temp_c=self.chw_supply_c,
                                air_rho_cp_j_m3k=self.rho_cp,
                                source="sized from the facility's unit: capacity at its airflow "
                                       "and supply temperature, chilled water at the plant's "
                                       "supply and range")
            except InputError as exc:
                raise InputError(f"cooling unit {u.name}: its coil cannot deliver "
                                 f"{u.supply_temp_c} degC air from {self.chw_supply_c} degC "
                                 f"chilled water ({exc}); raise the unit's supply_temp_c or lower "
                                 "the plant's chilled_water_supply_temp_c") from None
            coil_groups.setdefault(coil, []).append(j)
            fan = FanSpec(name=f"{u.type} fans", design_airflow_m3_s=u.airflow_m3_s,
                          design_pressure_pa=_FAN_DP_PA,
                          design_power_w=u.airflow_m3_s * _FAN_DP_PA / _FAN_EFF,
                          min_speed_fraction=_FAN_MIN_SPEED,
                          source="est.: P = Q dp / eta, dp = 500 Pa, eta = 0.6 (airside.CRAH_FANS)")
            fan_groups.setdefault(fan, []).append(j)
        self.coil_groups = [(c, np.array(ix, dtype=int)) for c, ix in coil_groups.items()]
        self.fan_groups = [(f, np.array(ix, dtype=int)) for f, ix in fan_groups.items()]
        self.chw_design_flow = np.zeros(self.n_c)
        for c, ix in self.coil_groups:
            self.chw_design_flow[ix] = c.design_water_flow_kg_s
        # CDUs: a rack served by several CDUs (a shared secondary manifold) splits its
        # liquid heat equally among them; its coolant is their mean secondary supply
        self.cdus = []                # (name, CduSpec, rack indices)
        rack_index = {r.name: i for i, r in enumerate(self.racks)}
        for cdu in self.hall.cdus:
            ix = [rack_index[n] for n in self.layout.cdu_racks.get(cdu.name, [])
                  if n in rack_index and self.rack_liquid[rack_index[n]]]
            spec = CduSpec(name=f"{hall_name}/{cdu.name}", design_heat_w=cdu.capacity_kw * 1e3,
                           design_approach_k=cdu.approach_k)
            self.cdus.append((spec.name, spec, np.array(ix, dtype=int)))
        member = np.zeros((len(self.cdus), self.n_r))
        for c, (_, _, ix) in enumerate(self.cdus):
            member[c, ix] = 1.0
        orphans = np.nonzero(self.rack_liquid & (member.sum(axis=0) == 0))[0]
        if orphans.size:
            q = float(sum(self.racks[i].design_power_w * self.racks[i].liquid_capture_frac
                          for i in orphans))
            spec = CduSpec(name=f"{hall_name}/liquid-loop", design_heat_w=max(q, 1.0),
                           design_approach_k=3.0)
            self.cdus.append((spec.name, spec, orphans))
            row = np.zeros((1, self.n_r))
            row[0, orphans] = 1.0
            member = np.vstack([member, row])
            sim.note(f"hall {hall_name}: {orphans.size} liquid-cooled racks served by no CDU; an "
                     f"implicit CDU of {q / 1e3:.0f} kW (3 K approach, est.) carries their "
                     "liquid heat")
        count = member.sum(axis=0)
        self.cdu_member = member
        self.cdu_share = member / np.where(count > 0, count, 1.0)     # heat split, (cdu, rack)
        self.rack_n_cdus = count
        shared = [c for c in range(len(self.cdus)) if np.any(member[c] * (count > 1))]
        if shared:
            sim.note(f"hall {hall_name}: {len(shared)} CDUs share racks (a common manifold); "
                     "each rack's liquid heat is split equally among the CDUs serving it")
        self.cdu_pump_w = np.array([float(cdu_step(0.0, 30.0, sp).pump_power_w)
                                    for _, sp, _ in self.cdus])
        # sealed contained aisles: their units run at the speed that matches the racks
        # exhausting (or drawing) there (desired_flows)
        self.aisle_zones = sealed_aisle_zones(self)
        # intake faces of every device, device by device (problem order)
        cells = [d.intake.cells for d in p.devices]
        self.face_counts = np.array([len(c) for c in cells], dtype=int)
        self.face_off = np.concatenate([[0], np.cumsum(self.face_counts)])
        # the share of each intake face in its device's mean: 1/n on a rack or unit face,
        # the face's share of the flow on an air handler's returns (flow-weighted mean)
        self.face_weight = np.concatenate([
            d.intake.face_fractions(p.grid.spacing_m) if not d.intake.uniform
            else np.full(d.intake.n_faces, 1.0 / d.intake.n_faces) for d in p.devices])
        self.weighted_mean = any(not d.intake.uniform for d in p.devices)
        fc = np.concatenate(cells).astype(np.int64)
        self.face_ijk = (fc[:, 0], fc[:, 1], fc[:, 2])
        # response columns: ungrouped, or racks by row and units by entry
        self.columns = self._column_groups(s.max_response_columns)
        # controller and loop state (committed at the end of each step)
        ts0 = np.array([u.supply_temp_c for u in self.units], dtype=float)
        # first guess of the inlets (only to choose the first flow field): 3 K under the target
        self.state = LoopState(
            tin=np.full(self.n_r, s.target_inlet_temp_c - 3.0), ts_set=ts0.copy(),
            ts_deliv=ts0.copy(), coolant=np.full(self.n_r, plant.facility_supply_temp_c),
            active="", last_verify_h=-np.inf, lim_checked=np.zeros(self.n_c, dtype=bool),
            verify_interval_h=s.verify_every_h)
        self._next_state: LoopState | None = None
        self.mode = mode_for(s.thermal)
        self.flows = FlowStates()
        self._loaded = None               # key of the flow state whose fields the solver holds
        self._fresh = self.capture()
        geometry = [self.problem.solid, repr(self.problem.grid), repr(self.problem.boundaries),
                    repr(self.problem.fluid), repr(self.problem.turbulence)]
        for d in self.problem.devices:
            geometry += [d.name, d.kind, d.intake.cells, d.intake.axis, d.intake.side,
                         d.exhaust.cells, d.exhaust.axis, d.exhaust.side]
        for r in self.problem.resistances:
            geometry += [r.faces, r.axis, r.k_loss]
        for src in self.problem.sources:
            geometry += [src.cells, src.power_w]
        self._fresh_key = digest("fresh", self.problem.name, *geometry, s.solver, s.cell_m,
                                 self.backend_name)
        self.intake_zone = self._intake_zone(0.6)

    # ------------------------------------------------------------------ helpers
    def _column_groups(self, max_cols):
        """Response columns: list of (input indices, perturbations, label)."""
        cols = []
        racks_by_row: dict = {}
        for i, r in enumerate(self.racks):
            racks_by_row.setdefault(r.row or r.name, []).append(i)
        units_by_entry: dict = {}
        for j, u in enumerate(self.units):
            m = re.search(r"cooling_units\[([^\]]+)\]", u.path)
            units_by_entry.setdefault(m.group(1) if m else u.name, []).append(j)
        n_in = self.n_r + self.n_c
        group_racks = n_in > max_cols
        group_units = group_racks and (len(racks_by_row) + self.n_c > max_cols)
        delta = np.maximum(0.25 * self.rack_design_air_w, 100.0)
        if group_racks:
            for row, ix in racks_by_row.items():
                cols.append((np.array(ix), delta[ix], f"row {row}"))
        else:
            for i in range(self.n_r):
                cols.append((np.array([i]), delta[[i]], self.racks[i].name))
        if group_units:
            for ent, ix in units_by_entry.items():
                cols.append((self.n_r + np.array(ix), np.full(len(ix), UNIT_COLUMN_K),
                             f"units {ent}"))
        else:
            for j in range(self.n_c):
                cols.append((np.array([self.n_r + j]), np.full(1, UNIT_COLUMN_K),
                             self.units[j].name))
        if group_racks:
            self.sim.note(f"hall {self.name}: {n_in} thermal inputs > {max_cols}: the linear "
                          f"response groups racks by row ({len(racks_by_row)} rows)"
                          + (" and cooling units by entry" if group_units else "")
                          + "; exact when the racks of a row change load together")
        return cols

    def _intake_zone(self, reach_m):
        """Air within ``reach_m`` in front of rack intakes (where hot spots are sought)."""
        p = self.problem
        g = p.grid
        mask = np.zeros(g.shape, dtype=bool)
        fluid = p.fluid_mask
        for i in self.rack_dev:
            port = p.devices[i].intake
            n = max(1, int(math.ceil(reach_m / g.spacing_m[port.axis])))
            c = port.cells
            for k in range(n):
                cc = c.copy()
                cc[:, port.axis] -= port.side * k
                ok = (cc[:, port.axis] >= 0) & (cc[:, port.axis] < g.shape[port.axis])
                cc = cc[ok]
                mask[cc[:, 0], cc[:, 1], cc[:, 2]] = True
        return mask & fluid

    def capture(self) -> dict:
        """The solver's state (host arrays)."""
        return self.solver.get_state()

    def _restore(self, fields: dict):
        self.solver.set_state({k: v for k, v in fields.items() if k in self.solver.state_fields})

    def _set_T(self, T):
        self.solver.set_state({"T": T})

    def faces_from_solver(self) -> np.ndarray:
        """Intake-face temperatures of the solver's field, device by device [degC]."""
        T = self.solver.backend.to_host(self.solver.T)
        return np.asarray(T[self.face_ijk], dtype=float)

    def devices(self, flows, x):
        """Solver devices at per-device ``flows`` and inputs ``x`` (rack heats, supply temps)."""
        base = list(self.problem.devices)
        out = list(base)
        for k, i in enumerate(self.rack_dev):
            out[i] = replace(base[i], flow_m3_s=float(flows[i]), heat_w=float(max(x[k], 0.0)))
        for k, i in enumerate(self.cooler_dev):
            out[i] = replace(base[i], flow_m3_s=float(flows[i]),
                             supply_temp_c=float(x[self.n_r + k]), capacity_w=float("inf"))
        return out

    def device_stats(self, y):
        """Mean and maximum over each device's intake faces."""
        if self.weighted_mean:
            mean = np.add.reduceat(y * self.face_weight, self.face_off[:-1])
        else:
            mean = np.add.reduceat(y, self.face_off[:-1]) / self.face_counts
        mx = np.maximum.reduceat(y, self.face_off[:-1])
        return mean, mx

    # ------------------------------------------------------------------ flow states
    def load_fields(self, st: FlowState):
        """Put ``st``'s fields into the solver (unless they are there already)."""
        if self._loaded != st.key:
            self._restore(st.fields)
            self._loaded = st.key

    def adopt(self, st: FlowState):
        """The solver's present fields become ``st``, the step's only new flow state."""
        self._loaded = st.key
        self.flows.pending = [st]

    def direct(self, st: FlowState, x) -> tuple[np.ndarray, dict]:
        """Intake-face temperatures from a direct steady heat solve at ``st``'s flow."""
        self.load_fields(st)
        T0 = st.fields["T"]
        if self.has_doors and self.n_c:
            # where rear doors carry the room the units' returns sit a little over their
            # supply; a field started with a return below its unit's supply finds that
            # coil shut (a coil never heats) and the room with nothing to hold it: start
            # from the field moved up (the inlets follow a uniform supply change one to
            # one) until every return is DOOR_START_MARGIN_K over its unit's supply
            ret0 = self.device_stats(np.asarray(T0[self.face_ijk], float))[0][self.cooler_dev]
            up = float(np.max(np.asarray(x, float)[self.n_r:] - ret0)) + DOOR_START_MARGIN_K
            if up > 0.0:
                T0 = T0 + np.float32(up)
        self._set_T(T0)
        self.solver.set_devices(self.devices(st.flows, x))
        # the heat solve's Jacobian reads the devices' intake state: make it that of the
        # restored field, not of whatever the solver did last (history-free, reproducible)
        self.solver.device_temperatures()
        self.solver.finish_energy()
        self.sim.counters["energy_solves"] += 1
        return self.faces_from_solver(), self.solver.energy_budget()

    def _coil_gap(self, x, y) -> np.ndarray:
        """Each unit's return over its supply [K] in the answer ``y`` at inputs ``x``."""
        return self.device_stats(np.asarray(y, float))[0][self.cooler_dev] - np.asarray(
            x, float)[self.n_r:]

    def _column_base(self, st: FlowState, x0, y0) -> tuple[np.ndarray, np.ndarray]:
        """The inputs and answer the response columns of ``st`` are taken about.

        A column that moves a unit's supply by :data:`UNIT_COLUMN_K` is linear only while
        every coil stays open (a coil never heats: a return below its supply leaves the
        air as it is, ``kernels.stages.device_temperatures``). Where some unit's return is
        less than :data:`COLUMN_OPEN_K` over its supply at ``x0`` (rear doors carrying
        the room, a lightly loaded hall), the columns of that base would shut a coil and
        measure a room with nothing to hold it. At a frozen flow the field is linear in
        the inputs while the coils stay open, so ``K`` is the same about any base where
        they do: the base moves to more rack heat, ``x0 + t d`` with ``d`` the racks'
        design heat to air (``t`` 1, then, if a coil is still near, the ``t`` that the two
        answers put at 1.2 ``COLUMN_OPEN_K`` by linearity). ``st.info["columns_open"]``
        says whether that succeeded (if not, :class:`twin.loop.modes.LinearMode` checks
        every step by a direct solve)."""
        x0 = np.asarray(x0, float)
        y0 = np.asarray(y0, float)
        if not self.n_c or not self.n_r:
            return x0, y0
        gap0 = self._coil_gap(x0, y0)
        if float(gap0.min()) >= COLUMN_OPEN_K:
            return x0, y0
        d = np.zeros_like(x0)
        d[:self.n_r] = np.maximum(self.rack_design_air_w, 1.0)
        t, xb, yb = 1.0, x0, y0
        for _ in range(2):
            xb = x0 + t * d
            yb = self.direct(st, xb)[0]
            gap = self._coil_gap(xb, yb)
            if float(gap.min()) >= COLUMN_OPEN_K:
                return xb, yb
            slope = (gap - gap0) / t
            with np.errstate(divide="ignore", invalid="ignore"):
                need = np.where(slope > 0, (1.2 * COLUMN_OPEN_K - gap0) / slope, np.inf)
            t = float(np.max(need))
            if not np.isfinite(t) or t <= 0.0 or t > 1e3:
                break
        st.info["columns_open"] = False
        self.sim.note(f"hall {self.name}: no base found where every cooling unit's return is "
                      f"{COLUMN_OPEN_K} K over its supply; the linear response's supply columns "
                      "may shut a coil, so every step at that flow is a direct heat solve")
        return xb, yb

    def build_response(self, st: FlowState, x0, y0):
        """``K`` by superposition: one direct solve per response column, about the base
        of :meth:`_column_base` (``x0`` unless a column would shut a coil there). The
        solver is left with the heat field it held at ``x0`` (when it held ``st``'s flow),
        not the last column's perturbed one: the envelope reads the air next to the walls
        from it (:func:`twin.loop.envelope.set_envelope`)."""
        t0 = time.perf_counter()
        base_T = (self.solver.backend.to_host(self.solver.T).copy()
                  if self._loaded == st.key else None)
        n_in = self.n_r + self.n_c
        K = np.zeros((len(y0), n_in))
        st.info.pop("columns_open", None)
        xb, yb = self._column_base(st, x0, y0)
        for n, (ix, dx, label) in enumerate(self.columns):
            x = np.array(xb, dtype=float)
            x[ix] += dx
            y, _ = self.direct(st, x)
            col = y - yb
            for i, d in zip(ix, dx):
                K[:, i] = col / (len(ix) * d)
            self.sim.event("response", {"hall": self.name, "column": n + 1,
                                        "of": len(self.columns)})
        if base_T is not None:
            self._set_T(base_T)
            self.solver.device_temperatures()
        st.x0, st.y0, st.K = np.array(x0, float), np.array(y0, float), K
        st.columns = len(self.columns)
        st.info["response_wall_s"] = time.perf_counter() - t0
        self.sim.counters["response_builds"] += 1

    def new_state(self, flows, x, need_response: bool, warm: FlowState | None) -> FlowState:
        """Solve the flow at ``flows`` (warm-started from ``warm``), with its response."""
        s = self.sim.settings
        x = self.base_inputs(x)
        src_key = warm.key if warm is not None else self._fresh_key
        key = digest(src_key, np.asarray(flows, float), np.asarray(x, float), s.solver, s.cell_m,
                     self.backend_name, [c[2] for c in self.columns],
                     *(() if not self.env_faces else (np.asarray(self.env_powers, float),)))
        memo = self.sim.flow_memo
        sid = self.flows.new_sid()
        if memo is not None and key in memo:
            m = memo[key]
            st = m.copy(info=dict(m.info, memo=True), sid=sid)
            self.sim.counters["memo_hits"] += 1
            if need_response and st.K is None:
                self.build_response(st, st.x0, st.y0)
                m.K, m.x0, m.y0, m.columns = st.K.copy(), st.x0.copy(), st.y0.copy(), st.columns
            return self.flows.add(st)
        self._restore(warm.fields if warm is not None else self._fresh)
        self._loaded = None
        self.solver.time_s = 0.0          # the steady criterion differences times: start alike
        self.solver.steps = 0
        self.solver.set_devices(self.devices(flows, x))
        self.sim.event("flow", {"hall": self.name, "start": True})
        try:
            res = self.solver.solve_steady(
                progress=lambda n, info: self.sim.event("flow", {"hall": self.name,
                                                                 "iteration": n, **info}))
        except DivergenceError as exc:        # one line: the hall, what blew up, the fix
            what = str(exc).split(": ", 1)[-1].split("; ")[0]
            raise DivergenceError(
                f"hall {self.name}: its flow solve at {s.cell_m:g} m cells failed: {what}; "
                "fix: check its cooling units' airflow against its racks' and the "
                "containment's leaks (twin validate), or try a finer --cell or "
                "--rack-airflow design") from None
        self.sim.counters["flow_solves"] += 1
        if not res.converged:
            self.sim.note(f"hall {self.name}: the flow solve stopped after {res.iterations} "
                          "iterations without meeting its criterion (velocity residual "
                          f"{res.residuals.get('velocity'):.3g}, "
                          f"heat imbalance {res.residuals.get('energy_imbalance'):.3g}, "
                          f"{res.residuals.get('mode', '')}); results use it as it is")
        line, fan_info = None, None
        ratio = self._want_ratio              # the cabinets' airflow over the servers'
        if self.fans_on and res.converged and self.solver.port_pressure_pa is not None:
            speed = (self.last_free_flow / self.rack_design_flow
                     if self.last_free_flow is not None
                     else fans.server_flow_frac(self, flows, ratio))
            flows, line, fan_info = fans.settle_fans(
                self, flows, x, speed, progress=lambda n, info: self.sim.event(
                    "flow", {"hall": self.name, "iteration": n, **info}), ratio=ratio)
            if line is None:
                self.sim.note(f"hall {self.name}: a flow solve of the racks' fan iteration did "
                              "not converge: the racks move the rack model's airflow at that "
                              "flow state (no fan curves)")
        elif self.fans_on:
            self.sim.note(f"hall {self.name}: the flow solve did not converge: the racks move "
                          "the rack model's airflow at that flow state (no fan curves)")
        st = FlowState(key=key, flows=np.asarray(flows, float).copy(), fields=self.capture(),
                       x0=np.asarray(x, float).copy(), y0=self.faces_from_solver(), sid=sid,
                       info={"iterations": res.iterations, "wall_s": res.wall_s,
                             "converged": bool(res.converged),
                             "velocity_residual": float(res.residuals.get("velocity", np.nan)),
                             "fan_line": line, "fan_iteration": fan_info})
        if self.leaks_follow and self.solver.port_pressure_pa is not None:
            # the pressure this flow state puts across each cabinet: its leak shares
            # (leak_shares_at), as the steady commands take them (settle_racks)
            st.info["leak_dp_pa"] = self.cabinet_pressure(st.flows,
                                                          self.solver.port_pressure_pa)
        self._loaded = key
        if self.has_doors:
            # the flow solve's heat field in pseudo time may not have reached the room's
            # level where rear doors carry it (the units' coils shut): the answer at x0 is
            # the direct heat solve's (started over the supply, HallModel.direct)
            st.y0 = self.direct(st, st.x0)[0]
            self._loaded = key
        if need_response:
            self.build_response(st, st.x0, st.y0)
        if memo is not None:
            memo[key] = st.copy(sid=0)
        return self.flows.add(st)

    # ------------------------------------------------------------------ physics of a step
    def cabinet_pressure(self, flows, port_pressure_pa) -> list[float]:
        """The pressure difference across each rack's cabinet [Pa] from the ports' mean
        static pressure ``port_pressure_pa`` (2, devices) of a flow at per-device
        ``flows`` (:func:`twin.thermal.cabinet.cabinet_dp_pa`, the steady commands'
        rule): what a flow state keeps as ``info["leak_dp_pa"]``."""
        return [float(v) for v in cabinet_dp_pa(port_pressure_pa, self.rack_dev,
                                                 np.asarray(flows, float)[self.rack_dev],
                                                 self.rack_doors)]

    def leak_shares_at(self, flow: FlowState | None) -> tuple[np.ndarray, np.ndarray]:
        """The cabinets' recirculation and bypass shares at flow state ``flow`` [-]: where
        the rack type gives ``cabinet_leak_dp_pa``, the orifice law at the pressure
        difference the state's flow solve put across the cabinet (``info["leak_dp_pa"]``,
        :func:`twin.thermal.cabinet.cabinet_dp_pa`, :func:`twin.thermal.cabinet.
        leak_shares`, the steady commands' rule); elsewhere, or before a flow solve with
        a pressure, the shares as stated."""
        dp = None if (flow is None or not self.leaks_follow) else flow.info.get("leak_dp_pa")
        if dp is None:
            return self.rack_recirc, self.rack_bypass
        return leak_shares(self.rack_recirc, self.rack_bypass, np.asarray(dp, float),
                           self.rack_leak_dp_d)

    def rack_models(self, u, tin, coolant, flow: FlowState | None = None) -> RackLoads:
        """Power, heat to air and liquid, server airflow, fan power and work of every rack,
        at its servers' inlet: the cabinet face's ``tin`` raised by the cabinet's
        recirculation (:func:`twin.thermal.cabinet.server_inlet_fixed_point`), its leak
        shares those of the flow state ``flow`` (:meth:`leak_shares_at`). With fan
        curves and a flow state ``flow`` that has a pressure line, the servers move their
        curves' operating point on it (:mod:`twin.loop.fans`), the fans at the rack model's
        speed (``free_flow_m3_s``)."""
        shares = self.leak_shares_at(flow)
        dp_leak = None if (flow is None or not self.leaks_follow) else flow.info.get("leak_dp_pa")
        free = self._rack_models(u, tin, coolant, None, shares=shares)
        free.leak_dp_pa = None if dp_leak is None else np.asarray(dp_leak, float)
        line = flow.info.get("fan_line") if (self.fans_on and flow is not None) else None
        self.last_free_flow = free.flow_m3_s.copy()
        if line is None:
            free.free_flow_m3_s = free.flow_m3_s.copy()
            return free
        q, dp = fans.operating_points(self, line, free.flow_m3_s)
        q = q * self.rack_design_flow
        share = np.where(free.flow_m3_s > 0, q / np.where(free.flow_m3_s > 0, free.flow_m3_s,
                                                           1.0), 1.0)
        out = self._rack_models(u, tin, coolant, share, dp, shares=shares)
        out.free_flow_m3_s = free.flow_m3_s.copy()
        out.leak_dp_pa = free.leak_dp_pa
        return out

    def _rack_models(self, u, tin, coolant, share, dp_pa=None, shares=None) -> RackLoads:
        """:meth:`rack_models` with the servers' airflow ``share`` times the rack model's
        (None: 1). ``dp_pa`` (per rack, the pressure difference across the cabinet at the
        fan curve's operating point): the server fans' power follows the operating point
        (:meth:`_fan_delta_w`), and the power, heat to air and to liquid with it (the
        fans' power is heat, in the servers' inlet under recirculation too). ``shares``:
        the cabinets' ``(recirculation, bypass)`` (None: as stated)."""
        out = RackLoads(*(np.zeros(self.n_r) for _ in range(6)))
        out.recirc_rise_k = np.zeros(self.n_r)
        rec, byp = (self.rack_recirc, self.rack_bypass) if shares is None else shares
        out.recirculation_frac = np.array(rec, dtype=float)
        out.bypass_frac = np.array(byp, dtype=float)
        design = self.sim.settings.rack_airflow == "design"
        share = np.ones(self.n_r) if share is None else np.asarray(share, float)
        for spec, ix in self.spec_groups:
            t_srv = np.array(tin[ix], dtype=float)
            f_liq = spec.liquid_capture_fraction
            for m, i in enumerate(ix):
                if rec[i] <= 0.0:
                    continue
                cool = coolant[i] if f_liq > 0 else None

                def rise(t, i=i, cool=cool, spec=spec):
                    r = rack_power(u[i], t, spec, cool)
                    v = self.rack_design_flow[i] if design else float(r.airflow_m3_s) * share[i]
                    d_w = self._fan_delta_w(r, [i], share, dp_pa)
                    return float(r.heat_to_air_w + (1.0 - spec.liquid_capture_fraction)
                                 * d_w[0]) / (spec.air_rho_cp_j_m3k * v)
                k = rec[i] / (1.0 - rec[i])
                t_srv[m] = server_inlet_fixed_point(float(tin[i]), k, rise)
            r = rack_power(u[ix], t_srv, spec, coolant[ix] if f_liq > 0 else None)
            d_w = self._fan_delta_w(r, ix, share, dp_pa)
            out.recirc_rise_k[ix] = t_srv - np.asarray(tin, float)[ix]
            out.power_w[ix] = r.power_w + d_w
            out.air_w[ix] = r.heat_to_air_w + (1.0 - f_liq) * d_w
            out.liquid_w[ix] = r.heat_to_liquid_w + f_liq * d_w
            out.flow_m3_s[ix] = r.airflow_m3_s * share[ix]
            out.fan_w[ix] = r.fan_power_w + d_w
            out.work[ix] = r.work_fraction
        if self.has_doors:
            flow = (self.rack_design_flow if design else out.flow_m3_s) * out.cabinet_ratio
            d = door_air(tin, out.air_w, flow, self.rack_doors, self.rho_cp)
            out.air_w, out.door_w, out.door_fan_w = d["room_w"], d["door_w"], d["door_fan_w"]
            self._hold_doors(out)
        return out

    def _hold_doors(self, out: RackLoads):
        """Hold the rear doors to the room's heat (in place): the room air keeps at least
        :data:`~twin.thermal.cabinet.DOOR_ROOM_FLOOR_FRAC` of the racks' design heat to air
        for the units, counting the envelope's gain or loss as the solver holds it
        (``env_powers``): :func:`twin.thermal.cabinet.hold_doors`, the rule the steady
        commands apply too. Quasi-steady modes only: the ``transient`` mode lets the room
        cool over a step."""
        if self.mode.name == "transient":
            return                  # in time the room may lose heat over a step: it cools
        out.air_w, out.door_w, held = hold_doors(out.air_w, out.door_w, self._envelope_w(),
                                                 float(self.rack_design_air_w.sum()))
        if held:
            self.sim.note(f"hall {self.name}: the rear doors would take more than the room's "
                          "heat (water colder than the room, the units idle); they are held "
                          "to it, the units at their supply set-point")

    def _envelope_w(self) -> float:
        """The walls' and roof's heat to the room air as the solver holds it [W]."""
        return (float(np.sum(self.env_powers))
                if self.env_faces and self.env_powers is not None else 0.0)

    def base_inputs(self, x) -> np.ndarray:
        """Inputs ``x`` (rack heats to air, unit supplies) made a base a linear response
        can be taken about, in a hall with rear doors: the racks' heats are raised, in
        proportion to their design heat to air, until the room keeps the doors' floor
        (:func:`~twin.thermal.cabinet.hold_doors`) with the envelope the solver holds now.
        The inputs a step evaluates are held so already (:meth:`rack_models`); a kept
        base is not when the envelope has since taken more heat
        (:func:`twin.loop.envelope.set_envelope`), and a room with a net loss has no
        steady heat field to expand about. Without doors, ``x`` unchanged."""
        x = np.array(x, dtype=float)
        if not self.has_doors or not self.n_r:
            return x
        design = float(self.rack_design_air_w.sum())
        short = DOOR_ROOM_FLOOR_FRAC * design - (float(x[:self.n_r].sum()) + self._envelope_w())
        if short > 0.0 and design > 0.0:
            x[:self.n_r] += short * self.rack_design_air_w / design
        return x

    def _fan_delta_w(self, r, ix, share, dp_pa) -> np.ndarray:
        """The server fans' power at their operating point less at free delivery [W], for
        the racks ``ix`` of the rack model's answer ``r``: the fans at the rack model's
        speed ``s`` (its airflow over design) move ``s * share`` against ``dp_pa``
        (:func:`twin.models.fans.fan_power_at`); zeros when ``dp_pa`` is None."""
        p_free = np.atleast_1d(np.asarray(r.fan_power_w, float))
        if dp_pa is None:
            return np.zeros_like(p_free)
        ix = np.asarray(ix, dtype=int)
        s_fan = np.atleast_1d(np.asarray(r.airflow_m3_s, float)) / self.rack_design_flow[ix]
        op = fan_power_at(p_free, s_fan, s_fan * np.asarray(share, float)[ix],
                          np.asarray(dp_pa, float)[ix], self.rack_fan_dp_i[ix])
        return op - p_free

    # ------------------------------------------------------------------ envelope
    def set_envelope(self, outdoor_temp_c: float, irradiance_w_m2: float):
        """The walls' and roof's heat at this step's weather
        (:func:`twin.loop.envelope.set_envelope`)."""
        from .envelope import set_envelope
        set_envelope(self, outdoor_temp_c, irradiance_w_m2)

    def desired_flows(self, rack_flow, cabinet_ratio=None) -> tuple[np.ndarray, float]:
        """Per-device flows: racks at their cabinets' airflow (the servers' with the
        cabinet's leakage: ``cabinet_ratio`` of :class:`RackLoads`, the shares as stated
        by default), units at the matched speed; returns them and the units' mean
        speed (their flow over their design flow). The ratio is kept for the next flow
        solve (:meth:`new_state`), whose fan iteration takes the servers' airflow back
        from the cabinets'.

        Airflow matching: the units deliver ``airflow_ratio`` times the racks' airflow,
        every unit at the same share of its design flow (within ``_FAN_MIN_SPEED`` and
        full speed). A sealed contained aisle (doors and roof, :func:`sealed_aisle_zones`)
        is matched on its own and at 1: the units that draw from it (in-row coolers behind
        a hot aisle) or supply it move its racks' airflow, as containment cooling is
        controlled (the units' airflow follows the IT airflow of their aisle, the aisle
        near neutral pressure: Niemann, Brown & Avelar, Schneider Electric White Paper
        135, 2011, from memory); an oversupply there would only be drawn through the
        aisle's leaks. The other units deliver ``airflow_ratio`` times the other racks'
        airflow plus what the aisles' units cannot take (or less what they draw beyond
        their racks at their least speed). Matched over the whole hall instead, in-row
        coolers draw the difference through the aisle's door leaks, at a suction that
        stalls the pressure solve (``benchmarks/results/gw-campus-2026-12-07b.md``)."""
        flows = np.zeros(len(self.problem.devices))
        if self.sim.settings.rack_airflow == "design":
            rack_flow = self.rack_design_flow
        cab = (self.rack_cabinet_ratio if cabinet_ratio is None
               else np.asarray(cabinet_ratio, dtype=float))
        self._want_ratio = cab
        rack_flow = rack_flow * cab
        flows[self.rack_dev] = rack_flow
        design = self.cooler_design_flow
        ratio = self.sim.settings.airflow_ratio
        unit_flow = np.zeros(self.n_c)
        free = np.ones(self.n_c, dtype=bool)
        outside = np.ones(self.n_r, dtype=bool)      # racks of no sealed aisle
        spill = 0.0                                  # aisles' air the room's units take
        for racks_ix, units_ix in self.aisle_zones:
            q = float(rack_flow[racks_ix].sum())
            sp = float(np.clip(q / design[units_ix].sum(), _FAN_MIN_SPEED, 1.0))
            unit_flow[units_ix] = sp * design[units_ix]
            free[units_ix] = False
            outside[racks_ix] = False
            spill += q - float(unit_flow[units_ix].sum())
        rest = float(design[free].sum())
        if rest > 0:
            need = ratio * float(rack_flow[outside].sum()) + spill
            unit_flow[free] = float(np.clip(need / rest, _FAN_MIN_SPEED, 1.0)) * design[free]
        flows[self.cooler_dev] = unit_flow
        total = float(design.sum())
        speed = float(unit_flow.sum() / total) if total > 0 else 1.0
        return flows, speed

    def coils_fast(self, flow_c, t_ret, ts_set):
        """Delivered supply and whether each coil is short, from the full-flow coil (the
        valve's set-point search of :func:`crah_coil` is left for the record). A coil whose
        return is below its set-point delivers the return (its valve shut: a coil cools,
        it never heats: :data:`twin.thermal.cabinet.COIL_NEVER_HEATS_SOURCE`)."""
        deliv = np.array(ts_set, dtype=float)
        lim = np.zeros(self.n_c, dtype=bool)
        for spec, ix in self.coil_groups:
            r = crah_coil(flow_c[ix], t_ret[ix], self.chw_design_flow[ix], self.chw_supply_c, spec)
            c_air = self.rho_cp * flow_c[ix]
            q_need = np.maximum(c_air * (t_ret[ix] - ts_set[ix]), 0.0)
            short = q_need > np.asarray(r.heat_w) * (1.0 + 1e-9)
            deliv[ix] = np.where(short, r.air_outlet_temp_c, np.minimum(ts_set[ix], t_ret[ix]))
            lim[ix] = short
        return deliv, lim

    def coils(self, flow_c, t_ret, ts_set):
        deliv = np.array(ts_set, dtype=float)
        heat = np.zeros(self.n_c)
        mw = np.zeros(self.n_c)
        lim = np.zeros(self.n_c, dtype=bool)
        for spec, ix in self.coil_groups:
            r = crah_coil(flow_c[ix], t_ret[ix], self.chw_design_flow[ix], self.chw_supply_c, spec,
                          supply_setpoint_c=ts_set[ix])
            deliv[ix] = r.air_outlet_temp_c
            heat[ix] = r.heat_w
            mw[ix] = r.water_flow_kg_s
            lim[ix] = r.capacity_limited
        return deliv, heat, mw, lim

    def cdu_states(self, q_liq, fw_supply_c):
        n = len(self.cdus)
        heat = self.cdu_share @ np.asarray(q_liq, float) if n else np.zeros(0)
        sec_sup = np.zeros(n)
        sec_ret = np.zeros(n)
        fac_ret = np.zeros(n)
        for k, (_, spec, _) in enumerate(self.cdus):
            r = cdu_step(float(heat[k]), fw_supply_c, spec)
            sec_sup[k] = r.secondary_supply_temp_c
            sec_ret[k] = r.secondary_return_temp_c
            fac_ret[k] = r.facility_return_temp_c
        coolant = np.full(self.n_r, float(fw_supply_c))
        if n:
            served = self.rack_n_cdus > 0
            coolant[served] = (self.cdu_member.T @ sec_sup)[served] / self.rack_n_cdus[served]
        return heat, sec_sup, sec_ret, fac_ret, coolant

    def control(self, max_inlet, ts_set, speed, sampled: bool = False):
        """New supply set-points of the hall's units from its hottest rack inlet.

        Quasi-steady (linear and direct modes): the controller's steady state within the
        step: inside the dead band ``[target - deadband, target]`` of
        :class:`~twin.models.airside.SupplyControlSpec` nothing moves; outside it the
        set-point moves by the missing kelvins towards the middle of the band (an adiabatic
        room's inlets follow a uniform supply change one to one), within the supply
        limits. ``sampled`` (transient mode): one proportional step of
        :func:`~twin.models.airside.supply_control_step` per time step, at the fan speed
        set by airflow matching.
        """
        if self.n_c == 0:
            return ts_set
        spec = SupplyControlSpec(target_inlet_temp_c=self.sim.settings.target_inlet_temp_c,
                                 min_speed_fraction=speed, max_speed_fraction=speed)
        if sampled:
            t, _ = supply_control_step(np.full(self.n_c, max_inlet), ts_set,
                                       np.full(self.n_c, speed), spec)
            return np.atleast_1d(np.asarray(t, dtype=float))
        hi = spec.target_inlet_temp_c
        lo = hi - spec.deadband_k
        if lo <= max_inlet <= hi:
            return np.asarray(ts_set, dtype=float)
        goal = hi - 0.5 * spec.deadband_k
        return np.clip(np.asarray(ts_set, float) + (goal - max_inlet), spec.min_supply_temp_c,
                       spec.max_supply_temp_c)

    def advance(self, k: int, t_mid_h: float, u: np.ndarray, fw_supply_c: float,
                snapshot: bool) -> tuple:
        """One step of this hall; returns ``(HallStep, Snapshot or None)``. Nothing is
        committed (the caller commits when the whole step succeeded)."""
        inp = StepInput(k=k, t_mid_h=t_mid_h, u=u, fw_supply_c=fw_supply_c, snapshot=snapshot)
        if self.env_faces:
            self.set_envelope(float(self.sim.env["dry_bulb_c"][k]), float(self.sim.ghi_w_m2[k]))
        out = self.mode.step(self, inp)
        self._next_state = out.state
        rec = self._record(inp, out)
        return rec, (self._snapshot(k, t_mid_h) if snapshot else None)

    def commit_step(self):
        """Keep what the step made: its loop state and flow states."""
        self.flows.commit(self._next_state.active, replace=self.mode.replaces_states)
        self.state = self._next_state

    def _record(self, inp: StepInput, out: StepOutcome) -> HallStep:
        rm, x, u = out.racks, out.x, inp.u
        flows = out.flow.flows
        flow_r = flows[self.rack_dev]
        flow_c = flows[self.cooler_dev]
        tin = out.mean[self.rack_dev]
        t_ret = out.mean[self.cooler_dev]
        ts = x[self.n_r:]
        q_air = rm.air_w
        with np.errstate(divide="ignore", invalid="ignore"):
            t_ex = tin + np.where(flow_r > 0,
                                  q_air / (self.rho_cp * np.where(flow_r > 0, flow_r, 1.0)), 0.0)
        # a cooler never heats the air (kernels.stages.device_temperatures): a return below
        # the supply set-point leaves it at the return (e.g. rear doors took the heat)
        cooler_heat = self.rho_cp * flow_c * np.maximum(t_ret - ts, 0.0)
        deliv, coil_q, mw, lim = self.coils(flow_c, t_ret, out.setpoint)
        speed = flow_c / np.where(self.cooler_design_flow > 0, self.cooler_design_flow, 1.0)
        fan_w = np.zeros(self.n_c)
        for spec, ix in self.fan_groups:
            fan_w[ix] = fan_affinity(speed[ix], spec).power_w
        cdu_q, sec_sup, sec_ret, fac_ret, _ = self.cdu_states(rm.liquid_w, inp.fw_supply_c)
        cls = self.sim.settings.ashrae_class
        rec_env, alw = (RECOMMENDED["H1"] if cls == "H1" else RECOMMENDED["A"]), ASHRAE_CLASSES[cls]
        if self.n_r:
            rci_hi = rci_hi_pct(tin, rec_env.max_temp_c, alw.max_temp_c)
            rci_lo = rci_lo_pct(tin, rec_env.min_temp_c, alw.min_temp_c)
        else:
            rci_hi = rci_lo = float("nan")
        nan = float("nan")
        rti = rti_pct(t_ret, ts, flow_c, t_ex - tin, flow_r) if self.n_c and self.n_r else nan
        t_ref = float(np.sum(flow_c * ts) / flow_c.sum()) if self.n_c and flow_c.sum() > 0 else nan
        shi, rhi = shi_rhi(tin, t_ex, t_ref) if self.n_r else (float("nan"), float("nan"))
        budget = out.budget
        bnd = float(budget["boundary_heat_w"] + budget.get("source_heat_w", 0.0)) if budget else 0.0
        if budget is None and self.env_faces:        # linear: the envelope's sources as set
            bnd = float(np.sum(self.env_powers))
        zero = np.zeros(self.n_r)
        door_w = rm.door_w if rm.door_w is not None else zero
        door_fan = rm.door_fan_w if rm.door_fan_w is not None else zero
        return HallStep(
            hall=self.name, replicas=len(self.replicas), thermal_mode=out.mode, reason=out.reason,
            inner_iterations=int(out.iterations), converged=bool(out.converged),
            linear_error_k=out.linear_error_k, flow_state=int(out.flow.sid),
            rack_inlet_temp_c=tin.copy(), rack_inlet_max_c=out.mx[self.rack_dev].copy(),
            rack_server_inlet_temp_c=tin + np.asarray(rm.recirc_rise_k, float),
            rack_exhaust_temp_c=t_ex, rack_power_w=rm.power_w.copy(),
            rack_heat_to_air_w=q_air.copy(), rack_heat_to_liquid_w=rm.liquid_w.copy(),
            rack_airflow_m3_s=rm.flow_m3_s.copy(), rack_fan_power_w=rm.fan_w.copy(),
            rack_utilization_frac=np.asarray(u, float).copy(), rack_work_frac=rm.work.copy(),
            rack_throttled=rm.work < 1.0,
            cooler_return_temp_c=t_ret.copy(), cooler_supply_temp_c=ts.copy(),
            cooler_setpoint_c=np.asarray(out.setpoint, float).copy(),
            cooler_airflow_m3_s=flow_c.copy(),
            cooler_fan_speed_frac=speed, cooler_fan_power_w=fan_w, cooler_heat_w=cooler_heat,
            cooler_capacity_limited=np.asarray(lim, bool), cooler_chw_flow_kg_s=mw,
            cdu_heat_w=cdu_q, cdu_secondary_supply_temp_c=sec_sup,
            cdu_secondary_return_temp_c=sec_ret,
            cdu_facility_return_temp_c=fac_ret, cdu_pump_power_w=self.cdu_pump_w.copy(),
            boundary_heat_w=bnd, rci_hi_pct=rci_hi, rci_lo_pct=rci_lo, rti_pct=rti, shi=shi,
            rhi=rhi, rack_door_heat_w=door_w.copy(), rack_door_fan_power_w=door_fan.copy(),
            door_chilled_water_heat_w=float(door_w[self.door_chw].sum()),
            **self._leak_record(rm))

    def _leak_record(self, rm: RackLoads) -> dict:
        """The cabinets' leak shares of a step's rack models and the pressure across the
        cabinets they follow (NaN before any), for a hall whose shares follow the
        pressure (:meth:`leak_shares_at`; nothing otherwise)."""
        if not self.leaks_follow:
            return {}
        dp = rm.leak_dp_pa
        rec = rm.recirculation_frac if rm.recirculation_frac is not None else self.rack_recirc
        byp = rm.bypass_frac if rm.bypass_frac is not None else self.rack_bypass
        return {"rack_cabinet_dp_pa": (np.full(self.n_r, np.nan) if dp is None
                                       else np.asarray(dp, float).copy()),
                "rack_recirculation_frac": np.asarray(rec, float).copy(),
                "rack_bypass_frac": np.asarray(byp, float).copy()}

    def _snapshot(self, k, t_mid_h) -> Snapshot:
        f = self.solver.fields()
        g = self.problem.grid
        coords = {c: g.origin_m[a] + (np.arange(g.shape[a]) + 0.5) * g.spacing_m[a]
                  for a, c in enumerate(("x_m", "y_m", "z_m"))}
        hs = hot_spots(f["temp_c"], self.intake_zone, g.spacing_m, g.origin_m,
                       threshold_c=RECOMMENDED["A"].max_temp_c, max_count=5)
        arr = np.array([[h.temp_c, h.x_m, h.y_m, h.z_m] for h in hs], dtype=float).reshape(-1, 4)
        return Snapshot(hall=self.name, step=int(k), time_h=float(t_mid_h),
                        fields={n: f[n] for n in ("temp_c", "u_m_s", "v_m_s", "w_m_s")},
                        coords=coords, hot_spots=arr)

    # ------------------------------------------------------------------ restart
    def restart_tree(self) -> dict:
        st = self.state.to_tree()
        st["n_created"] = int(self.flows.n_created)
        return {"state": st, "flow_states": self.flows.to_trees()}

    def load_restart(self, tree: dict):
        st = tree["state"]
        self.state = LoopState.from_tree(st, self.n_c, self.sim.settings.verify_every_h)
        n = st.get("n_created")
        self.flows.load_trees(tree.get("flow_states", []), None if n is None else int(n))
        self._loaded = None
        if self.env_faces:           # the states' answers are made again at the next step
            self.env_powers = None
