"""``twin backends`` and ``twin solve``."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from common.errors import InputError
from kernels.backend import CHOICES as BACKEND_CHOICES
from twin.cli.checks import rack_model_option, ranged, units_option
from twin.outputs.files import check_file, command_line, output_folder, results_kind


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
def backends(as_json):
    """List the compute backends this machine has, and why one is unavailable.

    \b
    Example:
      twin backends
    """
    from kernels.backend import available_backends
    recs = available_backends()
    if as_json:
        import json
        click.echo(json.dumps(recs, indent=2))
        return
    import textwrap
    for r in recs:                     # 80 columns: the text wraps under its own column
        if r["available"]:
            mem = r["memory_bytes"] / 1024 ** 3
            vers = ", ".join(f"{k} {v}" for k, v in r["versions"].items() if k != "total_bytes")
            head, text = f"{r['name']:<11} yes  ", f"{r['device']}, {mem:.1f} GiB free  ({vers})"
        else:
            head, text = f"{r['name']:<11} no   ", r["reason"]
        click.echo("\n".join(textwrap.wrap(text, 80, initial_indent=head, subsequent_indent=" " * len(head),
                                           break_long_words=False, break_on_hyphens=False)))


@click.command()
@click.argument("facility", type=click.Path(dir_okay=False))
@click.option("--hall", default=None, help="Hall to solve (default: the first hall).")
@click.option("--cell", "cell_m", default=0.2, show_default=True, type=float,
              callback=ranged(0, 10, lo_open=True, what="the cell size [m]"),
              help="Cell size [m].")
@click.option("--backend", default="auto", show_default=True,
              type=click.Choice(BACKEND_CHOICES))
@click.option("--utilization", default=1.0, show_default=True, type=float,
              callback=ranged(0, 1, what="the IT utilisation"),
              help="IT utilisation of every rack (0..1).")
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False),
              help="Write the machine-readable summary here.")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Write results.h5 (3D fields) and summary.json in this folder.")
@click.option("--force", is_flag=True,
              help="Replace a results.h5 in --out that is not an earlier steady solve.")
@click.option("--max-steps", default=None, type=int, help="Cap on pseudo-time steps.",
              callback=ranged(1, 10_000_000, integer=True, what="the cap on pseudo-time steps"))
@click.option("--top", default=15, show_default=True, help="Rack rows to print.",
              callback=ranged(1, 100_000, integer=True, what="the number of rack rows printed"))
@click.option("--coarse-start", is_flag=True,
              help="First solve the hall at twice (or 1.5 times) the cell size and start from "
                   "that flow (grid sequencing; what it gains on the shipped halls: "
                   "benchmarks/results/kernels-notes.md).")
@rack_model_option
@click.option("--turbulence", default="chen-xu", show_default=True,
              type=click.Choice(["chen-xu", "k-epsilon"]),
              help="Turbulence model: the Chen-Xu zero-equation model, or standard k-epsilon "
                   "with wall functions (slower; the cross-check against OpenFOAM: "
                   "docs/validation.md).")
@click.option("--local-steps", "local_steps", default=0.0, show_default=True,
              callback=ranged(0, 1000, what="the local steps' largest ratio"),
              help="Local time stepping: each cell takes up to this many times the global "
                   "pseudo-time step (e.g. 20; 0: one global step), with the heat solved "
                   "every 50 iterations; a flow that settles stops on it. Same steady "
                   "answer in fewer iterations: benchmarks/results/local-steps-*.md, "
                   "steady-iterations-*.md.")
@click.option("--answer", default="flow-mean", show_default=True,
              type=click.Choice(["flow-mean", "time-mean"]),
              help="What the temperatures are: the heat equation solved at the steady "
                   "solve's mean flow, or the temperature's time mean over a real-time "
                   "march from it (for flows that keep swinging; kernels/time_mean.py).")
@click.option("--average-s", "average_s", default=None, type=float,
              callback=ranged(0, 100_000, lo_open=True, what="the averaging time [s]"),
              help="Seconds of real time a time-mean answer averages (default: 40 jet "
                   "crossings, within 60-600 s).")
@units_option
def solve(facility, hall, cell_m, backend, utilization, json_path, out_dir, force, max_steps, top,
          coarse_start, rack_model, turbulence, local_steps, answer, average_s, units):
    """Mesh a hall, solve airflow and heat to steady state, print rack inlets worst first.

    \b
    Example:
      twin solve meshes/small-hall.toml --cell 0.25 --json out/summary.json
    """
    from rich.console import Console

    from twin.thermal.steady import check_cell

    check_cell(cell_m)
    if 0 < local_steps < 1:
        raise InputError(f"--local-steps {local_steps:g}: must be 0 (one global step) or from "
                         "1 to 1000 (the largest local step over the global one, e.g. 20)")
    if average_s is not None and answer != "time-mean":
        raise InputError(f"--average-s {average_s:g}: only a time-mean answer averages; add "
                         "--answer time-mean, or leave --average-s out")
    con = Console(stderr=True)
    with contextlib.ExitStack() as stack:
        if json_path:
            check_file(json_path, "--json")
        if out_dir:
            lock = stack.enter_context(output_folder(out_dir, command_line()))
            for n in lock.notes:
                con.print(f"[dim]note: {n}[/]")
            kind = results_kind(Path(out_dir) / "results.h5")
            if kind not in (None, "steady") and not force:
                what = "a twin run" if kind == "run" else "a file that is not a dc-twin result"
                raise InputError(f"--out {out_dir}: its results.h5 holds {what}; choose another --out, "
                                 "or replace it with --force")
        _solve(con, facility, hall, cell_m, backend, utilization, json_path, out_dir, max_steps,
               top, coarse_start, rack_model, turbulence, local_steps, answer, average_s, units)


def _solve(con, facility, hall, cell_m, backend, utilization, json_path, out_dir, max_steps, top,
           coarse_start, rack_model="ite", turbulence="chen-xu", local_steps=0.0,
           answer="flow-mean", average_s=None, units="matched"):
    from rich.console import Console
    from rich.table import Table

    from kernels.solver import LOCAL_STEPS_HEAT_EVERY, SolverSettings
    from twin.facility import load_facility
    from twin.outputs.files import write_json
    from twin.thermal.steady import (answer_text, convergence_text, progress_text, solve_hall,
                                     write_solution_csv, write_steady_h5)

    fac = load_facility(facility)
    opts = {"max_steps": max_steps} if max_steps else {}
    if local_steps:
        opts.update(local_steps=local_steps, energy_finish_every=LOCAL_STEPS_HEAT_EVERY)
    settings = SolverSettings(**opts) if opts else None

    from twin.cli.warm import prepare_kernels
    ready_s = prepare_kernels(con, backend)
    with con.status("meshing and solving") as status:
        def progress(n, info):
            status.update(f"step {n}: {progress_text(info)}, simulated {info['time_s']:.1f} s")
        sol = solve_hall(fac, hall, cell_m=cell_m, backend=backend, progress=progress,
                         settings=settings, utilization=utilization, coarse_start=coarse_start,
                         rack_model=rack_model, turbulence=turbulence, answer=answer,
                         average_s=average_s, units=units)
    s = sol.summary
    out = Console()
    out.print(f"[bold]{s['hall']}[/]: {s['cells']:,} cells on {s['backend']} ({s['device']}), "
              f"{s['iterations']} steps, {s['wall_s']:.1f} s (+{ready_s:.1f} s to prepare the "
              "kernels), "
              + ("converged" if s["converged"] else "[red]NOT converged[/]")
              + convergence_text(s["convergence"]))
    if answer_text(s.get("answer")):
        out.print(answer_text(s["answer"]))
    if s.get("coarse_start"):
        c = s["coarse_start"]
        out.print(f"coarse start at {c['cell_m']:g} m: {c['steps']} steps, {c['wall_s']:.1f} s"
                  if "steps" in c else f"coarse start skipped ({c['skipped']})")
    for a in s.get("sealed_aisles") or []:
        if s.get("units") == "matched":
            out.print(f"sealed aisle of {len(a['racks'])} racks: its {len(a['units'])} units matched "
                      f"to the racks' {a['racks_airflow_m3_s']:.2f} m3/s at {a['speed_frac']:.0%} of "
                      f"their design {a['units_design_airflow_m3_s']:.2f} m3/s")
        elif abs(a["units_airflow_m3_s"] - a["racks_airflow_m3_s"]) > 0.1 * a["racks_airflow_m3_s"]:
            out.print(f"[yellow]note: a sealed aisle's {len(a['units'])} units move "
                      f"{a['units_airflow_m3_s']:.2f} m3/s at design, its {len(a['racks'])} racks "
                      f"{a['racks_airflow_m3_s']:.2f}: the difference passes the door leaks; "
                      "--units matched runs the units at the racks' airflow[/]")
    rm = s.get("rack_model") or {}
    if rm.get("model", "fixed") != "fixed":
        out.print(f"racks: rack model '{rm['model']}' "
                  + (f"settled in {rm['rounds']} rounds ({rm['flow_solves']} flow re-solves)"
                     if rm["settled"] else "[red]NOT settled[/]"
                     f" (heat still moving {rm['heat_change_frac']:.1%})"))
        slow = [r for r in s["racks"] if r.get("work_fraction", 1.0) < 1.0]
        for r in slow:
            out.print(f"[red]{r['name']} throttles[/]: {r['work_fraction']:.0%} of its work done "
                      f"at {r['intake_temp_c']:.1f} degC inlet")
        for line in fan_lines(s):
            out.print(line)
    if rm.get("doors_held"):
        out.print("rear doors held to the room's heat: they would take more than it (water "
                  "colder than the room); the room keeps 1 % of the racks' design heat for "
                  "the units, which never heat")
    t = Table(title="Rack inlets, worst first (ASHRAE recommended 18-27 degC)")
    # racks whose cabinets leak: the servers' inlet beside the cabinet's face
    leaky = any(abs(r.get("server_inlet_temp_c", r["intake_temp_c"]) - r["intake_temp_c"])
                > 1e-9 for r in s["racks"])
    for col in ("rack", "inlet mean C") + (("server inlet C",) if leaky else ()) + (
            "inlet max C", "exhaust C", "flow m3/s", "air kW"):
        t.add_column(col, justify="right" if col != "rack" else "left")
    for r in s["racks"][:top]:
        style = "red" if r["intake_max_c"] > 27 else ("yellow" if r["intake_max_c"] > 25 else "")
        srv = (f"{r['server_inlet_temp_c']:.1f}",) if leaky else ()
        t.add_row(r["name"], f"{r['intake_temp_c']:.1f}", *srv, f"{r['intake_max_c']:.1f}",
                  f"{r['exhaust_temp_c']:.1f}", f"{r['flow_m3_s']:.2f}",
                  f"{r['air_heat_w'] / 1e3:.1f}", style=style)
    out.print(t)
    u = Table(title="Cooling units")
    for col in ("unit", "removed kW", "supply C", "return C", "flow m3/s"):
        u.add_column(col)
    for c in s["cooling_units"]:
        u.add_row(c["name"], f"{c['heat_removed_w'] / 1e3:.1f}", f"{c['supply_temp_c']:.1f}",
                  f"{c['return_temp_c']:.1f}", f"{c['airflow_m3_s']:.2f}")
    out.print(u)
    b = s["energy_budget"]
    hb = s.get("heat_balance") or {}
    doors = (f" ({hb['servers_air_heat_w'] / 1e3:.1f} kW from the servers, rear doors "
             f"{hb['door_heat_w'] / 1e3:.1f} kW to water)" if hb.get("door_heat_w") else "")
    env = (f", envelope {hb['envelope_heat_w'] / 1e3:+.2f} kW (outdoors "
           f"{s['envelope']['outdoor_temp_c']:.1f} degC)" if s.get("envelope") else "")
    door_rows = [r for r in s["racks"] if r.get("rear_door")]
    if door_rows:
        dp = [r["door_dp_pa"] for r in door_rows]
        capped = sum(bool(r["door_capped"]) for r in door_rows)
        out.print(f"rear doors: {len(door_rows)} racks, {hb['door_heat_w'] / 1e3:.1f} kW to "
                  f"water, effectiveness {min(r['door_effectiveness'] for r in door_rows):.2f}"
                  f"-{max(r['door_effectiveness'] for r in door_rows):.2f}, air-side "
                  f"{min(dp):.0f}-{max(dp):.0f} Pa"
                  + ("" if any("airflow_free_frac" in r for r in door_rows) else
                     " (the servers' fans are taken to hold their airflow against it: their "
                     "rack type gives no fan_curve_pa)")
                  + (f"; {capped} held to their cabinet's heat (water colder than the room)"
                     if capped else ""))
    out.print(f"heat balance: racks {b['rack_heat_w'] / 1e3:.1f} kW in{doors}{env}, units "
              f"{b['cooler_heat_w'] / 1e3:.1f} kW out, walls {b['boundary_heat_w'] / 1e3:.2f} kW, "
              f"imbalance {100 * b['imbalance_frac']:.3f} %")
    for h in s["hot_spots"]:
        x, y, z = h["position_m"]
        out.print(f"hot spot {h['temp_c']:.1f} degC at x={x:.1f} y={y:.1f} z={z:.1f} m "
                  f"(intake of {h['rack']})")
    if json_path:
        write_json(json_path, s)
    if out_dir:
        text = Path(facility).read_text(errors="replace")
        write_steady_h5(Path(out_dir) / "results.h5", [sol], text)
        write_json(Path(out_dir) / "summary.json", s)
        write_solution_csv(out_dir, s)
    if not s["converged"]:
        sys.exit(3)


def fan_lines(summary: dict) -> list[str]:
    """One warning line per rack below its fans' free delivery (the summary's
    ``fan_limited_racks``): its airflow against the back pressure it met."""
    lines = []
    for r in summary.get("fan_limited_racks", []):
        lines.append(
            f"[yellow]{r['name']} below its airflow[/]: {r['airflow_free_frac']:.0%} of its fans' "
            f"free delivery ({r['airflow_design_frac']:.0%} of design) against "
            f"{r['back_pressure_pa']:+.1f} Pa back pressure"
            + (" (held at its fans' shut-off)" if r["fan_shutoff"] else ""))
    return lines
