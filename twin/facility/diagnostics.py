"""Problems found in a facility (:class:`Diagnostic`, :class:`FacilityError`) and the
helpers that word them."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from common.errors import InputError


# ----------------------------------------------------------------------------- problems
@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a facility: where it is and what to do about it."""

    severity: Literal["error", "warning"]
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.file, self.path) if p)
        return f"{self.severity}: {where}: {self.message}" if where else \
            f"{self.severity}: {self.message}"


class FacilityError(InputError):
    """A facility with errors; ``diagnostics`` holds every problem found (one per line)."""

    def __init__(self, diagnostics):
        self.diagnostics = list(diagnostics)
        errs = self.errors
        files = sorted({d.file for d in errs if d.file})
        head = f"{len(errs)} error{'s' if len(errs) != 1 else ''} in {', '.join(files) or 'facility'}"
        super().__init__(head + ":\n" + "\n".join(str(d) for d in self.diagnostics))

    @property
    def errors(self):
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self):
        return [d for d in self.diagnostics if d.severity == "warning"]


def _display(path) -> str:
    if path is None or path == "":
        return ""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def did_you_mean(word, choices) -> str:
    m = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{m[0]}'?" if m else ""


def _fmt(v):
    return repr(v) if isinstance(v, str) else ("a table" if isinstance(v, dict) else str(v))
