"""3D views of hot spots: off-screen PNG and VTK export (``twin view``).

Input: a result file with the layout of :func:`twin.thermal.steady.write_steady_h5`
(``/halls/<hall>/{temp_c, u_m_s, v_m_s, w_m_s, flags, x_m, y_m, z_m}``, the summary as
JSON in the group's ``summary_json`` attribute, the facility text in the file's
``facility_toml``): ``twin solve --out``, ``twin fail --out`` (``fail.h5``) and, where
its fields are 4D (time first, with a ``time_s`` scale), ``twin run``.

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

Over the project's 600 lines: the loader of the three result layouts (solve, fail, run),
the scene, the renderer and the VTK export share :class:`ResultView`; the loader
(:func:`load_result` and its helpers) is the part to move out next.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.errors import InputError

DEFAULT_LIMIT_C = 27.0
CMAP = "coolwarm"
COMPASS_COLOR = "darkgreen"       # apart from the coolwarm scale of the temperatures
AXES_VIEWPORT = (0.0, 0.0, 0.2, 0.26)   # the x-y-z triad: lower-left corner of the window


@dataclass
class ResultView:
    """One hall of a result file, ready to draw."""

    path: Path
    hall: str
    centers_m: tuple                    # (x, y, z) cell centres [m]
    fields: dict                        # name -> (nx, ny, nz) array
    summary: dict
    facility: object = None             # twin.facility.Facility or None
    layout: object = None               # twin.facility.HallLayout or None
    ports: list = None                  # twin.thermal.mesh.PortInfo list (same grid) or None
    rack_inlet_c: dict = field(default_factory=dict)
    time_s: float | None = None
    notes: list = field(default_factory=list)

    @property
    def spacing_m(self):
        return tuple(float(c[1] - c[0]) if len(c) > 1 else 1.0 for c in self.centers_m)

    @property
    def origin_m(self):
        return tuple(float(c[0]) - 0.5 * d for c, d in zip(self.centers_m, self.spacing_m))

    @property
    def shape(self):
        return tuple(len(c) for c in self.centers_m)


def result_halls(path) -> list[str]:
    import h5py
    with h5py.File(path, "r") as f:
        return list(f["halls"].keys()) if "halls" in f else []


def load_result(path, hall: str | None = None, time_s: float | None = None) -> ResultView:
    """Read one hall of a result file (see the module docstring)."""
    import h5py

    from twin.outputs.results import RunFile, open_h5
    p = Path(path)
    f = open_h5(p, "write one with twin solve --out DIR")
    with f:
        if RunFile.is_run(f):
            view, text = _load_run(RunFile(f, p), hall, time_s)
            _attach_geometry(view, text)
            view.rack_inlet_c = _rack_inlets(view)
            return view
        if "halls" not in f or not len(f["halls"]):
            raise InputError(f"{path}: no /halls group; expected a results.h5 of twin solve "
                             "--out, twin fail --out or twin run")
        names = list(f["halls"].keys())
        if hall is None:
            hall = names[0]
        if hall not in names:
            raise InputError(f"{path}: no hall '{hall}'; halls: {', '.join(names)}")
        h = f["halls"][hall]
        if "temp_c" not in h:
            raise InputError(f"{path}: hall {hall} has no temp_c field")
        centers = tuple(np.asarray(h[k][...], dtype=float) for k in ("x_m", "y_m", "z_m"))
        shape = tuple(len(c) for c in centers)
        summary = json.loads(h.attrs["summary_json"]) if "summary_json" in h.attrs else {}
        t_pick = None
        times_seen = None
        fields = {}
        for key, ds in h.items():
            if not isinstance(ds, h5py.Dataset) or key in ("x_m", "y_m", "z_m"):
                continue
            if ds.shape == shape:
                fields[key] = ds[...]
            elif ds.ndim == 4 and ds.shape[1:] == shape:
                times = _times(h, ds)
                times_seen = times
                k = len(times) - 1 if time_s is None else int(np.argmin(np.abs(times - time_s)))
                fields[key] = ds[k]
                t_pick = float(times[k])
        if t_pick is None and "time_s" in h.attrs:
            t_pick = float(h.attrs["time_s"])
        if time_s is not None and t_pick is None:
            raise InputError(f"--time {time_s}: {path} holds one state, not a time series")
        text = f.attrs.get("facility_toml", "")
        text = text.decode() if isinstance(text, bytes) else str(text)
    view = ResultView(p, hall, centers, fields, summary, time_s=t_pick)
    if time_s is not None and t_pick is not None and times_seen is not None:
        _note_time(view, time_s, t_pick, times_seen, "")
    _attach_geometry(view, text)
    view.rack_inlet_c = _rack_inlets(view)
    return view


def _load_run(rf, hall, time_s):
    """A ``twin run`` results file (read through :class:`twin.outputs.results.RunFile`):
    one 3D snapshot and the series values of its step, as a steady-style summary."""
    p = rf.path
    snaps = rf.snapshot_index()
    if not snaps:
        raise InputError(f"{p}: the run kept no 3D snapshot; run it with snapshots "
                         "(snapshot_times_h or snapshot_every_h) to view it")
    halls = list(dict.fromkeys(s.hall for s in snaps))
    if hall is None:
        hall = halls[0]
    if hall not in halls:
        raise InputError(f"{p}: no snapshot of hall '{hall}'; halls with snapshots: "
                         + ", ".join(halls))
    mine = [s for s in snaps if s.hall == hall]
    if time_s is None:
        pick = mine[-1]
    else:
        pick = min(mine, key=lambda s: abs(s.time_h * 3600.0 - time_s))
    step, t_h = pick.step, pick.time_h
    snap = rf.snapshot(pick)
    centers = tuple(np.asarray(snap.coords[k], dtype=float) for k in ("x_m", "y_m", "z_m"))

    def col(group, name):
        return rf.hall_row(group, name, step, hall)

    names, tin = col("racks", "inlet_temp_c")
    racks = []
    if names is not None:
        extra = {k: col("racks", k)[1] for k in
                 ("inlet_max_c", "exhaust_temp_c", "airflow_m3_s", "heat_to_air_w")}
        for i, n in enumerate(names):
            def ex(k, i=i):
                return float(extra[k][i]) if extra[k] is not None else float("nan")
            racks.append({"name": n, "hall": hall, "intake_temp_c": float(tin[i]),
                          "intake_max_c": ex("inlet_max_c"), "exhaust_temp_c": ex("exhaust_temp_c"),
                          "flow_m3_s": ex("airflow_m3_s"), "air_heat_w": ex("heat_to_air_w")})
        racks.sort(key=lambda r: -r["intake_max_c"])
    names, q = col("cooling_units", "heat_removed_w")
    units = []
    if names is not None:
        extra = {k: col("cooling_units", k)[1] for k in
                 ("supply_temp_c", "return_temp_c", "airflow_m3_s")}
        for i, n in enumerate(names):
            units.append({"name": n, "hall": hall, "heat_removed_w": float(q[i]),
                          **{k: float(extra[k][i]) if extra[k] is not None else float("nan")
                             for k in extra}})
    settings = rf.settings({})
    summary = {
        "schema": str(rf.attr("schema", "")), "kind": "run",
        "facility": rf.facility("source_path", ""),
        "hall": hall, "racks": racks, "cooling_units": units,
        "cells": int(np.prod([len(c) for c in centers])),
        "cell_m": float(settings["cell_m"]) if "cell_m" in settings else None,
        "backend": str(rf.attr("backend", "")), "step": step, "time_h": t_h,
        "energy_budget": {"rack_heat_w": float(sum(r["air_heat_w"] for r in racks)),
                          "cooler_heat_w": float(sum(u["heat_removed_w"] for u in units))},
        "hot_spots": [{"temp_c": float(r[0]), "rack": "", "position_m": [float(x) for x in r[1:]]}
                      for r in snap.hot_spots],
    }
    try:
        summary["run"] = rf.summary()
    except (KeyError, ValueError):          # no summary, or not JSON
        pass
    text = rf.facility("expanded_toml", "")
    view = ResultView(p, hall, centers, snap.fields, summary, time_s=t_h * 3600.0)
    if time_s is not None:
        _note_time(view, time_s, t_h * 3600.0, np.array([s.time_h * 3600.0 for s in mine]),
                   "; store more with twin run --snapshot-every")
    return view, text


def _fmt_s(t_s: float) -> str:
    t = float(t_s)
    if t >= 3600.0:
        return f"{t / 3600.0:g} h"
    return f"{t / 60.0:g} min" if t >= 60.0 else f"{t:g} s"


def _note_time(view, asked_s, picked_s, stored_s, hint: str) -> None:
    """Say so when ``--time`` is answered by a stored state at another time."""
    if abs(asked_s - picked_s) <= 1.0:
        return
    stored = np.asarray(stored_s, float)
    shown = ", ".join(_fmt_s(t) for t in stored[:8]) + (", ..." if len(stored) > 8 else "")
    view.notes.append(f"--time {_fmt_s(asked_s)}: no state stored then; showing the nearest, at "
                      f"{_fmt_s(picked_s)} (stored: {shown}){hint}")


def _times(group, ds):
    try:
        scale = ds.dims[0][0]
        return np.asarray(scale[...], dtype=float)
    except (IndexError, KeyError, RuntimeError):
        pass
    for k in ("time_s", "t_s"):
        if k in group:
            return np.asarray(group[k][...], dtype=float)
    return np.arange(ds.shape[0], dtype=float)


def _attach_geometry(view: ResultView, text: str):
    """The facility (from the embedded text), its layout and the ports on the same grid."""
    from twin.facility import BUILTIN_DIR, loads_facility
    if not text:
        view.notes.append("no facility in the result file: geometry from the cell flags only")
        return
    folders = []
    src = view.summary.get("facility") or ""
    if src:
        folders.append(Path(src).parent if Path(src).is_absolute() else Path.cwd() / Path(src).parent)
    folders += [view.path.parent, BUILTIN_DIR]
    fac, err = None, None
    for folder in folders:
        try:
            fac = loads_facility(text, folder=folder)
            break
        except Exception as exc:            # try the next folder for the includes
            err = exc
    if fac is None:
        view.notes.append(f"the embedded facility did not load ({str(err).splitlines()[0]}): "
                          "geometry from the cell flags only")
        return
    view.facility = fac
    try:
        view.layout = fac.layout(view.hall)
    except Exception as exc:
        view.notes.append(f"no layout for hall {view.hall}: {exc}")
        return
    cell = view.summary.get("cell_m") or min(view.spacing_m)
    try:
        from twin.thermal.mesh import mesh_hall
        problem, report = mesh_hall(fac, view.hall, cell_m=float(cell), check_memory=False)
        if problem.grid.shape == view.shape:
            view.ports = report.ports
        else:
            view.notes.append("the facility meshes to another grid than the result's: rack "
                              "inlets from the summary")
    except Exception as exc:
        view.notes.append(f"could not mesh the facility again ({exc}): inlets from the summary")


def _rack_inlets(view: ResultView) -> dict:
    """Rack inlet temperatures [degC]: intake-face means of the field where the ports are
    known (any time of a series), else the summary's."""
    if view.ports:
        T = view.fields["temp_c"]
        out = {}
        for pi in view.ports:
            if pi.role == "rack-intake":
                c = pi.port.cells
                out[pi.device] = float(np.nanmean(T[c[:, 0], c[:, 1], c[:, 2]]))
        return out
    return {r["name"]: float(r["intake_temp_c"]) for r in view.summary.get("racks", [])}


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
        when = f", t = {view.time_s:.0f} s" if view.time_s is not None else ""
        air = f"air above {limit_c:g} degC (translucent), " if show_hot else ""
        pl.add_text(f"{view.hall}: rack inlets, {air}supply streamlines, slice at "
                    f"z = {scene['slice_z_m']:.1f} m{when}",
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
