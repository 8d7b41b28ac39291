"""How many more racks of a type a hall takes, and where (``twin capacity``).

What is searched:

1. **Candidate positions** continue the existing rows along their aisles: past each end
   of every row, one rack width after another, intakes on the row's front line (the same
   aisle), until the hall's wall. With ``tiles`` (default) a new rack on a raised floor
   whose row has perforated tiles in front gets a strip of the same tiles (one tile,
   0.6 m, deep; clipped where tiles already lie). Positions are added to the facility in
   order and each addition is checked by the facility validator (overlaps, clearances,
   inside the hall); a position that fails ends that row end (rows do not jump over an
   obstacle).
2. **Order**: row ends are filled from the end whose next position draws the coolest air
   in the baseline solution (mean air temperature of the 0.6 m in front of the intake, over
   the rack's height); positions of one row end stay contiguous.
3. **Search**: the first ``n`` positions of that order are added and the hall solved to
   steady state; the criterion is every rack inlet (intake-face mean) at or below the
   ASHRAE recommended 27 degC and RCI_HI >= 95 % (over every intake cell). Assuming more
   racks never cool the hall, the largest passing ``n`` is found by a k-ary search (k =
   the number of workers, bisection with one), each round solved in parallel on Dask.

Over-cooling (inlets under 18 degC) is not treated as a limit: added racks only warm the
hall. New racks run at ``utilization`` (default 1: design power).
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from common.errors import InputError
from twin.models.metrics import RECOMMENDED_MAX_C
from twin.studies.cases import Case
from twin.studies.whatif import run_case

#: RCI_HI below this fails the capacity criterion [%] (Herrlin 2005: >= 96 good, 91-95 acceptable).
RCI_HI_MIN_PCT = 95.0
_AXIS = {"+x": 0, "-x": 0, "+y": 1, "-y": 1}
_SIGN = {"+x": 1, "-x": -1, "+y": 1, "-y": -1}
_TILE_M = 0.6
_TOL = 1e-6


def passes(rec: dict, rci_min: float = RCI_HI_MIN_PCT) -> bool:
    """Capacity criterion on a :func:`twin.studies.whatif.run_case` record (a case whose solve
    diverged counts as failing)."""
    if rec.get("error"):
        return False
    return rec["inlet_max_c"] <= RECOMMENDED_MAX_C + 1e-9 and rec["rci_hi_pct"] >= rci_min


def _row_groups(lay):
    rows = {}
    for r in lay.racks:
        if r.row is not None:
            rows.setdefault(r.row, []).append(r)
    return rows


def _subtract(lo, hi, cuts):
    """Pieces of [lo, hi] not covered by the intervals ``cuts``."""
    pieces = [(lo, hi)]
    for a, b in cuts:
        nxt = []
        for p, q in pieces:
            if b <= p + _TOL or a >= q - _TOL:
                nxt.append((p, q))
                continue
            if a > p + _TOL:
                nxt.append((p, a))
            if b < q - _TOL:
                nxt.append((b, q))
        pieces = nxt
    return pieces


def candidate_positions(facility, hall_name: str, rack_type: str, tiles: bool = True) -> list[dict]:
    """Every position that continues a row of the hall (unordered, unvalidated)."""
    lay = facility.layout(hall_name)
    rt = facility.rack_types[rack_type]
    hall = lay.hall
    size = (hall.length_m, hall.width_m)
    out = []
    for row, racks in _row_groups(lay).items():
        facing = racks[0].facing
        if any(r.facing != facing for r in racks):
            continue
        f = _AXIS[facing]
        a = 1 - f                                   # the row runs along this axis
        s = _SIGN[facing]
        lo = min(r.box.lo(a) for r in racks)
        hi = max(r.box.hi(a) for r in racks)
        front = max(r.box.hi(f) for r in racks) if s > 0 else min(r.box.lo(f) for r in racks)
        back0 = front - rt.depth_m if s > 0 else front     # lower corner across the row
        # tiles in front of this row: the template for new ones
        strip = sorted((front, front + s * _TILE_M))
        tmpl = None
        for op in lay.openings:
            if op.kind != "tile":
                continue
            x0, x1, y0, y1 = op.rect
            r_lo, r_hi = ((x0, x1), (y0, y1))[a]
            c_lo, c_hi = ((x0, x1), (y0, y1))[f]
            if min(r_hi, hi) - max(r_lo, lo) > _TOL and min(c_hi, strip[1]) - max(c_lo, strip[0]) > _TOL:
                tmpl = next(t for t in hall.tiles if op.path.endswith(f"[{t.name}]"))
                break
        for side, sign in (("E", 1), ("S", -1)):
            k = 0
            while True:
                start = hi + k * rt.width_m if sign > 0 else lo - (k + 1) * rt.width_m
                if start < -_TOL or start + rt.width_m > size[a] + _TOL:
                    break
                k += 1
                xy = [0.0, 0.0]
                xy[a], xy[f] = start, back0
                cand = {"name": f"{row}-{side}{k}", "row": row, "end": "end" if sign > 0 else "start",
                        "order": k, "type": rack_type, "x_m": round(xy[0], 6),
                        "y_m": round(xy[1], 6), "facing": facing, "along": a, "across": f,
                        "span": (start, start + rt.width_m), "front_m": front, "sign": s,
                        "height_m": rt.height_m, "tile": None}
                if tiles and tmpl is not None and hall.raised_floor_height_m > 0:
                    cand["tile"] = _tile_for(cand, tmpl, lay, strip)
                out.append(cand)
    return out


def _tile_for(cand, tmpl, lay, strip):
    a, f = cand["along"], cand["across"]
    cuts = []
    for op in lay.openings:
        if op.kind != "tile":
            continue
        x0, x1, y0, y1 = op.rect
        c_lo, c_hi = ((x0, x1), (y0, y1))[f]
        if min(c_hi, strip[1]) - max(c_lo, strip[0]) > _TOL:
            cuts.append(((x0, x1), (y0, y1))[a])
    pieces = [p for p in _subtract(*cand["span"], cuts) if p[1] - p[0] >= 0.1]
    if not pieces:
        return None
    p, q = max(pieces, key=lambda pq: pq[1] - pq[0])
    lo3, size = [0.0, 0.0], [0.0, 0.0]
    lo3[a], size[a] = p, q - p
    lo3[f], size[f] = strip[0], strip[1] - strip[0]
    t = {"name": f"T-{cand['name']}", "x_m": round(lo3[0], 6), "y_m": round(lo3[1], 6),
         "length_m": round(size[0], 6), "width_m": round(size[1], 6)}
    if tmpl.open_area_frac is not None:
        t["open_area_frac"] = tmpl.open_area_frac
    else:
        t["k_loss"] = tmpl.k_loss
    return t


def _front_air_c(cand, solver, floor_m) -> float:
    """Mean baseline air temperature in the 0.6 m in front of a candidate's intake."""
    g = solver.problem.grid
    T = solver.backend.to_host(solver.T)
    fluid = solver.problem.fluid_mask
    lo, hi = [0.0] * 3, [0.0] * 3
    lo[cand["along"]], hi[cand["along"]] = cand["span"]
    c0, c1 = sorted((cand["front_m"], cand["front_m"] + cand["sign"] * _TILE_M))
    lo[cand["across"]], hi[cand["across"]] = c0, c1
    lo[2], hi[2] = floor_m, floor_m + cand["height_m"]
    sl = []
    for ax in range(3):
        c = g.centers(ax)
        idx = np.flatnonzero((c >= lo[ax] - 1e-9) & (c <= hi[ax] + 1e-9))
        if idx.size == 0:                      # thinner than a cell: the nearest one
            idx = np.array([int(np.argmin(np.abs(c - 0.5 * (lo[ax] + hi[ax]))))])
        sl.append(slice(idx[0], idx[-1] + 1))
    blk, ok = T[tuple(sl)], fluid[tuple(sl)]
    return float(blk[ok].mean()) if ok.any() else float("inf")


def _add(doc, hall_name, cand):
    h = next(h for h in doc["halls"] if h["name"] == hall_name)
    h.setdefault("racks", []).append({"name": cand["name"], "type": cand["type"],
                                      "x_m": cand["x_m"], "y_m": cand["y_m"],
                                      "facing": cand["facing"]})
    if cand["tile"] is not None:
        h.setdefault("tiles", []).append(dict(cand["tile"]))


def ordered_candidates(facility, hall_name, cands, baseline_solver, max_add=None):
    """Order by coolest front air (contiguous per row end) and keep those the facility
    validator accepts, one after the other. Returns (accepted, skipped, facilities) where
    ``facilities[n]`` is the facility with the first ``n`` accepted positions."""
    from twin.facility import FacilityError, parse_facility
    floor = facility.hall(hall_name).raised_floor_height_m
    queues = {}
    for c in cands:
        queues.setdefault((c["row"], c["end"]), []).append(c)
    for q in queues.values():
        q.sort(key=lambda c: c["order"])
    doc = copy.deepcopy(facility.to_dict())
    accepted, skipped, facs = [], [], [facility]
    while queues and (max_add is None or len(accepted) < max_add):
        key = min(queues, key=lambda k: (_front_air_c(queues[k][0], baseline_solver, floor), k))
        c = queues[key].pop(0)
        if not queues[key]:
            del queues[key]
        trial = copy.deepcopy(doc)
        _add(trial, hall_name, c)
        try:
            fac = parse_facility(trial, source=facility.source, origins=facility._origins)
        except FacilityError as exc:
            msg = exc.errors[0].message if exc.errors else str(exc)
            skipped.append({"name": c["name"], "x_m": c["x_m"], "y_m": c["y_m"], "reason": msg})
            for rest in queues.pop(key, []):
                skipped.append({"name": rest["name"], "x_m": rest["x_m"], "y_m": rest["y_m"],
                                "reason": f"beyond {c['name']}, which does not fit"})
            continue
        c["front_air_c"] = _front_air_c(c, baseline_solver, floor)
        doc = trial
        accepted.append(c)
        facs.append(fac)
    return accepted, skipped, facs


def check_rack_type(facility, rack_type: str) -> None:
    """Refuse a rack type the facility does not define, with the nearest name."""
    if rack_type not in facility.rack_types:
        import difflib
        m = difflib.get_close_matches(rack_type, list(facility.rack_types), n=1)
        hint = f" (did you mean '{m[0]}'?)" if m else ""
        raise InputError(f"--rack-type {rack_type}: no such rack type{hint}; types: "
                         f"{', '.join(sorted(facility.rack_types)) or '(none)'}")


def find_capacity(facility, hall=None, rack_type: str = "", cell_m: float = 0.3,
                  backend="auto", settings=None, utilization: float = 1.0, tiles: bool = True,
                  max_add: int | None = 40, rci_min: float = RCI_HI_MIN_PCT, scheduler=None,
                  workers=None, progress=None, coarse_start: bool = False,
                  rack_model: str = "ite",
                  dashboard: str | None = None) -> dict:
    """Search for the number of racks of ``rack_type`` the hall takes (module docstring).

    ``coarse_start``: every steady solve (the baseline and each count tried) starts from
    a solve on a coarser grid (:func:`twin.thermal.steady.steady_solve`).

    Returns ``count``, ``positions`` (the racks to add, in order, with tiles), the
    metrics at ``count`` (``at_count``), what fails at ``count + 1`` (``limit``), every
    evaluation, the skipped positions, ``facility_toml`` (the facility with the racks,
    expanded), ``base_toml`` (the facility as read, expanded) and ``source`` (its file);
    :func:`write_capacity_outputs` writes the racks as a change of ``base_toml``.
    """
    from twin.studies.sweep import TaskRunner
    from twin.studies.whatif import solve_case
    hall_name = facility.hall(hall).name
    check_rack_type(facility, rack_type)
    if not 0.0 <= utilization <= 1.0:
        raise InputError(f"--utilization {utilization}: give a number between 0 and 1")
    if max_add is not None and max_add < 0:
        raise InputError(f"--max-add {max_add}: give a number >= 0")
    evals = {}

    def note(n, rec):
        evals[n] = rec
        if progress:
            progress(n, rec)

    base_sol = solve_case(facility, hall_name, cell_m=cell_m, backend=backend,
                          settings=settings, utilization=utilization,
                          coarse_start=coarse_start, rack_model=rack_model)
    base = {"case": "+0", "label": "baseline", "converged": base_sol.summary["converged"],
            "iterations": base_sol.summary["iterations"],
            "coarse_start": base_sol.summary.get("coarse_start")}
    base.update(base_sol.summary["metrics"])
    note(0, base)
    cands = candidate_positions(facility, hall_name, rack_type, tiles=tiles)
    accepted, skipped, facs = ordered_candidates(facility, hall_name, cands, base_sol.solver,
                                                 max_add=max_add)
    del base_sol
    N = len(accepted)
    lo, hi = 0, N + 1                       # lo passes (or is 0), hi fails (N + 1: sentinel)
    if not passes(base, rci_min):
        hi = 0
    else:
        with TaskRunner(n_tasks=max(N, 1), scheduler=scheduler, workers=workers,
                        backend=backend, dashboard=dashboard) as runner:
            k = runner.n_workers
            while hi - lo > 1:
                pts = sorted({min(hi - 1, max(lo + 1, round(lo + (hi - lo) * j / (k + 1))))
                              for j in range(1, k + 1)})
                tasks = [(Case(f"+{n}", f"{n} more", facs[n], utilization=utilization),
                          hall_name, cell_m, backend, settings, coarse_start, rack_model)
                         for n in pts]
                recs = runner.map(run_case, tasks)
                for n, rec in zip(pts, recs):
                    note(n, rec)
                ok = [n for n, rec in zip(pts, recs) if passes(rec, rci_min)]
                bad = [n for n, rec in zip(pts, recs) if not passes(rec, rci_min)]
                if bad:
                    hi = min(bad)
                ok = [n for n in ok if n < hi]
                if ok:
                    lo = max(ok)
    count = lo if hi > 0 else 0
    positions = [{k: c[k] for k in ("name", "type", "x_m", "y_m", "facing", "row", "end",
                                    "front_air_c")} | {"device": f"{hall_name}/{c['name']}",
                                                       "tile": c["tile"]}
                 for c in accepted[:count]]
    if hi == 0:
        limit = {"n": 0, "why": _why(evals[0], rci_min)}
    elif hi <= N:
        limit = {"n": hi, "why": _why(evals[hi], rci_min)}
    else:
        limit = {"n": None, "why": f"every one of the {N} free positions along the rows passes: "
                 "floor space (in line with the rows) runs out before cooling does"}
    return {"hall": hall_name, "rack_type": rack_type, "count": count, "positions": positions,
            "candidates": N, "skipped": skipped, "baseline_passes": hi > 0,
            "at_count": _strip(evals.get(count, base)), "limit": limit,
            "evaluations": [{"n": n, "passes": passes(r, rci_min), **_strip(r)}
                            for n, r in sorted(evals.items())],
            "criterion": {"inlet_max_c": RECOMMENDED_MAX_C, "rci_hi_min_pct": rci_min},
            "cell_m": float(cell_m), "utilization": float(utilization),
            "facility_toml": facs[count].to_toml() if count < len(facs) else "",
            "base_toml": facility.to_toml(), "source": str(facility.source or "")}


def _strip(rec):
    return {k: v for k, v in rec.items() if k not in ("racks", "delta", "changes")}


def _why(rec, rci_min) -> str:
    if rec.get("error"):
        return f"the solve failed, counted as over the limit: {rec['error']}"
    parts = []
    if rec["inlet_max_c"] > RECOMMENDED_MAX_C:
        parts.append(f"rack {rec['worst_rack']} inlet {rec['inlet_max_c']:.1f} degC > "
                     f"{RECOMMENDED_MAX_C:g} degC")
    if rec["rci_hi_pct"] < rci_min:
        parts.append(f"RCI_HI {rec['rci_hi_pct']:.1f} % < {rci_min:g} %")
    return "; ".join(parts) or "passes"


#: The facility as ``twin capacity`` read it, beside the change that includes it.
BASE_NAME = "facility-base.toml"


def change_toml(result: dict, base_name: str = BASE_NAME) -> str:
    """The racks (and tiles) to add as a small facility file that includes ``base_name``
    and names the hall, so that the facility loader's merge-by-name rule appends them to
    the hall's ``racks`` and ``tiles`` (``docs/facility-format.md``). Loading it gives the
    facility the search solved with ``count`` racks added."""
    import tomli_w
    racks = [{k: p[k] for k in ("name", "type", "x_m", "y_m", "facing")}
             for p in result["positions"]]
    tiles = [dict(p["tile"]) for p in result["positions"] if p["tile"] is not None]
    hall = {"name": result["hall"], "racks": racks, **({"tiles": tiles} if tiles else {})}
    head = (f"# twin capacity: {result['count']} more {result['rack_type']} rack(s) in hall "
            f"{result['hall']},\n# in the order to place them"
            + (", each with a perforated tile in front" if tiles else "") + ".\n"
            f"# A change of {base_name}, the facility as read from\n"
            f"# {result.get('source') or 'its file'} (expanded): the hall named here is that "
            "hall,\n# and its racks and tiles are appended to its own (docs/facility-format.md, "
            "\"Changing an\n# included facility\").\n")
    return head + tomli_w.dumps({"format_version": 1, "include": [base_name], "halls": [hall]})


def write_capacity_outputs(out_dir, result: dict) -> list[Path]:
    """``capacity.json`` and, when racks fit, ``facility-plus-N.toml``: a small change
    (:func:`change_toml`) that includes ``facility-base.toml``, the facility as read
    (expanded, so that the folder holds everything the change needs); each written
    atomically."""
    from twin.outputs.files import atomic_write, write_json
    out = Path(out_dir)
    data = {k: v for k, v in result.items() if k not in ("facility_toml", "base_toml")}
    write_json(out / "capacity.json", data)
    files = [out / "capacity.json"]
    if result["count"] > 0:
        base = (f"# The facility twin capacity read ({result.get('source') or 'its file'}); "
                f"facility-plus-{result['count']}.toml includes it.\n" + result["base_toml"])
        name = f"facility-plus-{result['count']}.toml"
        change = change_toml(result)
        atomic_write(out / BASE_NAME, lambda p: p.write_text(base, encoding="utf-8"))
        atomic_write(out / name, lambda p: p.write_text(change, encoding="utf-8"))
        files += [out / BASE_NAME, out / name]
    return files

