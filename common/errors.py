"""Errors the thermal core raises for bad input or a failed run.

Each carries one line that names the problem and the fix; the CLI prints it and exits
non-zero without a traceback.
"""


class TwinError(Exception):
    """Base of every error the project reports to a user as one line."""


class InputError(TwinError, ValueError):
    """Bad input: caught before any work starts."""


class MemoryLimitError(InputError):
    """A grid that would not fit in the chosen device's memory."""


class DivergenceError(TwinError, RuntimeError):
    """A run that blew up (NaN or runaway velocity); no results are written."""


class BackendUnavailable(TwinError, RuntimeError):
    """The requested backend cannot run on this machine (and why)."""
