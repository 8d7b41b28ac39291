"""Faults during ``twin run`` (issue #21): ``kill -9`` at seeded random moments, SIGTERM,
two runs into one folder at once, a full disk at a checkpoint. Every fault must end in
a run that resumes to results identical, dataset by dataset, to an uninterrupted run;
nothing is lost and nothing is silently replaced.

The run is the small hall at 0.4 m cells, 12 h at 30-minute steps, the racks' design
airflow (one flow solve) and a checkpoint after every step, so that a kill can land
anywhere: while preparing, between steps, or inside a write. Real processes (the
``twin`` command line in a subprocess) take the signals. About a minute on 2 cores.
"""
from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.facility import BUILTIN_DIR
from twin.outputs.files import LOCK_NAME

SMALL = str(BUILTIN_DIR / "small-hall.toml")
ARGS = ["--hours", "12", "--step", "30m", "--cell", "0.4", "--rack-airflow", "design",
        "--backend", "cpu", "--checkpoint-every", "0", "--quiet"]
STEPS = 24
#: Parts of a results file that record how the run went, not what it computed.
NOT_COMPARED = ("/log", "/summary", "/restart")
SEED = 21
KILLS = 4


def twin_cmd(*args) -> list[str]:
    return [sys.executable, "-c", "from twin.cli import main; main()", *map(str, args)]


def start(out, *extra):
    return subprocess.Popen(twin_cmd("run", SMALL, *ARGS, "--out", out, *extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def file_state(out: Path):
    """(status, steps_done) of OUT/results.h5, or (None, 0)."""
    p = out / "results.h5"
    if not p.exists():
        return None, 0
    with h5py.File(p, "r") as f:
        return str(f.attrs["status"]), int(f.attrs["steps_done"])


def temporaries(out: Path) -> list[str]:
    return sorted(p.name for p in out.glob(".*.tmp"))


def wait_for(condition, proc, tries: int = 12000, pause_s: float = 0.01) -> None:
    """Poll ``condition`` until it holds or ``proc`` has ended (at most ``tries`` polls, a
    guard against a hung process; no clock is read)."""
    for _ in range(tries):
        if condition() or proc.poll() is not None:
            return
        time.sleep(pause_s)


def compare_results(a: Path, b: Path) -> int:
    """Assert every dataset of ``a`` is in ``b`` with the same values (floats to 1e-9
    relative, 3D fields to 1e-5 K); return how many were compared."""
    n = 0
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        names = []
        fa.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        other = []
        fb.visititems(lambda name, obj: other.append(name) if isinstance(obj, h5py.Dataset) else None)
        keep = [x for x in names if not ("/" + x).startswith(NOT_COMPARED)]
        assert sorted(keep) == sorted(x for x in other if not ("/" + x).startswith(NOT_COMPARED))
        for name in keep:
            x, y = fa[name][()], fb[name][()]
            if isinstance(x, np.ndarray) and x.dtype.kind == "f":
                tol = 1e-5 if name.startswith("snapshots/") else 1e-9
                np.testing.assert_allclose(y, x, rtol=1e-9, atol=tol, err_msg=name)
            else:
                assert np.array_equal(np.asarray(x), np.asarray(y)), name
            n += 1
        assert fb.attrs["status"] == "complete" and int(fb.attrs["steps_done"]) == STEPS
    return n


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run (in this process)."""
    out = tmp_path_factory.mktemp("reference")
    res = CliRunner().invoke(main, ["run", SMALL, *ARGS, "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out / "results.h5"


def test_kill_9_at_random_moments_resumes_to_identical_results(reference, tmp_path):
    """The first kill lands at a random moment of the start (imports, meshing, the flow
    solve), the others a random fraction of a step after random steps were written (so
    inside a step or inside a checkpoint write); each time the run is resumed."""
    ref = reference
    out = tmp_path / "killed"
    rng = random.Random(SEED)
    targets = sorted(rng.sample(range(2, STEPS - 8), KILLS - 1))
    seen = []
    for i in range(KILLS + 1):
        status, done = file_state(out)
        proc = start(out, "--resume") if status is not None else start(out)
        if i == 0:
            time.sleep(rng.uniform(0.5, 3.0))
        elif i < KILLS:
            wait_for(lambda: file_state(out)[1] >= targets[i - 1], proc)
            time.sleep(rng.uniform(0.0, 0.2))
        if i < KILLS and proc.poll() is None:
            proc.kill()
        stdout, stderr = proc.communicate(timeout=300)
        seen.append((proc.returncode, file_state(out), temporaries(out), (out / LOCK_NAME).exists()))
        assert proc.returncode in (0, -signal.SIGKILL), stderr
        assert "Traceback" not in stderr, stderr
        if proc.returncode == 0:
            break
    print("kills (exit, (status, steps), temporaries left, lock left):", *seen, sep="\n  ")
    landed = sum(1 for x in seen if x[0] == -signal.SIGKILL)
    assert landed == KILLS, seen
    assert seen[-1][0] == 0 and seen[-1][1] == ("complete", STEPS), seen
    assert temporaries(out) == [] and not (out / LOCK_NAME).exists()
    n = compare_results(ref, out / "results.h5")
    print(f"{n} datasets identical to the uninterrupted run after {landed} kills")


def test_sigterm_is_ctrl_c_the_run_is_kept_and_resumes(reference, tmp_path):
    ref = reference
    out = tmp_path / "term"
    proc = start(out)
    wait_for(lambda: file_state(out)[1] >= 3, proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    status, done = file_state(out)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "interrupted (SIGTERM)" in stderr and "--resume" in stderr and "Traceback" not in stderr
    assert status == "interrupted" and 3 <= done < STEPS
    assert temporaries(out) == [] and not (out / LOCK_NAME).exists()
    res = CliRunner().invoke(main, ["run", SMALL, "--out", str(out), "--resume", "--quiet"])
    assert res.exit_code == 0, res.output
    compare_results(ref, out / "results.h5")


def test_two_runs_into_one_folder_at_once_one_is_refused(tmp_path):
    """The second run into a folder another run holds is refused with the holder named.
    The first runs two days (96 steps) so that it still holds the folder when the second
    has started, however loaded the machine."""
    out = tmp_path / "both"
    long = [a if a != "12" else "48" for a in ARGS]
    first = subprocess.Popen(twin_cmd("run", SMALL, *long, "--out", out),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: (out / LOCK_NAME).exists(), first)
    second = start(out)
    _, err2 = second.communicate(timeout=300)
    still = first.poll() is None
    _, err1 = first.communicate(timeout=600)
    assert still, "the first run ended before the second started; the test proves nothing"
    assert second.returncode == 2 and "in use by twin run" in err2, err2
    assert "Traceback" not in err2
    assert first.returncode == 0, err1
    assert file_state(out) == ("complete", 96) and not (out / LOCK_NAME).exists()


def test_full_disk_at_a_checkpoint_keeps_the_last_one(reference, tmp_path, monkeypatch):
    import twin.outputs.results as R
    ref = reference
    out = tmp_path / "full"
    real = R._write_file
    calls = []

    def disk_fills_at_third_write(tmp, data):
        calls.append(data.steps_done)
        if len(calls) >= 3:
            with open(tmp, "wb") as fh:                 # a part written, then the disk is full
                fh.write(b"\0" * 4096)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(tmp, data)

    monkeypatch.setattr(R, "_write_file", disk_fills_at_third_write)
    res = CliRunner().invoke(main, ["run", SMALL, *ARGS, "--out", str(out)])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error")]
    assert len(errors) == 1 and "no space left on the device" in errors[0], res.output
    assert "--resume" in errors[0] and "Traceback" not in res.output
    assert file_state(out) == ("running", calls[1])           # the last good checkpoint
    assert temporaries(out) == [] and not (out / LOCK_NAME).exists()
    monkeypatch.setattr(R, "_write_file", real)               # space again
    res = CliRunner().invoke(main, ["run", SMALL, "--out", str(out), "--resume", "--quiet"])
    assert res.exit_code == 0, res.output
    compare_results(ref, out / "results.h5")


def test_local_cluster_listens_on_loopback_without_http(tmp_path):
    psutil = pytest.importorskip("psutil")
    from twin.studies.sweep import TaskRunner

    def listeners():
        me = psutil.Process()
        procs = [me, *me.children(recursive=True)]
        found = []
        for p in procs:
            try:
                found += [c.laddr for c in p.net_connections(kind="tcp")
                          if c.status == psutil.CONN_LISTEN]
            except psutil.Error:
                pass
        return found

    before = set(listeners())
    with TaskRunner(n_tasks=2, workers=2) as runner:
        assert runner.map(pow, [(2, 3), (3, 2)]) == [8, 9]
        new = [a for a in listeners() if a not in before]
    # the scheduler, two nannies and two workers: Dask's TCP comms only, no HTTP server
    assert all(a.ip == "127.0.0.1" for a in new), new
    assert len(new) == 5 and all(a.port != 8787 for a in new), new
