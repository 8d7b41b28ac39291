"""The co-simulation loop of ``twin run``: IT load, air and liquid cooling, plant, power.

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
6. **Plant** (:func:`twin.models.plant.plant_step`) with the step's dry and wet bulb
   (:func:`twin.models.weather.weather_at`, :func:`twin.models.weather.wet_bulb_temp_c`);
   the chilled-water load is the heat the units remove plus their fan heat (draw-through
   fans: the coil takes it), the facility-water load the CDU heat plus CDU pump heat.
7. **Power**: electrical chain losses (transformer, UPS, PDU:
   :func:`twin.models.power.electrical_chain`), on-site PV and contracted solar/wind
   (:mod:`twin.models.renewables`), hour-by-hour matching, grid carbon and tariff.
8. **Metrics** (:mod:`twin.models.metrics`): RCI, RTI, SHI, ASHRAE compliance, PUE, WUE, CUE.

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

Campus: halls whose description is identical apart from their name (a hall file reused
with ``count``) are solved once; the solved hall stands for all of them and campus
totals multiply by the number of replicas (``/halls/replicas`` in the results).
Not modelled: lighting and other non-IT, non-cooling loads; humidity control; heat
through the hall envelope (adiabatic walls unless the problem says otherwise).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from kernels.errors import InputError
from twin.facility import Facility, Plant, load_facility
from twin.models.metrics import (hot_spots, inlet_class_compliance, rci_hi_pct, rci_lo_pct, rti_pct,
                          shi_rhi, RECOMMENDED, ASHRAE_CLASSES)
from twin.models.airside import (AIR_CP_J_KG_K, AIR_DENSITY_KG_M3, WATER_CP_J_KG_K, CoilSpec,
                                 FanSpec, SupplyControlSpec, crah_coil, fan_affinity,
                                 supply_control_step)
from twin.models.it_load import (PROFILES, RACK_SPECS, RackSpec, rack_power,
                                 utilization_profile)
from twin.models.liquid import (GRAVITY_M_S2, WATER_DENSITY_KG_M3, CduSpec, DryCoolerSpec,
                                PumpSpec, cdu_step)
from twin.models.plant import CoolingTowerSpec, PlantSpec, design_plant, plant_step
from twin.models.power import (DEFAULT_TARIFF, KOREA_GRID_CARBON_KG_PER_KWH, ElectricalChain,
                               QuadraticLoss, electrical_chain, pdu_typical,
                               tou_price_krw_per_kwh, transformer_dry_type,
                               ups_double_conversion)
from twin.models.weather import load_weather, weather_at, wet_bulb_temp_c
from twin.outputs.results import RunData, Snapshot, read_results, results_path, summary_path, \
    write_json_atomic, write_results
from twin.units import J_PER_KWH

__all__ = [
    "THERMAL_MODES",
    "RACK_BEHAVIOUR",
    "RunSettings",
    "HallStep",
    "StepRecord",
    "Simulation",
    "rack_spec_for",
    "plant_spec_for",
    "parse_duration_s",
]

#: Thermal modes (shared by the CLI's choices and the tests).
THERMAL_MODES = ("linear", "direct", "transient")

#: Facility rack types -> the :data:`twin.models.it_load.RACK_SPECS` record whose
#: behaviour (fan share, throttling limits, leakage) they take; power, idle power, liquid
#: share and design temperature rise always come from the facility's rack type.
RACK_BEHAVIOUR = {
    "hgx-h100-air": "dgx-h100-x4",
    "hgx-h100-air-half": "dgx-h100-x4",
    "gb200-nvl72": "gb200-nvl72",
    "cpu-compute": "cpu-2u-x20",
}

_RHO_CP = AIR_DENSITY_KG_M3 * AIR_CP_J_KG_K
#: CRAH fan: total pressure and wire-to-air efficiency at design (est., as the
#: ``crah-150kw-ec`` record of :data:`twin.models.airside.CRAH_FANS`: 500 Pa, 60 %).
_FAN_DP_PA = 500.0
_FAN_EFF = 0.6
_FAN_MIN_SPEED = 0.3
#: Sizing of the electrical chain when the facility gives none (est.): 25 % above design IT.
_CHAIN_MARGIN = 1.25


def parse_duration_s(text) -> float:
    """``"15m"``, ``"1h"``, ``"30s"``, ``"1d"`` or a number of seconds -> seconds."""
    if isinstance(text, (int, float)):
        v = float(text)
    else:
        s = str(text).strip().lower()
        mult = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
        num, unit = s, "s"
        for suf in ("min", "s", "m", "h", "d"):
            if s.endswith(suf):
                num, unit = s[: -len(suf)], suf
                break
        try:
            v = float(num) * mult[unit]
        except ValueError:
            raise InputError(f"duration '{text}' is not understood; write e.g. 15m, 1h, 30s or 900") from None
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"duration '{text}' must be positive")
    return v


# ==================================================================================== settings
@dataclass(frozen=True)
class RunSettings:
    """Settings of a run (all stored in the results file).

    Parameters
    ----------
    hours : float
        Simulated period [h] (default a day).
    step_s : float
        Step [s] (default 15 min; hourly for a year).
    start_h : float
        Start, hours after 1 January 00:00 local standard time.
    cell_m : float
        Cell size of the thermal grid [m].
    backend : str
        ``auto``, ``cpu``, ``numba-cuda`` or ``cupy``.
    thermal : str
        One of :data:`THERMAL_MODES`.
    profile : str
        Utilisation profile: a key of :data:`twin.models.it_load.PROFILES` (their time is
        hours after 1 January, so the inference cycle peaks at its local hour) or the
        path of a CSV trace (time in hours after the run's start; one column for every
        rack, or one per rack in the order of the results' ``/racks/rack``). Each step
        takes the mean of ``substeps`` samples.
    utilization : float or None
        Level of the ``constant``/``training`` profiles, mean of ``inference``.
    halls : tuple of str
        Only these halls (default every hall).
    target_inlet_temp_c : float
        Hottest rack inlet the supply controller aims at (ASHRAE recommended 27 °C).
    airflow_ratio : float
        Cooling-unit airflow over rack airflow that the fan speed aims at (est. 1.2).
    rack_airflow : str
        ``"model"``: the field carries the servers' airflow of the ITE model (it moves with
        load and inlet temperature; the flow is re-solved beyond ``flow_tol_frac``);
        ``"design"``: the field keeps each rack's design airflow (one flow solve per hall;
        the ITE airflow still sets the server fan power).
    flow_tol_frac : float
        Largest relative change of a device's airflow before the flow is re-solved.
    control_tol_k : float
        Convergence of the iteration within a step [K].
    max_inner_iterations, direct_inner_iterations : int
        Iteration limits within a step (linear and direct modes).
    verify_every_h : float
        Check the linear response against a direct solve this often [h] at first; the
        interval doubles after every check better than a quarter of ``linear_tol_k`` (up
        to a week) and falls back after a failed one (0: only at snapshots and outside
        the linear range).
    linear_tol_k : float
        Largest error of the linear response before it is rebuilt [K].
    max_response_columns : int
        More inputs than this: racks grouped by row, units by entry.
    snapshot_times_h : tuple of float
        Hours after the start for 3D snapshots (nearest step); default first and last step.
    snapshot_every_h : float
        Also a snapshot every so many hours (0: off).
    ashrae_class : str
        Allowable class for RCI and compliance (default A1).
    substeps : int
        Samples of the utilisation profile per step (step means).
    checkpoint_every_s : float
        Wall time between checkpoints of the results file [s] (0: after every step).
    solver : dict
        Overrides of :class:`kernels.solver.SolverSettings`.
    """

    hours: float = 24.0
    step_s: float = 900.0
    start_h: float = 0.0
    cell_m: float = 0.2
    backend: str = "auto"
    thermal: str = "linear"
    profile: str = "training"
    utilization: float | None = None
    halls: tuple = ()
    target_inlet_temp_c: float = 27.0
    airflow_ratio: float = 1.2
    rack_airflow: str = "model"
    flow_tol_frac: float = 0.10
    control_tol_k: float = 0.01
    max_inner_iterations: int = 60
    direct_inner_iterations: int = 6
    verify_every_h: float = 6.0
    linear_tol_k: float = 0.1
    max_response_columns: int = 48
    snapshot_times_h: tuple | None = None
    snapshot_every_h: float = 0.0
    ashrae_class: str = "A1"
    substeps: int = 12
    checkpoint_every_s: float = 30.0
    solver: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("hours", "step_s", "cell_m", "airflow_ratio", "control_tol_k", "linear_tol_k"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"run setting {name} = {v!r} must be a positive number")
        if not (math.isfinite(self.checkpoint_every_s) and self.checkpoint_every_s >= 0):
            raise InputError(f"run setting checkpoint_every_s = {self.checkpoint_every_s!r} must be a "
                             "number of seconds >= 0 (0: after every step)")
        if not (self.flow_tol_frac > 0):
            raise InputError(f"run setting flow_tol_frac = {self.flow_tol_frac} must be > 0 (inf: never re-solve)")
        if self.rack_airflow not in ("model", "design"):
            raise InputError(f"rack_airflow '{self.rack_airflow}' is unknown; choose model or design")
        if self.thermal not in THERMAL_MODES:
            raise InputError(f"thermal mode '{self.thermal}' is unknown; choose one of {', '.join(THERMAL_MODES)}")
        if self.ashrae_class not in ASHRAE_CLASSES:
            raise InputError(f"ASHRAE class '{self.ashrae_class}' is unknown; choose one of {sorted(ASHRAE_CLASSES)}")
        if self.profile not in PROFILES and not str(self.profile).lower().endswith(".csv"):
            raise InputError(f"utilisation profile '{self.profile}' is unknown; choose one of "
                             f"{', '.join(sorted(PROFILES))} or a .csv trace")
        for name in ("max_inner_iterations", "direct_inner_iterations", "substeps", "max_response_columns"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise InputError(f"run setting {name} = {v!r} must be an integer >= 1")
        if self.utilization is not None and not 0.0 <= self.utilization <= 1.0:
            raise InputError(f"utilization {self.utilization} must be within 0..1")
        steps = self.hours * 3600.0 / self.step_s
        if abs(steps - round(steps)) > 1e-6 or round(steps) < 1:
            raise InputError(f"{self.hours} h is not a whole number of {self.step_s:g} s steps")
        if self.step_s > 3600.0 + 1e-9:
            raise InputError(f"step {self.step_s:g} s is longer than an hour; the weather and tariffs are hourly")
        object.__setattr__(self, "halls", tuple(self.halls))
        if self.snapshot_times_h is not None:
            object.__setattr__(self, "snapshot_times_h", tuple(float(t) for t in self.snapshot_times_h))
        object.__setattr__(self, "solver", dict(self.solver))

    @property
    def n_steps(self) -> int:
        return int(round(self.hours * 3600.0 / self.step_s))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["halls"] = list(self.halls)
        d["snapshot_times_h"] = None if self.snapshot_times_h is None else list(self.snapshot_times_h)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunSettings":
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if kw.get("halls") is not None:
            kw["halls"] = tuple(kw["halls"])
        if kw.get("flow_tol_frac") is None:
            kw["flow_tol_frac"] = float("inf")
        return cls(**kw)


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


# ==================================================================================== builders
def rack_spec_for(rack, rho_cp_j_m3k: float = _RHO_CP) -> RackSpec:
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


def _stage_with_efficiency(stage: QuadraticLoss, efficiency: float, load_frac: float = 0.75) -> QuadraticLoss:
    """Scale a loss curve so its efficiency at ``load_frac`` is ``efficiency`` (shape kept)."""
    x = load_frac
    per = stage.no_load_frac + stage.proportional_frac * x + stage.square_frac * x * x
    want = x * (1.0 / efficiency - 1.0)
    s = want / per if per > 0 else 1.0
    return replace(stage, no_load_frac=min(stage.no_load_frac * s, 0.99),
                   proportional_frac=min(stage.proportional_frac * s, 0.99),
                   square_frac=min(stage.square_frac * s, 0.99),
                   source=stage.source + f"; scaled to {efficiency:.3f} at {x:.0%} load (facility file)")


def chain_for(fac: Facility, design_it_w: float) -> ElectricalChain:
    """Electrical chain from the facility's UPS and transformer records (typical loss
    shapes of :mod:`twin.models.power` scaled to their stated efficiency at 75 % load), or
    sized at 1.25x the design IT when the file gives none (est.)."""
    pw = fac.power
    rated = max(design_it_w * _CHAIN_MARGIN, 1.0)
    ups_w = sum(u.count * u.capacity_kw * 1e3 for u in pw.ups) if pw and pw.ups else rated
    ups = ups_double_conversion(ups_w)
    if pw and pw.ups:
        eff = sum(u.count * u.capacity_kw * u.efficiency_frac for u in pw.ups) / sum(
            u.count * u.capacity_kw for u in pw.ups)
        ups = _stage_with_efficiency(ups, eff)
    tr_w = (sum(t.count * t.capacity_kva * 1e3 for t in pw.transformers)
            if pw and pw.transformers else rated * 1.5)
    tr = transformer_dry_type(tr_w)
    if pw and pw.transformers:
        eff = sum(t.count * t.capacity_kva * t.efficiency_frac for t in pw.transformers) / sum(
            t.count * t.capacity_kva for t in pw.transformers)
        tr = _stage_with_efficiency(tr, eff, load_frac=0.5)
    return ElectricalChain(transformer=tr, ups=ups, pdu=pdu_typical(rated))


def _pump_spec(p, count_flow=True) -> PumpSpec:
    head_m = p.head_kpa * 1e3 / (WATER_DENSITY_KG_M3 * GRAVITY_M_S2)
    return PumpSpec(p.name, p.flow_m3_s * p.count, head_m, p.efficiency_frac)


def plant_spec_for(plant: Plant | None, chw_design_w: float, liquid_design_w: float) -> tuple[PlantSpec, list]:
    """A :class:`~twin.models.plant.PlantSpec` from the facility's plant section.

    The plant is sized by :func:`~twin.models.plant.design_plant` for the design loads;
    then the file's chillers (count, capacity, COP), cooling towers (approach, range, fan
    power, cells), dry coolers and pumps replace the sized ones. With no plant section:
    the defaults of :class:`twin.facility.Plant` (chilled water 14/22 °C, facility water
    32 °C, no economizer). Returns ``(spec, notes)``.
    """
    notes = []
    p = plant or Plant()
    econ = p.economizer is not None and p.economizer.kind == "water-side"
    if p.economizer is not None and p.economizer.kind == "air-side":
        notes.append("air-side economizer is not modelled; the plant runs without economizer")
    liquid_rejection = "dry_cooler" if p.dry_coolers else "tower"
    n_ch = sum(c.count for c in p.chillers) or None
    kw = dict(chw_supply_temp_c=p.chilled_water_supply_temp_c,
              chw_design_delta_t_k=p.chilled_water_return_temp_c - p.chilled_water_supply_temp_c,
              facility_supply_temp_c=p.facility_water_supply_temp_c, economizer=econ,
              hx_approach_k=p.economizer.hx_approach_k if p.economizer is not None else 1.5)
    if p.dry_coolers:
        kw["dry_cooler_design_approach_k"] = float(np.mean([d.approach_k for d in p.dry_coolers]))
    spec = design_plant(max(chw_design_w, 1.0), liquid_design_w, n_chillers=n_ch,
                        liquid_rejection=liquid_rejection, **kw)
    ch = {}
    if p.chillers:
        cap = sum(c.count * c.capacity_kw for c in p.chillers) * 1e3 / n_ch
        cop = sum(c.count * c.capacity_kw * c.cop for c in p.chillers) / sum(
            c.count * c.capacity_kw for c in p.chillers)
        ch["chiller"] = replace(spec.chiller.scaled(cap), reference_cop=cop)
        ch["n_chillers"] = n_ch
    if p.cooling_towers:
        heat = sum(t.count * t.capacity_kw for t in p.cooling_towers) * 1e3
        ch["tower"] = CoolingTowerSpec(
            name="cooling towers", design_heat_w=heat,
            design_wet_bulb_c=spec.tower.design_wet_bulb_c,
            design_range_k=float(np.mean([t.range_k for t in p.cooling_towers])),
            design_approach_k=float(np.mean([t.approach_k for t in p.cooling_towers])),
            design_fan_power_w=sum(t.count * t.fan_power_kw for t in p.cooling_towers) * 1e3,
            n_cells=sum(t.count for t in p.cooling_towers))
    if p.dry_coolers and liquid_design_w > 0:
        ch["dry_cooler"] = DryCoolerSpec(
            name="dry coolers", design_heat_w=sum(d.count * d.capacity_kw for d in p.dry_coolers) * 1e3,
            design_approach_k=float(np.mean([d.approach_k for d in p.dry_coolers])),
            design_fan_power_w=sum(d.count * d.fan_power_kw for d in p.dry_coolers) * 1e3)
        if any(d.adiabatic for d in p.dry_coolers):
            notes.append("dry coolers: adiabatic pre-cooling is not modelled (dry operation)")
    for pump in p.pumps:
        key = {"chilled-water": "chw_pump", "condenser-water": "cw_pump",
               "facility-water": "fw_pump"}.get(pump.loop)
        if key is None:
            notes.append(f"pump {pump.name}: loop '{pump.loop}' is not part of the plant model; ignored")
            continue
        if key == "fw_pump" and liquid_design_w <= 0:
            continue
        ch[key] = _pump_spec(pump)
    if ch:
        spec = replace(spec, **ch)
    return spec, notes


# ==================================================================================== flow states
@dataclass
class FlowState:
    """A solved flow field of one hall and its thermal response (host arrays)."""

    key: str
    flows: np.ndarray                 # per device (problem order) [m3/s]
    fields: dict                      # solver arrays after the steady solve
    x0: np.ndarray                    # inputs of the linearisation
    y0: np.ndarray                    # intake-face temperatures at x0 [degC]
    K: np.ndarray | None = None       # d(face temps)/d(inputs)
    columns: int = 0
    info: dict = field(default_factory=dict)
    sid: int = 0                      # running number within the hall (for the records)

    def to_tree(self) -> dict:
        d = {"key": self.key, "flows": self.flows, "fields": dict(self.fields), "x0": self.x0,
             "y0": self.y0, "columns": self.columns, "sid": self.sid,
             "info": json.dumps(self.info, default=float)}
        if self.K is not None:
            d["K"] = self.K
        return d

    @classmethod
    def from_tree(cls, d) -> "FlowState":
        return cls(key=str(d["key"]), flows=np.asarray(d["flows"], float),
                   fields={k: np.asarray(v) for k, v in d["fields"].items()},
                   x0=np.asarray(d["x0"], float), y0=np.asarray(d["y0"], float),
                   K=None if "K" not in d else np.asarray(d["K"], float),
                   columns=int(d.get("columns", 0)), info=json.loads(d.get("info", "{}")),
                   sid=int(d.get("sid", 0)))


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(np.ascontiguousarray(p).tobytes())
            h.update(str(p.dtype).encode())
            h.update(str(p.shape).encode())
        else:
            h.update(repr(p).encode())
    return h.hexdigest()[:24]


# ==================================================================================== one hall
class HallModel:
    """One solved hall: its mesh, solver, devices, controls and flow states."""

    def __init__(self, sim: "Simulation", hall_name: str, replicas: list[str]):
        from twin.thermal.mesh import mesh_hall
        from kernels.solver import Solver, SolverSettings

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
        self.rack_dev = np.array([i for i, d in enumerate(p.devices) if d.kind == "rack"], dtype=int)
        self.cooler_dev = np.array([i for i, d in enumerate(p.devices) if d.kind == "cooler"], dtype=int)
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
        self.rack_design_air_w = np.array([r.design_power_w * (1 - r.liquid_capture_frac) for r in self.racks])
        self.rack_liquid = np.array([r.liquid_capture_frac > 0 for r in self.racks])
        self.rack_design_flow = np.array([r.flow_m3_s for r in self.racks], dtype=float)
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
                                source="sized from the facility's unit: capacity at its airflow and "
                                       "supply temperature, chilled water at the plant's supply and range")
            except InputError as exc:
                raise InputError(f"cooling unit {u.name}: its coil cannot deliver {u.supply_temp_c} degC "
                                 f"air from {self.chw_supply_c} degC chilled water ({exc}); raise the "
                                 "unit's supply_temp_c or lower the plant's chilled_water_supply_temp_c") from None
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
            q = float(sum(self.racks[i].design_power_w * self.racks[i].liquid_capture_frac for i in orphans))
            spec = CduSpec(name=f"{hall_name}/liquid-loop", design_heat_w=max(q, 1.0), design_approach_k=3.0)
            self.cdus.append((spec.name, spec, orphans))
            row = np.zeros((1, self.n_r))
            row[0, orphans] = 1.0
            member = np.vstack([member, row])
            sim.note(f"hall {hall_name}: {orphans.size} liquid-cooled racks served by no CDU; an implicit "
                     f"CDU of {q / 1e3:.0f} kW (3 K approach, est.) carries their liquid heat")
        count = member.sum(axis=0)
        self.cdu_member = member
        self.cdu_share = member / np.where(count > 0, count, 1.0)     # heat split, (cdu, rack)
        self.rack_n_cdus = count
        shared = [c for c in range(len(self.cdus)) if np.any(member[c] * (count > 1))]
        if shared:
            sim.note(f"hall {hall_name}: {len(shared)} CDUs share racks (a common manifold); each rack's "
                     "liquid heat is split equally among the CDUs serving it")
        self.cdu_pump_w = np.array([float(cdu_step(0.0, 30.0, sp).pump_power_w) for _, sp, _ in self.cdus])
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
        self.state = {
            "tin": np.full(self.n_r, s.target_inlet_temp_c - 3.0),
            "ts_set": ts0.copy(),
            "ts_deliv": ts0.copy(),
            "coolant": np.full(self.n_r, plant.facility_supply_temp_c),
            "active": "",
            "last_verify_h": -np.inf,
            "lim_checked": np.zeros(self.n_c, dtype=bool),
            "verify_interval_h": s.verify_every_h,
        }
        self.n_created = 0
        self._replace_states = False
        self.states: list[FlowState] = []
        self._pending: list[FlowState] = []
        self._loaded = None               # key of the flow state whose fields the solver holds
        self._fresh = self._capture()
        geometry = [self.problem.solid, repr(self.problem.grid), repr(self.problem.boundaries),
                    repr(self.problem.fluid), repr(self.problem.turbulence)]
        for d in self.problem.devices:
            geometry += [d.name, d.kind, d.intake.cells, d.intake.axis, d.intake.side,
                         d.exhaust.cells, d.exhaust.axis, d.exhaust.side]
        for r in self.problem.resistances:
            geometry += [r.faces, r.axis, r.k_loss]
        for src in self.problem.sources:
            geometry += [src.cells, src.power_w]
        self._fresh_key = _digest("fresh", self.problem.name, *geometry, s.solver, s.cell_m,
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
                cols.append((self.n_r + np.array(ix), np.ones(len(ix)), f"units {ent}"))
        else:
            for j in range(self.n_c):
                cols.append((np.array([self.n_r + j]), np.ones(1), self.units[j].name))
        if group_racks:
            self.sim.note(f"hall {self.name}: {n_in} thermal inputs > {max_cols}: the linear response "
                          f"groups racks by row ({len(racks_by_row)} rows)"
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

    def _capture(self) -> dict:
        return self.solver.get_state()

    def _restore(self, fields: dict):
        self.solver.set_state({k: v for k, v in fields.items() if k in self.solver.STATE_FIELDS})

    def _set_T(self, T):
        self.solver.set_state({"T": T})

    def _faces_from_solver(self) -> np.ndarray:
        T = self.solver.backend.to_host(self.solver.T)
        return np.asarray(T[self.face_ijk], dtype=float)

    def devices(self, flows, x):
        """Solver devices at per-device ``flows`` and inputs ``x`` (rack heats, supply temps)."""
        base = list(self.problem.devices)
        out = list(base)
        for k, i in enumerate(self.rack_dev):
            out[i] = replace(base[i], flow_m3_s=float(flows[i]), heat_w=float(max(x[k], 0.0)))
        for k, i in enumerate(self.cooler_dev):
            out[i] = replace(base[i], flow_m3_s=float(flows[i]), supply_temp_c=float(x[self.n_r + k]),
                             capacity_w=float("inf"))
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
    def _load(self, st: FlowState):
        if self._loaded != st.key:
            self._restore(st.fields)
            self._loaded = st.key

    def direct(self, st: FlowState, x) -> tuple[np.ndarray, dict]:
        """Intake-face temperatures from a direct steady heat solve at ``st``'s flow."""
        self._load(st)
        self._set_T(st.fields["T"])
        self.solver.set_devices(self.devices(st.flows, x))
        # the heat solve's Jacobian reads the devices' intake state: make it that of the
        # restored field, not of whatever the solver did last (history-free, reproducible)
        self.solver.device_temperatures()
        self.solver.finish_energy()
        self.sim.counters["energy_solves"] += 1
        return self._faces_from_solver(), self.solver.energy_budget()

    def build_response(self, st: FlowState, x0, y0):
        """``K`` by superposition: one direct solve per response column."""
        t0 = time.perf_counter()
        n_in = self.n_r + self.n_c
        K = np.zeros((len(y0), n_in))
        for n, (ix, dx, label) in enumerate(self.columns):
            x = np.array(x0, dtype=float)
            x[ix] += dx
            y, _ = self.direct(st, x)
            col = y - y0
            for i, d in zip(ix, dx):
                K[:, i] = col / (len(ix) * d)
            self.sim.event("response", {"hall": self.name, "column": n + 1, "of": len(self.columns)})
        st.x0, st.y0, st.K = np.array(x0, float), np.array(y0, float), K
        st.columns = len(self.columns)
        st.info["response_wall_s"] = time.perf_counter() - t0
        self.sim.counters["response_builds"] += 1

    def new_state(self, flows, x, need_response: bool, warm: FlowState | None) -> FlowState:
        """Solve the flow at ``flows`` (warm-started from ``warm``), with its response."""
        s = self.sim.settings
        src_key = warm.key if warm is not None else self._fresh_key
        key = _digest(src_key, np.asarray(flows, float), np.asarray(x, float), s.solver, s.cell_m,
                      self.backend_name, [c[2] for c in self.columns])
        memo = self.sim.flow_memo
        self.n_created += 1
        if memo is not None and key in memo:
            m = memo[key]
            st = FlowState(key=key, flows=m.flows.copy(), fields={k: v.copy() for k, v in m.fields.items()},
                           x0=m.x0.copy(), y0=m.y0.copy(), K=None if m.K is None else m.K.copy(),
                           columns=m.columns, info=dict(m.info, memo=True), sid=self.n_created)
            self.sim.counters["memo_hits"] += 1
            if need_response and st.K is None:
                self.build_response(st, st.x0, st.y0)
                m.K, m.x0, m.y0, m.columns = st.K.copy(), st.x0.copy(), st.y0.copy(), st.columns
            self._pending.append(st)
            return st
        self._restore(warm.fields if warm is not None else self._fresh)
        self._loaded = None
        self.solver.time_s = 0.0          # the steady criterion differences times: start alike
        self.solver.steps = 0
        self.solver.set_devices(self.devices(flows, x))
        self.sim.event("flow", {"hall": self.name, "start": True})
        res = self.solver.solve_steady(
            progress=lambda n, info: self.sim.event("flow", {"hall": self.name, "iteration": n, **info}))
        self.sim.counters["flow_solves"] += 1
        if not res.converged:
            self.sim.note(f"hall {self.name}: the flow solve stopped after {res.iterations} iterations "
                          f"without meeting its criterion (velocity residual {res.residuals.get('velocity'):.3g}, "
                          f"heat imbalance {res.residuals.get('energy_imbalance'):.3g}, "
                          f"{res.residuals.get('mode', '')}); results use it as it is")
        fields = self._capture()
        st = FlowState(key=key, flows=np.asarray(flows, float).copy(), fields=fields,
                       x0=np.asarray(x, float).copy(), y0=self._faces_from_solver(), sid=self.n_created,
                       info={"iterations": res.iterations, "wall_s": res.wall_s,
                             "converged": bool(res.converged),
                             "velocity_residual": float(res.residuals.get("velocity", np.nan))})
        self._loaded = key
        if need_response:
            self.build_response(st, st.x0, st.y0)
        if memo is not None:
            memo[key] = FlowState(key=key, flows=st.flows.copy(), fields={k: v.copy() for k, v in fields.items()},
                                  x0=st.x0.copy(), y0=st.y0.copy(), K=None if st.K is None else st.K.copy(),
                                  columns=st.columns, info=dict(st.info))
        self._pending.append(st)
        return st

    def all_states(self):
        return self.states + self._pending

    def find_state(self, flows) -> FlowState | None:
        """A kept flow state whose flows are all within the tolerance of ``flows``."""
        best, best_d = None, np.inf
        for st in self.all_states():
            d = _flow_dev(st.flows, flows)
            if d < best_d:
                best, best_d = st, d
        return best if best is not None and best_d <= self.sim.settings.flow_tol_frac else None

    def nearest_state(self, flows) -> FlowState | None:
        best, best_d = None, np.inf
        for st in self.all_states():
            d = _flow_dev(st.flows, flows)
            if d < best_d:
                best, best_d = st, d
        return best

    #: Longest interval between checks of the linear response [h] (it doubles from
    #: ``verify_every_h`` after every check better than a quarter of ``linear_tol_k``).
    MAX_VERIFY_INTERVAL_H = 168.0
    #: Most flow states kept per hall (the oldest unused one goes first).
    MAX_STATES = 24

    def commit(self, active_key: str = ""):
        if self._replace_states:
            self.states = [st for st in self._pending if st.key == active_key] or self._pending[-1:]
        else:
            self.states += self._pending
            while len(self.states) > self.MAX_STATES:
                drop = next((i for i, st in enumerate(self.states) if st.key != active_key), None)
                if drop is None:
                    break
                self.states.pop(drop)
        self._pending = []

    # ------------------------------------------------------------------ physics of a step
    def rack_models(self, u, tin, coolant) -> dict:
        out = {k: np.zeros(self.n_r) for k in ("power_w", "air_w", "liquid_w", "flow_m3_s", "fan_w", "work")}
        for spec, ix in self.spec_groups:
            r = rack_power(u[ix], tin[ix], spec,
                           coolant[ix] if spec.liquid_capture_fraction > 0 else None)
            out["power_w"][ix] = r.power_w
            out["air_w"][ix] = r.heat_to_air_w
            out["liquid_w"][ix] = r.heat_to_liquid_w
            out["flow_m3_s"][ix] = r.airflow_m3_s
            out["fan_w"][ix] = r.fan_power_w
            out["work"][ix] = r.work_fraction
        return out

    def desired_flows(self, rack_flow) -> tuple[np.ndarray, float]:
        """Per-device flows: racks at their server airflow, units at the matched speed."""
        flows = np.zeros(len(self.problem.devices))
        if self.sim.settings.rack_airflow == "design":
            rack_flow = self.rack_design_flow
        flows[self.rack_dev] = rack_flow
        total = float(self.cooler_design_flow.sum())
        speed = 1.0
        if total > 0:
            speed = float(np.clip(self.sim.settings.airflow_ratio * rack_flow.sum() / total,
                                  _FAN_MIN_SPEED, 1.0))
        flows[self.cooler_dev] = speed * self.cooler_design_flow
        return flows, speed

    def coils_fast(self, flow_c, t_ret, ts_set):
        """Delivered supply and whether each coil is short, from the full-flow coil (the
        valve's set-point search of :func:`crah_coil` is left for the record)."""
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
            t, _ = supply_control_step(np.full(self.n_c, max_inlet), ts_set, np.full(self.n_c, speed), spec)
            return np.atleast_1d(np.asarray(t, dtype=float))
        hi = spec.target_inlet_temp_c
        lo = hi - spec.deadband_k
        if lo <= max_inlet <= hi:
            return np.asarray(ts_set, dtype=float)
        goal = hi - 0.5 * spec.deadband_k
        return np.clip(np.asarray(ts_set, float) + (goal - max_inlet), spec.min_supply_temp_c,
                       spec.max_supply_temp_c)

    def advance(self, k: int, t_mid_h: float, u: np.ndarray, fw_supply_c: float, snapshot: bool) -> tuple:
        """One step of this hall; returns ``(HallStep, Snapshot or None)``. Nothing is
        committed (the caller commits when the whole step succeeded)."""
        s = self.sim.settings
        st0 = self.state
        tin = st0["tin"].copy()
        ts_set = st0["ts_set"].copy()
        ts_deliv = st0["ts_deliv"].copy()
        coolant = st0["coolant"].copy()
        mode = s.thermal
        rm = self.rack_models(u, tin, coolant)
        want, speed = self.desired_flows(rm["flow_m3_s"])
        active = self._state_by_key(st0["active"])
        reason = ""
        if mode == "linear":
            st = self._pick_state(want, rm["air_w"], ts_deliv, active)
        elif mode == "direct":
            st = self._direct_state(want, rm["air_w"], ts_deliv, active)
        else:
            st = active
        if mode == "transient":
            return self._advance_transient(k, t_mid_h, u, fw_supply_c, snapshot, st, want, speed)

        switches = 0
        while True:
            flow_c = st.flows[self.cooler_dev]
            speed_c = flow_c / np.where(self.cooler_design_flow > 0, self.cooler_design_flow, 1.0)
            it, conv, y, budget = 0, False, None, None
            max_it = s.max_inner_iterations if mode == "linear" else s.direct_inner_iterations
            for it in range(1, max_it + 1):
                rm = self.rack_models(u, tin, coolant)
                x = np.concatenate([rm["air_w"], ts_deliv])
                if mode == "linear":
                    y = st.y0 + st.K @ (x - st.x0)
                else:
                    y, budget = self.direct(st, x)
                mean, mx = self.device_stats(y)
                tin_new = mean[self.rack_dev]
                t_ret = mean[self.cooler_dev]
                # controls on what x produced, then the coils at the new set-point (so the
                # next evaluation sees it: one iteration of delay, no oscillation)
                ts_new = self.control(float(tin_new.max()) if self.n_r else 0.0, ts_set,
                                      float(speed_c.mean()) if self.n_c else 1.0)
                deliv, lim = self.coils_fast(flow_c, t_ret, ts_new)
                cool_new = self.cdu_states(rm["liquid_w"], fw_supply_c)[4]
                change = max(_maxabs(tin_new - tin), _maxabs(ts_new - ts_set), _maxabs(deliv - ts_deliv),
                             _maxabs(cool_new - coolant))
                x_used, rm_used, set_used = x, rm, ts_set
                tin, ts_set, ts_deliv, coolant = tin_new, ts_new, deliv, cool_new
                if change < s.control_tol_k:
                    conv = True
                    break
            # flows after the iteration: re-solve if they moved out of tolerance
            rm_end = self.rack_models(u, tin, coolant)
            want, speed = self.desired_flows(rm_end["flow_m3_s"])
            if (mode == "linear" and switches < 1 and _flow_dev(st.flows, want) > s.flow_tol_frac):
                switches += 1
                st = self._pick_state(want, rm_end["air_w"], ts_deliv, st)
                continue
            break

        # recorded state: the inputs of the last thermal evaluation and its outputs
        rm, x = rm_used, x_used
        mean, mx = self.device_stats(y)
        lin_err = float("nan")
        verified_h = st0["last_verify_h"]
        next_interval = float(st0.get("verify_interval_h", s.verify_every_h))
        if mode == "linear":
            lin_mean = mean.copy()
            q = rm["air_w"]
            out_of_range = bool(np.any(q < -1e-9) or np.any(q > 1.5 * np.maximum(self.rack_design_air_w, 1.0)))
            returns_low = bool(np.any(mean[self.cooler_dev] < x[self.n_r:] - 1e-6))
            # a coil short of capacity enters the field through its warmer delivered supply,
            # an input of the response: check directly when the set of short coils changes
            coil_limited = bool(np.any(np.asarray(lim, bool) != st0["lim_checked"]))
            interval = float(st0.get("verify_interval_h", s.verify_every_h))
            verify_due = (s.verify_every_h > 0 and t_mid_h - st0["last_verify_h"] >= interval - 1e-9)
            why = [w for w, c in (("coil limit changed", coil_limited), ("heat outside the linear range", out_of_range),
                                  ("return below supply", returns_low), ("snapshot", snapshot),
                                  ("verification", verify_due)) if c]
            if why:
                y, budget = self.direct(st, x)
                mean, mx = self.device_stats(y)
                lin_err = float(np.max(np.abs(mean - lin_mean)))
                verified_h = t_mid_h
                reason = ", ".join(why)
                if lin_err > s.linear_tol_k:
                    self.sim.note(f"step {k} hall {self.name}: linear response off by {lin_err:.3f} K "
                                  f"(> {s.linear_tol_k} K); rebuilt around the current state")
                    self.build_response(st, x, y)
                    next_interval = s.verify_every_h
                elif lin_err < 0.25 * s.linear_tol_k:
                    next_interval = min(2.0 * interval, max(s.verify_every_h, self.MAX_VERIFY_INTERVAL_H))
                if coil_limited or out_of_range or returns_low:
                    self.sim.counters["fallback_steps"] += 1
                    self.sim.note(f"hall {self.name}: outside the linear range ("
                                  + ", ".join(w for w in why if w not in ("snapshot", "verification"))
                                  + "): the step's heat field is a direct solve", step=k)
        self._replace_states = mode == "direct"
        self._next_state = {
            "tin": mean[self.rack_dev].copy(), "ts_set": ts_set.copy(), "ts_deliv": x[self.n_r:].copy(),
            "coolant": coolant.copy(), "active": st.key, "last_verify_h": verified_h,
            "lim_checked": (np.asarray(lim, bool).copy() if verified_h == t_mid_h
                            else st0["lim_checked"].copy()),
            "verify_interval_h": next_interval,
        }
        rec = self._record(k, mode if (mode != "linear" or not reason) else "direct", reason, it, conv,
                           lin_err, st, u, rm, x, mean, mx, set_used, budget, fw_supply_c)
        snap = self._snapshot(k, t_mid_h) if snapshot else None
        return rec, snap

    def _advance_transient(self, k, t_mid_h, u, fw_supply_c, snapshot, st, want, speed):
        s = self.sim.settings
        st0 = self.state
        tin, ts_set, ts_deliv, coolant = (st0[n].copy() for n in ("tin", "ts_set", "ts_deliv", "coolant"))
        if st is None:
            rm = self.rack_models(u, tin, coolant)
            st = self.new_state(want, np.concatenate([rm["air_w"], ts_deliv]), False, None)
        self._load(st)
        rm = self.rack_models(u, tin, coolant)
        x = np.concatenate([rm["air_w"], ts_deliv])
        self.solver.set_devices(self.devices(want, x))
        self.solver.run(s.step_s)
        self.sim.counters["transient_steps"] += 1
        y = self._faces_from_solver()
        budget = self.solver.energy_budget()
        mean, mx = self.device_stats(y)
        flow_c = want[self.cooler_dev]
        deliv, lim = self.coils_fast(flow_c, mean[self.cooler_dev], ts_set)
        ts_new = self.control(float(mean[self.rack_dev].max()) if self.n_r else 0.0, ts_set, speed,
                              sampled=True)
        _, _, _, _, cool_new = self.cdu_states(rm["liquid_w"], fw_supply_c)
        # the solver's evolving state becomes the flow state
        key = _digest(st.key, k)
        self.n_created += 1
        st2 = FlowState(key=key, flows=np.asarray(want, float), fields=self._capture(), x0=x, y0=y,
                        sid=self.n_created)
        self._loaded = key
        self._pending = [st2]
        self._replace_states = True
        self._next_state = {"tin": mean[self.rack_dev].copy(), "ts_set": ts_new, "ts_deliv": deliv,
                            "coolant": cool_new, "active": key, "last_verify_h": st0["last_verify_h"],
                            "lim_checked": np.asarray(lim, bool).copy(),
                            "verify_interval_h": st0.get("verify_interval_h", s.verify_every_h)}
        rec = self._record(k, "transient", "", 1, True, float("nan"), st2, u, rm, x, mean, mx, ts_set,
                           budget, fw_supply_c)
        snap = self._snapshot(k, t_mid_h) if snapshot else None
        return rec, snap

    def _pick_state(self, want, q_air, ts, current: FlowState | None) -> FlowState:
        s = self.sim.settings
        if current is not None and _flow_dev(current.flows, want) <= s.flow_tol_frac:
            return current
        found = self.find_state(want)
        if found is not None:
            if found.K is None:
                self.build_response(found, found.x0, found.y0)
            return found
        return self.new_state(want, np.concatenate([q_air, ts]), True, self.nearest_state(want))

    def _direct_state(self, want, q_air, ts, current):
        if current is not None and _flow_dev(current.flows, want) <= 1e-9:
            return current
        return self.new_state(want, np.concatenate([q_air, ts]), False, current or self.nearest_state(want))

    def _state_by_key(self, key):
        for st in self.states:
            if st.key == key:
                return st
        return None

    def commit_step(self):
        self.commit(self._next_state["active"])
        self.state = self._next_state

    def _record(self, k, mode, reason, it, conv, lin_err, st, u, rm, x, mean, mx, ts_set, budget, fw_supply_c):
        flows = st.flows
        flow_r = flows[self.rack_dev]
        flow_c = flows[self.cooler_dev]
        tin = mean[self.rack_dev]
        t_ret = mean[self.cooler_dev]
        ts = x[self.n_r:]
        q_air = rm["air_w"]
        with np.errstate(divide="ignore", invalid="ignore"):
            t_ex = tin + np.where(flow_r > 0, q_air / (self.rho_cp * np.where(flow_r > 0, flow_r, 1.0)), 0.0)
        cooler_heat = self.rho_cp * flow_c * (t_ret - ts)
        deliv, coil_q, mw, lim = self.coils(flow_c, t_ret, ts_set)
        speed = flow_c / np.where(self.cooler_design_flow > 0, self.cooler_design_flow, 1.0)
        fan_w = np.zeros(self.n_c)
        for spec, ix in self.fan_groups:
            fan_w[ix] = fan_affinity(speed[ix], spec).power_w
        cdu_q, sec_sup, sec_ret, fac_ret, _ = self.cdu_states(rm["liquid_w"], fw_supply_c)
        cls = self.sim.settings.ashrae_class
        rec_env, alw = (RECOMMENDED["H1"] if cls == "H1" else RECOMMENDED["A"]), ASHRAE_CLASSES[cls]
        if self.n_r:
            rci_hi = rci_hi_pct(tin, rec_env.max_temp_c, alw.max_temp_c)
            rci_lo = rci_lo_pct(tin, rec_env.min_temp_c, alw.min_temp_c)
        else:
            rci_hi = rci_lo = float("nan")
        rti = rti_pct(t_ret, ts, flow_c, t_ex - tin, flow_r) if self.n_c and self.n_r else float("nan")
        t_ref = float(np.sum(flow_c * ts) / flow_c.sum()) if self.n_c and flow_c.sum() > 0 else float("nan")
        shi, rhi = shi_rhi(tin, t_ex, t_ref) if self.n_r else (float("nan"), float("nan"))
        bnd = float(budget["boundary_heat_w"] + budget.get("source_heat_w", 0.0)) if budget else 0.0
        return HallStep(
            hall=self.name, replicas=len(self.replicas), thermal_mode=mode, reason=reason,
            inner_iterations=int(it), converged=bool(conv), linear_error_k=lin_err,
            flow_state=int(st.sid),
            rack_inlet_temp_c=tin.copy(), rack_inlet_max_c=mx[self.rack_dev].copy(),
            rack_exhaust_temp_c=t_ex, rack_power_w=rm["power_w"].copy(),
            rack_heat_to_air_w=q_air.copy(), rack_heat_to_liquid_w=rm["liquid_w"].copy(),
            rack_airflow_m3_s=rm["flow_m3_s"].copy(), rack_fan_power_w=rm["fan_w"].copy(),
            rack_utilization_frac=np.asarray(u, float).copy(), rack_work_frac=rm["work"].copy(),
            rack_throttled=rm["work"] < 1.0,
            cooler_return_temp_c=t_ret.copy(), cooler_supply_temp_c=ts.copy(),
            cooler_setpoint_c=np.asarray(ts_set, float).copy(), cooler_airflow_m3_s=flow_c.copy(),
            cooler_fan_speed_frac=speed, cooler_fan_power_w=fan_w, cooler_heat_w=cooler_heat,
            cooler_capacity_limited=np.asarray(lim, bool), cooler_chw_flow_kg_s=mw,
            cdu_heat_w=cdu_q, cdu_secondary_supply_temp_c=sec_sup, cdu_secondary_return_temp_c=sec_ret,
            cdu_facility_return_temp_c=fac_ret, cdu_pump_power_w=self.cdu_pump_w.copy(),
            boundary_heat_w=bnd, rci_hi_pct=rci_hi, rci_lo_pct=rci_lo, rti_pct=rti, shi=shi, rhi=rhi)

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
        st = {k: (np.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in self.state.items()}
        st["last_verify_h"] = float(st["last_verify_h"]) if np.isfinite(st["last_verify_h"]) else -1e300
        st["lim_checked"] = np.asarray(st["lim_checked"], dtype=np.uint8)
        st["n_created"] = int(self.n_created)
        return {"state": st, "flow_states": [s.to_tree() for s in self.states]}

    def load_restart(self, tree: dict):
        st = dict(tree["state"])
        for n in ("tin", "ts_set", "ts_deliv", "coolant"):
            st[n] = np.asarray(st[n], float)
        st["active"] = str(st["active"])
        st["lim_checked"] = np.asarray(st.get("lim_checked", np.zeros(self.n_c)), dtype=bool).reshape(self.n_c)
        st["last_verify_h"] = -np.inf if st["last_verify_h"] <= -1e299 else float(st["last_verify_h"])
        st["verify_interval_h"] = float(st.get("verify_interval_h", self.sim.settings.verify_every_h))
        self.state = st
        self.states = [FlowState.from_tree(d) for d in tree.get("flow_states", [])]
        self.n_created = int(st.pop("n_created", len(self.states)))
        self._pending = []
        self._loaded = None


def _flow_dev(a, b) -> float:
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    den = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-9)
    return float(np.max(np.abs(a - b) / den)) if a.size else 0.0


def _maxabs(a) -> float:
    a = np.asarray(a, float)
    return float(np.max(np.abs(a))) if a.size else 0.0


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
                         "fallback_steps": 0, "transient_steps": 0, "linear_steps": 0, "direct_steps": 0}
        self.k = 0
        self.wall_s = 0.0
        self.status = "running"
        self.series: dict = {}
        self.snapshots: list = []
        self.halls: list[HallModel] = []
        self._campus_pending: list = []
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
        names = fac.hall_names
        if s.halls:
            unknown = [h for h in s.halls if h not in names]
            if unknown:
                raise InputError(f"no hall {', '.join(unknown)} in {fac.campus.name}; halls: {', '.join(names)}")
            names = [h for h in names if h in s.halls]
        if not names:
            raise InputError(f"facility '{fac.campus.name}' has no hall to simulate")
        # identical halls: one solved hall stands for all
        groups: dict = {}
        for h in names:
            groups.setdefault(_hall_signature(fac.hall(h)), []).append(h)
        # design loads (for the plant and the electrical chain), campus-wide
        design_it = design_air = design_liq = 0.0
        for h in names:
            for r in fac.layout(h).racks:
                design_it += r.design_power_w
                design_air += r.design_power_w * (1 - r.liquid_capture_frac)
                design_liq += r.design_power_w * r.liquid_capture_frac
        fan_design = 0.0
        for h in names:
            fan_design += sum(u.airflow_m3_s * _FAN_DP_PA / _FAN_EFF for u in fac.layout(h).units)
        self.design_it_w = design_it
        self.plant_spec, pnotes = plant_spec_for(fac.plant, design_air + fan_design, design_liq)
        for n in pnotes:
            self.note(n)
        self.chain = chain_for(fac, design_it)
        for reps in groups.values():
            self.event("mesh", {"hall": reps[0], "replicas": len(reps)})
            hm = HallModel(self, reps[0], reps)
            self.halls.append(hm)
            if len(reps) > 1:
                self.note(f"hall {reps[0]} is solved once and stands for {len(reps)} identical halls "
                          f"({reps[0]} .. {reps[-1]})")
        # schedules
        n = s.n_steps
        dt_h = s.step_s / 3600.0
        self.t_start_h = s.start_h + np.arange(n) * dt_h
        self.t_mid_h = self.t_start_h + 0.5 * dt_h
        self.weather = load_weather(_weather_spec(fac))
        ws = weather_at(self.weather, self.t_mid_h)
        self.env = {"dry_bulb_c": np.asarray(ws.dry_bulb_temp_c, float),
                    "wet_bulb_c": np.minimum(np.asarray(wet_bulb_temp_c(ws), float), ws.dry_bulb_temp_c),
                    "dew_point_c": np.asarray(ws.dew_point_temp_c, float),
                    "rel_humidity_frac": np.asarray(ws.rel_humidity_frac, float),
                    "ghi_w_m2": np.asarray(ws.ghi_w_m2, float)}
        self.util = self._utilisation()
        self.supply = _renewable_supply(self, self.t_mid_h)
        pw = fac.power
        self.grid_carbon = (pw.grid.carbon_kg_per_kwh if pw and pw.grid else KOREA_GRID_CARBON_KG_PER_KWH)
        if pw and pw.grid:
            self.price = np.full(n, float(pw.grid.tariff_krw_per_kwh))
            self.tariff_name = f"flat {pw.grid.tariff_krw_per_kwh:g} KRW/kWh (facility file)"
        else:
            self.price = np.asarray(tou_price_krw_per_kwh(self.t_mid_h, DEFAULT_TARIFF,
                                                          self.weather.first_weekday), float)
            self.tariff_name = DEFAULT_TARIFF.name
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

    def run(self, callback: Callable | None = None, out_dir=None) -> str:
        """Step to the end (or until interrupted). ``callback(sim, record)`` is called after
        each completed step; raising ``KeyboardInterrupt`` there (or pressing Ctrl-C, or
        SIGTERM under ``twin``, see :mod:`twin.cli.signals`) stops the run cleanly: completed
        steps are kept and written. The results file is rewritten every
        ``settings.checkpoint_every_s`` of wall time (0: after every step). Returns the
        status (``"complete"`` or ``"interrupted"``)."""
        self.prepare()
        t0 = time.perf_counter()
        wall_before = self.wall_s
        self._last_checkpoint = t0
        try:
            while self.k < self.n_steps:
                rec = self.step()
                self.wall_s = wall_before + time.perf_counter() - t0
                if callback is not None:
                    callback(self, rec)
                if out_dir is not None and time.perf_counter() - self._last_checkpoint >= self.settings.checkpoint_every_s:
                    self.write(out_dir)
                    self._last_checkpoint = time.perf_counter()
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
            h._pending = []
        self.flush()
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
        s = self.settings
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
        rec = StepRecord(step=k, time_h=t_mid, step_s=s.step_s, halls=tuple(hall_recs))
        # commit
        for hm in self.halls:
            hm.commit_step()
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

    def flush(self):
        """Evaluate plant, power and renewables of the steps done since the last flush."""
        recs = self._campus_pending
        if not recs:
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cols = self._campus(recs)
        for w in caught:
            self.note(f"{w.category.__name__}: {w.message}", step=recs[0].step)
        for g, d in cols.items():
            grp = self.series.setdefault(g, {})
            for name, arr in d.items():
                grp.setdefault(name, []).extend(np.asarray(arr, float).tolist())
        self._campus_pending = []

    def _campus(self, recs) -> dict:
        """Campus, plant, power and weather series of some steps (vectorised)."""
        s = self.settings
        dt = s.step_s
        ks = np.array([r.step for r in recs], dtype=int)

        def tot(f):
            return np.array([sum(h.replicas * f(h) for h in r.halls) for r in recs], dtype=float)
        it_w = tot(lambda h: h.it_power_w)
        air_w = tot(lambda h: h.heat_to_air_w)
        liq_w = tot(lambda h: h.heat_to_liquid_w)
        cooler_w = tot(lambda h: h.cooler_heat_total_w)
        bnd_w = tot(lambda h: h.boundary_heat_w)
        fan_w = tot(lambda h: float(h.cooler_fan_power_w.sum()))
        cdu_pump_w = np.where(liq_w > 0, tot(lambda h: float(h.cdu_pump_power_w.sum())), 0.0)
        chw_load = np.maximum(cooler_w + fan_w, 0.0)
        liq_load = liq_w + cdu_pump_w
        db, wb = self.env["dry_bulb_c"][ks], self.env["wet_bulb_c"][ks]
        pr = plant_step(chw_load, liq_load, db, wb, self.plant_spec, dt_s=dt)
        plant = {f.name: np.asarray(getattr(pr, f.name), float) * np.ones(len(ks))
                 for f in dataclasses.fields(pr)}
        plant["chw_load_w"] = chw_load
        plant["liquid_load_w"] = liq_load
        plant["balance_w"] = plant["heat_rejected_w"] - (plant["heat_removed_w"] + plant["chiller_power_w"]
                                                         + plant["pump_power_w"])
        cooling_w = plant["total_power_w"] + fan_w + cdu_pump_w
        ch = electrical_chain(it_w, self.chain, non_ups_load_w=cooling_w)
        fac_w = np.asarray(ch.grid_power_w, float)
        # renewables, grid, carbon and cost
        sup = {n: v[ks] for n, v in self.supply.items()}
        cfe_w = sup["carbon_free_w"]
        matched_w = np.minimum(fac_w, cfe_w)
        grid_w = fac_w - matched_w
        e_grid_kwh = grid_w * dt / J_PER_KWH
        used = np.where(cfe_w > 0, matched_w / np.where(cfe_w > 0, cfe_w, 1.0), 0.0)
        co2 = e_grid_kwh * self.grid_carbon + sup["contract_carbon_kg_per_h"] * dt / 3600.0 * used
        cost = e_grid_kwh * self.price[ks] + sup["ppa_cost_krw_per_h"] * dt / 3600.0
        losses = np.asarray(ch.pdu_loss_w + ch.ups_loss_w + ch.transformer_loss_w, float)
        power = {
            "it_power_w": it_w, "pdu_loss_w": np.asarray(ch.pdu_loss_w, float),
            "ups_loss_w": np.asarray(ch.ups_loss_w, float),
            "transformer_loss_w": np.asarray(ch.transformer_loss_w, float), "cooling_power_w": cooling_w,
            "crah_fan_power_w": fan_w, "cdu_pump_power_w": cdu_pump_w,
            "facility_power_w": fac_w, "grid_import_w": grid_w, "renewable_supply_w": sup["renewable_w"],
            "carbon_free_supply_w": cfe_w, "matched_w": matched_w,
            "onsite_pv_w": sup["onsite_pv_w"], "wind_w": sup["wind_w"],
            "contract_solar_w": sup["contract_solar_w"],
            "price_krw_per_kwh": self.price[ks], "carbon_kg_per_kwh": np.full(len(ks), float(self.grid_carbon)),
            "co2_kg": co2, "cost_krw": cost,
        }
        with np.errstate(divide="ignore", invalid="ignore"):
            campus = {
                "it_power_w": it_w, "facility_power_w": fac_w, "cooling_power_w": cooling_w,
                "heat_to_air_w": air_w, "heat_to_liquid_w": liq_w, "cooler_heat_w": cooler_w,
                "boundary_heat_w": bnd_w,
                "pue": np.where(it_w > 0, fac_w / it_w, np.nan),
                "ppue_cooling": np.where(it_w > 0, (it_w + cooling_w) / it_w, np.nan),
                "ppue_electrical": np.where(it_w > 0, (it_w + losses) / it_w, np.nan),
                "water_l": plant["water_use_l"], "co2_kg": co2, "cost_krw": cost,
                "it_balance_w": it_w - air_w - liq_w,
                "air_balance_frac": np.where(air_w > 0, (air_w + bnd_w - cooler_w) / air_w, 0.0),
                "plant_balance_w": plant["balance_w"],
                "max_inlet_c": np.array([r.max_inlet_c for r in recs]),
            }
        weather = {n: v[ks] for n, v in self.env.items()}
        return {"campus": campus, "plant": plant, "power": power, "weather": weather}

    # ------------------------------------------------------------------ series
    def _append(self, rec: StepRecord):
        def put(group, name, value):
            self.series.setdefault(group, {}).setdefault(name, []).append(value)
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
            "racks_over_recommended": [int(np.sum(h.rack_inlet_temp_c > self._recommended().max_temp_c))
                                       for h in hs],
            "linear_error_k": [h.linear_error_k for h in hs],
            "inner_iterations": [h.inner_iterations for h in hs],
            "converged": [h.converged for h in hs],
            "direct": [h.thermal_mode != "linear" for h in hs],
            "flow_state": [h.flow_state for h in hs],
        }
        for name, v in hall_cols.items():
            put("halls", name, np.asarray(v))

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
        """The numbers of ``summary.json`` (energies over the completed steps)."""
        s = self.settings
        a = self._arrays()
        dt = s.step_s
        out = {"status": self.status, "steps": self.k, "steps_planned": self.n_steps,
               "hours": self.k * dt / 3600.0, "step_s": dt, "start_h": s.start_h,
               "thermal": s.thermal, "profile": s.profile,
               "cells": int(sum(h.report.cells for h in self.halls)),
               "backend": self.halls[0].backend_name if self.halls else "",
               "wall_s": round(self.wall_s, 3),
               "halls_solved": [h.name for h in self.halls],
               "halls_represented": int(sum(len(h.replicas) for h in self.halls))}
        if not self.k:
            return out
        c, pw, pl, hl, rk = a["campus"], a["power"], a["plant"], a["halls"], a["racks"]
        it_j = float(np.sum(c["it_power_w"]) * dt)
        fac_j = float(np.sum(c["facility_power_w"]) * dt)
        cool_j = float(np.sum(c["cooling_power_w"]) * dt)
        loss_j = float(np.sum(pw["pdu_loss_w"] + pw["ups_loss_w"] + pw["transformer_loss_w"]) * dt)
        water = float(np.sum(pl["water_use_l"]))
        co2 = float(np.sum(pw["co2_kg"]))
        it_kwh = it_j / J_PER_KWH
        load = c["facility_power_w"]
        ren = pw["renewable_supply_w"]
        cfe = pw["carbon_free_supply_w"]
        inlet = rk["inlet_temp_c"]
        cls = s.ashrae_class
        rec_env, alw = (RECOMMENDED["H1"] if cls == "H1" else RECOMMENDED["A"]), ASHRAE_CLASSES[cls]
        rep_per_rack = np.concatenate([np.full(h.n_r, len(h.replicas)) for h in self.halls])
        over_any = np.any(inlet > rec_env.max_temp_c, axis=0)
        comp = inlet_class_compliance(inlet, cls)
        out.update({
            "pue": fac_j / it_j if it_j > 0 else float("nan"),
            "pue_min": float(np.nanmin(c["pue"])), "pue_max": float(np.nanmax(c["pue"])),
            "ppue_cooling": (it_j + cool_j) / it_j if it_j > 0 else float("nan"),
            "ppue_electrical": (it_j + loss_j) / it_j if it_j > 0 else float("nan"),
            "it_energy_kwh": it_kwh, "facility_energy_kwh": fac_j / J_PER_KWH,
            "cooling_energy_kwh": cool_j / J_PER_KWH,
            "max_rack_inlet_c": float(np.max(inlet)),
            "max_rack_inlet_face_c": float(np.max(rk["inlet_max_c"])),
            "rci_hi_pct": rci_hi_pct(inlet, rec_env.max_temp_c, alw.max_temp_c),
            "rci_lo_pct": rci_lo_pct(inlet, rec_env.min_temp_c, alw.min_temp_c),
            "rci_hi_min_pct": float(np.nanmin(hl["rci_hi_pct"])),
            "rci_lo_min_pct": float(np.nanmin(hl["rci_lo_pct"])),
            "rti_pct": float(np.nanmean(hl["rti_pct"])) if np.any(np.isfinite(hl["rti_pct"])) else float("nan"),
            "shi": float(np.nanmean(hl["shi"])) if np.any(np.isfinite(hl["shi"])) else float("nan"),
            "racks_over_recommended": int(np.sum(over_any * rep_per_rack)),
            "rack_steps_within_recommended_frac": comp["within_recommended_frac"],
            "rack_steps_over_allowable": comp["over_allowable"],
            "throttled_rack_hours": float(np.sum(rk["throttled"] * rep_per_rack) * dt / 3600.0),
            "water_l": water,
            "wue_l_per_kwh": water / it_kwh if it_kwh > 0 else float("nan"),
            "co2_t": co2 / 1000.0,
            "cue_kg_per_kwh": co2 / it_kwh if it_kwh > 0 else float("nan"),
            "renewable_share": float(min(1.0, np.sum(ren) / np.sum(load))) if np.sum(load) > 0 else 0.0,
            "cfe_score": float(np.sum(np.minimum(load, cfe)) / np.sum(load)) if np.sum(load) > 0 else 0.0,
            "cost_krw": float(np.sum(pw["cost_krw"])),
            "tariff": self.tariff_name,
            "grid_carbon_kg_per_kwh": float(self.grid_carbon),
            "energy_closure": {
                "it_max_w": float(np.max(np.abs(c["it_balance_w"]))),
                "air_max_frac": float(np.max(np.abs(c["air_balance_frac"]))),
                "plant_max_w": float(np.max(np.abs(c["plant_balance_w"]))),
            },
            "thermal_solves": dict(self.counters),
            "max_linear_error_k": (float(np.nanmax(hl["linear_error_k"]))
                                   if np.any(np.isfinite(hl["linear_error_k"])) else None),
            "inner_iterations_max": int(np.max(hl["inner_iterations"])),
            "inner_not_converged_steps": int(np.sum(~hl["converged"].astype(bool))),
        })
        return out

    def run_data(self) -> RunData:
        s = self.settings
        fac = self.facility
        src = fac.source
        text = ""
        if src is not None and Path(src).is_file():
            text = Path(src).read_text(encoding="utf-8")
        restart = {"k": self.k, "wall_s": self.wall_s, "counters": dict(self.counters),
                   "notes": json.dumps(self.notes),
                   "halls": {h.name.replace("/", "_"): h.restart_tree() for h in self.halls}}
        descriptions = {
            "racks/inlet_temp_c": "mean air temperature over the rack's intake face",
            "racks/inlet_max_c": "hottest cell of the intake face",
            "racks/exhaust_temp_c": "mean exhaust temperature in the thermal field (frozen-flow airflow)",
            "racks/airflow_m3_s": "server airflow of the ITE model (the field uses the frozen flow)",
            "cooling_units/supply_temp_c": "supply air delivered (set-point, or warmer when the coil is short)",
            "cooling_units/heat_removed_w": "heat taken from the air: rho cp Q (return - supply)",
            "halls/air_balance_frac": "(rack air heat + wall heat - unit heat removed) / rack air heat",
            "halls/linear_error_k": "largest inlet error of the linear response at a direct check (NaN: no check)",
            "halls/direct": "1 where the recorded thermal state is a direct solve",
            "campus/it_balance_w": "IT power - heat to air - heat to liquid (energy closure)",
            "campus/plant_balance_w": "heat rejected - (heat removed + compressor + pump work)",
            "power/co2_kg": "CO2-equivalent of the step (grid import x factor + contracts)",
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
            attrs={"backend": self.halls[0].backend_name if self.halls else "",
                   "cells": int(sum(h.report.cells for h in self.halls)),
                   "thermal": s.thermal, "wall_s": self.wall_s})

    def write(self, out_dir) -> tuple[Path, Path]:
        """Write ``results.h5`` and ``summary.json`` into ``out_dir`` (atomically)."""
        data = self.run_data()
        p = write_results(results_path(out_dir), data)
        q = write_json_atomic(summary_path(out_dir), data.summary)
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
        halls = r.get("halls", {})
        for h in self.halls:
            tree = halls.get(h.name.replace("/", "_"))
            if tree is not None:
                h.load_restart(tree)
        if self.backend_name() != data.attrs.get("backend", self.backend_name()):
            self.note(f"resumed on {self.backend_name()} (the run started on {data.attrs.get('backend')}); "
                      "results continue but are not bit-identical to an uninterrupted run")

    def backend_name(self) -> str:
        return self.halls[0].backend_name if self.halls else ""


# ==================================================================================== helpers
def _hall_signature(hall) -> str:
    d = hall.model_dump(mode="json")
    for k in ("name", "building", "description"):
        d.pop(k, None)
    return json.dumps(d, sort_keys=True)


def _weather_spec(fac: Facility) -> str:
    w = fac.campus.weather
    if w.startswith("builtin:"):
        return w
    p = Path(w)
    if not p.is_absolute() and fac.source is not None:
        p = Path(fac.source).parent / p
    return str(p)


def _renewable_supply(sim: Simulation, t_mid_h) -> dict:
    """Per-step renewable supply [W] and contract carbon and cost rates.

    On-site PV: PVWatts v5 on the site weather (:func:`twin.models.renewables.pv_output`).
    Contracts: solar follows the same PV shape, wind the Ulsan offshore farm's shape
    (:func:`twin.models.renewables.ulsan_offshore_farm`), other kinds flat; each scaled
    so that its annual mean is ``capacity x capacity_factor_frac`` of the contract.
    """
    from twin.models.renewables import PvSystem, pv_output, ulsan_offshore_farm, wind_farm_power_w

    pw = sim.facility.power
    n = len(t_mid_h)
    idx = np.mod(np.floor(t_mid_h).astype(int), 8760)
    out = {k: np.zeros(n) for k in ("onsite_pv_w", "wind_w", "contract_solar_w", "renewable_w",
                                    "carbon_free_w", "contract_carbon_kg_per_h", "ppa_cost_krw_per_h")}
    if pw is None:
        return out
    weather = sim.weather
    pv_unit = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pw.solar_mw > 0 or any(c.kind == "solar" for c in pw.contracts):
            pv = pv_output(weather, PvSystem(dc_capacity_w=1e6))
            pv_unit = np.asarray(pv.ac_power_w, float) / 1e6        # W per W of DC
        wind_unit = None
        if any(c.kind in ("onshore-wind", "offshore-wind") for c in pw.contracts):
            farm = ulsan_offshore_farm()
            wp = np.asarray(wind_farm_power_w(weather.wind_speed_m_s, farm), float)
            wind_unit = wp / farm.rated_power_w
    if pw.solar_mw > 0 and pv_unit is not None:
        out["onsite_pv_w"] = pw.solar_mw * 1e6 * pv_unit[idx]
    for c in pw.contracts:
        cap = c.capacity_mw * 1e6
        if c.kind == "solar":
            shape = pv_unit
        elif c.kind in ("onshore-wind", "offshore-wind"):
            shape = wind_unit
        else:
            shape = None
        if shape is None or shape.mean() <= 0:
            p = np.full(n, cap * c.capacity_factor_frac)
        else:
            p = cap * c.capacity_factor_frac * shape[idx] / shape.mean()
        if c.kind == "solar":
            out["contract_solar_w"] += p
        elif "wind" in c.kind:
            out["wind_w"] += p
        if c.kind in ("solar", "onshore-wind", "offshore-wind", "hydro"):
            out["renewable_w"] += p
        if c.carbon_kg_per_kwh <= 0.05:
            out["carbon_free_w"] += p
        out["contract_carbon_kg_per_h"] += p / 1e3 * c.carbon_kg_per_kwh
        out["ppa_cost_krw_per_h"] += p / 1e3 * c.price_krw_per_kwh
    out["renewable_w"] += out["onsite_pv_w"]
    out["carbon_free_w"] += out["onsite_pv_w"]
    return out
