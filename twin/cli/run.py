"""``twin run FACILITY``: simulate a campus over time (see :mod:`twin.loop.simulation`).

Writes ``OUT/results.h5`` (schema in :mod:`twin.outputs.results`) and ``OUT/summary.json``. A
progress bar shows the simulated time, steps per second and the time left; Ctrl-C stops
(or SIGTERM) stops after writing every completed step, and ``--resume`` continues from the
file. The output folder is checked and locked before any work (:mod:`twin.outputs.files`).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from click.core import ParameterSource

from common.errors import InputError
from kernels.backend import CHOICES as _BACKENDS
from twin.cli.checks import phase_options, ranged
from twin.loop.settings import RACK_AIRFLOW, THERMAL_MODES
from twin.models.design_days import PERIODS
from twin.models.profiles import PROFILES
from twin.outputs.files import OutputError, command_line, output_folder, results_kind
from twin.outputs.results import results_path, summary_path

__all__ = ["run"]



def _fmt_h(h: float) -> str:
    d, rem = divmod(h, 24.0)
    return f"{int(d)}d {rem:05.2f}h" if d >= 1 else f"{rem:.2f}h"


@click.command("run")
@click.argument("facility", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--hours", type=float, default=24.0, show_default=True,
              callback=ranged(0, 10 * 8760, lo_open=True, what="the simulated period [h] (at most 10 years)"),
              help="Simulated period [h] (8760: a year).")
@click.option("--step", "step", default="15m", show_default=True,
              help="Time step: 15m, 30m, 1h or seconds (at most 1h).")
@click.option("--backend", type=click.Choice(_BACKENDS), default="auto", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: runs/<facility file name>).")
@click.option("--cell", "cell_m", type=float, default=0.2, show_default=True,
              callback=ranged(0, 10, lo_open=True, what="the cell size [m]"),
              help="Cell size of the thermal grid [m].")
@click.option("--resume", is_flag=True, help="Continue the interrupted run stored in --out.")
@click.option("--thermal", type=click.Choice(THERMAL_MODES), default="linear",
              show_default=True,
              help="linear: exact linear heat response at frozen flows, re-solved when flows move; "
                   "direct: a flow and heat solve every step; transient: time-accurate solver run.")
@click.option("--profile", default="training", show_default=True,
              help=f"Utilisation profile: {', '.join(sorted(PROFILES))} or a CSV trace.")
@click.option("--utilization", type=float, default=None,
              callback=ranged(0, 1, what="the IT utilisation"),
              help="Level of the constant/training profile, mean of inference (0..1).")
@click.option("--start-day", type=click.IntRange(1, 365), default=1, show_default=True,
              help="Day of the year the run starts (00:00 local standard time).")
@click.option("--week", type=click.Choice(["hottest", "coldest"]), default=None,
              help="What-if: start on the first day of the site's hottest (coldest) week, from "
                   "its weather file, and run that week (168 h unless --hours is given); "
                   "instead of --start-day.")
@click.option("--period", type=click.Choice(list(PERIODS)), default=None,
              help="Run a named period of the site's weather from 00:00 of its first day (a "
                   "day or a week unless --hours is given): an ASHRAE design day (the day of the "
                   "weather year nearest the condition, its dry bulb brought to the design "
                   "figure: ASHRAE Handbook 2009 for Ulsan, else derived from the weather file; "
                   "docs/results.md) or the hottest or coldest week; instead of --start-day.")
@click.option("--hall", "halls", multiple=True, help="Only this hall (repeatable); the plant and "
              "the electrical chain are scaled to the halls run.")
@phase_options
@click.option("--workers", type=click.IntRange(1, 1024), default=None,
              help="Dask worker processes for the distinct halls (default: one per distinct "
                   "hall up to the cores; 1: all in this process). Results are the same.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Advance the distinct halls on this Dask cluster (tcp://host:8786) instead "
                   "of a local one.")
@click.option("--target-inlet", type=float, default=27.0, show_default=True,
              callback=ranged(5, 45, what="the target rack inlet [degC] (ASHRAE A1-A4 allowable)"),
              help="Hottest rack inlet the supply controller aims at [degC].")
@click.option("--flow-tol", type=float, default=0.10, show_default=True,
              callback=ranged(0, 1, lo_open=True, what="the airflow tolerance (a fraction)"),
              help="Re-solve the flow when a device's airflow moves by more than this fraction.")
@click.option("--rack-airflow", type=click.Choice(RACK_AIRFLOW), default="model", show_default=True,
              help="Airflow of the racks in the thermal field: the ITE model's (moves with load and "
                   "inlet temperature) or the design airflow (one flow solve per hall).")
@click.option("--snapshot-every", default=None,
              help="3D snapshot interval (e.g. 6h); default first and last step.")
@click.option("--checkpoint-every", "checkpoint_every", default="30s", show_default=True,
              help="Wall time between rewrites of results.h5 while running (e.g. 30s, 5m; 0: after "
                   "every step); a killed run resumes from the last one.")
@click.option("--dry-bulb-offset", type=float, default=0.0, show_default=True,
              callback=ranged(-30, 30, what="the dry-bulb offset [K]"),
              help="What-if: the outdoor air this many kelvin warmer (a heat wave), at the same "
                   "moisture unless --dew-point-offset says otherwise.")
@click.option("--dew-point-offset", type=float, default=0.0,
              show_default=True, callback=ranged(-30, 30, what="the dew-point offset [K]"),
              help="What-if: the outdoor dew point this many kelvin higher (more humid air).")
@click.option("--wind-scale", type=float, default=1.0, show_default=True,
              callback=ranged(0, 2, what="the wind output scale"),
              help="What-if: wind contracts deliver this fraction of their usual output "
                   "(0: the wind drops).")
@click.option("--solar-scale", type=float, default=1.0, show_default=True,
              callback=ranged(0, 2, what="the solar output scale"),
              help="What-if: on-site PV and solar contracts deliver this fraction of their "
                   "usual output.")
@click.option("--grid-carbon", "grid_carbon", type=float, default=None,
              callback=ranged(0, 2, what="the grid carbon intensity [kg/kWh]"),
              help="What-if: the grid's carbon intensity [kg CO2/kWh] (default: the facility's, "
                   "or Korea's 0.4173).")
@click.option("--force", is_flag=True, help="Overwrite results already in --out.")
@click.option("--quiet", is_flag=True,
              help="No progress bar and no summary table (errors and warnings still print; "
                   "the summary is in OUT/summary.json).")
@click.pass_context
def run(ctx, facility, hours, step, backend, out_dir, cell_m, resume, thermal, profile, utilization,
        start_day, week, period, halls, target_inlet, flow_tol, rack_airflow, snapshot_every, checkpoint_every,
        dry_bulb_offset, dew_point_offset, wind_scale, solar_scale, grid_carbon, force, quiet,
        phases=(), year=None, workers=None, scheduler=None):
    """Simulate FACILITY over time: IT load, airflow and heat, cooling plant, power.

    \b
    Examples:
      twin run meshes/small-hall.toml                       # a day at 15-minute steps
      twin run meshes/small-hall.toml --hours 8760 --step 1h
      twin run meshes/ulsan-campus.toml --backend numba-cuda --out runs/ulsan
      twin run meshes/small-hall.toml --resume              # after Ctrl-C
      twin run meshes/ulsan-campus.toml --start-day 213 --hours 168 --dry-bulb-offset 4
      twin run meshes/ulsan-campus.toml --hours 168 --wind-scale 0   # a windless week
      twin run meshes/ulsan-campus.toml --period design-cooling-0.4 --step 1h  # ASHRAE 0.4 % day
      twin run meshes/ulsan-1gw-campus.toml --year 2031 --step 1h --cell 0.3   # as built in 2031
      twin run meshes/ulsan-1gw-campus.toml --phase P1 --workers 2               # one phase, Dask
    """
    from rich.console import Console

    from twin.loop.simulation import RunSettings, Simulation, parse_duration_s

    console = Console(stderr=True, quiet=quiet)
    every_s = _checkpoint_s(checkpoint_every)
    if week is not None:
        if period is not None:
            raise InputError("--week and --period both say when to start: give one of them "
                             "(--week hottest is --period hottest-week)")
        period = f"{week}-week"
    if period is not None:
        if ctx.get_parameter_source("start_day") == ParameterSource.COMMANDLINE:
            raise InputError(f"--{'week' if week else 'period'} and --start-day both say when to "
                             "start: give one of them")
        start_day, days = _period_start_day(facility, period)
        if ctx.get_parameter_source("hours") != ParameterSource.COMMANDLINE:
            hours = 24.0 * days
        console.print(f"{period} of the site's weather starts on day {start_day}")
    out_dir = out_dir or Path("runs") / facility.stem
    rp = results_path(out_dir)
    with output_folder(out_dir, command_line()) as lock:
        for n in lock.notes:
            console.print(f"[dim]note: {n}[/]")
        kind = results_kind(rp)
        if resume:
            if kind is None:
                raise InputError(f"nothing to resume: {rp} does not exist; run without --resume first")
            if kind != "run":
                raise InputError(f"nothing to resume: {rp} holds {_KIND_TEXT[kind]}, not a twin run; "
                                 "give the --out of the run to continue")
            from twin.outputs.runfile import read_results
            given = {
                "step": ("step_s", lambda: parse_duration_s(step)),
                "backend": ("backend", lambda: backend), "cell_m": ("cell_m", lambda: cell_m),
                "thermal": ("thermal", lambda: thermal), "profile": ("profile", lambda: profile),
                "utilization": ("utilization", lambda: utilization),
                "start_day": ("start_h", lambda: (start_day - 1) * 24.0),
                "week": ("start_h", lambda: (start_day - 1) * 24.0),
                "period": ("period", lambda: period or ""),
                "halls": ("halls", lambda: tuple(halls)),
                "phases": ("phases", lambda: tuple(phases)),
                "year": ("year", lambda: year),
                "target_inlet": ("target_inlet_temp_c", lambda: target_inlet),
                "flow_tol": ("flow_tol_frac", lambda: flow_tol),
                "rack_airflow": ("rack_airflow", lambda: rack_airflow),
                "dry_bulb_offset": ("dry_bulb_offset_k", lambda: dry_bulb_offset),
                "dew_point_offset": ("dew_point_offset_k", lambda: dew_point_offset),
                "wind_scale": ("wind_scale", lambda: wind_scale),
                "solar_scale": ("solar_scale", lambda: solar_scale),
                "grid_carbon": ("grid_carbon_kg_per_kwh", lambda: grid_carbon),
                "snapshot_every": ("snapshot_every_h",
                                   lambda: parse_duration_s(snapshot_every) / 3600.0 if snapshot_every else 0.0)}
            stored = RunSettings.from_dict(read_results(rp, restart=False).settings)
            differ = [p for p, (field, value) in given.items()
                      if ctx.get_parameter_source(p) == ParameterSource.COMMANDLINE
                      and value() != getattr(stored, field)]
            if differ:
                raise InputError(f"--resume continues with the settings stored in {rp}; "
                                 + ", ".join("--" + p.replace("_m", "").replace("_", "-") for p in differ)
                                 + " differ from them: leave them out (or start a new run)")
            h = hours if ctx.get_parameter_source("hours") == ParameterSource.COMMANDLINE else None
            ce = every_s if ctx.get_parameter_source("checkpoint_every") == ParameterSource.COMMANDLINE \
                else None
            sim = Simulation.resume(rp, facility, hours=h, checkpoint_every_s=ce)
            console.print(f"resuming {rp}: {sim.k} of {sim.n_steps} steps done")
        else:
            if kind == "run" and not force:
                raise InputError(f"{rp} exists; continue it with --resume or overwrite it with --force")
            if kind is not None and not force:
                raise InputError(f"{rp} holds {_KIND_TEXT[kind]}; choose another --out, or overwrite "
                                 "it with --force")
            settings = RunSettings(
                hours=hours, step_s=parse_duration_s(step), start_h=(start_day - 1) * 24.0, cell_m=cell_m,
                backend=backend, thermal=thermal, profile=profile, utilization=utilization,
                halls=tuple(halls), target_inlet_temp_c=target_inlet, flow_tol_frac=flow_tol,
                rack_airflow=rack_airflow, checkpoint_every_s=every_s,
                dry_bulb_offset_k=dry_bulb_offset, dew_point_offset_k=dew_point_offset,
                wind_scale=wind_scale, solar_scale=solar_scale,
                grid_carbon_kg_per_kwh=grid_carbon, period=period or "",
                phases=tuple(phases), year=year,
                snapshot_every_h=parse_duration_s(snapshot_every) / 3600.0 if snapshot_every else 0.0)
            sim = Simulation(facility, settings)
        from twin.cli.warm import prepare_kernels
        prepare_kernels(console, sim.settings.backend)     # the first compile, said out loud
        try:
            status = _run_with_progress(sim, out_dir, console, quiet, workers, scheduler)
        except OutputError as exc:
            if results_kind(rp) != "run":
                raise
            raise OutputError(f"{exc}; {rp} keeps the last checkpoint: continue from it with "
                              f"twin run {facility} --out {out_dir} --resume") from None
        _print_summary(sim, out_dir, Console(quiet=quiet))     # results on stdout, progress on stderr
        if status == "interrupted":
            how = getattr(sim, "stopped_by", "Ctrl-C")
            if getattr(sim, "_restart_lost", False):
                click.echo(f"interrupted ({how}) after {sim.k} of {sim.n_steps} steps; the completed "
                           f"steps are in {rp}, but the Dask workers stopped with the run, so it "
                           "cannot be resumed: run it again", err=True)
                sys.exit(128 + getattr(sim, "stopped_signum", 2))
            click.echo(f"interrupted ({how}) after {sim.k} of {sim.n_steps} steps; the completed steps "
                       f"are in {rp}. Continue with:\n  twin run {facility} --out {out_dir} --resume",
                       err=True)        # also with --quiet
            sys.exit(128 + getattr(sim, "stopped_signum", 2))


def _period_start_day(facility, period: str) -> tuple[int, int]:
    """First day and length in days of a named period of the site's weather
    (:mod:`twin.models.design_days`)."""
    from twin.facility import load_facility
    from twin.loop.specs import _weather_spec
    from twin.models.design_days import period_start_day
    from twin.models.weather import load_weather
    weather = load_weather(_weather_spec(load_facility(facility)))
    return period_start_day(weather, period), PERIODS[period][0]


_KIND_TEXT = {"run": "a twin run", "steady": "a steady solve (twin solve)",
              "other": "a file that is not a dc-twin result (or is damaged)"}


def _checkpoint_s(text: str) -> float:
    """``--checkpoint-every``: a duration (``30s``, ``5m``) or 0 (after every step), at most a day."""
    from twin.loop.simulation import parse_duration_s
    if str(text).strip() in ("0", "0s", "0.0"):
        return 0.0
    try:
        v = parse_duration_s(text)
    except InputError:
        raise InputError(f"--checkpoint-every {text}: give a wall-clock duration such as 30s or 5m, "
                         "or 0 (after every step)") from None
    if v > 86400:
        raise InputError(f"--checkpoint-every {text}: at most a day (1d); checkpoints keep a killed "
                         "run's work")
    return v


def _run_with_progress(sim, out_dir, console, quiet, workers=None, scheduler=None) -> str:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    s = sim.settings
    total_h = s.hours
    columns = [TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.fields[simtime]}"), TextColumn("{task.fields[rate]}"),
               TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console, disable=quiet, transient=False) as progress:
        task = progress.add_task("preparing", total=sim.n_steps, completed=sim.k,
                                 simtime=f"{_fmt_h(sim.k * s.step_s / 3600)} / {_fmt_h(total_h)}",
                                 rate="")
        t0 = time.perf_counter()
        k0 = sim.k

        def on_event(kind, info):
            if kind == "mesh":
                progress.update(task, description=f"meshing {info['hall']}")
            elif kind == "flow":
                if info.get("start"):
                    progress.update(task, description=f"flow {info['hall']}: starting")
                elif "iteration" in info:
                    progress.update(task, description=f"flow {info['hall']}: it {info['iteration']} "
                                                      f"res {info.get('res_velocity', float('nan')):.1e}")
            elif kind == "response":
                progress.update(task, description=f"response {info['hall']} {info['column']}/{info['of']}")
            elif kind == "note":
                progress.console.print(f"[dim]note: {info['text']}[/]")

        sim.on_event = on_event

        def callback(sim_, rec):
            done = sim_.k - k0
            el = time.perf_counter() - t0
            progress.update(task, completed=sim_.k, description=f"step {sim_.k}/{sim_.n_steps}",
                            simtime=f"{_fmt_h(sim_.k * s.step_s / 3600)} / {_fmt_h(total_h)}",
                            rate=f"{done / el:.2f} steps/s  max inlet {rec.max_inlet_c:.1f} degC")

        sim.prepare()
        n = len(sim.halls)
        from twin.studies.sweep import TaskRunner, cpu_count
        if scheduler is None and (n < 2 or workers == 1 or (workers is None and cpu_count() < 2)):
            status = sim.run(callback=callback, out_dir=out_dir)
        else:
            with TaskRunner(n, scheduler, workers, s.backend) as runner:
                if runner.client is not None:
                    progress.console.print(f"[dim]note: {n} distinct halls on {runner.n_workers} "
                                           "Dask workers[/]")
                    progress.update(task, description="starting the halls on the workers")
                status = sim.run(callback=callback, out_dir=out_dir, client=runner.client)
        progress.update(task, description=status)
    return status


def _print_summary(sim, out_dir, console):
    from rich.table import Table

    sm = sim.summary()
    t = Table(title=f"{sim.facility.campus.name}: {sm.get('hours', 0):g} h, {sm['status']}",
              show_header=False)

    def row(label, key, fmt="{:.3f}", unit=""):
        v = sm.get(key)
        if v is None:
            return
        t.add_row(label, (fmt.format(v) if isinstance(v, (int, float)) else str(v)) + unit)

    row("PUE", "pue")
    row("IT energy", "it_energy_kwh", "{:,.0f}", " kWh")
    row("facility energy", "facility_energy_kwh", "{:,.0f}", " kWh")
    row("max rack inlet", "max_rack_inlet_c", "{:.2f}", " degC")
    if abs((sm.get("max_server_inlet_c") or 0.0) - (sm.get("max_rack_inlet_c") or 0.0)) > 1e-9:
        row("max server inlet", "max_server_inlet_c", "{:.2f}", " degC")   # leaky cabinets
    row("RCI_HI", "rci_hi_pct", "{:.1f}", " %")
    row("RCI_LO", "rci_lo_pct", "{:.1f}", " %")
    row("RTI", "rti_pct", "{:.1f}", " %")
    row("racks over 27 degC", "racks_over_recommended", "{:d}")
    row("WUE", "wue_l_per_kwh", "{:.2f}", " L/kWh")
    row("CO2", "co2_t", "{:.2f}", " t")
    row("renewable share", "renewable_share", "{:.1%}")
    row("cost", "cost_krw", "{:,.0f}", " KRW")
    d = sm.get("dispatch")
    if d:
        w, wo = d["with_storage"], d["without_storage"]
        t.add_row("hourly CFE", f"{w['cfe_score']:.1%} (without storage {wo['cfe_score']:.1%})")
        t.add_row("cost, CO2 without storage", f"{wo['cost_krw']:,.0f} KRW, {wo['co2_t']:.2f} t")
        t.add_row("curtailed, unserved (cap)", f"{d['curtailed_mwh']:,.1f} MWh, {d['shortfall_mwh']:,.2f} MWh")
        if d.get("battery"):
            b = d["battery"]
            t.add_row("battery", f"{b['discharged_mwh']:,.1f} MWh out, {b['losses_mwh']:,.1f} MWh lost, "
                                 f"{b['equivalent_full_cycles']:.1f} cycles")
        if d.get("flexible_load"):
            f = d["flexible_load"]
            t.add_row("flexible work", f"{f['work_cut_mwh']:,.1f} MWh cut, {f['work_lost_frac']:.2%} lost")
    row("cells", "cells", "{:,d}")
    row("backend", "backend", "{}")
    row("wall time", "wall_s", "{:.1f}", " s")
    th = sm.get("thermal_solves")
    if th:
        t.add_row("thermal solves", f"{th['flow_solves']} flow, {th['response_builds']} responses, "
                                    f"{th['energy_solves']} heat; {th['linear_steps']} linear, "
                                    f"{th['direct_steps']} direct steps")
    console.print(t)
    csv = Path(out_dir) / "timeseries.csv"
    console.print(f"wrote {results_path(out_dir)}, {summary_path(out_dir)}"
                  + (f" and {csv}" if csv.is_file() else ""))
