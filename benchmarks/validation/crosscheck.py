"""The reference halls of the OpenFOAM cross-check, and how each is run by both codes.

A case is a facility hall meshed at a cell size, with the cooling units' airflow set to
a multiple of the racks' total airflow (``supply_ratio``: above 1, the supply exceeds
what the racks draw; below 1, the racks must draw hot air back). The same
:class:`kernels.Problem` goes to the twin (:func:`twin_answer`) and to OpenFOAM
(:func:`openfoam_answer`, see :mod:`benchmarks.validation.openfoam`); the answers are
stored in ``benchmarks/validation/results/<case>.json`` (per-rack intake means and
maxima, units, heat balance, residuals, iterations, CPU and wall time, versions) with
the OpenFOAM fields on the twin's grid in ``<case>-fields.npz`` for the pictures.

Cooler capacities are lifted (``capacity_w = inf``) in both codes: the cross-check is
about where the air goes, and OpenFOAM's case supplies at the set temperature.
"""
from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import numpy as np

from twin.outputs.files import atomic_write

from .foamcase import Transient

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
RMS_TARGET_K = 1.0      # issue 18: per-rack intake means within 1 K RMS of the reference
MAX_TARGET_K = 2.0      # issue 23: every rack within 2 K
#: Coverage factor of a reference's standard error when a target is judged against it
#: (2: about 95 % for a normal error; JCGM 100:2008, the GUM, section 6.3).
COVERAGE = 2.0
#: The largest per-rack standard error a reference may have and still judge the 1 K target.
SE_LIMIT_K = 0.25


@dataclass(frozen=True)
class Case:
    name: str
    facility: str           # path relative to the repository root
    hall: str | None
    cell_m: float
    supply_ratio: float     # total cooling-unit airflow / total rack airflow
    description: str
    max_iterations: int = 3000      # SIMPLE cap
    average_from: int | None = None  # an unsettled case's answer: the average from here
                                     # to the cap (default: the second half)
    transient: "Transient | None" = None  # a time-averaged PIMPLE reference instead
    returns: str = "flow"           # the cooling units' returns (foamcase.RETURN_TREATMENTS)
    resistances: str = "zone"       # the loss faces (foamcase.RESISTANCE_TREATMENTS)
    reference_of: str | None = None  # an experiment: the hall and supply of this case


#: The small hall's SIMPLE runs do not settle (their intakes swing by up to 4.9 K over
#: 1,500 iterations, with lower relaxation too: benchmarks/results/
#: openfoam-returns-2026-12-07.md): their reference is a transient, seeded from the
#: SIMPLE answer, averaged after a start-up of about one air change of the hall (hall
#: volume over supply flow: 57 s at 0.8x, 36 s at 1.25x). The windows were cut to fit
#: a shared 2-core machine. The references with the tiles as 4-cell zones (LOSS_FACES)
#: were seeded from 3,000 SIMPLE iterations each and run to the end in one go.
SMALL_HALL_LO_TRANSIENT = Transient(end_time_s=300.0, average_from_s=60.0, max_courant=4.0)
SMALL_HALL_HI_TRANSIENT = Transient(end_time_s=150.0, average_from_s=40.0, max_courant=4.0)
#: The floor-diffuser halls' SIMPLE intakes swing by 7.6-10.2 K (benchmarks/results/
#: openfoam-transient-2026-12-07.md): a transient reference the same way, after a start-up
#: of about one air change (267 m3 of air over 9.09 m3/s at 0.8x: 30 s). The 0.8x run was
#: made to 150 s and extended to 1,430 s: the row-end intakes swing by 12-13 K in slow
#: excursions, and 120 s left their standard error at 0.85 K.
FLOOR_DIFFUSERS_LO_TRANSIENT = Transient(end_time_s=1430.0, average_from_s=30.0,
                                         max_courant=4.0)
#: At 1.2x: 267 m3 over 13.63 m3/s, 20 s; made to 200 s, extended to 800 s.
FLOOR_DIFFUSERS_HI_TRANSIENT = Transient(end_time_s=800.0, average_from_s=20.0,
                                         max_courant=4.0)
#: The slab-ceiling hall at 0.8x the same way: 265 m3 over 9.09 m3/s, 29 s; made to
#: 150 s, extended to 330 s (the 12 s spans of 120 s were correlated, lag-1 up to 0.8).
#: With the doors as their gaps (LOSS_FACES, 2026-12-08) it was run from rest to 330 s and
#: extended to 630 s (4,561 time steps, 573 s CPU); its slowest intakes are still 0.40 K
#: uncertain (SHORT_AVERAGES in the tests).
SLAB_CEILING_LO_TRANSIENT = Transient(end_time_s=630.0, average_from_s=30.0, max_courant=4.0)
#: At 1.2x: 265 m3 over 13.63 m3/s, 19 s. Started from rest (no SIMPLE seed: that run's
#: case folder was gone), so the start-up left out is three air changes, 60 s. Made to
#: 260 s and extended to 460 and 760 s (6,095 time steps, 785 s CPU in all):
#: the row-end intake H1/A/01 swings in slow excursions, its error 0.29 K over 400 s and
#: 0.27 K over 700 s.
#: With the doors as their gaps, from rest to 760 s in one go (7,678 steps, 956 s CPU).
SLAB_CEILING_HI_TRANSIENT = Transient(end_time_s=760.0, average_from_s=60.0, max_courant=4.0)

#: How the references state a loss face (a door's leak, ``k`` in the thousands; a tile's,
#: ``k`` about 3). Tiles: spread over 4 cells astride their faces (``"zone4"``: 102 % of a
#: tile's drop, where a one-cell zone, ``"zone"``, kept 66-86 %). Doors: as their gaps
#: (``"gaps"``, :data:`benchmarks.validation.foamcase.RESISTANCE_TREATMENTS`): a zone
#: across the whole door kept 0.1 % (one cell) or 59-79 % (4 cells) of its drop in a duct
#: and leaked in the halls (``benchmarks/results/door-leaks-2026-12-07.md``); the gaps
#: hold 74-86 % of the flow's drop there (``door-gaps-2026-12-08.md``). ``"gaps"`` states
#: tiles as ``"zone4"``, so the small hall's references (tiles only) keep that name. The
#: references made before are kept as ``<case>-zone.json`` (one cell) and
#: ``<case>-zone4.json``.
LOSS_FACES = "gaps"
#: The small hall's tiles (no doors): ``"gaps"`` would write the same case.
TILE_LOSS_FACES = "zone4"

CASES = {c.name: c for c in (
    Case("small-hall-hi", "meshes/small-hall.toml", None, 0.2, 1.25,
         "shipped small hall: raised floor, perforated grates, two downflow CRAHs; "
         "supply 1.25x the racks' airflow (the file's own 12 m3/s)",
         transient=SMALL_HALL_HI_TRANSIENT, resistances=TILE_LOSS_FACES),
    Case("small-hall-lo", "meshes/small-hall.toml", None, 0.2, 0.8,
         "shipped small hall, supply 0.8x the racks' airflow", transient=SMALL_HALL_LO_TRANSIENT,
         resistances=TILE_LOSS_FACES),
    Case("slab-ceiling-hi", "benchmarks/validation/halls/slab-ceiling.toml", None, 0.2, 1.2,
         "slab floor, ceiling diffusers over the cold aisles, hot-aisle chimney (sides to "
         "the ceiling, its ends closed by doors leaking 2 %) with the return above it; "
         "supply 1.2x",
         transient=SLAB_CEILING_HI_TRANSIENT, resistances=LOSS_FACES),
    Case("slab-ceiling-lo", "benchmarks/validation/halls/slab-ceiling.toml", None, 0.2, 0.8,
         "slab floor, ceiling diffusers, hot-aisle chimney with doors at its ends (2 % leak), "
         "return above it; supply 0.8x", transient=SLAB_CEILING_LO_TRANSIENT,
         resistances=LOSS_FACES),
    Case("ai-hall-hi", "meshes/ai-hall.toml", None, 0.2, 1.2,
         "shipped AI hall: in-row coolers, fan walls, sealed hot aisles (doors leaking "
         "2 %); supply 1.2x", max_iterations=1600, average_from=1000, resistances=LOSS_FACES),
    Case("ai-hall-lo", "meshes/ai-hall.toml", None, 0.2, 0.8,
         "shipped AI hall, supply 0.8x", max_iterations=1600,
         average_from=1000, resistances=LOSS_FACES),
    Case("floor-diffusers-hi", "benchmarks/validation/halls/floor-diffusers.toml", None, 0.2,
         1.2, "slab floor, floor diffusers in the cold aisle, ceiling return; supply 1.2x",
         transient=FLOOR_DIFFUSERS_HI_TRANSIENT),
    Case("floor-diffusers-lo", "benchmarks/validation/halls/floor-diffusers.toml", None, 0.2,
         0.8, "slab floor, floor diffusers in the cold aisle, ceiling return; supply 0.8x",
         transient=FLOOR_DIFFUSERS_LO_TRANSIENT),
    Case("floor-diffusers-lo-0.1", "benchmarks/validation/halls/floor-diffusers.toml", None,
         0.1, 0.8, "floor diffusers, supply 0.8x, at 0.1 m", max_iterations=3000),
    # the stored reference was cut at 1,500 iterations (averaged from 1,200) for time
)}

#: Experiments on a reference's setting (not targets of the twin): issue 23's question
#: whether the return treatment moves the intakes.
EXPERIMENTS = {c.name: c for c in (
    # seeded from the end of small-hall-lo's transient; the flow rearranges in seconds,
    # the heat within about one air change
    # (made with the tiles as one-cell zones: compare it with small-hall-lo-zone)
    replace(CASES["small-hall-lo"], name="small-hall-lo-pressure-returns", returns="pressure",
            reference_of="small-hall-lo", resistances="zone",
            transient=Transient(end_time_s=160.0, average_from_s=40.0, max_courant=4.0),
            description="shipped small hall, supply 0.8x, the CRAH returns as fixed-pressure "
                        "openings (totalPressure 0; their flow set by the supplies)"),
)}
ALL_CASES = {**CASES, **EXPERIMENTS}


def problem_for(case: Case, cell_m: float | None = None):
    """The case's :class:`kernels.Problem` (units' flows scaled, capacities lifted)."""
    from twin.thermal.mesh import mesh_hall
    problem, report = mesh_hall(ROOT / case.facility, case.hall,
                                cell_m=case.cell_m if cell_m is None else cell_m,
                                backend=None, check_memory=False)
    rack_flow = sum(d.flow_m3_s for d in problem.racks)
    unit_flow = sum(d.flow_m3_s for d in problem.coolers)
    scale = case.supply_ratio * rack_flow / unit_flow
    devices = [d if d.kind == "rack" else
               replace(d, flow_m3_s=d.flow_m3_s * scale, capacity_w=math.inf)
               for d in problem.devices]
    return problem.with_devices(devices), report


def case_problem(case: Case, turbulence: str | None = None, cell_m: float | None = None):
    """The problem the twin solves for ``case`` (:func:`problem_for`, without its mesh
    report) with the closure ``turbulence`` where one is named and differs from the
    problem's: the reference's k-epsilon has no buoyancy production (``foamcase.py``), so
    neither has the twin's. ``functools.partial(case_problem, case, turbulence)`` is the
    problem of a cell size that :func:`twin.thermal.steady.steady_solve` asks for."""
    from kernels.problem import Turbulence
    p = problem_for(case, cell_m)[0]
    if turbulence and turbulence != p.turbulence.model:
        p = replace(p, turbulence=Turbulence(model=turbulence, buoyancy_production=False))
    return p


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _openfoam_version() -> str:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "openfoam"],
                             capture_output=True, text=True).stdout.strip()
        return f"OpenFOAM v1912 (Debian package openfoam {out})" if out else "OpenFOAM v1912"
    except OSError:
        return "OpenFOAM v1912"


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _save_npz(path: Path, **arrays):
    def write(tmp):
        with open(tmp, "wb") as fh:           # a file object: savez adds no suffix
            np.savez_compressed(fh, **arrays)
    atomic_write(path, write)


#: The twin's default answer to a case: the one ``<case>-twin.json`` holds and the tests judge.
DEFAULT_TURBULENCE, DEFAULT_ANSWER = "chen-xu", "flow-mean"


def variant(turbulence: str | None = None, answer: str | None = None) -> str:
    """The suffix of a twin answer that is not the default one (``""`` for the default):
    ``k-epsilon``, ``chen-xu-time-mean``, ``k-epsilon-time-mean``."""
    turbulence = turbulence or DEFAULT_TURBULENCE
    answer = answer or DEFAULT_ANSWER
    parts = ([turbulence] if turbulence != DEFAULT_TURBULENCE or answer != DEFAULT_ANSWER
             else []) + ([answer] if answer != DEFAULT_ANSWER else [])
    return "-".join(parts)


def resistance_flows(problem, flow) -> list[dict]:
    """The flow through each loss face group (tiles, door leaks) of ``problem`` in the face
    velocities ``flow`` (u, v, w host arrays): ``net_flow_m3_s`` along +axis, the sum of
    the faces' ``|q|`` (``gross_flow_m3_s``) and the flow that crosses both ways
    (``exchange_flow_m3_s``, half of gross minus ``|net|``), as the reference's monitors
    report them. The twin's answer is a mean flow: an exchange the flow's swings carry
    (which the reference's time mean of ``|q|`` counts) is not in it."""
    out = []
    for res in problem.resistances:
        area = problem.grid.face_area_m2(res.axis)
        f = res.faces
        q = np.asarray(flow[res.axis], float)[f[:, 0], f[:, 1], f[:, 2]] * area
        net, gross = float(q.sum()), float(np.abs(q).sum())
        out.append({"name": res.name, "net_flow_m3_s": net, "gross_flow_m3_s": gross,
                    "exchange_flow_m3_s": (gross - abs(net)) / 2.0})
    return out


def twin_answer(case: Case, backend: str = "numba-cpu", coarse_start: bool = False,
                turbulence: str | None = None, answer: str = DEFAULT_ANSWER,
                average_s: float | None = None, max_steps: int | None = None,
                progress=None) -> dict:
    """Solve the case with the twin; per-rack intakes, times (CPU counts every thread).

    ``turbulence``: the closure (default the problem's, Chen-Xu); k-epsilon runs without
    the buoyancy production term, as the reference's. ``answer``: ``flow-mean`` (the heat
    at the steady solve's mean flow) or ``time-mean`` (the temperature's time mean over
    ``average_s`` seconds, :mod:`kernels.time_mean`)."""
    from kernels.solver import SolverSettings
    from twin.thermal.steady import steady_solve

    prob = partial(case_problem, case, turbulence)
    problem = prob()
    t0, c0 = time.perf_counter(), time.process_time()
    settings = SolverSettings(max_steps=max_steps) if max_steps else SolverSettings()
    solver, run, coarse = steady_solve(problem, prob, case.cell_m, backend=backend,
                                       settings=settings, coarse_start=coarse_start)
    mean = None
    if answer == "time-mean":
        from kernels.time_mean import time_mean_answer
        tm = time_mean_answer(solver, average_s, progress=progress)
        mean = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in tm.items()
                if k not in ("intake_mean_c", "swing_k")}
    elif answer != DEFAULT_ANSWER:
        raise ValueError(f"answer '{answer}' must be flow-mean or time-mean")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    reps = {r["name"]: r for r in solver.device_report()}
    racks = [{"name": d.name, "intake_temp_c": reps[d.name]["intake_temp_c"],
              "intake_max_c": reps[d.name].get("intake_max_c")}
             for d in problem.racks]
    if mean is not None:
        names = [d.name for d in solver.devices]
        for r in racks:
            r["swing_k"] = float(tm["swing_k"][names.index(r["name"])])
    budget = solver.energy_budget()
    import numba
    return {"threads": int(numba.get_num_threads()), "racks": racks,
            "iterations": int(run.iterations), "converged": bool(run.converged),
            "turbulence": problem.turbulence.model, "answer": answer, "time_mean": mean,
            "wall_s": wall, "cpu_s": cpu, "coarse_start": coarse, "backend": backend,
            "imbalance_frac": budget.get("imbalance_frac"),
            "resistances": resistance_flows(
                problem, [solver.backend.to_host(a) for a in (solver.u, solver.v, solver.w)]),
            "T": solver.backend.to_host(solver.T)}


def with_resistances(case: Case, resistances: str | None) -> Case:
    """``case`` with its loss faces stated another way (an experiment on the reference,
    named ``<case>-<resistances>``, stored beside the case's own reference, never over
    it); ``case`` itself where ``resistances`` is None or its own."""
    if resistances is None or resistances == case.resistances:
        return case
    return replace(case, name=f"{case.name}-{resistances}", resistances=resistances,
                   reference_of=case.reference_of or case.name,
                   description=f"{case.description}; loss faces as '{resistances}'")


def openfoam_answer(case: Case, work_dir: Path, nproc: int = 1, progress=None,
                    max_iterations: int | None = None, seed: Path | None = None,
                    nice: int = 0, steady: bool = False, extend_to_s: float | None = None,
                    read_only: bool = False) -> dict:
    """Write, run and read the case's OpenFOAM reference (``steady``: SIMPLE even when
    the case's reference is a transient; ``seed``: a time folder to start from;
    ``extend_to_s``: march the finished transient in ``work_dir`` on to this time, its
    average and records continued; ``read_only``: read the finished case folder again)."""
    from . import openfoam
    problem, _ = problem_for(case)
    transient = None if steady else case.transient
    path = Path(work_dir) / (case.name + ("-simple" if steady and case.transient else ""))
    cap = max_iterations or case.max_iterations
    start = case.average_from if (case.average_from and not max_iterations) else cap // 2
    if read_only:
        run = json.loads((path / "run.json").read_text())
    else:
        if extend_to_s:
            openfoam.extend_case(path, extend_to_s)
        else:
            openfoam.write_case(problem, path, max_iterations=cap, average_from=start,
                                transient=transient, returns=case.returns,
                                resistances=case.resistances)
        run = openfoam.run_case(path, nproc=nproc, progress=progress, seed=seed, nice=nice,
                                restart=bool(extend_to_s))
    ans = openfoam.read_case(path, problem)
    # the reader states how a transient ended (it may have been cut short or extended)
    ans["run"] = {**run, **{k: v for k, v in (ans.get("run") or {}).items() if k == "stopped_by"}}
    return ans


def compare(ref_racks, twin_racks) -> dict:
    """Twin - reference per-rack intake means [K]: RMS, mean, largest, and what the
    reference's own uncertainty makes of them.

    Each rack's difference carries the reference's batch-means standard error
    ``intake_se_k`` (0 where a reference states none: ``se_known`` is then False). The
    RMS's standard error follows to first order, ``sqrt(sum (d_i se_i)^2) / (n RMS)``.
    :func:`verdict` judges the targets with them.
    """
    ref = {r["name"]: r for r in ref_racks}
    d = np.array([r["intake_temp_c"] - ref[r["name"]]["intake_temp_c"] for r in twin_racks])
    se = np.array([ref[r["name"]].get("intake_se_k") or 0.0 for r in twin_racks])
    worst = int(np.argmax(np.abs(d)))
    rms = float(np.sqrt(np.mean(d ** 2)))
    rms_se = float(np.sqrt(np.sum((d * se) ** 2)) / (len(d) * rms)) if rms > 0 else float(se.max())
    return {"rms_k": rms, "rms_se_k": rms_se, "mean_k": float(d.mean()),
            "max_abs_k": float(np.abs(d).max()), "worst_rack": twin_racks[worst]["name"],
            "worst_k": float(d[worst]), "worst_se_k": float(se[worst]), "racks": len(d),
            "se_known": all("intake_se_k" in ref[r["name"]] for r in twin_racks),
            "max_se_k": float(se.max()),
            "per_rack": [{"name": r["name"], "difference_k": float(x), "se_k": float(e)}
                         for r, x, e in zip(twin_racks, d, se)]}


def verdict(c: dict, k: float = COVERAGE) -> str:
    """``within``, ``miss`` or ``undecided``: the targets against the reference's error.

    ``within``: the RMS plus ``k`` of its standard errors is within :data:`RMS_TARGET_K`
    and every rack's difference plus ``k`` of its error within :data:`MAX_TARGET_K`.
    ``miss``: the RMS minus ``k`` errors exceeds its target, or a rack's difference
    minus ``k`` errors exceeds its own. Otherwise the reference cannot tell.
    A reference without a stated error counts as exact (the old behaviour).
    """
    racks = c["per_rack"]
    if (c["rms_k"] - k * c["rms_se_k"] > RMS_TARGET_K
            or any(abs(r["difference_k"]) - k * r["se_k"] > MAX_TARGET_K for r in racks)):
        return "miss"
    if (c["rms_k"] + k * c["rms_se_k"] <= RMS_TARGET_K
            and all(abs(r["difference_k"]) + k * r["se_k"] <= MAX_TARGET_K for r in racks)):
        return "within"
    return "undecided"


def result_path(name: str) -> Path:
    """The stored OpenFOAM reference of a case (``<case>.json``)."""
    return RESULTS / f"{name}.json"


def twin_path(name: str, variant_: str = "") -> Path:
    """The twin's stored answer to a case (``<case>-twin.json``), refreshed more often;
    another closure or answer's (:func:`variant`) in ``<case>-twin-<variant>.json``."""
    return RESULTS / (f"{name}-twin-{variant_}.json" if variant_ else f"{name}-twin.json")


def load_result(name: str, variant_: str = "") -> dict:
    """Reference, twin answer (when stored; ``variant_``: another closure or answer's,
    :func:`variant`) and their comparison, as one dict."""
    out = json.loads(result_path(name).read_text())
    if twin_path(name, variant_).exists():
        out["twin"] = json.loads(twin_path(name, variant_).read_text())
        out["comparison"] = compare(out["openfoam"]["racks"], out["twin"]["racks"])
        cpu = out["twin"].get("cpu_s")
        if cpu:
            out["comparison"]["openfoam_cpu_over_twin_cpu"] = (
                out["openfoam"]["execution_time_s"] / cpu)
    return out


def _write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))


def run_case(name: str, work_dir: Path, nproc: int = 1, twin: bool = True,
             openfoam: bool = True, progress=print, max_iterations: int | None = None,
             seed: Path | None = None, nice: int = 0, steady: bool = False,
             extend_to_s: float | None = None, read_only: bool = False,
             turbulence: str | None = None, answer: str = DEFAULT_ANSWER,
             average_s: float | None = None, max_steps: int | None = None,
             resistances: str | None = None) -> dict:
    """Run one case with both codes (or one of them); store each answer atomically.

    ``resistances``: state the reference's loss faces another way than the case does
    (:func:`with_resistances`: an OpenFOAM-only experiment stored as
    ``<case>-<resistances>.json``).

    ``turbulence``, ``answer``, ``average_s``, ``max_steps``: the twin's closure, answer
    and cap (:func:`twin_answer`); an answer other than the default one is stored as
    ``<case>-twin-<variant>.json`` (:func:`variant`), beside the default.

    ``steady``: run SIMPLE for a case whose reference is a transient (its answer is
    stored as ``<case>-simple.json``, the seed of the transient). ``seed``: the time
    folder whose fields start the OpenFOAM run.
    """
    case = ALL_CASES[name]
    if with_resistances(case, resistances) is not case:
        case, twin = with_resistances(case, resistances), False
        name = case.name
    problem, report = problem_for(case)
    twin = twin and name in CASES and not steady
    if openfoam:
        from . import openfoam as of
        t0 = time.time()
        transient = None if steady else case.transient
        unit = "s" if transient else "iteration"
        ans = openfoam_answer(case, work_dir, nproc=nproc, max_iterations=max_iterations,
                              seed=seed, nice=nice, steady=steady, extend_to_s=extend_to_s,
                              read_only=read_only,
                              progress=(lambda it: progress(f"{name}: OpenFOAM {unit} {it:g}"))
                              if progress else None)
        T, U = ans.pop("T"), ans.pop("U")
        speed = np.linalg.norm(U, axis=-1)
        settings = {"schemes": of.SCHEMES, "inlet_intensity": of.INLET_INTENSITY,
                    "inlet_mixing_length_m": of.INLET_MIXING_LENGTH_M,
                    "returns": case.returns, "resistances": case.resistances}
        if transient:
            if ans.get("end_time_s"):          # as run (extended, or cut short by hand)
                transient = replace(transient, end_time_s=round(float(ans["end_time_s"]), 6))
            settings.update({"transient": asdict(transient), "time_scheme": "Euler",
                             "pimple": "1 outer corrector, 2 pressure correctors"})
        else:
            settings["relaxation"] = of.RELAXATION
        ref = {
            "schema": "dc-twin/crosscheck/2", "case": name, "description": case.description,
            "facility": case.facility, "hall": report.hall, "cell_m": case.cell_m,
            "supply_ratio": case.supply_ratio, "shape": list(problem.grid.shape),
            "cells": int(problem.grid.cells), "fluid_cells": int(problem.fluid_mask.sum()),
            "rack_flow_m3_s": sum(d.flow_m3_s for d in problem.racks),
            "unit_flow_m3_s": sum(d.flow_m3_s for d in problem.coolers),
            "rack_heat_w": sum(d.heat_w for d in problem.racks),
            "openfoam": {
                "version": _openfoam_version(),
                "solver": of.OPENFOAM_TRANSIENT_BIN if transient else of.OPENFOAM_BIN,
                "mode": "transient" if transient else "steady",
                "turbulence": "kEpsilon, standard wall functions",
                "settings": settings,
                "racks": ans["racks"], "cooling_units": ans["cooling_units"],
                "resistances": ans.get("resistances", []),
                "averaged": ans["averaged"], "averaged_from": ans["averaged_from"],
                "uncertainty": ans["uncertainty"],
                **{k: ans[k] for k in ("time_steps", "end_time_s", "courant_max",
                                       "courant_mean_of_max") if k in ans},
                "energy_budget": ans["energy_budget"], "iterations": ans["iterations"],
                "final_initial_residuals": ans["final_initial_residuals"],
                "execution_time_s": ans["execution_time_s"],
                "clock_time_s": ans["clock_time_s"],
                "run": ans["run"], "differences": list(of.DIFFERENCES),
                "machine": f"{platform.processor() or platform.machine()}, "
                           f"{os.cpu_count()} cores, load {_load()} at the end",
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            }}
        out = result_path(name + ("-simple" if steady and case.transient else ""))
        _save_npz(out.with_name(out.stem + "-fields.npz"), T=T.astype(np.float32),
                  speed=speed.astype(np.float32))
        _write_json(out, ref)
        if progress:
            progress(f"{name}: OpenFOAM done in {time.time() - t0:.0f} s, "
                     f"{ans['iterations']} {'time steps' if transient else 'iterations'}")
    var = variant(turbulence, answer)
    if twin:
        commit = _git_commit()      # the code that runs: taken before it does (a long run
        #                             outlives commits made beside it)
        ans = twin_answer(case, coarse_start=True, turbulence=turbulence, answer=answer,
                          average_s=average_s, max_steps=max_steps)
        T = ans.pop("T")
        ans.update({"case": name, "commit": commit,
                    "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
                    "machine_load": _load()})
        path = twin_path(name, var)
        _save_npz(path.with_suffix(".npz"), T=T.astype(np.float32))
        _write_json(path, ans)
        if progress:
            progress(f"{name}: twin done in {ans['wall_s']:.0f} s, {ans['iterations']} steps")
    return load_result(name, var) if result_path(name).exists() and name in CASES else {}
