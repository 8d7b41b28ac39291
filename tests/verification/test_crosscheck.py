"""The twin against another CFD code: OpenFOAM on the reference halls (issue 18).

The references were computed once with OpenFOAM v1912 (``buoyantBoussinesqSimpleFoam``,
k-epsilon with wall functions) by ``python -m benchmarks.validation run CASE`` and are
committed in ``benchmarks/validation/results/<case>.json``; ``docs/validation.md`` shows
them. Here the twin solves each case again, from the same :class:`kernels.Problem`, and
its per-rack intake means are held to the targets: within ``RMS_TARGET_K`` (1 K) RMS of
the reference and every rack within ``MAX_TARGET_K`` (2 K).

Cases that miss today are expected failures that print the measured figure (the thermal
core v2, issue 23, is to close them); a known miss that starts to pass fails, so that
the list is kept true.
"""
import json

import numpy as np
import pytest

from benchmarks.validation.crosscheck import (CASES, MAX_TARGET_K, RMS_TARGET_K, compare,
                                              result_path, twin_answer)

#: Cases whose stored reference exists and that the suite solves with the twin.
LIVE = [n for n in CASES if result_path(n).exists()
        and "openfoam" in json.loads(result_path(n).read_text())]

#: Known misses: case -> what the thermal core lacks (measured figures are printed).
KNOWN_MISSES = {}


def _reference(name):
    return json.loads(result_path(name).read_text())


@pytest.mark.parametrize("name", LIVE)
def test_reference_is_sound(name):
    """The stored OpenFOAM answer itself: settled, heat closed, complete."""
    r = _reference(name)
    of = r["openfoam"]
    assert of["run"]["stopped_by"].startswith("intakes settled"), of["run"]
    assert abs(of["energy_budget"]["imbalance_frac"]) < 0.01, of["energy_budget"]
    assert {x["name"] for x in of["racks"]} and len(of["racks"]) == len(r["twin"]["racks"])
    for x in of["racks"]:
        assert np.isfinite(x["intake_temp_c"]) and x["intake_max_c"] >= x["intake_temp_c"]
    assert of["version"].startswith("OpenFOAM v1912")
    assert of["iterations"] > 0 and of["execution_time_s"] > 0
    assert result_path(name).with_name(f"{name}-fields.npz").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", LIVE)
def test_twin_against_openfoam(name):
    r = _reference(name)
    ans = twin_answer(CASES[name], coarse_start=True)
    c = compare(r["openfoam"]["racks"], ans["racks"])
    msg = (f"{name}: twin - OpenFOAM rack intake means over {c['racks']} racks: RMS "
           f"{c['rms_k']:.2f} K (target {RMS_TARGET_K} K), mean {c['mean_k']:+.2f} K, worst "
           f"{c['worst_rack']} {c['worst_k']:+.2f} K (target {MAX_TARGET_K} K); "
           f"twin {ans['iterations']} steps, converged {ans['converged']}")
    print(msg)
    ok = c["rms_k"] <= RMS_TARGET_K and c["max_abs_k"] <= MAX_TARGET_K
    if name in KNOWN_MISSES:
        if ok:
            pytest.fail(f"{msg}: now within the targets; remove it from KNOWN_MISSES")
        pytest.xfail(f"{msg} ({KNOWN_MISSES[name]})")
    assert ok, msg
