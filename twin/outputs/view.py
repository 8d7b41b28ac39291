"""3D views of hot spots: off-screen PNG and VTK export (``twin view``).

Input: one hall of a result file as a :class:`twin.outputs.loader.ResultView`
(:func:`twin.outputs.loader.load_result`: ``twin solve --out``, ``twin fail --out`` and
``twin run``).

The scene: the hall's outline and raised floor, racks coloured by their inlet
temperature (intake-face mean), cooling units, obstructions, the air above a limit
(default the ASHRAE recommended 27 degC) as a translucent threshold of cells, streamlines
seeded on the cooling units' supply faces, and a horizontal slice of air temperature at
mid-rack height. Orientation: axes in metres along the hall's edges, an x-y-z triad in the
lower-left corner and, where the facility is known, a compass on the floor beside the
hall whose arrow points to true north (the hall's ``north_deg``: the compass bearing of
its +y axis, :func:`north_xy`).
One colour scale (coolwarm) for all temperatures.

Off-screen rendering needs no display: VTK 9.4+ wheels pick EGL (``libEGL`` with Mesa
``libegl-mesa0`` / ``libgl1-mesa-dri``, or a GPU driver) or OSMesa (``libosmesa6``) when
there is no X server; ``VTK_DEFAULT_OPENGL_WINDOW=vtkOSOpenGLRenderWindow`` forces OSMesa.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from common.errors import InputError
from twin.outputs.loader import ResultView

DEFAULT_LIMIT_C = 27.0
CMAP = "coolwarm"
COMPASS_COLOR = "darkgreen"       # apart from the coolwarm scale of the temperatures
AXES_VIEWPORT = (0.0, 0.0, 0.2, 0.26)   # the x-y-z triad: lower-left corner of the window


# -------------------------------------------------------------------------------- scene
def _image(view: ResultView):
    import pyvista as pv
    img = pv.ImageData(dimensions=tuple(n + 1 for n in view.shape), spacing=view.spacing_m,
                       origin=view.origin_m)
    F = view.fields
    img.cell_data["temp_c"] = np.asarray(F["temp_c"], dtype=np.float32).ravel(order="F")
    if all(k in F for k in ("u_m_s", "v_m_s", "w_m_s")):
        vel = np.stack([np.asarray(F[k], dtype=np.float32).ravel(order="F")
                        for k in ("u_m_s", "v_m_s", "w_m_s")], axis=1)
        img.cell_data["velocity_m_s"] = vel
        img.cell_data["speed_m_s"] = np.linalg.norm(vel, axis=1)
    if "flags" in F:
        img.cell_data["flags"] = np.asarray(F["flags"]).ravel(order="F")
    if "pressure_pa" in F:
        img.cell_data["pressure_pa"] = np.asarray(F["pressure_pa"], dtype=np.float32).ravel(order="F")
    return img


def _filled_temperature(T):
    """Solid (NaN) cells take the temperature of the nearest air cell (for smooth point
    data on streamlines)."""
    from scipy import ndimage
    bad = ~np.isfinite(T)
    if not bad.any():
        return T
    if bad.all():
        return np.zeros_like(T)
    idx = ndimage.distance_transform_edt(bad, return_distances=False, return_indices=True)
    return T[tuple(idx)]


def _boxes(items, values=None):
    """One box per rack or unit; ``index`` (cell data) numbers them in the order of
    ``names`` (field data), so ParaView can say which box is which."""
    import pyvista as pv
    meshes = []
    for n, it in enumerate(items):
        b = it.box
        m = pv.Box(bounds=(b.x0, b.x1, b.y0, b.y1, b.z0, b.z1))
        m.cell_data["index"] = np.full(m.n_cells, n, dtype=np.int32)
        if values is not None:
            m.cell_data["inlet_c"] = np.full(m.n_cells, values[n], dtype=float)
        meshes.append(m)
    if not meshes:
        return None
    out = pv.merge(meshes) if len(meshes) > 1 else meshes[0]
    out.field_data["names"] = np.array([it.name for it in items])
    return out


def label_points(view: ResultView) -> tuple[list, list]:
    """Where the picture names racks and units: each rack's name within its hall
    (``A/01``) on its top face, each unit's name above it. Points and texts; empty without
    the facility's layout."""
    lay = view.layout
    if lay is None:
        return [], []
    pts, texts = [], []
    for r in lay.racks:
        b = r.box
        pts.append(((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2, b.z1))
        texts.append(r.name.split("/", 1)[-1])
    for u in lay.units:
        if u.box is None:
            continue
        b = u.box
        pts.append(((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2, b.z1 + 0.3))
        texts.append(u.name.split("/", 1)[-1])
    return pts, texts


def _flag_boxes(view, bit):
    """Bodies from the cell flags (when the facility is not available)."""
    if "flags" not in view.fields:
        return None
    img = _image(view)
    img.cell_data["body"] = ((np.asarray(view.fields["flags"]) & bit) > 0).astype(np.uint8).ravel(order="F")
    out = img.threshold(0.5, scalars="body")
    return out if out.n_cells else None


def north_xy(north_deg: float) -> np.ndarray:
    """Unit vector in a hall's (x, y) that points to true north.

    ``north_deg`` is the compass bearing of the hall's +y axis (degrees clockwise from
    north, the facility key ``[[halls]] north_deg``); +x is then at ``north_deg + 90``
    (x, y, z right-handed, z up). A bearing ``b`` lies ``b - north_deg`` clockwise of
    +y, at ``(sin(b - north_deg), cos(b - north_deg))``; north (``b = 0``) is
    ``(-sin(north_deg), cos(north_deg))``.
    """
    a = np.radians(float(north_deg))
    return np.array([-np.sin(a), np.cos(a)])


def compass_rose(bounds, north_deg: float) -> dict:
    """A compass for the floor beside a hall: ``ring`` (a flat annulus), ``arrow`` (to
    true north), ``centre``, ``tip`` and ``head`` (the middle of the arrow's head; world
    points, m), ``radius_m``, ``north_deg``
    and ``labels`` (``[(point, "N"), ...]``: N at the arrow's tip, E, S, W on the ring).

    ``bounds`` are the hall's (x0, x1, y0, y1, z0, z1) [m]; the compass lies on z0,
    beyond x1 (its centre 2.3 radii out) near y0, with a radius of 12 % of the hall's longer side (at least 0.5 m).
    """
    import pyvista as pv
    x0, x1, y0, y1, z0, _ = (float(b) for b in bounds)
    r = max(0.12 * max(x1 - x0, y1 - y0), 0.5)
    c = np.array([x1 + 2.3 * r, y0 + 1.2 * r, z0 + 0.01 * r])
    n = north_xy(north_deg)
    east = np.array([n[1], -n[0]])                    # 90 deg clockwise of north, seen from above
    d = np.array([n[0], n[1], 0.0])
    arrow = pv.Arrow(start=tuple(c - 0.8 * r * d), direction=tuple(d), scale=1.6 * r,
                     tip_length=0.35, tip_radius=0.14, shaft_radius=0.05)
    ring = pv.Disc(center=tuple(c), inner=0.92 * r, outer=r, normal=(0.0, 0.0, 1.0), c_res=72)
    tip = c + 0.8 * r * d
    head = c + 0.55 * r * d                            # the middle of the arrow's head

    def at(v, f):
        return c + f * r * np.array([v[0], v[1], 0.0])

    labels = [(at(n, 1.25), "N"), (at(east, 1.2), "E"), (at(-n, 1.2), "S"), (at(-east, 1.2), "W")]
    return {"ring": ring, "arrow": arrow, "centre": c, "tip": tip, "head": head, "radius_m": r,
            "north_deg": float(north_deg), "labels": labels}


def build_scene(view: ResultView, limit_c: float = DEFAULT_LIMIT_C) -> dict:
    """The pyvista datasets of the picture: ``fields`` (ImageData), ``racks``, ``cooling_units``,
    ``obstructions``, ``hot_air`` (cells above ``limit_c``), ``streamlines``, ``slice`` and
    ``compass`` (:func:`compass_rose`; None without the facility, whose hall orientation
    it needs)."""
    import pyvista as pv

    from kernels.flags import Flag
    img = _image(view)
    scene = {"fields": img}
    lay = view.layout
    if lay is not None:
        vals = [view.rack_inlet_c.get(r.name, np.nan) for r in lay.racks]
        scene["racks"] = _boxes(lay.racks, vals)
        scene["cooling_units"] = _boxes([u for u in lay.units if u.box is not None])
        scene["obstructions"] = _boxes(lay.obstructions)
        floor = lay.hall.raised_floor_height_m
        rack_h = max((r.box.z1 - r.box.z0 for r in lay.racks), default=2.0)
    else:
        scene["racks"] = _flag_boxes(view, int(Flag.RACK))
        scene["cooling_units"] = _flag_boxes(view, int(Flag.COOLER))
        floor, rack_h = 0.0, 2.0
    hot = img.threshold(limit_c, scalars="temp_c")
    scene["hot_air"] = hot if hot.n_cells else None
    # streamlines from the supply faces
    seeds = _supply_seeds(view)
    scene["streamlines"] = None
    if seeds is not None and "velocity_m_s" in img.cell_data:
        flow = img.copy()
        flow.cell_data["temp_c"] = _filled_temperature(
            np.asarray(view.fields["temp_c"], dtype=np.float32)).ravel(order="F")
        pts = flow.cell_data_to_point_data()
        size = np.array(view.shape) * np.array(view.spacing_m)
        try:
            sl = pts.streamlines_from_source(
                pv.PolyData(seeds), vectors="velocity_m_s", integration_direction="forward",
                max_length=float(3 * size.sum()), initial_step_length=0.2, max_steps=4000,
                terminal_speed=1e-3, compute_vorticity=False)
            scene["streamlines"] = sl if sl.n_points else None
        except Exception as exc:            # VTK raises plain RuntimeErrors here
            view.notes.append(f"no streamlines: {exc}")
    z = floor + 0.5 * rack_h
    zmax = view.origin_m[2] + view.shape[2] * view.spacing_m[2]
    z = min(max(z, view.origin_m[2] + 1e-6), zmax - 1e-6)
    scene["slice"] = img.slice(normal="z", origin=(img.center[0], img.center[1], z))
    scene["slice_z_m"] = z
    scene["compass"] = compass_rose(img.bounds, lay.hall.north_deg) if lay is not None else None
    if lay is None:
        view.notes.append("no facility: no compass (the hall's north_deg is unknown)")
    return scene


def _supply_seeds(view: ResultView, per_unit: int = 40):
    """Seed points: centres of the cooling units' supply-port cells and of the air
    handlers' diffuser cells (thinned)."""
    if not view.ports:
        return None
    sp, org = np.array(view.spacing_m), np.array(view.origin_m)
    pts = []
    rng = np.random.default_rng(0)
    for pi in view.ports:
        if pi.role not in ("cooler-supply", "supply-patch"):
            continue
        c = pi.port.cells
        if len(c) > per_unit:
            c = c[np.sort(rng.choice(len(c), per_unit, replace=False))]
        pts.append(org + (c + 0.5) * sp)
    return np.concatenate(pts) if pts else None


def temperature_range(view: ResultView, limit_c: float = DEFAULT_LIMIT_C):
    """Colour range [degC]: from the coolest rack inlet (at most 18) to the limit or the
    hottest inlet, so that red means at or above the limit."""
    vals = [v for v in view.rack_inlet_c.values() if np.isfinite(v)]
    lo = min([18.0] + vals)
    hi = max([limit_c] + vals)
    return (float(np.floor(lo)), float(np.ceil(hi)))


def _headless_window():
    """Without an X display VTK tries X first and warns before it falls back; pick the
    off-screen window directly (EGL, else OSMesa) unless the user chose one."""
    import ctypes.util
    import sys
    if (not sys.platform.startswith("linux") or os.environ.get("DISPLAY")
            or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("VTK_DEFAULT_OPENGL_WINDOW")):
        return
    if ctypes.util.find_library("EGL"):
        os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkEGLRenderWindow"
    elif ctypes.util.find_library("OSMesa"):
        os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkOSOpenGLRenderWindow"


def offscreen_plotter(window_size, shape=(1, 1)):
    """A pyvista plotter that renders off screen (EGL or OSMesa without a display)."""
    import pyvista as pv
    _headless_window()
    try:
        return pv.Plotter(off_screen=True, window_size=list(window_size), shape=shape)
    except Exception as exc:
        raise InputError(
            f"off-screen rendering is not available here ({exc}); install the EGL or OSMesa "
            "libraries (Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri, "
            "or libosmesa6 and VTK_DEFAULT_OPENGL_WINDOW=vtkOSOpenGLRenderWindow)") from None


def render_png(view: ResultView, png, limit_c: float = DEFAULT_LIMIT_C,
               window_size=(1280, 860), scene: dict | None = None, hot_air: bool = True,
               labels: bool = True) -> dict:
    """Render the scene off screen to ``png``: racks coloured by inlet temperature, the
    air above ``limit_c`` (translucent; ``hot_air=False`` leaves it out so the rows show),
    streamlines, the mid-rack slice, rack and unit names (``labels``), axes in metres
    along the hall's edges (x, y, z: the facility file's coordinates), an x-y-z triad in
    the lower-left corner (``AXES_VIEWPORT``, fractions of the window) and the compass
    (:func:`compass_rose`). Returns the colour range, per rack where its top face lands in
    the image (``rack_pixels[name] = {"top": (col, row), "bbox": (c0, r0, c1, r1)}``,
    pixels from the top-left), and ``compass`` (``north_deg``, ``centre``, ``tip`` and
    ``head`` of the arrow and ``label_n`` where N is written, in pixels; None without the facility), for checks and image maps."""
    import vtk

    from twin.outputs.files import atomic_write
    scene = scene or build_scene(view, limit_c)
    clim = temperature_range(view, limit_c)
    pl = offscreen_plotter(window_size)
    try:
        pl.set_background("white")
        bar = {"title": "temperature [degC]", "color": "black", "vertical": True,
               "position_x": 0.88, "position_y": 0.15, "height": 0.7, "width": 0.05,
               "fmt": "%.0f"}
        img = scene["fields"]
        pl.add_mesh(img.outline(), color="black", line_width=1)
        sl = scene["slice"]
        if sl is not None and sl.n_cells:
            pl.add_mesh(sl, scalars="temp_c", cmap=CMAP, clim=clim, opacity=0.55,
                        nan_opacity=0.0, show_scalar_bar=False, lighting=False)
        if scene.get("streamlines") is not None:
            pl.add_mesh(scene["streamlines"], scalars="temp_c", cmap=CMAP, clim=clim,
                        line_width=2, show_scalar_bar=False)
        if scene.get("cooling_units") is not None:
            pl.add_mesh(scene["cooling_units"], color="lightsteelblue", show_edges=True,
                        edge_color="gray")
        if scene.get("obstructions") is not None:       # columns, walls, trays, ducts
            pl.add_mesh(scene["obstructions"], color="tan", show_edges=True, edge_color="gray")
        racks = scene.get("racks")
        if racks is not None:
            if "inlet_c" in racks.cell_data:
                pl.add_mesh(racks, scalars="inlet_c", cmap=CMAP, clim=clim, show_edges=True,
                            edge_color="black", scalar_bar_args=bar, nan_color="gray")
            else:
                pl.add_mesh(racks, color="gray", show_edges=True)
        show_hot = hot_air and scene.get("hot_air") is not None
        if show_hot:
            pl.add_mesh(scene["hot_air"], scalars="temp_c", cmap=CMAP, clim=clim,
                        opacity=0.18, show_scalar_bar=racks is None or "inlet_c" not in racks.cell_data,
                        scalar_bar_args=bar)
        pts, texts = label_points(view) if labels else ([], [])
        if pts:
            pl.add_point_labels(np.asarray(pts, dtype=float), texts, font_size=10,
                                text_color="black", shape_color="white", shape_opacity=0.5,
                                show_points=False, always_visible=True, margin=1)
        rose = scene.get("compass")
        if rose is not None:
            pl.add_mesh(rose["ring"], color="dimgray", lighting=False)
            pl.add_mesh(rose["arrow"], color=COMPASS_COLOR, lighting=False)
            pl.add_point_labels(np.array([p for p, _ in rose["labels"]]),
                                [t for _, t in rose["labels"]], font_size=12, bold=True,
                                text_color="black", shape_opacity=0.0, show_points=False,
                                always_visible=True)
        pl.add_axes(xlabel="x", ylabel="y", zlabel="z", line_width=3, color="black",
                    viewport=AXES_VIEWPORT)
        pl.show_bounds(bounds=img.bounds, xtitle="x [m]", ytitle="y [m]", ztitle="z [m]",
                       color="black", font_size=9, location="outer", grid=False, ticks="outside",
                       fmt="%.0f")
        pl.add_text(view_title(view, scene["slice_z_m"], limit_c, show_hot),
                    position="upper_left", font_size=10, color="black")
        _set_camera(pl, view)
        pl.show(auto_close=False)
        shot = pl.screenshot(return_img=True)
        ren = pl.renderer
        H = shot.shape[0]
        coord = vtk.vtkCoordinate()
        coord.SetCoordinateSystemToWorld()

        def px(p):
            coord.SetValue(*map(float, p))
            x, y = coord.GetComputedDoubleDisplayValue(ren)
            return (float(x), float(H - y))

        compass = None
        if rose is not None:
            compass = {"north_deg": rose["north_deg"], "centre": px(rose["centre"]),
                       "tip": px(rose["tip"]), "head": px(rose["head"]),
                       "label_n": px(rose["labels"][0][0])}
        pixels = {}
        if view.layout is not None:
            for r in view.layout.racks:
                b = r.box
                top = px(((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2, b.z1))
                corners = [px((x, y, z)) for x in (b.x0, b.x1) for y in (b.y0, b.y1)
                           for z in (b.z0, b.z1)]
                cs = np.array(corners)
                pixels[r.name] = {"top": top, "bbox": (float(cs[:, 0].min()), float(cs[:, 1].min()),
                                                       float(cs[:, 0].max()), float(cs[:, 1].max())),
                                  "top_face": [px((x, y, b.z1)) for x, y in
                                               ((b.x0, b.y0), (b.x1, b.y0), (b.x1, b.y1), (b.x0, b.y1))]}
    finally:
        pl.close()
    from PIL import Image
    atomic_write(Path(png), lambda p: Image.fromarray(shot).save(p, format="PNG"))
    return {"png": str(png), "size": (int(shot.shape[1]), int(shot.shape[0])), "clim": clim,
            "rack_pixels": pixels, "rack_inlet_c": dict(view.rack_inlet_c), "notes": view.notes,
            "compass": compass, "axes_viewport": AXES_VIEWPORT}


def view_title(view: ResultView, slice_z_m: float, limit_c: float = DEFAULT_LIMIT_C,
               show_hot: bool = True) -> str:
    """The picture's title line: the hall, what is drawn and when: a run snapshot's local
    clock time (:attr:`ResultView.clock_time`), a state of a transient (``twin fail``) at
    ``t`` seconds after its start, nothing for a steady state."""
    if view.clock_time:
        when = f", {view.clock_time}"
    elif view.time_s is not None:
        when = f", t = {view.time_s:.0f} s"
    else:
        when = ""
    air = f"air above {limit_c:g} degC (translucent), " if show_hot else ""
    return (f"{view.hall}: rack inlets, {air}supply streamlines, slice at z = {slice_z_m:.1f} m"
            f"{when}")


def _set_camera(pl, view):
    size = np.array(view.shape) * np.array(view.spacing_m)
    org = np.array(view.origin_m)
    c = org + 0.5 * size
    L, W, H = size
    pos = (c[0] - 0.15 * L, c[1] - 1.05 * max(W, 0.6 * L), c[2] + 1.2 * max(L, W))
    pl.camera_position = [tuple(pos), tuple(c), (0.0, 0.0, 1.0)]
    pl.reset_camera()
    pl.camera.zoom(1.15)


def export_vtk(view: ResultView, out_dir, limit_c: float = DEFAULT_LIMIT_C,
               scene: dict | None = None) -> list[Path]:
    """Write the scene for ParaView: ``fields.vti`` (temperature, velocity, speed,
    flags), ``racks.vtp`` (``inlet_c``), ``cooling_units.vtp``, ``obstructions.vtp``,
    ``hot_air.vtu``, ``streamlines.vtp``, ``slice.vtp`` and ``view.vtm`` (all of them)."""
    import pyvista as pv
    scene = scene or build_scene(view, limit_c)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ext = {"fields": ".vti", "hot_air": ".vtu"}
    written, blocks = [], {}
    for name in ("fields", "racks", "cooling_units", "obstructions", "hot_air", "streamlines",
                 "slice"):
        mesh = scene.get(name)
        if mesh is None:
            continue
        suffix = ext.get(name, ".vtp" if isinstance(mesh, pv.PolyData) else ".vtu")
        p = out / f"{name}{suffix}"
        tmp = out / f".{name}.tmp{suffix}"
        mesh.save(tmp)
        os.replace(tmp, p)
        written.append(p)
        blocks[name] = p.name
    entries = "\n".join(f'    <DataSet index="{i}" name="{n}" file="{f}"/>'
                        for i, (n, f) in enumerate(blocks.items()))
    vtm = out / "view.vtm"
    vtm.write_text('<?xml version="1.0"?>\n<VTKFile type="vtkMultiBlockDataSet" version="1.0" '
                   'byte_order="LittleEndian">\n  <vtkMultiBlockDataSet>\n'
                   f'{entries}\n  </vtkMultiBlockDataSet>\n</VTKFile>\n', encoding="utf-8")
    written.append(vtm)
    return written
