"""The distinct halls of a campus run on Dask workers (``twin run --workers``,
``--scheduler``).

Within a step the halls of :class:`twin.loop.simulation.Simulation` do not depend on one
another: each takes its racks' utilisation, the weather and the plant's facility-water
supply (all fixed before the run), and the campus (plant, power, storage) is evaluated
afterwards from their records. So each distinct hall can live on a worker for the whole
run as a Dask actor (:class:`HallWorker`, holding the hall's :class:`~twin.loop.hall.HallModel`
with its solver and flow states), advanced a block of steps at a time, all halls of a
block at once. The worker runs the same code on the same inputs as the serial loop, so
the records, and every number of the results, are the serial run's (tested); the log
lists the same notes, and the flow-solve progress lines are not shown. A block is
committed whole before the callbacks and checkpoints of its steps; Ctrl-C while the
workers run a block stops at the block's start (the workers finish it and their state at
its start is the one kept for ``--resume``).

:class:`HallHost` is what a :class:`HallModel` asks of its simulation (settings,
facility, weather, plant spec, counters, notes), on the worker.
"""
from __future__ import annotations

import copy
import warnings
from collections import Counter

#: Steps advanced per round trip to the workers (progress and checkpoints follow blocks).
BLOCK_STEPS = 24


class HallHost:
    """The parts of a :class:`~twin.loop.simulation.Simulation` a hall model uses."""

    def __init__(self, facility, settings, env: dict, ghi_w_m2, plant_spec):
        self.facility = facility
        self.settings = settings
        self.env = env
        self.ghi_w_m2 = ghi_w_m2
        self.plant_spec = plant_spec
        self.flow_memo = None
        self.counters: Counter = Counter()
        self.k = 0
        self.notes: list = []          # (text, step)

    def note(self, text: str, step: int | None = None):
        self.notes.append((text, self.k if step is None else step))

    def event(self, kind: str, info: dict):
        pass


class HallWorker:
    """One distinct hall of a run, kept on a Dask worker (an actor)."""

    def __init__(self, facility, settings, env: dict, ghi_w_m2, plant_spec, hall_name: str,
                 replicas: list, util, t_mid_h, fw_supply_c: float, snapshot_steps):
        from .hall import HallModel
        self.host = HallHost(facility, settings, env, ghi_w_m2, plant_spec)
        self.hall = HallModel(self.host, hall_name, replicas)
        self.util = util
        self.t_mid_h = t_mid_h
        self.fw_supply_c = float(fw_supply_c)
        self.snapshot_steps = set(snapshot_steps)
        self._k = self._k0 = 0
        self._start_tree = None

    def take_notes(self) -> list:
        """Notes made since the last call (construction included)."""
        out, self.host.notes = self.host.notes, []
        return out

    def advance(self, k0: int, k1: int) -> dict:
        """Steps ``k0 .. k1 - 1``, each committed: ``{"steps": [(record, snapshot,
        notes, warning notes)], "counters": {...}}`` (counters made in the block)."""
        steps = []
        self.host.counters = Counter()
        self._k0, self._start_tree = k0, self._tree()     # if the caller stops before k1
        for k in range(k0, k1):
            self.host.k = k
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                rec, snap = self.hall.advance(k, float(self.t_mid_h[k]), self.util[k],
                                              self.fw_supply_c, k in self.snapshot_steps)
            self.hall.commit_step()
            steps.append((rec, snap, self.take_notes(),
                          [f"{w.category.__name__}: {w.message}" for w in caught]))
            self._k = k + 1
        return {"steps": steps, "counters": dict(self.host.counters)}

    def _tree(self) -> dict:
        tree = self.hall.restart_tree()
        tree["state"] = copy.deepcopy(tree["state"])      # flow states are not changed in place
        return tree

    def restart_tree(self, k: int | None = None) -> dict:
        """The hall's restart state after step ``k - 1`` (None: now). A caller that stopped
        waiting for a block (Ctrl-C) asks for the block's start; the block itself runs on."""
        if k is None or k == self._k:
            return self._tree()
        if k == self._k0:
            return self._start_tree
        raise RuntimeError(f"hall {self.hall.name}: no restart state for step {k} "
                           f"(the worker is at step {self._k})")

    def load_restart(self, tree: dict, k: int):
        self.hall.load_restart(tree)
        self._k = self._k0 = int(k)


def gather(calls) -> list:
    """The results of actor calls (``calls``: an iterable that makes them, e.g. a generator,
    all made before any result is awaited); a worker that is gone is one line
    (:class:`twin.studies.sweep.SweepError`)."""
    from twin.studies.sweep import SweepError
    try:
        futures = list(calls)
        return [f.result() for f in futures]
    except (OSError, RuntimeError) as exc:   # CommClosedError, "Worker holding Actor was lost"
        if isinstance(exc, RuntimeError) and "Actor" not in str(exc):
            raise
        raise SweepError(f"a Dask worker running the halls is gone ({exc}); out of memory, or "
                         "stopped? run with fewer --workers, a coarser --cell, or --workers 1") from None


def start_workers(sim, client) -> list:
    """An actor per distinct hall of the prepared ``sim`` on ``client``'s cluster, loaded
    with the halls' state when the run is resumed; the notes the halls made on
    construction are the main process's already."""
    futures, off = [], 0
    fw = sim.plant_spec.facility_supply_temp_c
    for hm in sim.halls:
        util = sim.util[:, off:off + hm.n_r]
        off += hm.n_r
        futures.append(client.submit(
            HallWorker, sim.facility, sim.settings, sim.env, sim.ghi_w_m2, sim.plant_spec,
            hm.name, hm.replicas, util, sim.t_mid_h, fw, sim.snapshot_steps,
            actor=True, pure=False))
    actors = gather(futures)
    gather(a.take_notes() for a in actors)
    if sim.k > 0:
        gather(a.load_restart(hm.restart_tree(), sim.k) for a, hm in zip(actors, sim.halls))
    return actors
