"""Output locations (issue #21): checked before any work, locked while in use, never
silently replaced, cleaned of what a killed writer left; a full disk reaches one line.
Fast: nothing here solves a hall."""
from __future__ import annotations

import errno
import json
import os
import socket
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.facility import BUILTIN_DIR
from twin.outputs.files import (LOCK_NAME, FolderLock, OutputError, atomic_write, check_file,
                          check_folder, clean_temporaries, results_kind)

SMALL = str(BUILTIN_DIR / "small-hall.toml")
UNWRITABLE = "/proc/self/twin-out"          # a pseudo file system: no file can be made, even by root


def refused(*args, text=None):
    """``twin ARGS`` ends with exit 2 and one ``error:`` line (containing ``text``)."""
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    errors = [ln for ln in res.output.splitlines() if ln.lower().startswith("error")]
    assert len(errors) == 1 and "Traceback" not in res.output, res.output
    if text:
        assert text in errors[0], errors[0]
    return errors[0]


def fake_results(path: Path, schema: str) -> bytes:
    """A small HDF5 file that says it is a result of ``schema``; returns its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = schema
        f.create_dataset("x", data=np.arange(3))
    return path.read_bytes()


# ----------------------------------------------------------- unwritable, before any work
@pytest.mark.parametrize("args, text", [
    (["run", SMALL, "--out", "{file}/sub"], "is a file, so no folder can be made under it"),
    (["run", SMALL, "--out", "{file}"], "is a file"),
    (["run", SMALL, "--out", UNWRITABLE], "cannot make the folder"),
    (["solve", SMALL, "--json", "/proc/self/summary.json"], "cannot write in /proc/self"),
    (["solve", SMALL, "--json", "{file}/summary.json"], "is a file, not a folder"),
    (["solve", SMALL, "--out", "{file}/sub"], "no folder can be made"),
    (["whatif", SMALL, "--out", UNWRITABLE], "cannot make the folder"),
    (["fail", SMALL, "--each", "--out", "{file}/x"], "no folder can be made"),
    (["capacity", SMALL, "--rack-type", "x", "--out", "{file}/x"], "no folder can be made"),
    (["mesh", SMALL, "--vtk", UNWRITABLE], "cannot make the folder"),
])
def test_unwritable_output_is_refused_before_any_work(tmp_path, args, text):
    f = tmp_path / "a-file"
    f.write_text("keep me")
    refused(*[a.format(file=f) for a in args], text=text)
    assert f.read_text() == "keep me"


def test_view_and_report_check_their_files_before_rendering(tmp_path):
    res = tmp_path / "results.h5"
    fake_results(res, "dc-twin/steady/1")
    (tmp_path / "f").write_text("")
    refused("view", res, "--png", "/proc/self/v.png", text="--png /proc/self/v.png")
    refused("view", res, "--vtk", tmp_path / "f" / "vtk", text="--vtk")
    refused("report", res, "--out", tmp_path / "f" / "r.html", text="--out")


# ------------------------------------------------ another command's results, never replaced
def test_solve_never_replaces_a_run(tmp_path):
    out = tmp_path / "run"
    before = fake_results(out / "results.h5", "dc-twin-results")
    refused("solve", SMALL, "--out", out, text="holds a twin run")
    assert (out / "results.h5").read_bytes() == before
    assert not (out / LOCK_NAME).exists()


def test_run_never_replaces_a_steady_solve_or_a_foreign_file(tmp_path):
    for schema, text in (("dc-twin/steady/1", "steady solve"), ("someone-else", "not a dc-twin")):
        out = tmp_path / schema.replace("/", "_")
        before = fake_results(out / "results.h5", schema)
        refused("run", SMALL, "--out", out, text=text)
        refused("run", SMALL, "--out", out, "--resume", text="not a twin run")
        assert (out / "results.h5").read_bytes() == before
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "results.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    assert results_kind(damaged / "results.h5") == "other"
    refused("run", SMALL, "--out", damaged, text="damaged")


# ------------------------------------------------------------------------------ locks
def test_lock_excludes_a_second_command_and_is_released(tmp_path):
    with FolderLock(tmp_path, "twin run a") as lock:
        rec = json.loads((tmp_path / LOCK_NAME).read_text())
        assert rec["pid"] == os.getpid() and rec["command"] == "twin run a"
        with pytest.raises(OutputError, match=r"in use by twin run a \(PID \d+"):
            FolderLock(tmp_path, "twin run b").acquire()
        msg = refused("run", SMALL, "--out", tmp_path, text="in use by twin run a")
        assert "choose another --out" in msg
        assert lock.notes == []
    assert not (tmp_path / LOCK_NAME).exists()


@pytest.mark.parametrize("record, why", [
    ({"pid": 2 ** 22 + 7, "host": None, "command": "twin run", "started_utc": "x"}, "PID gone"),
    ({"pid": os.getpid(), "pid_start_ticks": -1, "host": None, "command": "twin run"}, "PID reused"),
    ("{not json", "torn write"),
])
def test_stale_lock_is_taken_over_with_a_note(tmp_path, record, why):
    if isinstance(record, dict):
        record = json.dumps({**record, "host": socket.gethostname()})
    (tmp_path / LOCK_NAME).write_text(record)
    with FolderLock(tmp_path, "twin run") as lock:
        assert any("stale lock" in n for n in lock.notes), (why, lock.notes)
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_lock_of_another_host_is_never_taken_over(tmp_path):
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "node-17", "command": "twin run",
                                                  "started_utc": "t"}))
    with pytest.raises(OutputError, match="on host node-17.*delete"):
        FolderLock(tmp_path, "twin run").acquire()
    assert (tmp_path / LOCK_NAME).exists()


def test_orphaned_temporaries_are_removed_under_the_lock_only(tmp_path):
    orphans = [".results.h5.k2j4_x9a.tmp", ".summary.json.abcdefgh.tmp"]
    keep = ["results.h5", "notes.tmp", ".hidden", ".results.h5.short.tmp"]
    for n in orphans + keep:
        (tmp_path / n).write_text("x")
    with FolderLock(tmp_path, "twin run") as lock:
        assert any("removed 2 temporary" in n for n in lock.notes)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)
    assert clean_temporaries(tmp_path / "missing") == []


def test_a_command_leaves_no_temporary_of_its_own_when_it_gives_the_folder_back(tmp_path):
    """A signal can land between ``mkstemp`` and the writer keeping the name (CI
    2026-12-07: a SIGTERM during a checkpoint left ``.summary.json.XXXXXXXX.tmp``); the
    lock's holder removes such leftovers when it releases the folder."""
    with FolderLock(tmp_path, "twin run"):
        (tmp_path / ".summary.json.2nhpxhx_.tmp").write_text("{")   # a write cut short
        (tmp_path / "results.h5").write_text("kept")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.h5"]


def test_a_signal_inside_the_writer_leaves_no_temporary(tmp_path, monkeypatch):
    """Ctrl-C (``KeyboardInterrupt``) right after the temporary file is made, before it is
    written: the file is removed and the interrupt goes on."""
    real_close = os.close

    def close_then_interrupt(fd):
        real_close(fd)
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "close", close_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "summary.json", lambda t: Path(t).write_text("{}"))
    monkeypatch.setattr(os, "close", real_close)
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------- the writer itself
def test_full_disk_at_the_writer_keeps_the_previous_file(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("previous")

    def write_half_then_fail(tmp):
        Path(tmp).write_text("half a fi")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OutputError, match="no space left on the device; the previous file is unchanged"):
        atomic_write(target, write_half_then_fail)
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_atomic_write_makes_shareable_files(tmp_path):
    p = atomic_write(tmp_path / "a.txt", lambda t: Path(t).write_text("x"))
    umask = os.umask(0)
    os.umask(umask)
    assert (p.stat().st_mode & 0o777) == 0o666 & ~umask


def test_check_helpers(tmp_path):
    assert check_folder(tmp_path / "a" / "b").is_dir()
    assert check_file(tmp_path / "c" / "x.json", "--json").parent.is_dir()
    with pytest.raises(OutputError, match="is a folder"):
        check_file(tmp_path, "--json")
