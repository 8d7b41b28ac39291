"""Pictures and the page of the cross-check: ``docs/validation.md``.

Both codes' temperature fields are rendered the same way, with pyvista, on the same
cells: the twin's from its solve (``<case>-twin.npz``), OpenFOAM's as OpenFOAM wrote them
(read back onto the identical grid, ``<case>-fields.npz``; :func:`openfoam_vtk_field`
shows the same values from ``foamToVTK``'s output when the case folder is at hand). A
horizontal slice at the racks' intake mid-height and a vertical slice across the rows,
one colour scale per case.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .crosscheck import (CASES, COVERAGE, HERE, MAX_TARGET_K, RMS_TARGET_K, load_result,
                         problem_for, result_path, twin_path, verdict)

ROOT = HERE.parents[1]
DOCS = ROOT / "docs"
PICTURES = DOCS / "validation"
CMAP = "turbo"


def _image(problem, T):
    import pyvista as pv
    g = problem.grid
    img = pv.ImageData(dimensions=np.array(g.shape) + 1, spacing=g.spacing_m, origin=g.origin_m)
    vals = np.where(problem.fluid_mask, T, np.nan)
    img.cell_data["temp_c"] = vals.ravel(order="F")
    return img


def slice_positions(problem) -> tuple[float, float]:
    """(z of the racks' intake mid-height, x through the middle of the rack rows) [m]."""
    g = problem.grid
    cells = np.concatenate([d.intake.cells for d in problem.racks])
    z = g.origin_m[2] + (cells[:, 2].mean() + 0.5) * g.spacing_m[2]
    x = g.origin_m[0] + (np.median(cells[:, 0]) + 0.5) * g.spacing_m[0]
    return float(z), float(x)


def render_case(name: str, png: Path) -> dict:
    """Four panels: twin and OpenFOAM, horizontal and vertical slices. Returns the range."""
    from twin.outputs.files import atomic_write
    from twin.outputs.view import offscreen_plotter
    problem, _ = problem_for(CASES[name])
    Tt = np.load(result_path(name).with_name(f"{name}-twin.npz"))["T"].astype(float)
    To = np.load(result_path(name).with_name(f"{name}-fields.npz"))["T"].astype(float)
    fl = problem.fluid_mask
    lo = float(np.floor(min(np.nanmin(Tt[fl]), np.nanmin(To[fl]))))
    hi = float(np.ceil(max(np.nanpercentile(Tt[fl], 99.5), np.nanpercentile(To[fl], 99.5))))
    z, x = slice_positions(problem)
    pl = offscreen_plotter((1400, 900), shape=(2, 2))
    try:
        for col, (label, T) in enumerate((("twin", Tt), ("OpenFOAM k-epsilon", To))):
            img = _image(problem, T)
            for row, (normal, origin, view) in enumerate(
                    (("z", (0, 0, z), "xy"), ("x", (x, 0, 0), "yz"))):
                pl.subplot(row, col)
                pl.set_background("white")
                sl = img.slice(normal=normal, origin=origin)
                pl.add_mesh(sl, scalars="temp_c", cmap=CMAP, clim=(lo, hi), nan_color="gray",
                            show_scalar_bar=(row, col) == (0, 1), lighting=False,
                            scalar_bar_args={"title": "T [degC]", "color": "black",
                                             "fmt": "%.0f"})
                where = f"z = {z:.2f} m" if normal == "z" else f"x = {x:.2f} m"
                pl.add_text(f"{label}, {where}", font_size=10, color="black")
                getattr(pl, f"view_{view}")()
                pl.camera.parallel_projection = True
                pl.reset_camera(bounds=sl.bounds)
                pl.camera.zoom(1.3)
        pl.show(auto_close=False)
        shot = pl.screenshot(return_img=True)
    finally:
        pl.close()
    from PIL import Image  # pyvista's own dependency
    atomic_write(png, lambda tmp: Image.fromarray(shot).save(tmp, format="PNG",
                                                                  optimize=True))
    return {"clim": (lo, hi), "z_m": z, "x_m": x}


def openfoam_vtk_field(case_dir: Path):
    """OpenFOAM's internal field as ``foamToVTK`` wrote it (pyvista mesh), if present."""
    import pyvista as pv
    files = sorted(Path(case_dir).glob("VTK/*.vtm")) or sorted(Path(case_dir).glob("VTK/*.vtk"))
    return pv.read(files[-1]) if files else None


def _fmt(v, spec=".2f"):
    return "" if v is None else format(v, spec)


def _reference_kind(of: dict) -> str:
    if of.get("mode") == "transient":
        return f"transient, {of['end_time_s'] - of['averaged_from']:.0f} s average"
    return "SIMPLE average" if of.get("averaged") else "SIMPLE, settled"


def _reference_text(of: dict) -> str:
    """How the reference was obtained and how uncertain it is, in one paragraph."""
    imb = f"heat imbalance {of['energy_budget']['imbalance_frac'] * 100:+.2f} %"
    swing = max(x.get("intake_swing_k", 0) for x in of["racks"])
    ses = [x["intake_se_k"] for x in of["racks"] if "intake_se_k" in x]
    if of.get("mode") == "transient":
        t = of["settings"]["transient"]
        seed = of["run"].get("seed")
        text = (f"OpenFOAM: `{of['solver']}`, {of['iterations']:,} time steps over "
                f"{of['end_time_s']:.0f} s of air time (Courant number held at "
                f"{t['max_courant']:g}; started from "
                + ("the SIMPLE answer" if seed else "rest") + "), "
                f"{of['execution_time_s']:.0f} s CPU (1 core), {imb}; the answer is the time "
                f"average over {of['averaged_from']:.0f}-{of['end_time_s']:.0f} s")
    else:
        text = (f"OpenFOAM: {of['iterations']:,} SIMPLE iterations, "
                f"{of['execution_time_s']:.0f} s CPU (1 core), {imb}, stopped: "
                f"{of['run']['stopped_by']}"
                + (f" (from iteration {of['averaged_from']:.0f})" if of.get("averaged") else ""))
    if ses:
        u = of["uncertainty"]
        text += (f"; each rack intake's standard error by batch means ({u['batches']} batches): "
                 f"up to **{max(ses):.2f} K**, its swing over the window up to {swing:.2f} K")
    elif of.get("averaged"):
        text += (f"; no standard error stated: a rack intake swings by up to **{swing:.2f} K** "
                 "over the averaged iterations")
    return text


def page() -> str:
    """The text of docs/validation.md from the committed results."""
    rows, sections = [], []
    for name, case in CASES.items():
        p = result_path(name)
        if not p.exists():
            continue
        r = load_result(name)
        of, tw, c = r.get("openfoam"), r.get("twin"), r.get("comparison")
        if not (of and tw and c):
            continue
        transient = of.get("mode") == "transient"
        ref_se = f"{c['max_se_k']:.2f}" if c["se_known"] else "not stated"
        rows.append(f"| [{name}](#{name}) | {r['cells']:,} | {r['supply_ratio']:.2f} | "
                    f"{_reference_kind(of)} | {ref_se} | "
                    f"{c['rms_k']:.2f} | {c['worst_k']:+.2f} ({c['worst_rack']}) | {verdict(c)} | "
                    f"{of['iterations']:,}{' steps' if transient else ''} | "
                    f"{of['execution_time_s']:.0f} | {tw['iterations']:,} | "
                    f"{tw['cpu_s']:.0f} | "
                    + ("n/a |" if transient else f"{c.get('openfoam_cpu_over_twin_cpu', 0):.1f}x |"))
        ofr = {x["name"]: x for x in of["racks"]}
        se_of = {x["name"]: x["se_k"] for x in c["per_rack"]}
        lines = [f"## {name}", "", f"{case.description}. `{case.facility}`, "
                 f"{r['shape'][0]} x {r['shape'][1]} x {r['shape'][2]} cells of {case.cell_m} m "
                 f"({r['fluid_cells']:,} fluid); racks {r['rack_flow_m3_s']:.2f} m3/s and "
                 f"{r['rack_heat_w'] / 1e3:.0f} kW to air, supply {r['unit_flow_m3_s']:.2f} m3/s.", "",
                 f"![{name}](validation/{name}.png)", "",
                 f"Twin - OpenFOAM over {c['racks']} racks: RMS **{c['rms_k']:.2f} K**"
                 + (f" +- {COVERAGE * c['rms_se_k']:.2f} K" if c["se_known"] else "")
                 + f", mean {c['mean_k']:+.2f} K, worst {c['worst_rack']} {c['worst_k']:+.2f} K "
                 f"(targets {RMS_TARGET_K} K RMS, {MAX_TARGET_K} K each; "
                 f"at {COVERAGE:g} standard errors of the reference: **{verdict(c)}**). "
                 + _reference_text(of)
                 + f". Twin: {tw['iterations']:,} steps"
                 + ("" if tw["converged"] else " (**not settled**: the cap was reached)")
                 + ", "
                 f"{tw['cpu_s']:.0f} s CPU ({tw['wall_s']:.0f} s wall, {tw['backend']}, "
                 f"{tw.get('threads', 1)} thread(s), load {tw.get('machine_load', '?')}"
                 f"{', coarse start' if tw.get('coarse_start') else ''}), commit {tw['commit']}.", "",
                 "| rack | twin intake mean [degC] | OpenFOAM [degC] | OpenFOAM SE [K] | "
                 "difference [K] | twin max | OpenFOAM max |", "|---|---|---|---|---|---|---|"]
        for x in tw["racks"]:
            o = ofr[x["name"]]
            se = f"{se_of[x['name']]:.2f}" if "intake_se_k" in o else "n/a"
            lines.append(f"| {x['name']} | {x['intake_temp_c']:.2f} | {o['intake_temp_c']:.2f} | "
                         f"{se} | {x['intake_temp_c'] - o['intake_temp_c']:+.2f} | "
                         f"{_fmt(x.get('intake_max_c'))} | {o['intake_max_c']:.2f} |")
        imb = of["energy_budget"]["imbalance_frac"]
        if abs(imb) > 0.01:
            lines.insert(6, f"**Weak reference:** OpenFOAM's heat balance is {imb:+.1%} off "
                            f"after {of['iterations']:,} iterations (cut short for time); "
                            "rerun it before reading much into this case.\n")
        sections.append("\n".join(lines))
    from .openfoam import DIFFERENCES
    head = [
        "# Validation: the twin against OpenFOAM", "",
        "Each reference hall is meshed once by the twin (`twin.thermal.mesh.mesh_hall`) and the same "
        "`kernels.Problem` is solved by the twin and by OpenFOAM v1912 "
        "(`buoyantBoussinesqSimpleFoam`, standard k-epsilon with wall functions) on "
        "identical cells (`benchmarks/validation/openfoam.py`). Where SIMPLE does not "
        "settle (the small hall, the floor-diffuser and the slab-ceiling halls), the reference is a "
        "transient run "
        "(`buoyantBoussinesqPimpleFoam`, same model and schemes) averaged in time after its "
        "start-up, and each rack intake mean carries its batch-means standard error "
        "(`benchmarks/results/openfoam-returns-2026-12-07.md`, "
        "`benchmarks/results/openfoam-transient-2026-12-07.md`); the other references are "
        "SIMPLE iteration averages: the AI hall's with batch means over its iterations (a "
        "rough error: iterations are not time), the 0.1 m case's without (its intakes' swing "
        "is stated). Every loss face (a door's leak, the small hall's tiles) is a "
        "Forchheimer zone over 4 cells astride it (a one-cell zone keeps 0.1 % of a door's "
        "pressure drop and 66-86 % of a tile's: "
        "`benchmarks/results/slab-ceiling-doors-2026-12-07.md`, "
        "`benchmarks/results/small-hall-tiles-2026-12-07.md`). The "
        "targets are judged at 2 standard errors of the reference: within, miss, or "
        "undecided. The cooling units' airflow "
        "is set to a multiple of the racks' total (`supply_ratio`) and their capacity "
        "lifted in both codes. Reproduce a case with "
        "`python -m benchmarks.validation run CASE` (OpenFOAM from `apt-get install "
        "openfoam`), this page with `python -m benchmarks.validation docs`. The results "
        "are committed in `benchmarks/validation/results/`; "
        "`tests/verification/test_crosscheck.py` holds the twin to the targets: it "
        "solves the small, slab-ceiling and floor-diffuser halls again and compares the "
        "stored twin answers for the AI hall and the 0.1 m case (known misses are "
        "expected failures that print their figures).", "",
        "Pictures: left the twin, right OpenFOAM; top a horizontal slice at the racks' "
        "intake mid-height, bottom a vertical slice across the rows; grey is solid. Both "
        "are pyvista slices of the cell values on the same grid (OpenFOAM's cell values "
        "are read back from its own output after checking its cell centres against the "
        "twin's cells).", "",
        "CPU times: OpenFOAM's `ExecutionTime` (one core, serial); the twin's process CPU "
        "time (all its threads; kernels compiled beforehand, a coarse start included). "
        "OpenFOAM's were measured on the same 2-core machine on 2026-12-06 while other "
        "runs shared it (load 3-6), the small hall's transient references on 2026-12-07 "
        "under a heavier load (5-12, OpenFOAM niced), the floor-diffuser halls' on "
        "2026-12-07 too (load 2-5, niced). The twin's answers of the small, "
        "slab-ceiling and floor-diffuser halls were solved again on 2026-12-07 (load about "
        "1-2) after two changes of that day: the momentum diffusion as the divergence of "
        "the full stress (it moved the answers: `kernels/README.md`) and the host BLAS on "
        "one thread (its idle threads had inflated the twin's CPU time, "
        "`benchmarks/results/local-steps-blas-2026-12-07.md`); the AI hall's and the 0.1 m "
        "answers are older (the commit in each result file). The thread count and load are "
        "in each result file. A transient reference costs more CPU than "
        "SIMPLE per answer but its answer is a time average with a stated error: its CPU "
        "is not the cost of a steady answer, and no CPU ratio is given for it (the small "
        "hall's SIMPLE runs took 429 s at 1.25x and 466 s at 0.8x for 3,000 iterations, the "
        "floor-diffuser halls' 251 s at 1.2x and 241 s at 0.8x). "
        "Compare ratios, not times across days.", "",
        "No published measurement exists for these halls; the shipped halls and the two "
        "patch halls (`benchmarks/validation/halls/`) were built for this comparison.", "",
        "| case | cells | supply / rack airflow | reference | reference SE, largest [K] | "
        "RMS [K] | worst [K] | verdict | OpenFOAM iterations | "
        "OpenFOAM CPU [s] | twin steps | twin CPU [s] | CPU ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|", *rows, "",
        *variant_lines(),
        "## How the two models differ", "", *[f"* {d}" for d in DIFFERENCES], ""]
    return "\n".join(head) + "\n" + "\n\n".join(sections) + "\n"


#: The twin's other answers a case may have stored (``<case>-twin-<variant>.json``).
VARIANTS = ("k-epsilon", "chen-xu-time-mean", "k-epsilon-time-mean")


def variant_lines() -> list[str]:
    """The table of the twin's stored answers other than the default (another closure,
    or the temperature's time mean), against the same references; empty without any."""
    rows = []
    for name in CASES:
        if not result_path(name).exists():
            continue
        default = load_result(name).get("comparison")
        for var in VARIANTS:
            if not twin_path(name, var).exists():
                continue
            r = load_result(name, var)
            tw, c = r["twin"], r["comparison"]
            tm = tw.get("time_mean") or {}
            swing = max((x.get("swing_k", 0.0) for x in tw["racks"]), default=0.0)
            rows.append(
                f"| {name} | {var} | {c['rms_k']:.2f} | "
                + (f"{default['rms_k']:.2f}" if default else "n/a")
                + f" | {c['worst_k']:+.2f} ({c['worst_rack']}) | {verdict(c)} | "
                f"{tw['iterations']:,}{'' if tw['converged'] else ' (cap)'} | "
                + (f"{tm['average_s']:.0f} s, +-{tm['uncertainty_k']:.2f} K, {swing:.1f} K"
                   if tm else "") + f" | {tw['cpu_s']:.0f} | {tw['commit']} |")
    if not rows:
        return []
    return ["## The twin's other answers", "",
            "The same references against the twin with another closure (`--turbulence "
            "k-epsilon`, without buoyancy production, as the reference) or answering with "
            "the time mean of its temperature (`--answer time-mean`: a real-time march from "
            "the steady answer, averaged; its span, the largest standard error of an intake "
            "mean and the largest swing of one). Reproduce with `python -m "
            "benchmarks.validation run CASE --twin-only --turbulence k-epsilon --answer "
            "time-mean --average-s S`. The default stays Chen-Xu at the mean flow while no "
            "other answer is better on every case (k-epsilon's time mean was worse than "
            "the default on small-hall-hi and floor-diffusers-lo in the diagnosis: "
            "`benchmarks/results/crosscheck-diagnosis-2026-12-07.md`; the stored answers: "
            "`benchmarks/results/crosscheck-time-mean-2026-12-07.md`).", "",
            "| case | twin answer | RMS [K] | default's RMS [K] | worst [K] | verdict | "
            "steps | time mean | CPU [s] | commit |",
            "|---|---|---|---|---|---|---|---|---|---|", *rows, ""]


def write_docs(render: bool = True) -> Path:
    from twin.outputs.files import atomic_write
    if render:
        PICTURES.mkdir(parents=True, exist_ok=True)
        for name in CASES:
            p = result_path(name)
            if p.exists() and p.with_name(f"{name}-twin.npz").exists() and \
                    p.with_name(f"{name}-fields.npz").exists():
                render_case(name, PICTURES / f"{name}.png")
    out = DOCS / "validation.md"
    text = page()
    atomic_write(out, lambda tmp: tmp.write_text(text))
    return out
