"""Rear-door heat exchangers (RDHx): a water coil in the cabinet's back door.

The cabinet's exhaust crosses a finned water coil before it reaches the room. A passive
door has no fans (the servers' fans push the air through the coil, against its pressure
drop); an active door has fans of its own that carry the rack's airflow through the
coil (their power is counted and ends as heat in the air). The heat the coil takes goes
to the water loop that feeds the door and from there to the plant; the room sees the
cabinet's exhaust cooled by it.

Coil: effectiveness-NTU for a single-pass cross-flow exchanger with one fluid mixed
(F.P. Incropera, D.P. DeWitt et al., *Fundamentals of Heat and Mass Transfer*, 6th ed.,
Wiley 2007, Table 11.3, eqs. 11.34a-b; W.M. Kays, A.L. London, *Compact Heat
Exchangers*, 3rd ed., McGraw-Hill 1984, ch. 2). The air passes between the fins
(unmixed); the water, turned in the door's headers through many short circuits, is taken
as mixed. Whichever stream has the smaller capacity rate decides the branch:

* air ``C_min`` (unmixed), water ``C_max`` (mixed):
  ``eps = (1 / Cr) (1 - exp(-Cr (1 - exp(-NTU))))``
* water ``C_min`` (mixed), air ``C_max`` (unmixed):
  ``eps = 1 - exp(-(1 / Cr) (1 - exp(-Cr NTU)))``

with ``NTU = UA / C_min`` and ``Cr = C_min / C_max``. ``Q = eps C_min (T_air,in -
T_w,in)`` (0 when the water is not colder than the air: the valve closes). ``UA`` is the
door's rated conductance, held at its rated value (the air-side film, which dominates,
falls as ``V^0.6-0.8`` at lower flows: the model is meant near the rated flow).

Air-side pressure drop: ``dp = dp_rated (V / V_rated)^2`` (fully turbulent coil, Kays &
London ch. 2). Active door fans: ``P = P_rated (V / V_rated)^3`` (the affinity laws, the
fans' speed tracking the rack's airflow).

Typical figures (est., from vendors' passive RDHx datasheets, e.g. a 600 mm door rated
for 20-35 kW with 18-20 degC water at 1-2 L/s, air-side pressure drop 15-40 Pa at a
rack's airflow; active doors 30-75 kW with a few hundred watts of EC fans): UA 1,000 to
5,000 W/K per door.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.fluids import WATER_CP_J_KG_K, WATER_DENSITY_KG_M3, Fluid

__all__ = ["RearDoorSpec", "RearDoorState", "effectiveness_crossflow_one_mixed", "rear_door"]

_AIR_RHO_CP = Fluid().rho_cp


def effectiveness_crossflow_one_mixed(ntu, capacity_ratio, cmin_mixed):
    """Effectiveness [-] of a single-pass cross-flow exchanger with one stream mixed.

    Parameters
    ----------
    ntu : array_like
        Number of transfer units ``UA / C_min`` [-], >= 0.
    capacity_ratio : array_like
        ``Cr = C_min / C_max`` [-], 0..1.
    cmin_mixed : array_like of bool
        True when the stream of smaller capacity rate is the mixed one.

    Returns
    -------
    ndarray
        ``eps = 1 - exp(-(1/Cr)(1 - exp(-Cr NTU)))`` (C_min mixed) or
        ``eps = (1/Cr)(1 - exp(-Cr (1 - exp(-NTU))))`` (C_max mixed); both tend to
        ``1 - exp(-NTU)`` as ``Cr -> 0``. Incropera et al., 6th ed., Table 11.3,
        eqs. 11.34a and 11.34b.
    """
    ntu = np.asarray(ntu, dtype=float)
    cr = np.clip(np.asarray(capacity_ratio, dtype=float), 0.0, 1.0)
    small = cr < 1e-9
    crs = np.where(small, 1.0, cr)
    cmax_mixed = (1.0 / crs) * (1.0 - np.exp(-crs * (1.0 - np.exp(-ntu))))
    cmin_mix = 1.0 - np.exp(-(1.0 / crs) * (1.0 - np.exp(-crs * ntu)))
    eps = np.where(np.asarray(cmin_mixed, dtype=bool), cmin_mix, cmax_mixed)
    return np.where(small, 1.0 - np.exp(-ntu), eps)


@dataclass(frozen=True)
class RearDoorSpec:
    """A rear-door heat exchanger by its rating (one door on one cabinet).

    ``kind``: ``"passive"`` (no fans; the servers' fans work against ``dp``) or
    ``"active"`` (fans of ``fan_power_w`` at the rated airflow). ``ua_w_k``: the coil's
    conductance [W/K]; ``water_flow_m3_s``: water through one door [m3/s];
    ``water_supply_temp_c``: the water the door receives [degC]; ``rated_airflow_m3_s``
    and ``rated_dp_pa``: the air-side pressure drop [Pa] at that airflow [m3/s].
    """

    name: str
    kind: str
    ua_w_k: float
    water_flow_m3_s: float
    water_supply_temp_c: float
    rated_airflow_m3_s: float
    rated_dp_pa: float
    fan_power_w: float = 0.0
    source: str = ""

    def __post_init__(self):
        if self.kind not in ("passive", "active"):
            raise ValueError(f"rear door {self.name}: kind {self.kind!r}: passive or active")
        for k in ("ua_w_k", "water_flow_m3_s", "rated_airflow_m3_s"):
            if not np.isfinite(getattr(self, k)) or getattr(self, k) <= 0:
                raise ValueError(f"rear door {self.name}: {k} must be > 0")
        if self.rated_dp_pa < 0 or self.fan_power_w < 0:
            raise ValueError(f"rear door {self.name}: rated_dp_pa and fan_power_w must be >= 0")


@dataclass(frozen=True)
class RearDoorState:
    """What a door does at one operating point (arrays, one value per door).

    ``heat_w`` to the water; ``air_out_c`` leaving the coil (before the door fans' heat);
    ``water_return_c``; ``effectiveness``, ``ntu`` [-]; ``dp_pa`` air-side pressure drop;
    ``fan_power_w`` (0 on a passive door), which ends as heat in the air.
    """

    heat_w: np.ndarray
    air_out_c: np.ndarray
    water_return_c: np.ndarray
    effectiveness: np.ndarray
    ntu: np.ndarray
    dp_pa: np.ndarray
    fan_power_w: np.ndarray


def rear_door(airflow_m3_s, air_in_c, spec: RearDoorSpec, water_supply_temp_c=None,
              air_rho_cp_j_m3k: float = _AIR_RHO_CP) -> RearDoorState:
    """A rear door's coil at an airflow and entering-air temperature (module docstring).

    Parameters
    ----------
    airflow_m3_s : array_like
        Air through the door [m3/s] (the cabinet's exhaust), >= 0.
    air_in_c : array_like
        Air entering the coil [degC] (the cabinet's exhaust mean).
    spec : RearDoorSpec
    water_supply_temp_c : array_like, optional
        Water entering the door [degC]; default ``spec.water_supply_temp_c``.
    air_rho_cp_j_m3k : float
        ``rho * cp`` of the air [J/(m3 K)].

    Returns
    -------
    RearDoorState
    """
    v = np.maximum(np.asarray(airflow_m3_s, dtype=float), 0.0)
    t_a = np.asarray(air_in_c, dtype=float)
    t_w = np.asarray(spec.water_supply_temp_c if water_supply_temp_c is None
                     else water_supply_temp_c, dtype=float)
    c_air = air_rho_cp_j_m3k * v
    c_w = np.full_like(c_air, WATER_DENSITY_KG_M3 * WATER_CP_J_KG_K * spec.water_flow_m3_s)
    c_min = np.minimum(c_air, c_w)
    c_max = np.maximum(c_air, c_w)
    with np.errstate(invalid="ignore", divide="ignore"):
        ntu = np.where(c_min > 0, spec.ua_w_k / np.where(c_min > 0, c_min, 1.0), 0.0)
        cr = np.where(c_max > 0, c_min / np.where(c_max > 0, c_max, 1.0), 0.0)
    eps = np.where(c_min > 0, effectiveness_crossflow_one_mixed(ntu, cr, c_w < c_air), 0.0)
    q = eps * c_min * np.maximum(t_a - t_w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_out = np.where(c_air > 0, t_a - q / np.where(c_air > 0, c_air, 1.0), t_a)
    ratio = v / spec.rated_airflow_m3_s
    fan = spec.fan_power_w * ratio ** 3 if spec.kind == "active" else np.zeros_like(v)
    return RearDoorState(heat_w=q, air_out_c=t_out, water_return_c=t_w + q / c_w,
                         effectiveness=eps, ntu=ntu, dp_pa=spec.rated_dp_pa * ratio ** 2,
                         fan_power_w=np.asarray(fan, dtype=float))
