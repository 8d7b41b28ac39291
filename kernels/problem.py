"""What the thermal core is asked to solve: fields, masks and flow devices on a grid.

This is the contract between the facility layer (``twin.thermal.mesh`` fills these in from a
facility file) and the solver. The solver knows cells, faces and devices by index, not
racks by name: the names here are only carried through for reporting.

Conventions (see ``kernels/README.md``):

* ``solid`` is a ``uint8`` array of :class:`~kernels.flags.Flag` bits on cell centres,
  shape ``grid.shape``; a cell with the ``SOLID`` bit is not fluid (wall, floor slab,
  rack or unit body, containment panel, obstacle).
* A :class:`Port` is a set of cell faces between a fluid cell and a solid device body
  or the domain boundary (a supply diffuser or return grille on a wall, floor or
  ceiling). Air crosses each face at a prescribed velocity: one speed over the port, or
  per-face shares of the device's flow (``flow_frac``) for a port made of patches.
* A :class:`Device` joins an intake port and an exhaust port at one volumetric flow:
  a **rack** heats the air by ``heat_w``; a **cooler** (CRAH/CRAC, in-row, fan wall)
  supplies air at ``supply_temp_c`` and removes whatever heat that takes, capped at
  ``capacity_w`` (beyond it the supply temperature rises).
* A :class:`Resistance` is a set of open faces with a loss coefficient (perforated
  tiles, grilles, filters): ``dp = k_loss * rho * v**2 / 2``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from common.errors import InputError
from common.fluids import Fluid

from .flags import Flag
from .grid import Grid

FACES = ("x-", "x+", "y-", "y+", "z-", "z+")


@dataclass(frozen=True)
class Turbulence:
    """Turbulence closure.

    ``"chen-xu"``: the zero-equation indoor-airflow model of Chen & Xu (1998),
    ``nu_t = 0.03874 * |V| * l`` with ``l`` the distance to the nearest wall
    (Chen, Q. & Xu, W., "A zero-equation turbulence model for indoor airflow
    simulation", Energy and Buildings 28 (1998) 137-144). This is the default for halls:
    it was calibrated on room airflows and costs one pointwise pass.
    ``"k-epsilon"``: the standard two-equation model of Launder & Spalding (1974,
    Comput. Methods Appl. Mech. Eng. 3, 269-289) with its log-law wall functions and
    the buoyancy production of Rodi (1987) (``buoyancy_production``); constants in
    :data:`KEPS`, the terms in ``kernels/pointwise.py`` (``k_item``, ``eps_item``).
    Every inflow (supply, rack exhaust, cooler outlet) brings ``k = 1.5 (I U)^2`` and
    ``eps = Cmu^3/4 k^3/2 / L`` with the intensity ``inlet_intensity`` and the mixing
    length ``inlet_mixing_length_m`` (OpenFOAM's turbulentIntensityKineticEnergyInlet
    and turbulentMixingLengthDissipationRateInlet); the air starts at ``initial_k_m2_s2``
    and ``initial_eps_m2_s3``.
    ``"constant"``: a constant effective viscosity ``nu_t_m2_s``.
    ``"laminar"``: ``nu_t = 0`` (verification cases).
    The turbulent Prandtl number ``prandtl_t`` turns ``nu_t`` into a heat diffusivity.
    """

    model: Literal["laminar", "constant", "chen-xu", "k-epsilon"] = "chen-xu"
    nu_t_m2_s: float = 0.0
    prandtl_t: float = 0.9
    inlet_intensity: float = 0.05
    inlet_mixing_length_m: float = 0.1
    initial_k_m2_s2: float = 1e-3
    initial_eps_m2_s3: float = 1e-4
    buoyancy_production: bool = True

    def __post_init__(self):
        if self.model not in TURBULENCE_MODELS:
            raise InputError(
                f"turbulence model '{self.model}' is unknown; use "
                + ", ".join(TURBULENCE_MODELS))
        if not np.isfinite(self.nu_t_m2_s) or self.nu_t_m2_s < 0:
            raise InputError("turbulence: nu_t_m2_s must be >= 0")
        if not np.isfinite(self.prandtl_t) or self.prandtl_t <= 0:
            raise InputError("turbulence: prandtl_t must be > 0")
        if not (0 < self.inlet_intensity <= 0.5):
            raise InputError("turbulence: inlet_intensity must be in (0, 0.5]")
        for name in ("inlet_mixing_length_m", "initial_k_m2_s2", "initial_eps_m2_s3"):
            x = getattr(self, name)
            if not np.isfinite(x) or x <= 0:
                raise InputError(f"turbulence: {name} must be > 0")

    def inlet_k_eps(self, speed_m_s):
        """``(k, eps)`` an inflow at ``speed_m_s`` brings [m2/s2, m2/s3] (see above)."""
        k = np.maximum(1.5 * (self.inlet_intensity * np.asarray(speed_m_s, float)) ** 2,
                       KEPS["k_min"])
        return k, np.maximum(KEPS["c_mu"] ** 0.75 * k ** 1.5 / self.inlet_mixing_length_m,
                             KEPS["eps_min"])


#: Turbulence models the kernels know, in the order of their integer code.
TURBULENCE_MODELS = ("laminar", "constant", "chen-xu", "k-epsilon")

#: Constants of the standard k-epsilon model (Launder & Spalding 1974) and of its log-law
#: wall functions (von Karman's kappa, the roughness constant E of a smooth wall, and the
#: y+ where the viscous sublayer meets the log law: y+ = ln(E y+) / kappa, as OpenFOAM
#: computes it); ``k_min``, ``eps_min``: floors that keep ``k`` and ``eps`` positive.
KEPS = {"c_mu": 0.09, "c1": 1.44, "c2": 1.92, "sigma_k": 1.0, "sigma_eps": 1.3,
        "kappa": 0.41, "e_log": 9.8, "yplus_lam": 11.53, "k_min": 1e-10, "eps_min": 1e-12}


@dataclass(frozen=True)
class BoundaryFace:
    """Condition on one face of the box.

    velocity: ``"wall"`` (no slip; the wall may move tangentially at ``wall_velocity_m_s``,
    used for the lid-driven cavity) or ``"slip"`` (no penetration, no shear: a symmetry
    plane, used to make 2D cases from one layer of cells).

    thermal: ``"adiabatic"``; ``"temperature"`` (wall held at ``temp_c``); or
    ``"convective"`` (heat flows to ``temp_c`` through a conductance ``h_w_m2k``, e.g. an
    outside wall's U-value).
    """

    velocity: Literal["wall", "slip"] = "wall"
    wall_velocity_m_s: tuple[float, float, float] = (0.0, 0.0, 0.0)
    thermal: Literal["adiabatic", "temperature", "convective"] = "adiabatic"
    temp_c: float = 22.0
    h_w_m2k: float = 0.0

    def __post_init__(self):
        if self.velocity not in ("wall", "slip"):
            raise InputError(f"boundary velocity '{self.velocity}' is unknown; use wall or slip")
        if self.thermal not in ("adiabatic", "temperature", "convective"):
            raise InputError(
                f"boundary thermal '{self.thermal}' is unknown; use adiabatic, temperature or convective")
        if self.thermal == "convective" and (not np.isfinite(self.h_w_m2k) or self.h_w_m2k < 0):
            raise InputError("boundary: h_w_m2k must be >= 0")
        if not np.isfinite(self.temp_c):
            raise InputError("boundary: temp_c must be finite")


@dataclass(frozen=True)
class Port:
    """Faces through which a device draws or releases air.

    cells : (n, 3) int
        The fluid cells that touch the device; face ``m`` is on side ``side[m]`` of cell
        ``cells[m]`` along ``axis[m]``.
    axis : 0, 1 or 2, or an (n,) array of them
    side : +1 or -1, or an (n,) array of them
        +1: the face is the cell's upper face along ``axis`` (device body, or the domain
        boundary, at index + 1). A port whose faces share one orientation keeps plain
        ints in ``axis`` and ``side`` (racks, cooling units); a port made of patches on
        several surfaces (:meth:`union`) holds arrays.
    flow_frac : (n,) float, optional
        The share of the device's flow through each face (normalised to sum 1). Left out:
        the same speed on every face, i.e. shares in proportion to the face areas.

    The faces either border a solid device body or lie on the domain boundary (a supply
    diffuser or return grille on the hall's floor, ceiling or a wall). :meth:`faces`
    lists every face with its orientation.
    """

    cells: np.ndarray
    axis: object
    side: object
    flow_frac: np.ndarray | None = None

    def __post_init__(self):
        c = np.asarray(self.cells, dtype=np.int64).reshape(-1, 3)
        object.__setattr__(self, "cells", c)
        n = c.shape[0]
        for name, allowed in (("axis", (0, 1, 2)), ("side", (-1, 1))):
            v = getattr(self, name)
            if np.ndim(v) == 0:
                if v not in allowed:
                    raise InputError(f"port {name} {v} must be one of {allowed}")
                object.__setattr__(self, name, int(v))
                continue
            a = np.asarray(v, dtype=np.int64).reshape(-1)
            if a.shape[0] != n:
                raise InputError(f"port {name}: {a.shape[0]} values for {n} faces; give one per face")
            if not np.isin(a, allowed).all():
                raise InputError(f"port {name} values must be in {allowed}")
            if n and (a == a[0]).all():
                object.__setattr__(self, name, int(a[0]))      # one orientation: plain int
            else:
                object.__setattr__(self, name, a)
        if self.flow_frac is not None:
            f = np.asarray(self.flow_frac, dtype=np.float64).reshape(-1)
            if f.shape[0] != n:
                raise InputError(f"port flow_frac: {f.shape[0]} values for {n} faces")
            if not np.all(np.isfinite(f)) or (f <= 0).any():
                raise InputError("port flow_frac values must be finite and > 0")
            object.__setattr__(self, "flow_frac", f / f.sum())

    @property
    def n_faces(self) -> int:
        return int(self.cells.shape[0])

    @property
    def uniform(self) -> bool:
        """One orientation and the same speed on every face (a rack or unit face)."""
        return isinstance(self.axis, int) and isinstance(self.side, int) and self.flow_frac is None

    @property
    def axes(self) -> np.ndarray:
        """The axis of every face, shape (n,)."""
        return np.broadcast_to(np.asarray(self.axis, dtype=np.int64), (self.n_faces,)).copy()

    @property
    def sides(self) -> np.ndarray:
        """The side (+1/-1) of every face, shape (n,)."""
        return np.broadcast_to(np.asarray(self.side, dtype=np.int64), (self.n_faces,)).copy()

    def faces(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(cells (n, 3) int64, axis (n,) int64, side (n,) int64)``: every face of the port.

        Face ``m`` is the face of fluid cell ``cells[m]`` on side ``side[m]`` (+1 upper,
        -1 lower) along ``axis[m]``; air crosses it along ``axis[m]``.
        """
        return self.cells.copy(), self.axes, self.sides

    def face_index(self) -> np.ndarray:
        """Indices of the port faces in the staggered velocity array of each face's axis."""
        f = self.cells.copy()
        ax, sd = self.axes, self.sides
        up = sd > 0
        f[np.nonzero(up)[0], ax[up]] += 1
        return f

    def face_fractions(self, spacing_m) -> np.ndarray:
        """Share of the device's flow through each face, shape (n,), summing to 1."""
        if self.flow_frac is not None:
            return self.flow_frac.copy()
        dx, dy, dz = spacing_m
        area = np.array([dy * dz, dx * dz, dx * dy])[self.axes]
        return area / area.sum()

    @classmethod
    def union(cls, ports, shares=None, spacing_m=None) -> "Port":
        """One port made of several (patches of one air handler, possibly on several
        surfaces).

        shares : sequence of float, optional
            The part of the flow through each port (any positive scale); within a port
            it is spread at one speed over its faces. Left out: one speed everywhere.
        spacing_m : (dx, dy, dz), optional
            Needed only when ``shares`` is given and a part has faces of several areas.
        """
        ports = list(ports)
        if not ports:
            raise InputError("Port.union needs at least one port")
        cells = np.concatenate([p.cells for p in ports])
        axis = np.concatenate([p.axes for p in ports])
        side = np.concatenate([p.sides for p in ports])
        frac = None
        if shares is not None:
            shares = np.asarray(shares, dtype=np.float64).reshape(-1)
            if shares.shape[0] != len(ports):
                raise InputError(f"Port.union: {shares.shape[0]} shares for {len(ports)} ports")
            parts = []
            for p, s in zip(ports, shares):
                if p.flow_frac is None and isinstance(p.axis, int):
                    parts.append(np.full(p.n_faces, s / p.n_faces))
                elif p.flow_frac is None and spacing_m is None:
                    raise InputError("Port.union: give spacing_m for a part with faces on "
                                     "several axes")
                else:
                    parts.append(s * p.face_fractions(spacing_m))
            frac = np.concatenate(parts)
        return cls(cells, axis, side, frac)


@dataclass(frozen=True)
class Device:
    """A black-box air mover: rack (heats air) or cooler (cools it to a supply temperature).

    Rack model: air is drawn in over ``intake``, carried front-to-back at ``flow_m3_s`` and
    released at ``exhaust`` at the mean intake temperature plus
    ``heat_w / (rho * cp * flow_m3_s)``; no flow through sides or top.

    Cooler model: air is drawn in over ``intake`` (return), released at ``exhaust``
    (supply) at ``supply_temp_c``; the intake temperature is the flow-weighted mean over
    the intake faces (the plain mean for a uniform port); the heat removed is ``rho*cp*Q*(T_return - T_supply)``,
    capped at ``capacity_w``, beyond which the supply temperature rises to
    ``T_return - capacity_w / (rho*cp*Q)``. A cooler never heats the air.
    """

    name: str
    kind: Literal["rack", "cooler"]
    intake: Port
    exhaust: Port
    flow_m3_s: float
    heat_w: float = 0.0
    supply_temp_c: float = 18.0
    capacity_w: float = float("inf")

    def __post_init__(self):
        if self.kind not in ("rack", "cooler"):
            raise InputError(f"device {self.name}: kind '{self.kind}' must be rack or cooler")
        if not np.isfinite(self.flow_m3_s) or self.flow_m3_s < 0:
            raise InputError(
                f"device {self.name}: flow {self.flow_m3_s} m3/s must be a finite number >= 0")
        if not np.isfinite(self.heat_w) or self.heat_w < 0:
            raise InputError(f"device {self.name}: heat {self.heat_w} W must be a finite number >= 0")
        if self.kind == "rack" and self.heat_w > 0 and self.flow_m3_s == 0:
            raise InputError(f"rack {self.name}: {self.heat_w} W of heat but no airflow; give it a flow")
        if not np.isfinite(self.supply_temp_c):
            raise InputError(f"cooler {self.name}: supply_temp_c must be finite")
        if np.isnan(self.capacity_w) or self.capacity_w < 0:
            raise InputError(f"cooler {self.name}: capacity_w must be >= 0")
        if self.intake.n_faces == 0 or self.exhaust.n_faces == 0:
            raise InputError(f"device {self.name}: intake and exhaust need at least one face each")


@dataclass(frozen=True)
class Resistance:
    """Open faces with a pressure-loss coefficient (perforated tiles, grilles).

    faces : (n, 3) int — indices into the staggered velocity array of ``axis``.
    k_loss : loss coefficient referred to the face velocity, ``dp = k * rho * v^2 / 2``.
    """

    name: str
    faces: np.ndarray
    axis: int
    k_loss: float

    def __post_init__(self):
        object.__setattr__(self, "faces", np.asarray(self.faces, dtype=np.int64).reshape(-1, 3))
        if self.axis not in (0, 1, 2):
            raise InputError(f"resistance {self.name}: axis must be 0, 1 or 2")
        if not np.isfinite(self.k_loss) or self.k_loss < 0:
            raise InputError(f"resistance {self.name}: k_loss {self.k_loss} must be >= 0")


@dataclass(frozen=True)
class HeatSource:
    """Heat released straight into the air of some cells (lights, PDUs, people) [W]."""

    name: str
    cells: np.ndarray
    power_w: float

    def __post_init__(self):
        object.__setattr__(self, "cells", np.asarray(self.cells, dtype=np.int64).reshape(-1, 3))
        if not np.isfinite(self.power_w):
            raise InputError(f"heat source {self.name}: power_w must be finite")


def _default_boundaries():
    return {f: BoundaryFace() for f in FACES}


@dataclass(frozen=True)
class Problem:
    """Everything the solver needs for one hall (or one verification case)."""

    grid: Grid
    solid: np.ndarray | None = None
    devices: tuple[Device, ...] = ()
    resistances: tuple[Resistance, ...] = ()
    sources: tuple[HeatSource, ...] = ()
    boundaries: dict = field(default_factory=_default_boundaries)
    fluid: Fluid = field(default_factory=Fluid)
    turbulence: Turbulence = field(default_factory=Turbulence)
    initial_temp_c: float = 22.0
    name: str = "case"

    def __post_init__(self):
        shape = self.grid.shape
        solid = self.solid
        if solid is None:
            solid = np.zeros(shape, dtype=np.uint8)
        solid = np.asarray(solid)
        if solid.shape != shape:
            raise InputError(f"{self.name}: solid mask has shape {solid.shape}, grid is {shape}")
        object.__setattr__(self, "solid", solid.astype(np.uint8, copy=False))
        b = dict(_default_boundaries())
        for k, v in dict(self.boundaries).items():
            if k not in FACES:
                raise InputError(f"{self.name}: boundary '{k}' is unknown; faces are {', '.join(FACES)}")
            b[k] = v
        object.__setattr__(self, "boundaries", b)
        object.__setattr__(self, "devices", tuple(self.devices))
        object.__setattr__(self, "resistances", tuple(self.resistances))
        object.__setattr__(self, "sources", tuple(self.sources))
        if not np.isfinite(self.initial_temp_c):
            raise InputError(f"{self.name}: initial_temp_c must be finite")

    @property
    def fluid_mask(self) -> np.ndarray:
        return (self.solid & Flag.SOLID) == 0

    @property
    def racks(self):
        return [d for d in self.devices if d.kind == "rack"]

    @property
    def coolers(self):
        return [d for d in self.devices if d.kind == "cooler"]

    def with_devices(self, devices) -> "Problem":
        """A copy with other devices (same geometry): used to change loads and flows."""
        from dataclasses import replace
        return replace(self, devices=tuple(devices))
