"""The ``twin`` command line (click).

Each area registers its commands from its own module (``twin/cli/*.py``) below, so that
commands can grow without editing one another. Errors derived from
:class:`common.errors.TwinError` are printed as one line and exit with status 2; Ctrl-C,
SIGTERM and SIGHUP stop a command cleanly (:mod:`twin.cli.signals`) with status 128 + signal.
"""
from __future__ import annotations

import sys

import click

from common.errors import TwinError


class TwinGroup(click.Group):
    """A click group that turns project errors into one clear line and exit status 2."""

    def invoke(self, ctx):
        import signal

        from twin.cli.signals import HANDLED, exit_status, install_handlers
        previous = {s: signal.getsignal(s) for s in HANDLED}
        install_handlers()
        try:
            return super().invoke(ctx)
        except TwinError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt as exc:
            click.echo(f"interrupted ({getattr(exc, 'signal_name', 'Ctrl-C')})", err=True)
            sys.exit(exit_status(exc))
        finally:
            for s, h in previous.items():
                try:
                    signal.signal(s, h)
                except (OSError, ValueError, TypeError):
                    pass


@click.group(cls=TwinGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dc-twin")
def main():
    """Digital twin of an AI data-center campus: airflow and heat on GPU grids.

    \b
    Example:
      twin solve meshes/small-hall.toml      # one steady state, rack inlets worst first
    """


# --- command registration (one line per area module) ---------------------------------
# cli-registrations-begin
from twin.cli.facility import validate, mesh; main.add_command(validate); main.add_command(mesh)  # noqa: E402,E702
from twin.cli.solve import backends, solve; main.add_command(backends); main.add_command(solve)  # noqa: E402,E702
from twin.cli.studies import whatif, fail, capacity, view, report; [main.add_command(c) for c in (whatif, fail, capacity, view, report)]  # noqa: E402,E702
from twin.cli.run import run; main.add_command(run)  # noqa: E402,E702
from twin.cli.runsweep import whatif_run; main.add_command(whatif_run)  # noqa: E402,E702
from twin.cli.sites import sites; main.add_command(sites)  # noqa: E402,E702
# cli-registrations-end
