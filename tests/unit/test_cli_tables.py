"""The side-by-side case tables of ``twin whatif`` and ``twin whatif-run`` fit 80 columns
without folding a case's change inside its column (issue 20, item 8): a label longer than
the column goes to a legend line under the table, whole; short labels stay in the table."""
from __future__ import annotations

import pytest

from twin.cli.runsweep import print_run_sweep
from twin.cli.studies import _print_whatif
from twin.cli.tables import CASE_COLUMN_WIDTH, change_legend, change_row

LONG = ["baseline", "halls[H1].cooling_units[*].supply_temp_c=18",
        "run.dry_bulb_offset_k=4, run.wind_scale=0", "utilization=0.5"]


def _recs(labels, **metrics):
    return [{"case": "baseline" if i == 0 else f"case-{i:02d}", "label": lab, "converged": True,
             "status": "complete", "delta": {}, **metrics} for i, lab in enumerate(labels)]


def test_change_row_or_legend():
    short = _recs(["baseline", "utilization=0.5"])
    assert change_row(short) == ["baseline", "utilization=0.5"] and change_legend(short) == []
    long = _recs(LONG)
    assert change_row(long) is None
    legend = change_legend(long)
    assert "case-01   halls[H1].cooling_units[*].supply_temp_c=18" in legend
    assert not any(ln.split() == ["baseline", "baseline"] for ln in legend)   # no echo
    assert len(LONG[1]) > CASE_COLUMN_WIDTH


@pytest.mark.parametrize("printer", [_print_whatif, print_run_sweep], ids=["whatif", "whatif-run"])
def test_case_tables_fit_80_columns_and_keep_every_label_whole(printer, capsys):
    printer(_recs(LONG, inlet_max_c=25.0, pue=1.3))
    lines = capsys.readouterr().out.splitlines()
    assert max(len(ln) for ln in lines) <= 80, "\n".join(lines)
    for lab in LONG[1:]:                               # each label on one line, not folded
        assert any(lab in ln for ln in lines), (lab, lines)
    assert not any(ln.lstrip("│┃ ").startswith("change") for ln in lines)


@pytest.mark.parametrize("printer", [_print_whatif, print_run_sweep], ids=["whatif", "whatif-run"])
def test_short_labels_stay_in_the_table(printer, capsys):
    printer(_recs(["baseline", "utilization=0.5"], inlet_max_c=25.0, pue=1.3))
    out = capsys.readouterr().out
    change = [ln for ln in out.splitlines() if "change" in ln]
    assert len(change) == 1 and "utilization=0.5" in change[0], out


def test_validate_hall_table_fits_80_columns():
    """The 1 GW campus has the longest hall labels ("DC6-H01..DC15-H08 x116") and the widest
    numbers (1,002,010 kW of IT): its per-hall table fits 80 columns, the liquid share on a
    line of its own."""
    from click.testing import CliRunner

    from twin.cli import main
    from twin.facility import BUILTIN_DIR
    res = CliRunner().invoke(main, ["validate", str(BUILTIN_DIR / "ulsan-1gw-campus.toml")])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.startswith("  hall "))
    last = next(i for i, ln in enumerate(lines) if ln.startswith("  total "))
    table = lines[first:last + 1]
    assert len(table) == 5 and "DC6-H01..DC15-H08 x116" in table[3], table
    assert max(len(ln) for ln in table) <= 80, table
    assert "  liquid     93 % of the IT heat (liquid kW / IT kW)" in lines


def test_backends_list_fits_80_columns(monkeypatch):
    """A missing backend's reason (the CuPy import error and the install hint run to some
    150 characters) wraps under its column, every word kept."""
    from click.testing import CliRunner

    import kernels.backend
    from twin.cli import main
    reason = ("CuPy is not importable (ModuleNotFoundError: No module named 'cupy'); install the "
              "gpu extra: pip install -e '.[gpu]' in the source tree")
    monkeypatch.setattr(kernels.backend, "available_backends", lambda: [
        {"name": "numba-cpu", "available": True, "memory_bytes": 20 * 1024 ** 3,
         "device": "x86_64 (2 threads)", "versions": {"numba": "0.68.1", "numpy": "2.4.6"}},
        {"name": "cupy", "available": False, "reason": reason}])
    res = CliRunner().invoke(main, ["backends"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert max(len(ln) for ln in lines) <= 80, lines
    assert lines[0].startswith("numba-cpu   yes  x86_64 (2 threads), 20.0 GiB free")
    cupy = lines[1:]
    assert cupy[0].startswith("cupy        no   CuPy") and all(ln.startswith(" " * 17) for ln in cupy[1:])
    assert " ".join(ln.strip() for ln in cupy).split() == ("cupy no " + reason).split()


def test_run_summary_names_every_file_written(tmp_path):
    """``twin run``'s last line names the time-series CSV beside results.h5 and
    summary.json (it named only the first two); the table fits 80 columns."""
    from types import SimpleNamespace

    from rich.console import Console

    from twin.cli.run import _print_summary
    sim = SimpleNamespace(summary=lambda: {"hours": 6.0, "status": "complete", "pue": 1.249},
                          facility=SimpleNamespace(campus=SimpleNamespace(name="Small hall demo")))
    for name in ("results.h5", "summary.json", "timeseries.csv"):
        (tmp_path / name).write_text("x")
    con = Console(width=80, record=True)
    _print_summary(sim, tmp_path, con)
    text = con.export_text()
    assert max(len(ln) for ln in text.splitlines()) <= 80, text
    assert (f"wrote {tmp_path / 'results.h5'}, {tmp_path / 'summary.json'} and "
            f"{tmp_path / 'timeseries.csv'}") in " ".join(text.split()), text


def test_every_backend_option_takes_the_registrys_choices():
    """Every command with --backend offers the same choices, those of the one registry
    (kernels.backend.CHOICES: numba-cpu among them); twin mesh took any string."""
    import click

    from kernels.backend import CHOICES
    from twin.cli import main
    with_backend = {name: p for name, cmd in main.commands.items() for p in cmd.params
                    if "--backend" in getattr(p, "opts", ())}
    assert {"solve", "mesh", "run", "whatif", "fail", "capacity", "whatif-run", "sites"} <= set(with_backend)
    for name, p in with_backend.items():
        assert isinstance(p.type, click.Choice) and tuple(p.type.choices) == CHOICES, name
    assert "numba-cpu" in CHOICES and "cpu" in CHOICES
