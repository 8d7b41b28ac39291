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

Cabinets may leak and carry rear doors (:mod:`twin.thermal.cabinet`): the room sees the
cabinet, the rack model the servers inside it.

A rack type may give its fans' active flow curve (``fan_curve_pa``:
:class:`twin.models.fans.FanCurve`): its servers then move the airflow where that curve
meets the static pressure the hall imposes across the cabinet (the solved field's mean
pressure in front of its back minus in front of its face, plus a passive rear door's
drop), found by :func:`settle_racks` with the flow field (:func:`fan_step`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from common.fluids import Fluid
from twin.models.fans import (FAN_RELAX, REPORT_BELOW_FRAC, FanCurve, fan_power_at, internal_dp_pa,
                              operating_point)
from twin.models.it_load import RACK_SPECS, RackSpec, rack_power
from twin.thermal.cabinet import (cabinet_dp_pa, door_air, door_spec_for, hold_doors, leak_shares,
                                  server_inlet_fixed_point)

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
    utilisation [-] (``RackSpec`` of each, in device order), their cabinets' leakage
    (``recirculation``, ``bypass``: :func:`cabinet_air`; ``None``: none), the servers'
    design airflow ``design_flow_m3_s`` (``None``: the specs'), their rear doors
    (``doors``: a :class:`~twin.models.reardoor.RearDoorSpec` or ``None`` per rack), their
    fans' active flow curves (``fan_curves``: a :class:`~twin.models.fans.FanCurve` or
    ``None`` per rack) and the air's ``rho_cp_j_m3k``."""

    names: tuple
    device_index: np.ndarray
    specs: tuple
    utilization: np.ndarray
    recirculation: np.ndarray | None = None
    bypass: np.ndarray | None = None
    design_flow_m3_s: np.ndarray | None = None
    doors: tuple | None = None
    rho_cp_j_m3k: float = Fluid().rho_cp
    fan_curves: tuple | None = None
    leak_dp_pa: np.ndarray | None = None

    @property
    def has_doors(self) -> bool:
        return self.doors is not None and any(d is not None for d in self.doors)

    @property
    def has_fans(self) -> bool:
        return self.fan_curves is not None and any(c is not None for c in self.fan_curves)

    def server_design_flow_m3_s(self) -> np.ndarray:
        """The servers' design airflow of every rack [m3/s]."""
        if self.design_flow_m3_s is not None:
            return np.asarray(self.design_flow_m3_s, dtype=float)
        return np.array([s.design_airflow_m3_s for s in self.specs], dtype=float)

    @property
    def leaks_follow_pressure(self) -> bool:
        """Whether some leaky cabinet's shares follow the hall's pressure (``leak_dp_pa``)."""
        if self.leak_dp_pa is None:
            return False
        r, b = self.leakage()
        dp_d = np.asarray(self.leak_dp_pa, dtype=float)
        return bool(np.any(np.isfinite(dp_d) & (dp_d > 0) & ((r > 0) | (b > 0))))

    def leakage(self, hall_dp_pa=None) -> tuple[np.ndarray, np.ndarray]:
        """``(recirculation, bypass)`` of every rack [-] (zeros where not given): as stated,
        or, given the hall's back-over-face pressure difference ``hall_dp_pa`` [Pa] per
        rack, at that pressure where the rack type gives ``cabinet_leak_dp_pa``
        (:func:`leak_shares`)."""
        zero = np.zeros(len(self.names))
        r = zero if self.recirculation is None else np.asarray(self.recirculation, float)
        b = zero if self.bypass is None else np.asarray(self.bypass, float)
        if hall_dp_pa is None or self.leak_dp_pa is None:
            return r, b
        return leak_shares(r, b, hall_dp_pa, self.leak_dp_pa)

    def response(self, inlet_temp_c, design_flow: bool = False, cabinet_flow_m3_s=None,
                 air_w=None, fan_frac=None, fan_dp_pa=None, hall_dp_pa=None) -> dict:
        """The rack model at the given cabinet-face temperatures [degC]: ``power_w``,
        ``air_w`` (heat to the air), ``flow_m3_s`` (server airflow), ``work`` (done over
        asked, 1 unless throttled), ``fan_w``, ``server_inlet_c`` (what the servers draw,
        with the cabinet's recirculation: :func:`cabinet_air`) and ``cabinet_flow_m3_s``
        (what the cabinet draws from the room). ``design_flow``: the servers move their
        design airflow whatever their inlet (``--racks design``). With rear doors, the
        keys of :func:`door_air` too, the doors at the cabinets' airflow
        ``cabinet_flow_m3_s`` (default: the answer's), and ``room_w``, the heat the room
        gets (``air_w`` without doors). ``air_w`` given: fixed racks of that heat to air
        (only the doors respond). ``fan_frac``: the servers' airflow as a share of the
        rack model's at their inlet (its free delivery, ``free_flow_m3_s``; the fan
        curves' operating point, :func:`fan_step`), 1 for every rack by default;
        ``fan_dp_pa`` (per rack, the pressure difference across the cabinet there): the
        servers' fan power follows that operating point
        (:func:`twin.models.fans.fan_power_at`), and the power and heat with it.
        ``hall_dp_pa`` (per rack, the field's back-over-face pressure difference): the
        cabinets' leak shares at it (:meth:`leakage`, :func:`leak_shares`), returned as
        ``recirculation_frac`` and ``bypass_frac``."""
        tin = np.asarray(inlet_temp_c, dtype=float)
        if air_w is not None:
            out = {"air_w": np.asarray(air_w, dtype=float).copy()}
            flows = np.asarray(cabinet_flow_m3_s, dtype=float)
            out.update(door_air(tin, out["air_w"], flows, self.doors or (None,) * len(tin),
                                self.rho_cp_j_m3k))
            return out
        rec, byp = self.leakage(hall_dp_pa)
        out = {k: np.zeros(len(self.names)) for k in (
            "power_w", "air_w", "flow_m3_s", "work", "fan_w", "server_inlet_c",
            "cabinet_flow_m3_s", "free_flow_m3_s")}
        out["recirculation_frac"], out["bypass_frac"] = rec.copy(), byp.copy()
        for n, spec in enumerate(self.specs):
            u = self.utilization[n]
            fixed = None
            if design_flow:
                fixed = (spec.design_airflow_m3_s if self.design_flow_m3_s is None
                         else float(self.design_flow_m3_s[n]))
            share = 1.0 if fan_frac is None else float(fan_frac[n])
            dp = None if (fan_dp_pa is None or fixed is not None) else float(fan_dp_pa[n])
            dp_i = float(internal_dp_pa(spec.design_fan_power_w, spec.design_airflow_m3_s))

            def model(t, spec=spec, u=u, fixed=fixed, share=share, dp=dp, dp_i=dp_i):
                r = rack_power(u, t, spec)
                d_w = 0.0
                if dp is not None:
                    s_fan = float(r.airflow_m3_s) / spec.design_airflow_m3_s
                    d_w = float(fan_power_at(r.fan_power_w, s_fan, s_fan * share, dp,
                                             dp_i)) - float(r.fan_power_w)
                return r, (r.airflow_m3_s * share if fixed is None else fixed), d_w
            t_srv = float(tin[n])
            f_air = 1.0 - spec.liquid_capture_fraction
            if rec[n] > 0.0:
                def rise(t, model=model, spec=spec, f_air=f_air):
                    r, v, d_w = model(t)
                    return float(r.heat_to_air_w + f_air * d_w) / (spec.air_rho_cp_j_m3k * v)
                t_srv = server_inlet_fixed_point(t_srv, rec[n] / (1.0 - rec[n]), rise)
            r, v, d_w = model(t_srv)
            out["power_w"][n] = r.power_w + d_w
            out["air_w"][n] = r.heat_to_air_w + f_air * d_w
            out["flow_m3_s"][n] = v
            out["free_flow_m3_s"][n] = r.airflow_m3_s if fixed is None else fixed
            out["work"][n] = r.work_fraction
            out["fan_w"][n] = r.fan_power_w + d_w
            out["server_inlet_c"][n] = t_srv
            out["cabinet_flow_m3_s"][n] = v * (1.0 - rec[n]) / (1.0 - byp[n])
        flows = out["cabinet_flow_m3_s"] if cabinet_flow_m3_s is None else np.asarray(
            cabinet_flow_m3_s, dtype=float)
        out.update(door_air(tin, out["air_w"], flows, self.doors or (None,) * len(tin),
                            self.rho_cp_j_m3k))
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
    racks = [placed[n] for n in names]
    return HallRacks(tuple(names), np.array(index, dtype=np.int64), tuple(specs),
                     np.array(util, dtype=float),
                     recirculation=np.array([r.recirculation_frac for r in racks], dtype=float),
                     bypass=np.array([r.bypass_frac for r in racks], dtype=float),
                     design_flow_m3_s=np.array([r.flow_m3_s for r in racks], dtype=float),
                     doors=tuple(door_spec_for(facility, r) for r in racks),
                     rho_cp_j_m3k=rho_cp,
                     fan_curves=tuple(fan_curve_for(r) for r in racks),
                     leak_dp_pa=np.array([np.nan if getattr(r.rack_type, "cabinet_leak_dp_pa",
                                                            None) is None
                                          else float(r.rack_type.cabinet_leak_dp_pa)
                                          for r in racks], dtype=float))


def fan_curve_for(rack) -> FanCurve | None:
    """The :class:`~twin.models.fans.FanCurve` of a placed rack's type (``None``: the rack
    moves the rack model's airflow whatever the pressure)."""
    pts = getattr(rack.rack_type, "fan_curve_pa", None)
    if not pts:
        return None
    return FanCurve(tuple(float(q) for q, _ in pts), tuple(float(p) for _, p in pts),
                    name=rack.type_name)


#: Per-rack keys :func:`fan_step` adds to the rack model's answer (zeros, and ``flow /
#: free flow`` 1, for racks without a fan curve).
FAN_KEYS = ("back_pressure_pa", "hall_dp_pa", "airflow_design_frac", "airflow_free_frac",
            "fan_shutoff")


def fan_step(racks: HallRacks, response: dict, field_flow_m3_s, hall_dp_pa, history: list,
             relax: float = FAN_RELAX, shares=None) -> dict:
    """One update of the racks' fan operating points after a flow solve.

    For every rack with a fan curve: the servers' airflow in the field ``q_f`` (as a share
    of their design airflow ``V_d``, from the cabinet's ``field_flow_m3_s`` through its
    leakage, :func:`cabinet_air`), the back pressure it met, ``dp = hall_dp_pa`` (the
    field's mean pressure in front of the cabinet's back minus in front of its face) plus
    a passive rear door's drop at that flow (``door_dp_pa``; an active door's fans are
    taken to carry their own coil), and the fans' speed ``s = V_free / V_d`` (the rack
    model's airflow at the servers' inlet, ``free_flow_m3_s``). The hall's response is
    the line through the last two ``(q, dp)`` of the rack (``history``, one list per
    rack, appended to), or, at the first solve, ``dp (q / q_f)^2`` (a resistance the
    rack drives itself: slope ``2 dp / q_f``; none when ``dp`` <= 0); its crossing with
    the curve (:func:`twin.models.fans.operating_point`) is approached by ``relax``:
    ``q = q_f + relax (q_op - q_f)``. ``shares``: the ``(recirculation, bypass)`` the
    cabinets' ``field_flow_m3_s`` was set with (default: as stated, :meth:`HallRacks.leakage`).

    Returns ``fan_frac`` (the servers' new airflow over ``V_free``, for
    :meth:`HallRacks.response`), ``move`` (largest ``|q - q_f| / q_f`` over the racks
    with a curve) and the arrays ``back_pressure_pa``, ``hall_dp_pa``, ``fan_shutoff``
    and ``op_dp_pa`` (the pressure difference on the line at the new airflow, where the
    servers' fan power is taken: :meth:`HallRacks.response` ``fan_dp_pa``).
    """
    n = len(racks.names)
    # the servers' flow from the cabinet's, through the leak shares it was set with
    rec, byp = racks.leakage() if shares is None else shares
    v_d = racks.server_design_flow_m3_s()
    frac = np.ones(n)
    back = np.zeros(n)
    op_dp = np.zeros(n)
    shut = np.zeros(n)
    move = 0.0
    for k in range(n):
        curve = racks.fan_curves[k] if racks.fan_curves is not None else None
        if curve is None:
            continue
        q_f = float(field_flow_m3_s[k]) * (1.0 - byp[k]) / (1.0 - rec[k]) / v_d[k]
        door = racks.doors[k] if racks.doors is not None else None
        dp = float(hall_dp_pa[k]) + (float(response["door_dp_pa"][k])
                                    if door is not None and door.kind == "passive" else 0.0)
        s = float(response["free_flow_m3_s"][k]) / v_d[k]
        pts = history[k]
        slope = 2.0 * dp / q_f if dp > 0 else 0.0
        if pts and abs(pts[-1][0] - q_f) > 1e-6 * q_f:
            slope = (dp - pts[-1][1]) / (q_f - pts[-1][0])
        pts.append((q_f, dp))
        op = operating_point(curve, s, dp, q_f, slope)
        q = q_f + relax * (op["flow_frac"] - q_f)
        frac[k] = q / s
        op_dp[k] = dp + max(slope, 0.0) * (q - q_f)
        back[k] = dp
        shut[k] = 1.0 if op["shutoff"] else 0.0
        move = max(move, abs(q - q_f) / q_f)
    return {"fan_frac": frac, "move": move, "back_pressure_pa": back, "op_dp_pa": op_dp,
            "hall_dp_pa": np.asarray(hall_dp_pa, dtype=float), "fan_shutoff": shut}


def fan_report(racks: HallRacks, response: dict, step: dict | None) -> dict:
    """The :data:`FAN_KEYS` of every rack from the rack model's ``response`` and the last
    :func:`fan_step` (``None``: no back pressure found yet)."""
    n = len(racks.names)
    flow = np.asarray(response["flow_m3_s"], dtype=float)
    free = np.asarray(response["free_flow_m3_s"], dtype=float)
    out = {"airflow_design_frac": flow / racks.server_design_flow_m3_s(),
           "airflow_free_frac": np.where(free > 0, flow / np.where(free > 0, free, 1.0), 1.0)}
    for key in ("back_pressure_pa", "hall_dp_pa", "fan_shutoff"):
        out[key] = np.zeros(n) if step is None else np.asarray(step[key], dtype=float).copy()
    return out


def starved_racks(racks: HallRacks, response: dict) -> list[dict]:
    """Racks with a fan curve that move less than
    :data:`twin.models.fans.REPORT_BELOW_FRAC` of their fans' free delivery: ``name``,
    ``airflow_free_frac``, ``airflow_design_frac``, ``back_pressure_pa``, ``fan_shutoff``."""
    if not racks.has_fans or response is None or "airflow_free_frac" not in response:
        return []
    out = []
    for k, name in enumerate(racks.names):
        if racks.fan_curves[k] is None or response["airflow_free_frac"][k] >= REPORT_BELOW_FRAC:
            continue
        out.append({"name": name, **{key: float(response[key][k]) for key in (
            "airflow_free_frac", "airflow_design_frac", "back_pressure_pa", "fan_shutoff")}})
    return out


def settle_racks(solver, racks: HallRacks, model: str = "ite", flow_tol_frac: float = 0.10,
                 heat_tol_frac: float = 0.005, max_rounds: int = 12, progress=None,
                 fan_tol_frac: float = 0.02) -> dict:
    """Bring a solved hall to the rack model's fixed point.

    Each round reads the intakes, evaluates the rack model (at the servers' inlet, with
    the cabinet's leakage), and updates the rack devices: the heat (relaxed by one half
    against oscillation) through the exact steady heat solve at the current flow
    (``Solver.finish_energy``), and, under ``model="ite"``, the cabinet's airflow through a
    new steady solve when any rack's airflow differs by more than ``flow_tol_frac`` from
    the one the field was solved with. Stops when no rack's heat
    moves more than ``heat_tol_frac``. ``model="fixed"`` leaves the racks alone (but for
    their rear doors, which follow the intakes). With rear doors the device's heat is the
    heat the room gets (``room_w``: :func:`door_air`), and a last heat solve puts the
    answer's heats in the field exactly. The doors are held to the room's heat
    (:func:`hold_doors`, the rule ``twin run`` applies at every step): the room air keeps
    at least :data:`DOOR_ROOM_FLOOR_FRAC` of the racks' design heat to air, counting the
    envelope's sources the solver holds, so that no cooling unit would have to heat;
    ``info["doors_held"]`` says whether the last answer was held.

    Racks with a fan curve (``racks.fan_curves``; ``model="ite"`` and a finite
    ``flow_tol_frac`` only): after every flow solve their airflow moves towards the
    operating point at the pressure that solve found (``solver.port_pressure_pa``,
    :func:`fan_step`), and the flow is solved again while it moves more than
    ``fan_tol_frac``; the answer then carries :data:`FAN_KEYS` and ``info["fans"]``
    the racks below their free delivery (:func:`starved_racks`). At least 20 rounds.

    Leaky cabinets whose rack type gives ``cabinet_leak_dp_pa`` (``racks.leak_dp_pa``;
    not under ``model="fixed"``): their recirculation and bypass shares follow the
    back-over-face pressure difference of the last flow solve, plus a passive rear door's
    drop (:func:`leak_shares`); the
    answer carries the shares (``recirculation_frac``, ``bypass_frac``) and that pressure
    (``leak_hall_dp_pa``), and the flow is solved again when the cabinets' airflow moves
    more than ``flow_tol_frac`` with them.

    Returns ``rounds``, ``flow_solves``, ``heat_change_frac`` (largest relative change of
    the last round), ``settled``, ``steps`` (pseudo-steps of the flow solves), the last
    flow solve's ``run`` (or ``None``) and the rack model's answer (``response``).
    """
    if model not in RACK_MODELS:
        raise ValueError(f"rack model {model!r}: one of {', '.join(RACK_MODELS)}")
    info = {"model": model, "rounds": 0, "flow_solves": 0, "heat_change_frac": 0.0,
            "settled": True, "steps": 0, "run": None, "response": None, "fans": [],
            "doors_held": False}
    if not racks.names or (model == "fixed" and not racks.has_doors):
        return info
    ix = racks.device_index
    fans = (model == "ite" and racks.has_fans and np.isfinite(flow_tol_frac))
    fan_frac = np.ones(len(racks.names))
    fan_last = None
    history = [[] for _ in racks.names]
    fresh = fans and solver.port_pressure_pa is not None
    if fans:
        max_rounds = max(max_rounds, 20)
    # leak shares that follow the pressure (leak_shares): at the last flow solve's
    leaks = model != "fixed" and racks.leaks_follow_pressure

    def hall_dp():
        # the field's back over face, plus a passive rear door's drop (cabinet_dp_pa,
        # the rule twin run applies too)
        p = solver.port_pressure_pa
        if not leaks or p is None:
            return None
        return cabinet_dp_pa(p, ix, [solver.devices[i].flow_m3_s for i in ix], racks.doors)
    leak_dp = hall_dp()
    flow_shares = racks.leakage()       # those the devices' cabinet flows were set with
    # fixed racks keep the heat they were meshed with; only their doors respond
    fixed_air = (np.array([solver.devices[i].heat_w for i in ix]) if model == "fixed"
                 else None)

    design_air = float(sum(sp.nameplate_power_w * (1.0 - sp.liquid_capture_fraction)
                           for sp in racks.specs))

    def answer(devices):
        flows = np.array([devices[i].flow_m3_s for i in ix]) if racks.has_doors else None
        res = racks.response(solver.dev_tin[ix], design_flow=model == "design",
                             cabinet_flow_m3_s=flows, air_w=fixed_air,
                             fan_frac=fan_frac if fans else None,
                             fan_dp_pa=(fan_last["op_dp_pa"] if fans and fan_last is not None
                                        else None),
                             hall_dp_pa=leak_dp)
        if leak_dp is not None:
            res["leak_hall_dp_pa"] = np.asarray(leak_dp, dtype=float).copy()
        if racks.has_doors:
            # the doors held to the room's heat, the walls as the solver holds them
            env = sum(s.power_w for s in solver.problem.sources if "/envelope/" in s.name)
            res["room_w"], res["door_w"], held = hold_doors(res["room_w"], res["door_w"],
                                                            env, design_air)
            info["doors_held"] = held
        return res
    info["settled"] = False
    for rnd in range(1, max_rounds + 1):
        devices = list(solver.devices)
        res = answer(devices)
        old_air = np.array([devices[i].heat_w for i in ix])
        old_flow = np.array([devices[i].flow_m3_s for i in ix])
        fan_move = 0.0
        if fresh:
            # the operating points at the pressure the last flow solve found
            p = solver.port_pressure_pa
            fan_last = fan_step(racks, res, old_flow, p[1, ix] - p[0, ix], history,
                                shares=flow_shares)
            fan_frac, fan_move, fresh = fan_last["fan_frac"], fan_last["move"], False
            res = answer(devices)
        if fans:
            res.update(fan_report(racks, res, fan_last))
        change = float(np.max(np.abs(res["room_w"] - old_air) / np.maximum(old_air, 1.0)))
        resolve = False
        if model == "ite":
            flow_move = np.abs(res["cabinet_flow_m3_s"] - old_flow) / np.maximum(old_flow, 1e-9)
            resolve = float(np.max(flow_move)) > flow_tol_frac or fan_move > fan_tol_frac
        info.update(rounds=rnd, heat_change_frac=change, response=res)
        if change <= heat_tol_frac and not resolve:
            info["settled"] = True
            break
        air = old_air + 0.5 * (res["room_w"] - old_air) if rnd > 1 else res["room_w"]
        for k, i in enumerate(ix):
            d = devices[i]
            devices[i] = replace(d, heat_w=float(air[k]), flow_m3_s=float(
                res["cabinet_flow_m3_s"][k]) if resolve else d.flow_m3_s)
        solver.set_devices(devices)
        if resolve:
            if "recirculation_frac" in res:
                flow_shares = (res["recirculation_frac"], res["bypass_frac"])
            run = solver.solve_steady(progress=progress)
            info["flow_solves"] += 1
            info["steps"] += int(run.iterations)
            info["run"] = run
            fresh = fans and solver.port_pressure_pa is not None
            leak_dp = hall_dp()
        else:
            solver.finish_energy()
    if racks.has_doors:
        # the field at exactly the answer's heats (no relaxation left), so that every
        # cabinet's heat to the room and to its door add up to its heat, rack by rack
        devices = list(solver.devices)
        res = answer(devices)
        if fans:
            res.update(fan_report(racks, res, fan_last))
        for k, i in enumerate(ix):
            devices[i] = replace(devices[i], heat_w=float(res["room_w"][k]))
        solver.set_devices(devices)
        solver.finish_energy()
        info["response"] = res
    if fans and info["response"] is not None:
        info["fans"] = starved_racks(racks, info["response"])
    return info
