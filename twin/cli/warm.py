"""The kernels' first compilation, said out loud (:func:`twin.thermal.warmup.warm_up`).

Every command that solves prepares the kernels first, so that the first run tells the user
what the minutes are spent on, and the solve and run times it prints are their own. On a
terminal a spinner shows the note; in a log or a pipe it is a plain line on stderr, and
so is the time it took.
"""
from __future__ import annotations

import click

from twin.thermal.warmup import WARMUP_NOTE, warm_up


def prepare_kernels(console, backend) -> float:
    """Compile (or load) the kernels of ``backend``, telling ``console`` (stderr); the
    seconds it took. A quiet console says nothing."""
    plain = not console.is_terminal and not console.quiet
    if plain:
        click.echo(WARMUP_NOTE, err=True)
    with console.status(WARMUP_NOTE):
        ready_s = warm_up(backend)
    if plain:
        click.echo(f"kernels ready in {ready_s:.1f} s", err=True)
    return ready_s


def prepare_cpu_kernels(console, backend) -> float:
    """:func:`prepare_kernels` where ``backend`` resolves to the CPU: the studies' worker
    processes then load the compiled kernels from the disk cache instead of each compiling
    them at once. A GPU backend is left to the workers (no device context in this
    process). Returns 0 when nothing was done."""
    from kernels.backend import ALIASES, GPU_NAMES
    name = ALIASES.get(backend, backend)
    if name in GPU_NAMES:
        return 0.0
    if name == "auto":
        import importlib.util
        if importlib.util.find_spec("cupy") is not None:
            return 0.0          # "auto" may pick a GPU: leave it to the workers
    return prepare_kernels(console, "numba-cpu")
