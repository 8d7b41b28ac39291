"""The temperature's time mean as the answer (``kernels.time_mean.time_mean_answer``).

The bookkeeping is checked on a scripted march whose answer is known exactly; the physics
on a solved room: the mean field's heat balance is open by exactly what the air stored over
the average, the devices' intakes follow from the mean field, the flow is put back.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from common.errors import InputError
from kernels.solver import Solver, SolverSettings
from kernels.time_mean import auto_average_s, time_mean_answer
from tests.verification.cases import room
from twin.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def solved_room():
    s = Solver(room(cell_m=0.5), backend="numba-cpu", settings=SolverSettings(max_steps=3000))
    s.solve_steady()
    return s


def test_scripted_swing_averages_with_the_steps_lengths(monkeypatch, solved_room):
    """A march that flips the field between A (1 s steps) and B (3 s steps) spends three
    quarters of the time at B: the time mean is (A + 3B) / 4, not the mean of the
    samples (A + B) / 2, and the intakes swing by the difference of A and B."""
    s = solved_room
    be = s.backend
    T0 = be.to_host(s.T).copy()
    A, B = np.full_like(T0, 20.0), np.full_like(T0, 30.0)
    state = {"n": 0}

    def step(dt=None):          # to A in 1 s, then to B in 3 s, and so on
        state["n"] += 1
        h = 1.0 if state["n"] % 2 else 3.0
        s.T = be.asarray(A if state["n"] % 2 else B)
        s.device_temperatures()
        s.time_s += h
        return h

    monkeypatch.setattr(s, "step", step)
    monkeypatch.setattr(s, "compute_dt", lambda: 1.0)
    out = time_mean_answer(s, average_s=40.0, spin_up_s=0.0, batches=4)
    T = be.to_host(s.T)
    fluid = s.problem.fluid_mask
    assert np.allclose(T[fluid], 27.5, atol=1e-4)        # (20 + 3 * 30) / 4
    assert out["steps"] == 20 and out["average_s"] == pytest.approx(40.0)
    assert np.allclose(out["swing_k"], 10.0, atol=1e-4)
    assert out["uncertainty_k"] == pytest.approx(0.0, abs=1e-4)   # every batch alike
    s.T = be.asarray(T0)
    s.device_temperatures()


def test_mean_field_balance_is_open_by_what_the_air_stored(solved_room):
    s = solved_room
    be = s.backend
    flow = [be.to_host(a).copy() for a in (s.u, s.v, s.w)]
    steady_tin = s.dev_tin.copy()
    out = time_mean_answer(s, average_s=30.0, spin_up_s=5.0, batches=4)
    bud = s.energy_budget()
    print(f"storage {out['storage_frac']:.2e}, imbalance {bud['imbalance_frac']:.2e}, "
          f"swing {out['max_swing_k']:.3f} K, uncertainty {out['uncertainty_k']:.3f} K")
    # the ports' heat is linear in the temperature: the mean field's balance is the
    # march's mean, whose imbalance is what the air stored
    # (measured: storage -2.93e-3, imbalance -2.92e-3; the rest is the one step's lag of
    # the intakes behind the field)
    assert bud["imbalance_frac"] == pytest.approx(out["storage_frac"], abs=2e-4)
    assert abs(out["storage_frac"]) > 1e-4          # it is a real term, not a zero
    # the intakes of the mean field are the mean of the intakes (one step's lag apart)
    assert np.allclose(s.dev_tin, out["intake_mean_c"], atol=0.05)
    # the flow is the steady answer's again
    for a, f in zip((s.u, s.v, s.w), flow):
        assert np.array_equal(be.to_host(a), f)
    # a room whose flow settles: the time mean is the steady answer, to the swing
    assert np.max(np.abs(s.dev_tin - steady_tin)) < max(0.5, out["max_swing_k"])


def test_bad_averaging_input_is_one_line(solved_room):
    with pytest.raises(InputError, match="averaging time 0.0 s must be a positive"):
        time_mean_answer(solved_room, average_s=0.0)
    with pytest.raises(InputError, match="spin-up -1.0 s must be >= 0"):
        time_mean_answer(solved_room, average_s=10.0, spin_up_s=-1.0)
    assert 60.0 <= auto_average_s(solved_room) <= 600.0


def test_twin_solve_answers_with_the_time_mean(tmp_path):
    """``twin solve --answer time-mean``: the summary says what the temperatures are, the
    racks' inlets are the mean field's, and the balance is open by the air's storage."""
    out = tmp_path / "s.json"
    res = CliRunner().invoke(main, ["solve", str(ROOT / "meshes" / "small-hall.toml"),
                                    "--cell", "0.5", "--racks", "fixed", "--answer",
                                    "time-mean", "--average-s", "20", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "temperature: time mean over 20 s" in res.output
    s = json.loads(out.read_text())
    a = s["answer"]
    assert a["kind"] == "time-mean" and a["average_s"] == pytest.approx(20.0)
    assert a["uncertainty_k"] >= 0 and a["max_swing_k"] >= 0
    assert s["energy_budget"]["imbalance_frac"] == pytest.approx(a["storage_frac"], abs=1e-3)
    import jsonschema

    from twin.thermal.steady import SUMMARY_SCHEMA_FILE
    schema = json.loads(SUMMARY_SCHEMA_FILE.read_text())
    jsonschema.validate(s, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**s, "answer": {**a, "kind": "mean"}}, schema)


def test_average_without_time_mean_is_one_line():
    res = CliRunner().invoke(main, ["solve", str(ROOT / "meshes" / "small-hall.toml"),
                                    "--average-s", "60"])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "--average-s 60: only a time-mean answer averages" in res.output
