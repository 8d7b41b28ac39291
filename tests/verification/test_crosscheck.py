"""The twin against another CFD code: OpenFOAM on the reference halls (issue 18).

The references were computed once with OpenFOAM v1912 (``buoyantBoussinesqSimpleFoam``,
k-epsilon with wall functions) by ``python -m benchmarks.validation run CASE`` and are
committed in ``benchmarks/validation/results/<case>.json``; ``docs/validation.md`` shows
them. Here the twin solves each case again, from the same :class:`kernels.Problem`, and
its per-rack intake means are held to the targets: within ``RMS_TARGET_K`` (1 K) RMS of
the reference and every rack within ``MAX_TARGET_K`` (2 K).

Each reference states its own uncertainty where it was measured: the batch-means
standard error of every rack intake mean (``intake_se_k``; the small hall's and the
floor-diffuser halls' references are time averages of a transient run,
benchmarks/results/openfoam-returns-2026-12-07.md, openfoam-transient-2026-12-07.md).
The targets are judged against it at 2 standard errors (``crosscheck.verdict``): within,
a miss, or undecided (the reference cannot tell). A reference that states no error
(the SIMPLE iteration averages of the other halls) counts as exact, and its uncertainty
test is an expected failure that prints the swing of its intakes.

Cases that miss today are expected failures that print the measured figure (the thermal
core v2, issue 23, is to close them); a known miss that is within its targets fails, so
that the list is kept true.

The suite solves the 0.2 m cases of the small, slab-ceiling and floor-diffuser halls
again (about 15-25 s each on 2 cores). The AI hall (115,500 cells, ~80 s a solve) and the
0.1 m case are held to the same targets through the twin's answers stored by
``python -m benchmarks.validation run --twin-only CASE`` (``<case>-twin.json``, with the
commit that made them); rerun that after a change to the thermal core. Their solves are
also guarded by the stored answers of tests/regression (the AI hall at 0.3 m).
"""
import json

import numpy as np
import pytest

from benchmarks.validation.crosscheck import (CASES, COVERAGE, EXPERIMENTS, MAX_TARGET_K,
                                              RMS_TARGET_K, SE_LIMIT_K, compare, problem_for,
                                              result_path, twin_answer, twin_path, verdict)
from benchmarks.validation.openfoam import BATCHES

#: Cases whose stored reference exists.
LIVE = [n for n in CASES if result_path(n).exists()]
#: Too long to solve in the suite: compared through the twin's stored answer.
STORED = {"ai-hall-hi", "ai-hall-lo", "floor-diffusers-lo-0.1"}

#: Known misses: case -> what the thermal core lacks (measured figures are printed).
#: Measured 2026-12-06 (docs/validation.md): the twin is cooler than k-epsilon where hot
#: air recirculates (row ends, supply short of the racks' airflow, floor-diffuser jets).
_RECIRCULATION = "the twin under-predicts hot-air recirculation; thermal core v2, issue 23"
KNOWN_MISSES = {
    "small-hall-hi": _RECIRCULATION,
    "small-hall-lo": _RECIRCULATION,
    "ai-hall-lo": "with the doors as their gaps (2026-12-08) the row end AI-1/B/01 agrees "
                  "(-0.7 K; it was -5.7 K beside a zone4 door that leaked 2.3 m3/s); the "
                  "reference's row N is now 3-4.4 K hotter than the twin's (32-36 degC), "
                  "RMS 1.65 K; its SIMPLE run does not settle (SHORT_AVERAGES) and the "
                  "twin's flow does not settle in 20,000 steps; issues 18 and 23",
    "floor-diffusers-lo": _RECIRCULATION,
    "floor-diffusers-lo-0.1": _RECIRCULATION,
}


#: References known to be weak: case -> why (their soundness check is an expected failure).
WEAK_REFERENCES = {
    "floor-diffusers-lo-0.1": "3,000 SIMPLE iterations averaged over the last 1,500: the floor "
                              "jets keep the intakes swinging (up to 8.1 K) and the heat balance "
                              "is 1.2 % off; a longer run or a transient average is needed",
}


#: References whose loss faces pass far more than their loss allows at the pressure
#: difference across them (test_reference_holds_its_losses): case -> what was measured.
#: Empty since the doors are stated as their gaps (foamcase "gaps", 2026-12-08): with
#: 4-cell zones across the whole door the AI hall's start doors passed 8-10 times their
#: loss's flow and the slab-ceiling hall's 3.4-4.6 times (door-leaks-2026-12-07.md; those
#: references are kept as <case>-zone4.json).
LEAKY_LOSS_FACES: dict[str, str] = {}
#: Share of the larger of the monitored and the loss's flow by which they may differ: the
#: static pressure three cells from the face also carries the jets' own pressure changes.
LOSS_FLOW_TOL = 0.25


#: References whose average is too short for every rack's standard error to be within
#: SE_LIMIT_K: case -> why (their uncertainty test is an expected failure that prints it).
SHORT_AVERAGES = {
    "small-hall-lo": "240 s of time average; H1/B/01's intake swings by 6.3 K in slow excursions "
                     "(0.31-0.34 K in both references, tiles as 1- and 4-cell zones): about "
                     "500 s are needed",
    "ai-hall-lo": "SIMPLE with the doors as their gaps does not settle: 2,400 iterations "
                  "(seeded by 1,600) averaged over the last 1,200, AI-1/B/07 still "
                  "0.52 K uncertain (batch means); a transient reference "
                  "is needed",
    "slab-ceiling-lo": "600 s of time average from rest with the doors as their gaps "
                       "(2026-12-08); H1/A/03 and H1/B/03 at 0.40 K in slow excursions: "
                       "about 1,500 s are needed (the zone4 reference's were 0.02-0.13 K "
                       "over 300 s)",
}


def _reference(name):
    return json.loads(result_path(name).read_text())


@pytest.mark.parametrize("name", LIVE)
def test_reference_is_sound(name):
    """The stored OpenFOAM answer itself: settled, heat closed, complete."""
    r = _reference(name)
    of = r["openfoam"]
    settled = of["run"]["stopped_by"].startswith("intakes settled")
    # a transient's answer is its time average (the hall's stored heat may still change a
    # little over the window: held to the same 1 % as an iteration average)
    # either settled, or answered by the iteration average with each rack's swing stored
    assert settled or (of["averaged"] and all("intake_swing_k" in x for x in of["racks"])), of["run"]
    # exact for a settled run; the iteration average of a swinging one closes to within
    # 0.7 % (small-hall-lo, intakes swinging up to 4.9 K)
    imb = of["energy_budget"]["imbalance_frac"]
    limit = 1e-3 if settled else 1e-2
    if name in WEAK_REFERENCES:
        if abs(imb) < limit:
            pytest.fail(f"{name}: heat now closes ({imb:+.2%}); remove it from WEAK_REFERENCES")
        pytest.xfail(f"{name}: OpenFOAM heat imbalance {imb:+.2%} after "
                     f"{of['iterations']} iterations ({WEAK_REFERENCES[name]})")
    assert abs(imb) < limit, of["energy_budget"]
    problem, _ = problem_for(CASES[name])
    assert [x["name"] for x in of["racks"]] == [d.name for d in problem.racks]
    assert r["cells"] == problem.grid.cells and r["fluid_cells"] == int(problem.fluid_mask.sum())
    for x in of["racks"]:
        assert np.isfinite(x["intake_temp_c"]) and x["intake_max_c"] >= x["intake_temp_c"]
    assert of["version"].startswith("OpenFOAM v1912")
    assert of["iterations"] > 0 and of["execution_time_s"] > 0
    assert result_path(name).with_name(f"{name}-fields.npz").exists()


@pytest.mark.parametrize("name", LIVE)
def test_reference_holds_its_losses(name):
    """Every loss face group of the reference (tiles, door leaks) passes the flow its loss
    coefficient gives at the pressure difference the reference has across it
    (``openfoam.loss_pressure_differences``), within LOSS_FLOW_TOL."""
    of = _reference(name)["openfoam"]
    problem, _ = problem_for(CASES[name])
    recs = of.get("resistances", [])
    assert sorted(x["name"] for x in recs) == sorted(r.name for r in problem.resistances)
    if not recs:
        return                                  # no loss faces: nothing to hold
    if not all("loss_flow_m3_s" in x for x in recs):
        pytest.xfail(f"{name}: the pressure difference across its loss faces is not recorded "
                     "(the case folder is gone; rerun, or --read-only where it exists)")
    bad = []
    for x in recs:
        q, ql = x["net_flow_m3_s"], x["loss_flow_m3_s"]
        line = (f"{name}: {x['name']}: {q:+.3f} m3/s monitored, {ql:+.3f} m3/s from its loss "
                f"at dp {x['dp_m2_s2']:+.2f} m2/s2")
        print(line)
        if abs(q - ql) > LOSS_FLOW_TOL * max(abs(q), abs(ql)):
            bad.append(line)
    if name in LEAKY_LOSS_FACES:
        if not bad:
            pytest.fail(f"{name}: its loss faces now hold; remove it from LEAKY_LOSS_FACES")
        pytest.xfail(f"{name}: {LEAKY_LOSS_FACES[name]}")
    assert not bad, "; ".join(bad)


@pytest.mark.parametrize("name", LIVE)
def test_reference_uncertainty(name):
    """The reference's own error: stated, consistent with its record, small enough to
    judge the 1 K target (every rack's standard error within SE_LIMIT_K)."""
    of = _reference(name)["openfoam"]
    racks = of["racks"]
    if not any("intake_se_k" in x for x in racks):
        swing = max(x.get("intake_swing_k", 0.0) for x in racks)
        pytest.xfail(f"{name}: no stated uncertainty ({of['iterations']:,} SIMPLE iterations, "
                     f"iteration average; rack intakes swing up to {swing:.2f} K over it)")
    u = of["uncertainty"]
    assert u["method"] == "batch means" and u["batches"] == BATCHES
    assert u["window"][1] > u["window"][0] >= 0
    for x in racks:
        bm = np.array(x["intake_batch_means_c"])
        assert len(bm) == BATCHES
        # the stored error is the batch means' own, and their mean is the monitor's mean
        assert x["intake_se_k"] == pytest.approx(bm.std(ddof=1) / np.sqrt(BATCHES), rel=1e-9)
        assert bm.mean() == pytest.approx(x["intake_monitor_mean_c"], abs=0.05)
        # the field average read on the grid agrees with the intake monitor
        assert x["intake_temp_c"] == pytest.approx(x["intake_monitor_mean_c"], abs=0.05)
    worst = max(racks, key=lambda x: x["intake_se_k"])
    msg = (f"{name}: {worst['name']}'s intake mean is {worst['intake_se_k']:.2f} K uncertain "
           f"(1 SE over {u['window'][1] - u['window'][0]:g} {u['basis']}; limit {SE_LIMIT_K} K)")
    print(msg)
    if name in SHORT_AVERAGES:
        if worst["intake_se_k"] <= SE_LIMIT_K:
            pytest.fail(f"{msg}: now within the limit; remove it from SHORT_AVERAGES")
        pytest.xfail(f"{msg}: {SHORT_AVERAGES[name]}")
    assert worst["intake_se_k"] <= SE_LIMIT_K, f"{msg}: average longer (--extend)"


def _check(name, twin_racks, how):
    r = _reference(name)
    c = compare(r["openfoam"]["racks"], twin_racks)
    swing = max(x.get("intake_swing_k", 0.0) for x in r["openfoam"]["racks"])
    ref_err = (f"reference error up to {c['max_se_k']:.2f} K (1 SE, batch means)"
               if c["se_known"] else f"reference error not stated (swing up to {swing:.2f} K)")
    v = verdict(c)
    msg = (f"{name}: twin ({how}) - OpenFOAM rack intake means over {c['racks']} racks: RMS "
           f"{c['rms_k']:.2f} +- {COVERAGE * c['rms_se_k']:.2f} K (target {RMS_TARGET_K} K), "
           f"mean {c['mean_k']:+.2f} K, worst {c['worst_rack']} {c['worst_k']:+.2f} +- "
           f"{COVERAGE * c['worst_se_k']:.2f} K (target {MAX_TARGET_K} K); {ref_err}; "
           f"verdict at {COVERAGE:g} SE: {v}")
    print(msg)
    for x in c["per_rack"]:
        print(f"  {x['name']}: {x['difference_k']:+.2f} +- {COVERAGE * x['se_k']:.2f} K")
    if name in KNOWN_MISSES:
        if v == "within":
            pytest.fail(f"{msg}: now within the targets; remove it from KNOWN_MISSES")
        pytest.xfail(f"{msg} ({KNOWN_MISSES[name]})")
    assert v == "within", msg


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in LIVE if n not in STORED])
def test_twin_against_openfoam(name):
    ans = twin_answer(CASES[name], coarse_start=True)
    _check(name, ans["racks"], f"solved now, {ans['iterations']} steps"
           + ("" if ans["converged"] else ", NOT settled"))


@pytest.mark.parametrize("name", [n for n in LIVE if n in STORED])
def test_stored_twin_answer_against_openfoam(name):
    path = twin_path(name)
    assert path.exists(), (f"{path.name} is missing: python -m benchmarks.validation run "
                           f"--twin-only {name}")
    ans = json.loads(path.read_text())
    problem, _ = problem_for(CASES[name])
    assert [x["name"] for x in ans["racks"]] == [d.name for d in problem.racks]
    _check(name, ans["racks"], f"stored at {ans['commit']}, {ans['iterations']} steps"
           + ("" if ans["converged"] else ", NOT settled"))


def test_return_treatment_experiment():
    """Issue 23's question, answered by the committed experiment: the small hall at 0.8x
    with the CRAH returns as fixed-pressure openings moves no rack intake by 1 K or more
    against the fixed-flow reference (benchmarks/results/openfoam-returns-2026-12-07.md)."""
    exp = EXPERIMENTS["small-hall-lo-pressure-returns"]
    r = json.loads(result_path(exp.name).read_text())
    ref = _reference(exp.reference_of)
    of, of_ref = r["openfoam"], ref["openfoam"]
    assert of["settings"]["returns"] == "pressure" and of_ref["settings"]["returns"] == "flow"
    assert of["mode"] == of_ref["mode"] == "transient"
    # the returns' flow is free: together they take the supplies' flow, and the heat closes
    q = sum(u["return_flow_m3_s"] for u in of["cooling_units"])
    assert q == pytest.approx(r["unit_flow_m3_s"], rel=0.01)
    assert abs(of["energy_budget"]["imbalance_frac"]) < 0.01
    base = {x["name"]: x for x in of_ref["racks"]}
    assert [x["name"] for x in of["racks"]] == list(base)
    for x in of["racks"]:
        b = base[x["name"]]
        d = x["intake_temp_c"] - b["intake_temp_c"]
        se = np.hypot(x["intake_se_k"], b["intake_se_k"])
        print(f"{x['name']}: pressure - flow returns {d:+.2f} +- {COVERAGE * se:.2f} K")
        assert abs(d) < RMS_TARGET_K, (x["name"], d, se)
