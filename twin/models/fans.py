"""Rack fans against static pressure: a rack's active flow curve and its operating point.

A rack's fans and its servers' internal resistance act together as one *active flow
curve* (AFC): the static pressure difference the rack can hold between its exhaust and
its intake side against the airflow it moves. At no pressure difference (free delivery)
the rack moves its design airflow; a positive difference (a pressurised hot aisle, a
passive rear door, a blocked back) slows it, a negative one (a pressurised cold aisle)
speeds it up. The rack works where its curve meets the pressure the hall imposes.

Sources: the active flow curve (fans and chassis impedance as one curve of flow against
the external pressure difference, measured per server and scaled with fan speed) is
H. A. Alissa, K. Nemati, B. G. Sammakia, K. Schneebeli, R. R. Schmidt, M. J. Seymour,
*Chip to Facility Ramifications of Containment Solution on IT Airflow and Uptime*, IEEE
Trans. Components, Packaging and Manufacturing Technology 6(1), 2016, 67-78, and the
same group's AFC method (Binghamton University, ES2 centre). The fan laws (flow with
speed, pressure with its square) and the fan/system curve intersection: ASHRAE Handbook -
HVAC Systems and Equipment (2020), ch. 21 *Fans*. Typical magnitude: server fans keep
their airflow against about 25 Pa (0.1 in. w.g.) of added back pressure and can push
against about 75 Pa (0.3 in.) away from their thermal limits (D. Moss, Dell, quoted by
Upsite Technologies, *Passive vs. Active Airflow Management*, 2022); the AFCs of 1U-2U
servers measured by Alissa et al. reach no flow at a few tens of pascals at low fan speed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Least airflow a rack is held at, as a fraction of its design airflow: below it the
#: servers are at or past their fans' shut-off pressure (in practice they throttle or
#: their air reverses, which the black-box rack does not model); reported as ``shutoff``.
MIN_FLOW_FRAC = 0.25
#: Under-relaxation of the rack airflow between flow solves (``twin.thermal.racks``).
FAN_RELAX = 0.7
#: A rack below this share of its free-delivery airflow is reported (0.95: 5 % lost).
REPORT_BELOW_FRAC = 0.95


@dataclass(frozen=True)
class FanCurve:
    """A rack's active flow curve at its design fan speed, as points.

    Parameters
    ----------
    flow_frac : tuple of float
        Airflow over the rack's design airflow [-], strictly increasing from 0.
    dp_pa : tuple of float
        Static pressure difference it holds, exhaust side minus intake side [Pa], falling
        with the flow; 0 at flow 1 (the design airflow is the free delivery).
    name : str
        The rack type it belongs to (for messages).

    Between the points the curve is linear; past the last point the flow is held at it.
    """

    flow_frac: tuple
    dp_pa: tuple
    name: str = ""

    def __post_init__(self):
        q = np.asarray(self.flow_frac, dtype=float)
        p = np.asarray(self.dp_pa, dtype=float)
        problem = check_curve(q, p)
        if problem:
            raise ValueError(f"fan curve {self.name}: {problem}")

    @property
    def shutoff_pa(self) -> float:
        """The pressure difference at no flow [Pa], at design fan speed."""
        return float(self.dp_pa[0])

    def pressure_pa(self, flow_frac, speed_frac: float = 1.0):
        """The pressure difference [Pa] the rack holds at ``flow_frac`` of its design
        airflow, its fans at ``speed_frac`` of their design speed (fan laws:
        ``dp_s(q) = s^2 dp_1(q / s)``)."""
        s = float(speed_frac)
        return s * s * np.interp(np.asarray(flow_frac, dtype=float) / s, self.flow_frac,
                                 self.dp_pa)

    def max_flow_frac(self, speed_frac: float = 1.0) -> float:
        """The largest flow the curve covers at ``speed_frac`` [-]."""
        return float(self.flow_frac[-1]) * float(speed_frac)


def check_curve(flow_frac, dp_pa) -> str:
    """Why a curve is not a rack's active flow curve ('' when it is): at least two
    points, flows from 0 strictly increasing, pressures finite and strictly falling,
    positive at no flow, and 0 Pa at the design airflow (flow 1)."""
    q = np.asarray(flow_frac, dtype=float)
    p = np.asarray(dp_pa, dtype=float)
    if q.shape != p.shape or q.ndim != 1 or len(q) < 2:
        return "give at least two [flow_frac, dp_pa] points"
    if not (np.isfinite(q).all() and np.isfinite(p).all()):
        return "every value must be a finite number"
    if q[0] != 0.0:
        return (f"the first point must be at no flow (flow_frac 0, the fans' shut-off "
                f"pressure), not {q[0]:g}")
    if np.any(np.diff(q) <= 0):
        return "the flow fractions must increase from point to point"
    if np.any(np.diff(p) >= 0):
        return "the pressures must fall as the flow rises (a fan's curve falls)"
    if p[0] <= 0:
        return f"the shut-off pressure (at flow_frac 0) must be positive, not {p[0]:g} Pa"
    one = np.flatnonzero(np.isclose(q, 1.0, rtol=0.0, atol=1e-9))
    if len(one) != 1 or abs(p[one[0]]) > 1e-9:
        return ("the curve must pass through [1.0, 0.0]: the rack moves its design airflow "
                "against no pressure difference")
    return ""


def operating_point(curve: FanCurve, speed_frac: float, dp_pa: float, flow_frac: float,
                    slope_pa: float = 0.0) -> dict:
    """Where a rack's curve meets the pressure the hall imposes.

    The hall's pressure difference across the rack is taken as the line
    ``dp(q) = dp_pa + slope_pa (q - flow_frac)`` about the flow ``flow_frac`` it was
    found at (``slope_pa`` >= 0: more flow, more back pressure; 0: a fixed difference),
    and the rack's curve at fan speed ``speed_frac`` (:meth:`FanCurve.pressure_pa`)
    meets it where ``s^2 dp_1(q / s) = dp(q)``. The difference of the two falls with
    ``q``, so the root is unique; it is found by bisection (scipy ``brentq``).

    Returns ``flow_frac`` (of the design airflow, within ``[MIN_FLOW_FRAC, max flow]``)
    and ``shutoff`` (True when the pressure is at or past the curve's no-flow end and
    the flow was held at ``MIN_FLOW_FRAC``).
    """
    from scipy.optimize import brentq
    s = float(speed_frac)
    slope = max(float(slope_pa), 0.0)

    def gap(q):
        return float(curve.pressure_pa(q, s)) - (dp_pa + slope * (q - flow_frac))
    lo, hi = 0.0, curve.max_flow_frac(s)
    if gap(hi) >= 0.0:
        return {"flow_frac": hi, "shutoff": False}
    if gap(lo) <= 0.0:
        return {"flow_frac": MIN_FLOW_FRAC, "shutoff": True}
    q = brentq(gap, lo, hi, xtol=1e-12, rtol=1e-12)
    if q < MIN_FLOW_FRAC:
        return {"flow_frac": MIN_FLOW_FRAC, "shutoff": True}
    return {"flow_frac": float(q), "shutoff": False}


#: Wire-to-air efficiency of server fans (motor, driver and impeller), taken constant along
#: the curve at one speed: est., small DC axial fans of 40-80 mm reach 15-35 % (the fan
#: makers' catalogues, e.g. the efficiency of Delta and Nidec server fans at their best
#: point); the middle of that range.
SERVER_FAN_EFF = 0.25


def internal_dp_pa(design_fan_power_w, design_airflow_m3_s, efficiency: float = SERVER_FAN_EFF):
    """The pressure the servers' fans raise at free delivery and design speed [Pa]: the
    chassis' own resistance at the design airflow, from the fan power equation
    ``P = V dp / eta`` (ASHRAE Handbook - HVAC Systems and Equipment 2020, ch. 21):
    ``dp_i = eta P_fan,d / V_d``."""
    v = np.asarray(design_airflow_m3_s, dtype=float)
    return efficiency * np.asarray(design_fan_power_w, dtype=float) / np.where(v > 0, v, 1.0)


def fan_power_at(free_power_w, speed_frac, flow_frac, dp_pa, internal_dp_pa_d):
    """Server fan power at an operating point of the active flow curve [W].

    The fans run at ``speed_frac`` s of their design speed, where at free delivery (flow
    ``s`` of the design airflow, no pressure difference) they draw ``free_power_w`` (the
    rack model's fan power). Against the hall's pressure difference ``dp_pa`` they move
    ``flow_frac`` q of the design airflow. A fan's air power is flow times pressure rise,
    its electric power that over its efficiency (ASHRAE Handbook - HVAC Systems and
    Equipment 2020, ch. 21, *Fans*: ``P = Q dp / eta``); the fans raise the chassis'
    resistance ``dp_i q^2`` (quadratic: ``internal_dp_pa_d`` = ``dp_i`` at the design
    airflow, :func:`internal_dp_pa`) plus ``dp``. At one speed the efficiency is taken as
    at free delivery (the fan laws' similar points, ch. 21), so

        ``P = P_free (q / s) (dp_i q^2 + dp) / (dp_i s^2)``,

    which is ``P_free`` at ``q = s, dp = 0`` (and ``P_d s^3``: the affinity law of the
    rack model). Held at 0 or more (a fan pushed past its free delivery by suction does no
    work on the air here). Arrays broadcast.
    """
    s = np.asarray(speed_frac, dtype=float)
    q = np.asarray(flow_frac, dtype=float)
    dp_i = np.asarray(internal_dp_pa_d, dtype=float)
    p_free = np.asarray(free_power_w, dtype=float)
    ok = (s > 0) & (dp_i > 0)
    s_ = np.where(ok, s, 1.0)
    ratio = (q / s_) * (dp_i * q * q + np.asarray(dp_pa, dtype=float)) / np.where(
        ok, dp_i * s_ * s_, 1.0)
    return np.where(ok, np.maximum(p_free * ratio, 0.0), p_free)
