"""Where results go: checked before any work, locked while a command writes, and cleaned
of what a killed writer left behind.

A run that computes for an hour and then cannot write its results has lost the hour, so
every command checks its output locations first (:func:`check_folder`,
:func:`check_file`): the place is not a file (or under one), its folder exists or can be
made, and a probe file can be created and removed there (permissions, read-only and
pseudo file systems, immutable folders all fail that probe, also for root).

A folder that a command writes into is held with :class:`FolderLock` for the whole
command: ``OUT/.twin.lock`` (JSON: PID, process start time, host, command, start time),
created with ``O_CREAT | O_EXCL`` so that of two commands started together exactly one
gets it. A lock whose process is gone (a ``kill -9``, a power cut) is stale: the next
command on the same host takes it over and says so. A lock from another host (a shared
file system) cannot be checked and is never taken over. Holding the lock, the command
removes the temporary files (``.NAME.XXXXXXXX.tmp``) of atomic writes that a killed
writer left (:func:`clean_temporaries`).

:func:`results_kind` tells what an existing ``results.h5`` holds, so that one command
never silently replaces another's results (``twin solve --out`` into a ``twin run``
folder).
"""
from __future__ import annotations

import errno
import json
import math
import os
import re
import socket
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from common.errors import InputError

__all__ = ["OutputError", "check_folder", "check_file", "FolderLock", "output_folder",
           "clean_temporaries", "results_kind", "atomic_write", "write_json", "json_text",
           "LOCK_NAME"]

LOCK_NAME = ".twin.lock"
#: Temporary files of :func:`atomic_write` (``tempfile.mkstemp(prefix=".NAME.",
#: suffix=".tmp")``: eight random characters).
_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


class OutputError(InputError):
    """An output location that cannot take the results (one line, exit status 2)."""


def atomic_write(path, write) -> Path:
    """Write a file atomically: ``write(tmp)`` fills a temporary file in the same folder,
    which is flushed to disk and renamed over ``path`` (``os.replace``). A reader never
    sees half a file; on any error (a full disk, a signal) the temporary file is removed,
    the previous ``path`` is left as it was, and an ``OSError`` becomes one
    :class:`OutputError` line."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp = Path(name)           # from here on, any exception removes it (a signal too)
        os.close(fd)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}; choose a folder "
                              "you can write to") from None
        raise
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)     # mkstemp makes 0600; results are for sharing
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            why = exc.strerror or str(exc)
            if getattr(exc, "errno", None) == errno.ENOSPC or "No space" in str(exc):
                why = "no space left on the device"
            raise OutputError(f"cannot write {path}: {why}; "
                              + ("the previous file is unchanged; " if path.exists() else "")
                              + "free space or choose another folder") from None
        raise
    return path


def _json_default(o):
    import numpy as np
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def _nan_to_none(o):
    if isinstance(o, dict):
        return {k: _nan_to_none(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_nan_to_none(v) for v in o]
    import numpy as np
    if isinstance(o, (float, np.floating)) and not math.isfinite(o):
        return None
    return o


def json_text(obj, **dumps_kw) -> str:
    """``obj`` as JSON text: NaN and infinities become ``null`` (JSON has no NaN), numpy
    values plain numbers, paths strings (``dumps_kw``: ``indent``, ``sort_keys``)."""
    return json.dumps(_nan_to_none(obj), default=_json_default, allow_nan=False, **dumps_kw)


def write_json(path, obj) -> Path:
    """Write ``obj`` as indented JSON (:func:`json_text`), atomically (:func:`atomic_write`)."""
    text = json_text(obj, indent=2) + "\n"
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_csv(path, header, rows) -> Path:
    """Write a CSV table (RFC 4180, ``,`` and ``"``, a header line) atomically
    (:func:`atomic_write`); floats as Python prints them, NaN and None as empty fields."""
    import csv
    import io
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        vals = (x.item() if hasattr(x, "item") else x for x in row)       # numpy scalars
        w.writerow(["" if v is None or (isinstance(v, float) and math.isnan(v)) else v
                    for v in vals])
    text = buf.getvalue()
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and not p.is_symlink():
        if p.parent == p:
            break
        p = p.parent
    return p


def _probe(folder: Path, option: str, shown: Path) -> None:
    """Create and remove a file in ``folder``; raise :class:`OutputError` if that fails."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".twin-probe.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise OutputError(f"{option} {shown}: cannot write in {folder} ({exc.strerror or exc}); "
                          "choose a folder you can write to") from None


def check_folder(path, option: str = "--out", create: bool = True, shown=None) -> Path:
    """Check that ``path`` is (or can become) a folder that takes files; make it when
    ``create``. Raises :class:`OutputError` naming the option (and ``shown``, the value
    the user gave; default ``path``) and the fix."""
    path = Path(path)
    shown = path if shown is None else shown
    if path.exists() and not path.is_dir():
        where = "" if shown == path else f"{path} "
        raise OutputError(f"{option} {shown}: {where}is a file, not a folder; give a folder")
    base = _nearest_existing(path.absolute())
    if not base.is_dir():
        raise OutputError(f"{option} {shown}: {base} is a file, so no folder can be made under it; "
                          "give a folder elsewhere")
    if base != path.absolute() and not create:
        _probe(base, option, shown)
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{option} {shown}: cannot make the folder ({exc.strerror or exc}); "
                          "choose a folder you can write to") from None
    _probe(path, option, shown)
    return path


def check_file(path, option: str) -> Path:
    """Check that a file can be written at ``path`` (its folder is made if missing)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{option} {path}: is a folder; give a file name, e.g. {path / 'out'}")
    if path.exists():
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            raise OutputError(f"{option} {path}: exists and cannot be replaced; "
                              "choose another file name")
    folder = path.parent if str(path.parent) else Path(".")
    check_folder(folder, option=option, create=True, shown=path)
    return path


def results_kind(path) -> str | None:
    """What ``path`` (a ``results.h5``) holds: ``"run"`` (a ``twin run``), ``"steady"``
    (``twin solve``), ``"other"`` (not ours, or unreadable) or ``None`` (no file)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        import h5py
        with h5py.File(path, "r") as f:
            schema = str(f.attrs.get("schema", ""))
    except Exception:                # a damaged or foreign file: never replaced silently
        return "other"
    from twin.outputs.results import SCHEMA_NAME   # noqa: PLC0415 (results imports this module)
    if schema == SCHEMA_NAME:
        return "run"
    if schema.startswith("dc-twin/steady"):
        return "steady"
    return "other"


def clean_temporaries(folder) -> list[str]:
    """Remove the temporaries of atomic writes a killed writer left in ``folder`` (call
    only while holding its :class:`FolderLock`). Returns the names removed."""
    gone = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return gone
    for e in entries:
        if _TEMP.match(e.name) and e.is_file(follow_symlinks=False):
            try:
                os.unlink(e.path)
                gone.append(e.name)
            except OSError:
                pass
    return sorted(gone)


def _start_ticks(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux); ``None`` if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, ticks: int | None) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # exists, another user's
        pass
    now = _start_ticks(pid)
    return ticks is None or now is None or now == ticks   # a reused PID is another process


class FolderLock:
    """``OUT/.twin.lock`` held for one command::

        with FolderLock(out_dir, "twin run") as lock:
            ...                      # lock.notes: a stale lock taken over, temporaries removed

    A second command on the same folder gets :class:`OutputError` naming the holder.
    """

    def __init__(self, folder, command: str, option: str = "--out"):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.command = command
        self.option = option
        self.notes: list[str] = []
        self._held = False

    def _record(self) -> dict:
        return {"pid": os.getpid(), "pid_start_ticks": _start_ticks(os.getpid()),
                "host": socket.gethostname(), "command": self.command,
                "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    def acquire(self) -> "FolderLock":
        text = json.dumps(self._record()) + "\n"
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._take_over_if_stale()
                continue
            except OSError as exc:
                raise OutputError(f"{self.option} {self.folder}: cannot write the lock file "
                                  f"({exc.strerror or exc}); choose a folder you can write to") from None
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            self._held = True
            gone = clean_temporaries(self.folder)
            if gone:
                self.notes.append(f"removed {len(gone)} temporary file(s) an interrupted write "
                                  f"left in {self.folder}: " + ", ".join(gone))
            return self
        raise OutputError(f"{self.option} {self.folder}: the lock {self.path} keeps changing; "
                          "another command is starting there; try again")

    def _take_over_if_stale(self) -> None:
        try:
            rec = json.loads(self.path.read_text())
            pid, host = int(rec["pid"]), str(rec["host"])
            ticks = rec.get("pid_start_ticks")
        except FileNotFoundError:
            return                                   # released meanwhile: try again
        except (OSError, ValueError, KeyError, TypeError):
            rec, pid, host, ticks = {}, 0, socket.gethostname(), None   # unreadable: a torn write
        if host != socket.gethostname():
            raise OutputError(f"{self.option} {self.folder}: in use by {rec.get('command', 'twin')} "
                              f"on host {host} (PID {pid}, since {rec.get('started_utc', '?')}); "
                              f"wait for it, choose another {self.option}, or delete {self.path} "
                              "if that command is gone")
        if _alive(pid, ticks):
            raise OutputError(f"{self.option} {self.folder}: in use by {rec.get('command', 'twin')} "
                              f"(PID {pid}, since {rec.get('started_utc', '?')}); wait for it to "
                              f"finish or choose another {self.option}")
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.notes.append(f"took over the stale lock of {rec.get('command', 'a command')} "
                          f"(PID {pid}, gone) in {self.folder}")

    def release(self) -> None:
        """Give the folder back. Temporaries of this command's atomic writes that a signal
        cut short (between ``mkstemp`` returning and its name being kept, a window no
        ``try`` can cover) are removed first: only the lock's holder writes here."""
        if not self._held:
            return
        self._held = False
        clean_temporaries(self.folder)
        try:
            rec = json.loads(self.path.read_text())
            if int(rec.get("pid", -1)) == os.getpid():
                os.unlink(self.path)
        except (OSError, ValueError):
            pass

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False


def output_folder(path, command: str, option: str = "--out") -> FolderLock:
    """Check ``path`` as an output folder (made if missing) and return its lock, to be
    used as a context manager for the whole command."""
    check_folder(path, option)
    return FolderLock(path, command, option)


def command_line() -> str:
    """``twin ARGS`` of this process, for lock files and logs."""
    return " ".join(["twin", *sys.argv[1:]])[:300]
