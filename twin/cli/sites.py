"""``twin sites FACILITY``: the same campus at each candidate Korean site
(:mod:`twin.studies.sites`, sites in :mod:`twin.models.sites`)."""
from __future__ import annotations

import time

import click

from kernels.backend import CHOICES as _BACKENDS
from twin.cli.checks import holds_output_folder, phase_options, ranged
from twin.loop.settings import RACK_AIRFLOW
from twin.models.sites import SITE_NAMES

__all__ = ["sites"]


@click.command("sites")
@click.argument("facility", type=click.Path(dir_okay=False))
@click.option("--site", "site_names", multiple=True, metavar="NAME",
              help=f"A site (repeatable; default: all): {', '.join(SITE_NAMES)}.")
@click.option("--hours", type=float, default=24.0, show_default=True,
              callback=ranged(0, 8760, lo_open=True, what="the simulated period [h] (at most a year)"),
              help="Simulated period at each site [h] (8760: the typical year).")
@click.option("--step", "step", default="1h", show_default=True,
              help="Time step: 15m, 30m, 1h or seconds (at most 1h).")
@click.option("--start-day", type=click.IntRange(1, 365), default=196, show_default=True,
              help="Day of the year each run starts (00:00 local standard time); the default "
                   "is 15 July, a summer day.")
@click.option("--week", type=click.Choice(["hottest", "coldest"]), default=None,
              help="Start each site on the first day of its own hottest (coldest) week and run "
                   "that week (168 h unless --hours is given); instead of --start-day.")
@click.option("--cell", "cell_m", type=float, default=0.3, show_default=True,
              callback=ranged(0, 10, lo_open=True, what="the cell size [m]"),
              help="Cell size of the thermal grid [m]; coarse, as one run per site.")
@click.option("--backend", type=click.Choice(_BACKENDS), default="auto", show_default=True)
@click.option("--profile", default="training", show_default=True,
              help="Utilisation profile (as twin run).")
@click.option("--utilization", type=float, default=None,
              callback=ranged(0, 1, what="the IT utilisation"),
              help="Level of the constant/training profile (0..1).")
@click.option("--rack-airflow", type=click.Choice(RACK_AIRFLOW), default="design", show_default=True,
              help="Airflow of the racks in the thermal field (as twin run; design: one flow "
                   "solve per hall, shared by the sites).")
@phase_options
@click.option("--out", "out_dir", default="runs/sites", show_default=True,
              type=click.Path(file_okay=False),
              help="Where sites.csv, sites.json and sites.html go.")
@holds_output_folder()
@click.pass_context
def sites(ctx, facility, site_names, hours, step, start_day, week, cell_m, backend, profile,
          utilization, rack_airflow, out_dir, phases=(), year=None):
    """Run FACILITY at each candidate site and compare PUE, WUE, hourly CFE, cost, CO2
    and the hours a rack inlet is above the ASHRAE allowable.

    Each site gets its typical year (from KMA or IWEC monthly normals), its position, and
    the facility's contract capacity factors scaled to its solar and wind resource; the
    halls, plant and grid tariff stay as they are (twin/studies/sites.py).

    \b
    Examples:
      twin sites meshes/ulsan-campus.toml                       # a summer day, all sites
      twin sites meshes/ulsan-campus.toml --site ulsan --site jeju --hours 168
      twin sites meshes/ulsan-campus.toml --week hottest        # each site's hottest week
      twin sites meshes/small-hall.toml --hours 8760 --cell 0.5 --out runs/sites-year
      twin sites meshes/ulsan-1gw-campus.toml --year 2029 --cell 0.3    # as built in 2029
      twin sites meshes/ulsan-1gw-campus.toml --phase P1 --site ulsan --site haenam
    """
    from click.core import ParameterSource
    from rich.console import Console

    from common.errors import InputError
    from twin.facility import load_facility
    from twin.loop.simulation import parse_duration_s
    from twin.models.sites import get_site
    from twin.studies.sites import run_sites, table_rows, write_outputs
    from twin.thermal.steady import check_cell
    keys = [get_site(n).key for n in site_names] or list(SITE_NAMES)   # bad names: one line
    given = {p: ctx.get_parameter_source(p) == ParameterSource.COMMANDLINE for p in ("hours", "start_day")}
    if week is not None:
        if given["start_day"]:
            raise InputError("--week and --start-day both say when to start: give one of them")
        if not given["hours"]:
            hours = 168.0
    keys = list(dict.fromkeys(keys))
    check_cell(cell_m)
    fac = load_facility(facility)
    for p in phases:
        fac.phase(p)                      # an unknown phase: one line, before any site runs
    step_s = parse_duration_s(step)
    settings = dict(hours=hours, step_s=step_s, start_h=24.0 * (start_day - 1), cell_m=cell_m,
                    backend=backend, profile=profile, utilization=utilization,
                    rack_airflow=rack_airflow, phases=tuple(phases), year=year)
    con = Console(stderr=True)
    when = f"its {week} week" if week else f"day {start_day}"
    built = "".join([f", phase {', '.join(phases)}" if phases else "",
                     f", as built in {year}" if year is not None else ""])
    con.print(f"{len(keys)} sites, {hours:g} h each from {when}, {cell_m} m cells{built}")
    t0 = time.perf_counter()

    def progress(done, total, rec):
        con.print(f"[dim]site {done}/{total} done ({rec['label']}), "
                  f"{time.perf_counter() - t0:.0f} s[/]")

    recs = run_sites(fac, keys, settings, progress=progress, week=week)
    head, rows = table_rows(recs)
    lines = head + rows
    widths = [max(len(r[i]) for r in lines) for i in range(len(head[0]))]
    for r in lines:                       # results on stdout, fits 80 columns
        click.echo("  ".join(v.rjust(w) if i else v.ljust(w)
                             for i, (v, w) in enumerate(zip(r, widths))).rstrip())
    files = write_outputs(out_dir, recs, {"facility": str(facility), "week": week, **settings})
    con.print("wrote " + ", ".join(str(p) for p in files), soft_wrap=True)
