"""Shared test configuration.

Tests marked ``gpu`` (the marker is registered in ``pyproject.toml``) are skipped, with
the reason, when this machine has no GPU backend at all; each GPU test still skips on its
own when the one backend it needs is missing. Deselect them with ``-m "not gpu"``.

Test modules whose checks run in slow child processes (compiling kernels on a fresh
clone) may define ``start_early()`` and ``stop_early()``: the first is called once the
session has collected them, so the children work beside the tests that run before, the
second when the session ends.

``--update-golden`` stores new answers for the shipped facilities' steady solves
(``tests/regression/golden/``, see ``tests/regression/golden.py``) instead of comparing
with them.
"""
import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="store the shipped facilities' solves as the new golden answers "
                          "(tests/regression/golden/*.json) instead of comparing with them")


def _no_gpu_reason():
    """Why neither GPU backend can run here, or ``None`` when one can."""
    from kernels.backend import get_backend
    from common.errors import BackendUnavailable
    reasons = []
    for name in ("cupy", "numba-cuda"):
        try:
            get_backend(name)
            return None
        except BackendUnavailable as exc:
            reasons.append(f"{name}: {exc}")
    return "no GPU backend on this machine (" + "; ".join(reasons) + ")"


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not gpu_items:
        return
    reason = _no_gpu_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in gpu_items:
        item.add_marker(skip)


_EARLY_MODULES: list = []


def pytest_collection_finish(session):
    """Start the child processes of the collected modules that have ``start_early``."""
    if session.config.option.collectonly:
        return
    for item in session.items:
        mod = getattr(item, "module", None)
        if mod is not None and mod not in _EARLY_MODULES and hasattr(mod, "start_early"):
            _EARLY_MODULES.append(mod)
            mod.start_early()


def pytest_sessionfinish(session, exitstatus):
    for mod in _EARLY_MODULES:
        stop = getattr(mod, "stop_early", None)
        if stop is not None:
            stop()
    _EARLY_MODULES.clear()
