"""The cross-check diagnosis's region helpers (``benchmarks/validation/diagnose.py``) on the
verification room: one rack (intake on its -x face) and one cooler, 0.25 m cells."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.validation.diagnose import intake_profile, intake_region, layer_means
from tests.verification.cases import room


def test_intake_region_is_the_cells_in_front_of_the_rack_intake():
    p = room(cell_m=0.25)
    rack = p.racks[0]
    cells = np.asarray(rack.intake.cells).reshape(-1, 3)
    region = intake_region(p, depth=3)
    # the intake cells sit at i = 7 (the rack body starts at i = 8); the room in front of
    # them is i = 7, 6, 5 at the intake's j and k, and nothing else
    assert set(np.unique(cells[:, 0])) == {7}
    want = np.zeros(p.grid.shape, bool)
    for i in (5, 6, 7):
        want[i, cells[:, 1], cells[:, 2]] = True
    assert np.array_equal(region, want)
    # depth 1 is the intake cells alone; no cell of the region is solid
    assert region.sum() == 3 * len(cells)
    assert intake_region(p, depth=1).sum() == len(cells)
    assert not (region & ~p.fluid_mask).any()


def test_intake_region_stops_at_a_solid_cell():
    p = room(cell_m=0.25)
    cells = np.asarray(p.racks[0].intake.cells).reshape(-1, 3)
    # a solid wall two cells in front of the intake: the region keeps the two cells before it
    solid = np.array(p.solid)
    solid[5, :, :] = 1
    blocked = type(p)(p.grid, solid=solid, devices=p.devices, name="blocked",
                      turbulence=p.turbulence)
    region = intake_region(blocked, depth=5)
    assert region.sum() == 2 * len(cells)
    assert region[6:8].sum() == 2 * len(cells) and not region[:6].any()


def test_layer_means_and_intake_profile():
    p = room(cell_m=0.25)
    nz = p.grid.shape[2]
    T = np.broadcast_to(20.0 + np.arange(nz, dtype=float), p.grid.shape).copy()
    region = intake_region(p, depth=2)
    m = layer_means(T, region)
    ks = np.unique(np.asarray(p.racks[0].intake.cells).reshape(-1, 3)[:, 2])
    assert np.allclose(m[ks], 20.0 + ks)
    assert np.isnan(np.delete(m, ks)).all()
    # NaN cells (solid in a reference) are left out of a layer's mean
    T[7, :, ks[0]] = np.nan
    assert np.isclose(layer_means(T, region)[ks[0]], 20.0 + ks[0])
    prof = intake_profile(p, T, p.racks[0])
    assert sorted(prof) == list(ks)
    assert np.isclose(prof[ks[-1]], 20.0 + ks[-1])


def test_cli_bad_case_or_missing_folder_is_one_line(tmp_path, capsys):
    from benchmarks.validation.__main__ import main
    assert main(["diagnose", "no-such-hall", "--work", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown case(s) no-such-hall" in err[0]
    assert main(["diagnose", "small-hall-lo", "--work", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no OpenFOAM case folder" in err[0] and "--work" in err[0]


def test_report_states_both_answers_and_their_rms():
    from benchmarks.validation.diagnose import report_lines
    d = {"case": "c", "model": "k-epsilon", "iterations": 100, "converged": False,
         "cpu_s": 1.0, "wall_s": 2.0, "racks": ["a", "b"], "reference": np.array([20.0, 30.0]),
         "steady": np.array([23.0, 26.0]), "time_mean": np.array([21.0, 29.0]),
         "swing": np.array([1.0, 2.0]), "average_s": 60.0, "depth": 3,
         "nut_layers": np.array([[0.01, np.nan], [0.02, np.nan]]),
         "T_layers": np.array([[20.0, np.nan], [21.0, np.nan]]),
         "profiles": {"a": ({4: 23.0}, {4: 20.0}), "b": ({4: 26.0}, {4: 30.0})}}
    text = "\n".join(report_lines(d))
    assert "| a | 20.00 | +3.00 | +1.00 | 1.00 |" in text
    assert "| RMS | | 3.54 | 1.00 | |" in text          # sqrt((9 + 16) / 2), sqrt((1 + 1) / 2)
    assert "worst rack, b" in text and "| 4 | 26.00 | 30.00 |" in text
    assert "| 1 |" not in text                           # an empty layer is left out


def test_diagnose_and_the_crosscheck_solve_the_problem_of_one_function(tmp_path, monkeypatch):
    from benchmarks.validation import crosscheck
    from benchmarks.validation.diagnose import diagnose
    case = crosscheck.CASES["small-hall-lo"]
    base = crosscheck.problem_for(case, 0.5)[0]
    same = crosscheck.case_problem(case, None, 0.5)
    assert same.grid == base.grid and same.turbulence == base.turbulence
    assert crosscheck.case_problem(case, base.turbulence.model, 0.5).turbulence == base.turbulence
    keps = crosscheck.case_problem(case, "k-epsilon", 0.5).turbulence
    assert keps.model == "k-epsilon" and not keps.buoyancy_production   # as the reference's
    asked = []

    def recorded(case_, turbulence=None, cell_m=None):
        asked.append((case_.name, turbulence, cell_m))
        raise RuntimeError("stop here")

    monkeypatch.setattr(crosscheck, "case_problem", recorded)
    for solve in (lambda: crosscheck.twin_answer(case, turbulence="k-epsilon"),
                  lambda: diagnose(case, tmp_path, model="k-epsilon")):
        with pytest.raises(RuntimeError, match="stop here"):
            solve()
    assert asked == [("small-hall-lo", "k-epsilon", None)] * 2
