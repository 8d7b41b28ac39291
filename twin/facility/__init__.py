"""Facility description: campus, buildings, halls, racks, cooling, plant and power.

A facility is one human-edited TOML file (plus the files it includes), read with the
standard library's safe ``tomllib`` and written back with ``tomli_w``. The format is
documented by example in ``meshes/*.toml`` and in ``docs/facility-format.md``.

Conventions
-----------
* SI units, the unit in every key name (``power_kw``, ``airflow_m3_s``, ``x_m``); the
  glossary of suffixes is in :mod:`common.units`.
* Per hall: ``x`` along the hall length (``length_m``), ``y`` across (``width_m``),
  ``z`` up; the origin is the hall's corner on the structural slab, so ``z = 0`` is the
  bottom of the raised-floor plenum. Every ``*_z_m`` and ``*_height_m`` of a hall is
  measured from that slab; a body's ``height_m`` is its own size.
* A footprint is given by its lower corner ``(x_m, y_m)``; ``width_m`` runs along the
  face that ``facing`` names, ``depth_m`` along ``facing``.
* ``facing`` is the direction the rack *intake* (or the cooler *supply*) faces:
  ``"+x"``, ``"-x"``, ``"+y"``, ``"-y"``.

Loading (:func:`load_facility`) runs in four stages, each reporting *all* the problems
it finds as :class:`Diagnostic` records (file, object path, message):

1. read TOML (syntax errors with line and column);
2. resolve ``include`` lists and hall ``file``/``template``/``count`` entries, all inside
   the facility's own folder;
3. check the schema (pydantic v2, ``extra="forbid"``, strict types), with its errors
   translated into our messages and a "did you mean" for unknown keys;
4. check the engineering: geometry, references, capacities (:func:`check_facility`).

Errors raise :class:`FacilityError` (an :class:`common.errors.InputError`) carrying all
of them; warnings stay on :attr:`Facility.warnings`.

Modules: :mod:`.diagnostics` (problems and their wording), :mod:`.schema` and
:mod:`.plant` (the pydantic schema and the ranges of every quantity), :mod:`.model`
(:class:`Facility`), :mod:`.layout` (a hall in metres; boxes and facings in
:mod:`.geometry`, obstructions in :mod:`.obstructions`), :mod:`.checks` (engineering
checks), :mod:`.includes` (safe reading, includes, hall copies), :mod:`.messages`
(pydantic errors in the format's words) and :mod:`.load` (the entry points).
"""
from .checks import cell_size_warnings, check_facility  # noqa: F401
from .diagnostics import Diagnostic, FacilityError, did_you_mean  # noqa: F401
from .layout import (Box, CoolingUnitRecord, HallLayout, PlacedOpening, PlacedPanel,  # noqa: F401
                     PlacedRack, PlacedUnit, RackRecord)
from .load import flow_for_delta_t, load_facility, loads_facility, parse_facility  # noqa: F401
from .model import Facility  # noqa: F401
from .obstructions import PlacedObstruction  # noqa: F401
from .plant import Plant, Power  # noqa: F401
from .schema import (BUILTIN_DIR, CDU, MAX_FILE_BYTES, MAX_NESTING,  # noqa: F401
                     MIN_EXHAUST_CLEARANCE_M, MIN_INTAKE_CLEARANCE_M, MIN_UNIT_CLEARANCE_M,
                     NAME_HELP, NAME_PATTERN, Air, Building, Campus, Containment, CoolingUnit,
                     Envelope, Hall, Obstruction, Patch, Phase, Rack, RackType, RearDoorType, Row,
                     TileGroup, floor_leak_k, idelchik_perforated_plate_k)

__all__ = ["Diagnostic", "FacilityError", "Facility", "Campus", "Building", "RackType", "Row",
           "Rack", "CoolingUnit", "TileGroup", "Containment", "CDU", "Hall", "Plant",
           "Power", "load_facility", "loads_facility", "parse_facility",
           "check_facility", "cell_size_warnings", "flow_for_delta_t",
           "idelchik_perforated_plate_k", "Box", "PlacedRack", "PlacedUnit",
           "PlacedOpening", "PlacedPanel", "HallLayout", "RackRecord",
           "CoolingUnitRecord", "BUILTIN_DIR", "MIN_INTAKE_CLEARANCE_M",
           "MIN_EXHAUST_CLEARANCE_M", "MIN_UNIT_CLEARANCE_M", "MAX_FILE_BYTES",
           "MAX_NESTING", "did_you_mean", "Air", "Patch", "NAME_PATTERN", "NAME_HELP",
           "Obstruction", "PlacedObstruction", "RearDoorType", "Envelope", "floor_leak_k", "Phase"]
