"""Run independent cases in parallel on Dask distributed (what-if sweeps, N-1, capacity).

* default: a local cluster of worker *processes* on the loopback address (127.0.0.1), one
  task at a time per worker (``nthreads=1``). On a machine with NVIDIA GPUs and a GPU
  backend, one worker per GPU, each seeing only its own (``CUDA_VISIBLE_DEVICES``);
  otherwise ``min(cases, cores)`` workers, each with ``cores / workers`` Numba threads
  (``TWIN_CPU_THREADS``) so that the workers do not oversubscribe the cores.
* ``scheduler="tcp://host:8786"``: the same tasks on an existing Dask cluster (its
  workers need dc-twin installed; the facility travels with each task).
* a single task, or ``workers=1`` without a scheduler, runs in this process: no cluster.

Results come back in task order. A task that raises a project error (bad input, a run
that diverged) stops the sweep with that error's one line.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import uuid
from typing import Callable, Sequence

from common.errors import InputError, TwinError
from kernels.backend import GPU_NAMES

_GPU_BACKENDS = (*GPU_NAMES, "auto")


class SweepError(TwinError, RuntimeError):
    """The cluster could not be reached or a worker died."""


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:          # not on Linux
        return max(1, os.cpu_count() or 1)


def visible_gpus() -> list[str]:
    """GPU ids this process may use, without initialising CUDA here (workers do)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def worker_specs(n_tasks: int, workers: int | None = None, backend: str = "auto") -> list[dict]:
    """Environment of each local worker (see the module docstring)."""
    gpus = visible_gpus() if backend in _GPU_BACKENDS else []
    if gpus:
        n = workers or min(n_tasks, len(gpus))
        return [{"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)], "TWIN_CPU_THREADS": "1"}
                for i in range(n)]
    cores = cpu_count()
    n = workers or max(1, min(n_tasks, cores))
    threads = str(max(1, cores // n))
    return [{"TWIN_CPU_THREADS": threads} for _ in range(n)]


def local_cluster(specs: list[dict], dashboard: str | None = None):
    """A Dask cluster of worker processes on 127.0.0.1, one per entry of ``specs``.

    Nothing listens but Dask's own TCP ports on 127.0.0.1: no HTTP server on the scheduler
    or the workers (Dask starts one even with the dashboard off; see
    :mod:`twin.studies.dask_quiet`), unless ``dashboard`` (``HOST:PORT``) asks for the
    scheduler's dashboard there."""
    from distributed import Nanny, Scheduler, SpecCluster

    from twin.studies.dask_quiet import QuietScheduler, QuietWorker
    workers = {
        f"twin-{i}": {"cls": Nanny,
                      "options": {"nthreads": 1, "env": env, "host": "127.0.0.1",
                                  "silence_logs": logging.ERROR, "dashboard": False,
                                  "worker_class": QuietWorker}}
        for i, env in enumerate(specs)}
    if dashboard:
        scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard": True,
                                                       "dashboard_address": dashboard}}
    else:
        scheduler = {"cls": QuietScheduler, "options": {"host": "127.0.0.1", "dashboard": False,
                                                            "dashboard_address": None}}
    return SpecCluster(workers=workers, scheduler=scheduler, silence_logs=logging.ERROR,
                       name="dc-twin")


def have_distributed() -> bool:
    """Whether Dask's ``distributed`` is installed (the ``dist`` extra)."""
    import importlib.util
    return importlib.util.find_spec("distributed") is not None


class TaskRunner:
    """Runs batches of tasks on one cluster (started once, closed on exit)::

        with TaskRunner(n_tasks=8, workers=2) as runner:
            results = runner.map(fn, tasks)

    Without ``scheduler`` and with ``workers == 1`` (or ``n_tasks == 1``) the tasks run in
    this process, one after the other.
    """

    def __init__(self, n_tasks: int = 2, scheduler: str | None = None,
                 workers: int | None = None, backend: str = "auto", dashboard: str | None = None):
        if workers is not None and workers < 1:
            raise SweepError(f"--workers {workers}: give at least 1")
        if scheduler is not None:
            check_scheduler_address(scheduler)
        self.scheduler = scheduler
        self.dashboard = dashboard
        self.inline = scheduler is None and (n_tasks <= 1 or workers == 1)
        if not self.inline and not have_distributed():
            if scheduler is not None:
                raise SweepError(f"--scheduler {scheduler}: Dask is not installed here; install it "
                                 "with pip install 'dc-twin[dist]' or leave --scheduler out")
            logging.getLogger("twin").warning(
                "note: Dask is not installed, so the cases run one after the other in this "
                "process; pip install 'dc-twin[dist]' runs them in parallel")
            self.inline = True
        self.specs = None if self.inline or scheduler else worker_specs(n_tasks, workers, backend)
        self.cluster = None
        self.client = None

    @property
    def n_workers(self) -> int:
        if self.inline:
            return 1
        if self.specs is not None:
            return len(self.specs)
        return max(1, len(self.client.scheduler_info().get("workers", {}))) if self.client else 1

    def __enter__(self):
        if self.inline:
            return self
        from distributed import Client
        try:
            if self.scheduler is None:
                self.cluster = local_cluster(self.specs, self.dashboard)
                self.client = Client(self.cluster)
            else:
                probe_scheduler(self.scheduler)
                try:
                    self.client = Client(self.scheduler, timeout="15s")
                except (OSError, TimeoutError) as exc:
                    raise SweepError(
                        f"--scheduler {self.scheduler}: cannot reach the Dask scheduler ({exc}); "
                        "start one with 'dask scheduler' or leave --scheduler out to run on "
                        "this machine") from None
                except Exception as exc:                 # a server that is not Dask's
                    raise SweepError(
                        f"--scheduler {self.scheduler}: no Dask scheduler answers there "
                        f"({type(exc).__name__}); give the address 'dask scheduler' prints") from None
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None
        return False

    def map(self, fn: Callable, tasks: Sequence[tuple], progress: Callable | None = None) -> list:
        """``[fn(*t) for t in tasks]`` in task order; ``progress(done, total, result)``."""
        tasks = list(tasks)
        if self.inline:
            out = []
            for i, t in enumerate(tasks):
                out.append(fn(*t))
                if progress:
                    progress(i + 1, len(tasks), out[-1])
            return out
        from distributed import as_completed
        from distributed.scheduler import KilledWorker
        tag = uuid.uuid4().hex[:8]
        futures = [self.client.submit(fn, *t, pure=False, key=f"twin-{tag}-{i}")
                   for i, t in enumerate(tasks)]
        index = {f.key: i for i, f in enumerate(futures)}
        out = [None] * len(tasks)
        try:
            for n, fut in enumerate(as_completed(futures), 1):
                i = index[fut.key]
                try:
                    out[i] = fut.result()
                except KilledWorker:
                    raise SweepError(f"task {i + 1} of {len(tasks)}: its worker died (out of "
                                     "memory?); run fewer --workers or a coarser --cell") from None
                if progress:
                    progress(n, len(tasks), out[i])
        except BaseException:
            self.client.cancel(futures)
            raise
        return out


def run_tasks(fn: Callable, tasks: Sequence[tuple], scheduler: str | None = None,
              workers: int | None = None, progress: Callable | None = None,
              backend: str = "auto", dashboard: str | None = None) -> list:
    """``[fn(*t) for t in tasks]``, in parallel on Dask (one :class:`TaskRunner`);
    ``progress(done, total, result)`` after each task finishes (in completion order)."""
    tasks = list(tasks)
    if not tasks:
        return []
    with TaskRunner(len(tasks), scheduler, workers, backend, dashboard) as runner:
        return runner.map(fn, tasks, progress)


#: Schemes of a Dask scheduler address (``distributed.comm`` backends).
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


def check_scheduler_address(address: str) -> str:
    """Return ``address`` if it is a Dask scheduler address ``SCHEME://HOST:PORT`` (or
    ``HOST:PORT``, taken as tcp); raise :class:`SchedulerAddressError` naming what is
    wrong otherwise. Nothing is connected to."""
    from urllib.parse import urlsplit

    example = "e.g. tcp://10.0.0.5:8786"
    head = f"--scheduler {address!r}: "
    text = address.strip()
    if not text:
        raise SchedulerAddressError(head + f"empty; give SCHEME://HOST:PORT, {example}")
    full = text if "://" in text else "tcp://" + text
    try:
        parts = urlsplit(full)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise SchedulerAddressError(head + f"not a valid address ({exc}); give SCHEME://HOST:PORT, "
                                    f"{example} (IPv6 in brackets: tcp://[::1]:8786)") from None
    if parts.scheme not in SCHEDULER_SCHEMES:
        raise SchedulerAddressError(head + f"unknown scheme '{parts.scheme}://'; use one of "
                                    + ", ".join(s + "://" for s in SCHEDULER_SCHEMES) + f", {example}")
    if not host:
        raise SchedulerAddressError(head + f"no host; give SCHEME://HOST:PORT, {example}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise SchedulerAddressError(head + f"unexpected path, user or query; give SCHEME://HOST:PORT "
                                    f"only, {example}")
    if port is None:
        raise SchedulerAddressError(head + f"no port; give SCHEME://HOST:PORT (Dask's default port is "
                                    f"8786), {example}")
    if not 1 <= port <= 65535:
        raise SchedulerAddressError(head + f"port {port} is not 1 to 65535; {example}")
    return text


#: Largest first message a Dask scheduler sends on a new connection (its handshake, a few
#: hundred bytes); a larger length prefix means another kind of server answered.
_HANDSHAKE_MAX_BYTES = 1 << 20


#: How long a server at a --scheduler address has to send Dask's handshake [s].
PROBE_TIMEOUT_S = 5.0


def probe_scheduler(address: str, timeout_s: float | None = None) -> None:
    """Check, before ``distributed`` connects, that a Dask scheduler listens at a ``tcp://``
    address: it must accept the connection and send its handshake, whose 8-byte length
    prefix (``distributed.comm.tcp``) is small. Another server (an HTTP server, a database)
    would make ``distributed`` allocate whatever its first bytes say (exabytes) or wait;
    here it is one line. Other schemes (``tls://``, ``ws://``, ``ucx://``) are left to
    ``distributed``."""
    import socket
    import struct
    from urllib.parse import urlsplit

    timeout_s = PROBE_TIMEOUT_S if timeout_s is None else timeout_s
    full = address if "://" in address else "tcp://" + address
    parts = urlsplit(full)
    if parts.scheme != "tcp":
        return
    head = f"--scheduler {address}: "
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            data = b""
            while len(data) < 8:
                chunk = sock.recv(8 - len(data))
                if not chunk:
                    break
                data += chunk
    except socket.timeout:
        raise SweepError(head + f"a server accepts connections there but sends nothing in "
                         f"{timeout_s:g} s: not a Dask scheduler (a TLS one needs tls://); give the "
                         "address 'dask scheduler' prints") from None
    except OSError as exc:
        raise SweepError(head + f"cannot reach the Dask scheduler ({exc.strerror or exc}); start "
                         "one with 'dask scheduler' or leave --scheduler out to run on this "
                         "machine") from None
    size = struct.unpack("<Q", data)[0] if len(data) == 8 else 0
    if len(data) < 8 or not 0 < size <= _HANDSHAKE_MAX_BYTES:
        what = "an HTTP server" if data.startswith(b"HTTP") else "a server that is not Dask's"
        raise SweepError(head + f"{what} answers there, not a Dask scheduler; give the address "
                         "'dask scheduler' prints (e.g. tcp://10.0.0.5:8786)")


class SchedulerAddressError(InputError):
    """A ``--scheduler`` address that is not SCHEME://HOST:PORT."""
