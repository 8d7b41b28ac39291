"""Pydantic's validation errors translated into the facility's own one-line messages:
the place, what is wrong, the limit or the choices, and the fix."""
from __future__ import annotations

import types
import typing
from typing import Annotated

from pydantic import BaseModel

from .diagnostics import Diagnostic, _display, _fmt, did_you_mean
from .model import Facility
from .schema import (MAX_CARBON_KG_PER_KWH, MAX_COP, MAX_DELTA_T_K, MAX_ELEVATION_M,
                     MAX_HALL_HEIGHT_M, MAX_HALL_SIZE_M, MAX_ITEM_COUNT, MAX_PATCH_COUNT,
                     MAX_PLANT_ITEM_KW, MAX_PLENUM_M, MAX_PRICE_KRW_PER_KWH, MAX_PUMP_FLOW_M3_S,
                     MAX_PUMP_HEAD_KPA, MAX_RACK_AIRFLOW_M3_S, MAX_RACK_DEPTH_M, MAX_RACK_HEIGHT_M,
                     MAX_RACK_POWER_KW, MAX_RACK_WIDTH_M, MAX_RAISED_FLOOR_M, MAX_ROW_RACKS,
                     MAX_SITE_MW, MAX_STORAGE_MWH, MAX_TILE_COUNT, MAX_UNIT_AIRFLOW_M3_S,
                     MAX_UNIT_CAPACITY_KW, MAX_UNIT_COUNT, MAX_VOLTAGE_KV, MIN_ELEVATION_M,
                     NAME_HELP)


# ------------------------------------------------------------ pydantic error translation
def _unwrap(ann):
    """('list'|'dict'|'model'|'scalar', inner model class or None) of an annotation."""
    while True:
        origin = typing.get_origin(ann)
        if origin is Annotated:
            ann = typing.get_args(ann)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if len(args) == 1:
                ann = args[0]
                continue
            return "scalar", None
        break
    origin = typing.get_origin(ann)
    if origin is list:
        kind, inner = _unwrap(typing.get_args(ann)[0])
        return "list", inner if kind == "model" else None
    if origin is dict:
        kind, inner = _unwrap(typing.get_args(ann)[1])
        return "dict", inner if kind == "model" else None
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "model", ann
    return "scalar", None


def _walk_loc(loc, raw):
    """Object path with names (``halls[H1].rows[A].facing``) and the model at the end."""
    cls, node, parts, mode = Facility, raw, [], "model"
    for el in loc:
        if mode == "model" and isinstance(el, str) and cls is not None and el in cls.model_fields:
            parts.append(el)
            node = node.get(el) if isinstance(node, dict) else None
            mode, cls = _unwrap(cls.model_fields[el].annotation)
        elif mode == "list" and isinstance(el, int):
            item = node[el] if isinstance(node, list) and el < len(node) else None
            label = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) \
                and item.get("name") else el
            if parts:
                parts[-1] += f"[{label}]"
            node = item
            mode = "model" if cls is not None else "scalar"
        elif mode == "dict":
            if parts:
                parts[-1] += f"[{el}]"
            node = node.get(el) if isinstance(node, dict) else None
            mode = "model" if cls is not None else "scalar"
        else:
            parts.append(str(el))
            cls, mode = None, "scalar"
    return ".".join(parts), cls


_EXPECTED = {
    "float_type": "a number (e.g. 2.5)", "float_parsing": "a number (e.g. 2.5)",
    "int_type": "a whole number (e.g. 4)", "int_from_float": "a whole number (e.g. 4)",
    "string_type": "a string in quotes", "bool_type": "true or false",
    "list_type": "a list [ ... ] (or an array of tables [[...]])",
    "dict_type": "a table", "model_type": "a table", "model_attributes_type": "a table",
}

_SIZE_WHY = (f"the twin takes halls up to {MAX_HALL_SIZE_M:g} m a side; split a longer "
             "building into halls, and check the unit: metres")


_DT_WHY = (f"a design temperature difference is at most {MAX_DELTA_T_K:g} K; "
           "check the unit: K")


_KV_WHY = f"a voltage is at most {MAX_VOLTAGE_KV:,.0f} kV; check the unit: kV, not V"

_PRICE_WHY = f"a price is at most {MAX_PRICE_KRW_PER_KWH:,.0f} KRW per kWh; check the unit: KRW/kWh"

_POS_WHY = (f"a position is metres from the hall's corner, at most {MAX_HALL_SIZE_M:g} m; "
            "check the unit: metres")


_LOWER_WHY = {"elevation_m", "x_m", "y_m", "z_m", "start_m", "end_m", "north_deg"}

_LIMIT_WHY = {
    ("Hall", "length_m"): _SIZE_WHY, ("Hall", "width_m"): _SIZE_WHY,
    "length_m": _SIZE_WHY, "width_m": _SIZE_WHY, "pitch_m": _SIZE_WHY, "depth_m": _SIZE_WHY,
    ("Hall", "ceiling_height_m"): f"a hall's ceiling is at most {MAX_HALL_HEIGHT_M:g} m above the slab; "
                                  "check the unit: metres",
    ("Hall", "raised_floor_height_m"): f"a raised floor is at most {MAX_RAISED_FLOOR_M:g} m deep; "
                                       "check the unit: metres",
    ("Hall", "return_plenum_height_m"): f"a return plenum is at most {MAX_PLENUM_M:g} m deep; "
                                        "check the unit: metres",
    "height_m": f"nothing in a hall is taller than {MAX_HALL_HEIGHT_M:g} m; check the unit: metres",
    ("RackType", "width_m"): f"a rack is at most {MAX_RACK_WIDTH_M:g} m wide; check the unit: metres",
    ("RackType", "depth_m"): f"a rack is at most {MAX_RACK_DEPTH_M:g} m deep; check the unit: metres",
    ("RackType", "height_m"): f"a rack is at most {MAX_RACK_HEIGHT_M:g} m tall; check the unit: metres",
    "nameplate_power_kw": f"a rack draws at most {MAX_RACK_POWER_KW:g} kW (2 MW); check the unit: kW",
    "idle_power_kw": f"a rack draws at most {MAX_RACK_POWER_KW:g} kW (2 MW); check the unit: kW",
    "power_kw": f"a rack draws at most {MAX_RACK_POWER_KW:g} kW (2 MW); check the unit: kW",
    ("Row", "count"): f"a row holds at most {MAX_ROW_RACKS} racks; split it into rows",
    ("Row", "types"): f"a row holds at most {MAX_ROW_RACKS} racks; split it into rows",
    ("CoolingUnit", "count"): f"one entry makes at most {MAX_UNIT_COUNT} units; add entries",
    ("Patch", "count"): f"one entry makes at most {MAX_PATCH_COUNT} patches; add entries",
    ("TileGroup", "count"): f"one row of tiles holds at most {MAX_TILE_COUNT} tiles",
    ("TileGroup", "tile_m"): "floor tiles are 0.6 m (at most 3 m); check the unit: metres",
    "count": f"one entry makes at most {MAX_ITEM_COUNT} items; check the number",
    ("CoolingUnit", "airflow_m3_s"): f"one cooling unit or air handler moves at most "
                                     f"{MAX_UNIT_AIRFLOW_M3_S:g} m3/s; check the unit: m3/s, not L/s",
    ("Patch", "airflow_m3_s"): f"one air handler moves at most {MAX_UNIT_AIRFLOW_M3_S:g} m3/s; "
                               "check the unit: m3/s, not L/s",
    ("CoolingUnit", "capacity_kw"): f"one cooling unit removes at most {MAX_UNIT_CAPACITY_KW:,.0f} kW; "
                                    "check the unit: kW, not W",
    ("RackType", "design_airflow_m3_s"): f"a rack moves at most {MAX_RACK_AIRFLOW_M3_S:g} m3/s; "
                                         "check the unit: m3/s, not L/s",
    "capacity_kw": f"one plant or power item is at most {MAX_PLANT_ITEM_KW:,.0f} kW (100 MW); "
                   "check the unit: kW, not W",
    "capacity_kva": f"one transformer is at most {MAX_PLANT_ITEM_KW:,.0f} kVA; check the unit: kVA",
    "fan_power_kw": f"fans of one item draw at most {MAX_PLANT_ITEM_KW:,.0f} kW; check the unit: kW",
    "approach_k": _DT_WHY, "range_k": _DT_WHY, "hx_approach_k": _DT_WHY, "design_delta_t_k": _DT_WHY,
    "cop": f"a chiller's COP is at most {MAX_COP:g} (about 3 to 10 at design)",
    "flow_m3_s": f"one pump moves at most {MAX_PUMP_FLOW_M3_S:g} m3/s; check the unit: m3/s, not L/s",
    "head_kpa": f"a pump head is at most {MAX_PUMP_HEAD_KPA:,.0f} kPa (50 bar); check the unit: kPa",
    "capacity_mw": f"a grid connection or contract is at most {MAX_SITE_MW:,.0f} MW; check the unit: MW",
    "import_cap_mw": f"a grid import cap is at most {MAX_SITE_MW:,.0f} MW; check the unit: MW",
    "power_mw": f"a battery delivers at most {MAX_SITE_MW:,.0f} MW; check the unit: MW",
    "peak_shave_mw": f"a peak-shaving target is at most {MAX_SITE_MW:,.0f} MW; check the unit: MW",
    "energy_mwh": f"a battery stores at most {MAX_STORAGE_MWH:,.0f} MWh; check the unit: MWh",
    "cycle_life_efc": "a battery lasts at most 100,000 equivalent full cycles (LFP: about 6,000)",
    "replacement_cost_krw_per_kwh": "a battery's replacement cost is below 10,000,000 KRW per kWh; "
                                    "check the unit: KRW/kWh",
    "max_defer_h": "flexible work waits at most 168 h (a week); check the unit: hours",
    "planning_pue": "a planning PUE lies between 1 and 10",
    "solar_mw": f"on-site solar is at most {MAX_SITE_MW:,.0f} MW; check the unit: MW",
    "voltage_kv": _KV_WHY, "primary_kv": _KV_WHY, "secondary_kv": _KV_WHY,
    "tariff_krw_per_kwh": _PRICE_WHY, "price_krw_per_kwh": _PRICE_WHY,
    "carbon_kg_per_kwh": f"grid carbon is at most {MAX_CARBON_KG_PER_KWH:g} kg CO2/kWh (coal is about 1); "
                         "check the unit: kg per kWh",
    "elevation_m": f"a site lies between {MIN_ELEVATION_M:,.0f} and {MAX_ELEVATION_M:,.0f} m above sea "
                   "level; check the unit: metres",
    "x_m": _POS_WHY, "y_m": _POS_WHY, "z_m": _POS_WHY, "start_m": _POS_WHY, "end_m": _POS_WHY,
    "north_deg": "the compass bearing of the hall's +y axis in degrees clockwise from north, "
                 "0 up to but not 360: write 0 for 360, 270 for -90",
    "floor_area_m2": "a building's floor is at most 1,000,000 m2; check the unit: m2",
    "k_loss": "a tile's or grille's loss coefficient is below 10,000 (a 50 % open tile: about 4)",
    "roof_z_m": f"a containment roof is at most {MAX_HALL_HEIGHT_M:g} m above the slab; "
                "check the unit: metres",
}


def _translate(err: dict, raw: dict, origins: dict, root) -> Diagnostic:
    loc = tuple(err.get("loc", ()))
    typ = err.get("type", "")
    ctx = err.get("ctx") or {}
    inp = err.get("input")
    file = root
    if len(loc) >= 2 and loc[0] in ("halls", "rack_types"):
        file = origins.get((loc[0], loc[1]), root)
        if len(loc) >= 3:
            file = origins.get((loc[0], loc[1], loc[2]), file)
    if typ == "extra_forbidden":
        parent, cls = _walk_loc(loc[:-1], raw)
        key = str(loc[-1])
        allowed = list(cls.model_fields) if cls is not None else []
        msg = f"unknown key '{key}'{did_you_mean(key, allowed)}"
        if allowed:
            msg += f" (allowed here: {', '.join(allowed)})"
        return Diagnostic("error", _display(file), parent, msg)
    if typ == "missing":
        parent, cls = _walk_loc(loc[:-1], raw)
        return Diagnostic("error", _display(file), parent, f"missing required key '{loc[-1]}'")
    path, _ = _walk_loc(loc, raw)
    key = str(loc[-1]) if loc else "value"
    if typ in _EXPECTED:
        msg = f"{key} = {_fmt(inp)} has the wrong type: expected {_EXPECTED[typ]}"
    elif typ == "literal_error" and key == "format_version":
        msg = (f"format_version = {_fmt(inp)} is not allowed; it must be the integer 1, "
               "without quotes: format_version = 1")
    elif typ == "literal_error":
        msg = f"{key} = {_fmt(inp)} is not allowed; use one of {ctx.get('expected', '')}"
    elif typ in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
              "less_than_equal": "<="}[typ]
        bound = ctx.get({"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt",
                         "less_than_equal": "le"}[typ])
        msg = f"{key} = {_fmt(inp)}: it must be {op} {bound}"
        if op == ">" and bound == 0:
            msg += " (a zero or negative power, flow or size is not physical)"
        elif op in ("<", "<=") or (op == ">=" and key in _LOWER_WHY):
            _, pcls = _walk_loc(loc[:-1], raw)
            why = _LIMIT_WHY.get((pcls.__name__ if pcls else "", key)) or _LIMIT_WHY.get(key)
            if why:
                msg += f" ({why})"
    elif typ == "finite_number":
        msg = f"{key} = {_fmt(inp)}: it must be a finite number"
    elif typ == "string_pattern_mismatch":
        msg = f"name {_fmt(inp)}: {NAME_HELP}"
    elif typ in ("too_short", "too_long"):
        msg = f"{key}: {err.get('msg', '')}"
        _, pcls = _walk_loc(loc[:-1], raw)
        why = _LIMIT_WHY.get((pcls.__name__ if pcls else "", key)) if typ == "too_long" else None
        if why:
            msg += f" ({why})"
    elif typ == "string_too_short":
        msg = f"{key} must not be empty"
    elif typ == "value_error":
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
    else:
        msg = f"{key}: {err.get('msg', typ)}"
    return Diagnostic("error", _display(file), path, msg)
