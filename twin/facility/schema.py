"""The facility schema, hall level (pydantic v2, ``extra=forbid``): campus, air,
buildings, rack types, rear doors, rows, racks, cooling units, patches, tiles,
containment, CDUs, obstructions, the envelope, halls; the ranges every quantity must lie in
(``MAX_*``) and the shared constants of the format.

(Longer than the project's 600-line guide: every key of a hall and its parts is declared
here, with its range and its meaning, so that the format reads in one place.)"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from common.errors import InputError
from common.fluids import Fluid

#: Folder of the shipped facilities and rack library (``builtin:NAME`` includes).
BUILTIN_DIR = Path(__file__).resolve().parents[2] / "meshes"
BUILTIN_INCLUDES = {"racks": "racks/racks.toml"}

#: Free space a rack needs in front of its intake [m]: one 600 mm floor tile. Cold aisles
#: are normally two tiles (1.2 m) wide (ASHRAE TC 9.9, *Design Considerations for Datacom
#: Equipment Centers*, 2nd ed., ch. 4, hot-aisle/cold-aisle layout); below one tile the
#: rack draws its own or its neighbours' exhaust.
MIN_INTAKE_CLEARANCE_M = 0.6
#: Free space behind a rack's exhaust [m] (half a tile) before it is taken as blocked.
MIN_EXHAUST_CLEARANCE_M = 0.3
#: Free space in front of a cooling unit's supply and return faces [m].
MIN_UNIT_CLEARANCE_M = 0.3
#: Largest share of a cabinet's server exhaust that may recirculate inside it, or of its
#: intake that may bypass the servers [-]: an open frame without blanking panels reaches a
#: few tenths (est.); beyond 0.8 the cabinet is not a rack but an open box.
MAX_CABINET_LEAK_FRAC = 0.8
#: The pressure difference across a cabinet's leak paths at its stated shares [Pa]: a few
#: pascals in practice (est.); above this it is a wrong unit (in. w.c. are 249 Pa each).
MAX_CABINET_LEAK_DP_PA = 100.0
#: ``rear_door`` value that removes a door a rack type or row gave (a rack without one).
NO_REAR_DOOR = "none"

_AIR = Fluid()          # air properties shared with the thermal core (rho, cp)
_W_PER_KW = 1e3
_TOL = 1e-6             # geometric tolerance [m]
_MAX_INCLUDE_DEPTH = 16
#: Largest facility (or included) file read [bytes]; the shipped campus is a few kB.
MAX_FILE_BYTES = 4 * 2 ** 20
#: Deepest nesting of tables and arrays in a facility file (the format needs about 4).
MAX_NESTING = 64
_MAX_PER_KIND = 25      # repeated messages of one kind per hall before "and N more"

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
NAME_HELP = ("names may use letters, digits, '_', '.' and '-' and start with a letter or "
             "digit (no '/', no spaces)")


# ------------------------------------------------------------------------------- schema
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=64)]
PosReal = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegReal = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Frac = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
OpenFrac = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
LeakFrac = Annotated[float, Field(ge=0, le=MAX_CABINET_LEAK_FRAC, allow_inf_nan=False)]
PosInt = Annotated[int, Field(ge=1)]

# Plausible ranges: what an engineer could mean. A value outside is a typo or a wrong unit,
# refused with the limit named (``_LIMIT_WHY``) rather than solved or run out of memory.
#: Longest side of a hall [m] (the largest data halls are ~150 m; split a building into halls).
MAX_HALL_SIZE_M = 500.0

#: Highest ceiling above the slab [m]; deepest raised floor and return plenum [m].
MAX_HALL_HEIGHT_M = 30.0
MAX_RAISED_FLOOR_M = 3.0
MAX_PLENUM_M = 10.0

#: Largest rack body [m]: width, depth, height (racks are 0.6-1.2 x 1.0-1.4 x 2.0-2.6 m).
MAX_RACK_WIDTH_M, MAX_RACK_DEPTH_M, MAX_RACK_HEIGHT_M = 3.0, 3.0, 4.0

#: Most power of one rack [kW] (liquid-cooled AI racks reach a few hundred kW).
MAX_RACK_POWER_KW = 2000.0

#: A rack's active flow curve (``fan_curve_pa``): most points, largest flow over the
#: design airflow [-] and largest pressure difference either way [Pa] (server fans hold
#: tens to a few hundred pascals; beyond 2,000 Pa a value is in the wrong unit).
MAX_FAN_CURVE_POINTS = 50
MAX_FAN_FLOW_FRAC = 5.0
MAX_FAN_PRESSURE_PA = 2_000.0

#: Most racks in one row, cooling units in one entry, patches or tiles in one row of them.
MAX_ROW_RACKS = 500
MAX_UNIT_COUNT = 200
MAX_PATCH_COUNT = 1000
MAX_TILE_COUNT = 1000

#: Most copies of one hall entry (``count`` of a hall), and of one plant or power item.
MAX_HALL_COPIES = 200

#: Largest IT of one build phase [MW] (documentation of the plan).
MAX_PHASE_IT_MW = 5000.0
MAX_ITEM_COUNT = 1000

#: Largest cooling unit or air handler: airflow [m3/s] and capacity [kW] (the largest air
#: handlers move ~50 m3/s and remove ~2 MW); most air through one rack [m3/s].
MAX_UNIT_AIRFLOW_M3_S = 100.0
MAX_UNIT_CAPACITY_KW = 10_000.0
MAX_RACK_AIRFLOW_M3_S = 50.0

#: One item of the plant or power system [kW, kVA] (chillers, CDUs, towers, UPS and
#: transformers stay below ~100 MW a unit); a site's grid, PPAs and solar [MW].
MAX_PLANT_ITEM_KW = 100_000.0
MAX_SITE_MW = 10_000.0

#: Largest battery [MWh] (the largest built are a few GWh) and longest deferral of
#: flexible work [h] (a week).
MAX_STORAGE_MWH = 100_000.0

MAX_DEFER_H = 168.0

#: Temperature differences (approach, range, rise) [K]; chiller COP; pumps; voltages;
#: prices [KRW/kWh] and grid carbon [kg CO2/kWh] (coal is ~1).
MAX_DELTA_T_K = 50.0
MAX_COP = 50.0
MAX_PUMP_FLOW_M3_S = 50.0
MAX_PUMP_HEAD_KPA = 5_000.0
MAX_VOLTAGE_KV = 1_200.0
MAX_PRICE_KRW_PER_KWH = 10_000.0
MAX_CARBON_KG_PER_KWH = 2.0

#: Site elevation [m] (the Dead Sea shore to the highest towns).
MIN_ELEVATION_M, MAX_ELEVATION_M = -500.0, 6_000.0


def _upto(hi: float, lo: float = 0.0, strict_lo: bool = True):
    """A finite float in (lo, hi] (or [lo, hi] when ``strict_lo`` is false)."""
    low = {"gt": lo} if strict_lo else {"ge": lo}
    return Annotated[float, Field(le=hi, allow_inf_nan=False, **low)]


HallSize = Annotated[float, Field(gt=0, le=MAX_HALL_SIZE_M, allow_inf_nan=False)]

#: A position in a hall [m]: from its corner, within the largest hall (and as far outside).
Coord = Annotated[float, Field(ge=-MAX_HALL_SIZE_M, le=MAX_HALL_SIZE_M, allow_inf_nan=False)]
UnitFlow = _upto(MAX_UNIT_AIRFLOW_M3_S)
DeltaT = _upto(MAX_DELTA_T_K)
ItemKw = _upto(MAX_PLANT_ITEM_KW)
SiteMw = _upto(MAX_SITE_MW)
Price = _upto(MAX_PRICE_KRW_PER_KWH, strict_lo=False)
Carbon = _upto(MAX_CARBON_KG_PER_KWH, strict_lo=False)
Voltage = _upto(MAX_VOLTAGE_KV)
RackPower = Annotated[float, Field(gt=0, le=MAX_RACK_POWER_KW, allow_inf_nan=False)]
#: One point of a fan curve, ``[flow_frac, dp_pa]`` (ranges checked by ``RackType``).
FanPoint = Annotated[list[Annotated[float, Field(allow_inf_nan=False)]],
                     Field(min_length=2, max_length=2)]
ItemCount = Annotated[int, Field(ge=1, le=MAX_ITEM_COUNT)]
Facing = Literal["+x", "-x", "+y", "-y"]
Axis = Literal["x", "y"]
CoolerType = Literal["crah-downflow", "crah-front", "fan-wall", "inrow", "air-handler"]
Surface = Literal["floor", "ceiling", "-x", "+x", "-y", "+y"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Air(_Model):
    """Air properties of a campus (``[campus.air]``), used by the thermal core
    (``kernels.Fluid``: Boussinesq flow and heat), by the racks' flow from
    ``design_delta_t_k`` and by the heat and coil models (``rho * cp * Q * dT``).

    Defaults: dry air near 22 degC at sea level (ASHRAE Handbook - Fundamentals 2021,
    ch. 33; the same values as ``kernels.problem.Fluid``). The ranges admit air from sea
    level to about 3,000 m (density 0.85 to 1.3 kg/m3) and 0 to 50 degC; a site at
    altitude should state its density (about 1.19 * exp(-z / 8,400 m)).
    """

    density_kg_m3: Annotated[float, Field(ge=0.85, le=1.3, allow_inf_nan=False)] = 1.19
    cp_j_kgk: Annotated[float, Field(ge=990.0, le=1030.0, allow_inf_nan=False)] = 1006.0
    expansion_1_k: Annotated[float, Field(ge=1.0 / 330.0, le=1.0 / 270.0, allow_inf_nan=False)] = 1.0 / 295.0
    reference_temp_c: Annotated[float, Field(ge=0.0, le=50.0, allow_inf_nan=False)] = 22.0
    viscosity_m2_s: Annotated[float, Field(ge=1.2e-5, le=2.4e-5, allow_inf_nan=False)] = 1.5e-5
    diffusivity_m2_s: Annotated[float, Field(ge=1.8e-5, le=3.4e-5, allow_inf_nan=False)] = 2.2e-5

    def fluid(self) -> Fluid:
        """The thermal core's record of these properties."""
        return Fluid(density_kg_m3=self.density_kg_m3, cp_j_kgk=self.cp_j_kgk,
                     viscosity_m2_s=self.viscosity_m2_s, diffusivity_m2_s=self.diffusivity_m2_s,
                     expansion_1_k=self.expansion_1_k, reference_temp_c=self.reference_temp_c)

    @property
    def rho_cp(self) -> float:
        """Volumetric heat capacity ``rho * cp`` [J/(m3 K)]."""
        return self.density_kg_m3 * self.cp_j_kgk


class Campus(_Model):
    """The site. ``weather``: ``"builtin:NAME"`` (e.g. ``builtin:ulsan``) or the path of
    an EnergyPlus EPW file inside the facility's folder."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    location: str = ""
    lat_deg: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lon_deg: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
    elevation_m: Annotated[float, Field(ge=MIN_ELEVATION_M, le=MAX_ELEVATION_M, allow_inf_nan=False)] = 0.0
    weather: Annotated[str, StringConstraints(min_length=1)]
    description: str = ""
    air: Air = Air()


class Building(_Model):
    name: Name
    description: str = ""
    floor_area_m2: _upto(1e6) | None = None


#: Longest IT ramp of a build phase after its commissioning [months].
MAX_RAMP_MONTHS = 120.0


class Phase(_Model):
    """A build phase of a campus (one entry of ``[[phases]]``): the halls whose ``phase``
    names it are commissioned on ``commissioning_date`` (``"YYYY-MM-DD"``) and their IT is
    installed linearly over the ``it_ramp_months`` that follow (0: all at once). A run
    with a calendar ``year`` (``twin run --year``) gives a hall no IT before its phase's
    date and the ramp's share of its racks after it (:func:`twin.loop.phases.installed_frac`);
    without a year every hall is built. ``it_mw`` (the phase's IT as planned) and
    ``source`` document the plan; they are not used by the models."""

    name: Name
    commissioning_date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    it_ramp_months: Annotated[float, Field(ge=0, le=MAX_RAMP_MONTHS, allow_inf_nan=False)] = 0.0
    it_mw: _upto(MAX_PHASE_IT_MW) | None = None
    description: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _check(self):
        import datetime as _dt
        try:
            _dt.date.fromisoformat(self.commissioning_date)
        except ValueError:
            raise ValueError(f"commissioning_date = '{self.commissioning_date}' is not a date; "
                             "write it as YYYY-MM-DD, e.g. \"2029-02-01\"") from None
        return self


class RearDoorType(_Model):
    """A rear-door heat exchanger (``[rear_doors.NAME]``), by its rating for one door:
    ``kind`` ``"passive"`` (no fans: the servers' fans push the air through the coil
    against ``rated_dp_pa``) or ``"active"`` (fans of ``fan_power_w`` at the rated
    airflow, counted as cooling power and released as heat in the air); ``ua_w_k`` the
    coil's conductance; ``water_flow_m3_s`` the water through one door;
    ``water_loop`` the loop that feeds it and takes its heat to the plant
    (``"chilled-water"``: a CDU on the chilled water, the usual retrofit; or
    ``"facility-water"``) at ``water_supply_temp_c`` (default: that loop's supply in
    ``[plant]``); ``rated_airflow_m3_s`` and ``rated_dp_pa`` the air-side pressure drop
    at that airflow. Model: :func:`twin.models.reardoor.rear_door` (effectiveness-NTU,
    cross-flow with one fluid mixed, Incropera Table 11.3)."""

    description: str = ""
    source: str = ""
    kind: Literal["passive", "active"]
    ua_w_k: _upto(1e6)
    water_flow_m3_s: _upto(1.0)
    water_loop: Literal["chilled-water", "facility-water"] = "chilled-water"
    water_supply_temp_c: Annotated[float, Field(ge=5, le=45, allow_inf_nan=False)] | None = None
    rated_airflow_m3_s: _upto(MAX_RACK_AIRFLOW_M3_S)
    rated_dp_pa: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
    fan_power_w: Annotated[float, Field(ge=0, le=50_000, allow_inf_nan=False)] = 0.0

    @model_validator(mode="after")
    def _check(self):
        if self.kind == "active" and self.fan_power_w <= 0:
            raise ValueError("an active rear door has fans: give fan_power_w > 0 (its fans' "
                             "power at rated_airflow_m3_s), or make it kind = 'passive'")
        if self.kind == "passive" and self.fan_power_w > 0:
            raise ValueError("a passive rear door has no fans: leave out fan_power_w, or make "
                             "it kind = 'active'")
        return self


class RackType(_Model):
    """Nameplate data of a kind of rack (one entry of ``[rack_types.NAME]``).

    Give exactly one of ``design_airflow_m3_s`` (air through the rack at nameplate power)
    and ``design_delta_t_k`` (intake-to-exhaust rise of the *air-side* heat at nameplate
    power); the other follows from ``Q = P_air / (rho * cp * dT)``.
    ``liquid_capture_frac`` is the share of the power carried away by liquid.
    ``cabinet_recirculation_frac`` (share of the servers' exhaust that flows back to their
    intake inside the cabinet: missing blanking panels) and ``cabinet_bypass_frac`` (share
    of the cabinet's intake that passes beside the servers) are the cabinet as installed
    (:func:`twin.thermal.cabinet.cabinet_air`); rows and racks may override them, and so
    ``rear_door`` (a ``[rear_doors.NAME]``, or ``"none"``). ``cabinet_leak_dp_pa``: the
    pressure difference across the cabinet's leak paths at which the stated shares hold
    [Pa]; given, the steady commands move the shares with the pressure the hall puts
    across the cabinet by the orifice law (:func:`twin.thermal.cabinet.leak_shares`).
    ``fan_curve_pa``: the rack's active flow curve, ``[[flow_frac, dp_pa], ...]``: the
    static pressure difference [Pa] (exhaust side minus intake side) its fans hold at
    ``flow_frac`` of its design airflow, at design fan speed
    (:class:`twin.models.fans.FanCurve`); without it the rack moves the rack model's
    airflow whatever the pressure.
    """

    description: str = ""
    source: str = ""
    nameplate_power_kw: RackPower
    idle_power_kw: Annotated[float, Field(ge=0, le=MAX_RACK_POWER_KW, allow_inf_nan=False)]
    design_airflow_m3_s: _upto(MAX_RACK_AIRFLOW_M3_S) | None = None
    design_delta_t_k: DeltaT | None = None
    liquid_capture_frac: Frac = 0.0
    cabinet_recirculation_frac: LeakFrac = 0.0
    cabinet_bypass_frac: LeakFrac = 0.0
    cabinet_leak_dp_pa: Annotated[float, Field(gt=0, le=MAX_CABINET_LEAK_DP_PA,
                                               allow_inf_nan=False)] | None = None
    rear_door: Name | None = None
    fan_curve_pa: Annotated[list[FanPoint],
                            Field(min_length=2, max_length=MAX_FAN_CURVE_POINTS)] | None = None
    width_m: Annotated[float, Field(gt=0, le=MAX_RACK_WIDTH_M, allow_inf_nan=False)]
    depth_m: Annotated[float, Field(gt=0, le=MAX_RACK_DEPTH_M, allow_inf_nan=False)]
    height_m: Annotated[float, Field(gt=0, le=MAX_RACK_HEIGHT_M, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _check(self):
        if (self.design_airflow_m3_s is None) == (self.design_delta_t_k is None):
            raise ValueError("give exactly one of design_airflow_m3_s and design_delta_t_k")
        if self.idle_power_kw > self.nameplate_power_kw:
            raise ValueError(f"idle_power_kw = {self.idle_power_kw} is above nameplate_power_kw "
                             f"= {self.nameplate_power_kw}")
        if self.fan_curve_pa is not None:
            from twin.models.fans import check_curve
            q = [x for x, _ in self.fan_curve_pa]
            p = [y for _, y in self.fan_curve_pa]
            problem = check_curve(q, p)
            if max(q) > MAX_FAN_FLOW_FRAC:
                problem = (f"a flow_frac of {max(q):g} is above {MAX_FAN_FLOW_FRAC:g} times the "
                           "design airflow (flow_frac is a share of design_airflow_m3_s)")
            elif max(abs(y) for y in p) > MAX_FAN_PRESSURE_PA:
                problem = (f"a pressure of {max(p, key=abs):g} Pa is beyond "
                           f"{MAX_FAN_PRESSURE_PA:g} Pa (server fans hold tens to a few "
                           "hundred pascals; give the pressure in Pa)")
            if problem:
                raise ValueError(f"fan_curve_pa: {problem}, e.g. [[0, 60], [0.5, 45], "
                                 "[1.0, 0], [1.3, -40]]")
        return self

    def design_flow_m3_s(self, design_power_kw: float | None = None,
                         rho_cp_j_m3k: float | None = None) -> float:
        """Air through the rack at its design power [m3/s] (fans at design speed).

        ``rho_cp_j_m3k``: the campus air's ``rho * cp`` (default: ``kernels.Fluid()``).
        """
        p = self.nameplate_power_kw if design_power_kw is None else design_power_kw
        if self.design_airflow_m3_s is not None:
            return self.design_airflow_m3_s * p / self.nameplate_power_kw
        air_w = p * _W_PER_KW * (1.0 - self.liquid_capture_frac)
        rcp = _AIR.rho_cp if rho_cp_j_m3k is None else rho_cp_j_m3k
        return air_w / (rcp * self.design_delta_t_k)


def _check_along_facing(along, facing, what):
    if along is not None and along == facing[1]:
        other = "y" if along == "x" else "x"
        raise ValueError(f"{what} placed along {along} must face +{other} or -{other} "
                         f"(they stand side by side along {along}); facing = '{facing}'")


class RackInRow(_Model):
    """One rack of a row, by its number (``racks."03"``): what differs from the row."""

    power_kw: RackPower | None = None
    cabinet_recirculation_frac: LeakFrac | None = None
    cabinet_bypass_frac: LeakFrac | None = None
    rear_door: Name | None = None


class Row(_Model):
    """``count`` racks of one ``type`` (or one per entry of ``types``) side by side.

    ``(x_m, y_m)`` is the lower corner of the row; rack ``i`` (numbered from 1, device
    name ``HALL/ROW/NN``) starts ``(i-1) * pitch_m`` along ``along`` (default: each rack
    beside the previous). Fronts (intakes) are aligned when depths differ.
    ``power_kw`` overrides every rack's design power, ``cabinet_recirculation_frac`` and
    ``cabinet_bypass_frac`` the rack type's cabinet leakage; ``racks`` overrides single
    racks by their two-digit number (``racks."03".power_kw``).
    """

    name: Name
    type: str | None = None
    types: Annotated[list[str], Field(max_length=MAX_ROW_RACKS)] | None = None
    count: Annotated[int, Field(ge=1, le=MAX_ROW_RACKS)] | None = None
    x_m: Coord
    y_m: Coord
    along: Axis = "x"
    pitch_m: HallSize | None = None
    facing: Facing
    power_kw: RackPower | None = None
    cabinet_recirculation_frac: LeakFrac | None = None
    cabinet_bypass_frac: LeakFrac | None = None
    rear_door: Name | None = None
    racks: Annotated[dict[str, RackInRow], Field(max_length=MAX_ROW_RACKS)] | None = None

    @model_validator(mode="after")
    def _check(self):
        if (self.type is None) == (self.types is None):
            raise ValueError("give either type (with count) or types (one per rack)")
        if self.type is not None and self.count is None:
            raise ValueError("type needs count (the number of racks in the row)")
        if self.types is not None:
            if not self.types:
                raise ValueError("types is empty")
            if self.count is not None and self.count != len(self.types):
                raise ValueError(f"count = {self.count} but types lists {len(self.types)} racks")
        _check_along_facing(self.along, self.facing, "racks")
        n = len(self.type_names())
        for key in self.racks or {}:
            if not (key.isdigit() and key == f"{int(key):02d}" and 1 <= int(key) <= n):
                raise ValueError(f"racks.{key}: name a rack of this row by its number, "
                                 f"01 to {n:02d}")
        return self

    def type_names(self) -> list[str]:
        return list(self.types) if self.types is not None else [self.type] * int(self.count)


class Rack(_Model):
    """One rack; device name ``HALL/NAME``."""

    name: Name
    type: str
    x_m: Coord
    y_m: Coord
    facing: Facing
    power_kw: RackPower | None = None
    cabinet_recirculation_frac: LeakFrac | None = None
    cabinet_bypass_frac: LeakFrac | None = None
    rear_door: Name | None = None


_UNIT_BODY_KEYS = ("x_m", "y_m", "width_m", "depth_m", "height_m", "facing")


class CoolingUnit(_Model):
    """A CRAH/CRAC, fan wall or in-row cooler (``count`` identical units at ``pitch_m``),
    or an air handler outside the hall.

    ``facing`` is the supply direction. ``intake`` (return side): ``"top"`` or ``"back"``;
    default top for ``crah-downflow`` and ``crah-front``, back for ``fan-wall`` and
    ``inrow``. A ``crah-downflow`` unit stands ``height_m`` above the raised floor and
    its body continues down to the slab: it supplies into the plenum through its front.

    An ``air-handler`` has no body in the hall (leave out ``x_m``, ``y_m``, ``width_m``,
    ``depth_m``, ``height_m``, ``facing``, ``intake``): its air enters through the
    ``[[halls.diffusers]]`` and leaves through the ``[[halls.returns]]`` that name it.
    Its coil, fan and plant models are those of a CRAH (same keys).
    """

    name: Name
    type: CoolerType
    x_m: Coord | None = None
    y_m: Coord | None = None
    width_m: HallSize | None = None
    depth_m: HallSize | None = None
    height_m: Annotated[float, Field(gt=0, le=MAX_HALL_HEIGHT_M, allow_inf_nan=False)] | None = None
    facing: Facing | None = None
    airflow_m3_s: UnitFlow
    supply_temp_c: Annotated[float, Field(ge=5, le=45, allow_inf_nan=False)]
    capacity_kw: _upto(MAX_UNIT_CAPACITY_KW)
    intake: Literal["top", "back"] | None = None
    count: Annotated[int, Field(ge=1, le=MAX_UNIT_COUNT)] = 1
    along: Axis | None = None
    pitch_m: HallSize | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.type == "air-handler":
            given = [k for k in _UNIT_BODY_KEYS + ("intake", "along", "pitch_m")
                     if getattr(self, k) is not None]
            if given:
                raise ValueError(f"an air-handler stands outside the hall: leave out "
                                 f"{', '.join(given)} (its air comes and goes through "
                                 "[[halls.diffusers]] and [[halls.returns]])")
            if self.count > 1:
                raise ValueError("an air-handler entry is one unit (count = 1): its diffusers "
                                 "and returns name it; add one entry per air handler")
            return self
        missing = [k for k in _UNIT_BODY_KEYS if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.type} unit stands in the hall: give {', '.join(missing)}")
        if self.count > 1 and self.along is None:
            raise ValueError("count > 1 needs along = 'x' or 'y' (the direction the units repeat)")
        _check_along_facing(self.along, self.facing, "units")
        return self

    @property
    def outside(self) -> bool:
        """True for an air handler (no body in the hall)."""
        return self.type == "air-handler"

    @property
    def intake_side(self) -> str | None:
        if self.outside:
            return None
        if self.intake is not None:
            return self.intake
        return "top" if self.type in ("crah-downflow", "crah-front") else "back"


class Patch(_Model):
    """A supply diffuser (``[[halls.diffusers]]``) or return grille (``[[halls.returns]]``)
    of an air handler: an axis-aligned rectangle on one surface of the room.

    ``surface``: ``"floor"`` (slab-floor halls only), ``"ceiling"`` (halls without a return
    plenum), or a wall ``"-x"`` (x = 0), ``"+x"`` (x = length_m), ``"-y"``, ``"+y"``.
    On the floor or ceiling the rectangle is ``x_m``, ``y_m`` (lower corner), ``length_m``
    (along x) and ``width_m`` (along y). On a wall it is the coordinate along the wall
    (``y_m`` on the x walls, ``x_m`` on the y walls) with ``length_m`` along the wall,
    and ``z_m`` (above the slab) with ``height_m``.

    Air crosses the patch normal to the surface (into the room at a diffuser, out at a
    return) at one speed over the patch. ``airflow_m3_s`` (per patch; each patch of a row)
    may be left out: patches without it share what the stated ones leave of the unit's
    flow in proportion to their areas. ``count`` > 1 makes a row of identical patches
    ``pitch_m`` apart (default: side by side) along ``along``, named ``NAME-NN``.
    """

    name: Name
    unit: Name
    surface: Surface
    x_m: Coord | None = None
    y_m: Coord | None = None
    z_m: Coord | None = None
    length_m: HallSize
    width_m: HallSize | None = None
    height_m: Annotated[float, Field(gt=0, le=MAX_HALL_HEIGHT_M, allow_inf_nan=False)] | None = None
    airflow_m3_s: UnitFlow | None = None
    count: Annotated[int, Field(ge=1, le=MAX_PATCH_COUNT)] = 1
    along: Axis | None = None
    pitch_m: HallSize | None = None

    @model_validator(mode="after")
    def _check(self):
        s = self.surface
        if s in ("floor", "ceiling"):
            need, refuse = ("x_m", "y_m", "width_m"), ("z_m", "height_m")
        elif s in ("-x", "+x"):
            need, refuse = ("y_m", "z_m", "height_m"), ("x_m", "width_m")
        else:
            need, refuse = ("x_m", "z_m", "height_m"), ("y_m", "width_m")
        missing = [k for k in need if getattr(self, k) is None]
        extra = [k for k in refuse if getattr(self, k) is not None]
        if missing or extra:
            where = "the floor or ceiling" if s in ("floor", "ceiling") else f"wall '{s}'"
            parts = []
            if missing:
                parts.append(f"give {', '.join(missing)}")
            if extra:
                parts.append(f"leave out {', '.join(extra)}")
            raise ValueError(f"a patch on {where} is placed by length_m and "
                             f"{', '.join(need)}: {'; '.join(parts)}")
        if self.count > 1:
            if self.along is None:
                raise ValueError("count > 1 needs along = 'x' or 'y' (the direction the patches repeat)")
            if s in ("-x", "+x") and self.along != "y" or s in ("-y", "+y") and self.along != "x":
                raise ValueError(f"patches on wall '{s}' repeat along the wall: along = "
                                 f"'{'y' if s in ('-x', '+x') else 'x'}'")
        return self


def idelchik_perforated_plate_k(open_area_frac: float) -> float:
    """Loss coefficient of a thin perforated plate, referred to the approach velocity.

    ``zeta = (0.707 * (1 - f)**0.375 + 1 - f)**2 / f**2`` with ``f`` the open-area
    fraction (sharp-edged orifices, thin plate, Re > 1e5).

    Source: I.E. Idelchik, *Handbook of Hydraulic Resistance*, 3rd ed. (1994),
    diagram 8-1. Valid for 0 < f < 1; perforated floor tiles are 0.25 (standard) to
    0.56 (grates).
    """
    f = float(open_area_frac)
    if not 0.0 < f < 1.0:
        raise InputError(f"open_area_frac = {f}: it must be between 0 and 1 (exclusive)")
    return (0.707 * (1.0 - f) ** 0.375 + 1.0 - f) ** 2 / f ** 2


def floor_leak_k(open_area_frac: float) -> float:
    """Loss coefficient of the openings of a leaky raised floor (cable cut-outs and panel
    seams), referred to the velocity over the floor they open: a thin plate of open
    fraction ``f``, Idelchik's ``zeta`` (:func:`idelchik_perforated_plate_k`, diagram
    8-1), so that ``dp = zeta rho v^2 / 2`` is the orifice relation
    ``Q = mu f A sqrt(2 dp / rho)`` with ``mu = 1 / (f sqrt(zeta))`` (0.59 for small f).
    The mesh gathers a floor's open area into openings of a tile's open fraction
    (``twin.thermal.mesh.LEAK_CELL_OPEN_FRAC``).

    Typical open areas (est. from the leak shares measured in the sources): panel seams of
    a well-kept floor about 0.1-0.2 % of the floor; unsealed cable cut-outs raise it to
    0.5-2 %, so that 5-15 % (seams) and up to half (cut-outs) of the plenum's air
    bypasses the tiles. A. Radmehr, R.R. Schmidt, K.C. Karki, S.V. Patankar, *Distributed
    leakage flow in raised-floor data centers*, ASME InterPACK 2005 (IPACK2005-73273)
    (measured leakage through seams and cut-outs, 5-15 % of the supply); R.F. Sullivan,
    L. Strong, K.G. Brill, *Reducing Bypass Airflow Is Essential for Eliminating Computer
    Room Hot Spots*, Uptime Institute white paper (2004) (unsealed cable openings: most of
    the supply bypassed in the rooms surveyed); ASHRAE TC 9.9, *Design Considerations for
    Datacom Equipment Centers*, 2nd ed. (2009), ch. 4 (seal cable cut-outs).
    """
    return idelchik_perforated_plate_k(open_area_frac)


class TileGroup(_Model):
    """Perforated floor tiles (or ceiling return grilles): a row of ``count`` square tiles
    of ``tile_m`` along ``along``, or a ``length_m`` x ``width_m`` area (x by y); lower
    corner ``(x_m, y_m)``. Give ``open_area_frac`` (loss from Idelchik) or ``k_loss``."""

    name: Name
    x_m: Coord
    y_m: Coord
    count: Annotated[int, Field(ge=1, le=MAX_TILE_COUNT)] | None = None
    along: Axis = "x"
    length_m: HallSize | None = None
    width_m: HallSize | None = None
    tile_m: Annotated[float, Field(gt=0, le=3.0, allow_inf_nan=False)] = 0.6
    open_area_frac: OpenFrac | None = None
    k_loss: _upto(1e4) | None = None

    @model_validator(mode="after")
    def _check(self):
        area = self.length_m is not None or self.width_m is not None
        if (self.count is None) == (not area) or (area and (self.length_m is None or self.width_m is None)):
            raise ValueError("give either count (a row of tiles) or length_m and width_m (an area)")
        if (self.open_area_frac is None) == (self.k_loss is None):
            raise ValueError("give exactly one of open_area_frac and k_loss")
        return self

    @property
    def loss_coefficient(self) -> float:
        if self.k_loss is not None:
            return self.k_loss
        return idelchik_perforated_plate_k(self.open_area_frac)

    def rect(self):
        """(x0, x1, y0, y1) [m]."""
        if self.count is not None:
            n = self.count * self.tile_m
            if self.along == "x":
                return (self.x_m, self.x_m + n, self.y_m, self.y_m + self.tile_m)
            return (self.x_m, self.x_m + self.tile_m, self.y_m, self.y_m + n)
        return (self.x_m, self.x_m + self.length_m, self.y_m, self.y_m + self.width_m)


class Containment(_Model):
    """Hot- or cold-aisle containment of the aisle between two parallel rows: a roof at
    ``roof_z_m`` (default: the top of the tallest rack or unit in the two rows) and doors
    at both ends. A ``roof_z_m`` above the rows also closes the aisle's two sides from
    the rows' top up to it (panels over the racks); with ``roof = false`` and
    ``roof_z_m`` at the ceiling this is a chimney to ceiling returns. The aisle runs along the rows and over in-row units in line with them;
    ``start_m``/``end_m`` override its ends (coordinates along the rows).

    Doors are never airtight: ``door_leakage_frac`` is the open fraction of a door (gaps
    around and under it; 0.02 by default, 0 for sealed doors), meshed as a quadratic loss
    (Idelchik, diagram 8-1). It lets a contained aisle whose racks move more or less air than
    its coolers spill or draw the difference through the doors, as a real one does."""

    name: Name
    kind: Literal["hot-aisle", "cold-aisle"]
    rows: Annotated[list[Name], Field(min_length=2, max_length=2)]
    doors: bool = True
    door_leakage_frac: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.02
    roof: bool = True
    roof_z_m: _upto(MAX_HALL_HEIGHT_M) | None = None
    start_m: Coord | None = None
    end_m: Coord | None = None


class CDU(_Model):
    """Coolant distribution unit of a liquid loop: ``serves`` lists row names, rack names
    (``ROW/NN`` for a rack of a row, or an individual rack's name) or ``"*"`` (every
    liquid-cooled rack of the hall). ``supply_temp_c``: technology-cooling-system supply to
    the racks; ``approach_k``: above the facility-water supply."""

    name: Name
    capacity_kw: ItemKw
    approach_k: DeltaT
    supply_temp_c: Annotated[float, Field(ge=5, le=70, allow_inf_nan=False)] = 35.0
    serves: Annotated[list[str], Field(min_length=1)]


ObstructionKind = Literal["column", "wall", "cable-tray", "pipe", "duct", "cable-ladder", "other"]


class Obstruction(_Model):
    """A solid box in a hall or in its plenums (``[[halls.obstructions]]``): a column, an
    internal wall, an under-floor cable tray or pipe, an overhead duct or cable ladder.
    Lower corner ``(x_m, y_m, z_m)`` (``z_m`` above the slab, default 0) and size
    ``length_m`` (along x), ``width_m`` (along y), ``height_m`` (default: up to the top of
    the hall, a column from slab to roof). No air passes through it (a pipe or an open
    ladder is its bounding box)."""

    name: Name
    kind: ObstructionKind
    x_m: Coord
    y_m: Coord
    z_m: Annotated[float, Field(ge=0, le=MAX_HALL_HEIGHT_M, allow_inf_nan=False)] = 0.0
    length_m: HallSize
    width_m: HallSize
    height_m: _upto(MAX_HALL_HEIGHT_M) | None = None


#: Most open area of raised-floor leaks per floor area [-]: seams leak ~0.1-0.2 % and
#: unsealed cable cut-outs a few per cent of the floor (``floor_leakage_open_frac``); beyond
#: 10 % the floor is a grate, not a leaky floor.
MAX_FLOOR_LEAK_FRAC = 0.1
#: Largest U-value of a hall's wall or roof [W/(m2 K)] (single glazing is ~5.7).
MAX_U_W_M2K = 6.0
#: Outside surface film coefficient for the sol-air temperature [W/(m2 K)]: 17 W/(m2 K),
#: ASHRAE Handbook - Fundamentals 2021, ch. 18 (``alpha / h_o`` = 0.026 m2K/W for a light
#: and 0.052 for a dark surface at 17 W/(m2 K)).
OUTSIDE_FILM_W_M2K = 17.0

EnvelopeFace = Literal["-x", "+x", "-y", "+y"]


class Envelope(_Model):
    """What separates a hall from the outdoor air (``[halls.envelope]``): the walls named
    in ``walls`` (default all four: ``"-x"`` is x = 0, ``"+x"`` x = ``length_m``, ...)
    with ``wall_u_w_m2k`` and, when ``roof`` (default true: nothing heated above), the roof
    with ``roof_u_w_m2k`` and the solar absorptance ``roof_solar_absorptance`` of its outer
    surface (sol-air temperature, ASHRAE Handbook - Fundamentals 2021, ch. 18). The slab
    on the ground and walls shared with heated rooms are left adiabatic.
    ``design_outdoor_temp_c`` is the outdoor air of ``twin solve`` and the steady studies
    (default: the 0.4 % annual cooling design dry-bulb of the campus weather) and
    ``design_roof_irradiance_w_m2`` the sun on the roof there (default 0); ``twin run``
    takes both from the weather hour by hour. Model:
    :func:`twin.thermal.envelope.envelope_heat_w`."""

    wall_u_w_m2k: _upto(MAX_U_W_M2K, strict_lo=False) = 0.0
    roof_u_w_m2k: _upto(MAX_U_W_M2K, strict_lo=False) = 0.0
    walls: Annotated[list[EnvelopeFace], Field(max_length=4)] = ["-x", "+x", "-y", "+y"]
    roof: bool = True
    roof_solar_absorptance: Frac = 0.0
    design_outdoor_temp_c: Annotated[float, Field(ge=-60, le=60, allow_inf_nan=False)] | None = None
    design_roof_irradiance_w_m2: _upto(1400.0, strict_lo=False) = 0.0

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.walls)) != len(self.walls):
            raise ValueError(f"walls = {list(self.walls)} names a wall twice; list each of "
                             "-x, +x, -y, +y once")
        if (self.roof_solar_absorptance > 0 or self.design_roof_irradiance_w_m2 > 0) and (
                not self.roof or self.roof_u_w_m2k <= 0):
            raise ValueError("roof_solar_absorptance and design_roof_irradiance_w_m2 need a "
                             "roof to the outdoors: set roof = true and roof_u_w_m2k > 0")
        return self


class Hall(_Model):
    """A data hall. Heights are z above the structural slab: the room is between
    ``raised_floor_height_m`` (0: no raised floor) and ``ceiling_height_m``; a return
    plenum of ``return_plenum_height_m`` (0: none) sits above the ceiling.

    ``floor_leakage_open_frac``: the open area of the raised floor's cable cut-outs and
    panel seams per m2 of floor [-] (0: a sealed floor), a distributed leak from the
    plenum into the room (meshed as a loss on every floor cell that is not a tile,
    Idelchik diagram 8-1: :func:`floor_leak_k`). ``envelope``: walls and
    roof to the outdoor air (:class:`Envelope`; default none: adiabatic).
    ``phase``: the build phase (``[[phases]]``) the hall belongs to (default none: built
    from the start). ``north_deg``: the compass bearing of the hall's +y axis, degrees clockwise from true
    north, 0 <= north_deg < 360 (default 0: +y points north and +x east; 90: +y points
    east, +x south). Only the 3D view uses it (its compass); the envelope's walls take no
    sun."""

    name: Name
    building: Name | None = None
    phase: Name | None = None
    description: str = ""
    length_m: HallSize
    width_m: HallSize
    ceiling_height_m: Annotated[float, Field(gt=0, le=MAX_HALL_HEIGHT_M, allow_inf_nan=False)]
    raised_floor_height_m: Annotated[float, Field(ge=0, le=MAX_RAISED_FLOOR_M, allow_inf_nan=False)] = 0.0
    return_plenum_height_m: Annotated[float, Field(ge=0, le=MAX_PLENUM_M, allow_inf_nan=False)] = 0.0
    floor_leakage_open_frac: Annotated[float, Field(ge=0, le=MAX_FLOOR_LEAK_FRAC, allow_inf_nan=False)] = 0.0
    north_deg: Annotated[float, Field(ge=0, lt=360, allow_inf_nan=False)] = 0.0
    envelope: Envelope | None = None
    rows: list[Row] = []
    racks: list[Rack] = []
    cooling_units: list[CoolingUnit] = []
    diffusers: list[Patch] = []
    returns: list[Patch] = []
    tiles: list[TileGroup] = []
    ceiling_grilles: list[TileGroup] = []
    containment: list[Containment] = []
    cdus: list[CDU] = []
    obstructions: list[Obstruction] = []

    @property
    def height_m(self) -> float:
        """Height of the whole air volume, slab to roof [m]."""
        return self.ceiling_height_m + self.return_plenum_height_m
