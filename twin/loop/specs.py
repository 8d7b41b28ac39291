"""The facility's equipment as the component models' specs: racks (ITE model), the
electrical chain, the chiller plant, the weather source."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from twin.facility import Facility, Plant
from twin.models.liquid import GRAVITY_M_S2, WATER_DENSITY_KG_M3, DryCoolerSpec, PumpSpec
from twin.models.plant import PlantSpec, design_plant
from twin.models.power import (ElectricalChain, QuadraticLoss, pdu_typical, transformer_dry_type,
                               ups_double_conversion)
from twin.models.tower import CoolingTowerSpec

from .phases import scaled_plant, scaled_power
from .settings import _CHAIN_MARGIN, _FAN_DP_PA, _FAN_EFF


# ==================================================================================== builders
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


def chain_for(fac: Facility, design_it_w: float, power=None) -> ElectricalChain:
    """Electrical chain from the facility's UPS and transformer records (typical loss
    shapes of :mod:`twin.models.power` scaled to their stated efficiency at 75 % load), or
    sized at 1.25x the design IT when the file gives none (est.). ``power``: these records
    instead of the facility's (a partial campus: :func:`twin.loop.phases.scaled_power`)."""
    pw = fac.power if power is None else power
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
    32 °C, no economizer, condenser water fixed at 24 °C). ``[plant.condenser_water]``
    sets the condenser-water set-point, its wet-bulb reset or its optimal control. Returns ``(spec, notes)``.
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
    cw = p.condenser_water
    if cw is not None:
        kw.update(cw_supply_setpoint_c=cw.supply_temp_c, cw_reset=cw.control == "wet-bulb-reset",
                  cw_optimal=cw.control == "optimal", cw_reset_approach_k=cw.reset_approach_k,
                  cw_min_supply_temp_c=cw.min_supply_temp_c)
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
    if spec.cw_control != "fixed" and spec.cw_min_supply_temp_c is not None \
            and spec.cw_min_supply_temp_c < spec.chiller.min_entering_cw_temp_c:
        notes.append(f"condenser water: min_supply_temp_c = {spec.cw_min_supply_temp_c:g} degC is below "
                     f"the chiller curves' lowest entering temperature "
                     f"({spec.chiller.min_entering_cw_temp_c:g} degC); the chillers are modelled at that "
                     "temperature (a mixing valve), colder water only serves the economizer")
    return spec, notes


def campus_equipment(fac: Facility, names) -> tuple:
    """The plant spec and the electrical chain of a run of the halls ``names``: the
    facility's, or for a partial campus its equipment scaled to the halls' share of the
    design loads (:func:`twin.loop.phases.scaled_plant`, :func:`~twin.loop.phases.scaled_power`).
    Returns ``(plant_spec, chain, (design IT, chilled-water, liquid) [W], notes)``."""
    sel, full = _design_loads(fac, names), _design_loads(fac, fac.hall_names)
    fracs = [a / b if b > 0 else 1.0 for a, b in zip(sel, full)]
    plant, power, notes = fac.plant, fac.power, []
    if len(names) < len(fac.hall_names):
        plant = scaled_plant(plant, fracs[1], fracs[2])
        power = scaled_power(power, fracs[0])
        notes.append(f"partial campus: {len(names)} of {len(fac.hall_names)} halls "
                     f"({fracs[0]:.1%} of the design IT); the plant and the electrical chain are "
                     "scaled to them (twin.loop.phases)")
    spec, pnotes = plant_spec_for(plant, sel[1], sel[2])
    return spec, chain_for(fac, sel[0], power=power), sel, notes + pnotes


def _design_loads(fac: Facility, names) -> tuple[float, float, float]:
    """Design IT, chilled-water (rack air heat and cooling-unit fans) and liquid loads [W]
    of the halls ``names``."""
    it = air = liq = fans = 0.0
    for h in names:
        lay = fac.layout(h)
        for r in lay.racks:
            it += r.design_power_w
            air += r.design_power_w * (1 - r.liquid_capture_frac)
            liq += r.design_power_w * r.liquid_capture_frac
        fans += sum(u.airflow_m3_s * _FAN_DP_PA / _FAN_EFF for u in lay.units)
    return it, air + fans, liq


# ==================================================================================== helpers
def _hall_signature(hall) -> str:
    d = hall.model_dump(mode="json")
    for k in ("name", "building", "description", "phase"):    # when it is built: not the flow
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
