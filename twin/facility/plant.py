"""The facility schema, plant and power: chillers, towers, dry coolers, pumps,
economizer, UPS, transformers, the grid supply and renewable contracts."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from .schema import (MAX_COP, MAX_PUMP_FLOW_M3_S, MAX_PUMP_HEAD_KPA, MAX_SITE_MW, Carbon, DeltaT,
                     ItemCount, ItemKw, Name, Price, SiteMw, Voltage, _Model, _upto)


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


class Plant(_Model):
    chilled_water_supply_temp_c: Annotated[float, Field(ge=2, le=30, allow_inf_nan=False)] = 14.0
    chilled_water_return_temp_c: Annotated[float, Field(ge=2, le=40, allow_inf_nan=False)] = 22.0
    facility_water_supply_temp_c: Annotated[float, Field(ge=5, le=60, allow_inf_nan=False)] = 32.0
    economizer: Economizer | None = None
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
    """Utility supply: connection size, emission factor and energy tariff."""

    capacity_mw: SiteMw
    carbon_kg_per_kwh: Carbon
    tariff_krw_per_kwh: Price
    voltage_kv: Voltage | None = None


class Contract(_Model):
    """A renewable power purchase agreement (``capacity_factor_frac``: annual energy /
    (capacity * 8760 h))."""

    name: Name
    kind: Literal["solar", "onshore-wind", "offshore-wind", "hydro", "nuclear", "other"]
    capacity_mw: SiteMw
    capacity_factor_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    price_krw_per_kwh: Price
    carbon_kg_per_kwh: Carbon = 0.0


class Power(_Model):
    grid: GridSupply | None = None
    solar_mw: _upto(MAX_SITE_MW, strict_lo=False) = 0.0
    solar_capacity_factor_frac: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.15
    contracts: list[Contract] = []
    ups: list[Ups] = []
    transformers: list[Transformer] = []
