"""``python -m benchmarks.validation``: run the OpenFOAM cross-check cases.

    python -m benchmarks.validation list
    python -m benchmarks.validation run small-hall-hi small-hall-lo [--work /tmp/of] [--nproc 2]
    python -m benchmarks.validation run --all --twin-only       # refresh the twin's side
    python -m benchmarks.validation run small-hall-lo --openfoam-only --steady --nice 5
    python -m benchmarks.validation run small-hall-lo --openfoam-only --nice 5 \
        --seed /tmp/dc-twin-openfoam/small-hall-lo-simple/3000  # transient from SIMPLE
    python -m benchmarks.validation run small-hall-lo-pressure-returns --seed ...  # experiment
    python -m benchmarks.validation run slab-ceiling-hi --openfoam-only --resistances zone4
    python -m benchmarks.validation table                        # the figures, one line a case
    python -m benchmarks.validation diff small-hall-lo small-hall-lo-pressure-returns
    python -m benchmarks.validation flows ai-hall-lo             # door and tile flows, both codes

OpenFOAM v1912 must be installed (``apt-get install openfoam``) for the OpenFOAM side.
Results go to ``benchmarks/validation/results/<case>.json`` (atomically).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .crosscheck import ALL_CASES, CASES, load_result, result_path, run_case, twin_path, variant
from .foamcase import RESISTANCE_TREATMENTS


def _table(variant_: str = "") -> list[str]:
    rows = [f"{'case':24s} {'cells':>8s} {'OF it':>6s} {'OF cpu s':>9s} {'twin cpu s':>10s} "
            f"{'ratio':>6s} {'RMS K':>6s} {'max K':>6s}  worst rack"]
    for name in CASES:
        p = result_path(name)
        if not p.exists():
            rows.append(f"{name:24s} (not run)")
            continue
        if variant_ and not twin_path(name, variant_).exists():
            continue
        r = load_result(name, variant_)
        of, tw, cmp_ = r.get("openfoam", {}), r.get("twin", {}), r.get("comparison", {})
        rows.append(f"{name:24s} {r['cells']:8d} {of.get('iterations', 0):6d} "
                    f"{of.get('execution_time_s') or 0:9.0f} {tw.get('cpu_s') or 0:10.1f} "
                    f"{cmp_.get('openfoam_cpu_over_twin_cpu') or 0:6.1f} "
                    f"{cmp_.get('rms_k', float('nan')):6.2f} {cmp_.get('max_abs_k', float('nan')):6.2f}"
                    f"  {cmp_.get('worst_rack', '')} ({cmp_.get('worst_k', float('nan')):+.2f} K)")
    return rows


def _diff(a: str, b: str) -> list[str]:
    """Per-rack intake means of two stored references, B - A, with the combined standard
    error ``sqrt(se_A^2 + se_B^2)`` (independent runs)."""
    ra, rb = (json.loads(result_path(n).read_text())["openfoam"] for n in (a, b))
    sb = {x["name"]: x for x in rb["racks"]}
    rows = [f"{'rack':10s} {a[:18]:>18s} {b[:18]:>18s} {'B - A':>7s} {'SE':>5s} {'z':>6s}"]
    for x in ra["racks"]:
        y = sb[x["name"]]
        d = y["intake_temp_c"] - x["intake_temp_c"]
        se = (x.get("intake_se_k", 0.0) ** 2 + y.get("intake_se_k", 0.0) ** 2) ** 0.5
        rows.append(f"{x['name']:10s} {x['intake_temp_c']:12.2f} +-{x.get('intake_se_k', 0):4.2f} "
                    f"{y['intake_temp_c']:12.2f} +-{y.get('intake_se_k', 0):4.2f} {d:+7.2f} "
                    f"{se:5.2f} {d / se if se else float('inf'):+6.1f}")
    for x, y in zip(ra["cooling_units"], rb["cooling_units"]):
        rows.append(f"{x['name']:10s} return {x['return_temp_c']:.2f} / {y['return_temp_c']:.2f} degC, "
                    f"return flow {x.get('return_flow_m3_s', x['airflow_m3_s']):.3f} / "
                    f"{y.get('return_flow_m3_s', y['airflow_m3_s']):.3f} m3/s")
    return rows


def _flows(name: str, variant_: str = "") -> list[str]:
    """The flow through each loss face group (doors, tiles), the reference's and the twin's:
    net along +axis and the exchange that crosses both ways [m3/s]."""
    r = load_result(name, variant_)
    of = {x["name"]: x for x in r.get("openfoam", {}).get("resistances", [])}
    tw = {x["name"]: x for x in r.get("twin", {}).get("resistances", [])}
    if not of and not tw:
        return [f"{name}: no loss face flows stored (the hall has no tiles or doors, or its "
                "answers were stored before they were recorded: run the case again)"]
    nan = float("nan")
    rows = [f"{'loss faces':28s} {'OF net':>8s} {'twin net':>8s} {'OF exch':>8s} {'twin exch':>9s}"]
    for n in sorted(set(of) | set(tw)):
        a, b = of.get(n, {}), tw.get(n, {})
        rows.append(f"{n:28s} {a.get('net_flow_m3_s', nan):8.3f} {b.get('net_flow_m3_s', nan):8.3f} "
                    f"{a.get('exchange_flow_m3_s', nan):8.3f} {b.get('exchange_flow_m3_s', nan):9.3f}")
    return rows


def _diagnose(a) -> int:
    from twin.outputs.files import atomic_write

    from .diagnose import diagnose, report_lines
    unknown = [n for n in a.cases if n not in ALL_CASES]
    if unknown:
        print(f"error: unknown case(s) {', '.join(unknown)}; choose from {', '.join(ALL_CASES)}",
              file=sys.stderr)
        return 2
    missing = [n for n in a.cases if not (Path(a.work) / n).is_dir()]
    if missing:
        print(f"error: no OpenFOAM case folder {Path(a.work) / missing[0]}; run "
              f"'python -m benchmarks.validation run {missing[0]} --work {a.work}' first, "
              "or give --work", file=sys.stderr)
        return 2
    lines = []
    for n in a.cases:
        for model in a.turbulence or [None]:
            d = diagnose(ALL_CASES[n], a.work, model=model, average_s=a.average_s,
                         max_steps=a.max_steps,
                         progress=lambda m: print(m, file=sys.stderr, flush=True))
            lines += report_lines(d)
    text = "\n".join(lines)
    if a.out:
        atomic_write(a.out, lambda tmp: tmp.write_text(text + "\n"))
        print(f"wrote {a.out}")
    else:
        print(text)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.validation")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    run = sub.add_parser("run")
    run.add_argument("cases", nargs="*")
    run.add_argument("--all", action="store_true")
    run.add_argument("--work", default="/tmp/dc-twin-openfoam")
    run.add_argument("--nproc", type=int, default=1)
    run.add_argument("--max-iterations", type=int, default=None,
                     help="SIMPLE cap instead of the case's (the average is over its second half)")
    run.add_argument("--steady", action="store_true",
                     help="SIMPLE for a case whose reference is a transient (the seed; "
                          "stored as <case>-simple.json)")
    run.add_argument("--seed", type=Path, default=None,
                     help="a time folder of a finished run on the same mesh to start from")
    run.add_argument("--nice", type=int, default=0, help="the solver's niceness")
    run.add_argument("--extend", type=float, default=None, metavar="END_S",
                     help="march a finished transient in --work on to END_S seconds")
    run.add_argument("--read-only", action="store_true",
                     help="read the finished OpenFOAM case in --work again (no run)")
    run.add_argument("--turbulence", choices=["chen-xu", "k-epsilon"], default=None,
                     help="the twin's closure (default Chen-Xu); not the default: stored as "
                          "<case>-twin-<variant>.json")
    run.add_argument("--answer", choices=["flow-mean", "time-mean"], default="flow-mean",
                     help="the twin's answer: the heat at the mean flow, or the "
                          "temperature's time mean (kernels/time_mean.py)")
    run.add_argument("--average-s", type=float, default=None,
                     help="seconds a time-mean answer averages (default: the kernels')")
    run.add_argument("--max-steps", type=int, default=None,
                     help="cap of the twin's steady solve (default the solver's)")
    run.add_argument("--resistances", choices=RESISTANCE_TREATMENTS, default=None,
                     help="state the reference's loss faces (tiles, doors) this way instead "
                          "of the case's (an experiment: stored as <case>-<treatment>.json)")
    g = run.add_mutually_exclusive_group()
    g.add_argument("--twin-only", action="store_true")
    g.add_argument("--openfoam-only", action="store_true")
    tab = sub.add_parser("table")
    tab.add_argument("--turbulence", choices=["chen-xu", "k-epsilon"], default=None)
    tab.add_argument("--answer", choices=["flow-mean", "time-mean"], default="flow-mean")
    dif = sub.add_parser("diff")
    dif.add_argument("a")
    dif.add_argument("b")
    flo = sub.add_parser("flows", help="the flow through each door and tile group, both codes")
    flo.add_argument("case")
    flo.add_argument("--turbulence", choices=["chen-xu", "k-epsilon"], default=None)
    flo.add_argument("--answer", choices=["flow-mean", "time-mean"], default="flow-mean")
    dia = sub.add_parser("diagnose", help="where the twin and a finished OpenFOAM case differ")
    dia.add_argument("cases", nargs="+")
    dia.add_argument("--work", default="/tmp/dc-twin-openfoam",
                     help="the folder holding the finished OpenFOAM case folders")
    dia.add_argument("--turbulence", action="append", choices=["chen-xu", "k-epsilon"],
                     help="the twin's closure (repeat for both; default the case's)")
    dia.add_argument("--average-s", type=float, default=0.0,
                     help="march on in real time from the answer and average the intakes")
    dia.add_argument("--max-steps", type=int, default=None,
                     help="cap of the twin's steady solve (default the solver's)")
    dia.add_argument("--out", type=Path, default=None, help="write the Markdown here")
    docs = sub.add_parser("docs")
    docs.add_argument("--no-pictures", action="store_true")
    a = ap.parse_args(argv)
    if a.cmd == "list":
        for c in ALL_CASES.values():
            print(f"{c.name:24s} {c.cell_m:4.2f} m  {c.description}")
        return 0
    if a.cmd == "diff":
        print("\n".join(_diff(a.a, a.b)))
        return 0
    if a.cmd == "flows":
        if a.case not in ALL_CASES or not result_path(a.case).exists():
            print(f"error: no stored result for case '{a.case}'; run it first "
                  "(python -m benchmarks.validation run CASE)", file=sys.stderr)
            return 2
        print("\n".join(_flows(a.case, variant(a.turbulence, a.answer))))
        return 0
    if a.cmd == "table":
        print("\n".join(_table(variant(a.turbulence, a.answer))))
        return 0
    if a.cmd == "diagnose":
        return _diagnose(a)
    if a.cmd == "docs":
        from .pictures import write_docs
        print(f"wrote {write_docs(render=not a.no_pictures)}")
        return 0
    names = list(CASES) if a.all else a.cases
    unknown = [n for n in names if n not in ALL_CASES]
    if unknown or not names:
        print(f"error: unknown or no case(s) {', '.join(unknown) or '(none)'}; "
              f"choose from {', '.join(ALL_CASES)}", file=sys.stderr)
        return 2
    for n in names:
        run_case(n, Path(a.work), nproc=a.nproc, twin=not a.openfoam_only,
                 max_iterations=a.max_iterations, seed=a.seed, nice=a.nice,
                 steady=a.steady, extend_to_s=a.extend, read_only=a.read_only,
                 openfoam=not a.twin_only, turbulence=a.turbulence, answer=a.answer,
                 average_s=a.average_s, max_steps=a.max_steps, resistances=a.resistances,
                 progress=lambda m: print(m, file=sys.stderr, flush=True))
    print("\n".join(_table(variant(a.turbulence, a.answer))))
    return 0


def _main_closing_pipes(argv=None) -> int:
    """:func:`main`, quiet when the reader of its output goes away (``... | head``): the
    recipe of the Python documentation ("Note on SIGPIPE", module ``signal``)."""
    try:
        code = main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(_main_closing_pipes())
