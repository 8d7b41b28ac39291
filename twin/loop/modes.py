"""Thermal modes of a hall's step: how the heat field of a step is found.

Each mode is a strategy with one method, :meth:`ThermalMode.step`, that turns the hall's
committed loop state (:class:`LoopState`) and the step's inputs (:class:`StepInput`) into
what the step records and the loop state to commit (:class:`StepOutcome`). The registry
:data:`MODES` is keyed by the names that :class:`~twin.loop.settings.RunSettings` and the
CLI accept (:data:`THERMAL_MODES`, in the order they are offered):

``linear``
    The exact linear heat response of a frozen flow field, iterated with the controls
    within the step; the flow is re-solved (or a kept one taken) when the airflow moves
    beyond ``flow_tol_frac``; checked against a direct heat solve at snapshots, outside
    the linear range and every ``verify_every_h`` (adaptive).
``direct``
    A steady flow solve whenever the airflow changes and a direct heat solve at every
    evaluation of the same iteration.
``transient``
    The solver runs for the step's duration (time-accurate); the controls take one
    sampled step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .flowstates import FlowState, digest, flow_dev

if TYPE_CHECKING:
    from .hall import HallModel, RackLoads

__all__ = ["LoopState", "StepInput", "StepOutcome", "ThermalMode", "LinearMode", "DirectMode",
           "TransientMode", "MODES", "THERMAL_MODES", "mode_for"]


# ==================================================================================== contract
@dataclass
class LoopState:
    """A hall's control loop between steps (committed when the whole step succeeds)."""

    tin: np.ndarray                   # rack inlets [degC]
    ts_set: np.ndarray                # supply set-points of the units [degC]
    ts_deliv: np.ndarray              # supply the units deliver [degC]
    coolant: np.ndarray               # coolant supply of each rack [degC]
    active: str                       # key of the flow state in use ("": none yet)
    last_verify_h: float              # time of the last direct check [h] (-inf: none)
    lim_checked: np.ndarray           # coils short of capacity at that check
    verify_interval_h: float          # time until the next periodic check [h]

    _ARRAYS = ("tin", "ts_set", "ts_deliv", "coolant")

    def working_copy(self) -> "LoopState":
        """A copy whose arrays the step may rebind (the committed state stays as it is)."""
        return LoopState(*(getattr(self, n).copy() for n in self._ARRAYS), active=self.active,
                         last_verify_h=self.last_verify_h, lim_checked=self.lim_checked,
                         verify_interval_h=self.verify_interval_h)

    def to_tree(self) -> dict:
        """The restart record (keys and types as results files hold them)."""
        return {"tin": self.tin, "ts_set": self.ts_set, "ts_deliv": self.ts_deliv,
                "coolant": self.coolant, "active": self.active,
                "last_verify_h": (float(self.last_verify_h) if np.isfinite(self.last_verify_h)
                                  else -1e300),
                "lim_checked": np.asarray(self.lim_checked, dtype=np.uint8),
                "verify_interval_h": self.verify_interval_h}

    @classmethod
    def from_tree(cls, d: dict, n_c: int, verify_every_h: float) -> "LoopState":
        return cls(*(np.asarray(d[n], float) for n in cls._ARRAYS), active=str(d["active"]),
                   last_verify_h=(-np.inf if d["last_verify_h"] <= -1e299
                                  else float(d["last_verify_h"])),
                   lim_checked=np.asarray(d.get("lim_checked", np.zeros(n_c)),
                                          dtype=bool).reshape(n_c),
                   verify_interval_h=float(d.get("verify_interval_h", verify_every_h)))


@dataclass(frozen=True)
class StepInput:
    """What a hall's step is given."""

    k: int                            # step number
    t_mid_h: float                    # middle of the step [h]
    u: np.ndarray                     # rack utilisation [0..1]
    fw_supply_c: float                # facility water supply [degC]
    snapshot: bool                    # a 3D snapshot is taken at this step


@dataclass
class StepOutcome:
    """What a step records (one thermal evaluation and its inputs) and the loop state it
    leaves to commit."""

    mode: str                         # the recorded thermal mode
    reason: str                       # why a linear step was checked by a direct solve
    iterations: int
    converged: bool
    linear_error_k: float             # NaN: no check
    flow: FlowState
    racks: "RackLoads"                # the rack models the evaluation used
    x: np.ndarray                     # its inputs: rack heats to air, delivered supply
    mean: np.ndarray                  # its intake-face means per device [degC]
    mx: np.ndarray                    # and maxima [degC]
    setpoint: np.ndarray              # the supply set-points at the evaluation [degC]
    budget: dict | None               # energy budget of a solve (None: linear response)
    state: LoopState


class ThermalMode:
    """How the heat field of a step is found (one instance per mode in :data:`MODES`)."""

    name = ""
    #: True: the flow states made in a step replace the kept ones; False: they join them.
    replaces_states = False

    def step(self, hall: "HallModel", inp: StepInput) -> StepOutcome:
        raise NotImplementedError


# ==================================================================================== quasi-steady
@dataclass
class _Iteration:
    """The last evaluation of the control iteration at one flow state."""

    racks: "RackLoads"
    x: np.ndarray
    y: np.ndarray                     # intake-face temperatures [degC]
    budget: dict | None
    setpoint: np.ndarray
    lim: np.ndarray                   # coils short of capacity
    iterations: int
    converged: bool = False


@dataclass
class _Check:
    """A linear step's check against a direct solve (the defaults: none)."""

    verified_h: float
    interval_h: float
    reason: str = ""
    linear_error_k: float = math.nan


class _QuasiSteady(ThermalMode):
    """The heat field at a frozen flow, iterated with the controls to the step's steady
    state. Subclasses choose the flow state, evaluate the field and may check it."""

    def choose(self, hall, want, q_air, ts, current: FlowState | None) -> FlowState:
        """The flow state for device flows ``want`` (rack heats ``q_air`` and supply ``ts``
        for a new solve): ``current`` while it fits, else a kept or a new one."""
        raise NotImplementedError

    def max_iterations(self, settings) -> int:
        """Most evaluations of the control iteration within a step."""
        raise NotImplementedError

    def evaluate(self, hall, st: FlowState, x) -> tuple[np.ndarray, dict | None]:
        """Intake-face temperatures at inputs ``x`` and the solve's budget (or None)."""
        raise NotImplementedError

    def rechoose(self, hall, st: FlowState, want, q_air, ts, switches: int) -> FlowState | None:
        """Another flow state after the iteration (None: keep ``st``)."""
        return None

    def check(self, hall, inp: StepInput, st: FlowState, it: _Iteration) -> _Check:
        """Check the iteration's field (may replace ``it.y`` and ``it.budget``)."""
        st0 = hall.state
        return _Check(verified_h=st0.last_verify_h, interval_h=float(st0.verify_interval_h))

    def recorded_mode(self, check: _Check) -> str:
        return self.name

    def step(self, hall, inp):
        st0 = hall.state
        cur = st0.working_copy()
        active = hall.flows.by_key(st0.active)
        rm = hall.rack_models(inp.u, cur.tin, cur.coolant, active)
        want, _ = hall.desired_flows(rm.flow_m3_s, rm.cabinet_ratio)
        st = self.choose(hall, want, rm.air_w, cur.ts_deliv, active)
        switches = 0
        while True:
            it = self._iterate(hall, inp, st, cur)
            # flows after the iteration: another flow state if they moved out of tolerance
            rm_end = hall.rack_models(inp.u, cur.tin, cur.coolant, st)
            want, _ = hall.desired_flows(rm_end.flow_m3_s, rm_end.cabinet_ratio)
            other = self.rechoose(hall, st, want, rm_end.air_w, cur.ts_deliv, switches)
            if other is None:
                break
            st, switches = other, switches + 1

        # recorded: the inputs of the last thermal evaluation and its outputs
        check = self.check(hall, inp, st, it)
        mean, mx = hall.device_stats(it.y)
        lim_checked = (np.asarray(it.lim, bool).copy() if check.verified_h == inp.t_mid_h
                       else st0.lim_checked.copy())
        nxt = LoopState(tin=mean[hall.rack_dev].copy(), ts_set=cur.ts_set.copy(),
                        ts_deliv=it.x[hall.n_r:].copy(), coolant=cur.coolant.copy(),
                        active=st.key, last_verify_h=check.verified_h, lim_checked=lim_checked,
                        verify_interval_h=check.interval_h)
        return StepOutcome(mode=self.recorded_mode(check), reason=check.reason,
                           iterations=it.iterations, converged=it.converged,
                           linear_error_k=check.linear_error_k, flow=st, racks=it.racks, x=it.x,
                           mean=mean, mx=mx, setpoint=it.setpoint, budget=it.budget, state=nxt)

    def _iterate(self, hall, inp, st: FlowState, cur: LoopState) -> _Iteration:
        """Rack models, heat field, supply control, coils and CDUs at the flow of ``st``
        until nothing moves by ``control_tol_k``; ``cur`` is updated in place."""
        s = hall.sim.settings
        flow_c = st.flows[hall.cooler_dev]
        speed_c = flow_c / np.where(hall.cooler_design_flow > 0, hall.cooler_design_flow, 1.0)
        speed = float(speed_c.mean()) if hall.n_c else 1.0
        for n in range(1, self.max_iterations(s) + 1):
            rm = hall.rack_models(inp.u, cur.tin, cur.coolant, st)
            x = np.concatenate([rm.air_w, cur.ts_deliv])
            y, budget = self.evaluate(hall, st, x)
            mean, _ = hall.device_stats(y)
            tin = mean[hall.rack_dev]
            # controls on what x produced, then the coils at the new set-point (so the
            # next evaluation sees it: one iteration of delay, no oscillation)
            ts_set = hall.control(float(tin.max()) if hall.n_r else 0.0, cur.ts_set, speed)
            deliv, lim = hall.coils_fast(flow_c, mean[hall.cooler_dev], ts_set)
            coolant = hall.cdu_states(rm.liquid_w, inp.fw_supply_c)[4]
            change = max(_maxabs(tin - cur.tin), _maxabs(ts_set - cur.ts_set),
                         _maxabs(deliv - cur.ts_deliv), _maxabs(coolant - cur.coolant))
            it = _Iteration(racks=rm, x=x, y=y, budget=budget, setpoint=cur.ts_set, lim=lim,
                            iterations=n)
            cur.tin, cur.ts_set, cur.ts_deliv, cur.coolant = tin, ts_set, deliv, coolant
            if change < s.control_tol_k:
                it.converged = True
                break
        return it


class LinearMode(_QuasiSteady):
    """Exact linear response at frozen flows, checked by direct solves (see the module)."""

    name = "linear"

    #: Longest interval between checks of the linear response [h] (it doubles from
    #: ``verify_every_h`` after every check better than a quarter of ``linear_tol_k``).
    MAX_VERIFY_INTERVAL_H = 168.0

    def choose(self, hall, want, q_air, ts, current):
        tol = hall.sim.settings.flow_tol_frac
        if current is not None and flow_dev(current.flows, want) <= tol:
            return current
        found = hall.flows.find(want, tol)
        if found is not None:
            if found.K is None:
                hall.build_response(found, found.x0, found.y0)
            return found
        return hall.new_state(want, np.concatenate([q_air, ts]), True, hall.flows.nearest(want))

    def max_iterations(self, settings):
        return settings.max_inner_iterations

    def evaluate(self, hall, st, x):
        return st.y0 + st.K @ (x - st.x0), None

    def rechoose(self, hall, st, want, q_air, ts, switches):
        if switches < 1 and flow_dev(st.flows, want) > hall.sim.settings.flow_tol_frac:
            return self.choose(hall, want, q_air, ts, st)
        return None

    def check(self, hall, inp, st, it):
        s = hall.sim.settings
        st0 = hall.state
        out = super().check(hall, inp, st, it)
        mean, _ = hall.device_stats(it.y)
        x, q = it.x, it.racks.air_w
        out_of_range = bool(np.any(q < -1e-9)
                            or np.any(q > 1.5 * np.maximum(hall.rack_design_air_w, 1.0)))
        returns_low = bool(np.any(mean[hall.cooler_dev] < x[hall.n_r:] - 1e-6))
        # rear doors carry the room (every unit's return under its set-point; the doors
        # held to the room's heat, HallModel._hold_doors): the units' returns sit a little
        # over their supply, and a response column that moves a unit's supply by 1 K
        # shuts its coil (a coil never heats): not linear, a direct solve
        doors_carry = bool(hall.has_doors and hall.n_c
                           and np.all(mean[hall.cooler_dev] < np.asarray(it.setpoint, float)))
        # a coil short of capacity enters the field through its warmer delivered supply,
        # an input of the response: check directly when the set of short coils changes
        coil_limited = bool(np.any(np.asarray(it.lim, bool) != st0.lim_checked))
        # the response's supply columns may have shut a coil (no base with every coil
        # open was found, HallModel._column_base): not trusted, a direct solve
        unsure = not st.info.get("columns_open", True)
        interval = out.interval_h
        verify_due = (s.verify_every_h > 0
                      and inp.t_mid_h - st0.last_verify_h >= interval - 1e-9)
        why = [w for w, c in (("coil limit changed", coil_limited),
                              ("heat outside the linear range", out_of_range),
                              ("return below supply", returns_low),
                              ("rear doors carry the room", doors_carry),
                              ("response columns near a shut coil", unsure),
                              ("snapshot", inp.snapshot),
                              ("verification", verify_due)) if c]
        if not why:
            return out
        it.y, it.budget = hall.direct(st, x)
        lin_err = float(np.max(np.abs(hall.device_stats(it.y)[0] - mean)))
        out.verified_h, out.reason, out.linear_error_k = inp.t_mid_h, ", ".join(why), lin_err
        if lin_err > s.linear_tol_k:
            hall.sim.note(f"step {inp.k} hall {hall.name}: linear response off by {lin_err:.3f} K "
                          f"(> {s.linear_tol_k} K); rebuilt around the current state")
            hall.build_response(st, x, it.y)
            out.interval_h = s.verify_every_h
        elif lin_err < 0.25 * s.linear_tol_k:
            out.interval_h = min(2.0 * interval,
                                 max(s.verify_every_h, self.MAX_VERIFY_INTERVAL_H))
        if coil_limited or out_of_range or returns_low or doors_carry or unsure:
            hall.sim.counters["fallback_steps"] += 1
            hall.sim.note(f"hall {hall.name}: outside the linear range ("
                          + ", ".join(w for w in why if w not in ("snapshot", "verification"))
                          + "): the step's heat field is a direct solve", step=inp.k)
        return out

    def recorded_mode(self, check):
        return "direct" if check.reason else self.name


class DirectMode(_QuasiSteady):
    """A flow solve when the airflow changes, a direct heat solve at every evaluation."""

    name = "direct"
    replaces_states = True

    def choose(self, hall, want, q_air, ts, current):
        if current is not None and flow_dev(current.flows, want) <= 1e-9:
            return current
        warm = current if current is not None else hall.flows.nearest(want)
        return hall.new_state(want, np.concatenate([q_air, ts]), False, warm)

    def max_iterations(self, settings):
        return settings.direct_inner_iterations

    def evaluate(self, hall, st, x):
        return hall.direct(st, x)


# ==================================================================================== transient
class TransientMode(ThermalMode):
    """The solver runs for the step (time-accurate); its evolving state becomes the flow
    state; the controls take one sampled step. Cabinet leak shares that follow the
    pressure (:meth:`HallModel.leak_shares_at`) take the ports' pressure at the end of the
    step (``kernels.budget.port_pressures_pa``) for the next one."""

    name = "transient"
    replaces_states = True

    def step(self, hall, inp):
        st0 = hall.state
        cur = st0.working_copy()
        st = hall.flows.by_key(st0.active)
        rm = hall.rack_models(inp.u, cur.tin, cur.coolant, st)
        want, speed = hall.desired_flows(rm.flow_m3_s, rm.cabinet_ratio)
        x = np.concatenate([rm.air_w, cur.ts_deliv])
        if st is None:
            st = hall.new_state(want, x, False, None)
            rm = hall.rack_models(inp.u, cur.tin, cur.coolant, st)    # on its fan line
            want, speed = hall.desired_flows(rm.flow_m3_s, rm.cabinet_ratio)
            x = np.concatenate([rm.air_w, cur.ts_deliv])
        hall.load_fields(st)
        hall.solver.set_devices(hall.devices(want, x))
        hall.solver.run(hall.sim.settings.step_s)
        hall.sim.counters["transient_steps"] += 1
        y = hall.faces_from_solver()
        budget = hall.solver.energy_budget()
        mean, mx = hall.device_stats(y)
        deliv, lim = hall.coils_fast(want[hall.cooler_dev], mean[hall.cooler_dev], cur.ts_set)
        ts_new = hall.control(float(mean[hall.rack_dev].max()) if hall.n_r else 0.0, cur.ts_set,
                              speed, sampled=True)
        coolant = hall.cdu_states(rm.liquid_w, inp.fw_supply_c)[4]
        info = {k: st.info[k] for k in ("fan_line",) if k in st.info}   # the last solve's
        if hall.leaks_follow:
            # the cabinets' leak shares follow the pressure the flow has now
            from kernels.budget import port_pressures_pa
            info["leak_dp_pa"] = hall.cabinet_pressure(want, port_pressures_pa(hall.solver))
        st2 = FlowState(key=digest(st.key, inp.k), flows=np.asarray(want, float),
                        fields=hall.capture(), x0=x, y0=y, sid=hall.flows.new_sid(),
                        info=info)
        hall.adopt(st2)
        nxt = LoopState(tin=mean[hall.rack_dev].copy(), ts_set=ts_new, ts_deliv=deliv,
                        coolant=coolant, active=st2.key, last_verify_h=st0.last_verify_h,
                        lim_checked=np.asarray(lim, bool).copy(),
                        verify_interval_h=st0.verify_interval_h)
        return StepOutcome(mode=self.name, reason="", iterations=1, converged=True,
                           linear_error_k=math.nan, flow=st2, racks=rm, x=x, mean=mean, mx=mx,
                           setpoint=cur.ts_set, budget=budget, state=nxt)


# ==================================================================================== registry
#: The thermal modes by name, in the order they are offered.
MODES: dict[str, ThermalMode] = {m.name: m for m in (LinearMode(), DirectMode(), TransientMode())}

#: Names of the thermal modes (the settings' and the CLI's choices).
THERMAL_MODES = tuple(MODES)


def mode_for(name: str) -> ThermalMode:
    """The registered mode ``name`` (the settings check the name first)."""
    return MODES[name]


def _maxabs(a) -> float:
    a = np.asarray(a, float)
    return float(np.max(np.abs(a))) if a.size else 0.0
