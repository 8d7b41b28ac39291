"""What one step of a hall and of the campus leave behind (:class:`HallStep`,
:class:`StepRecord`)."""
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
