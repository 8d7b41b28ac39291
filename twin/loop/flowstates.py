"""Solved flow fields of a hall (:class:`FlowState`) and the set a hall keeps of them
(:class:`FlowStates`): those committed by earlier steps and those made during the step in
progress."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np


@dataclass
class FlowState:
    """A solved flow field of one hall and its thermal response (host arrays)."""

    key: str
    flows: np.ndarray                 # per device (problem order) [m3/s]
    fields: dict                      # solver arrays after the steady solve
    x0: np.ndarray                    # inputs of the linearisation
    y0: np.ndarray                    # intake-face temperatures at x0 [degC]
    K: np.ndarray | None = None       # d(face temps)/d(inputs)
    columns: int = 0
    info: dict = field(default_factory=dict)
    sid: int = 0                      # running number within the hall (for the records)

    def to_tree(self) -> dict:
        d = {"key": self.key, "flows": self.flows, "fields": dict(self.fields), "x0": self.x0,
             "y0": self.y0, "columns": self.columns, "sid": self.sid,
             "info": json.dumps(self.info, default=float)}
        if self.K is not None:
            d["K"] = self.K
        return d

    @classmethod
    def from_tree(cls, d) -> "FlowState":
        return cls(key=str(d["key"]), flows=np.asarray(d["flows"], float),
                   fields={k: np.asarray(v) for k, v in d["fields"].items()},
                   x0=np.asarray(d["x0"], float), y0=np.asarray(d["y0"], float),
                   K=None if "K" not in d else np.asarray(d["K"], float),
                   columns=int(d.get("columns", 0)), info=json.loads(d.get("info", "{}")),
                   sid=int(d.get("sid", 0)))

    def copy(self, **changes) -> "FlowState":
        """A deep copy of the arrays (the flow memo's entries and what is taken from them)."""
        kw = dict(key=self.key, flows=self.flows.copy(),
                  fields={k: v.copy() for k, v in self.fields.items()}, x0=self.x0.copy(),
                  y0=self.y0.copy(), K=None if self.K is None else self.K.copy(),
                  columns=self.columns, info=dict(self.info), sid=self.sid)
        kw.update(changes)
        return FlowState(**kw)


class FlowStates:
    """The flow states of one hall: ``kept`` (committed) and ``pending`` (made during the
    step in progress, kept or dropped when the step is committed)."""

    #: Most flow states kept per hall (the oldest unused one goes first).
    MAX_KEPT = 24

    def __init__(self):
        self.kept: list[FlowState] = []
        self.pending: list[FlowState] = []
        self.n_created = 0            # flow states made so far (numbers them)

    def new_sid(self) -> int:
        """The running number of a new flow state."""
        self.n_created += 1
        return self.n_created

    def all(self) -> list[FlowState]:
        return self.kept + self.pending

    def add(self, st: FlowState) -> FlowState:
        self.pending.append(st)
        return st

    def by_key(self, key: str) -> FlowState | None:
        """The kept flow state ``key`` (None if there is none)."""
        return next((st for st in self.kept if st.key == key), None)

    def nearest(self, flows) -> FlowState | None:
        """The flow state (kept or pending) whose flows are closest to ``flows``."""
        best, _ = self._nearest(flows)
        return best

    def find(self, flows, tol: float) -> FlowState | None:
        """The nearest flow state if all its flows are within ``tol`` of ``flows``."""
        best, best_d = self._nearest(flows)
        return best if best is not None and best_d <= tol else None

    def _nearest(self, flows):
        best, best_d = None, np.inf
        for st in self.all():
            d = flow_dev(st.flows, flows)
            if d < best_d:
                best, best_d = st, d
        return best, best_d

    def commit(self, active_key: str, replace: bool):
        """End of a step: the pending states replace the kept ones (``replace``: only the
        active one, or the last) or join them (the oldest inactive ones beyond
        :attr:`MAX_KEPT` are dropped)."""
        if replace:
            self.kept = [st for st in self.pending if st.key == active_key] or self.pending[-1:]
        else:
            self.kept += self.pending
            while len(self.kept) > self.MAX_KEPT:
                drop = next((i for i, st in enumerate(self.kept) if st.key != active_key), None)
                if drop is None:
                    break
                self.kept.pop(drop)
        self.pending = []

    def discard_pending(self):
        self.pending = []

    def to_trees(self) -> list[dict]:
        return [st.to_tree() for st in self.kept]

    def load_trees(self, trees, n_created: int | None):
        """The kept states of a restart (``n_created`` None: as many as there are)."""
        self.kept = [FlowState.from_tree(d) for d in trees]
        self.n_created = len(self.kept) if n_created is None else int(n_created)
        self.pending = []


def digest(*parts) -> str:
    """A short hash of arrays (contents, dtype, shape) and plain values (their repr)."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(np.ascontiguousarray(p).tobytes())
            h.update(str(p.dtype).encode())
            h.update(str(p.shape).encode())
        else:
            h.update(repr(p).encode())
    return h.hexdigest()[:24]


def flow_dev(a, b) -> float:
    """Largest relative difference between two sets of device flows."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    den = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-9)
    return float(np.max(np.abs(a - b) / den)) if a.size else 0.0
