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

A cabinet may leak (:func:`cabinet_air`): part of the servers' exhaust flows back to their
intake inside it (missing blanking panels) and part of the air it draws passes beside the
servers. The room (the CFD) sees the cabinet: its face draws and its back releases the
cabinet's airflow, heated by the whole heat to air; the rack model sees the servers, at
the server inlet that follows from the cabinet's face temperature.

A cabinet may have a rear-door heat exchanger (:func:`door_air`,
:func:`twin.models.reardoor.rear_door`): the cabinet's exhaust crosses the door's water
coil, which takes ``Q_door`` to its water loop; the room sees the exhaust cooled, the
device's heat to air being ``P_air + P_fans - Q_door`` (``room_w``).

A rack type may give its fans' active flow curve (``fan_curve_pa``:
:class:`twin.models.fans.FanCurve`): its servers then move the airflow where that curve
meets the static pressure the hall imposes across the cabinet (the solved field's mean
pressure in front of its back minus in front of its face, plus a passive rear door's
drop), found by :func:`settle_racks` with the flow field (:func:`fan_step`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from common.fluids import WATER_CP_J_KG_K, WATER_DENSITY_KG_M3, Fluid
from twin.models.fans import (FAN_RELAX, REPORT_BELOW_FRAC, FanCurve, fan_power_at, internal_dp_pa,
                              operating_point)
from twin.models.it_load import RACK_SPECS, RackSpec, rack_power
from twin.models.reardoor import RearDoorSpec, rear_door

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


def cabinet_air(face_temp_c, air_w, server_flow_m3_s, recirculation_frac, bypass_frac,
                rho_cp_j_m3k: float = Fluid().rho_cp) -> dict:
    """The air inside a leaky cabinet at steady state (a mixing balance).

    Parameters
    ----------
    face_temp_c : array_like
        Mean temperature of the air at the cabinet's intake face [degC] (what the CFD gives).
    air_w : array_like
        The servers' heat to air [W].
    server_flow_m3_s : array_like
        Air through the servers [m3/s] (the rack model's airflow).
    recirculation_frac : array_like
        ``r``: share of the servers' exhaust that flows back to their intake inside the
        cabinet (open U space without blanking panels, gaps under and over the servers),
        0 <= r < 1.
    bypass_frac : array_like
        ``b``: share of the air the cabinet draws at its face that passes beside the
        servers (gaps between rails and side panels) to the back, 0 <= b < 1.
    rho_cp_j_m3k : float
        ``rho * cp`` of the air [J/(m3 K)].

    Returns
    -------
    dict
        ``server_inlet_c`` ``T_s``, ``server_exhaust_c`` ``T_e``, ``cabinet_exhaust_c``
        ``T_x`` (mean at the back face), ``cabinet_flow_m3_s`` ``V_c`` [m3/s].

    Notes
    -----
    With ``V_s`` the servers' flow and ``dT = P / (rho cp V_s)`` their rise, mass at the
    server intake and at the back: ``(1 - b) V_c + r V_s = V_s``, so
    ``V_c = V_s (1 - r) / (1 - b)``. Energy at the server intake,
    ``T_s = (1 - r) T_face + r T_e`` with ``T_e = T_s + dT``, gives
    ``T_s = T_face + r / (1 - r) dT`` and ``T_e = T_face + dT / (1 - r)``; the exhaust and
    the bypass mix at the back, ``V_c T_x = (1 - r) V_s T_e + b V_c T_face``, so
    ``T_x = T_face + P / (rho cp V_c)``: the cabinet releases exactly the servers' heat,
    and the room sees a black box of flow ``V_c`` (``kernels.Device``). Recirculation
    lowers the cabinet's draw and heats the servers' inlet; bypass raises the draw and
    cools the exhaust, not the servers.

    Sources: the inlet rise from exhaust recirculating inside a cabinet without blanking
    panels is described and measured in N. Rasmussen, *Improving Rack Cooling Performance
    Using Airflow Management Blanking Panels*, APC (Schneider Electric) White Paper 44,
    rev. 4; L. Strong, K. Karki, B. Merchant, *Two-Dimensional CFD Analysis of Blanking
    Panel Solutions*, Upsite Technologies white paper (blanking panels lowered the mean
    server intake temperature by 20 % with gaps left and 37 % without). ASHRAE TC 9.9,
    *Best Practices for Datacom Facility Energy Efficiency*, 2nd ed. (2009), asks for
    blanking panels in every open U. Typical shares (est., no survey publishes them per
    cabinet): r 0.05-0.3 with open U space, under 0.02 fully blanked; b 0.05-0.15 around
    the rails of an unsealed cabinet.
    """
    r = np.asarray(recirculation_frac, dtype=float)
    b = np.asarray(bypass_frac, dtype=float)
    if np.any((r < 0) | (r >= 1) | (b < 0) | (b >= 1)):
        raise ValueError("recirculation_frac and bypass_frac must lie in [0, 1)")
    t_face = np.asarray(face_temp_c, dtype=float)
    v_s = np.asarray(server_flow_m3_s, dtype=float)
    rise = np.asarray(air_w, dtype=float) / (rho_cp_j_m3k * v_s)
    v_c = v_s * (1.0 - r) / (1.0 - b)
    return {"server_inlet_c": t_face + r / (1.0 - r) * rise,
            "server_exhaust_c": t_face + rise / (1.0 - r),
            "cabinet_exhaust_c": t_face + np.asarray(air_w, dtype=float) / (rho_cp_j_m3k * v_c),
            "cabinet_flow_m3_s": v_c}


#: Largest leak share the pressure may drive (the facility's own limit on a stated share,
#: ``twin.facility.schema.MAX_CABINET_LEAK_FRAC``; :func:`cabinet_air` needs it below 1).
LEAK_MAX_FRAC = 0.8


def leak_shares(recirculation_frac, bypass_frac, hall_dp_pa, design_dp_pa):
    """A leaky cabinet's recirculation and bypass shares at the pressure the hall puts
    across it (the orifice law).

    Parameters
    ----------
    recirculation_frac, bypass_frac : array_like
        ``r_d``, ``b_d``: the shares as stated (:func:`cabinet_air`), which hold where the
        hall puts no pressure difference across the cabinet (open aisles).
    hall_dp_pa : array_like
        ``dp``: the field's mean static pressure in front of the cabinet's back minus in
        front of its face [Pa] (positive: a pressurised hot aisle, or a starved contained
        cold aisle).
    design_dp_pa : array_like
        ``dp_d``: the pressure difference across each leak path at the stated shares [Pa]
        (the rack type's ``cabinet_leak_dp_pa``); NaN or <= 0: the shares stay as stated.

    Returns
    -------
    r, b : numpy.ndarray
        ``r = r_d sqrt(max(1 + dp / dp_d, 0))`` and ``b = b_d sqrt(max(1 - dp / dp_d, 0))``,
        each at most :data:`LEAK_MAX_FRAC`.

    Notes
    -----
    A leak through a fixed opening follows the orifice law, ``V = C_d A sqrt(2 dp / rho)``
    (ASHRAE Handbook - Fundamentals 2021, ch. 21 (Duct design), the flow through an
    orifice; the same law as the raised floor's seams, Radmehr, Schmidt, Karki & Patankar,
    ASME InterPACK 2005, IPACK2005-73273), so at a fixed server airflow a share scales as
    ``sqrt(dp / dp_d)``. The recirculation path (open U space: the servers' exhaust
    plenum back to their intake plenum) sees the cabinet's own back-over-front
    difference ``dp_d`` plus the hall's ``dp``; the bypass path (gaps beside the servers,
    from the face to the back) sees ``dp_d`` less it. Raising the back over the face
    (hot-aisle containment over-pressurised) thus raises the recirculation and lowers
    the bypass; a cold aisle held over the hot aisle does the reverse, the behaviour
    containment guides describe. ``dp_d`` is an estimate: no published figure for the
    front-to-back pressure difference across a cabinet's own leak paths was found (a
    few pascals, the drop of perforated front and back doors at rated airflow; est.).
    Energy still closes rack by rack at any share (:func:`cabinet_air`).
    """
    r_d = np.asarray(recirculation_frac, dtype=float)
    b_d = np.asarray(bypass_frac, dtype=float)
    dp = np.asarray(hall_dp_pa, dtype=float)
    dp_d = np.asarray(design_dp_pa, dtype=float)
    on = np.isfinite(dp_d) & (dp_d > 0.0)
    ratio = np.where(on, dp / np.where(on, dp_d, 1.0), 0.0)
    r = np.where(on, r_d * np.sqrt(np.maximum(1.0 + ratio, 0.0)), r_d)
    b = np.where(on, b_d * np.sqrt(np.maximum(1.0 - ratio, 0.0)), b_d)
    return np.minimum(r, LEAK_MAX_FRAC), np.minimum(b, LEAK_MAX_FRAC)


def server_inlet_from_cabinet(face_temp_c, cabinet_exhaust_c, recirculation_frac, bypass_frac):
    """The servers' inlet [degC] from a cabinet's face and back temperatures (the
    balance of :func:`cabinet_air`): ``T_s = T_face + r / (1 - b) (T_x - T_face)``."""
    t_face = np.asarray(face_temp_c, dtype=float)
    return t_face + np.asarray(recirculation_frac, dtype=float) / (
        1.0 - np.asarray(bypass_frac, dtype=float)) * (np.asarray(cabinet_exhaust_c) - t_face)


def server_inlet_fixed_point(t_face: float, k: float, rise) -> float:
    """Solve ``T = t_face + k rise(T)`` (``k = r / (1 - r)``) by bisection to 1e-10 K:
    ``T - k rise(T)`` rises with ``T`` because the servers' fans speed up as their inlet
    warms (their rise falls) far faster than their leakage power grows."""
    lo = t_face
    step = k * rise(lo) + 1.0
    hi = lo + step
    for _ in range(60):
        if hi - t_face - k * rise(hi) >= 0.0:
            break
        lo, hi = hi, hi + 2.0 * step
    while hi - lo > 1e-10:
        mid = 0.5 * (lo + hi)
        if mid - t_face - k * rise(mid) < 0.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def door_spec_for(facility, rack) -> RearDoorSpec | None:
    """The :class:`~twin.models.reardoor.RearDoorSpec` of a placed rack's rear door
    (``None``: no door): the facility's ``[rear_doors.NAME]``, its water at the door's
    ``water_supply_temp_c`` or else its loop's supply in ``[plant]`` (the plant's
    defaults when the facility has none)."""
    if rack.rear_door is None:
        return None
    from twin.facility.plant import Plant
    door = facility.rear_doors[rack.rear_door]
    t_w = door.water_supply_temp_c
    if t_w is None:
        plant = facility.plant or Plant()
        t_w = (plant.chilled_water_supply_temp_c if door.water_loop == "chilled-water"
               else plant.facility_water_supply_temp_c)
    return RearDoorSpec(name=rack.rear_door, kind=door.kind, ua_w_k=door.ua_w_k,
                        water_flow_m3_s=door.water_flow_m3_s, water_supply_temp_c=float(t_w),
                        rated_airflow_m3_s=door.rated_airflow_m3_s,
                        rated_dp_pa=door.rated_dp_pa, fan_power_w=door.fan_power_w,
                        source=door.source or door.description)


#: Keys of :func:`door_air` (zeros for a rack without a door, ``room_w`` its ``air_w``).
DOOR_KEYS = ("door_w", "door_fan_w", "door_dp_pa", "door_air_in_c", "door_effectiveness",
             "door_water_return_c", "door_capped", "room_w")


def door_air(face_temp_c, air_w, cabinet_flow_m3_s, doors, rho_cp_j_m3k: float) -> dict:
    """What the cabinets' rear doors do to their exhaust (one value per rack).

    The exhaust reaches the door at ``T_x = T_face + P_air / (rho cp V_c)`` (the cabinet's
    mixing balance, :func:`cabinet_air`), the coil takes ``Q_door``
    (:func:`twin.models.reardoor.rear_door`), an active door's fans add ``P_fans``, and
    the room gets ``room_w = P_air + P_fans - Q_door``: energy closes rack by rack,
    ``P_air + P_fans = room_w + Q_door``. The thermal core's rack cannot cool the room: a
    door whose water would take more than ``P_air + P_fans`` (cooling the exhaust below
    the cabinet's intake) is held to that, ``door_capped`` 1.

    Returns ``door_w`` (to the water), ``door_fan_w``, ``door_dp_pa`` (air side),
    ``door_air_in_c`` (``T_x``), ``door_effectiveness``, ``door_water_return_c``,
    ``door_capped`` (0/1) and ``room_w`` [W, degC, Pa].
    """
    t_face = np.asarray(face_temp_c, dtype=float)
    air = np.asarray(air_w, dtype=float)
    v = np.asarray(cabinet_flow_m3_s, dtype=float)
    n = len(doors)
    out = {k: np.zeros(n) for k in DOOR_KEYS}
    out["room_w"] = air.copy()
    for i, spec in enumerate(doors):
        if spec is None or v[i] <= 0:
            continue
        t_x = t_face[i] + air[i] / (rho_cp_j_m3k * v[i])
        st = rear_door(v[i], t_x, spec, air_rho_cp_j_m3k=rho_cp_j_m3k)
        fan = float(st.fan_power_w)
        q = float(st.heat_w)
        if q > air[i] + fan:
            q = air[i] + fan
            out["door_capped"][i] = 1.0
        out["door_w"][i] = q
        out["door_fan_w"][i] = fan
        out["door_dp_pa"][i] = float(st.dp_pa)
        out["door_air_in_c"][i] = t_x
        out["door_effectiveness"][i] = float(st.effectiveness)
        out["door_water_return_c"][i] = spec.water_supply_temp_c + q / (
            WATER_DENSITY_KG_M3 * WATER_CP_J_KG_K * spec.water_flow_m3_s)
        out["room_w"][i] = air[i] + fan - q
    return out


#: Least heat the room air keeps for the cooling units, as a share of the racks' design
#: heat to air, when rear doors could take it all (:func:`hold_doors`): enough for the
#: units' coils to hold the room at their supply set-point (est.; a steady room needs a
#: positive load on a coil that cannot heat).
DOOR_ROOM_FLOOR_FRAC = 0.01

#: What the section cited for "a coil never heats" is, and how far it was checked.
COIL_NEVER_HEATS_SOURCE = (
    "ASHRAE Guideline 36-2021, 5.16.2.3 (multiple-zone VAV air handler, supply-air "
    "temperature control: one loop signal sequences the heating coil, the economizer and "
    "the cooling coil; the cooling valve opens only in the loop's cooling range). A CRAH "
    "or fan wall has no heating coil, so its cooling coil only ever removes heat. Section "
    "number checked against secondary sources only: the Modelica Buildings Library's "
    "Buildings.Controls.OBC.ASHRAE.G36.AHUs.MultiZone.VAV.SetPoints.SupplySignals "
    "(\"implemented according to Section 5.16.2.3\", May 2020 release) and PNNL ConStrain's "
    "G36 verification cases (5.16.2.2 the set-point reset, 5.16.2.3 the loop, 2021 edition); "
    "the Guideline's own text was not read.")


def hold_doors(room_w, door_w, envelope_w: float, design_air_w: float,
               floor_frac: float = DOOR_ROOM_FLOOR_FRAC) -> tuple[np.ndarray, np.ndarray, bool]:
    """Hold the rear doors to the room's heat: the room air keeps at least ``floor_frac``
    of the racks' design heat to air for the cooling units, counting the walls' gain or
    loss. One rule for the steady commands (:func:`settle_racks`) and ``twin run``
    (:meth:`twin.loop.hall.HallModel.rack_models`).

    Parameters
    ----------
    room_w : array_like
        Heat each cabinet gives the room after its door [W] (``room_w`` of :func:`door_air`).
    door_w : array_like
        Heat each door takes to its water [W].
    envelope_w : float
        Heat the walls and roof give the room air (negative: they take it) [W].
    design_air_w : float
        The racks' design heat to air, summed [W].
    floor_frac : float
        The share the room keeps, :data:`DOOR_ROOM_FLOOR_FRAC`.

    Returns
    -------
    room_w, door_w, held
        With ``short = floor_frac * design_air_w - (sum(room_w) + envelope_w)`` and
        ``taken = sum(door_w)``: when both are positive every door gives the same share
        ``k = min(short / taken, 1)`` of its heat back to the room, ``room_w + k door_w``
        and ``(1 - k) door_w``; rack by rack ``room_w + door_w`` is unchanged (energy
        closes). ``held`` says whether it did.

    Notes
    -----
    Why: doors on water colder than the room can take all their racks' heat; with walls
    that lose heat the room air then has a net loss that the units cannot make up, since
    a cooling unit's coil never heats (``kernels.stages.device_temperatures`` delivers a
    return below the set-point unchanged; the control rule: :data:`COIL_NEVER_HEATS_SOURCE`).
    Such a room has no steady heat field. In the hall the air would cool until the doors,
    whose heat falls with the air they draw (``eps C (T_x - T_w)``), take no more than the
    room's heat: the coil valves close and the doors carry the room. The hold keeps that
    balance with the units at their supply set-point, the room at the units' supply rather
    than the little below it where the doors alone would hold it (conservative for the
    inlets). The floor share is an estimate: large enough for a coil to hold its
    set-point, small against any rack's heat.
    """
    room = np.asarray(room_w, dtype=float)
    door = np.asarray(door_w, dtype=float)
    short = floor_frac * float(design_air_w) - (float(np.sum(room)) + float(envelope_w))
    taken = float(np.sum(door))
    if short <= 0.0 or taken <= 0.0:
        return room, door, False
    k = min(short / taken, 1.0)
    return room + k * door, door * (1.0 - k), True


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
        # the field's back over face, plus a passive rear door's drop at the cabinet's
        # flow (rated_dp (V / V_rated)^2, twin.models.reardoor.rear_door): the leak paths
        # join the servers' exhaust plenum, before the door, to their intake plenum (an
        # active door's fans carry their coil, as in fan_step)
        p = solver.port_pressure_pa
        if not leaks or p is None:
            return None
        dp = np.asarray(p[1, ix] - p[0, ix], dtype=float).copy()
        for k, door in enumerate(racks.doors or ()):
            if door is not None and door.kind == "passive" and door.rated_airflow_m3_s > 0:
                v_c = solver.devices[ix[k]].flow_m3_s
                dp[k] += door.rated_dp_pa * (v_c / door.rated_airflow_m3_s) ** 2
        return dp
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
