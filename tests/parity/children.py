"""Checks that run in a child process: a fresh interpreter with its own environment
(``NUMBA_ENABLE_CUDASIM`` is read once, at import), started early by ``tests/conftest.py``
so that a fresh clone's kernel compilation overlaps the tests that run before."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Child:
    """``module.entry()`` of a test module in ``tests/parity`` run in a child process
    with ``env`` added to this one's; the child prints its records as its last line, in
    JSON."""

    def __init__(self, module: str, entry: str, env: dict):
        code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                f"import {module} as t; t.{entry}()")
        self.name = f"{module}.{entry}"
        self.proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, **env),
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self._records = None

    def records(self, timeout: float = 1800) -> dict:
        """The child's records (waits for it); a failed child fails the test with its
        error output."""
        if self._records is None:
            out, err = self.proc.communicate(timeout=timeout)
            if self.proc.returncode != 0:
                pytest.fail(f"{self.name} failed in its child process:\n{err[-4000:]}")
            self._records = json.loads(out.strip().splitlines()[-1])
        return self._records

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
