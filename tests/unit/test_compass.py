"""The hall's orientation (``[[halls]] north_deg``) and the 3D view's compass and axis
triad (issue 20, item 6).

The view is checked by its pixels, off screen, on a hall whose field is made up (no
solve: the compass and triad do not depend on the flow): the compass arrow is drawn
where the projection of its tip lands and turns with ``north_deg``, N is written at its
tip, and the lower-left corner holds the x (red), y (green) and z (blue) axes.
"""
from __future__ import annotations

import numpy as np
import pytest

from twin.facility import BUILTIN_DIR, FacilityError, loads_facility

SMALL = BUILTIN_DIR / "small-hall.toml"


def _facility(north_line: str):
    text = SMALL.read_text().replace("width_m = 9.0", "width_m = 9.0\n" + north_line, 1)
    return loads_facility(text, folder=BUILTIN_DIR)


# ------------------------------------------------------------------------- the key
def test_north_deg_default_round_trip_and_refusals():
    assert _facility("").halls[0].north_deg == 0.0
    fac = _facility("north_deg = 292.5")
    assert fac.halls[0].north_deg == 292.5
    again = loads_facility(fac.to_toml(), folder=BUILTIN_DIR)
    assert again.halls[0].north_deg == 292.5
    assert "north_deg" not in _facility("").to_toml()          # the default is left out
    for value, says in (("360.0", "north_deg = 360.0: it must be < 360"),
                        ("-90", "north_deg = -90: it must be >= 0"),
                        ('"NE"', "north_deg = 'NE' has the wrong type"),
                        ("nan", "north_deg = nan: it must be a finite number")):
        with pytest.raises(FacilityError) as err:
            _facility(f"north_deg = {value}")
        lines = [ln for ln in str(err.value).splitlines() if ln.startswith("error:")]
        assert len(lines) == 1 and "halls[H1].north_deg" in lines[0] and says in lines[0], lines


def test_north_vector_follows_the_bearing_of_plus_y():
    from twin.outputs.view import north_xy
    assert north_xy(0.0) == pytest.approx([0.0, 1.0], abs=1e-15)      # +y is north
    assert north_xy(90.0) == pytest.approx([-1.0, 0.0], abs=1e-15)    # +y east: north is -x
    assert north_xy(180.0) == pytest.approx([0.0, -1.0], abs=1e-15)
    assert north_xy(270.0) == pytest.approx([1.0, 0.0], abs=1e-15)    # +y west: +x is north
    for theta in (12.0, 135.0, 301.0):
        n = north_xy(theta)
        # the bearing of +y, measured clockwise from north seen from above (z up)
        bearing = np.degrees(np.arctan2(-n[0], n[1])) % 360.0
        assert bearing == pytest.approx(theta, abs=1e-9)


# ------------------------------------------------------------------------ the view
def _view(tmp_path, fac):
    from twin.outputs.loader import ResultView, _attach_geometry, _rack_inlets
    from twin.thermal.mesh import mesh_hall
    problem, _ = mesh_hall(fac, None, cell_m=0.5, check_memory=False)
    g = problem.grid
    centres = tuple(g.origin_m[a] + (np.arange(g.shape[a]) + 0.5) * g.spacing_m[a] for a in range(3))
    x = centres[0][:, None, None] + 0.0 * centres[1][None, :, None] + 0.0 * centres[2][None, None, :]
    view = ResultView(tmp_path / "made-up.h5", fac.halls[0].name, centres,
                      {"temp_c": 18.0 + x}, {"cell_m": 0.5})
    _attach_geometry(view, fac.to_toml())
    view.rack_inlet_c = _rack_inlets(view)
    return view


def _green(img):
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return (g > r + 40) & (g > b + 30)


def _window(mask, at, half):
    c, r = (int(round(v)) for v in at)
    return mask[max(r - half, 0):r + half + 1, max(c - half, 0):c + half + 1]


def test_view_draws_a_compass_that_turns_with_north_deg_and_an_axis_triad(tmp_path):
    from PIL import Image

    from twin.outputs.view import render_png
    size = (900, 620)
    shots = {}
    for theta in (0.0, 90.0):
        view = _view(tmp_path, _facility(f"north_deg = {theta}"))
        info = render_png(view, tmp_path / f"north{theta:.0f}.png", window_size=size, labels=False)
        img = np.asarray(Image.open(tmp_path / f"north{theta:.0f}.png").convert("RGB")).astype(int)
        assert info["compass"]["north_deg"] == theta
        shots[theta] = (img, info["compass"])

    for theta, (img, comp) in shots.items():
        green = _green(img)
        # the arrow's head is drawn where its projection lands
        assert _window(green, comp["head"], 4).mean() > 0.5, theta
        # N is written beyond the tip: dark text pixels there
        dark = np.all(img < 90, axis=2)
        assert _window(dark, comp["label_n"], 9).sum() >= 6, theta
    # north turns: +y (away from the camera, up in the picture) for 0, -x (left) for 90
    (img0, c0), (img90, c90) = shots[0.0], shots[90.0]
    up0 = np.subtract(c0["tip"], c0["centre"])
    left90 = np.subtract(c90["tip"], c90["centre"])
    assert up0[1] < -2 * abs(up0[0]) and left90[0] < -2 * abs(left90[1])
    assert _window(_green(img0), c90["head"], 4).mean() < 0.05, "north 0 is drawn where north 90 points"
    assert _window(_green(img90), c0["head"], 4).mean() < 0.05, "north 90 is drawn where north 0 points"

    # the axis triad: red x, green y, blue z in the lower-left corner
    from twin.outputs.view import AXES_VIEWPORT
    h, w = img0.shape[:2]
    corner = img0[int(h * (1 - AXES_VIEWPORT[3])):, :int(w * AXES_VIEWPORT[2])]
    r, g, b = corner[..., 0], corner[..., 1], corner[..., 2]
    assert ((r > g + 60) & (r > b + 60)).sum() > 15, "no x axis"
    assert ((g > r + 30) & (g > b + 20)).sum() > 15, "no y axis"
    assert ((b > r + 60) & (b > g + 40)).sum() > 15, "no z axis"


def test_view_without_the_facility_says_why_there_is_no_compass(tmp_path):
    from twin.outputs.loader import ResultView
    from twin.outputs.view import build_scene
    c = (np.arange(4) + 0.5, np.arange(3) + 0.5, np.arange(2) + 0.5)
    view = ResultView(tmp_path / "x.h5", "H1", c, {"temp_c": np.full((4, 3, 2), 20.0)}, {})
    scene = build_scene(view)
    assert scene["compass"] is None
    assert any("no compass" in n for n in view.notes)
