"""``twin view --time`` on a run (issue 20): a time after the run's start (``1h``) or a
clock time in the site's local standard time (``2026-08-01T01:00``) picks the nearest
stored snapshot; one note says which and how far it is when it is not the state of the
step asked for, and that the time lies outside the run when it does; a bad time is one
line.

The run: the small hall from 1 August 00:00 (day 213, Ulsan, UTC+09:00) for 2 h at
15-minute steps, 0.5 m cells, a snapshot every hour: steps 0, 4 and 7, the middles of
their steps at 00:07:30, 01:07:30 and 01:52:30. (Before, a duration was compared with
hours after 1 January: ``--time 1h`` showed the first snapshot of any run after
January.)
"""
from __future__ import annotations

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from common.errors import InputError
from twin.cli import main
from twin.facility import BUILTIN_DIR
from twin.loop.settings import RunSettings
from twin.loop.simulation import Simulation
from twin.outputs.loader import clock_time_h, load_result, parse_time

AUGUST_H = 212 * 24.0


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("aug")
    sim = Simulation(BUILTIN_DIR / "small-hall.toml",
                     RunSettings(hours=2.0, step_s=900.0, cell_m=0.5, backend="cpu",
                                 rack_airflow="design", start_h=AUGUST_H, snapshot_every_h=1.0,
                                 checkpoint_every_s=0.0))
    assert sim.run(out_dir=out) == "complete"
    assert sim.snapshot_steps == [0, 4, 7]
    return out / "results.h5"


def _time_notes(view):
    return [n for n in view.notes if n.startswith("--time")]


@pytest.mark.parametrize("asked, step", [
    ("1h", 4), ("3600", 4), ("0", 0), ("110m", 7),                       # after the start
    ("2026-08-01T01:00", 4), ("2026-08-01 01:14", 4), ("2026-07-31T16:00Z", 4),
    ("2026-08-01T02:00+09:00", 7), ("Aug 01 01:52:30", 7), ("2026-08-01", 0),   # clock
])
def test_both_forms_pick_the_snapshot_of_the_step_asked(run_file, asked, step):
    """A time inside a stored snapshot's step shows that snapshot, without a note."""
    view = load_result(run_file, time=asked)
    assert view.summary["step"] == step, (asked, view.clock_time)
    assert view.summary["time_h"] == pytest.approx(AUGUST_H + (step + 0.5) * 0.25)
    assert not _time_notes(view), view.notes


def test_between_snapshots_says_which_and_how_far(run_file):
    view = load_result(run_file, time="2026-08-01T00:30")
    assert view.summary["step"] == 0
    assert _time_notes(view) == [
        "--time 2026-08-01T00:30 is Aug 01 00:30 (UTC+09:00); no snapshot then: showing the "
        "nearest, step 0 at Aug 01 00:07:30, 22.5 min earlier (stored: Aug 01 00:07:30, "
        "Aug 01 01:07:30, Aug 01 01:52:30); store more with twin run --snapshot-every"]
    same = load_result(run_file, time="30m")
    assert same.summary["step"] == 0 and "--time 30m is Aug 01 00:30" in _time_notes(same)[0]


@pytest.mark.parametrize("asked, step, words", [
    ("5h", 7, "is Aug 01 05:00 (UTC+09:00), after the run (Aug 01 00:00 to Aug 01 02:00); "
              "no snapshot then: showing the nearest, step 7 at Aug 01 01:52:30, 3.125 h earlier"),
    ("2026-12-01T00:00", 7, "after the run (Aug 01 00:00 to Aug 01 02:00); no snapshot then: "
                            "showing the nearest, step 7 at Aug 01 01:52:30, 121.9 d earlier"),
    ("2026-01-15T12:00", 0, "is Jan 15 12:00 (UTC+09:00), before the run (Aug 01 00:00 to "
                            "Aug 01 02:00); no snapshot then: showing the nearest, step 0 at "
                            "Aug 01 00:07:30, 197.5 d later"),
])
def test_far_away_time_is_outside_the_run(run_file, asked, step, words):
    view = load_result(run_file, time=asked)
    notes = _time_notes(view)
    assert view.summary["step"] == step and len(notes) == 1, view.notes
    assert words in notes[0] and "--snapshot-every" not in notes[0]


def test_cli_says_which_snapshot_and_notes_on_stderr(run_file, tmp_path):
    png = tmp_path / "v.png"
    r = CliRunner().invoke(main, ["view", str(run_file), "--time", "2026-08-01T01:40",
                                  "--png", str(png), "--size", "320x240", "--no-hot-air"])
    assert r.exit_code == 0, r.output
    assert "the snapshot of Aug 01 01:52:30 (UTC+09:00)" in r.stdout
    assert "note: --time 2026-08-01T01:40 is Aug 01 01:40 (UTC+09:00); no snapshot then" in r.stderr
    assert "12.5 min later" in r.stderr and png.stat().st_size > 0


@pytest.mark.parametrize("asked, words", [
    ("3x", "--time 3x: not understood; give a time after the start (90s, 15m, 3h, 2d) or, "
           "for a run, a clock time"),
    ("-1h", "--time -1h: not understood"),
    ("2026-02-30T00:00", "--time 2026-02-30T00:00: not a date and time of the calendar"),
    ("2028-02-29T00:00", "typical 365-day year, without 29 February"),
])
def test_bad_time_is_one_line(run_file, tmp_path, asked, words):
    r = CliRunner().invoke(main, ["view", str(run_file), "--time", asked,
                                  "--png", str(tmp_path / "x.png")])
    assert r.exit_code == 2 and words in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_clock_time_on_a_result_without_a_clock_is_one_line(tmp_path):
    """A steady result's series (``twin fail``) counts seconds after its start: a clock
    time there is refused."""
    path = tmp_path / "fail.h5"
    with h5py.File(path, "w") as f:
        h = f.create_group("halls/H1")
        h["temp_c"] = np.full((2, 2, 2), 20.0)
        for k in ("x_m", "y_m", "z_m"):
            h[k] = np.array([0.25, 0.75])
    with pytest.raises(InputError, match="is not a twin run result and has no clock; give a "
                                         "time after its start"):
        load_result(path, time="2026-08-01T14:00")


def test_parse_and_place_clock_times():
    """The forms of --time, and a date's place in a run's typical year: with the run's
    calendar year (twin run --year) a date of the next year is 8760 h on; without one it
    falls in the year of the run that is nearest."""
    assert parse_time("15m") == ("after_start", 900.0)
    assert parse_time(" 2.5h ") == ("after_start", 9000.0)
    kind, when = parse_time("2026-08-01T14:00")
    assert kind == "clock" and (when.month, when.day, when.hour) == (8, 1, 14)
    aug = AUGUST_H + 14.0
    assert clock_time_h(when, 9.0) == aug
    assert clock_time_h(parse_time("2026-08-01T05:00Z")[1], 9.0) == aug
    assert clock_time_h(when, 9.0, run_year=2026) == aug
    assert clock_time_h(when, 9.0, run_year=2025) == aug + 8760.0
    new_year = parse_time("2027-01-02T00:00")[1]
    assert clock_time_h(new_year, 9.0, span_h=(8700.0, 8900.0)) == 8760.0 + 24.0
    assert clock_time_h(new_year, 9.0, span_h=(5000.0, 5100.0)) == 24.0
