"""Stored answers ("golden" JSON) for the shipped facilities' steady solves.

``tests/regression/test_shipped_solve.py`` compares each solve it makes of a shipped hall
with the file ``tests/regression/golden/<facility>.json``: every rack's intake and exhaust
mean, every cooling unit's return and supply temperature must stay within
:data:`TOL_TEMP_K` (0.2 K) of the stored value, the hall's rack heat and heat in and out
within :data:`TOL_HEAT_REL` (0.1 %) of it. Each unit's removed heat and the heat balance's
imbalance are stored for reading, not compared (a unit's heat is its fixed flow times
return minus supply temperature, both compared; the imbalance is bounded by the test's
own assertion). A missing or unreadable file fails;
it is never created by a normal test run. To store new answers on purpose (after a
change that is meant to move them), run :data:`REFRESH_CMD` and commit the JSON files.

The files are written atomically (temporary file, then rename) with sorted keys,
temperatures rounded to 1e-4 K and heats to 0.1 W; a refresh that would store the same
values leaves the file (and its date and commit) as it was.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import subprocess
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
REPO = Path(__file__).resolve().parents[2]
SCHEMA = "dc-twin-golden/1"
TOL_TEMP_K = 0.2
TOL_HEAT_REL = 1e-3
REFRESH_CMD = "python -m pytest tests/regression/test_shipped_solve.py --update-golden"
MAX_LINES = 40       # moved values listed in a failure message before "... and N more"


def golden_path(facility: str) -> Path:
    """``small-hall.toml`` -> ``tests/regression/golden/small-hall.json``."""
    return GOLDEN_DIR / (Path(facility).stem + ".json")


def _t(x) -> float:
    return round(float(x), 4)


def _w(x) -> float:
    return round(float(x), 1)


def values(summary: dict) -> dict:
    """The compared outputs of a ``solve_hall`` summary, rounded, keyed by device name."""
    b = summary["energy_budget"]
    return {
        "racks": {r["name"]: {"intake_mean_c": _t(r["intake_temp_c"]),
                              "exhaust_mean_c": _t(r["exhaust_temp_c"])}
                  for r in summary["racks"]},
        "cooling_units": {u["name"]: {"return_temp_c": _t(u["return_temp_c"]),
                                      "supply_temp_c": _t(u["supply_temp_c"]),
                                      "heat_removed_w": _w(u["heat_removed_w"])}
                          for u in summary["cooling_units"]},
        "heat_balance": {"rack_heat_w": _w(b["rack_heat_w"]),
                         "heat_in_w": _w(b["heat_in_w"]),
                         "heat_out_w": _w(b["heat_out_w"]),
                         "imbalance_frac": float(f"{b['imbalance_frac']:.3e}")},
    }


def _git(*args) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numba
    import numpy
    return (f"{platform.node() or 'host'}: {cpu}, {os.cpu_count()} cores, "
            f"NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}, Python "
            f"{platform.python_version()}, numba {numba.__version__}, numpy {numpy.__version__}")


def document(facility: str, summary: dict, settings, case_note: str) -> dict:
    """The golden file's content: metadata and :func:`values`."""
    commit = _git("rev-parse", "HEAD") or "unknown"
    # uncommitted changes to what makes the answer (not to tests/ or documentation)
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", "kernels",
                      "twin", "meshes", "pyproject.toml"))
    return {
        "schema": SCHEMA,
        "facility": f"meshes/{Path(facility).name}",
        "hall": summary["hall"],
        "cell_m": summary["cell_m"],
        "cells": summary["cells"],
        "backend": summary["backend"],
        "solver_settings": dataclasses.asdict(settings),
        "state": case_note,
        "iterations": summary["iterations"],
        "converged": summary["converged"],
        "git_commit": commit + ("+uncommitted changes" if dirty else ""),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": _machine(),
        "tolerance": {"temp_k": TOL_TEMP_K, "heat_rel": TOL_HEAT_REL},
        "refresh": REFRESH_CMD,
        **values(summary),
    }


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n"


def write(path: Path, doc: dict) -> bool:
    """Store ``doc`` atomically; ``False`` (file untouched) when its values are already
    the stored ones."""
    try:
        old = json.loads(path.read_text())
        if all(old.get(k) == doc[k] for k in ("racks", "cooling_units", "heat_balance",
                                              "cell_m", "solver_settings", "state")):
            return False
    except (OSError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(dumps(doc))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return True


class GoldenMissing(Exception):
    """The golden file is missing or unreadable (one-line message naming the refresh)."""


def load(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text())
        if doc.get("schema") != SCHEMA or not isinstance(doc.get("racks"), dict):
            raise ValueError(f"not a {SCHEMA} file")
        return doc
    except (OSError, ValueError) as exc:
        rel = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        raise GoldenMissing(f"golden file {rel} is missing or unreadable "
                            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''});"
                            f" create it on purpose with: {REFRESH_CMD}") from None


def compare(golden: dict, current: dict) -> list[str]:
    """Lines naming each value that moved beyond its tolerance (largest first), each
    device missing on either side; empty when all hold."""
    moved, other = [], []
    tol_t = golden.get("tolerance", {}).get("temp_k", TOL_TEMP_K)
    tol_h = golden.get("tolerance", {}).get("heat_rel", TOL_HEAT_REL)
    for group, label in (("racks", "rack"), ("cooling_units", "cooling unit")):
        old, new = golden.get(group, {}), current[group]
        for name in sorted(set(old) - set(new)):
            other.append(f"{label} {name}: stored but no longer in the solve")
        for name in sorted(set(new) - set(old)):
            other.append(f"{label} {name}: in the solve but not stored")
        for name in sorted(set(old) & set(new)):
            for key, a in old[name].items():
                b = new[name].get(key)
                if b is None:
                    other.append(f"{label} {name} {key}: no longer reported")
                    continue
                if key.endswith("_c"):      # temperatures; heats (_w) are for reading
                    d = b - a
                    if not abs(d) <= tol_t:
                        moved.append((abs(d) / tol_t, f"{label} {name} {key[:-2]}: "
                                      f"{a:.4f} -> {b:.4f} degC ({d:+.4f} K, limit {tol_t:g} K)"))
    for key in ("rack_heat_w", "heat_in_w", "heat_out_w"):
        a, b = golden.get("heat_balance", {}).get(key), current["heat_balance"][key]
        if a is None:
            other.append(f"heat balance {key}: not stored")
            continue
        r = (b - a) / max(abs(a), 1.0)
        if not abs(r) <= tol_h:
            moved.append((abs(r) / tol_h, f"heat balance {key[:-2]}: {a / 1e3:.3f} -> "
                          f"{b / 1e3:.3f} kW ({100 * r:+.2f} %, limit {100 * tol_h:g} %)"))
    moved.sort(key=lambda m: -m[0])
    lines = other + [m[1] for m in moved]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"... and {len(lines) - MAX_LINES} more"]
    return lines


def failure_message(facility: str, path: Path, golden: dict, lines: list[str]) -> str:
    rel = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    return (f"{Path(facility).name}: {len(lines)} stored answer(s) moved beyond tolerance "
            f"(golden {rel}, made at {golden.get('git_commit', '?')[:12]} on "
            f"{golden.get('date', '?')}):\n  " + "\n  ".join(lines) +
            f"\nIf this change is intended, refresh the stored answers with: {REFRESH_CMD}")


if __name__ == "__main__":   # pragma: no cover - a pointer, not a second refresh path
    print(f"refresh the stored answers with: {REFRESH_CMD}")
