"""``python -m benchmarks``: how fast each backend runs the thermal core, and how close to
the device's copy bandwidth.

Per backend (``numba-cpu``, ``numba-cuda``, ``cupy`` and the plain NumPy reference
``numpy``) and floating type:

* **kernels alone** on a synthetic room of ``n^3`` cells (``benchmarks.cases``): each
  driver once per repeat, median after warm-up; cell updates per second; bytes per cell
  counted from the arrays the kernel reads and writes (``benchmarks.counts``); effective
  bandwidth and its fraction of the copy bandwidth measured in the same run;
* **a full solver step** from the same developed start state on every backend, with the
  time of each named stage, the CG iterations, and the memory per cell (CuPy pool bytes on
  a GPU; arrays held by the solver, plus NumPy's peak temporaries, on the host);
* **scaling**: the sizes ascending (``--grow`` goes on doubling the cells until the memory
  or the per-backend ``--budget-s`` runs out) and the exponent ``p`` in ``time ~ cells^p``;
* **a shipped hall** (``meshes/<hall>.toml`` through ``twin.thermal.mesh.mesh_hall``): one step per
  backend, then steady state on the compiled backends (the NumPy one is estimated from
  its step time);
* the **Numba CPU / NumPy ratio** of the step (target: at least 10x).

Output: ``<out>/<stem>.json`` (all records, schema ``dc-twin-benchmarks/1``) and
``<out>/<stem>.md`` (tables), tagged with the device, driver, library versions, date and
git revision; ``<stem>`` is ``cpu-<date>`` or ``<gpu-name>-<date>``.

Clocks: ``time.perf_counter`` on the CPU, CUDA events on a GPU (host wall time beside).
On the CPU the OpenMP threads of Numba are made to sleep rather than spin while waiting
(``OMP_WAIT_POLICY=PASSIVE`` unless the environment says otherwise): on a shared machine
spinning threads cost milliseconds per parallel loop.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # before Numba starts OpenMP

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def _int_list(minimum: int, what: str):
    """argparse type: comma-separated integers, each at least ``minimum``."""
    def parse(text: str) -> tuple:
        try:
            vals = tuple(int(x) for x in text.split(",") if x.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'")
        if not vals or min(vals) < minimum:
            raise argparse.ArgumentTypeError(f"{what} are integers >= {minimum}")
        return vals
    return parse


_ints = _int_list(8, "sizes (cells a side)")
_counts = _int_list(1, "hall counts")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark the dc-twin thermal core (kernels, steps, scaling, steady state).")
    p.add_argument("--backend", default="all",
                   help="numba-cpu, numba-cuda, cupy, numpy, a comma list, or all (default)")
    p.add_argument("--sizes", type=_ints, default=(32, 64, 128),
                   help="synthetic room sizes, cells a side (default 32,64,128)")
    p.add_argument("--dtype", default="float64,float32",
                   help="floating types of the compiled backends (NumPy is always float64)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats (median reported)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs before timing")
    p.add_argument("--quick", action="store_true",
                   help="tiny grid, few repeats, short steady run (for CI)")
    p.add_argument("--threads", type=int, default=None,
                   help="Numba CPU threads (default: 1 below 200k cells, all above)")
    p.add_argument("--budget-s", type=float, default=600.0,
                   help="seconds per backend for the size ladder (default 600)")
    p.add_argument("--grow", action="store_true",
                   help="after the last size, keep doubling the cells while memory and the "
                        "budget allow")
    p.add_argument("--hall", default="small-hall", help="shipped hall for step and steady state")
    p.add_argument("--hall-cell-m", type=float, default=0.2,
                   help="cell size of the hall [m] (0.05-0.1 on a GPU)")
    p.add_argument("--hall-prep-steps", type=int, default=600,
                   help="steps from rest before the hall's steps are timed (a developed flow)")
    p.add_argument("--steady-max-steps", type=int, default=None,
                   help="cap on steady-state steps (default: the solver's)")
    p.add_argument("--steady-dtype", default="float32")
    p.add_argument("--no-steady", action="store_true", help="skip the steady-state run")
    p.add_argument("--no-kernels", action="store_true", help="skip the kernels-alone runs")
    p.add_argument("--campus", action="store_true",
                   help="also a day of meshes/ulsan-campus.toml per backend (twin run loop)")
    p.add_argument("--campus-halls", type=_counts, default=(1, 24),
                   help="campus of the first N halls, for each N (default 1,24)")
    p.add_argument("--campus-hours", type=float, default=24.0,
                   help="simulated hours of the campus run (default 24)")
    p.add_argument("--campus-cell-m", type=float, default=0.3,
                   help="cell size of the campus halls [m] (default 0.3)")
    p.add_argument("--campus-file", type=Path, default=None,
                   help="facility of the campus run (default meshes/ulsan-campus.toml)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    p.add_argument("--name", default=None, help="file stem (default cpu-<date> / <gpu>-<date>)")
    return p


def options_from_args(args):
    from .suite import Options
    from .targets import ALL_NAMES
    if args.backend == "all":
        backends = ALL_NAMES
    else:
        backends = tuple(b.strip() for b in args.backend.split(",") if b.strip())
        bad = [b for b in backends if b not in ALL_NAMES]
        if bad:
            raise SystemExit(f"unknown backend {', '.join(bad)}; choose from "
                             f"{', '.join(ALL_NAMES)} or all")
    dtypes = tuple(d.strip() for d in args.dtype.split(",") if d.strip())
    for d in dtypes + (args.steady_dtype,):
        if d not in ("float32", "float64"):
            raise SystemExit(f"dtype '{d}' must be float32 or float64")
    if args.repeats < 1 or args.warmup < 0:
        raise SystemExit("--repeats must be >= 1 and --warmup >= 0")
    if args.quick:
        return Options(backends=backends, sizes=(16,), dtypes=dtypes, repeats=2, warmup=1,
                       prep_steps=1, hall_prep_steps=min(args.hall_prep_steps, 5),
                       quick=True, threads=args.threads or 1, budget_s=60.0,
                       grow=False, hall=args.hall, hall_cell_m=max(args.hall_cell_m, 0.4),
                       steady=not args.no_steady, steady_dtype=args.steady_dtype,
                       steady_max_steps=args.steady_max_steps or 20, copy_mib=16,
                       kernels=not args.no_kernels, stage_steps=1, campus=args.campus,
                       campus_halls=args.campus_halls[:1], campus_hours=1.0,
                       campus_cell_m=max(args.campus_cell_m, 0.3),
                       campus_file=args.campus_file)
    return Options(backends=backends, sizes=args.sizes, dtypes=dtypes, repeats=args.repeats,
                   warmup=args.warmup, quick=False, threads=args.threads,
                   budget_s=args.budget_s, grow=args.grow, hall=args.hall,
                   hall_cell_m=args.hall_cell_m, hall_prep_steps=args.hall_prep_steps,
                   steady=not args.no_steady,
                   steady_dtype=args.steady_dtype, steady_max_steps=args.steady_max_steps,
                   kernels=not args.no_kernels, campus=args.campus,
                   campus_halls=args.campus_halls, campus_hours=args.campus_hours,
                   campus_cell_m=args.campus_cell_m, campus_file=args.campus_file)


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    opts = options_from_args(args)
    from . import report, suite
    results = suite.run(opts, log=lambda m: print(m, flush=True))
    results["notes"] = standard_notes(results) + results["notes"]
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.name or report.default_stem(results)
    jpath, mpath = args.out / f"{stem}.json", args.out / f"{stem}.md"
    report.write_json(results, jpath)
    report.write_markdown(results, mpath)
    print(f"wrote {jpath} and {mpath}")
    return 0


def standard_notes(results) -> list:
    m = results["meta"]
    notes = [
        "Times are medians of the repeats after warm-up; CPU times are wall time "
        "(time.perf_counter), GPU times CUDA events.",
        "Bytes per cell are counted from the arrays each kernel reads and writes "
        "(benchmarks/counts.py), each once per cell; the DCT and coarse-space parts of the "
        "preconditioner are timed but not counted, so a step's bandwidth is a lower bound.",
        "The NumPy reference (kernels/reference.py) is float64 and solves the pressure with "
        "the DCT-preconditioned CG alone. The solver adds a coarse-space correction on GPU "
        "backends (off on the CPU by default), so there the two take different CG iteration "
        "counts from the same state; both stop on the same divergence tolerance. The table "
        "gives the ratio of the whole step, of the explicit stages and of the projection.",
    ]
    if any((k.get("copy_fraction") or 0) > 1.0 for k in results.get("kernels", [])):
        notes.append("Fractions of copy bandwidth above 100% come from grids whose arrays fit "
                     "in the CPU caches (the copy is measured on arrays far larger than the "
                     "caches).")
    if not m.get("gpu"):
        la = m.get("load_average_start", [0])[0]
        notes.append(
            f"CPU run on a shared {m['host']['logical_cpus']}-core machine: other developers' "
            f"processes were running (load average {la:.2f} at the start, "
            f"{m.get('load_average_end', [0])[0]:.2f} at the end), so CPU figures are "
            "pessimistic and noisy; unless --threads was given, Numba ran its light loops "
            "(reductions, CG updates, Laplacian) on 1 thread below 200k cells and on "
            f"{m.get('numba_num_threads')} above, and its stencil updates (momentum, "
            "temperature) on all from 12k cells (the threads column), with "
            f"OMP_WAIT_POLICY={m.get('omp_wait_policy')}.")
    return notes


if __name__ == "__main__":
    sys.exit(main())
