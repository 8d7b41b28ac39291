"""Settings of a run (:class:`RunSettings`, all stored in the results file), the thermal
modes and durations."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from common.errors import InputError
from twin.models.airside import AIR_CP_J_KG_K, AIR_DENSITY_KG_M3
from twin.models.design_days import PERIODS
from twin.models.metrics import ASHRAE_CLASSES
from twin.models.profiles import PROFILES

from .modes import THERMAL_MODES  # the names of the registered modes (the CLI's choices)

#: ``RunSettings.rack_airflow``: the racks' server airflow follows the rack model, or
#: stays at design (the CLI's choices).
RACK_AIRFLOW = ("model", "design")

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
    dry_bulb_offset_k, dew_point_offset_k : float
        Weather what-if: the site's outdoor air that much warmer (a heat wave), at the
        same moisture unless the dew point is shifted too
        (:func:`twin.models.weather.shifted_weather`) [K].
    solar_scale, wind_scale : float
        Renewable what-if: on-site PV and solar contracts, and wind contracts, delivering
        this fraction of their usual output (0: a windless or dark period) [-].
    grid_carbon_kg_per_kwh : float or None
        Grid what-if: this carbon intensity instead of the facility's (or Korea's) [kg/kWh].
    year : int or None
        The calendar year the run's time stands for (hours after 1 January of it): halls
        of a build phase (``[[phases]]``) draw no IT before their phase's
        ``commissioning_date`` and ramp up over its ``it_ramp_months``
        (:mod:`twin.loop.phases`); None: the campus as fully built.
    phases : tuple of str
        Only the halls of these build phases (default every hall); with ``halls`` the
        halls named there that belong to them.
    period : str
        The named period of the site's weather the run covers (``twin run --period``, a key
        of :data:`twin.models.design_days.PERIODS`; ``""``: none); ``start_h`` is its start.
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
    dry_bulb_offset_k: float = 0.0
    dew_point_offset_k: float = 0.0
    solar_scale: float = 1.0
    wind_scale: float = 1.0
    grid_carbon_kg_per_kwh: float | None = None
    period: str = ""
    year: int | None = None
    phases: tuple = ()

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
        if self.rack_airflow not in RACK_AIRFLOW:
            raise InputError(f"rack_airflow '{self.rack_airflow}' is unknown; choose "
                             f"{' or '.join(RACK_AIRFLOW)}")
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
        for name in ("dry_bulb_offset_k", "dew_point_offset_k"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and -30.0 <= v <= 30.0):
                raise InputError(f"run setting {name} = {v!r} must be a number of kelvin "
                                 "within -30..30")
        for name in ("solar_scale", "wind_scale"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0.0 <= v <= 2.0):
                raise InputError(f"run setting {name} = {v!r} must be a fraction within 0..2 "
                                 "(1: the usual output, 0: none)")
        g = self.grid_carbon_kg_per_kwh
        if g is not None and not (isinstance(g, (int, float)) and math.isfinite(g)
                                  and 0.0 <= g <= 2.0):
            raise InputError(f"run setting grid_carbon_kg_per_kwh = {g!r} must be within "
                             "0..2 kg/kWh (Korea 2023: 0.4173)")
        if self.period and self.period not in PERIODS:
            raise InputError(f"run setting period = {self.period!r} is unknown; choose one of "
                             f"{', '.join(PERIODS)}")
        if self.year is not None and not (isinstance(self.year, int) and 1900 <= self.year <= 2200):
            raise InputError(f"run setting year = {self.year!r} must be a calendar year, e.g. 2030")
        object.__setattr__(self, "halls", tuple(self.halls))
        object.__setattr__(self, "phases", tuple(self.phases))
        if self.snapshot_times_h is not None:
            object.__setattr__(self, "snapshot_times_h", tuple(float(t) for t in self.snapshot_times_h))
        object.__setattr__(self, "solver", dict(self.solver))

    @property
    def n_steps(self) -> int:
        return int(round(self.hours * 3600.0 / self.step_s))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["halls"] = list(self.halls)
        d["phases"] = list(self.phases)
        d["snapshot_times_h"] = None if self.snapshot_times_h is None else list(self.snapshot_times_h)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunSettings":
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if kw.get("halls") is not None:
            kw["halls"] = tuple(kw["halls"])
        if kw.get("phases") is not None:
            kw["phases"] = tuple(kw["phases"])
        if kw.get("year") is not None:
            kw["year"] = int(kw["year"])
        if kw.get("flow_tol_frac") is None:
            kw["flow_tol_frac"] = float("inf")
        return cls(**kw)
