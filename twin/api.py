"""The twin from Python: load a facility, change it by path, solve a hall, run over time.

The same work as the ``twin`` commands, as functions (``docs/api.md`` has a runnable
example)::

    import twin
    fac = twin.load("meshes/small-hall.toml")
    warm = twin.with_changes(fac, {"halls[H1].cooling_units[*].supply_temp_c": 21})
    sol = twin.solve(warm, cell_m=0.25)
    sol.worst_rack["intake_max_c"]

Results as tables and arrays: :attr:`Solution.racks` and
:attr:`Solution.units` (pandas), :meth:`twin.outputs.results.RunData.to_dataframe`
(a run's group as pandas), :func:`open_results` (a results file as an xarray DataTree or
Dataset).

Paths are those of ``twin whatif --set`` (:mod:`twin.studies.whatif`): fields of the
file as written, ``[NAME]`` to pick an item by name, ``[*]`` for all of them. Every
changed facility passes the facility checks again; a bad path or value is one
:class:`common.errors.InputError` line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.errors import InputError

__all__ = ["load", "with_changes", "solve", "run", "run_sweep", "open_results", "Solution"]


def load(path):
    """The facility in ``path`` (a TOML file; ``builtin:`` includes resolved), checked.
    Warnings are on ``.warnings``; errors raise :class:`twin.facility.FacilityError`."""
    from twin.facility import load_facility
    return load_facility(path)


def _facility(facility):
    from twin.facility import Facility
    return facility if isinstance(facility, Facility) else load(facility)


def with_changes(facility, changes: dict):
    """A new facility with ``changes`` applied, ``{path: value}`` (values as numbers,
    booleans or strings). The facility given is left as it was."""
    from twin.studies.cases import make_case
    fac = _facility(facility)
    if not isinstance(changes, dict) or not changes:
        raise InputError("with_changes: give a dict {path: value}, e.g. "
                         "{'halls[H1].cooling_units[*].supply_temp_c': 21}")

    def text(v):
        return ("true" if v else "false") if isinstance(v, bool) else str(v)
    case = make_case(fac, [(str(k), text(v)) for k, v in changes.items()])
    if case.switches:
        raise InputError("with_changes: utilization and enabled=false are study switches, not "
                         "fields of the facility; give utilization= to twin.solve, or use "
                         "twin whatif")
    return case.facility


@dataclass
class Solution:
    """One hall at steady state: :attr:`racks` and :attr:`units` (pandas DataFrames, one
    row each, hottest intake first; :attr:`rack_rows`, :attr:`unit_rows` the same as
    dicts), :attr:`summary` (everything ``twin solve --json`` writes), :meth:`to_xarray`
    (the fields as xarray), the solver itself (``.hall_solution.solver``: fields on the
    host with ``.fields()``)."""

    hall_solution: object          # twin.thermal.steady.HallSolution
    facility: object = None        # the facility solved

    @property
    def summary(self) -> dict:
        return self.hall_solution.summary

    @property
    def converged(self) -> bool:
        return bool(self.summary["converged"])

    @property
    def rack_rows(self) -> list[dict]:
        """The racks' rows of the summary, one dict each, hottest intake first."""
        return list(self.summary["racks"])

    @property
    def unit_rows(self) -> list[dict]:
        """The cooling units' rows of the summary, one dict each."""
        return list(self.summary["cooling_units"])

    @property
    def racks(self):
        """The racks as a pandas DataFrame: one row per rack (index ``rack``, the names),
        hottest intake first; columns the keys, whose suffix is the unit
        (``intake_temp_c``, ``flow_m3_s``; ``work_fraction`` is ``work_frac``), and
        ``.attrs["units"]`` maps each column to its unit."""
        return _frame(self.rack_rows, "rack")

    @property
    def units(self):
        """The cooling units as a pandas DataFrame, index ``cooling_unit`` (as
        :attr:`racks`)."""
        return _frame(self.unit_rows, "cooling_unit")

    def racks_frame(self):
        """:attr:`racks` (the name of the first API, kept)."""
        return self.racks

    def units_frame(self):
        """:attr:`units` (the name of the first API, kept)."""
        return self.units

    @property
    def worst_rack(self) -> dict:
        """The row of the rack with the hottest intake cell, as a dict."""
        return self.rack_rows[0]

    @property
    def energy_budget(self) -> dict:
        return dict(self.summary["energy_budget"])

    def fields(self) -> dict:
        """The 3D fields on the host: ``temp_c``, ``u_m_s``, ... (cell centres)."""
        return self.hall_solution.solver.fields()

    def write(self, out_dir) -> Path:
        """``OUT/results.h5``, ``OUT/summary.json``, ``OUT/racks.csv`` and
        ``OUT/cooling_units.csv``, as ``twin solve --out``."""
        from twin.outputs.files import write_json
        from twin.thermal.steady import write_solution_csv, write_steady_h5
        out = Path(out_dir)
        text = self.facility.to_toml() if self.facility is not None else ""
        write_steady_h5(out / "results.h5", [self.hall_solution], text)
        write_json(out / "summary.json", self.summary)
        write_solution_csv(out, self.summary)
        return out / "results.h5"

    def to_xarray(self):
        """The solution as an ``xarray.DataTree`` in memory: the groups, coordinates,
        ``units`` and ``long_name`` of the ``results.h5`` :meth:`write` gives (it is
        written to a temporary folder and read back, so the two cannot differ)."""
        import tempfile
        with tempfile.TemporaryDirectory(prefix="dc-twin-") as folder:
            self.write(folder)
            with open_results(folder) as tree:
                return tree.load()


#: Keys of the summary rows renamed in the DataFrames so that each carries its unit.
_FRAME_NAMES = {"work_fraction": "work_frac"}


def _frame(rows: list[dict], index: str):
    import pandas as pd

    from twin.outputs.cf import unit_of
    df = pd.DataFrame(rows).rename(columns=_FRAME_NAMES).set_index("name")
    df.index.name = index
    df.attrs["units"] = {c: unit_of(c) for c in df.columns}
    return df


def open_results(path, group: str | None = None):
    """A results file of ``twin run`` or ``twin solve`` (``OUT/results.h5`` or ``OUT``) as
    xarray: the whole file as a ``DataTree`` (``xarray.open_datatree(path,
    engine="h5netcdf")``), or one group as a ``Dataset`` (``group="racks"``,
    ``"halls/H1"``). Times decode to datetimes (UTC; the file's ``time`` units say the
    site's offset); every variable has ``units`` and ``long_name``
    (``docs/results.md``). Close it (or use ``with``) before a run rewrites the file."""
    import xarray as xr

    from twin.outputs.files import results_kind
    from twin.outputs.results import SCHEMA_VERSION
    from twin.outputs.runfile import open_h5
    p = Path(path)
    if p.is_dir():
        p = p / "results.h5"
    with open_h5(p, "write one with twin run or twin solve --out DIR") as f:
        version = int(f.attrs.get("schema_version", SCHEMA_VERSION))
        groups = sorted(k for k in f.keys())
        if group is not None and group.strip("/") not in f:
            raise InputError(f"{p}: no group {group!r}; groups: {', '.join(groups)}")
    kind = results_kind(p)
    if kind == "other":
        raise InputError(f"{p} is not a dc-twin results file")
    if kind == "run" and version < 2:
        raise InputError(f"{p} was written by an older dc-twin (results schema {version}, not "
                         "netCDF); read it with twin.outputs.runfile.read_results, or run again")
    if group is not None:
        return xr.open_dataset(p, engine="h5netcdf", group=group)
    return xr.open_datatree(p, engine="h5netcdf")


def solve(facility, hall: str | None = None, *, cell_m: float = 0.2, backend: str = "auto",
          utilization: float = 1.0, max_steps: int | None = None,
          coarse_start: bool = False, racks: str = "ite",
          turbulence: str = "chen-xu", local_steps: float = 0.0, answer: str = "flow-mean",
          average_s: float | None = None, units: str = "matched") -> Solution:
    """Mesh ``hall`` and solve airflow and heat to steady state (``twin solve``); ``racks``
    is ``twin solve --racks`` (:data:`twin.thermal.racks.RACK_MODELS`), ``turbulence``
    ``--turbulence`` (``chen-xu`` or ``k-epsilon``), ``local_steps`` ``--local-steps`` (the
    largest local pseudo-time step over the global one, :mod:`kernels.local_steps`; 0 off;
    with the heat solved every ``kernels.solver.LOCAL_STEPS_HEAT_EVERY`` iterations),
    ``answer`` and ``average_s`` ``--answer`` and ``--average-s`` (the heat at the mean
    flow, or the temperature's time mean), ``units`` ``--units`` (``matched``, the
    default: the units of a sealed aisle at its racks' airflow; or ``design``); all as
    :func:`twin.thermal.steady.solve_hall`."""
    from kernels.solver import LOCAL_STEPS_HEAT_EVERY, SolverSettings
    from twin.thermal.racks import RACK_MODELS
    from twin.thermal.steady import check_cell, solve_hall
    check_cell(cell_m)
    if racks not in RACK_MODELS:
        raise InputError(f"solve: racks={racks!r} must be one of {', '.join(RACK_MODELS)}")
    if not 0.0 <= utilization <= 1.0:
        raise InputError(f"solve: utilization {utilization} must be within 0..1")
    opts = {"max_steps": max_steps} if max_steps else {}
    if local_steps:
        opts.update(local_steps=local_steps, energy_finish_every=LOCAL_STEPS_HEAT_EVERY)
    settings = SolverSettings(**opts) if opts else None
    fac = _facility(facility)
    sol = solve_hall(fac, hall, cell_m=cell_m, backend=backend, settings=settings,
                     utilization=utilization, coarse_start=coarse_start, rack_model=racks,
                     turbulence=turbulence, answer=answer, average_s=average_s, units=units)
    return Solution(sol, fac)


def _period_settings(fac, settings: dict) -> dict:
    """``period=`` without ``start_h`` (or ``hours``): the period's own start and length,
    as ``twin run --period`` (a start outside the period is refused by the run)."""
    name = settings.get("period")
    if not name or ("start_h" in settings and "hours" in settings):
        return settings
    from twin.loop.specs import _weather_spec
    from twin.models.design_days import PERIODS, period_window_h
    from twin.models.weather import load_weather
    if name not in PERIODS:
        return settings                 # RunSettings says so in one line
    start_h, hours = period_window_h(load_weather(_weather_spec(fac)), name)
    return {"start_h": start_h, "hours": hours, **settings}


def run(facility, out_dir=None, **settings):
    """The twin over time (``twin run``); ``settings`` are those of
    :class:`twin.loop.settings.RunSettings` (``hours``, ``step_s``, ``cell_m``, ``profile``,
    ...); with ``period=`` (``"design-cooling-0.4"``, ``"hottest-week"``, ...) and no
    ``start_h`` the run starts at 00:00 of the period's first day and, without ``hours``,
    covers it. Returns the :class:`twin.outputs.results.RunData` (series, summary,
    snapshots), written to ``out_dir`` too when given."""
    from twin.loop.simulation import RunSettings, Simulation
    fac = _facility(facility)
    sim = Simulation(fac, RunSettings(**_period_settings(fac, settings)))
    sim.run(out_dir=out_dir)
    return sim.run_data()


def run_sweep(facility, changes: dict, *, scheduler: str | None = None, workers: int | None = None,
              **settings):
    """Run the baseline and every combination of ``changes`` (``{path: [values]}``) over the
    same period, in parallel on Dask (``twin whatif-run``; :mod:`twin.studies.runsweep`).

    Paths are facility paths (as :func:`with_changes`) or run settings ``run.NAME``
    (``run.dry_bulb_offset_k``, ``run.wind_scale``, ``run.solar_scale``,
    ``run.grid_carbon_kg_per_kwh``, ``run.utilization``, ...); ``settings`` are the shared
    :class:`twin.loop.settings.RunSettings` (``hours``, ``step_s``, ``cell_m``, ``period``
    as for :func:`run`, ...). ``workers=1`` runs the cases one after the other in this
    process. Returns a pandas DataFrame indexed by case (``baseline``, ``case-01``, ...): ``label``, the run metrics
    (``pue``, ``wue_l_per_kwh``, ``cfe_score``, ``cost_krw``, ``max_rack_inlet_c``, ...),
    ``status``, ``error`` and the differences to the baseline as ``d_<metric>``; the
    records (with each case's changes and worker) are in ``.attrs["records"]``."""
    from twin.studies.runsweep import build_run_cases, records_frame
    from twin.studies.runsweep import run_sweep as _run_sweep
    if not isinstance(changes, dict) or not changes:
        raise InputError("run_sweep: give a dict {path: [values]}, e.g. "
                         "{'run.dry_bulb_offset_k': [0, 4]}")

    def text(v):
        return ("true" if v else "false") if isinstance(v, bool) else str(v)
    sets = []
    for k, vals in changes.items():
        vals = list(vals) if isinstance(vals, (list, tuple)) else [vals]
        sets.append(f"{k}=" + ",".join(text(v) for v in vals))
    fac = _facility(facility)
    cases = build_run_cases(fac, sets)
    settings = _period_settings(fac, settings)
    settings.setdefault("checkpoint_every_s", 0.0)
    recs = _run_sweep(cases, settings, scheduler=scheduler, workers=workers)
    frame = records_frame(recs)
    frame.attrs["records"] = recs
    return frame
