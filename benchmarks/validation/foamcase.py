"""Write an OpenFOAM v1912 case for a :class:`kernels.Problem` (the cross-check's input).

The mapping from the twin's model to OpenFOAM is described in
:mod:`benchmarks.validation.openfoam`; this module only writes the dictionaries:
``blockMeshDict`` and the fluid cell set (mesh), ``topoSetDict`` and ``createPatchDict``
(a patch per port, a cell zone per heat source and porous loss), ``fvOptions``, the
initial fields in ``0.orig`` (copied to ``0`` after meshing, since ``subsetMesh`` would
drop the boundary entries of patches that do not yet exist), physics and numerics.

It is over 600 lines because the transient references (``Transient``, the seeding of a
run from another's fields, ``seed_fields``) were added beside the steady case writer;
the next move is those two into their own module (``foamtransient.py``), leaving the
mesh, patch and field writers here.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from kernels.flags import Flag
from kernels.problem import Problem

OPENFOAM_BIN = "buoyantBoussinesqSimpleFoam"
#: The transient solver of a time-averaged reference (PIMPLE, same physics and schemes).
OPENFOAM_TRANSIENT_BIN = "buoyantBoussinesqPimpleFoam"
INLET_INTENSITY = 0.05          # turbulent intensity of every inflow [-]
INLET_MIXING_LENGTH_M = 0.1     # mixing length of every inflow [m]
#: Under-relaxation of SIMPLE (the values of OpenFOAM's buoyant hotRoom tutorials).
RELAXATION = {"p_rgh": 0.7, "U": 0.3, "T": 0.5, "k": 0.5, "epsilon": 0.5}
#: Advection schemes: second-order upwind for momentum and heat.
SCHEMES = {"U": "bounded Gauss linearUpwind grad(U)", "T": "bounded Gauss linearUpwind grad(T)",
           "k": "bounded Gauss upwind", "epsilon": "bounded Gauss upwind"}
FIELDS = ("U", "T", "k", "epsilon", "nut", "alphat", "p_rgh", "p")
#: How the cooling units' returns are stated: ``flow`` (the twin's fixed uniform suction,
#: ``Q / A`` on every face) or ``pressure`` (a fixed-pressure opening: ``totalPressure``
#: 0 on ``p_rgh``, the velocity from the flux, ``inletOutlet`` for the scalars; the
#: return flow is then set by the supplies and shares itself between the returns).
RETURN_TREATMENTS = ("flow", "pressure")
#: How a loss face (a tile's, a door's leak: the twin's ``k rho v^2 / 2`` on the face) is
#: stated: ``zone``, a Forchheimer porous zone (``explicitPorositySource``) over the open
#: cell behind the face; ``baffle``, the face itself cut into a cyclic pair
#: (``createBaffles``) with a pressure jump on ``p_rgh`` (``porousBafflePressure``).
#: ``zone2``, ``zone4``: the zone over 2 or 4 cells astride the face (half on either side,
#: the same total ``beta d``), so that the loss face is a face inside the zone (a one-cell
#: zone's own velocity decouples from the fluxes through its faces: see
#: ``benchmarks/results/slab-ceiling-doors-2026-12-07.md``).
#: ``gaps``: a door as its gaps, in geometry. A loss face group with ``k`` of at least
#: :data:`GAP_K_MIN` (a door's leak) becomes a wall (a ``createBaffles`` wall pair) but for
#: its lowest row of faces (the undercut), which stays open with the ``k`` that passes the
#: same flow at the same pressure difference: ``k f^2``, ``f`` the row's share of the faces,
#: as a ``zone4`` zone (tile-sized coefficients, which a zone holds). Other groups (tiles)
#: are ``zone4``.
RESISTANCE_TREATMENTS = ("zone", "zone2", "zone4", "baffle", "gaps")
#: The smallest loss coefficient stated as gaps under ``resistances="gaps"``: a door
#: (the facility format's 2 % leak gives 7,070) and not a tile (25-56 % open: 2-40).
GAP_K_MIN = 1000.0
#: The thickness ``length`` of a baffle's porous medium [m]: 1, so that its inertial
#: coefficient ``I`` [1/m] is the twin's ``k_loss`` (the jump is ``I |u| u length / 2``).
BAFFLE_LENGTH_M = 1.0


@dataclass(frozen=True)
class Transient:
    """A time-averaged transient reference (``buoyantBoussinesqPimpleFoam``).

    The run starts (from rest, or from the fields of ``seed``, a finished case folder),
    marches ``end_time_s`` of physical time with an adaptive step held at
    ``max_courant``, and answers with the time average (``fieldAverage``) from
    ``average_from_s`` on; the rack intake monitors are written every step for the
    batch-means standard error (:func:`benchmarks.validation.openfoam.batch_means`).
    """

    end_time_s: float
    average_from_s: float
    max_courant: float = 2.0
    max_step_s: float = 0.5
    first_step_s: float = 0.02

    def __post_init__(self):
        if not 0 <= self.average_from_s < self.end_time_s:
            raise ValueError(f"average_from_s = {self.average_from_s} must lie in "
                             f"[0, end_time_s = {self.end_time_s})")
        if not (self.max_courant > 0 and self.max_step_s > 0 and self.first_step_s > 0):
            raise ValueError("max_courant, max_step_s and first_step_s must be positive")


# ----------------------------------------------------------------------------- helpers
def _header(cls: str, obj: str, location: str | None = None) -> str:
    loc = f'    location    "{location}";\n' if location else ""
    return ("FoamFile\n{\n    version     2.0;\n    format      ascii;\n"
            f"    class       {cls};\n{loc}    object      {obj};\n}}\n\n")


def _word(name: str) -> str:
    """An OpenFOAM word from a device name (``H1/A/03`` -> ``H1_A_03``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _vec(v) -> str:
    return "(" + " ".join(f"{float(x):.10g}" for x in v) + ")"


def boxes_of_cells(cells: np.ndarray) -> list[tuple[tuple[int, int], ...]]:
    """Cover a set of cell indices by disjoint index boxes ``((i0,i1),(j0,j1),(k0,k1))``.

    Runs along ``i`` are merged across ``j`` and then across ``k`` when they coincide;
    the boxes cover exactly the given cells.
    """
    cells = np.unique(np.asarray(cells, dtype=np.int64).reshape(-1, 3), axis=0)
    if len(cells) == 0:
        return []
    runs = {}
    order = np.lexsort((cells[:, 0], cells[:, 1], cells[:, 2]))
    c = cells[order]
    start = 0
    for n in range(1, len(c) + 1):
        if (n == len(c) or c[n, 1] != c[start, 1] or c[n, 2] != c[start, 2]
                or c[n, 0] != c[n - 1, 0] + 1):
            runs.setdefault((int(c[start, 2]),), []).append(
                ((int(c[start, 0]), int(c[n - 1, 0]) + 1), int(c[start, 1])))
            start = n
    # merge along j within each k
    slabs = []      # (k, (i0,i1), (j0,j1))
    for (k,), lst in runs.items():
        lst.sort(key=lambda r: (r[0], r[1]))
        cur = None
        for irange, j in lst:
            if cur is not None and cur[0] == irange and cur[1][1] == j:
                cur = (irange, (cur[1][0], j + 1))
            else:
                if cur is not None:
                    slabs.append((k, cur[0], cur[1]))
                cur = (irange, (j, j + 1))
        slabs.append((k, cur[0], cur[1]))
    # merge along k
    slabs.sort(key=lambda s: (s[1], s[2], s[0]))
    out = []
    cur = None
    for k, ir, jr in slabs:
        if cur is not None and cur[0] == ir and cur[1] == jr and cur[2][1] == k:
            cur = (ir, jr, (cur[2][0], k + 1))
        else:
            if cur is not None:
                out.append(cur)
            cur = (ir, jr, (k, k + 1))
    out.append(cur)
    return out


def port_faces(port):
    """``(cells, axis, side)`` per face for any port (``Port.faces()`` when it has one)."""
    if hasattr(port, "faces") and callable(port.faces):
        c, a, s = port.faces()
        return (np.asarray(c, np.int64).reshape(-1, 3), np.asarray(a, np.int64),
                np.asarray(s, np.int64))
    c = np.asarray(port.cells, np.int64).reshape(-1, 3)
    n = len(c)
    return c, np.full(n, int(port.axis)), np.full(n, int(port.side))


def face_fractions(port, grid) -> np.ndarray:
    """Each face's share of the device's flow (equal speeds unless the port says else)."""
    if hasattr(port, "face_fractions"):
        return np.asarray(port.face_fractions(grid.spacing_m), dtype=np.float64)
    _, axis, _ = port_faces(port)
    area = np.array([grid.face_area_m2(int(a)) for a in axis])
    return area / area.sum()


def _face_boxes(grid, cells, axis, side):
    """Thin coordinate boxes that hold exactly the centres of the given faces."""
    out = []
    o, d = np.array(grid.origin_m), np.array(grid.spacing_m)
    for a in range(3):
        for s in (-1, 1):
            m = (axis == a) & (side == s)
            if not m.any():
                continue
            for (i0, i1), (j0, j1), (k0, k1) in boxes_of_cells(cells[m]):
                lo = o + np.array([i0, j0, k0]) * d
                hi = o + np.array([i1, j1, k1]) * d
                plane = hi[a] if s > 0 else lo[a]
                lo2, hi2 = lo + 0.25 * d, hi - 0.25 * d
                lo2[a], hi2[a] = plane - 0.25 * d[a], plane + 0.25 * d[a]
                out.append((lo2, hi2))
    return out


def _cell_boxes(grid, cells):
    o, d = np.array(grid.origin_m), np.array(grid.spacing_m)
    out = []
    for (i0, i1), (j0, j1), (k0, k1) in boxes_of_cells(cells):
        lo = o + (np.array([i0, j0, k0]) + 0.25) * d
        hi = o + (np.array([i1, j1, k1]) - 0.25) * d
        out.append((lo, hi))
    return out


def _boxes_text(boxes) -> str:
    return "(" + " ".join(f"{_vec(lo)} {_vec(hi)}" for lo, hi in boxes) + ")"


def _normal_velocity(axis: int, side: int, speed: float, into_body: bool):
    """Velocity vector of a port face: out of the fluid cell into the body for an intake."""
    v = [0.0, 0.0, 0.0]
    v[axis] = (side if into_body else -side) * speed
    return v


# ------------------------------------------------------------------------------ writer
@dataclass
class CaseInfo:
    """What :func:`write_case` made: patch names per device, zones, counts."""

    path: Path
    problem_name: str
    cells: int
    fluid_cells: int
    shape: tuple
    spacing_m: tuple
    devices: list = field(default_factory=list)     # dicts: name, kind, in, out, areas
    zones: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"path": str(self.path), "problem": self.problem_name, "cells": self.cells,
                "fluid_cells": self.fluid_cells, "shape": list(self.shape),
                "spacing_m": list(self.spacing_m), "devices": self.devices,
                "zones": self.zones}


class _Case:
    """Collects topoSet actions, patches, fvOptions and boundary entries while writing."""

    def __init__(self, problem: Problem, T0: float):
        self.problem, self.g, self.T0 = problem, problem.grid, T0
        self.pressure_patches = []          # fixed-pressure openings (their flow is free)
        self.actions, self.patches, self.options = [], [], []
        self.baffles = []                   # (face zone, master patch, slave patch, type)
        self.bc = {f: [] for f in FIELDS}

    def face_set(self, name, cells, axis, side):
        boxes = _face_boxes(self.g, cells, axis, side)
        self.actions.append(f"    {{ name {name}; type faceSet; action new; source boxToFace;\n"
                            f"      sourceInfo {{ boxes {_boxes_text(boxes)}; }} }}\n")

    def cell_zone(self, name, cells):
        boxes = _cell_boxes(self.g, cells)
        self.actions.append(
            f"    {{ name {name}; type cellSet; action new; source boxToCell;\n"
            f"      sourceInfo {{ boxes {_boxes_text(boxes)}; }} }}\n"
            f"    {{ name {name}; type cellZoneSet; action new; source setToCellZone;\n"
            f"      sourceInfo {{ set {name}; }} }}\n")

    def heat_source(self, name, cells, power_w):
        """``power_w`` released into ``cells`` (kinematic: ``P / (rho cp)`` [K m3/s])."""
        self.cell_zone(name, cells)
        su = power_w / self.problem.fluid.rho_cp
        self.options.append(
            f"{name}\n{{\n    type scalarSemiImplicitSource;\n    active true;\n"
            f"    selectionMode cellZone;\n    cellZone {name};\n    volumeMode absolute;\n"
            f"    injectionRateSuSp\n    {{\n        T ({su:.10g} 0);\n    }}\n}}\n")

    def porous_zone(self, name, cells, beta_1_m):
        """Forchheimer loss ``-beta |U| U`` (kinematic, ``rhoRef`` 1) over ``cells``."""
        self.cell_zone(name, cells)
        self.options.append(
            f"{name}\n{{\n    type explicitPorositySource;\n    active true;\n"
            f"    explicitPorositySourceCoeffs\n    {{\n        selectionMode cellZone;\n"
            f"        cellZone {name};\n        type fixedCoeff;\n        active yes;\n"
            f"        fixedCoeffCoeffs\n        {{\n            alpha (0 0 0);\n"
            f"            beta {_vec(beta_1_m)};\n            rhoRef 1;\n"
            "            coordinateSystem\n            {\n                origin (0 0 0);\n"
            "                e1 (1 0 0);\n                e2 (0 1 0);\n            }\n"
            "        }\n    }\n}\n")

    def loss_face_zone(self, name, faces, axis) -> int:
        """A face zone over the internal loss faces ``faces`` (the twin's staggered
        indices along ``axis``: the face below cell ``faces[m]``), oriented along
        ``+axis`` (``setToFaceZone`` keeps a face's own normal, which points from the
        lower to the higher block label in a ``blockMesh`` block, i.e. along ``+axis``).
        Faces on a solid cell are walls already and are left out. Returns the count."""
        faces = _internal_loss_faces(self.problem, faces, axis)
        side = np.full(len(faces), -1)
        self.face_set(name, faces, np.full(len(faces), axis), side)
        self.actions.append(f"    {{ name {name}; type faceZoneSet; action new; "
                            f"source setToFaceZone;\n      sourceInfo {{ faceSet {name}; }} }}\n")
        return len(faces)

    def porous_baffle(self, name, k_loss):
        """The face zone ``name`` cut into the cyclic pair ``name_master`` /
        ``name_slave`` with ``porousBafflePressure`` on ``p_rgh``.

        OpenFOAM v1912's ``porousBafflePressureFvPatchField::updateCoeffs`` sets the jump
        ``-sign(u_n) (D nu + I |u_n| / 2) |u_n| length`` with ``u_n = phi / |S_f|`` the
        face-normal velocity of the face's own flux, and multiplies it by ``rho`` only
        when the field has the dimensions of pressure: ``buoyantBoussinesq*Foam``'s
        ``p_rgh`` is kinematic ([m2/s2]), so ``D = 0``, ``I = k_loss`` and ``length`` 1 m
        give the twin's ``k u_n^2 / 2`` (kinematic; ``k rho u_n^2 / 2`` in Pa). Source:
        ``src/TurbulenceModels/turbulenceModels/derivedFvPatchFields/porousBafflePressure``
        of OpenFOAM (OpenCFD). Checked in a duct (:mod:`benchmarks.validation.doorcheck`:
        ``k`` 1 and 2.9 give the twin's drop to 0.1 %), but v1912 applies the jump from
        the last flux without relaxation, and the run diverges once ``k |u_n|`` passes
        about 2 m/s (a door's ``k`` 7,070 within 10-20 iterations). Every other field is
        plainly ``cyclic`` there.
        """
        master, slave = f"{name}_master", f"{name}_slave"
        self.baffles.append((name, master, slave, "cyclic"))
        for nm in (master, slave):
            self.bc["p_rgh"].append(
                (nm, f"type porousBafflePressure; patchType cyclic; D 0; I {k_loss:.10g}; "
                     f"length {BAFFLE_LENGTH_M:g}; jump uniform 0; value uniform 0;"))
            for f in FIELDS:
                if f != "p_rgh":
                    self.bc[f].append((nm, "type cyclic;"))
        return master, slave

    def wall_baffle(self, name):
        """The face zone ``name`` cut into two walls, ``name_a`` and ``name_b``."""
        a, b = f"{name}_a", f"{name}_b"
        self.baffles.append((name, a, b, "wall"))
        for nm in (a, b):
            for f in FIELDS:
                self.bc[f].append((nm, WALL_BC[f]))
        return a, b

    def opening_patch(self, base, port) -> list[str]:
        """A fixed-pressure opening over every face of ``port`` (a cooler return stated
        as ``pressure``): ``p_rgh`` at total pressure 0, the velocity from the flux,
        zero gradient for what leaves and the hall's start temperature, 5 % intensity and
        a 0.1 m mixing length for what would come back in."""
        cells, axis, side = port_faces(port)
        self.face_set(base, cells, axis, side)
        self.patches.append(base)
        self.pressure_patches.append(base)
        self.bc["U"].append((base, "type pressureInletOutletVelocity; value uniform (0 0 0);"))
        self.bc["p_rgh"].append((base, "type totalPressure; p0 uniform 0; value uniform 0;"))
        for f in ("p", "nut"):
            self.bc[f].append((base, "type calculated; value uniform 0;"))
        self.bc["alphat"].append((base, "type fixedValue; value uniform 0;"))
        self.bc["T"].append((base, f"type inletOutlet; inletValue uniform {self.T0}; "
                                   f"value uniform {self.T0};"))
        self.bc["k"].append((base, "type inletOutlet; inletValue uniform 1e-3; "
                                   "value uniform 1e-3;"))
        self.bc["epsilon"].append((base, "type inletOutlet; inletValue uniform 1e-4; "
                                         "value uniform 1e-4;"))
        return [base]

    def port_patches(self, base, dev, port, into_body) -> list[str]:
        """One patch per orientation and speed of ``port`` (a rack face is one patch),
        with the twin's prescribed normal velocity on every face."""
        g = self.g
        cells, axis, side = port_faces(port)
        areas = np.array([g.face_area_m2(int(a)) for a in axis])
        speeds = dev.flow_m3_s * face_fractions(port, g) / areas
        keys = list(zip(axis.tolist(), side.tolist(), np.round(speeds, 12).tolist()))
        groups = sorted(set(keys))
        names = []
        for gi, key in enumerate(groups):
            a, s, speed = key
            m = np.array([k == key for k in keys])
            nm = base if len(groups) == 1 else f"{base}{gi}"
            names.append(nm)
            self.face_set(nm, cells[m], axis[m], side[m])
            self.patches.append(nm)
            vel = _normal_velocity(a, s, speed, into_body)
            self.bc["U"].append((nm, f"type fixedValue; value uniform {_vec(vel)};"))
            self.bc["p_rgh"].append((nm, "type fixedFluxPressure; value uniform 0;"))
            for f in ("p", "nut"):
                self.bc[f].append((nm, "type calculated; value uniform 0;"))
            # no turbulent heat diffusion across a port (the twin carries heat over a
            # port by the flow alone): a fixedValue patch keeps 0 when the solver sets
            # alphat = nut/Prt; without it the heat added in front of a rack exhaust
            # leaks back out through the exhaust face (3.5 % of the heat, measured)
            self.bc["alphat"].append((nm, "type fixedValue; value uniform 0;"))
            if into_body:
                for f in ("T", "k", "epsilon"):
                    self.bc[f].append((nm, "type zeroGradient;"))
            else:
                self.bc["k"].append((nm, "type turbulentIntensityKineticEnergyInlet; "
                                         f"intensity {INLET_INTENSITY}; value uniform 1e-3;"))
                self.bc["epsilon"].append(
                    (nm, "type turbulentMixingLengthDissipationRateInlet; "
                         f"mixingLength {INLET_MIXING_LENGTH_M}; value uniform 1e-3;"))
        return names


def _resistance_cells(problem: Problem, res) -> np.ndarray:
    """The open cell behind each loss face: the one flagged TILE/PANEL, else the upper."""
    g, sol, a = problem.grid, problem.solid, res.axis
    cells = []
    for fu in np.asarray(res.faces, np.int64):
        fo = fu.copy()
        fo[a] -= 1
        cand = [c for c in (fu, fo) if 0 <= c[a] < g.shape[a]
                and not sol[tuple(c)] & int(Flag.SOLID)]
        pick = [c for c in cand if sol[tuple(c)] & int(Flag.TILE | Flag.PANEL)]
        cells.append((pick or cand)[0])
    return np.array(cells)


def zone_thickness_cells(treatment: str) -> int:
    """The cells across a porous zone of ``treatment`` (``zone``: 1, ``zone4``: 4)."""
    m = re.fullmatch(r"zone(\d*)", treatment)
    if m is None:
        raise ValueError(f"{treatment!r} is not a porous zone treatment")
    return int(m.group(1) or 1)


def _zone_cells(problem: Problem, res, n_cells: int) -> np.ndarray:
    """The open cells of a zone ``n_cells`` thick astride each loss face: ``n_cells / 2``
    on either side along the face's axis (solid cells left out)."""
    if n_cells % 2:
        raise ValueError(f"a zone astride a face needs an even thickness, not {n_cells}")
    g, sol, a = problem.grid, problem.solid, res.axis
    out = set()
    for fu in np.asarray(res.faces, np.int64).reshape(-1, 3):
        for m in range(-n_cells // 2, n_cells // 2):
            c = fu.copy()
            c[a] += m
            if 0 <= c[a] < g.shape[a] and not sol[tuple(c)] & int(Flag.SOLID):
                out.add(tuple(int(x) for x in c))
    return np.array(sorted(out), np.int64).reshape(-1, 3)


def _internal_loss_faces(problem: Problem, faces, axis: int) -> np.ndarray:
    """The loss faces (staggered indices along ``axis``) with open cells on both sides."""
    g, sol = problem.grid, problem.solid
    out = []
    for fu in np.asarray(faces, np.int64).reshape(-1, 3):
        fo = fu.copy()
        fo[axis] -= 1
        if (0 <= fo[axis] and fu[axis] < g.shape[axis]
                and not sol[tuple(fu)] & int(Flag.SOLID) and not sol[tuple(fo)] & int(Flag.SOLID)):
            out.append(fu)
    return np.array(out, np.int64).reshape(-1, 3)


def gap_faces(problem: Problem, faces, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """A door's internal loss faces split into its gaps and the rest: the lowest row
    (the faces at the smallest height index; for a horizontal group the smallest x
    index), open, and the others, shut."""
    faces = _internal_loss_faces(problem, faces, axis)
    along = 2 if axis != 2 else 0
    low = faces[:, along] == faces[:, along].min()
    return faces[low], faces[~low]


def slot_walls(problem: Problem, res, n_cells: int) -> list[tuple[np.ndarray, int]]:
    """The walls of a door's gap as a closed slot ``n_cells`` long through the door plane:
    every face between the open row's zone cells (:func:`_zone_cells`) and an open cell
    outside them, but for those along the flow axis (the slot's two mouths). So the
    zone's Forchheimer loss acts on the gap's own velocity: in open flow a zone sees the
    converging and spreading flow beside the gap, slower than the gap's, and holds 38 %
    of the drop in the duct check; with the roof alone walled, 89 % in the duct and 55 %
    at a hall's doors, where the flow came in at the slot's open sides. Returns
    ``[(faces, axis)]`` per face axis (staggered indices: the face below the cell)."""
    cells = _zone_cells(problem, res, n_cells)
    inside = {tuple(c) for c in cells.tolist()}
    out = []
    for ax in range(3):
        if ax != res.axis:
            faces = _internal_loss_faces(problem, _slot_face_index(cells, ax, inside), ax)
            if len(faces):
                out.append((faces, ax))
    return out


def _slot_face_index(cells: np.ndarray, ax: int, inside: set) -> np.ndarray:
    """The staggered indices along ``ax`` of the faces between ``cells`` and cells not in
    ``inside``: face ``i`` lies between cells ``i - 1`` and ``i``."""
    out = []
    for c in cells.tolist():
        below = list(c)
        below[ax] -= 1
        if tuple(below) not in inside:
            out.append(list(c))              # the face below c
        above = list(c)
        above[ax] += 1
        if tuple(above) not in inside:
            out.append(above)                # the face below the cell above
    return np.array(out, np.int64).reshape(-1, 3)


def _write_mesh(problem: Problem, path: Path) -> None:
    """One block of exactly the twin's cells, and the fluid cell set in block order."""
    g = problem.grid
    nx, ny, nz = g.shape
    o = np.array(g.origin_m)
    L = o + np.array(g.shape) * np.array(g.spacing_m)
    verts = [(o[0], o[1], o[2]), (L[0], o[1], o[2]), (L[0], L[1], o[2]), (o[0], L[1], o[2]),
             (o[0], o[1], L[2]), (L[0], o[1], L[2]), (L[0], L[1], L[2]), (o[0], L[1], L[2])]
    (path / "system/blockMeshDict").write_text(
        _header("dictionary", "blockMeshDict") + "scale 1;\n\nvertices\n(\n"
        + "".join(f"    {_vec(v)}\n" for v in verts) + ");\n\n"
        f"blocks\n(\n    hex (0 1 2 3 4 5 6 7) ({nx} {ny} {nz}) simpleGrading (1 1 1)\n);\n\n"
        "edges ();\n\nboundary\n(\n    walls\n    {\n        type wall;\n        faces\n"
        "        (\n            (0 3 2 1) (4 5 6 7) (0 1 5 4) (2 3 7 6) (0 4 7 3) (1 2 6 5)\n"
        "        );\n    }\n);\n\nmergePatchPairs ();\n")
    labels = fluid_labels(problem)
    (path / "system/fluidCellSet").write_text(     # copied in after blockMesh
        _header("cellSet", "fluid", "constant/polyMesh/sets") + f"{len(labels)}\n(\n"
        + "\n".join(map(str, labels.tolist())) + "\n)\n")


def fluid_labels(problem: Problem) -> np.ndarray:
    """Block-order labels (``i`` fastest) of the fluid cells: OpenFOAM's cell order."""
    return np.flatnonzero(problem.fluid_mask.ravel(order="F"))


#: Every field's condition on a still adiabatic wall (the box, the solids, shut doors).
WALL_BC = {"U": "type noSlip;", "T": "type zeroGradient;",
           "k": "type kqRWallFunction; value uniform 1e-3;",
           "epsilon": "type epsilonWallFunction; value uniform 1e-3;",
           "nut": "type nutkWallFunction; value uniform 0;",
           "alphat": "type calculated; value uniform 0;",
           "p_rgh": "type fixedFluxPressure; value uniform 0;",
           "p": "type calculated; value uniform 0;"}


def _write_fields(case: _Case, path: Path) -> None:
    walls = WALL_BC
    specs = {"U": ("volVectorField", "[0 1 -1 0 0 0 0]", "(0 0 0)"),
             "T": ("volScalarField", "[0 0 0 1 0 0 0]", f"{case.T0}"),
             "k": ("volScalarField", "[0 2 -2 0 0 0 0]", "1e-3"),
             "epsilon": ("volScalarField", "[0 2 -3 0 0 0 0]", "1e-4"),
             "nut": ("volScalarField", "[0 2 -1 0 0 0 0]", "0"),
             "alphat": ("volScalarField", "[0 2 -1 0 0 0 0]", "0"),
             "p_rgh": ("volScalarField", "[0 2 -2 0 0 0 0]", "0"),
             "p": ("volScalarField", "[0 2 -2 0 0 0 0]", "0")}
    for fld, (cls, dim, val) in specs.items():
        body = f"    walls {{ {walls[fld]} }}\n" + "".join(
            f"    {nm} {{ {txt} }}\n" for nm, txt in case.bc[fld])
        (path / "0.orig" / fld).write_text(
            _header(cls, fld, "0") + f"dimensions {dim};\n\ninternalField uniform {val};\n\n"
            f"boundaryField\n{{\n{body}}}\n")


def _write_physics(problem: Problem, path: Path) -> None:
    fl = problem.fluid
    (path / "constant/transportProperties").write_text(
        _header("dictionary", "transportProperties")
        + f"transportModel Newtonian;\n\nnu {fl.viscosity_m2_s:.10g};\n"
          f"beta {fl.expansion_1_k:.10g};\nTRef {fl.reference_temp_c:.10g};\n"
          f"Pr {fl.viscosity_m2_s / fl.diffusivity_m2_s:.10g};\n"
          f"Prt {problem.turbulence.prandtl_t:.10g};\n")
    (path / "constant/g").write_text(
        _header("uniformDimensionedVectorField", "g", "constant")
        + f"dimensions [0 1 -2 0 0 0 0];\nvalue (0 0 {-fl.gravity_m_s2:.10g});\n")
    (path / "constant/turbulenceProperties").write_text(
        _header("dictionary", "turbulenceProperties")
        + "simulationType RAS;\n\nRAS\n{\n    RASModel kEpsilon;\n    turbulence on;\n"
          "    printCoeffs on;\n}\n")


def _monitor(name: str, patch: str, operation: str, field: str, every: int,
             extra: str = "", region: str = "patch") -> str:
    return (f"    {name}\n    {{\n        type surfaceFieldValue;\n"
            "        libs (\"libfieldFunctionObjects.so\");\n"
            f"        writeControl timeStep;\n        writeInterval {every};\n"
            f"        log false;\n        writeFields false;\n        regionType {region};\n"
            f"        name {patch};\n        operation {operation};\n{extra}"
            f"        fields ({field});\n    }}\n")


def _write_numerics(info: CaseInfo, path: Path, max_iterations: int, average_from: float,
                    transient: Transient | None = None,
                    pressure_patches: tuple = ()) -> None:
    # monitors: the area mean of T over every device intake (and cooler supply), every
    # 10 SIMPLE iterations or every time step; the runner's stopping rule and the
    # batch-means uncertainty read them. A fixed-pressure opening also reports its
    # volume flux and its advected heat (sum of phi T), its flow being free.
    every = 1 if transient else 10
    monitors = []
    for rec in info.devices:
        for role in ("in",) if rec["kind"] == "rack" else ("in", "out"):
            for nm in rec[role]:
                monitors.append(_monitor(f"mon_{nm}", nm, "areaAverage", "T", every))
    # the flux through each resistance's loss faces along +axis: on the baffle's master
    # side (its faces keep the zone's orientation), else on the face zone
    for z in info.zones:
        if z["kind"] != "resistance" or not z.get("faces"):
            continue
        # and the sum of |phi|: (gross - |net|) / 2 is the exchange flow each way
        for prefix, op in (("loss_", "sum"), ("lossmag_", "sumMag")):
            if z["treatment"] == "baffle":
                monitors.append(_monitor(f"{prefix}{z['name']}", z["patches"][0], op, "phi",
                                         every))
            else:
                monitors.append(_monitor(f"{prefix}{z['name']}", z["faces_zone"], op, "phi",
                                         every, region="faceZone"))
    for nm in pressure_patches:
        monitors.append(_monitor(f"flow_{nm}", nm, "sum", "phi", every))
        monitors.append(_monitor(f"heat_{nm}", nm, "weightedSum", "T", every,
                                 "        weightField phi;\n"))
    if transient:
        t = transient
        control = (f"application {OPENFOAM_TRANSIENT_BIN};\nstartFrom latestTime;\n"
                   f"startTime 0;\nstopAt endTime;\nendTime {t.end_time_s:g};\n"
                   f"deltaT {t.first_step_s:g};\nadjustTimeStep yes;\nmaxCo {t.max_courant:g};\n"
                   f"maxDeltaT {t.max_step_s:g};\nwriteControl adjustableRunTime;\n"
                   f"writeInterval {t.end_time_s:g};\n")
        base = "time"
    else:
        control = (f"application {OPENFOAM_BIN};\nstartFrom latestTime;\nstartTime 0;\n"
                   f"stopAt endTime;\nendTime {int(max_iterations)};\ndeltaT 1;\n"
                   f"writeControl timeStep;\nwriteInterval {int(max_iterations)};\n")
        base = "iteration"
    (path / "system/controlDict").write_text(
        _header("dictionary", "controlDict") + control
        + "purgeWrite 1;\n"
          "writeFormat ascii;\nwritePrecision 8;\nwriteCompression off;\ntimeFormat general;\n"
          "timePrecision 8;\nrunTimeModifiable true;\n\nfunctions\n{\n"
          + "".join(monitors)
          # SIMPLE on a buoyant hall may not settle (plumes and jets that swing): the
          # answer is then the iteration average from average_from on (TMean, UMean);
          # a transient's answer is its time average from average_from (seconds) on
          + "    average\n    {\n        type fieldAverage;\n"
            "        libs (\"libfieldFunctionObjects.so\");\n"
            f"        timeStart {average_from:g};\n        writeControl writeTime;\n"
            "        fields\n        (\n"
            f"            T {{ mean on; prime2Mean on; base {base}; }}\n"
            f"            U {{ mean on; prime2Mean off; base {base}; }}\n        );\n    }}\n"
          + "}\n")
    div = "".join(f"    div(phi,{f}) {s};\n" for f, s in SCHEMES.items())
    ddt = "Euler" if transient else "steadyState"
    (path / "system/fvSchemes").write_text(
        _header("dictionary", "fvSchemes")
        + f"ddtSchemes {{ default {ddt}; }}\n\n"
          "gradSchemes { default Gauss linear; grad(U) cellLimited Gauss linear 1; "
          "grad(T) cellLimited Gauss linear 1; }\n\n"
          "divSchemes\n{\n    default none;\n" + div
        + "    div((nuEff*dev2(T(grad(U))))) Gauss linear;\n}\n\n"
          "laplacianSchemes { default Gauss linear corrected; }\n\n"
          "interpolationSchemes { default linear; }\n\nsnGradSchemes { default corrected; }\n\n"
          "wallDist { method meshWave; }\n")
    r = RELAXATION
    solvers = ("solvers\n{\n    p_rgh\n    {\n        solver GAMG;\n        smoother DIC;\n"
               "        tolerance 1e-8;\n        relTol 0.01;\n    }\n"
               "    \"(U|T|k|epsilon)\"\n    {\n        solver PBiCGStab;\n"
               "        preconditioner DILU;\n        tolerance 1e-8;\n        relTol 0.1;\n    }\n")
    if transient:
        # PIMPLE as PISO (one outer pass, two pressure corrections: the time step, not
        # under-relaxation, keeps it stable); the last correction to a tight tolerance
        text = (solvers
                + "    p_rghFinal\n    {\n        $p_rgh;\n        tolerance 1e-7;\n"
                  "        relTol 0.001;\n    }\n"
                  "    \"(U|T|k|epsilon)Final\"\n    {\n        $U;\n        tolerance 1e-7;\n"
                  "        relTol 0.01;\n    }\n}\n\n"
                  "PIMPLE\n{\n    momentumPredictor yes;\n    nOuterCorrectors 1;\n"
                  "    nCorrectors 2;\n    nNonOrthogonalCorrectors 0;\n"
                  "    pRefCell 0;\n    pRefValue 0;\n}\n\n"
                  "relaxationFactors\n{\n    equations { \".*\" 1; }\n}\n")
    else:
        text = (solvers + "}\n\n"
                "SIMPLE\n{\n    momentumPredictor yes;\n    nNonOrthogonalCorrectors 0;\n"
                "    pRefCell 0;\n    pRefValue 0;\n}\n\n"
                f"relaxationFactors\n{{\n    fields {{ p_rgh {r['p_rgh']}; }}\n"
                f"    equations {{ U {r['U']}; T {r['T']}; k {r['k']}; "
                f"epsilon {r['epsilon']}; }}\n}}\n")
    (path / "system/fvSolution").write_text(_header("dictionary", "fvSolution") + text)


def seed_fields(source_dir, path) -> list[str]:
    """Replace the internal fields of ``path/0`` by those of ``source_dir`` (a time folder
    of a finished run on the same mesh), keeping the boundary conditions of ``path``.

    Returns the fields seeded. Used to start a transient from a SIMPLE answer.
    """
    source_dir, dst = Path(source_dir), Path(path) / "0"
    done = []
    for fld in FIELDS:
        src = source_dir / fld
        if not src.exists() or not (dst / fld).exists():
            continue
        block = _internal_block(src.read_text())
        txt = (dst / fld).read_text()
        m = re.search(r"internalField\s+uniform[^;]*;", txt)
        if m is None:
            raise ValueError(f"{dst / fld}: expected a uniform internalField to replace")
        (dst / fld).write_text(txt[:m.start()] + block + txt[m.end():])
        done.append(fld)
    return done


def _internal_block(txt: str) -> str:
    """The ``internalField ... ;`` entry of an OpenFOAM field file, verbatim."""
    m = re.search(r"internalField\s+(uniform|nonuniform)", txt)
    if m is None:
        raise ValueError("no internalField")
    if m.group(1) == "uniform":
        return txt[m.start():txt.index(";", m.end()) + 1]
    end = txt.index("\n)\n;", m.end())
    return txt[m.start():end + 4]


def write_case(problem: Problem, path, *, max_iterations: int = 4000,
               average_from: int = 2000, stop_tol_k: float = 0.05, stop_window: int = 300,
               initial_temp_c: float | None = None, transient: Transient | None = None,
               returns: str = "flow", resistances: str = "zone") -> CaseInfo:
    """Write an OpenFOAM case directory for ``problem`` at ``path`` (replaced).

    ``max_iterations`` caps SIMPLE; the runner stops earlier when every rack intake mean
    has moved less than ``stop_tol_k`` over the last ``stop_window`` iterations (the
    criteria go into ``case.json``). A case that does not settle is answered by its
    iteration average from ``average_from`` to the end (``fieldAverage``).

    With ``transient`` the case is a ``buoyantBoussinesqPimpleFoam`` run answered by its
    time average (the iteration arguments are then unused). ``returns`` states the
    cooling units' returns (:data:`RETURN_TREATMENTS`), ``resistances`` the loss faces
    (:data:`RESISTANCE_TREATMENTS`: a porous zone on the cell behind, or a baffle with a
    pressure jump on the face). Either way the flux through each loss face is monitored
    (``loss_<zone>``: the sum of ``phi`` over the faces, along ``+axis``).
    """
    if returns not in RETURN_TREATMENTS:
        raise ValueError(f"returns = {returns!r}; choose from {', '.join(RETURN_TREATMENTS)}")
    if resistances not in RESISTANCE_TREATMENTS:
        raise ValueError(f"resistances = {resistances!r}; choose from "
                         f"{', '.join(RESISTANCE_TREATMENTS)}")
    if transient is not None:
        max_iterations, average_from = 0, transient.average_from_s
    elif not 0 < average_from < max_iterations:
        raise ValueError(f"average_from = {average_from} must lie between 0 and "
                         f"max_iterations = {max_iterations}")
    path = Path(path)
    for f, bc in problem.boundaries.items():
        if bc.velocity != "wall" or bc.thermal != "adiabatic" or any(bc.wall_velocity_m_s):
            raise ValueError(f"{problem.name}: box face {f} is not a still adiabatic wall; "
                             "the OpenFOAM writer handles halls only")
    if path.exists():
        shutil.rmtree(path)
    for sub in ("0.orig", "constant", "system"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    g = problem.grid
    T0 = problem.initial_temp_c if initial_temp_c is None else initial_temp_c
    case = _Case(problem, T0)
    info = CaseInfo(path=path, problem_name=problem.name, cells=int(g.cells),
                    fluid_cells=int(problem.fluid_mask.sum()), shape=tuple(g.shape),
                    spacing_m=tuple(g.spacing_m))
    _write_mesh(problem, path)
    used = set()
    for dev in problem.devices:
        base = _word(dev.name)
        while base in used:
            base += "_"
        used.add(base)
        rec = {"name": dev.name, "kind": dev.kind, "flow_m3_s": dev.flow_m3_s,
               "heat_w": dev.heat_w, "supply_temp_c": dev.supply_temp_c}
        for role, port, into_body in (("in", dev.intake, True), ("out", dev.exhaust, False)):
            if role == "in" and dev.kind != "rack" and returns == "pressure":
                rec[role] = case.opening_patch(f"{base}_{role}", port)
            else:
                rec[role] = case.port_patches(f"{base}_{role}", dev, port, into_body)
            _, axis, _ = port_faces(port)
            rec[f"{role}_area_m2"] = float(sum(g.face_area_m2(int(a)) for a in axis))
        if dev.kind == "rack":
            # the black box: exhaust at the intake's flux-weighted mean, heat added in front
            if len(rec["in"]) != 1:
                raise ValueError(f"rack {dev.name}: an intake of several orientations or "
                                 "speeds is not supported by the OpenFOAM writer")
            for nm in rec["out"]:
                case.bc["T"].append((nm, "type outletMappedUniformInlet; "
                                         f"outletPatch {rec['in'][0]}; value uniform {T0};"))
            if dev.heat_w > 0:
                cells, _, _ = port_faces(dev.exhaust)
                case.heat_source(f"{base}_heat", cells, dev.heat_w)
                info.zones.append({"name": f"{base}_heat", "kind": "rack-heat",
                                   "device": dev.name, "power_w": dev.heat_w,
                                   "cells": int(len(np.unique(cells, axis=0)))})
        else:
            for nm in rec["out"]:
                case.bc["T"].append((nm, f"type fixedValue; value uniform {dev.supply_temp_c};"))
        info.devices.append(rec)
    for n, res in enumerate(problem.resistances):
        zone = f"res{n}_{_word(res.name)}"
        faces_zone = f"{zone}_faces"
        rec = {"name": zone, "kind": "resistance", "resistance": res.name,
               "axis": res.axis, "k_loss": res.k_loss, "treatment": resistances,
               "faces_zone": faces_zone}
        gaps = resistances == "gaps" and res.k_loss >= GAP_K_MIN
        if gaps:
            # a door as its gaps: shut but for its lowest row, which passes the same flow
            # at the same pressure difference through its share f of the area (k f^2)
            open_faces, shut_faces = gap_faces(problem, res.faces, res.axis)
            frac = len(open_faces) / (len(open_faces) + len(shut_faces))
            res = replace(res, faces=open_faces, k_loss=res.k_loss * frac ** 2)
            case.loss_face_zone(f"{zone}_shut", shut_faces, res.axis)
            patches = list(case.wall_baffle(f"{zone}_shut"))
            slot = slot_walls(problem, res, zone_thickness_cells("zone4"))
            for faces, ax in slot:
                case.loss_face_zone(f"{zone}_slot{ax}", faces, ax)
                patches += case.wall_baffle(f"{zone}_slot{ax}")
            rec.update({"open_faces": int(len(open_faces)), "shut_faces": int(len(shut_faces)),
                        "slot_faces": int(sum(len(f) for f, _ in slot)), "open_frac": frac,
                        "k_loss_open": res.k_loss, "patches": patches})
        # the loss faces as a face zone: their flux is monitored, and a baffle cuts them
        rec["faces"] = case.loss_face_zone(faces_zone, res.faces, res.axis)
        if resistances == "baffle":
            # the twin's loss k rho v^2 / 2 on the face = a pressure jump on the face
            rec["patches"] = list(case.porous_baffle(faces_zone, res.k_loss))
            rec["baffle_I_1_m"] = res.k_loss / BAFFLE_LENGTH_M
            rec["baffle_length_m"] = BAFFLE_LENGTH_M
        else:
            # ... = a Forchheimer zone over n cells, dp = beta |u| u n d
            n_cells = zone_thickness_cells("zone4" if resistances == "gaps" else resistances)
            cells = (_resistance_cells(problem, res) if n_cells == 1 else
                     _zone_cells(problem, res, n_cells))
            beta = [0.0, 0.0, 0.0]
            beta[res.axis] = res.k_loss / (2.0 * n_cells * g.spacing_m[res.axis])
            case.porous_zone(zone, cells, beta)
            rec.update({"beta_1_m": beta[res.axis], "cells": int(len(cells)),
                        "thickness_cells": n_cells})
        info.zones.append(rec)
    for src in problem.sources:
        if src.power_w != 0 and len(src.cells):
            case.heat_source(f"src_{_word(src.name)}", src.cells, src.power_w)

    (path / "system/topoSetDict").write_text(
        _header("dictionary", "topoSetDict") + "actions\n(\n" + "".join(case.actions) + ");\n")
    (path / "system/createPatchDict").write_text(
        _header("dictionary", "createPatchDict") + "pointSync false;\n\npatches\n(\n"
        + "".join(f"    {{ name {nm}; patchInfo {{ type patch; }} constructFrom set; set {nm}; }}\n"
                  for nm in case.patches) + ");\n")
    if case.baffles:
        # after createPatch, before the fields are copied in (noFields: 0.orig holds the
        # baffles' entries, written with the rest)
        (path / "system/createBafflesDict").write_text(
            _header("dictionary", "createBafflesDict")
            + "internalFacesOnly true;\n\nnoFields true;\n\nbaffles\n{\n"
            + "".join(f"    {z}\n    {{\n        type faceZone;\n        zoneName {z};\n"
                      "        patches\n        {\n"
                      + (f"            master {{ name {m}; type cyclic; neighbourPatch {sl}; }}\n"
                         f"            slave {{ name {sl}; type cyclic; neighbourPatch {m}; }}\n"
                         if kind == "cyclic" else
                         f"            master {{ name {m}; type wall; }}\n"
                         f"            slave {{ name {sl}; type wall; }}\n")
                      + "        }\n    }\n" for z, m, sl, kind in case.baffles) + "}\n")
    (path / "system/fvOptions").write_text(
        _header("dictionary", "fvOptions") + "\n".join(case.options))
    _write_fields(case, path)
    _write_physics(problem, path)
    _write_numerics(info, path, max_iterations, average_from, transient,
                    tuple(case.pressure_patches))
    meta = {"writer": __name__, "max_iterations": int(max_iterations),
            "average_from": average_from, "returns": returns, "resistances": resistances,
            "pressure_patches": list(case.pressure_patches),
            "transient": None if transient is None else asdict(transient),
            "stop_tol_k": stop_tol_k, "stop_window": stop_window, "case": info.to_json()}
    (path / "case.json").write_text(json.dumps(meta, indent=1))
    return info
