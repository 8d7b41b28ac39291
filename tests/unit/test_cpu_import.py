"""Importing the CPU backend's module has no side effects (issue #19); Numba's wait policy
and the check of its cache happen when the backend is made or a driver first compiles."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# run with -B (Python itself writes no bytecode) and without OMP_WAIT_POLICY
_CHILD = r"""
import json, os, sys
from pathlib import Path

import numpy as np

cache = Path(sys.argv[1])


def files():
    if not cache.is_dir():
        return None
    return sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in cache.iterdir())


env, before = dict(os.environ), files()
from kernels import cpu
out = {"environ_kept": dict(os.environ) == env, "cache_kept": files() == before,
       "policy_after_import": os.environ.get("OMP_WAIT_POLICY")}
Tn = np.zeros((2, 2, 2))
cpu.apply_sources(Tn, np.array([[1, 0, 1]], np.int64), np.array([2.0]), 0.5)
out["policy_after_call"] = os.environ.get("OMP_WAIT_POLICY")
out["added"] = float(Tn[1, 0, 1])
print(json.dumps(out))
"""


def test_importing_the_cpu_drivers_changes_nothing():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    run = subprocess.run([sys.executable, "-B", "-c", _CHILD,
                          str(ROOT / "kernels" / "__pycache__")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    rec = json.loads(run.stdout.strip().splitlines()[-1])
    assert rec["environ_kept"], "importing kernels.cpu changed os.environ"
    assert rec["cache_kept"], "importing kernels.cpu changed kernels/__pycache__"
    assert rec["policy_after_import"] is None
    # a driver called directly, without the backend, readies the process first
    assert rec["policy_after_call"] == "PASSIVE"
    assert rec["added"] == 1.0


def test_the_cpu_backend_readies_numba():
    from kernels import cpu
    from kernels.backend import get_backend
    get_backend("numba-cpu")
    assert cpu._prepared
    assert os.environ.get("OMP_WAIT_POLICY")
