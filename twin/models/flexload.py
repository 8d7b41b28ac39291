"""Flexible training load: slow or defer a share of the GPU work when supply is short.

Pure functions; powers in W, energies in J, fractions 0-1.

A training cluster can run slower (lower clocks or fewer jobs) or postpone jobs when
power is scarce; the demand-response literature calls this temporal flexibility of the
data-center load (Radovanovic, A. et al. (2023) "Carbon-Aware Computing for Datacenters",
*IEEE Trans. Power Systems* 38(2), 1270-1280: Google's carbon-intelligent computing
platform shifts flexible compute within a day against a forecast of carbon-free supply;
Wierman, A. et al. (2014) "Opportunities and challenges for data center demand response",
IGCC 2014). Here the plan is made before the step, on a forecast:

* the rack power is ``P = P_idle + (P_nameplate - P_idle) u`` (the ITE model at the
  design inlet; :mod:`twin.models.it_load`); over the campus ``D = sum (P_n - P_idle) u``
  is the dynamic power, ``I = sum P_idle`` the idle power and ``H = sum (P_n - P_idle)
  (1 - u)`` the headroom to full utilisation;
* the planned facility power is ``F = pue_plan (I + D)`` (``pue_plan`` the facility-to-IT
  ratio the scheduler assumes);
* the supply is the carbon-free supply ``C`` (``trigger = "carbon-free"``) or ``C`` plus
  the grid import cap (``"grid-cap"``);
* where ``F`` exceeds the supply by ``S``, the dynamic power is cut by
  ``min(share D, S / pue_plan)``, every rack's utilisation scaled by ``1 - cut / D``;
* ``mode = "slow"``: the work cut is lost; ``"defer"``: it joins a first-in-first-out
  backlog, run again in later steps with spare supply (``u -> u + g (1 - u)``, the added
  dynamic power ``g H`` within the spare supply over ``pue_plan``); work older than
  ``max_defer_s`` is dropped and counted as lost.

Work is measured as the dynamic energy the racks draw for it at design conditions (J):
at a fixed efficiency it is proportional to GPU operations. The forecast ignores the
temperature dependence of the rack power and the cooling plant's response; the thermal
loop then runs the planned utilisation, so the recorded powers are the model's, not the
forecast's.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from common.errors import InputError

from .inputs import as_array, check_param

__all__ = ["FLEX_MODES", "FLEX_TRIGGERS", "FlexibleLoadSpec", "FlexPlan", "plan_flexible_load",
           "apply_plan"]

FLEX_MODES = ("slow", "defer")
FLEX_TRIGGERS = ("carbon-free", "grid-cap")


@dataclass(frozen=True)
class FlexibleLoadSpec:
    """How much of the GPU work may move, and how (typed record).

    Attributes
    ----------
    share_frac : float
        Share of the dynamic (utilisation) power that may be cut in a step, 0-1.
    mode : str
        ``"slow"`` (the work cut is lost) or ``"defer"`` (run later, within ``max_defer_s``).
    max_defer_s : float
        Longest a deferred piece of work may wait, s.
    planning_pue : float
        Facility power over IT power assumed by the plan, >= 1.
    trigger : str
        ``"carbon-free"`` or ``"grid-cap"`` (see the module docstring).
    """

    share_frac: float
    mode: str = "defer"
    max_defer_s: float = 24 * 3600.0
    planning_pue: float = 1.2
    trigger: str = "carbon-free"

    def __post_init__(self):
        check_param("FlexibleLoadSpec", "share_frac", self.share_frac, 0.0, 1.0)
        check_param("FlexibleLoadSpec", "max_defer_s", self.max_defer_s, 0.0)
        check_param("FlexibleLoadSpec", "planning_pue", self.planning_pue, 1.0, 10.0)
        if self.mode not in FLEX_MODES:
            raise InputError(f"flexible load mode {self.mode!r} is unknown; choose one of {', '.join(FLEX_MODES)}")
        if self.trigger not in FLEX_TRIGGERS:
            raise InputError(f"flexible load trigger {self.trigger!r} is unknown; "
                             f"choose one of {', '.join(FLEX_TRIGGERS)}")


@dataclass(frozen=True)
class FlexPlan:
    """Per-step plan of :func:`plan_flexible_load`.

    ``cut_frac``: utilisation scaled by ``1 - cut_frac``; ``catch_up_frac``: utilisation
    raised by ``catch_up_frac (1 - u)`` (never both in one step). Energies are work in J
    of design dynamic energy per step: ``requested_j`` (the profile's), ``cut_j``,
    ``added_j`` (deferred work run), ``lost_j`` (slowed, or deferred and dropped);
    ``backlog_j`` the deferred work still waiting at the end of the step.
    ``planned_before_w``, ``planned_after_w``: the forecast facility power.
    """

    cut_frac: np.ndarray
    catch_up_frac: np.ndarray
    requested_j: np.ndarray
    cut_j: np.ndarray
    added_j: np.ndarray
    lost_j: np.ndarray
    backlog_j: np.ndarray
    planned_before_w: np.ndarray
    planned_after_w: np.ndarray

    @property
    def done_j(self) -> np.ndarray:
        """Work done per step: requested - cut + added."""
        return self.requested_j - self.cut_j + self.added_j


def plan_flexible_load(idle_w, dynamic_w, headroom_w, supply_w, step_s: float,
                       spec: FlexibleLoadSpec) -> FlexPlan:
    """Plan the cuts and catch-ups of the flexible work over a series of steps.

    Parameters
    ----------
    idle_w, dynamic_w, headroom_w : array_like (n,)
        Campus idle IT power, dynamic IT power at the requested utilisation and headroom
        to full utilisation, W (see the module docstring).
    supply_w : array_like (n,)
        Supply the plan respects (carbon-free, or carbon-free plus the import cap), W.
    step_s : float
    spec : FlexibleLoadSpec

    Returns
    -------
    FlexPlan
        Work closes: ``sum requested - sum cut + sum added = sum done`` and
        ``sum cut = sum added + sum lost + backlog at the end``.
    """
    idle = as_array("idle_w", idle_w, nonnegative=True).ravel()
    dyn = as_array("dynamic_w", dynamic_w, nonnegative=True).ravel()
    head = as_array("headroom_w", headroom_w, nonnegative=True).ravel()
    sup = as_array("supply_w", supply_w, nonnegative=True).ravel()
    n = dyn.size
    if not (idle.size == head.size == sup.size == n):
        raise InputError("plan_flexible_load: idle, dynamic, headroom and supply differ in length")
    if not step_s > 0:
        raise InputError(f"plan_flexible_load: step_s = {step_s!r} must be > 0")
    pue = spec.planning_pue
    before = pue * (idle + dyn)
    cut_w = np.zeros(n)
    add_w = np.zeros(n)
    lost = np.zeros(n)
    backlog_end = np.zeros(n)
    queue: deque = deque()               # [step it was cut, joules waiting]
    max_age = spec.max_defer_s / step_s
    for k in range(n):
        while queue and k - queue[0][0] > max_age - 1e-9:
            lost[k] += queue.popleft()[1]
        short = before[k] - sup[k]
        if short > 0.0 and dyn[k] > 0.0:
            c = min(spec.share_frac * dyn[k], short / pue)
            cut_w[k] = c
            if spec.mode == "slow":
                lost[k] += c * step_s
            else:
                queue.append([k, c * step_s])
        elif short < 0.0 and queue and head[k] > 0.0:
            waiting = sum(q[1] for q in queue)
            a = min(head[k], -short / pue, waiting / step_s)
            add_w[k] = a
            take = a * step_s
            while take > 0.0 and queue:
                q = queue[0]
                if q[1] <= take:
                    take -= q[1]
                    queue.popleft()
                else:
                    q[1] -= take
                    take = 0.0
        backlog_end[k] = sum(q[1] for q in queue)
    with np.errstate(divide="ignore", invalid="ignore"):
        cut_frac = np.where(dyn > 0, cut_w / np.where(dyn > 0, dyn, 1.0), 0.0)
        catch = np.where(head > 0, add_w / np.where(head > 0, head, 1.0), 0.0)
    return FlexPlan(cut_frac=cut_frac, catch_up_frac=np.clip(catch, 0.0, 1.0),
                    requested_j=dyn * step_s, cut_j=cut_w * step_s, added_j=add_w * step_s,
                    lost_j=lost, backlog_j=backlog_end, planned_before_w=before,
                    planned_after_w=pue * (idle + dyn - cut_w + add_w))


def apply_plan(utilization, plan: FlexPlan) -> np.ndarray:
    """Utilisation after the plan: ``u (1 - cut)`` or ``u + g (1 - u)`` per step.

    Parameters
    ----------
    utilization : array_like (n, racks) or (n,)
    plan : FlexPlan
    """
    u = as_array("utilization", utilization, nonnegative=True)
    cut = plan.cut_frac.reshape((-1,) + (1,) * (u.ndim - 1))
    g = plan.catch_up_frac.reshape(cut.shape)
    return np.clip(u * (1.0 - cut) + g * (1.0 - u), 0.0, 1.0)
