"""An OpenFOAM case from a :class:`kernels.Problem`: write it, run it, read it back.

The cross-check's instrument (issue 18). The hall the twin solves is handed to an
independent finite-volume code, OpenFOAM v1912 as Debian ships it
(``apt-get install openfoam``), with the standard k-epsilon model and wall functions
(Launder & Spalding, "The numerical computation of turbulent flows", Comput. Methods
Appl. Mech. Eng. 3 (1974) 269-289), solved by ``buoyantBoussinesqSimpleFoam`` (SIMPLE,
Boussinesq buoyancy). Its answer is read back on the twin's own grid so both codes are
compared cell by cell and rendered the same way.

How the twin's model maps onto OpenFOAM (every way the two differ is listed in
:data:`DIFFERENCES` and in ``docs/validation.md``):

* **Mesh.** One hexahedral block with exactly the twin's cells (``blockMesh``); the
  twin's solid cells (racks, units, floor slab, panels) are removed with ``subsetMesh``,
  their faces become no-slip adiabatic walls with wall functions. Cell ``n`` of the
  subset mesh is the ``n``-th fluid cell of the twin's grid in OpenFOAM's block order
  (``i`` fastest, then ``j``, then ``k``); :func:`read_case` checks this against the cell
  centres OpenFOAM writes.
* **Devices.** Each port (rack intake and exhaust, cooling unit return and supply, air
  handler patches) is an OpenFOAM patch (``topoSet`` face sets, ``createPatch``) with the
  twin's uniform normal velocity ``Q / A`` (``fixedValue``). A rack is the twin's black
  box: the exhaust temperature is the flux-weighted mean intake temperature
  (``outletMappedUniformInlet``) and the rack's heat ``P / (rho cp)`` enters the fluid
  cells in front of the exhaust (``scalarSemiImplicitSource``), so the rack adds exactly
  its heat. Heat crosses a port only with the flow (no turbulent diffusion: ``alphat``
  is held at 0 on port patches), as in the twin. A cooler supplies at its set
  temperature; OpenFOAM has no capacity cap, so the cross-check lifts the cap in both
  codes (:func:`benchmarks.validation.crosscheck.problem_for`).
* **Resistances** (perforated tiles, door leakage): a Forchheimer porous zone
  (``explicitPorositySource``, ``fixedCoeff``) on the open cell behind each loss face,
  ``beta = k / (2 d)`` along the face's axis, so that the cell's pressure drop is
  ``k rho v^2 / 2`` as in the twin, if the cell's own velocity is the face's. It is not
  for a large ``k``: the source acts on the cell-centred velocity, which the momentum
  interpolation of the fluxes decouples from the faces (a checkerboard), and a door's
  one-cell zone (``k`` 7,070) keeps 0.1 % of its pressure drop in a duct
  (:mod:`benchmarks.validation.doorcheck`,
  ``benchmarks/results/slab-ceiling-doors-2026-12-07.md``). ``resistances="zone2"`` or
  ``"zone4"`` spreads the same ``beta d`` over 2 or 4 cells astride the face (59-79 % of
  the drop); ``"baffle"`` cuts the faces into a cyclic pair with ``porousBafflePressure``
  (exact for a tile's ``k`` of a few, but v1912's jump is explicit and unrelaxed and
  diverges for ``k |u|`` above about 2 m/s: not usable for doors). A 4-cell zone still
  leaks in a hall: the AI hall's start doors passed 8-10 times their loss's flow
  (``benchmarks/results/door-leaks-2026-12-07.md``). So ``"gaps"`` states a door as its
  gaps, in geometry: the door is a wall but for its lowest row of faces (the undercut),
  a closed slot 4 cells long with the ``k f^2`` that passes the same flow at the same
  pressure difference (``f`` the row's share of the door) as a 4-cell zone, which holds
  a coefficient of that size; tiles stay ``"zone4"``. The halls with doors use
  ``"gaps"`` (:data:`benchmarks.validation.crosscheck.LOSS_FACES`), the small hall's
  tiles ``"zone4"``.
* **Turbulence** k-epsilon, wall functions (``nutkWallFunction``, ``epsilonWallFunction``,
  ``kqRWallFunction``); inlets at 5 % intensity and a 0.1 m mixing length. Second-order
  upwind advection (``linearUpwind``) for momentum and temperature.

* **Steady or transient.** SIMPLE by default. Where SIMPLE does not settle (plumes and
  jets that swing), the reference is a transient (:class:`Transient`:
  ``buoyantBoussinesqPimpleFoam``, same model and schemes, Euler in time at a held
  Courant number, optionally started from a SIMPLE answer by :func:`seed_fields`)
  answered by its time average; each rack intake mean then carries its batch-means
  standard error (:func:`batch_means`), the reference's own uncertainty.
* **Returns.** The twin's fixed uniform suction by default; ``returns="pressure"`` states
  the cooling units' returns as fixed-pressure openings instead (an experiment on the
  boundary treatment; their flow and heat are then read from flux monitors).

Run :func:`run_case` (serial or ``mpirun -np N``), then :func:`read_case`.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from kernels.problem import Problem

from .foamcase import (INLET_INTENSITY, INLET_MIXING_LENGTH_M, OPENFOAM_BIN, OPENFOAM_TRANSIENT_BIN,
                       RELAXATION, RETURN_TREATMENTS, SCHEMES, CaseInfo, Transient, _header,
                       face_fractions, fluid_labels, port_faces, seed_fields, write_case)
from .losscheck import loss_pressure_differences

__all__ = ["DIFFERENCES", "INLET_INTENSITY", "INLET_MIXING_LENGTH_M", "OPENFOAM_BIN",
           "OPENFOAM_TRANSIENT_BIN", "RELAXATION", "RETURN_TREATMENTS", "SCHEMES", "BATCHES",
           "CaseInfo", "Transient", "write_case", "mesh_case", "run_case", "read_case",
           "batch_means", "foam_env"]

#: Every way the OpenFOAM case differs from the twin's model of the same hall.
DIFFERENCES = (
    "turbulence: standard k-epsilon with wall functions (OpenFOAM) against the Chen-Xu "
    "zero-equation model with no wall functions (twin default; the twin's own k-epsilon, "
    "twin solve --turbulence k-epsilon, is compared in "
    "benchmarks/results/keps-crosscheck-2026-12-06.md)",
    "rack heat: the twin releases the exhaust air at T_in + P/(rho cp Q); OpenFOAM "
    "releases it at T_in and adds P as a source in the first cell layer in front of the "
    "exhaust (same heat, spread over one cell)",
    "porous losses: the twin puts a tile's or door's loss k rho v^2 / 2 on the face; "
    "OpenFOAM spreads a tile's as a Forchheimer zone over 4 cells astride the face "
    "(resistances = 'zone4', 102 % of a tile's drop; a one-cell zone kept 66-86 %). A door "
    "(k 7,070) is stated as its gaps (resistances = 'gaps'): a wall but for its lowest row "
    "of faces, a closed slot 4 cells long with k f^2 (f the row's share of the door), so "
    "the same flow at the same pressure difference leaves as a jet under the door where the "
    "twin spreads it over the door; zones across the whole door leaked (the AI hall's start "
    "doors passed 8-10 times their loss's flow; benchmarks/results/"
    "slab-ceiling-doors-2026-12-07.md, small-hall-tiles-2026-12-07.md, "
    "door-leaks-2026-12-07.md, door-gaps-2026-12-08.md)",
    "advection: MUSCL/van Leer (twin) against linearUpwind (OpenFOAM), both second order",
    "solution: the twin averages the flow of a pseudo-transient over windows until the "
    "rack intakes are known to 0.2 K and answers with the heat equation solved at that "
    "mean flow; OpenFOAM runs SIMPLE until every rack intake moves less than the stop "
    "tolerance over the last iterations, and an unsettled reference averages the "
    "temperature itself, which also carries the heat the flow's swings move (the twin "
    "answers so too with twin solve --answer time-mean, kernels/time_mean.py; its "
    "answers on these halls are in the variants table below)",
    "cooler capacity: the twin caps a unit's heat at its capacity; the OpenFOAM case "
    "always supplies at the set temperature (cases are chosen so that no cap is hit)",
    "wall distance: the twin counts ports as walls for its mixing length; OpenFOAM's wall "
    "functions act only on wall patches (the twin measured to walls only: "
    "benchmarks/results/crosscheck-diagnosis-2026-12-07.md)",
    "returns and supplies: both codes impose the same uniform normal velocity on every "
    "port; walls, floor and ceiling are adiabatic in both. A fixed-pressure return "
    "(returns = 'pressure', the experiment of "
    "benchmarks/results/openfoam-returns-2026-12-07.md) is in OpenFOAM only",
    "steady state: a SIMPLE run that does not settle within its iteration cap is answered "
    "by its iteration average over the second half (fieldAverage), with the swing of each "
    "rack intake over it; where that swing is large (the small hall) the reference is a "
    "transient (buoyantBoussinesqPimpleFoam, Euler, Courant number 4) averaged in time "
    "after a start-up, each rack intake mean with its batch-means standard error",
)


# ------------------------------------------------------------------------------ runner
_ENV = None
FOAM_BASHRC = "/usr/share/openfoam/etc/bashrc"


def foam_env() -> dict:
    """The environment of ``source /usr/share/openfoam/etc/bashrc`` (Debian's v1912)."""
    global _ENV
    if _ENV is None:
        if not Path(FOAM_BASHRC).exists():
            raise RuntimeError(f"OpenFOAM is not installed ({FOAM_BASHRC} is missing): "
                               "apt-get install openfoam")
        out = subprocess.run(["bash", "-c", f"source {FOAM_BASHRC} >/dev/null 2>&1; env -0"],
                             capture_output=True, check=True).stdout
        _ENV = dict(kv.split("=", 1) for kv in out.decode().split("\0") if "=" in kv)
    return _ENV


def _run(cmd, cwd, log):
    with open(log, "w") as fh:
        r = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, env=foam_env())
    if r.returncode != 0:
        tail = Path(log).read_text().splitlines()[-15:]
        raise RuntimeError(f"{' '.join(cmd)} failed in {cwd} (exit {r.returncode}):\n"
                           + "\n".join(tail))


def mesh_case(path) -> None:
    """blockMesh, subsetMesh (fluid cells), topoSet (ports, zones), createPatch, and
    createBaffles where the case states its loss faces as baffles."""
    path = Path(path)
    _run(["blockMesh"], path, path / "log.blockMesh")
    (path / "constant/polyMesh/sets").mkdir(parents=True, exist_ok=True)
    shutil.copy(path / "system/fluidCellSet", path / "constant/polyMesh/sets/fluid")
    _run(["subsetMesh", "fluid", "-patch", "walls", "-overwrite"], path, path / "log.subsetMesh")
    _run(["topoSet"], path, path / "log.topoSet")
    _run(["createPatch", "-overwrite"], path, path / "log.createPatch")
    if (path / "system/createBafflesDict").exists():
        _run(["createBaffles", "-overwrite"], path, path / "log.createBaffles")
    shutil.rmtree(path / "0", ignore_errors=True)
    shutil.copytree(path / "0.orig", path / "0")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _monitor_means(path, prefix: str = "mon_") -> dict[str, np.ndarray]:
    """{patch: array of (iteration or time, value)} from the surfaceFieldValue files
    (``mon_``: area mean of T; ``flow_``: volume flux; ``heat_``: sum of phi T)."""
    out = {}
    root = Path(path) / "postProcessing"
    if not root.exists():
        return out
    for d in root.iterdir():
        if not d.name.startswith(prefix):
            continue
        rows = []
        # one folder per run's start time; a rerun from the same time writes
        # surfaceFieldValue_<time>.dat beside the first file: a later file replaces the
        # earlier records from its first time on
        files = [f for f in d.glob("*/surfaceFieldValue*.dat") if _is_number(f.parent.name)]
        for f in sorted(files, key=lambda f: (float(f.parent.name), len(f.name), f.name)):
            new = []
            for line in f.read_text().splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                parts = line.split()
                try:
                    new.append((float(parts[0]), float(parts[1])))
                except (ValueError, IndexError):
                    continue
            if new:
                rows = [r for r in rows if r[0] < new[0][0]] + new
        if rows:
            out[d.name[len(prefix):]] = np.array(rows)
    return out


#: Batches of the batch-means standard error (Law & Kelton's advice: 10 to 30 batches,
#: long against the correlation time; the lag-1 correlation of the batch means is stored
#: to show whether they are).
BATCHES = 10


def _time_mean(record: np.ndarray, start: float) -> float:
    """Step-weighted mean of a monitor record ``(t, value)`` after ``start``."""
    t, y = record[:, 0], record[:, 1]
    dt = np.diff(t, prepend=2 * t[0] - t[1] if len(t) > 1 else t[0] - 1.0)
    sel = t > start
    return float((dt[sel] * y[sel]).sum() / dt[sel].sum())


def batch_means(t, y, start: float, batches: int = BATCHES) -> dict:
    """Mean of the record ``y(t)`` from ``start`` on, and its batch-means standard error.

    The window ``[start, t_end]`` is cut into ``batches`` equal spans of ``t`` (time, or
    iterations for SIMPLE); each sample weighs its step ``t_i - t_(i-1)`` (the time step
    varies). The standard error of the mean is ``sd(batch means) / sqrt(batches)``
    (the method of batch means: A. M. Law and W. D. Kelton, *Simulation Modeling and
    Analysis*, 3rd ed., McGraw-Hill 2000, section 9.5.3), valid when the batch means are
    nearly uncorrelated: ``lag1`` is their lag-1 autocorrelation.
    """
    t, y = np.asarray(t, float), np.asarray(y, float)
    dt = np.diff(t, prepend=t[0] - (t[1] - t[0] if len(t) > 1 else 1.0))
    sel = t > start
    t, y, dt = t[sel], y[sel], dt[sel]
    if len(t) < 2 * batches:
        raise ValueError(f"{len(t)} samples after {start}: too few for {batches} batches")
    edges = np.linspace(start, t[-1], batches + 1)
    idx = np.clip(np.searchsorted(edges, t, side="left") - 1, 0, batches - 1)
    w = np.bincount(idx, dt, batches)
    bm = np.bincount(idx, dt * y, batches) / w
    mean = float((dt * y).sum() / dt.sum())
    se = float(bm.std(ddof=1) / np.sqrt(batches))
    c = bm - bm.mean()
    lag1 = float((c[1:] * c[:-1]).sum() / (c * c).sum()) if (c * c).sum() > 0 else 0.0
    return {"mean": mean, "se": se, "batch_means": bm.tolist(), "lag1": lag1,
            "window": [float(start), float(t[-1])], "samples": int(len(t)),
            "swing": float(y.max() - y.min())}


def _set_stop(path):
    cd = Path(path) / "system/controlDict"
    txt = cd.read_text()
    cd.write_text(re.sub(r"stopAt\s+\w+;", "stopAt writeNow;", txt))


def extend_case(path, end_time_s: float) -> None:
    """Set a finished transient case to march on to ``end_time_s`` when rerun with
    ``run_case(path, restart=True)`` (its time average and monitors continue)."""
    path = Path(path)
    meta = json.loads((path / "case.json").read_text())
    if not meta.get("transient"):
        raise ValueError(f"{path}: only a transient case can be extended")
    latest = float(_latest_time(path).name)
    if end_time_s <= latest:
        raise ValueError(f"{path}: already at {latest:g} s, not before {end_time_s:g} s")
    cd = path / "system/controlDict"
    txt = re.sub(r"endTime\s+[^;]+;", f"endTime {end_time_s:g};", cd.read_text())
    # OpenFOAM counts adjustable write times from the start time of the run (the latest)
    cd.write_text(re.sub(r"writeInterval\s+[^;]+;\n(?=purgeWrite)",
                         f"writeInterval {end_time_s - latest:.10g};\n", txt, count=1))
    meta["transient"]["end_time_s"] = float(end_time_s)
    (path / "case.json").write_text(json.dumps(meta, indent=1))


def run_case(path, *, nproc: int = 1, poll_s: float = 15.0, progress=None,
             seed=None, nice: int = 0, restart: bool = False) -> dict:
    """Mesh and run the case; stop when the rack intakes have settled (see ``case.json``).

    A transient case runs to its end time. ``seed``: a time folder of a finished run on
    the same mesh whose fields start this one (:func:`seed_fields`). ``restart``: go on
    from the case's latest time (after :func:`extend_case`), the log appended and the CPU
    time added to the earlier run's. ``nice``: the
    solver's scheduling niceness (a shared machine). Returns timing and stop
    information (also written to ``run.json``).
    """
    path = Path(path)
    meta = json.loads((path / "case.json").read_text())
    tol, window = meta["stop_tol_k"], meta["stop_window"]
    transient = meta.get("transient")
    racks_in = [n for d in meta["case"]["devices"] if d["kind"] == "rack" for n in d["in"]]
    t0 = time.time()
    before = json.loads((path / "run.json").read_text()) if restart else {}
    if not restart:
        mesh_case(path)
    if seed is not None and not restart:
        seed_fields(seed, path)
    t_mesh = time.time() - t0
    binary = OPENFOAM_TRANSIENT_BIN if transient else OPENFOAM_BIN
    cmd = [binary]
    if nproc > 1:
        (path / "system/decomposeParDict").write_text(
            _header("dictionary", "decomposeParDict")
            + f"numberOfSubdomains {nproc};\nmethod scotch;\n")
        _run(["decomposePar", "-force"], path, path / "log.decomposePar")
        cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(nproc),
               binary, "-parallel"]
    t1 = time.time()
    ru0 = os.times()
    log = open(path / "log.solver", "a" if restart else "w")
    if nice:
        cmd = ["nice", "-n", str(int(nice))] + cmd
    proc = subprocess.Popen(cmd, cwd=path, stdout=log, stderr=subprocess.STDOUT,
                            env=foam_env())
    stopped_by = "max_iterations: not settled; the answer is the iteration average"
    if transient:
        stopped_by = (f"end time {transient['end_time_s']:g} s; the answer is the time average "
                      f"from {transient['average_from_s']:g} s")
    settled_at = None
    while proc.poll() is None:
        time.sleep(poll_s)
        means = _monitor_means(path)
        if not racks_in or any(n not in means for n in racks_in):
            continue
        last = min(means[n][-1, 0] for n in racks_in)
        if progress:
            progress(last)
        if transient or last < window + 50:
            continue
        moved = 0.0
        for n in racks_in:
            m = means[n]
            sel = m[m[:, 0] >= last - window]
            moved = max(moved, float(sel[:, 1].max() - sel[:, 1].min()))
        if moved < tol:
            settled_at = int(last)
            stopped_by = f"intakes settled: every rack intake moved < {tol} K over {window} iterations"
            _set_stop(path)
            break
    rc = proc.wait()
    log.close()
    ru1 = os.times()
    if rc != 0:
        tail = (path / "log.solver").read_text().splitlines()[-20:]
        raise RuntimeError(f"{binary} failed in {path} (exit {rc}):\n" + "\n".join(tail))
    if nproc > 1:
        _run(["reconstructPar", "-latestTime"], path, path / "log.reconstructPar")
    _run(["postProcess", "-func", "writeCellCentres", "-latestTime"], path,
         path / "log.writeCellCentres")
    info = {"nproc": nproc, "mesh_wall_s": t_mesh,
            "solver_wall_s": time.time() - t1 + before.get("solver_wall_s", 0.0),
            "solver_cpu_s": (ru1.children_user + ru1.children_system)
            - (ru0.children_user + ru0.children_system) + before.get("solver_cpu_s", 0.0),
            "stopped_by": stopped_by, "settled_at": settled_at,
            "seed": before.get("seed") if restart else (None if seed is None else str(seed)),
            "nice": int(nice), "restarts": before.get("restarts", 0) + 1 if restart else 0}
    (path / "run.json").write_text(json.dumps(info, indent=1))
    return info


# ------------------------------------------------------------------------------ reader
_NUM = re.compile(r"^-?[\d.]+(e[-+]?\d+)?$", re.I)


def _read_internal(file: Path, n: int, vector: bool = False) -> np.ndarray:
    txt = file.read_text()
    m = re.search(r"internalField\s+(uniform|nonuniform)\s+", txt)
    if m is None:
        raise ValueError(f"{file}: no internalField")
    rest = txt[m.end():]
    if m.group(1) == "uniform":
        val = rest.split(";", 1)[0].strip()
        if vector:
            v = np.array([float(x) for x in val.strip("()").split()])
            return np.tile(v, (n, 1))
        return np.full(n, float(val))
    mm = re.match(r"List<(scalar|vector)>\s*(\d+)\s*\(", rest)
    count = int(mm.group(2))
    body = rest[mm.end():]
    end = body.index("\n)")
    data = body[:end]
    if vector:
        arr = np.array(data.replace("(", " ").replace(")", " ").split(), dtype=float).reshape(-1, 3)
    else:
        arr = np.array(data.split(), dtype=float)
    if len(arr) != count or count != n:
        raise ValueError(f"{file}: {len(arr)} values, expected {n}")
    return arr


def _latest_time(path: Path) -> Path:
    times = []
    for d in path.iterdir():
        try:
            times.append((float(d.name), d))
        except ValueError:
            continue
    return max(times)[1]


def _log_figures(log: Path) -> dict:
    txt = log.read_text()
    res = {}
    for fld in ("Ux", "Uy", "Uz", "p_rgh", "T", "k", "epsilon"):
        vals = re.findall(rf"Solving for {fld}, Initial residual = ([\d.eE+-]+)", txt)
        if vals:
            res[fld] = float(vals[-1])
    times = re.findall(r"^Time = ([\d.eE+-]+)", txt, re.M)
    courant = re.findall(r"^Courant Number mean: ([\d.eE+-]+) max: ([\d.eE+-]+)", txt, re.M)
    steps = re.findall(r"^deltaT = ([\d.eE+-]+)", txt, re.M)
    ex = re.findall(r"ExecutionTime = ([\d.]+) s\s+ClockTime = ([\d.]+) s", txt)
    version = re.search(r"Version:\s*(\S+)", txt)
    extra = {}
    if courant:
        co = np.array(courant, dtype=float)
        extra = {"time_steps": len(times), "end_time_s": float(times[-1]),
                 "courant_max": float(co[:, 1].max()), "courant_mean_of_max": float(co[:, 1].mean()),
                 "step_s_last": float(steps[-1]) if steps else None}
    # a restarted run appends to the log and counts its time from 0 again: add the parts
    exec_s = clock_s = 0.0
    last = (0.0, 0.0)
    for e, c in ((float(a), float(b)) for a, b in ex):
        if e < last[0]:
            exec_s, clock_s = exec_s + last[0], clock_s + last[1]
        last = (e, c)
    return {**extra, "final_initial_residuals": res,
            "iterations": (len(times) if courant else int(float(times[-1]))) if times else 0,
            "execution_time_s": exec_s + last[0] if ex else None,
            "clock_time_s": clock_s + last[1] if ex else None,
            "openfoam_version": version.group(1) if version else None}


def _patch_of(meta: dict, device: str) -> str | None:
    for d in meta.get("case", {}).get("devices", []):
        if d["name"] == device and len(d.get("in", [])) == 1:
            return d["in"][0]
    return None


def read_case(path, problem: Problem) -> dict:
    """The converged OpenFOAM answer on the twin's grid, and the per-device figures.

    Returns a dict with ``T`` and ``U`` (cell-centred arrays of the twin's shape, NaN in
    solid cells), ``racks`` (name, intake_temp_c, intake_max_c, exhaust_temp_c),
    ``cooling_units`` (name, return_temp_c, supply_temp_c, heat_removed_w). When the
    run did not settle and the iteration average exists (``TMean``, ``UMean``), the
    answer is that average, and each rack carries ``intake_swing_k``, the range of its
    intake mean over the averaging window.
    ``energy_budget``, the final residuals, iterations and times.
    """
    path = Path(path)
    g = problem.grid
    fluid = problem.fluid_mask
    nfl = int(fluid.sum())
    tdir = _latest_time(path)
    # cell order check: the centres OpenFOAM wrote against the twin's fluid cells
    labels = fluid_labels(problem)
    ijk = np.stack(np.unravel_index(labels, g.shape, order="F"), axis=1)
    centres = np.array(g.origin_m) + (ijk + 0.5) * np.array(g.spacing_m)
    cfile = tdir / "C"
    if cfile.exists():
        C = _read_internal(cfile, nfl, vector=True)
        err = float(np.abs(C - centres).max())
        if err > 1e-6 * max(g.spacing_m):
            raise ValueError(f"{path}: OpenFOAM's cells are not the twin's fluid cells in "
                             f"block order (largest centre mismatch {err:.3g} m)")
    averaged = (tdir / "TMean").exists() and (tdir / "UMean").exists()
    Tl = _read_internal(tdir / ("TMean" if averaged else "T"), nfl)
    Ul = _read_internal(tdir / ("UMean" if averaged else "U"), nfl, vector=True)
    T = np.full(g.shape, np.nan)
    U = np.full(g.shape + (3,), np.nan)
    T[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = Tl
    U[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = Ul
    fl = problem.fluid
    racks, units = [], []
    heat_in = heat_out = 0.0
    for dev in problem.devices:
        c_in, _, _ = port_faces(dev.intake)
        t_in = T[c_in[:, 0], c_in[:, 1], c_in[:, 2]]
        w_in = face_fractions(dev.intake, g)            # flow-weighted, as the twin
        if dev.kind == "rack":
            dT = dev.heat_w / (fl.rho_cp * dev.flow_m3_s) if dev.flow_m3_s > 0 else 0.0
            racks.append({"name": dev.name, "intake_temp_c": float(w_in @ t_in),
                          "intake_max_c": float(t_in.max()),
                          "exhaust_temp_c": float(w_in @ t_in + dT),
                          "flow_m3_s": dev.flow_m3_s, "air_heat_w": dev.heat_w})
            heat_in += dev.heat_w
        else:
            q = fl.rho_cp * dev.flow_m3_s * (float(w_in @ t_in) - dev.supply_temp_c)
            units.append({"name": dev.name, "return_temp_c": float(w_in @ t_in),
                          "supply_temp_c": dev.supply_temp_c, "heat_removed_w": q,
                          "airflow_m3_s": dev.flow_m3_s})
            heat_out += q
    heat_in += sum(s.power_w for s in problem.sources)
    figures = _log_figures(path / "log.solver")
    run = json.loads((path / "run.json").read_text()) if (path / "run.json").exists() else {}
    monitors = _monitor_means(path)
    history = {n: m.tolist() for n, m in monitors.items()}
    meta = json.loads((path / "case.json").read_text()) if (path / "case.json").exists() else {}
    if meta.get("transient") and run:
        run["stopped_by"] = (f"end time {float(tdir.name):g} s; the answer is the time average "
                             f"from {meta['average_from']:g} s")
    start = meta.get("average_from", 0) if averaged else float(tdir.name) - meta.get("stop_window", 300)
    # each rack intake over the averaging window: its swing, and the batch-means standard
    # error of its mean (the reference's own uncertainty)
    uncertainty = None
    for rec, dev in zip(racks, problem.racks):
        m = monitors.get(_patch_of(meta, dev.name))
        if m is None:
            continue
        sel = m[m[:, 0] > start, 1]
        if not len(sel):
            continue
        rec["intake_swing_k"] = float(sel.max() - sel.min())
        rec["intake_monitor_mean_c"] = float(sel.mean())
        if averaged and len(sel) >= 2 * BATCHES:
            b = batch_means(m[:, 0], m[:, 1], start)
            rec["intake_monitor_mean_c"] = b["mean"]
            rec["intake_se_k"] = b["se"]
            rec["intake_batch_means_c"] = b["batch_means"]
            rec["intake_batch_lag1"] = b["lag1"]
            uncertainty = {"method": "batch means", "batches": BATCHES, "window": b["window"],
                           "basis": "time_s" if meta.get("transient") else "iterations",
                           "samples": b["samples"]}
    # fixed-pressure returns: their flow is free, so their heat is read from the flux
    # monitors (time averages of sum phi and sum phi T over the averaging window)
    pressure = meta.get("pressure_patches") or []
    if pressure:
        flows, heats = _monitor_means(path, "flow_"), _monitor_means(path, "heat_")
        by_patch = {d["in"][0]: d["name"] for d in meta["case"]["devices"]
                    if d["kind"] != "rack" and len(d["in"]) == 1}
        heat_out = 0.0
        for u, dev in zip(units, problem.coolers):
            patch = next((p for p, n in by_patch.items() if n == dev.name), None)
            if patch not in pressure or patch not in flows:
                heat_out += u["heat_removed_w"]
                continue
            q = _time_mean(flows[patch], start)
            qt = _time_mean(heats[patch], start)
            u["return_flow_m3_s"] = q
            u["return_temp_c"] = qt / q if q else float("nan")
            u["heat_removed_w"] = fl.rho_cp * (qt - dev.flow_m3_s * dev.supply_temp_c)
            heat_out += u["heat_removed_w"]
    # the flux through each resistance's loss faces (along +axis; net, and the sum of
    # |phi|), averaged over the answer's window
    losses = []
    dps = {}
    if (tdir / "p_rgh").exists():      # the final time's (the time averages hold U and T)
        P = np.full(g.shape, np.nan)
        P[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = _read_internal(tdir / "p_rgh", nfl)
        dps = loss_pressure_differences(P, problem)
    nets, grosses = _monitor_means(path, "loss_"), _monitor_means(path, "lossmag_")
    for z in meta.get("case", {}).get("zones", []):
        if z.get("kind") != "resistance" or z["name"] not in nets:
            continue
        net = nets[z["name"]]
        rec = {"name": z["resistance"], "treatment": z.get("treatment", "zone"),
               "net_flow_m3_s": _time_mean(net, start) if (net[:, 0] > start).any()
               else float(net[-1, 1])}
        gross = grosses.get(z["name"])
        if gross is not None:
            rec["gross_flow_m3_s"] = (_time_mean(gross, start) if (gross[:, 0] > start).any()
                                      else float(gross[-1, 1]))
            rec["exchange_flow_m3_s"] = (rec["gross_flow_m3_s"] - abs(rec["net_flow_m3_s"])) / 2
        rec.update(dps.get(z["resistance"], {}))
        losses.append(rec)
    return {"T": T, "U": U, "racks": racks, "cooling_units": units, "averaged": averaged,
            "resistances": losses,
            "averaged_from": start if averaged else None, "uncertainty": uncertainty,
            "returns": meta.get("returns", "flow"), "transient": meta.get("transient"),
            "energy_budget": {"heat_in_w": heat_in, "heat_removed_w": heat_out,
                              "imbalance_frac": (heat_in - heat_out) / heat_in if heat_in else 0.0},
            "time": float(tdir.name), "run": run, "history": history, **figures}
