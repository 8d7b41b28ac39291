"""Benchmark output: metadata (device, driver, versions, date, git revision), JSON, Markdown."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
MESHES = REPO / "meshes"


def _git(*args) -> str | None:
    """Read-only git query (never touches the index: no optional locks)."""
    try:
        out = subprocess.run(["git", "--no-optional-locks", *args], cwd=REPO,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _version(dist: str) -> str | None:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return None


def _gpu_info() -> dict | None:
    """Name, memory, driver and runtime of GPU 0, or None (never raises)."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return None
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        drv = cupy.cuda.runtime.driverGetVersion()
        rt = cupy.cuda.runtime.runtimeGetVersion()
        return {"name": name, "memory_bytes": int(props["totalGlobalMem"]),
                "cuda_driver_version": f"{drv // 1000}.{(drv % 1000) // 10}",
                "cuda_runtime_version": f"{rt // 1000}.{(rt % 1000) // 10}",
                "compute_capability": f"{props['major']}.{props['minor']}"}
    except Exception:
        return None


def metadata(opts) -> dict:
    from .targets import cpu_model
    rev = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    try:
        import numba
        threads = numba.config.NUMBA_NUM_THREADS
    except Exception:  # pragma: no cover
        threads = None
    mem = None
    try:
        mem = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_revision": rev, "git_dirty": bool(dirty) if dirty is not None else None,
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks", *sys.argv[1:]]),
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(opts).items()},
        "host": {"node": platform.node(), "platform": platform.platform(), "cpu": cpu_model(),
                 "logical_cpus": os.cpu_count(), "memory_bytes": mem},
        "gpu": _gpu_info(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scipy": _version("scipy"), "numba": _version("numba"),
                     "numba-cuda": _version("numba-cuda"),
                     "cupy": (_version("cupy-cuda12x") or _version("cupy-cuda13x")
                              or _version("cupy")),
                     "dc-twin": _version("dc-twin")},
        "numba_num_threads": threads,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "twin_cpu_threads": os.environ.get("TWIN_CPU_THREADS"),
        "load_average_start": list(os.getloadavg()),
    }


def write_json(results: dict, path: Path):
    """The results as JSON (non-finite numbers as null: :func:`twin.outputs.files.json_text`)."""
    from twin.outputs.files import json_text
    path.write_text(json_text(results, indent=1) + "\n")


def benchmark_parser(module: str, doc: str, facility: str | None = None):
    """The argument parser of ``python -m benchmarks.<module>``: its description the first
    paragraph of the module's docstring ``doc``; with ``facility``, the option
    ``--facility`` (default ``meshes/<facility>``)."""
    import argparse
    ap = argparse.ArgumentParser(prog=f"python -m benchmarks.{module}",
                                 description=doc.split("\n\n")[0])
    if facility:
        ap.add_argument("--facility", default=str(MESHES / facility))
    return ap


def hall_arguments(ap, halls: str) -> None:
    """The options every A/B benchmark on the shipped halls takes: ``--halls`` (comma
    separated, default ``halls``), ``--cell`` [m], ``--out``, ``--stem`` and ``--backend``."""
    ap.add_argument("--halls", default=halls)
    ap.add_argument("--cell", type=float, default=0.2)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--stem", default=None)
    ap.add_argument("--backend", default="numba-cpu",
                    help="backend of the solves (numba-cpu, numba-cuda, cupy)")


def hall_problem(hall: str, cell_m: float):
    """The :class:`kernels.Problem` of the first hall of ``meshes/<hall>.toml`` at
    ``cell_m`` [m]."""
    from twin.facility import load_facility
    from twin.thermal.mesh import mesh_hall
    fac = load_facility(MESHES / f"{hall}.toml")
    return mesh_hall(fac, fac.halls[0].name, cell_m=cell_m)[0]


def hall_benchmark_start(ap, argv):
    """The options ``argv`` parsed by ``ap`` (with :func:`hall_arguments`), their backend,
    the load average now and the halls asked for (``--halls``, comma separated)."""
    a = ap.parse_args(argv)
    from kernels.backend import get_backend
    return a, get_backend(a.backend), os.getloadavg(), [h for h in a.halls.split(",") if h]


def hall_stem(a, backend, name: str, date: str) -> str:
    """The results' file stem: ``--stem``, else ``<name>-<date>`` (``<name>-gpu-<date>``
    on a GPU)."""
    return a.stem or (f"{name}-{date}" if not backend.is_gpu else f"{name}-gpu-{date}")


def hall_meta(schema: str, backend, load_before, **extra) -> dict:
    """The metadata of an A/B benchmark on the shipped halls: schema, date, device,
    backend, float32, the load average before and now, the core count, and ``extra``."""
    import datetime as _dt
    return {"schema": schema, "date": _dt.date.today().isoformat(), "device": backend.device,
            "backend": backend.name, "dtype": "float32", **extra,
            "load_before": list(load_before), "load_after": list(os.getloadavg()),
            "cpu_count": os.cpu_count()}


def write_hall_benchmark(out: Path, stem: str, meta: dict, records: list,
                         lines: list[str]) -> None:
    """``<out>/<stem>.json`` (meta and records) and ``<out>/<stem>.md`` (``lines``), each
    written atomically; the table is printed."""
    from twin.outputs.files import atomic_write
    from twin.outputs.files import write_json as write_json_atomic
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / f"{stem}.json", {"meta": meta, "records": records})
    text = "\n".join(lines) + "\n"
    atomic_write(out / f"{stem}.md", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    print("\n".join(lines))


# ---------------------------------------------------------------------- Markdown
def _f(x, fmt="{:.3g}", none="-"):
    if x is None:
        return none
    try:
        if isinstance(x, float) and not np.isfinite(x):
            return none
    except TypeError:
        pass
    return fmt.format(x)


def _threads(s: dict) -> str:
    """Thread column: ``1 (stencils 2)`` where the stencil updates use more threads."""
    t, st = s.get("threads"), s.get("stencil_threads")
    if not t:
        return "-"
    return f"{t} (stencils {st})" if st and st != t else str(t)


def _table(header, rows) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def markdown(results: dict) -> str:
    m = results["meta"]
    gpu = m.get("gpu") or {}
    v = m["versions"]
    lines = [f"# dc-twin benchmarks, {m['date_utc'][:10]}", ""]
    lines += [
        f"* date (UTC): {m['date_utc']}; git revision `{m.get('git_revision') or 'unknown'}`"
        + (" (with uncommitted changes)" if m.get("git_dirty") else ""),
        f"* host: {m['host']['cpu']}, {m['host']['logical_cpus']} logical CPUs, "
        f"{_f((m['host'].get('memory_bytes') or 0) / 2**30, '{:.0f}')} GiB; "
        f"{m['host']['platform']}",
        f"* GPU: {gpu.get('name', 'none')}"
        + (f", driver (CUDA) {gpu['cuda_driver_version']}, runtime {gpu['cuda_runtime_version']}"
           if gpu else ""),
        f"* versions: python {v['python']}, numpy {v['numpy']}, scipy {v['scipy']}, "
        f"numba {v['numba']}, numba-cuda {v.get('numba-cuda') or '-'}, cupy {v.get('cupy') or '-'}",
        f"* Numba threads available {m.get('numba_num_threads')}, threading layer "
        f"{m.get('numba_threading_layer', '-')}, OMP_WAIT_POLICY={m.get('omp_wait_policy')}; "
        f"load average at start {', '.join(f'{x:.2f}' for x in m['load_average_start'])}, "
        f"at end {', '.join(f'{x:.2f}' for x in m.get('load_average_end', []))}",
        f"* command: `{m['command']}`", ""]
    cb = results.get("copy_bandwidth", {})
    if cb:
        lines += ["## Copy bandwidth (measured in this run)", ""]
        rows = []
        for dev, c in cb.items():
            extra = (f"; Numba parallel copy {c['numba_parallel_copy_B_s'] / 1e9:.2f} GB/s"
                     if c.get("numba_parallel_copy_B_s") else "")
            rows.append([dev, c["method"], _f(c["bytes"] / 2**20, "{:.0f}"),
                         _f(c["bandwidth_B_s"] / 1e9, "{:.2f}") + extra])
        lines += _table(["device", "method", "MiB moved", "GB/s"], rows) + [""]
    if results.get("ratios"):
        lines += ["## Numba CPU against the plain NumPy reference "
                  "(same step, same start state)", ""]
        rows = [[r["case"], r["cells"], r["numba_dtype"], _f(r["numpy_step_s"] * 1e3, "{:.1f}"),
                 _f(r["numba_step_s"] * 1e3, "{:.1f}"), _f(r["step_ratio"], "{:.1f}x"),
                 _f(r["explicit_stages_ratio"], "{:.1f}x"), _f(r["projection_ratio"], "{:.1f}x"),
                 f"{r['numpy_cg_iterations']:.1f} / {r['numba_cg_iterations']:.1f}",
                 "yes" if r["target_10x_met"] else "no"]
                for r in results["ratios"]]
        lines += _table(["case", "cells", "Numba dtype", "NumPy ms", "Numba ms", "step ratio",
                         "explicit stages", "projection", "CG it NumPy / Numba", ">= 10x"],
                        rows) + [""]
    if results.get("steps"):
        lines += ["## Full solver steps", ""]
        rows = [[s["backend"], s["dtype"], s["case"], s["cells"], _threads(s),
                 _f(s["median_s"] * 1e3, "{:.2f}"), _f(s["min_s"] * 1e3, "{:.2f}"),
                 _f(s["cell_updates_per_s"] / 1e6, "{:.2f}"),
                 _f(s["cg_iterations"], "{:.1f}"), _f(s["bytes_per_cell_counted"], "{:.0f}"),
                 _f(s["effective_bandwidth_B_s"] / 1e9, "{:.2f}"),
                 _f(s.get("copy_fraction"), "{:.1%}"), _f(s["memory_bytes_per_cell"], "{:.0f}"),
                 _f(s.get("step_peak_temporary_bytes_per_cell"), "{:.0f}")]
                for s in results["steps"]]
        lines += _table(["backend", "dtype", "case", "cells", "threads", "ms/step", "min ms",
                         "Mcell/s", "CG it", "B/cell counted", "GB/s", "of copy", "mem B/cell",
                         "peak temp B/cell"], rows) + [""]
        lines += ["Stage times (median per step, ms):", ""]
        stage_names = []
        for s in results["steps"]:
            for k in s.get("stages_s", {}):
                if k not in stage_names:
                    stage_names.append(k)
        rows = [[s["backend"], s["dtype"], s["case"]]
                + [_f(s.get("stages_s", {}).get(k, None) and s["stages_s"][k] * 1e3, "{:.2f}")
                   for k in stage_names] for s in results["steps"]]
        lines += _table(["backend", "dtype", "case"] + stage_names, rows) + [""]
    if results.get("scaling"):
        lines += ["## Scaling (synthetic room, n^3 cells)", ""]
        rows = []
        for key, d in results["scaling"].items():
            pts = d["points"]
            rows.append([key, " / ".join(f"{p['n']}^3: {p['step_s'] * 1e3:.1f} ms" for p in pts),
                         " ".join(_f(e, "{:.2f}") for e in d["exponents"]) or "-",
                         _f(d.get("exponent_fit"), "{:.2f}")])
        lines += _table(["target", "step time", "exponents p (time ~ cells^p)", "fit p"],
                        rows) + [""]
    if results.get("kernels"):
        lines += ["## Kernels alone", ""]
        rows = [[k["backend"], k["dtype"], k["case"].replace("synthetic-room-", "room "),
                 k["kernel"], _f(k["median_s"] * 1e3, "{:.3f}"), _f(k["min_s"] * 1e3, "{:.3f}"),
                 _f(k["cell_updates_per_s"] / 1e6, "{:.1f}"), _f(k["bytes_per_cell"], "{}"),
                 _f(k["effective_bandwidth_B_s"] and k["effective_bandwidth_B_s"] / 1e9, "{:.2f}"),
                 _f(k.get("copy_fraction"), "{:.1%}")]
                for k in results["kernels"]]
        lines += _table(["backend", "dtype", "case", "kernel", "ms", "min ms", "Mcell/s", "B/cell",
                         "GB/s", "of copy"], rows) + [""]
    if results.get("steady"):
        lines += ["## Steady state", ""]
        rows = [[s["backend"], s["dtype"], s["case"], s["cells"],
                 "estimated" if s.get("estimated") else ("yes" if s.get("converged") else "no"),
                 s.get("mode") or "-", s["steps"], _f(s["wall_s"], "{:.1f}"),
                 _f(s.get("cell_updates_per_s") and s["cell_updates_per_s"] / 1e6, "{:.2f}"),
                 _f(s.get("energy_imbalance"), "{:.2e}")]
                for s in results["steady"]]
        lines += _table(["backend", "dtype", "case", "cells", "converged", "mode", "steps",
                         "wall s", "Mcell-steps/s", "heat imbalance"], rows) + [""]
    lines += campus_markdown(results.get("campus_day"))
    if results.get("skipped"):
        lines += ["## Skipped", ""]
        lines += [f"* {s['backend']}" + (f"/{s['dtype']}" if s.get("dtype") else "")
                  + (f" on {s['case']}" if s.get("case") else "") + f": {s['reason']}"
                  for s in results["skipped"]] + [""]
    if results.get("notes"):
        lines += ["## Notes", ""] + [f"* {n}" for n in results["notes"]] + [""]
    return "\n".join(lines)


def campus_markdown(cd: dict | None) -> list[str]:
    """Markdown lines of the campus-day section (``benchmarks.campus``)."""
    lines: list[str] = []
    if cd and cd.get("runs"):
        lines += [f"## Campus day (twin run loop on {cd['facility']})", "",
                  f"{cd['hours']:g} h at {cd['step_s'] / 3600:g} h steps, {cd['cell_m']:g} m "
                  "cells, design rack airflow; the twin solves each distinct hall once and lets "
                  "it stand for its identical copies. The plant (chillers, towers, dry coolers, "
                  "pumps) keeps the facility's design sizes whatever the number of halls run, so "
                  "the PUE of a partial campus carries the fixed losses of the whole plant.", ""]
        rows = [[r["backend"], r["halls"], r["distinct_halls"], f"{r['cells_solved']:,}",
                 f"{r['cells_represented']:,}", r["steps"], _f(r["wall_s"], "{:.1f}"),
                 _f(r["wall_s_per_simulated_h"], "{:.2f}"),
                 f"{r['thermal_solves'].get('flow_solves', 0)} / "
                 f"{r['thermal_solves'].get('response_builds', 0)} / "
                 f"{r['thermal_solves'].get('energy_solves', 0)}",
                 _f(r.get("pue"), "{:.3f}")]
                for r in cd["runs"]]
        lines += _table(["backend", "halls", "distinct", "cells solved", "cells represented",
                         "steps", "wall s", "wall s per sim. h",
                         "flow / response / heat solves", "PUE"], rows) + [""]
        for be, pts in (cd.get("scaling") or {}).items():
            lines += [f"* {be}: " + "; ".join(
                f"{p['halls']} hall(s) {p['wall_s']:.1f} s ({p['relative']:.2f}x)" for p in pts)]
        lines += [f"* {s['backend']}" + (f" ({s['halls']} halls)" if s.get("halls") else "")
                  + f": {s['reason']}" for s in cd.get("skipped", [])] + [""]
    elif cd:
        lines += [f"Campus day: {cd['status']} ({cd.get('reason', '')}).", ""]
    return lines


def write_markdown(results: dict, path: Path):
    path.write_text(markdown(results))


def default_stem(results: dict) -> str:
    """``cpu-<date>`` when only CPU backends ran, else ``<gpu-name>-<date>``."""
    date = results["meta"]["date_utc"][:10]
    ran = {s["backend"] for s in results.get("steps", [])} | {
        t["backend"] for t in results.get("targets", [])}
    gpu = (results["meta"].get("gpu") or {}).get("name")
    if ran & {"numba-cuda", "cupy"} and gpu:
        slug = "".join(c if c.isalnum() else "-" for c in gpu.lower()).strip("-")
        while "--" in slug:
            slug = slug.replace("--", "-")
        return f"{slug}-{date}"
    return f"cpu-{date}"
