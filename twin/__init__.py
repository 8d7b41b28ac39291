"""dc-twin: a digital twin of AI data-center campuses with a GPU-accelerated thermal core.

From Python (``docs/api.md``): :func:`load`, :func:`with_changes`, :func:`solve`,
:func:`run`, :func:`run_sweep`, :func:`open_results` (:mod:`twin.api`); importing ``twin``
loads nothing else until they are used.
"""
__version__ = "0.1.0"

__all__ = ["load", "with_changes", "solve", "run", "run_sweep", "open_results", "__version__"]


def __getattr__(name):
    if name in ("load", "with_changes", "solve", "run", "run_sweep", "open_results", "Solution"):
        from twin import api
        return getattr(api, name)
    raise AttributeError(f"module 'twin' has no attribute {name!r}")
