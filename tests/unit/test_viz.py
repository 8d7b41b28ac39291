"""``twin view``: off-screen PNG with content where it belongs, and the VTK export.

The picture is rendered off screen (EGL or OSMesa, no display). The check: the image is
not blank, and the top face of the rack with the hottest inlet is drawn in hot colours
(red well above blue) while the coolest rack's is cool (blue above red).
"""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from kernels.solver import SolverSettings
from twin.cli import main
from twin.facility import BUILTIN_DIR, load_facility
from twin.thermal.steady import solve_hall, write_steady_h5

SMALL = BUILTIN_DIR / "small-hall.toml"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("view")
    fac = load_facility(SMALL)
    sol = solve_hall(fac, None, cell_m=0.4, backend="numba-cpu",
                     settings=SolverSettings(max_steps=400))
    path = d / "results.h5"
    write_steady_h5(path, [sol], SMALL.read_text())
    return path


def _inside(poly, shape):
    """Pixels inside a convex polygon [(col, row), ...] (image coordinates)."""
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    p = np.asarray(poly, dtype=float)
    q = np.roll(p, -1, axis=0)
    orient = np.sign(np.sum(p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]))
    mask = np.ones(shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(p, q):
        mask &= ((x1 - x0) * (rows - y0) - (y1 - y0) * (cols - x0)) * orient >= 0
    return mask


def _shrink(poly, f=0.6):
    p = np.asarray(poly, dtype=float)
    c = p.mean(axis=0)
    return c + f * (p - c)


def test_view_png_has_hot_colours_at_the_hottest_rack(result, tmp_path):
    from PIL import Image

    from twin.outputs.loader import load_result
    from twin.outputs.view import render_png
    png = tmp_path / "view.png"
    vtk_dir = tmp_path / "vtk"
    r = CliRunner().invoke(main, ["view", str(result), "--png", str(png), "--vtk", str(vtk_dir),
                                  "--size", "1000x700"])
    assert r.exit_code == 0, r.output
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert img.shape == (700, 1000, 3)
    # not blank: plenty of non-background pixels and real colour variety
    non_white = np.any(img < 235, axis=2).mean()
    assert non_white > 0.15 and img.std() > 20

    view = load_result(result)
    inlets = view.rack_inlet_c
    hot = max(inlets, key=inlets.get)
    cool = min(inlets, key=inlets.get)
    assert inlets[hot] - inlets[cool] > 3.0
    info = render_png(view, tmp_path / "again.png", window_size=(1000, 700), labels=False)
    img = np.asarray(Image.open(tmp_path / "again.png").convert("RGB")).astype(int)

    def redness(name):
        mask = _inside(_shrink(info["rack_pixels"][name]["top_face"]), img.shape[:2])
        assert mask.sum() > 20, f"rack {name} is hardly visible"
        px = img[mask]
        return float(np.mean(px[:, 0] - px[:, 2]))

    assert redness(hot) > 40, "the hottest rack is not drawn in hot colours"
    assert redness(cool) < -20, "the coolest rack is not drawn in cool colours"

    # VTK export for ParaView
    import pyvista as pv
    names = {p.name for p in vtk_dir.iterdir()}
    assert {"fields.vti", "racks.vtp", "cooling_units.vtp", "slice.vtp", "view.vtm"} <= names
    grid = pv.read(vtk_dir / "fields.vti")
    assert "temp_c" in grid.cell_data and grid.n_cells == 30 * 22 * 10
    racks = pv.read(vtk_dir / "racks.vtp")
    assert np.nanmax(racks.cell_data["inlet_c"]) == pytest.approx(inlets[hot], abs=1e-3)
    # which box is which rack: its index into the names
    names = [str(n) for n in racks.field_data["names"]]
    top = int(racks.cell_data["index"][int(np.nanargmax(racks.cell_data["inlet_c"]))])
    assert names[top] == hot and len(names) == len(inlets)

    # labels: drawn where the rack tops are; the hot air can be left out
    labelled = render_png(view, tmp_path / "labels.png", window_size=(1000, 700))
    lab = np.asarray(Image.open(tmp_path / "labels.png").convert("RGB")).astype(int)
    changed = np.any(np.abs(lab - img) > 60, axis=2)
    for name in (hot, cool):
        c, r = (int(round(v)) for v in labelled["rack_pixels"][name]["top"])
        assert changed[max(r - 6, 0):r + 7, max(c - 15, 0):c + 16].mean() > 0.05, name
    render_png(view, tmp_path / "clear.png", window_size=(1000, 700), hot_air=False)
    img_clear = np.asarray(Image.open(tmp_path / "clear.png").convert("RGB")).astype(int)
    assert np.any(np.abs(img_clear - lab) > 30, axis=2).mean() > 0.02


def test_view_errors_are_one_line(tmp_path):
    r = CliRunner().invoke(main, ["view", str(tmp_path / "missing.h5")])
    assert r.exit_code == 2 and "result file not found" in r.output
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    r = CliRunner().invoke(main, ["view", str(bad)])
    assert r.exit_code == 2 and "not an HDF5 result file" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_time_between_snapshots_says_which_state_is_shown(tmp_path):
    """``--time`` on a run answers with the nearest stored snapshot and says so (a run keeps
    its first and last step unless ``--snapshot-every``)."""
    from twin.facility import BUILTIN_DIR
    from twin.loop.simulation import RunSettings, Simulation
    from twin.outputs.loader import load_result
    sim = Simulation(BUILTIN_DIR / "small-hall.toml",
                     RunSettings(hours=2.0, step_s=900.0, cell_m=0.4, backend="cpu",
                                 rack_airflow="design"))
    sim.run(out_dir=tmp_path)
    first = load_result(tmp_path / "results.h5", time_s=450.0)
    assert first.time_s == 450.0 and not any(n.startswith("--time") for n in first.notes)
    mid = load_result(tmp_path / "results.h5", time_s=5400.0)
    note = [n for n in mid.notes if n.startswith("--time")]
    assert mid.time_s == 6750.0 and len(note) == 1, mid.notes
    assert ("--time 1.5 h is Jan 01 01:30 (UTC+09:00); no snapshot then: showing the nearest, "
            "step 7 at Jan 01 01:52:30, 22.5 min later") in note[0]
    assert "--snapshot-every" in note[0]
    # titled in the site's local clock time (the middle of the step), not in seconds
    from twin.outputs.view import view_title
    assert first.clock_time == "Jan 01 00:07:30 (UTC+09:00)"
    assert mid.clock_time == "Jan 01 01:52:30 (UTC+09:00)"
    title = view_title(mid, 1.0)
    assert title.endswith(", Jan 01 01:52:30 (UTC+09:00)") and " s" not in title.split(",")[-1]


def test_clock_label_of_a_run_time():
    """A run's hours after 1 January local standard time read as a date and a clock time
    with the site's offset (day 200 is 19 July of the 365-day typical year)."""
    from twin.outputs.loader import clock_label
    assert clock_label(199 * 24 + 14.125, 9.0) == "Jul 19 14:07:30 (UTC+09:00)"
    assert clock_label(199 * 24 + 14.0, -3.5) == "Jul 19 14:00 (UTC-03:30)"
    assert clock_label(8759.5, 9.0) == "Dec 31 23:30 (UTC+09:00)"
