"""Every backend's kernel set has every driver of :class:`kernels.protocol.KernelSet`
with the same argument names (issue #19: one contract, checked, not assumed)."""
from __future__ import annotations

import inspect
import os

import pytest

from kernels.protocol import CPU_ONLY, KernelSet


def _drivers():
    return [n for n, v in vars(KernelSet).items() if inspect.isfunction(v) and not n.startswith("_")]


def _params(fn) -> list[str]:
    fn = getattr(fn, "py_func", fn)
    names = list(inspect.signature(fn).parameters)
    return names[1:] if names and names[0] == "self" else names


def test_the_contract_lists_every_driver_the_solver_calls():
    import re
    from pathlib import Path
    used = set()
    for f in ("solver.py", "stages.py", "setup.py", "energy.py", "coarse.py"):
        text = (Path(__file__).resolve().parents[2] / "kernels" / f).read_text()
        used |= set(re.findall(r"\bk(?:ernels)?\.([a-z_]+)\(", text))
    assert len(used) > 15, used          # the scan found the calls
    missing = sorted(used - set(_drivers()) - set(CPU_ONLY))
    assert not missing, f"the solver calls drivers the protocol does not list: {missing}"


def test_cpu_backend_keeps_the_contract():
    from kernels import cpu
    for name in _drivers():
        assert hasattr(cpu, name), name
        assert _params(getattr(cpu, name)) == _params(getattr(KernelSet, name)), name
    for name in CPU_ONLY:
        assert hasattr(cpu, name), name


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") != "1" and
                    not __import__("importlib").util.find_spec("numba.cuda"),
                    reason="numba.cuda not importable")
def test_numba_cuda_backend_keeps_the_contract():
    from kernels.cuda_numba import NumbaCudaKernels
    for name in _drivers():
        assert hasattr(NumbaCudaKernels, name), name
        assert _params(getattr(NumbaCudaKernels, name)) == _params(getattr(KernelSet, name)), name
