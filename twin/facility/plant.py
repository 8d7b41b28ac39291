"""The facility schema, plant and power: chillers, towers, dry coolers, pumps,
economizer, UPS, transformers, the grid supply and renewable contracts, battery storage
and flexible training load."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from .schema import (MAX_COP, MAX_DEFER_H, MAX_PUMP_FLOW_M3_S, MAX_PUMP_HEAD_KPA, MAX_SITE_MW,
                     MAX_STORAGE_MWH, Carbon, DeltaT, Frac, ItemCount, ItemKw, Name, Price, SiteMw,
                     Voltage, _Model, _upto)


# --- plant and power: typed records for the plant, power and carbon models ----------------
class Chiller(_Model):
    """``count`` identical chillers. ``cop`` at the rating point (AHRI 550/590: 6.7 degC
    chilled water leaving, 29.4 degC condenser water entering for water-cooled)."""

    name: Name
    type: Literal["water-cooled-centrifugal", "water-cooled-screw", "air-cooled-screw",
                  "air-cooled-scroll", "absorption"] = "water-cooled-centrifugal"
    count: ItemCount = 1
    capacity_kw: ItemKw
    cop: _upto(MAX_COP)


class CoolingTower(_Model):
    """``approach_k`` above the ambient wet bulb and ``range_k`` at design."""

    name: Name
    count: ItemCount = 1
    capacity_kw: ItemKw
    approach_k: DeltaT
    range_k: DeltaT
    fan_power_kw: ItemKw


class DryCooler(_Model):
    """``approach_k`` of the leaving fluid above the ambient dry bulb at design;
    ``adiabatic``: evaporative pre-cooling of the inlet air on hot days."""

    name: Name
    count: ItemCount = 1
    capacity_kw: ItemKw
    approach_k: DeltaT
    fan_power_kw: ItemKw
    adiabatic: bool = False
    loop: str = "facility-water"


class Pump(_Model):
    name: Name
    loop: Annotated[str, StringConstraints(min_length=1)]
    count: ItemCount = 1
    flow_m3_s: _upto(MAX_PUMP_FLOW_M3_S)
    head_kpa: _upto(MAX_PUMP_HEAD_KPA)
    efficiency_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.75


class Economizer(_Model):
    """Free cooling: ``water-side`` (towers through a plate heat exchanger of
    ``hx_approach_k``) or ``air-side``."""

    kind: Literal["none", "water-side", "air-side"] = "water-side"
    hx_approach_k: DeltaT = 1.5


class CondenserWater(_Model):
    """The chillers' condenser-water supply set-point (``twin.models.plant``):
    ``control = "fixed"`` holds ``supply_temp_c``; ``"wet-bulb-reset"`` resets it to the
    outdoor wet bulb plus ``reset_approach_k`` (default: the towers' design approach plus
    2 K, est.), within ``min_supply_temp_c`` (default: the chiller curves' lowest entering
    condenser-water temperature, 15.56 degC) and ``supply_temp_c``
    (``condenser_water_setpoint_c``); ``"optimal"`` chooses it each step, within the same
    limits, for the least chiller plus tower-fan power (``optimal_condenser_setpoint_c``)."""

    control: Literal["fixed", "wet-bulb-reset", "optimal"] = "fixed"
    supply_temp_c: Annotated[float, Field(ge=10, le=40, allow_inf_nan=False)] = 24.0
    reset_approach_k: _upto(20.0) | None = None
    min_supply_temp_c: Annotated[float, Field(ge=5, le=40, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.control != "wet-bulb-reset" and self.reset_approach_k is not None:
            raise ValueError(f"reset_approach_k is for control = \"wet-bulb-reset\" (this one is "
                             f"\"{self.control}\"); remove it or set control = \"wet-bulb-reset\"")
        if self.control == "fixed" and self.min_supply_temp_c is not None:
            raise ValueError("min_supply_temp_c is for control = \"wet-bulb-reset\" or \"optimal\" "
                             "(this one is \"fixed\"); remove it or set one of those controls")
        if self.min_supply_temp_c is not None and self.min_supply_temp_c > self.supply_temp_c:
            raise ValueError(f"min_supply_temp_c = {self.min_supply_temp_c:g} is above supply_temp_c = "
                             f"{self.supply_temp_c:g} (the highest set-point); lower it")
        return self


class Plant(_Model):
    chilled_water_supply_temp_c: Annotated[float, Field(ge=2, le=30, allow_inf_nan=False)] = 14.0
    chilled_water_return_temp_c: Annotated[float, Field(ge=2, le=40, allow_inf_nan=False)] = 22.0
    facility_water_supply_temp_c: Annotated[float, Field(ge=5, le=60, allow_inf_nan=False)] = 32.0
    economizer: Economizer | None = None
    condenser_water: CondenserWater | None = None
    chillers: list[Chiller] = []
    cooling_towers: list[CoolingTower] = []
    dry_coolers: list[DryCooler] = []
    pumps: list[Pump] = []

    @model_validator(mode="after")
    def _check(self):
        if self.chilled_water_return_temp_c <= self.chilled_water_supply_temp_c:
            raise ValueError("chilled_water_return_temp_c must be above chilled_water_supply_temp_c")
        return self


class Ups(_Model):
    name: Name
    count: ItemCount = 1
    capacity_kw: ItemKw
    efficiency_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class Transformer(_Model):
    name: Name
    count: ItemCount = 1
    capacity_kva: ItemKw
    efficiency_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    primary_kv: Voltage
    secondary_kv: Voltage


class GridSupply(_Model):
    """Utility supply: connection size, emission factor and energy tariff.

    ``tariff = "flat"`` charges ``tariff_krw_per_kwh`` for every kWh; ``"kepco-tou"`` the
    KEPCO industrial (B) time-of-use rates in force (``twin.models.power.DEFAULT_TARIFF``),
    which ``tou-arbitrage`` storage needs. ``import_cap_mw`` caps the power drawn from the
    grid (none by default): storage and flexible load keep under it where they can, and
    the run reports what it could not serve."""

    capacity_mw: SiteMw
    carbon_kg_per_kwh: Carbon
    tariff_krw_per_kwh: Price | None = None
    tariff: Literal["flat", "kepco-tou"] = "flat"
    voltage_kv: Voltage | None = None
    import_cap_mw: SiteMw | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.tariff == "flat" and self.tariff_krw_per_kwh is None:
            raise ValueError("a flat tariff needs tariff_krw_per_kwh (or set tariff = \"kepco-tou\")")
        if self.tariff == "kepco-tou" and self.tariff_krw_per_kwh is not None:
            raise ValueError("tariff_krw_per_kwh is the flat rate; remove it with tariff = \"kepco-tou\" "
                             "(the KEPCO time-of-use rates apply)")
        if self.import_cap_mw is not None and self.import_cap_mw > self.capacity_mw:
            raise ValueError(f"import_cap_mw = {self.import_cap_mw:g} is above the connection's "
                             f"capacity_mw = {self.capacity_mw:g}; lower the cap or raise the capacity")
        return self


class Contract(_Model):
    """A renewable power purchase agreement (``capacity_factor_frac``: annual energy /
    (capacity * 8760 h))."""

    name: Name
    kind: Literal["solar", "onshore-wind", "offshore-wind", "hydro", "nuclear", "other"]
    capacity_mw: SiteMw
    capacity_factor_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    price_krw_per_kwh: Price
    carbon_kg_per_kwh: Carbon = 0.0


class Storage(_Model):
    """Battery energy storage at the campus bus (``twin.models.storage``): nameplate
    ``energy_mwh`` and ``power_mw``, AC round-trip efficiency, state-of-charge window,
    cycle life in equivalent full cycles to ``end_of_life_frac`` (throughput ageing, Xu et
    al. 2018), optional replacement cost for the ageing cost, and the dispatch ``policy``
    (``peak_shave_mw``: the import the ``peak-shaving`` policy keeps to; default the
    grid's ``import_cap_mw``)."""

    energy_mwh: _upto(MAX_STORAGE_MWH)
    power_mw: SiteMw
    round_trip_efficiency_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.85
    soc_min_frac: Frac = 0.1
    soc_max_frac: Frac = 0.9
    initial_soc_frac: Frac = 0.5
    cycle_life_efc: Annotated[float, Field(gt=0, le=100_000, allow_inf_nan=False)] = 6000.0
    end_of_life_frac: Frac = 0.8
    replacement_cost_krw_per_kwh: Annotated[float, Field(ge=0, le=10_000_000, allow_inf_nan=False)] = 0.0
    policy: Literal["renewable-shifting", "tou-arbitrage", "peak-shaving"] = "renewable-shifting"
    peak_shave_mw: SiteMw | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.soc_min_frac >= self.soc_max_frac:
            raise ValueError(f"soc_min_frac = {self.soc_min_frac:g} must be below soc_max_frac = "
                             f"{self.soc_max_frac:g}")
        if not self.soc_min_frac <= self.initial_soc_frac <= self.soc_max_frac:
            raise ValueError(f"initial_soc_frac = {self.initial_soc_frac:g} must lie within soc_min_frac "
                             f"= {self.soc_min_frac:g} and soc_max_frac = {self.soc_max_frac:g}")
        if self.peak_shave_mw is not None and self.policy != "peak-shaving":
            raise ValueError(f"peak_shave_mw is for policy = \"peak-shaving\" (this storage's policy is "
                             f"\"{self.policy}\"); remove it or change the policy")
        return self


class FlexibleLoad(_Model):
    """Flexible training load (``twin.models.flexload``): ``share_frac`` of the GPU work
    may be slowed (``mode = "slow"``, the work is lost) or deferred up to ``max_defer_h``
    (``"defer"``) when the planned load (IT x ``planning_pue``) exceeds the carbon-free
    supply (``trigger = "carbon-free"``) or that plus the grid import cap (``"grid-cap"``)."""

    share_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    mode: Literal["slow", "defer"] = "defer"
    max_defer_h: Annotated[float, Field(gt=0, le=MAX_DEFER_H, allow_inf_nan=False)] = 24.0
    planning_pue: Annotated[float, Field(ge=1, le=10, allow_inf_nan=False)] = 1.2
    trigger: Literal["carbon-free", "grid-cap"] = "carbon-free"


class Power(_Model):
    grid: GridSupply | None = None
    solar_mw: _upto(MAX_SITE_MW, strict_lo=False) = 0.0
    solar_capacity_factor_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.15
    contracts: list[Contract] = []
    ups: list[Ups] = []
    transformers: list[Transformer] = []
    storage: Storage | None = None
    flexible_load: FlexibleLoad | None = None

    @model_validator(mode="after")
    def _check(self):
        cap = self.grid.import_cap_mw if self.grid is not None else None
        st = self.storage
        if st is not None and st.policy == "peak-shaving" and st.peak_shave_mw is None and cap is None:
            raise ValueError("storage policy \"peak-shaving\" needs a target: set storage.peak_shave_mw "
                             "or grid.import_cap_mw")
        if st is not None and st.policy == "tou-arbitrage" and (self.grid is None or self.grid.tariff != "kepco-tou"):
            raise ValueError("storage policy \"tou-arbitrage\" needs a time-of-use tariff: set "
                             "grid.tariff = \"kepco-tou\" (a flat tariff has nothing to arbitrage)")
        fl = self.flexible_load
        if fl is not None and fl.trigger == "grid-cap" and cap is None:
            raise ValueError("flexible_load trigger \"grid-cap\" needs grid.import_cap_mw")
        return self
