"""Judging the twin's targets against a reference's own uncertainty (issue 18).

``compare`` carries each reference rack's batch-means standard error into the
differences and the RMS; ``verdict`` calls a case within, a miss, or undecided at a
coverage of 2 standard errors. Synthetic racks, no solve.
"""
import numpy as np
import pytest

from benchmarks.validation.crosscheck import COVERAGE, MAX_TARGET_K, RMS_TARGET_K, compare, verdict


def _racks(values, se=None):
    out = [{"name": f"R{i}", "intake_temp_c": float(v)} for i, v in enumerate(values)]
    if se is not None:
        for r, e in zip(out, se):
            r["intake_se_k"] = float(e)
    return out


def test_compare_carries_the_reference_error():
    ref = _racks([20.0, 20.0, 20.0, 20.0], se=[0.1, 0.2, 0.0, 0.4])
    twin = _racks([21.0, 19.0, 20.5, 20.0])
    c = compare(ref, twin)
    d = np.array([1.0, -1.0, 0.5, 0.0])
    rms = np.sqrt(np.mean(d ** 2))
    assert c["rms_k"] == pytest.approx(rms)
    # first-order propagation: d(rms)/d(ref_i) = -d_i / (n rms)
    assert c["rms_se_k"] == pytest.approx(np.sqrt((0.1 ** 2 + 0.2 ** 2 + 0) / 1) / (4 * rms))
    assert c["se_known"] and c["max_se_k"] == 0.4
    assert [r["se_k"] for r in c["per_rack"]] == [0.1, 0.2, 0.0, 0.4]
    # an old reference states no error: it counts as exact and says so
    c0 = compare(_racks([20.0] * 4), twin)
    assert not c0["se_known"] and c0["rms_se_k"] == 0.0


def test_verdict_within_miss_undecided():
    ref_exact = _racks([20.0] * 4)
    assert verdict(compare(ref_exact, _racks([20.5, 19.5, 20.5, 19.5]))) == "within"
    assert verdict(compare(ref_exact, _racks([21.5, 18.5, 21.5, 18.5]))) == "miss"
    # the same 0.9 K RMS is undecided when the reference is 0.3 K uncertain per rack
    twin = _racks([20.9, 19.1, 20.9, 19.1])
    assert verdict(compare(ref_exact, twin)) == "within"
    c = compare(_racks([20.0] * 4, se=[0.3] * 4), twin)
    assert c["rms_k"] + COVERAGE * c["rms_se_k"] > RMS_TARGET_K > c["rms_k"]
    assert verdict(c) == "undecided"
    # one rack 2.3 K off with a 0.1 K error: a miss of the per-rack target ...
    assert verdict(compare(_racks([20.0] * 4, se=[0.1] * 4), _racks([22.3, 20, 20, 20]))) == "miss"
    # ... but undecided when that rack's reference is 0.2 K uncertain
    c = compare(_racks([20.0] * 4, se=[0.2] * 4), _racks([22.3, 20, 20, 20]))
    assert c["max_abs_k"] > MAX_TARGET_K and verdict(c) == "undecided"
