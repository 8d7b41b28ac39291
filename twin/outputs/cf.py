"""NetCDF-4 / CF conventions for the HDF5 results, written with plain h5py.

The results files are HDF5 that ``xarray.open_datatree(path, engine="h5netcdf")`` opens
group by group without our code. What that takes (netCDF-4 format specification,
Unidata "NetCDF-4 Format" in the NetCDF Users Guide, section "NetCDF-4 Format
Specification / Dimensions"; CF Conventions 1.10, sections 3.1 units, 3.2 long_name,
4.4 time coordinate):

* every axis of every dataset has a dimension scale *in the same group*: a coordinate
  variable (a dataset that is its own scale, e.g. ``time`` or ``rack``) or, where the
  axis has no coordinate, a netCDF "dimension but not a variable" (a scale whose
  ``NAME`` starts with ``This is a netCDF dimension but not a netCDF variable.``; it
  is a dimension, not a variable, for netCDF and h5netcdf: :func:`dimension`);
* a time coordinate in CF form: ``units = "hours since 2027-01-01 00:00:00+09:00"``
  (the reference in the site's local standard time, its offset from UTC stated) and a
  ``calendar`` (:func:`time_units`);
* ``units`` and ``long_name`` on every variable (:func:`describe`; ``"1"`` for
  dimensionless numbers and for labels and text).

Readers of the files go through :class:`twin.outputs.results.RunFile`; this module only
writes.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import h5py

__all__ = ["CALENDAR_YEAR", "NOT_A_VARIABLE", "FIELD_LONG_NAMES", "unit_of", "utc_offset_text",
           "time_units", "local_time", "dimension", "describe", "is_pure_dimension", "long_name_of",
           "write_fields"]

#: Calendar of ``time_h`` (hours after 1 January 00:00 local standard time of a typical
#: year: 365 days, so a non-leap year), for clock times in files, tables and charts.
CALENDAR_YEAR = 2027

#: ``NAME`` of a dimension scale that is a netCDF dimension without a variable (the
#: netCDF-C library's marker, which h5netcdf reads the same way).
NOT_A_VARIABLE = "This is a netCDF dimension but not a netCDF variable."

# longest suffix first
_UNITS = (
    ("_krw_per_kwh", "KRW/kWh"), ("_kg_per_kwh", "kg/kWh"), ("_l_per_kwh", "L/kWh"),
    ("_m3_s", "m3/s"), ("_kg_s", "kg/s"), ("_m_s", "m/s"), ("_w_m2", "W/m2"),
    ("_pct", "%"), ("_frac", "1"), ("_kwh", "kWh"), ("_krw", "KRW"), ("_c", "degC"),
    ("_k", "K"), ("_w", "W"), ("_j", "J"), ("_pa", "Pa"), ("_kg", "kg"), ("_l", "L"),
    ("_t", "t"), ("_h", "h"), ("_s", "s"), ("_m", "m"),
)


def unit_of(name: str) -> str:
    """The unit a name's suffix declares (``"supply_temp_c"`` -> ``"degC"``); ``"1"`` if none."""
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return "1"


#: long_name of the 3D fields (:func:`kernels.budget.fields`).
FIELD_LONG_NAMES = {
    "temp_c": "air temperature (cell mean; NaN in solids)",
    "u_m_s": "air velocity, x component (cell centre)",
    "v_m_s": "air velocity, y component (cell centre)",
    "w_m_s": "air velocity, z component (cell centre)",
    "speed_m_s": "air speed (cell centre)",
    "pressure_pa": "kinematic pressure times density, relative (NaN in solids)",
    "flags": "cell type bit flags (kernels/README.md)",
    "x_m": "x of the cell centres (along the hall's width)",
    "y_m": "y of the cell centres (along the hall's length)",
    "z_m": "z of the cell centres (height above the floor)",
}


def utc_offset_text(utc_offset_h: float) -> str:
    """``+09:00`` for 9.0, ``-03:30`` for -3.5 (ISO 8601)."""
    minutes = int(round(float(utc_offset_h) * 60.0))
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    return f"{sign}{hh:02d}:{mm:02d}"


def time_units(utc_offset_h: float) -> str:
    """CF ``units`` of ``time_h``: ``"hours since 2027-01-01 00:00:00+09:00"``."""
    return f"hours since {CALENDAR_YEAR}-01-01 00:00:00{utc_offset_text(utc_offset_h)}"


def local_time(time_h: float, utc_offset_h: float) -> datetime:
    """The time-zone-aware local standard time of ``time_h`` (hours after 1 January)."""
    tz = timezone(timedelta(hours=float(utc_offset_h)))
    return datetime(CALENDAR_YEAR, 1, 1, tzinfo=tz) + timedelta(hours=float(time_h))


def dimension(group: h5py.Group, name: str, size: int) -> h5py.Dataset:
    """A netCDF dimension without a coordinate variable: an unwritten (so unallocated)
    float32 dataset of ``size`` made a dimension scale with the netCDF marker name."""
    d = group.create_dataset(name, shape=(int(size),), dtype=">f4")
    d.make_scale(f"{NOT_A_VARIABLE}{int(size):10d}")
    return d


def is_pure_dimension(d) -> bool:
    """Whether a dataset is a dimension without a variable (:func:`dimension`)."""
    name = d.attrs.get("NAME", b"")
    if isinstance(name, str):
        name = name.encode("ascii", "replace")
    return NOT_A_VARIABLE.encode() in bytes(name)


def describe(d: h5py.Dataset, units: str, long_name: str) -> h5py.Dataset:
    """Set ``units`` and ``long_name`` (CF 3.1, 3.2)."""
    d.attrs["units"] = units
    d.attrs["long_name"] = long_name
    return d


def long_name_of(name: str, unit_suffixes, owner: str = "") -> str:
    """A readable name from a unit-suffixed key: ``"inlet_temp_c"`` -> ``"rack inlet
    temp"`` (``owner`` "rack"; ``unit_suffixes`` the ``(suffix, unit)`` pairs, longest
    first)."""
    stem = name
    for suffix, _ in unit_suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            break
    words = stem.replace("_", " ").strip()
    return f"{owner} {words}".strip() if owner else words



def write_fields(group: h5py.Group, centres_m, fields: dict, **dataset_kw) -> None:
    """3D cell-centred fields of a hall into ``group``: the coordinates ``x_m``, ``y_m``,
    ``z_m`` (``centres_m``, three 1D arrays) as dimension scales, each field on them, all
    with ``units`` and ``long_name`` (what ``twin solve`` and ``twin fail`` write)."""
    scales = []
    for name, c in zip(("x_m", "y_m", "z_m"), centres_m):
        d = group.create_dataset(name, data=c)
        describe(d, "m", FIELD_LONG_NAMES[name])
        d.make_scale(name)
        scales.append(d)
    for key, arr in fields.items():
        d = group.create_dataset(key, data=arr, **dataset_kw)
        describe(d, unit_of(key), FIELD_LONG_NAMES.get(key, long_name_of(key, _UNITS)))
        for a in range(3):
            d.dims[a].attach_scale(scales[a])
