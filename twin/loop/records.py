"""What one step of a hall and of the campus leave behind (:class:`HallStep`,
:class:`StepRecord`), and how a step joins the run's series (:func:`append_step`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


# ==================================================================================== records
@dataclass(frozen=True)
class HallStep:
    """One hall over one step (arrays per rack, cooling unit or CDU; W, °C, m³/s)."""

    hall: str
    replicas: int
    thermal_mode: str               # "linear", "direct", "transient"
    reason: str                     # why direct, if it was
    inner_iterations: int
    converged: bool
    linear_error_k: float           # NaN when not checked this step
    flow_state: int
    rack_inlet_temp_c: np.ndarray
    rack_inlet_max_c: np.ndarray
    rack_exhaust_temp_c: np.ndarray
    rack_power_w: np.ndarray
    rack_heat_to_air_w: np.ndarray
    rack_heat_to_liquid_w: np.ndarray
    rack_airflow_m3_s: np.ndarray
    rack_fan_power_w: np.ndarray
    rack_utilization_frac: np.ndarray
    rack_work_frac: np.ndarray
    rack_throttled: np.ndarray
    cooler_return_temp_c: np.ndarray
    cooler_supply_temp_c: np.ndarray
    cooler_setpoint_c: np.ndarray
    cooler_airflow_m3_s: np.ndarray
    cooler_fan_speed_frac: np.ndarray
    cooler_fan_power_w: np.ndarray
    cooler_heat_w: np.ndarray
    cooler_capacity_limited: np.ndarray
    cooler_chw_flow_kg_s: np.ndarray
    cdu_heat_w: np.ndarray
    cdu_secondary_supply_temp_c: np.ndarray
    cdu_secondary_return_temp_c: np.ndarray
    cdu_facility_return_temp_c: np.ndarray
    cdu_pump_power_w: np.ndarray
    boundary_heat_w: float
    rci_hi_pct: float
    rci_lo_pct: float
    rti_pct: float
    shi: float
    rhi: float
    rack_door_heat_w: np.ndarray | None = None          # to the rear doors' water
    rack_door_fan_power_w: np.ndarray | None = None     # the rear doors' fans
    door_chilled_water_heat_w: float = 0.0              # of which on chilled water
    rack_server_inlet_temp_c: np.ndarray | None = None  # the servers' (cabinet recirculation)
    # leak shares that follow the pressure (cabinet_leak_dp_pa): the pressure across each
    # cabinet of the step's flow state [Pa] and the shares at it [-] (None: stated shares)
    rack_cabinet_dp_pa: np.ndarray | None = None
    rack_recirculation_frac: np.ndarray | None = None
    rack_bypass_frac: np.ndarray | None = None

    @property
    def it_power_w(self) -> float:
        return float(self.rack_power_w.sum())

    @property
    def heat_to_air_w(self) -> float:
        return float(self.rack_heat_to_air_w.sum())

    @property
    def heat_to_liquid_w(self) -> float:
        return float(self.rack_heat_to_liquid_w.sum())

    @property
    def door_heat_w(self) -> float:
        """Heat the rear doors take to their water [W] (part of the racks' heat)."""
        return float(self.rack_door_heat_w.sum()) if self.rack_door_heat_w is not None else 0.0

    @property
    def door_fan_power_w(self) -> float:
        return (float(self.rack_door_fan_power_w.sum())
                if self.rack_door_fan_power_w is not None else 0.0)

    @property
    def cooler_heat_total_w(self) -> float:
        return float(self.cooler_heat_w.sum())

    @property
    def air_balance_frac(self) -> float:
        """(rack air heat + heat through walls - heat removed by units) / rack air heat."""
        q = self.heat_to_air_w
        return (q + self.boundary_heat_w - self.cooler_heat_total_w) / q if q > 0 else 0.0

    @property
    def max_inlet_c(self) -> float:
        return float(self.rack_inlet_temp_c.max()) if self.rack_inlet_temp_c.size else float("nan")


@dataclass(frozen=True)
class StepRecord:
    """One step of every solved hall (what the callback of :meth:`Simulation.run` gets).

    The plant, power and renewables of the step follow in blocks (their models are
    vectorised over steps and do not feed back into the halls): they are in
    :attr:`Simulation.series` after :meth:`Simulation.flush`, and in the results file.
    """

    step: int
    time_h: float
    step_s: float
    halls: tuple

    @property
    def it_power_w(self) -> float:
        """Campus IT power (replicas included) [W]."""
        return float(sum(h.replicas * h.it_power_w for h in self.halls))

    @property
    def heat_to_air_w(self) -> float:
        return float(sum(h.replicas * h.heat_to_air_w for h in self.halls))

    @property
    def heat_to_liquid_w(self) -> float:
        return float(sum(h.replicas * h.heat_to_liquid_w for h in self.halls))

    @property
    def max_inlet_c(self) -> float:
        return float(max(h.max_inlet_c for h in self.halls))


def append_step(series: dict, rec: StepRecord, *, has_doors: bool, recommended_max_c: float):
    """Append the step ``rec`` to ``series`` (group -> name -> list of values, the
    results' series; ``series["_time"]["time_h"]`` the time axis): racks, cooling units,
    CDUs and halls of the solved halls. ``has_doors``: the racks' rear-door heat too;
    ``recommended_max_c``: the ASHRAE recommended maximum inlet of the halls' counts.
    Where some hall's cabinet leak shares follow the pressure, the racks'
    ``cabinet_hall_dp_pa``, ``cabinet_recirculation_frac`` and ``cabinet_bypass_frac``
    too (NaN for the racks of the other halls)."""
    def put(group, name, value):
        g = series.setdefault(group, {})
        if name not in g and group != "_time":
            # a series new to a resumed file (written before it existed): NaN before
            n = len(series["_time"]["time_h"]) - 1
            g[name] = [np.full(np.shape(value), np.nan)] * n
        g.setdefault(name, []).append(value)
    put("_time", "time_h", rec.time_h)
    hs = rec.halls
    cat = lambda a: np.concatenate([np.asarray(getattr(h, a)) for h in hs])  # noqa: E731
    for name, attr in (("inlet_temp_c", "rack_inlet_temp_c"), ("inlet_max_c", "rack_inlet_max_c"),
                       ("exhaust_temp_c", "rack_exhaust_temp_c"), ("power_w", "rack_power_w"),
                       ("heat_to_air_w", "rack_heat_to_air_w"), ("heat_to_liquid_w", "rack_heat_to_liquid_w"),
                       ("airflow_m3_s", "rack_airflow_m3_s"), ("fan_power_w", "rack_fan_power_w"),
                       ("utilization_frac", "rack_utilization_frac"), ("work_frac", "rack_work_frac"),
                       ("throttled", "rack_throttled")):
        put("racks", name, cat(attr))
    for name, attr in (("return_temp_c", "cooler_return_temp_c"), ("supply_temp_c", "cooler_supply_temp_c"),
                       ("setpoint_c", "cooler_setpoint_c"), ("airflow_m3_s", "cooler_airflow_m3_s"),
                       ("fan_speed_frac", "cooler_fan_speed_frac"), ("fan_power_w", "cooler_fan_power_w"),
                       ("heat_removed_w", "cooler_heat_w"), ("capacity_limited", "cooler_capacity_limited"),
                       ("chw_flow_kg_s", "cooler_chw_flow_kg_s")):
        put("cooling_units", name, cat(attr))
    put("racks", "server_inlet_temp_c", np.concatenate([
        h.rack_server_inlet_temp_c if h.rack_server_inlet_temp_c is not None
        else np.asarray(h.rack_inlet_temp_c, float) for h in hs]))
    if any(h.rack_cabinet_dp_pa is not None for h in hs):    # leaks that follow the pressure
        for name, attr in (("cabinet_hall_dp_pa", "rack_cabinet_dp_pa"),
                           ("cabinet_recirculation_frac", "rack_recirculation_frac"),
                           ("cabinet_bypass_frac", "rack_bypass_frac")):
            put("racks", name, np.concatenate([
                getattr(h, attr) if getattr(h, attr) is not None
                else np.full(len(h.rack_power_w), np.nan) for h in hs]))
    if has_doors:                          # rear doors: heat to their water
        put("racks", "door_heat_w", np.concatenate([
            h.rack_door_heat_w if h.rack_door_heat_w is not None
            else np.zeros(len(h.rack_power_w)) for h in hs]))
    if any(len(h.cdu_heat_w) for h in hs):
        for name, attr in (("heat_w", "cdu_heat_w"), ("secondary_supply_temp_c", "cdu_secondary_supply_temp_c"),
                           ("secondary_return_temp_c", "cdu_secondary_return_temp_c"),
                           ("facility_return_temp_c", "cdu_facility_return_temp_c"),
                           ("pump_power_w", "cdu_pump_power_w")):
            put("cdus", name, cat(attr))
    hall_cols = {
        "it_power_w": [h.it_power_w for h in hs], "heat_to_air_w": [h.heat_to_air_w for h in hs],
        "heat_to_liquid_w": [h.heat_to_liquid_w for h in hs],
        "cooler_heat_w": [h.cooler_heat_total_w for h in hs],
        "boundary_heat_w": [h.boundary_heat_w for h in hs],
        "air_balance_frac": [h.air_balance_frac for h in hs],
        "max_inlet_c": [h.max_inlet_c for h in hs],
        "rci_hi_pct": [h.rci_hi_pct for h in hs], "rci_lo_pct": [h.rci_lo_pct for h in hs],
        "rti_pct": [h.rti_pct for h in hs], "shi": [h.shi for h in hs], "rhi": [h.rhi for h in hs],
        "racks_over_recommended": [int(np.sum(h.rack_inlet_temp_c > recommended_max_c))
                                   for h in hs],
        "linear_error_k": [h.linear_error_k for h in hs],
        "inner_iterations": [h.inner_iterations for h in hs],
        "converged": [h.converged for h in hs],
        "direct": [h.thermal_mode != "linear" for h in hs],
        "flow_state": [h.flow_state for h in hs],
    }
    for name, v in hall_cols.items():
        put("halls", name, np.asarray(v))
