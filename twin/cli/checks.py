"""Range checks of the command-line options, as click callbacks, and shared options.

A value out of range raises :class:`common.errors.InputError`, which the ``twin`` group
prints as one line (``error: --max-steps -5: ...``) with exit status 2, before any work.
"""
from __future__ import annotations

import functools
import math

import click

from common.errors import InputError

__all__ = ["ranged", "scheduler_option", "dashboard_option", "holds_output_folder",
           "rack_model_option", "phase_options"]


def ranged(lo=None, hi=None, *, lo_open=False, what="", integer=False):
    """A click callback refusing a value outside ``lo .. hi`` (``lo`` excluded when
    ``lo_open``); ``what`` says what the option is, for the message. ``None`` passes."""

    def check(ctx, param, value):
        if value is None:
            return value
        name = param.opts[0] if param is not None and param.opts else "value"
        f = (lambda v: f"{int(v):,}") if integer else (lambda v: f"{v:g}")
        if lo is not None and hi is not None:
            allowed = f"{'more than ' if lo_open else ''}{f(lo)} to {f(hi)}"
        elif lo is not None:
            allowed = f"{'more than' if lo_open else 'at least'} {f(lo)}"
        else:
            allowed = f"at most {f(hi)}"
        kind = "a whole number" if integer else "a number"
        bad = not math.isfinite(value) or (lo is not None and (value <= lo if lo_open else value < lo)) \
            or (hi is not None and value > hi)
        if bad:
            raise InputError(f"{name} {value:g}: {what + ' ' if what else ''}must be {kind} "
                             f"{'from ' if lo is not None and hi is not None else ''}{allowed}")
        return value

    return check


def scheduler_option(ctx, param, value):
    """Click callback for ``--scheduler``: a Dask address, checked before connecting."""
    if value is None:
        return value
    from twin.studies.sweep import check_scheduler_address
    return check_scheduler_address(value)


def dashboard_option(ctx, param, value):
    """Click callback for ``--dashboard HOST:PORT`` (the local cluster's dashboard)."""
    if value is None:
        return value
    from twin.studies.sweep import check_scheduler_address
    try:
        text = check_scheduler_address(value if "://" not in value else value)
    except InputError as exc:
        raise InputError(str(exc).replace("--scheduler", "--dashboard")
                         .replace("tcp://10.0.0.5:8786", "127.0.0.1:8787")) from None
    return text.split("://", 1)[-1]


def holds_output_folder(param: str = "out_dir", option: str = "--out"):
    """Decorator of a command (innermost, right above ``def``): the folder given in the
    keyword ``param`` is checked and locked (:mod:`twin.outputs.files`) before the command does
    any work, and released when it ends; nothing happens when the option is not given."""

    def deco(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            folder = kwargs.get(param)
            if not folder:
                return f(*args, **kwargs)
            import click

            from twin.outputs.files import command_line, output_folder
            with output_folder(folder, command_line(), option) as lock:
                for n in lock.notes:
                    click.echo(f"note: {n}", err=True)
                return f(*args, **kwargs)
        return wrapper

    return deco


def rack_model_option(f):
    """``--racks``: how a steady solve treats the racks (:data:`twin.thermal.racks.RACK_MODELS`)."""
    from twin.thermal.racks import RACK_MODELS
    return click.option(
        "--racks", "rack_model", type=click.Choice(RACK_MODELS), default="ite",
        show_default=True,
        help="ite: rack power and server airflow follow the inlet temperature (the rack model "
             "of twin run: fans, leakage, throttling); design: that power at the design "
             "airflow; fixed: design power and airflow (a black box).")(f)


def units_option(f):
    """``--units``: the cooling units' airflow in a steady solve
    (:data:`twin.thermal.aisles.UNIT_FLOWS`)."""
    from twin.thermal.aisles import DEFAULT_UNIT_FLOWS, UNIT_FLOWS
    return click.option(
        "--units", "units", type=click.Choice(UNIT_FLOWS), default=DEFAULT_UNIT_FLOWS,
        show_default=True,
        help="matched: the units of a sealed contained aisle (doors and roof) move its racks' "
             "airflow, as twin run does, the other units at design; design: every cooling "
             "unit at its design airflow (in-row coolers that move more than their aisle's "
             "racks then draw the rest through the door leaks).")(f)


def phase_options(f):
    """``--phase`` (repeatable) and ``--year``: the build phases a run simulates and the
    calendar year it stands for (``RunSettings.phases``, ``RunSettings.year``;
    :mod:`twin.loop.phases`), shared by ``twin run`` and ``twin sites``."""
    f = click.option("--year", type=click.IntRange(1900, 2200), default=None,
                     help="The calendar year the run stands for: halls of a phase draw no IT "
                          "before its commissioning_date and ramp up over its it_ramp_months "
                          "(default: the campus as fully built).")(f)
    return click.option("--phase", "phases", multiple=True,
                        help="Only the halls of this build phase ([[phases]]; repeatable); the "
                             "plant and the electrical chain are scaled to them.")(f)
