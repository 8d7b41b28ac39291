"""``twin whatif``, ``twin fail``, ``twin capacity``, ``twin view`` and ``twin report``."""
from __future__ import annotations

import math
import time
from pathlib import Path

import click

from kernels.backend import CHOICES as _BACKENDS
from twin.cli.checks import (dashboard_option, holds_output_folder, rack_model_option, ranged,
                             scheduler_option, units_option)
from twin.cli.tables import case_console, print_case_tables
from twin.cli.warm import prepare_cpu_kernels


def _common_solve(f):
    """--hall, --cell, --backend, --max-steps, --racks."""
    f = click.option("--max-steps", default=None, type=click.IntRange(min=1),
                     help="Cap on pseudo-time steps of each steady solve.")(f)
    f = click.option("--backend", default="auto", show_default=True,
                     type=click.Choice(_BACKENDS))(f)
    f = click.option("--cell", "cell_m", default=0.3, show_default=True, type=float,
                     callback=ranged(0, 10, lo_open=True, what="the cell size [m]"),
                     help="Cell size [m]; studies run many solves, so coarse (0.25-0.4).")(f)
    f = click.option("--hall", default=None, help="Hall (default: the only hall).")(f)
    return rack_model_option(f)


def _dask(f):
    f = click.option("--workers", default=None, type=int, callback=ranged(1, 4096, integer=True),
                     help="Local worker processes (default: one per core, or per GPU).")(f)
    f = click.option("--scheduler", default=None, metavar="ADDRESS", callback=scheduler_option,
                     help="Dask scheduler to send the cases to (e.g. tcp://10.0.0.5:8786); "
                          "default: a local cluster on 127.0.0.1.")(f)
    f = click.option("--dashboard", default=None, metavar="HOST:PORT", callback=dashboard_option,
                     help="Serve the local cluster's Dask dashboard here (e.g. 127.0.0.1:8787); "
                          "default: no HTTP server at all.")(f)
    return f


#: ``--sweep FILE``, the cases of ``twin whatif`` and ``twin whatif-run`` from a TOML file.
_sweep = click.option("--sweep", "sweep_file", default=None, type=click.Path(dir_okay=False),
                      help="TOML file: [sweep] PATH = [values] (every combination) and "
                           "[[cases]] name = ..., set = {PATH = value}.")


def _settings(max_steps):
    from kernels.solver import SolverSettings
    return SolverSettings(max_steps=max_steps) if max_steps else None


def _load(facility, cell_m):
    from twin.facility import load_facility
    from twin.thermal.steady import check_cell
    check_cell(cell_m)
    return load_facility(facility)


def _progress(con, what):
    t0 = time.perf_counter()

    def cb(done, total, rec):
        extra = ""
        if isinstance(rec, dict) and rec.get("label"):
            extra = f" ({rec['label']})"
        elif isinstance(rec, dict) and rec.get("unit"):
            extra = f" ({rec['unit']})"
        con.print(f"[dim]{what} {done}/{total} done{extra}, {time.perf_counter() - t0:.0f} s[/]")
    return cb


# ---------------------------------------------------------------------------- whatif
@click.command()
@click.argument("facility", type=click.Path(dir_okay=False))
@click.option("--set", "sets", multiple=True, metavar="PATH=V1,V2,...",
              help="A facility field and its values; several --set make every combination. "
                   "Extras: utilization=, ...cooling_units[U].enabled=false, "
                   "...rows[R].utilization=, ...containment=none|cold-aisle:A+B.")
@_sweep
@_common_solve
@_dask
@click.option("--out", "out_dir", default="runs/whatif", show_default=True,
              type=click.Path(file_okay=False), help="Where whatif.csv and whatif.json go.")
@click.option("--coarse-start", is_flag=True,
              help="Solve each case first at twice (or 1.5 times) the cell and start from that "
                   "flow (grid sequencing: 1.1-1.5x faster on the shipped halls at 0.2 m).")
@units_option
@holds_output_folder()
def whatif(facility, sets, sweep_file, hall, cell_m, backend, max_steps, scheduler, workers,
           dashboard, out_dir, coarse_start, rack_model, units):
    """Compare what-if cases, one steady solve each, in parallel on Dask.

    The baseline (the file as it is) comes first; every other row shows its difference to
    it. Rack inlet = intake-face mean; RCI over every intake cell (Herrlin 2005).

    \b
    Examples:
      twin whatif meshes/small-hall.toml \\
          --set 'halls[H1].cooling_units[*].supply_temp_c=18,21,24'
      twin whatif meshes/small-hall.toml --set 'halls[H1].cooling_units[CRAH-2].enabled=false' \\
          --set utilization=0.5,1.0 --cell 0.3 --out runs/crah2
    """
    from rich.console import Console

    from twin.studies.cases import build_cases
    from twin.studies.whatif import run_whatif, write_outputs
    fac = _load(facility, cell_m)
    cases = build_cases(fac, sets, sweep_file)
    con = Console(stderr=True)
    con.print(f"{len(cases)} cases ({len(cases) - 1} + baseline) at {cell_m} m cells"
              + (f" on {scheduler}" if scheduler else ""))
    fac.hall(hall)                      # a bad --hall fails here, before any work
    prepare_cpu_kernels(con, backend)   # workers then load them from the disk cache
    recs = run_whatif(cases, hall=hall, cell_m=cell_m, backend=backend,
                      settings=_settings(max_steps), scheduler=scheduler, workers=workers,
                      progress=_progress(con, "case"), coarse_start=coarse_start,
                      rack_model=rack_model, units=units,
                      dashboard=dashboard)
    _print_whatif(recs)
    files = write_outputs(out_dir, recs, {"facility": str(facility), "hall": hall,
                                          "cell_m": cell_m, "backend": backend, "units": units})
    con.print("wrote " + ", ".join(str(p) for p in files))


def _print_whatif(recs, width: int = 80):
    """The cases side by side, metrics down the page, in blocks of as many cases as fit
    ``width`` columns (a terminal's own width when wider)."""
    from twin.studies.whatif import METRIC_COLUMNS
    shown = ["inlet_max_c", "inlet_mean_c", "racks_over_27", "rci_hi_pct", "rti_pct",
             "cooling_kw", "return_c"]
    if any(abs(r.get("server_inlet_max_c", 0.0) - r.get("inlet_max_c", 0.0)) > 1e-9
           for r in recs):            # leaky cabinets: the servers' hottest inlet too
        shown.insert(1, "server_inlet_max_c")
    for key in ("door_kw", "envelope_kw"):          # rear doors, envelope: where present
        if any(abs(r.get(key) or 0.0) > 0 for r in recs):
            shown.append(key)
    if any(math.isfinite(r.get("min_airflow_pct", float("nan"))) for r in recs):
        shown += ["min_airflow_pct", "racks_low_airflow"]      # racks with fan curves
    cols = [c for c in METRIC_COLUMNS if c[0] in shown]
    con = case_console(width)

    def rows(t, block):
        t.add_row("solve", *["[red]failed[/]" if r.get("error") else
                             ("converged" if r.get("converged", True) else
                              "[yellow]NOT converged[/]") for r in block])
        t.add_row("steps", *[str(r.get("iterations", 0)) for r in block])
        for key, head, fmt, worse_up in cols:
            t.add_row(head, *[_whatif_cell(r, key, fmt, worse_up) for r in block])
        t.add_row("worst rack", *[r.get("worst_rack", "") for r in block])

    print_case_tables(con, recs, "What-if cases: rack inlets (intake-face mean) and indices; "
                      "(+d) = difference to the baseline, red worse, green better", 18, rows)
    loose = [r["case"] for r in recs if not r.get("error") and not r.get("converged", True)]
    if loose:
        con.print(f"[yellow]{len(loose)} case(s) did not converge ({', '.join(loose)}): their "
                  "values are the record mean at the step cap and their differences are left "
                  "blank; raise --max-steps or use a coarser --cell[/]")


def _whatif_cell(r, key, fmt, worse_up) -> str:
    """One metric of one case, with its difference to the baseline (coloured worse or
    better where the direction has a meaning)."""
    v = r.get(key)
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    txt = fmt.format(v)
    d = r.get("delta", {}).get(key)
    if r["case"] != "baseline" and isinstance(d, (int, float)) and math.isfinite(d) \
            and abs(d) >= 0.05:
        ds = f"{d:+d}" if isinstance(d, int) else f"{d:+.1f}"
        colour = "" if worse_up is None else ("red" if (d > 0) == worse_up else "green")
        txt += f" [{colour}]({ds})[/]" if colour else f" ({ds})"
    return txt


# ------------------------------------------------------------------------------ fail
@click.command()
@click.argument("facility", type=click.Path(dir_okay=False))
@click.option("--unit", "units", multiple=True, metavar="NAME",
              help="The cooling unit that fails (repeat for several, each on its own).")
@click.option("--each", is_flag=True, help="Every cooling unit of the hall in turn.")
@click.option("--minutes", default=5.0, show_default=True, type=float,
              callback=ranged(0, 1440, lo_open=True, what="the time after the failure [min]"),
              help="Real time to follow after the failure [min].")
@click.option("--sample", "sample_s", default=1.0, show_default=True, type=float,
              callback=ranged(0, 3600, lo_open=True, what="the sampling interval [s]"),
              help="Interval of the recorded inlet temperatures [s].")
@_common_solve
@_dask
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Write fail.json, fail.csv and fail.h5 (time series; 3D fields of the "
                   "worst case) here.")
@click.option("--coarse-start", is_flag=True,
              help="Solve each steady state first at twice (or 1.5 times) the cell and start "
                   "from that flow (grid sequencing: 1.1-1.5x faster at 0.2 m).")
@holds_output_folder()
def fail(facility, units, each, minutes, sample_s, hall, cell_m, backend, max_steps,
         scheduler, workers, dashboard, out_dir, coarse_start, rack_model):
    """N-1: a cooling unit stops; time until rack inlets pass 27 and 32 degC.

    From steady state with every unit running, the unit's airflow drops to 0 and the
    hall is followed in real time; then a steady solve without it tells whether the
    remaining units hold the load (capacity, airflow and inlets).

    \b
    Examples:
      twin fail meshes/small-hall.toml --unit CRAH-1 --minutes 5
      twin fail meshes/small-hall.toml --each --cell 0.3 --out runs/n-1
      twin report runs/n-1/fail.h5
    """
    from rich.console import Console

    from common.errors import InputError
    from twin.studies.failure import hall_units, run_n_minus_1, write_failure_outputs
    from twin.studies.whatif import unit_device_names
    fac = _load(facility, cell_m)
    if each and units:
        raise InputError("give --unit NAME or --each, not both")
    if not each and not units:
        raise InputError("which unit fails? give --unit NAME (repeatable) or --each; units: "
                         + ", ".join(u.split("/", 1)[1] for u in hall_units(fac, hall)))
    if not (math.isfinite(minutes) and minutes > 0):
        raise InputError(f"--minutes {minutes}: give a positive number of minutes")
    todo = hall_units(fac, hall) if each else list(units)
    lay = fac.layout(fac.hall(hall).name)
    for u in todo:
        unit_device_names(lay, [u])     # a bad name fails here, before any work
    con = Console(stderr=True)
    con.print(f"N-1 for {len(todo)} unit(s): steady state, then {minutes:g} min in real time "
              f"at {cell_m} m cells")
    prepare_cpu_kernels(con, backend)   # workers then load them from the disk cache
    status = con.status("solving") if len(todo) == 1 else None

    def run_prog(t_s, total_s):
        if status is not None:
            status.update(f"after the failure: {t_s:.0f} of {total_s:.0f} s simulated")

    if status is not None:
        status.start()
    try:
        recs = run_n_minus_1(fac, todo, hall=hall, minutes=minutes, cell_m=cell_m,
                             backend=backend, settings=_settings(max_steps), sample_s=sample_s,
                             scheduler=scheduler, workers=workers,
                             progress=_progress(con, "unit"), keep_fields=out_dir is not None,
                             run_progress=run_prog, coarse_start=coarse_start,
                             rack_model=rack_model,
                             dashboard=dashboard)
    finally:
        if status is not None:
            status.stop()
    _print_fail(recs, minutes)
    if out_dir:
        files = write_failure_outputs(out_dir, recs, {"facility": str(facility),
                                                      "minutes": minutes, "cell_m": cell_m},
                                      fac.to_toml())
        con.print("wrote " + ", ".join(str(p) for p in files))


def _fail_converged(r) -> bool:
    return bool(r.get("baseline_converged", True) and r.get("steady", {}).get("converged", True))


def _print_fail(recs, minutes: float):
    """The N-1 table on stdout (80 columns in a log): one column per failed unit; steady
    solves that stopped at the step cap are marked in a row and named under the table."""
    from rich.console import Console
    from rich.table import Table

    from twin.studies.failure import fmt_time
    out = Console()
    if not out.is_terminal:
        out = Console(width=80)             # a file or pipe: 80 columns
    per = max(1, (out.width - 28) // 21)
    for start in range(0, len(recs), per):
        block = recs[start:start + per]
        t = Table(title=f"N-1: time until the hottest rack inlet passes the limits "
                        f"(followed for {minutes:g} min)" if start == 0 else None)
        t.add_column("failed unit", no_wrap=True)
        for r in block:
            t.add_column(r["unit"].split("/", 1)[-1], justify="right", max_width=20,
                         overflow="fold")
        t.add_row("to 27 C", *[fmt_time(r["time_to_recommended_s"], minutes) for r in block])
        t.add_row("to 32 C", *[fmt_time(r["time_to_allowable_s"], minutes) for r in block])
        t.add_row(f"worst racks at {minutes:g} min", *[
            "\n".join(f"{w['rack'].split('/', 1)[-1]} {w['inlet_end_c']:.1f} C"
                      for w in r["worst_racks"][:3]) for r in block])
        t.add_row("capacity left / load kW", *[
            f"{r['capacity']['remaining_capacity_kw']:.0f} / {r['capacity']['air_load_kw']:.0f}"
            for r in block])
        t.add_row("airflow left / racks m3/s", *[
            f"{r['capacity']['remaining_airflow_m3_s']:.1f} / "
            f"{r['capacity']['rack_airflow_m3_s']:.1f}" for r in block])
        t.add_row("steady inlet max C", *[f"{r['steady']['inlet_max_c']:.1f}" for r in block])
        t.add_row("holds", *["[green]yes[/]" if r["holds_recommended"] else (
            "[yellow]within allowable[/]" if r["holds_allowable"] else "[red]no[/]")
            for r in block])
        t.add_row("steady solves", *["converged" if _fail_converged(r) else "[yellow]NOT converged[/]"
                                     for r in block])
        out.print(t)
    for r in recs:
        if not _fail_converged(r):
            when = " and ".join(w for w, ok in (("before", r.get("baseline_converged", True)),
                                                 ("after", r.get("steady", {}).get("converged", True)))
                                if not ok)
            out.print(f"[yellow]{r['unit']}: the steady state {when} the failure did not converge; "
                      "its figures are those at the step cap: raise --max-steps or use a coarser "
                      "--cell[/]")


# -------------------------------------------------------------------------- capacity
@click.command()
@click.argument("facility", type=click.Path(dir_okay=False))
@click.option("--rack-type", required=True, help="The kind of rack to add (a rack_types name).")
@_common_solve
@click.option("--utilization", default=1.0, show_default=True, type=float,
              callback=ranged(0, 1, what="the IT utilisation"),
              help="IT utilisation of every rack, old and new (0..1).")
@click.option("--tiles/--no-tiles", default=True, show_default=True,
              help="Give each new rack on a tiled aisle a perforated tile in front.")
@click.option("--max-add", default=40, show_default=True, type=int,
              callback=ranged(1, 10000, integer=True, what="the number of racks to try"),
              help="Largest number of racks to consider.")
@_dask
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Write capacity.json and the racks to add as a small facility file, "
                   "facility-plus-N.toml, that includes facility-base.toml (the facility as read).")
@click.option("--coarse-start", is_flag=True,
              help="Solve each steady state first at twice (or 1.5 times) the cell and start "
                   "from that flow (grid sequencing: 1.1-1.5x faster at 0.2 m).")
@holds_output_folder()
def capacity(facility, rack_type, hall, cell_m, backend, max_steps, utilization, tiles,
             max_add, scheduler, workers, dashboard, out_dir, coarse_start, rack_model):
    """How many more racks of a type the hall takes, and where to put them.

    Positions continue the existing rows along their aisles; the largest number that
    keeps every rack inlet <= 27 degC and RCI_HI >= 95 % is found by a parallel
    bisection of steady solves.

    \b
    Example:
      twin capacity meshes/small-hall.toml --hall H1 --rack-type cpu-compute --cell 0.3
    """
    from rich.console import Console
    from rich.table import Table

    from twin.studies.capacity import check_rack_type, find_capacity, write_capacity_outputs
    fac = _load(facility, cell_m)
    con = Console(stderr=True)

    def prog(n, rec):
        what = ("solve failed (counted as over the limit)" if rec.get("error") else
                f"max inlet {rec['inlet_max_c']:.1f} C, RCI_HI {rec['rci_hi_pct']:.1f} %"
                + ("" if rec.get("converged", True) else ", NOT converged"))
        con.print(f"[dim]+{n} racks: {what}[/]")

    check_rack_type(fac, rack_type)     # bad input before any work
    fac.hall(hall)
    prepare_cpu_kernels(con, backend)   # workers then load them from the disk cache
    res = find_capacity(fac, hall, rack_type, cell_m=cell_m, backend=backend,
                        settings=_settings(max_steps), utilization=utilization, tiles=tiles,
                        max_add=max_add, scheduler=scheduler, workers=workers, progress=prog,
                        coarse_start=coarse_start, dashboard=dashboard, rack_model=rack_model)
    out = Console()
    out.print(f"[bold]{res['hall']}[/] takes [bold]{res['count']}[/] more {rack_type} rack(s) "
              f"({res['candidates']} free positions along the rows were considered)")
    if res["limit"]:
        n = res["limit"]["n"]
        out.print(("at +{}: ".format(n) if n is not None else "") + res["limit"]["why"])
    if res["positions"]:
        t = Table(title="Where to put them, in order")
        for c in ("#", "rack", "x m", "y m", "facing", "extends row", "tile in front"):
            t.add_column(c)
        for i, p in enumerate(res["positions"], 1):
            tile = p["tile"]
            tdesc = (f"{tile['length_m']:.1f} x {tile['width_m']:.1f} m at "
                     f"({tile['x_m']:.1f}, {tile['y_m']:.1f})") if tile else "-"
            t.add_row(str(i), p["name"], f"{p['x_m']:.2f}", f"{p['y_m']:.2f}", p["facing"],
                      f"{p['row']} ({p['end']})", tdesc)
        out.print(t)
    a = res["at_count"]
    if "inlet_max_c" in a and isinstance(a["inlet_max_c"], float) and math.isfinite(a["inlet_max_c"]):
        out.print(f"with +{res['count']}: hottest inlet {a['inlet_max_c']:.1f} degC "
                  f"({a.get('worst_rack', '')}), RCI_HI {a['rci_hi_pct']:.1f} %, "
                  f"{a['cooling_kw']:.0f} kW removed")
    for line in capacity_notes(res):
        out.print(f"[yellow]{line}[/]")
    if out_dir:
        files = write_capacity_outputs(out_dir, res)
        con.print("wrote " + ", ".join(str(p) for p in files))


def capacity_notes(res) -> list[str]:
    """One line naming the capacity search's solves that stopped at the step cap (their
    verdicts rest on unsettled figures), or none."""
    loose = [e for e in res.get("evaluations", []) if not e.get("error") and not e.get("converged", True)]
    if not loose:
        return []
    return [f"NOT converged: the solve{'s' if len(loose) > 1 else ''} at "
            + ", ".join(f"+{e['n']}" for e in loose)
            + " racks stopped at the step cap, so the answer rests on unsettled figures: raise "
              "--max-steps or use a coarser --cell"]


# ------------------------------------------------------------------------------ view
@click.command()
@click.argument("result", type=click.Path(dir_okay=False))
@click.option("--hall", default=None, help="Hall of the result (default: the first).")
@click.option("--time", "time_s", default=None, metavar="T",
              help="Time of a time-dependent result: after its start (90s, 15m, 6h, 2d or "
                   "seconds) or, for a twin run, a clock time in the site's local standard "
                   "time (2026-08-01T14:00); the nearest stored state is shown (default: the "
                   "last).")
@click.option("--png", "png", default=None, type=click.Path(dir_okay=False),
              help="Write the picture here (default: view.png beside RESULT).")
@click.option("--vtk", "vtk_dir", default=None, type=click.Path(file_okay=False),
              help="Also write the scene as VTK files for ParaView (view.vtm opens all).")
@click.option("--limit", "limit_c", default=27.0, show_default=True, type=float,
              callback=ranged(-50, 200, what="the temperature shown [degC]"),
              help="Show the air above this temperature [degC].")
@click.option("--size", default="1280x860", show_default=True, help="Picture size in pixels.")
@click.option("--hot-air/--no-hot-air", default=True, show_default=True,
              help="Draw the air above --limit (translucent); leave it out to see the rows.")
@click.option("--labels/--no-labels", default=True, show_default=True,
              help="Name the racks (on their tops) and the cooling units.")
def view(result, hall, time_s, png, vtk_dir, limit_c, size, hot_air, labels):
    """3D view of hot spots, rendered off screen (no display needed).

    Racks coloured by inlet temperature and named, the air above --limit, streamlines
    from the cooling units, a slice at mid-rack height, axes in metres, an x-y-z triad
    and a compass (north from the hall's north_deg).

    \b
    Examples:
      twin solve meshes/small-hall.toml --out runs/small
      twin view runs/small/results.h5 --png runs/small/view.png --vtk runs/small/vtk
    """
    from common.errors import InputError
    from twin.outputs.loader import load_result
    from twin.outputs.view import build_scene, export_vtk, render_png
    try:
        w, h = (int(v) for v in size.lower().split("x"))
        if w < 64 or h < 64 or w > 8192 or h > 8192:
            raise ValueError
    except ValueError:
        raise InputError(f"--size {size}: give WIDTHxHEIGHT in pixels, e.g. 1280x860") from None
    from twin.outputs.files import check_file, check_folder
    png = png or str(Path(result).with_name("view.png"))
    check_file(png, "--png")
    if vtk_dir:
        check_folder(vtk_dir, "--vtk")
    v = load_result(result, hall, time=time_s)
    scene = build_scene(v, limit_c)
    info = render_png(v, png, limit_c=limit_c, window_size=(w, h), scene=scene,
                      hot_air=hot_air, labels=labels)
    shown = f", the snapshot of {v.clock_time}" if v.clock_time else ""
    click.echo(f"wrote {info['png']} ({info['size'][0]}x{info['size'][1]}, colours "
               f"{info['clim'][0]:g}-{info['clim'][1]:g} degC{shown})")
    if vtk_dir:
        files = export_vtk(v, vtk_dir, limit_c=limit_c, scene=scene)
        click.echo(f"wrote {len(files)} VTK files in {vtk_dir} (open view.vtm in ParaView)")
    for n in v.notes:
        click.echo(f"note: {n}", err=True)


# ---------------------------------------------------------------------------- report
@click.command()
@click.argument("result", type=click.Path(dir_okay=False))
@click.option("--hall", default=None, help="Hall of the result (default: the first).")
@click.option("--out", "out_html", default=None, type=click.Path(dir_okay=False),
              help="The HTML file (default: report.html beside RESULT).")
@click.option("--time", "time_s", default=None, metavar="T",
              help="Time of the 3D state of a time-dependent result: after its start (90s, "
                   "15m, 6h, 2d or seconds) or, for a twin run, a clock time "
                   "(2026-08-01T14:00; default: the last).")
@click.option("--picture/--no-picture", default=True, show_default=True,
              help="Include the 3D picture (rendered off screen).")
def report(result, hall, out_html, time_s, picture):
    """One self-contained HTML page of a result: summary, time series, worst racks, 3D view.

    No scripts and no network: it opens anywhere, also offline.

    \b
    Examples:
      twin report runs/small/results.h5
      twin report runs/n-1/fail.h5 --out runs/n-1/report.html
    """
    from twin.outputs.files import check_file
    from twin.outputs.report import write_report
    out = out_html or str(Path(result).with_name("report.html"))
    check_file(out, "--out")
    p = write_report(result, out, hall=hall, picture=picture, time=time_s)
    click.echo(f"wrote {p} ({p.stat().st_size / 1024:.0f} KiB)")
