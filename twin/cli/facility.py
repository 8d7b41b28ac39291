"""``twin validate`` and ``twin mesh``: check a facility file and see what the solver sees."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from common.errors import TwinError
from kernels.backend import CHOICES as _BACKENDS
from twin.cli.checks import ranged
from twin.facility import Facility, FacilityError, cell_size_warnings, load_facility

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _fail(lines, code: int = 2):
    for line in lines:
        click.echo(line, err=True)
    sys.exit(code)


def _load(file: Path) -> Facility:
    try:
        return load_facility(file)
    except FacilityError as exc:
        errs = exc.errors
        _fail([str(d) for d in exc.diagnostics] +
              [f"{len(errs)} error{'s' if len(errs) != 1 else ''}, "
               f"{len(exc.warnings)} warning{'s' if len(exc.warnings) != 1 else ''}: "
               f"{file} is not valid"])


def _group(rows):
    """Merge consecutive halls with identical figures into one line."""
    keys = ("racks", "it_kw", "air_kw", "liquid_kw", "cooling_kw", "cdu_kw")
    out = []
    for r in rows:
        if out and all(abs(out[-1][0][k] - r[k]) < 1e-9 for k in keys):
            out[-1][1].append(r["hall"])
        else:
            out.append((r, [r["hall"]]))
    return out


def _span(values, fmt="{:g}") -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if lo == hi else f"{fmt.format(lo)}-{fmt.format(hi)}"


def as_built_lines(fac: Facility) -> list[str]:
    """What each hall's model holds of how the hall is built (issue 24): cabinet leakage
    and blanking, rear-door heat exchangers, rack fan curves, raised-floor leakage,
    obstructions and the envelope; one line per feature in use, or one line saying the
    hall has none (ideal racks, a sealed floor, adiabatic walls); halls built alike share
    their lines."""
    lines = []
    groups: dict = {}
    for h in fac.halls:
        racks = fac.layout(h.name).racks
        parts = []
        leaky = [r for r in racks if r.recirculation_frac > 0 or r.bypass_frac > 0]
        if leaky:
            parts.append(f"cabinet leakage on {len(leaky)} of {len(racks)} racks (recirculation "
                         f"{_span([r.recirculation_frac for r in leaky])}, bypass "
                         f"{_span([r.bypass_frac for r in leaky])})")
        doors: dict = {}
        for r in racks:
            if r.rear_door is not None:
                doors[r.rear_door] = doors.get(r.rear_door, 0) + 1
        if doors:
            parts.append("rear doors " + ", ".join(
                f"{n} ({fac.rear_doors[n].kind}) on {c} racks" for n, c in doors.items()))
        curves: dict = {}
        for r in racks:
            pts = getattr(r.rack_type, "fan_curve_pa", None)
            if pts:
                key = (r.type_name, float(pts[0][1]))
                curves[key] = curves.get(key, 0) + 1
        if curves:
            parts.append("fan curves " + ", ".join(
                f"{t} (shut-off {p:g} Pa) on {c} racks" for (t, p), c in curves.items()))
        if h.floor_leakage_open_frac > 0:
            parts.append(f"raised-floor leakage {100 * h.floor_leakage_open_frac:g} % open area")
        if h.obstructions:
            kinds: dict = {}
            for o in h.obstructions:
                kinds[o.kind] = kinds.get(o.kind, 0) + 1
            parts.append(f"{len(h.obstructions)} obstructions ("
                         + ", ".join(f"{c} {k}" for k, c in kinds.items()) + ")")
        env = h.envelope
        if env is not None:
            bits = [f"walls {', '.join(env.walls)} U {env.wall_u_w_m2k:g} W/(m2 K)"] if env.walls else []
            if env.roof:
                bits.append(f"roof U {env.roof_u_w_m2k:g} W/(m2 K), solar absorptance "
                            f"{env.roof_solar_absorptance:g}")
            parts.append("envelope " + "; ".join(bits))
        groups.setdefault(tuple(parts), []).append(h.name)
    for parts, names in groups.items():
        label = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]} x{len(names)}"
        head = f"  as built   {label}: "
        if not parts:
            lines.append(head + "none (ideal racks, sealed floor, adiabatic envelope)")
            continue
        lines.append(head + parts[0])
        lines += [" " * len(head) + p for p in parts[1:]]
    return lines


def summary_lines(fac: Facility, file) -> list[str]:
    """A one-screen summary of a valid facility."""
    c = fac.campus
    rows = fac.summary()
    lines = [f"{c.name} ({file})",
             f"  site       {c.location or '-'} ({abs(c.lat_deg):.2f} {'N' if c.lat_deg >= 0 else 'S'}, "
             f"{abs(c.lon_deg):.2f} {'E' if c.lon_deg >= 0 else 'W'}), weather {c.weather}",
             f"  halls      {len(rows)} in {len(fac.buildings)} building(s), "
             f"{sum(r['racks'] for r in rows)} racks, {len(fac.rack_types)} rack types"]
    # 80 columns with a 22-character hall label (the 1 GW campus's longest); the share of
    # the IT heat that goes to liquid is liquid kW / IT kW (on a line of its own, campus-wide)
    head = (f"  {'hall':<22}{'racks':>6}{'IT kW':>9}{'air kW':>9}{'liquid kW':>11}"
            f"{'cooling kW':>12}{'CDU kW':>9}")
    lines.append(head)
    for r, names in _group(rows):
        label = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]} x{len(names)}"
        lines.append(f"  {label:<22}{r['racks']:>6}{r['it_kw']:>9.0f}{r['air_kw']:>9.0f}"
                     f"{r['liquid_kw']:>11.0f}{r['cooling_kw']:>12.0f}{r['cdu_kw']:>9.0f}")
    it = sum(r["it_kw"] for r in rows)
    liq = sum(r["liquid_kw"] for r in rows)
    lines.append(f"  {'total':<22}{sum(r['racks'] for r in rows):>6}{it:>9.0f}"
                 f"{sum(r['air_kw'] for r in rows):>9.0f}{liq:>11.0f}"
                 f"{sum(r['cooling_kw'] for r in rows):>12.0f}{sum(r['cdu_kw'] for r in rows):>9.0f}")
    lines.append(f"  liquid     {(100 * liq / it if it else 0):.0f} % of the IT heat (liquid kW / IT kW)")
    air = fac.campus.air
    if air != type(air)():
        lines.append(f"  air        rho {air.density_kg_m3:g} kg/m3, cp {air.cp_j_kgk:g} J/(kg K), "
                     f"beta {air.expansion_1_k:.4g} 1/K at {air.reference_temp_c:g} degC ([campus.air])")
    for h in fac.halls:
        lay = fac.layout(h.name)
        ahus = [u for u in lay.units if u.outside]
        if not ahus:
            continue
        for u in ahus:
            sup = [p for p in lay.patches if p.unit == u.name and p.role == "supply"]
            ret = [p for p in lay.patches if p.unit == u.name and p.role == "return"]
            where = sorted({p.surface for p in sup})
            back = sorted({p.surface for p in ret})
            lines.append(f"  air handler {u.name}: {u.airflow_m3_s:.2f} m3/s at {u.supply_temp_c:g} degC "
                         f"through {len(sup)} diffuser(s) ({sum(p.area_m2 for p in sup):.1f} m2 on "
                         f"{', '.join(where)}), back through {len(ret)} return(s) "
                         f"({sum(p.area_m2 for p in ret):.1f} m2 on {', '.join(back)})")
    if fac.plant is not None:
        p = fac.plant
        parts = []
        if p.chillers:
            parts.append(f"chillers {sum(x.count * x.capacity_kw for x in p.chillers) / 1e3:.1f} MW "
                         f"({sum(x.count for x in p.chillers)})")
        if p.cooling_towers:
            parts.append(f"towers {sum(x.count * x.capacity_kw for x in p.cooling_towers) / 1e3:.1f} MW")
        if p.dry_coolers:
            parts.append(f"dry coolers {sum(x.count * x.capacity_kw for x in p.dry_coolers) / 1e3:.1f} MW")
        if p.economizer is not None:
            parts.append(f"economizer {p.economizer.kind}")
        if p.condenser_water is not None:
            cw = p.condenser_water
            parts.append({"fixed": f"condenser water {cw.supply_temp_c:g} degC",
                          "wet-bulb-reset": "condenser water reset with the wet bulb, at most "
                                            f"{cw.supply_temp_c:g} degC",
                          "optimal": "condenser water at least chiller + tower fan power, at most "
                                     f"{cw.supply_temp_c:g} degC"}[cw.control])
        lines.append("  plant      " + (", ".join(parts) or "(empty)"))
    if fac.power is not None:
        pw = fac.power
        parts = []
        if pw.grid is not None:
            parts.append(f"grid {pw.grid.capacity_mw:g} MW at {pw.grid.carbon_kg_per_kwh:g} kg CO2/kWh")
            if pw.grid.import_cap_mw is not None:
                parts.append(f"import cap {pw.grid.import_cap_mw:g} MW")
        if pw.solar_mw:
            parts.append(f"on-site solar {pw.solar_mw:g} MW")
        for ct in pw.contracts:
            parts.append(f"{ct.kind} PPA {ct.capacity_mw:g} MW")
        if pw.storage is not None:
            parts.append(f"battery {pw.storage.energy_mwh:g} MWh / {pw.storage.power_mw:g} MW "
                         f"({pw.storage.policy})")
        if pw.flexible_load is not None:
            parts.append(f"flexible load {pw.flexible_load.share_frac:.0%} ({pw.flexible_load.mode})")
        lines.append("  power      " + (", ".join(parts) or "(empty)"))
    for ph in fac.phases:
        halls = [r for r in rows if fac.hall(r["hall"]).phase == ph.name]
        it_mw = sum(r["it_kw"] for r in halls) / 1e3
        ramp = f", IT ramp {ph.it_ramp_months:g} months" if ph.it_ramp_months else ""
        lines.append(f"  phase {ph.name:<5}{ph.commissioning_date}: {len(halls)} halls, "
                     f"{it_mw:,.1f} MW of IT{ramp}")
    return lines


@click.command()
@click.argument("file", type=_FILE)
@click.option("--cell", "cell_m", type=float, default=0.1, show_default=True,
              callback=ranged(0, 10, lo_open=True, what="the cell size [m]"),
              help="Cell size [m] for the smaller-than-a-cell checks.")
def validate(file: Path, cell_m: float):
    """Check a facility file; print its problems, or a summary when it is valid.

    \b
    Example:
      twin validate meshes/small-hall.toml
    """
    fac = _load(file)
    try:
        warns = fac.warnings + cell_size_warnings(fac, cell_m)
    except TwinError as exc:
        _fail([f"error: {exc}"])
    for line in summary_lines(fac, file) + as_built_lines(fac):
        click.echo(line)
    for w in warns:
        click.echo(str(w))
    click.echo(f"ok: {file} is valid ({len(warns)} warning{'s' if len(warns) != 1 else ''})")


@click.command()
@click.argument("file", type=_FILE)
@click.option("--hall", "hall_name", default=None, help="Hall to mesh (needed when there are several).")
@click.option("--cell", "cell_m", type=float, default=0.1, show_default=True, help="Cell size [m].",
              callback=ranged(0, 10, lo_open=True, what="the cell size [m]"))
@click.option("--utilization", type=float, default=1.0, show_default=True,
              callback=ranged(0, 1, what="the rack load"),
              help="Rack load between idle (0) and design (1).")
@click.option("--backend", type=click.Choice(_BACKENDS), default="auto", show_default=True,
              help="Backend whose memory must hold the solve.")
@click.option("--vtk", "vtk_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the geometry and the grid as VTK files (ParaView) into this folder.")
def mesh(file: Path, hall_name, cell_m: float, utilization: float, backend: str, vtk_dir):
    """Voxelize one hall at a cell size; print cells, memory and snapping error.

    \b
    Example:
      twin mesh meshes/small-hall.toml --cell 0.2 --vtk /tmp/small-hall
    """
    from twin.thermal.mesh import mesh_hall
    from twin.thermal.vtk import write_vtk
    if vtk_dir is not None:
        from twin.outputs.files import check_folder
        check_folder(vtk_dir, "--vtk")
    fac = _load(file)
    try:
        problem, report = mesh_hall(fac, hall_name, cell_m=cell_m, utilization=utilization,
                                    backend=backend)
    except TwinError as exc:
        _fail([f"error: {exc}"])
    for line in report.lines():
        click.echo(line)
    if vtk_dir is not None:
        paths = write_vtk(problem, report, vtk_dir)
        click.echo(f"  vtk       {len(paths)} files in {vtk_dir}: " + ", ".join(p.name for p in paths))
