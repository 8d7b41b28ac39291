"""``twin whatif-run``: compare cases by their ``twin run`` metrics over a period, in parallel
on Dask (:mod:`twin.studies.runsweep`)."""
from __future__ import annotations

import math

import click

from common.errors import InputError
from kernels.backend import CHOICES as _BACKENDS
from twin.cli.checks import holds_output_folder, ranged
from twin.cli.studies import _dask, _progress, _sweep
from twin.cli.tables import case_console, print_case_tables
from twin.cli.warm import prepare_cpu_kernels
from twin.loop.settings import RACK_AIRFLOW, THERMAL_MODES
from twin.models.design_days import PERIODS

__all__ = ["whatif_run"]


@click.command("whatif-run")
@click.argument("facility", type=click.Path(dir_okay=False))
@click.option("--set", "sets", multiple=True, metavar="PATH=V1,V2,...",
              help="A facility field (as twin whatif) or a run setting run.NAME "
                   "(run.dry_bulb_offset_k, run.wind_scale, run.solar_scale, "
                   "run.grid_carbon_kg_per_kwh, run.utilization, run.target_inlet_temp_c, ...) "
                   "and its values; several --set make every combination.")
@_sweep
@click.option("--hours", type=float, default=24.0, show_default=True,
              help="Simulated period of every case [h].")
@click.option("--step", "step", default="15m", show_default=True, help="Time step (15m, 1h, 900).")
@click.option("--start-day", type=click.IntRange(1, 365), default=1, show_default=True,
              help="Day of the year the period starts (1 = 1 January).")
@click.option("--period", type=click.Choice(list(PERIODS)), default=None,
              help="A named period of the site's weather instead of --start-day (as twin run).")
@click.option("--cell", "cell_m", default=0.3, show_default=True, type=float,
              callback=ranged(0, 10, lo_open=True, what="the cell size [m]"),
              help="Cell size [m]; a sweep runs many cases, so coarse (0.3-0.5).")
@click.option("--backend", default="auto", show_default=True, type=click.Choice(_BACKENDS))
@click.option("--thermal", type=click.Choice(THERMAL_MODES), default="linear", show_default=True,
              help="Thermal mode of every run (as twin run).")
@click.option("--profile", default="training", show_default=True,
              help="Utilisation profile (as twin run); a case may set run.profile.")
@click.option("--rack-airflow", type=click.Choice(RACK_AIRFLOW), default="model", show_default=True,
              help="model: the servers' airflow moves with load and inlet; design: fixed.")
@click.option("--hall", "halls", multiple=True, help="Only this hall (repeatable).")
@_dask
@click.option("--out", "out_dir", default="runs/whatif-run", show_default=True,
              type=click.Path(file_okay=False),
              help="Where whatif-run.csv and whatif-run.json go.")
@holds_output_folder()
def whatif_run(facility, sets, sweep_file, hours, step, start_day, period, cell_m, backend,
               thermal, profile, rack_airflow, halls, scheduler, workers, dashboard, out_dir):
    """Compare cases by their run over a period (PUE, WUE, CFE, cost, CO2, hottest inlet),
    one twin run each, in parallel on Dask.

    The baseline (the file and settings as they are) comes first; every other column shows
    its difference to it.

    \b
    Examples:
      twin whatif-run meshes/small-hall.toml --hours 24 \\
          --set run.dry_bulb_offset_k=0,4 --set plant.chilled_water_supply_temp_c=10,14
      twin whatif-run meshes/ulsan-campus.toml --period hottest-week --step 1h \\
          --set run.wind_scale=1,0 --set run.solar_scale=1,0.5
    """
    from click.core import ParameterSource
    from rich.console import Console

    from twin.cli.run import _period_start_day
    from twin.facility import load_facility
    from twin.loop.settings import parse_duration_s
    from twin.studies.runsweep import build_run_cases, run_settings_for, run_sweep, write_outputs
    from twin.thermal.steady import check_cell
    check_cell(cell_m)
    fac = load_facility(facility)
    cases = build_run_cases(fac, sets, sweep_file)
    ctx = click.get_current_context()
    if period is not None:
        if ctx.get_parameter_source("start_day") == ParameterSource.COMMANDLINE:
            raise InputError("--period and --start-day both say when to start: give one of them")
        start_day, days = _period_start_day(facility, period)
        if ctx.get_parameter_source("hours") != ParameterSource.COMMANDLINE:
            hours = 24.0 * days
    base = dict(hours=hours, step_s=parse_duration_s(step), start_h=(start_day - 1) * 24.0,
                cell_m=cell_m, backend=backend, thermal=thermal, profile=profile,
                rack_airflow=rack_airflow, halls=tuple(halls), period=period or "",
                checkpoint_every_s=0.0)
    for c in cases:                     # bad settings: one line before any run
        run_settings_for(c, base)
    con = Console(stderr=True)
    con.print(f"{len(cases)} cases ({len(cases) - 1} + baseline), {hours:g} h from day {start_day} "
              f"at {cell_m} m cells" + (f" on {scheduler}" if scheduler else ""))
    prepare_cpu_kernels(con, backend)   # workers then load them from the disk cache
    recs = run_sweep(cases, base, scheduler=scheduler, workers=workers,
                     progress=_progress(con, "case"), dashboard=dashboard)
    print_run_sweep(recs)
    files = write_outputs(out_dir, recs, {"facility": str(facility), "settings": base})
    con.print("wrote " + ", ".join(str(p) for p in files))


def print_run_sweep(recs, width: int = 80):
    """The cases side by side, metrics down the page, in blocks of as many cases as fit
    ``width`` columns (a terminal's own width when wider)."""
    from twin.studies.runsweep import RUN_METRICS
    con = case_console(width)
    leaky = any(abs((r.get("max_server_inlet_c") or 0.0) - (r.get("max_rack_inlet_c") or 0.0))
                > 1e-9 for r in recs)      # servers behind leaky cabinets draw warmer air

    def rows(t, block):
        t.add_row("run", *[_status(r) for r in block])
        for key, head, fmt, worse_up in RUN_METRICS:
            if key == "max_server_inlet_c" and not leaky:
                continue                # without cabinet leakage: the rack inlet's
            t.add_row(head, *[_cell(r, key, fmt, worse_up) for r in block])

    print_case_tables(con, recs, "Run cases over the period; (+d) = difference to the "
                      "baseline, red worse, green better", 24, rows)
    failed = [r for r in recs if r.get("error")]
    for r in failed:
        con.print(f"[red]{r['case']} failed: {r['error']}[/]")


def _status(r) -> str:
    if r.get("error"):
        return "[red]failed[/]"
    n = r.get("inner_not_converged_steps") or 0
    if r.get("status") != "complete":
        return f"[yellow]{r.get('status')}[/]"
    return f"[yellow]{n} steps not converged[/]" if n else "complete"


def _cell(r, key, fmt, worse_up) -> str:
    """One metric of one case, with its difference to the baseline (coloured worse or better
    where the direction has a meaning)."""
    v = r.get(key)
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    txt = fmt.format(v)
    d = r.get("delta", {}).get(key)
    if r["case"] != "baseline" and isinstance(d, (int, float)) and math.isfinite(d) \
            and fmt.format(abs(d)) != fmt.format(0):
        ds = fmt.replace("{:", "{:+").format(d)
        colour = "" if worse_up is None else ("red" if (d > 0) == worse_up else "green")
        txt += f" [{colour}]({ds})[/]" if colour else f" ({ds})"
    return txt
