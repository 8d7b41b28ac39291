"""Inside a cabinet: leakage around the servers and the rear-door heat exchanger.

A cabinet may leak (:func:`cabinet_air`): part of the servers' exhaust flows back to their
intake inside it (missing blanking panels) and part of the air it draws passes beside the
servers; the shares may follow the pressure the hall puts across the cabinet
(:func:`leak_shares`). The room (the CFD) sees the cabinet: its face draws and its back
releases the cabinet's airflow, heated by the whole heat to air; the rack model sees the
servers, at the server inlet that follows from the cabinet's face temperature
(:func:`server_inlet_from_cabinet`).

A cabinet may have a rear-door heat exchanger (:func:`door_air`,
:func:`twin.models.reardoor.rear_door`): the cabinet's exhaust crosses the door's water
coil, which takes ``Q_door`` to its water loop; the room sees the exhaust cooled, the
device's heat to air being ``P_air + P_fans - Q_door`` (``room_w``). Large doors are held
to the room's heat (:func:`hold_doors`), the one rule of ``twin run`` and the steady
commands.

The racks of a hall, their fans and the fixed point of the rack model with the flow field
are in :mod:`twin.thermal.racks`.
"""
from __future__ import annotations

import numpy as np

from common.fluids import WATER_CP_J_KG_K, WATER_DENSITY_KG_M3, Fluid
from twin.models.reardoor import RearDoorSpec, rear_door


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


def cabinet_dp_pa(port_pressure_pa, device_index, cabinet_flow_m3_s, doors) -> np.ndarray:
    """The pressure difference a hall puts across each leaky cabinet's leak paths [Pa]
    (``hall_dp_pa`` of :func:`leak_shares`), one rule for the steady commands
    (:func:`twin.thermal.racks.settle_racks`) and ``twin run``
    (:meth:`twin.loop.hall.HallModel.new_state`).

    Parameters
    ----------
    port_pressure_pa : array_like
        The solver's mean static pressure over each device's intake (row 0) and exhaust
        (row 1) ports of its last steady solve, shape (2, devices) [Pa]
        (``kernels.Solver.port_pressure_pa``).
    device_index : array_like
        The racks' device indices into it.
    cabinet_flow_m3_s : array_like
        Each rack's cabinet airflow in that solve [m3/s].
    doors : sequence
        Each rack's :class:`~twin.models.reardoor.RearDoorSpec` or ``None``.

    Returns
    -------
    numpy.ndarray
        The field's back over face, ``p_exhaust - p_intake``, plus a passive rear door's
        drop at the cabinet's airflow, ``rated_dp (V / V_rated)^2``
        (:func:`twin.models.reardoor.rear_door`): the leak paths join the servers' exhaust
        plenum, before the door, to their intake plenum. An active door's fans carry
        their own coil (as :func:`twin.thermal.racks.fan_step` takes it).
    """
    p = np.asarray(port_pressure_pa, dtype=float)
    ix = np.asarray(device_index, dtype=np.int64)
    v = np.asarray(cabinet_flow_m3_s, dtype=float)
    dp = p[1, ix] - p[0, ix]
    for k, door in enumerate(doors or ()):
        if door is not None and door.kind == "passive" and door.rated_airflow_m3_s > 0:
            dp[k] += door.rated_dp_pa * (v[k] / door.rated_airflow_m3_s) ** 2
    return dp


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
