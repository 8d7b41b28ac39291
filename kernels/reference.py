"""Plain NumPy reference of the thermal core: the test oracle and the benchmark baseline.

Everything here is float64 and vectorised over whole arrays (no per-cell Python loops,
no Numba). It is written from the conventions in ``kernels/README.md`` and the rules
documented in ``pointwise.py``'s docstring, not from the compiled code, so that the
parity tests (``tests/parity/test_reference.py``) compare two independent readings of
the same discretisation. It is slow on purpose only in the sense that it is plain: every
operator is a handful of whole-array expressions with temporaries, which is what
"a plain NumPy implementation of the same step" means in the benchmarks.

Longer than the project's 600 lines on purpose: the whole reference discretisation
(every operator, the projection and the steady heat finish) reads in one file, apart
from the compiled code it checks.

Conventions (``kernels/README.md``)
-----------------------------------
* C-ordered ``[i, j, k]`` arrays; ``T``, ``nut``, ``phi``, ``solid`` on cell centres
  ``(nx, ny, nz)``; ``u`` on x-faces ``(nx+1, ny, nz)``, ``v`` on y-faces, ``w`` on
  z-faces; face ``f`` along an axis lies between cells ``f-1`` and ``f``.
* A cell is fluid when bit 0 of ``solid`` is clear. A face is *open* when both cells
  beside it are fluid; only open interior faces get a momentum rate and a pressure
  correction; every other face keeps its stored value (0 for walls, the port velocity
  for device ports).
* Box faces are numbered ``2*axis + (upper side)``: ``x-, x+, y-, y+, z-, z+``.

The discretisation, as implemented here
---------------------------------------
Advection is conservative: ``d(q)/dt = -sum_b [F_b(hi) - F_b(lo)] / d_b`` with
``F = a * q_face``, ``a`` the advecting velocity at the face of the control volume and
``q_face`` the upwind MUSCL reconstruction with the van Leer limiter,

    q_face = q_up + 0.5 * vl(q_up - q_farup, q_down - q_up),   vl(a, b) = 2ab/(a+b) if ab > 0 else 0

falling back to first-order upwind ``q_face = q_up`` where the far upwind value is
missing: outside the array (momentum along its own axis), a wall or slip neighbour
(momentum across), a solid or out-of-box cell (temperature).

Momentum of component ``c`` at an open interior face, direction ``b``:

* ``b == c``: the control volume spans the two cells; its faces are the cell centres,
  advecting velocity the mean of the two face values beside each centre; diffusion
  ``nu_e * (q[f+1] - 2 q[f] + q[f-1]) / d^2``.
* ``b != c``: the control-volume faces are edges; advecting velocity the mean of the
  ``b``-component on the two cells' faces at that edge. The neighbouring ``c``-face at
  ``+-e_b`` is *fluid* (its stored value, also when only one of its cells is fluid),
  a *no-slip wall* when both its cells are solid (wall velocity 0) or when it lies
  outside a wall box face (wall velocity ``bc_uw[face, c]``), or a *slip* box face.
  Diffusion uses the mirror ``2 U_wall - q`` at a wall and ``q`` at a slip face;
  advection across a wall or slip side is upwind with the wall side carrying ``U_wall``
  (``q`` itself mirrored at a slip face; box faces are held at zero normal velocity, so
  this only matters at device ports on internal walls).
* effective viscosity ``nu + (nut_A + nut_B) / 2`` over the two cells; buoyancy
  ``g beta ((T_A + T_B)/2 - T_ref)`` on ``w``.

Temperature in a fluid cell: the same advection through faces to fluid neighbours,
diffusion ``(a_A + a_B)/2 * dT / d^2`` with ``a = alpha + nut / Pr_t``, no flux to solid
cells, ``hk * (T_b - T) / d`` through box faces with a conductance ``hk`` [m/s]. Device
ports and volume sources are separate sparse stages (:func:`port_heat`,
:func:`source_heat`).

Projection: ``lap(phi) = div(u*)`` with the masked (Neumann) Laplacian, then
``u = u* - grad(phi)`` on open interior faces.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import fft_workers

__all__ = [
    "momentum_rate", "temperature_rate", "divergence", "laplacian", "correct_velocity",
    "chen_xu_nut", "eddy_viscosity", "wall_distance", "apply_resistance", "port_heat",
    "source_heat", "device_outlet_temperatures", "port_velocities", "solve_pressure",
    "Params", "PortSpec", "DeviceSpec", "params_from_problem", "initial_state", "step",
    "predict_velocity", "temperature_step", "cg_update_xr", "cg_update_p", "dot",
    "dct_precondition", "inverse_box_eigenvalues",
    "CHEN_XU_CONSTANT",
]

CHEN_XU_CONSTANT = 0.03874   # Chen & Xu (1998), nu_t = 0.03874 |V| l


# ---------------------------------------------------------------------- small helpers
def _fluid(solid) -> np.ndarray:
    return (np.asarray(solid) & 1) == 0


def _ax(axis: int, s) -> tuple:
    """Index tuple taking slice ``s`` along ``axis`` and everything along the others."""
    idx = [slice(None)] * 3
    idx[axis] = s
    return tuple(idx)


def _pad(a, axis: int, before: int, after: int, value) -> np.ndarray:
    width = [(0, 0)] * a.ndim
    width[axis] = (before, after)
    return np.pad(a, width, constant_values=value)


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _along(axis: int, values: np.ndarray) -> np.ndarray:
    """``values`` (1D) shaped to broadcast along ``axis`` of a 3D array."""
    shape = [1, 1, 1]
    shape[axis] = values.size
    return values.reshape(shape)


def _vanleer(d1, d2):
    """Van Leer's limited slope ``2 d1 d2 / (d1 + d2)`` where ``d1 d2 > 0``, else 0."""
    p = d1 * d2
    out = np.zeros(np.broadcast(d1, d2).shape)
    np.divide(2.0 * p, d1 + d2, out=out, where=p > 0.0)
    return out


def _muscl_flux(a, qm2, qm1, qp1, qp2, okm2, okp2):
    """``a * q_face`` at the face between ``qm1`` and ``qp1`` (upwind MUSCL/van Leer).

    ``okm2``/``okp2`` say whether the far values ``qm2``/``qp2`` exist; where the far
    upwind value is missing the face value is the upwind value (first order).
    """
    from_left = np.where(okm2, qm1 + 0.5 * _vanleer(qm1 - qm2, qp1 - qm1), qm1)
    from_right = np.where(okp2, qp1 - 0.5 * _vanleer(qp2 - qp1, qp1 - qm1), qp1)
    return a * np.where(a >= 0.0, from_left, from_right)


def _open_faces(c: int, fluid: np.ndarray) -> np.ndarray:
    """Faces of the staggered array ``c`` (shape ``n_c + 1`` along ``c``) with fluid on
    both sides; box faces are never open."""
    fp = _pad(fluid, c, 1, 1, False)
    return fp[_ax(c, slice(0, -1))] & fp[_ax(c, slice(1, None))]


def _shifted(a, axis: int, m: int) -> np.ndarray:
    """``a`` at the index ``+ m`` along ``axis``, the index clamped into the array."""
    n = a.shape[axis]
    idx = np.clip(np.arange(n) + m, 0, n - 1)
    return np.take(a, idx, axis=axis)


def _touches_fluid(c: int, fluid: np.ndarray) -> np.ndarray:
    """Faces of the staggered array ``c`` with fluid on at least one side."""
    fp = _pad(fluid, c, 1, 1, False)
    return fp[_ax(c, slice(0, -1))] | fp[_ax(c, slice(1, None))]


# Neighbour states across a direction b != c
_FLUID, _WALL, _SLIP = 0, 1, 2


def _neighbour(q, c, b, m, touches, bc_slip, bc_uw):
    """The ``c``-face at ``+ m e_b`` of every face of ``q`` (``b != c``).

    Returns ``(value, state, wall_velocity)`` arrays of ``q``'s shape; ``value`` is 0
    where the state is not fluid.
    """
    n = q.shape[b]
    window = _ax(b, slice(2 + m, 2 + m + n))
    val = _pad(q, b, 2, 2, 0.0)[window]
    touch = _pad(touches, b, 2, 2, False)[window]
    inside = _pad(np.ones(q.shape, dtype=bool), b, 2, 2, False)[window]
    box = 2 * b + (1 if m > 0 else 0)
    slip = bool(bc_slip[box])
    state = np.where(inside, np.where(touch, _FLUID, _WALL), _SLIP if slip else _WALL)
    wall = np.where(inside, 0.0, 0.0 if slip else float(bc_uw[box][c]))
    return np.where(state == _FLUID, val, 0.0), state, wall


# ---------------------------------------------------------------------- operators
def momentum_rate(c, u, v, w, nut, T, solid, spacing, nu, gbeta, tref, bc_slip, bc_uw,
                  nutw=None):
    """Time derivative of velocity component ``c`` on its faces [m/s2].

    Advection + diffusion + Boussinesq buoyancy (on ``w``), no pressure. Returns an
    array of component ``c``'s shape: the rate on open interior faces, 0 elsewhere. The
    diffusion is the divergence of the full stress ``nu_eff (grad q + grad q^T)``
    (:func:`kernels.pointwise` ``momentum_normal`` and ``momentum_cross`` say where each
    viscosity is taken).

    Parameters
    ----------
    c : 0, 1 or 2
    u, v, w : face velocities [m/s]
    nut : eddy viscosity on cell centres [m2/s]
    T : temperature on cell centres [degC]
    solid : uint8 flags (bit 0: not fluid)
    spacing : (dx, dy, dz) [m]
    nu : molecular kinematic viscosity [m2/s]
    gbeta : gravity times expansion coefficient [m/(s2 K)]
    tref : Boussinesq reference temperature [degC]
    bc_slip : (6,) int, 1 where a box face is slip
    bc_uw : (6, 3) wall velocity of each box face [m/s]
    nutw : eddy viscosity of the cells' no-slip wall sides [m2/s] (k-epsilon's wall
        functions): a wall side's shear is ``(nu + (nutw_A + nutw_B)/2) (U_wall - q) /
        (d/2)``; ``nut`` when None
    """
    vel = [_f64(u), _f64(v), _f64(w)]
    nut = _f64(nut)
    T = _f64(T)
    fluid = _fluid(solid)
    bc_uw = np.asarray(bc_uw, dtype=np.float64).reshape(6, 3)
    q = vel[c]
    n_c = fluid.shape[c]
    out = np.zeros(q.shape)
    if n_c < 2:
        return out
    inner = _ax(c, slice(1, -1))            # interior faces f = 1 .. n_c - 1
    cell_a = _ax(c, slice(0, -1))           # cell f - 1 (below the face)
    cell_b = _ax(c, slice(1, None))         # cell f     (above the face)
    q0 = q[inner]
    nu_hi = nu + nut[cell_b]                # the normal stress at the cells' centres
    nu_lo = nu + nut[cell_a]
    nutw = nut if nutw is None else _f64(nutw)
    nuw = nu + 0.5 * (nutw[cell_b] + nutw[cell_a])
    touches = _touches_fluid(c, fluid)
    rate = np.zeros(q0.shape)
    for b in range(3):
        d = float(spacing[b])
        if b == c:
            f = _along(c, np.arange(1, n_c))
            qm1 = q[_ax(c, slice(0, -2))]
            qp1 = q[_ax(c, slice(2, None))]
            qpad = _pad(q, c, 1, 1, 0.0)    # qpad[f + 1] == q[f]
            qm2 = qpad[_ax(c, slice(0, n_c - 1))]
            qp2 = qpad[_ax(c, slice(4, n_c + 3))]
            a_hi = 0.5 * (q0 + qp1)         # advecting velocity at the upper cell centre
            a_lo = 0.5 * (qm1 + q0)
            f_hi = _muscl_flux(a_hi, qm1, q0, qp1, qp2, True, f + 2 <= n_c)
            f_lo = _muscl_flux(a_lo, qm2, qm1, q0, qp1, f >= 2, True)
            rate += (-(f_hi - f_lo) / d
                     + 2.0 * (nu_hi * (qp1 - q0) - nu_lo * (q0 - qm1)) / (d * d))
            continue
        vb = vel[b]
        upper = vb[_ax(b, slice(1, None))]   # b-face above each cell along b
        lower = vb[_ax(b, slice(0, -1))]
        a_hi = 0.5 * (upper[cell_a] + upper[cell_b])
        a_lo = 0.5 * (lower[cell_a] + lower[cell_b])
        nb = {}
        for m in (-2, -1, 1, 2):
            val, st, wall = _neighbour(q, c, b, m, touches, bc_slip, bc_uw)
            nb[m] = (val[inner], st[inner], wall[inner])
        (qm2, sm2, _), (qm1, sm1, wm1) = nb[-2], nb[-1]
        (qp1, sp1, wp1), (qp2, sp2, _) = nb[1], nb[2]
        # diffusion, the full stress nu_eff (dq/dx_b + da/dx_c) at the two edges: the
        # edge's viscosity the mean of its four cells between fluid faces, the wall's on a
        # no-slip side (mirror about the wall), no shear on a slip side (zero gradient)
        nut_f = nut[cell_a] + nut[cell_b]
        up_nut, dn_nut = _shifted(nut, b, 1), _shifted(nut, b, -1)
        nu_p = np.where(sp1 == _FLUID, nu + 0.25 * (nut_f + up_nut[cell_a] + up_nut[cell_b]),
                        nuw)
        nu_m = np.where(sm1 == _FLUID, nu + 0.25 * (nut_f + dn_nut[cell_a] + dn_nut[cell_b]),
                        nuw)
        gp = np.where(sp1 == _FLUID, qp1, np.where(sp1 == _SLIP, q0, 2.0 * wp1 - q0))
        gm = np.where(sm1 == _FLUID, qm1, np.where(sm1 == _SLIP, q0, 2.0 * wm1 - q0))
        dc = float(spacing[c])
        tp = (upper[cell_b] - upper[cell_a]) / dc
        tm = (lower[cell_b] - lower[cell_a]) / dc
        rate += (nu_p * ((gp - q0) / d + tp) - nu_m * ((q0 - gm) / d + tm)) / d
        # advection: MUSCL between fluid neighbours, upwind against a wall or slip side;
        # air coming in across a wall or slip side brings the wall's velocity (0 on a slip
        # face): it matters where a port on the box (a supply patch) moves air across it
        carry_p = wp1
        carry_m = wm1
        f_hi = np.where(sp1 == _FLUID,
                        _muscl_flux(a_hi, qm1, q0, qp1, qp2, sm1 == _FLUID, sp2 == _FLUID),
                        a_hi * np.where(a_hi >= 0.0, q0, carry_p))
        f_lo = np.where(sm1 == _FLUID,
                        _muscl_flux(a_lo, qm2, qm1, q0, qp1, sm2 == _FLUID, sp1 == _FLUID),
                        a_lo * np.where(a_lo >= 0.0, carry_m, q0))
        rate += -(f_hi - f_lo) / d
    if c == 2:
        rate += gbeta * (0.5 * (T[cell_b] + T[cell_a]) - tref)
    out[inner] = np.where(fluid[cell_a] & fluid[cell_b], rate, 0.0)
    return out


def temperature_rate(u, v, w, nut, T, solid, spacing, alpha, inv_prt, bc_hk, bc_tb):
    """Time derivative of temperature in fluid cells [K/s] (0 in solid cells).

    Advection and diffusion through faces between fluid cells, conduction
    ``hk * (T_b - T) / d`` through box faces (``bc_hk`` [m/s], ``bc_tb`` [degC], per box
    face). Device ports and sources are not included (:func:`port_heat`,
    :func:`source_heat`).
    """
    vel = [_f64(u), _f64(v), _f64(w)]
    T = _f64(T)
    fluid = _fluid(solid)
    diff = alpha + _f64(nut) * inv_prt
    rate = np.zeros(T.shape)
    for c in range(3):
        d = float(spacing[c])
        n = T.shape[c]
        if n >= 2:
            lo = _ax(c, slice(0, -1))
            hi = _ax(c, slice(1, None))
            open_ = fluid[lo] & fluid[hi]
            a = vel[c][_ax(c, slice(1, -1))]
            tpad = _pad(T, c, 1, 1, 0.0)
            fpad = _pad(fluid, c, 1, 1, False)
            far_lo = _ax(c, slice(0, n - 1))      # cell below the lower cell
            far_hi = _ax(c, slice(3, n + 2))      # cell above the upper cell
            adv = _muscl_flux(a, tpad[far_lo], T[lo], T[hi], tpad[far_hi],
                              fpad[far_lo], fpad[far_hi]) / d
            dif = 0.5 * (diff[lo] + diff[hi]) * (T[hi] - T[lo]) / (d * d)
            rate[lo] += np.where(open_, dif - adv, 0.0)
            rate[hi] += np.where(open_, adv - dif, 0.0)
        for side in (0, 1):
            hk = float(bc_hk[2 * c + side])
            if hk > 0.0:
                s = _ax(c, slice(n - 1, n) if side else slice(0, 1))
                rate[s] += hk * (float(bc_tb[2 * c + side]) - T[s]) / d
    return np.where(fluid, rate, 0.0)


def divergence(u, v, w, solid, spacing):
    """Net outflow per unit volume of each fluid cell [1/s] (0 in solid cells)."""
    dx, dy, dz = (float(s) for s in spacing)
    u, v, w = _f64(u), _f64(v), _f64(w)
    div = ((u[1:] - u[:-1]) / dx + (v[:, 1:] - v[:, :-1]) / dy
           + (w[:, :, 1:] - w[:, :, :-1]) / dz)
    return np.where(_fluid(solid), div, 0.0)


def laplacian(phi, solid, spacing):
    """Masked Laplacian [1/m2 * phi]: zero flux to solid cells and through the box."""
    phi = _f64(phi)
    fluid = _fluid(solid)
    out = np.zeros(phi.shape)
    for c in range(3):
        d = float(spacing[c])
        lo = _ax(c, slice(0, -1))
        hi = _ax(c, slice(1, None))
        g = np.where(fluid[lo] & fluid[hi], (phi[hi] - phi[lo]) / (d * d), 0.0)
        out[lo] += g
        out[hi] -= g
    return np.where(fluid, out, 0.0)


def correct_velocity(c, q, phi, solid, d):
    """``q - d(phi)/dx_c`` on open interior faces of component ``c``; ``q`` elsewhere."""
    q = _f64(q).copy()
    phi = _f64(phi)
    n = phi.shape[c]
    if n >= 2:
        inner = _ax(c, slice(1, -1))
        fluid = _fluid(solid)
        lo, hi = _ax(c, slice(0, -1)), _ax(c, slice(1, None))
        grad = (phi[hi] - phi[lo]) / float(d)
        q[inner] -= np.where(fluid[lo] & fluid[hi], grad, 0.0)
    return q


def chen_xu_nut(u, v, w, walldist):
    """Chen & Xu (1998) zero-equation eddy viscosity ``0.03874 |V| l`` [m2/s].

    ``|V|`` is the speed at the cell centre (each component the mean of its two faces),
    ``l`` the distance to the nearest wall (:func:`wall_distance`). Chen, Q. & Xu, W.,
    Energy and Buildings 28 (1998) 137-144.
    """
    u, v, w = _f64(u), _f64(v), _f64(w)
    uc = 0.5 * (u[:-1] + u[1:])
    vc = 0.5 * (v[:, :-1] + v[:, 1:])
    wc = 0.5 * (w[:, :, :-1] + w[:, :, 1:])
    return CHEN_XU_CONSTANT * np.sqrt(uc * uc + vc * vc + wc * wc) * _f64(walldist)


def eddy_viscosity(u, v, w, model: str, nu_t_const: float = 0.0, walldist=None):
    """``nut`` on cell centres for ``model`` in ``laminar``, ``constant``, ``chen-xu``."""
    shape = (u.shape[0] - 1, u.shape[1], u.shape[2])
    if model == "chen-xu":
        return chen_xu_nut(u, v, w, walldist)
    if model == "constant":
        return np.full(shape, float(nu_t_const))
    if model == "laminar":
        return np.zeros(shape)
    raise ValueError(f"turbulence model '{model}' is unknown")


def wall_distance(solid, spacing) -> np.ndarray:
    """Distance from each fluid cell centre to the nearest wall face [m] (0 in solids).

    Walls are solid cells and the box. Measured centre to centre with an exact Euclidean
    distance transform and less half the smallest cell (centre to face), never below
    half the smallest cell.
    """
    from scipy import ndimage
    fluid = _fluid(solid)
    sp = tuple(float(s) for s in spacing)
    d = ndimage.distance_transform_edt(np.pad(fluid, 1, constant_values=False), sampling=sp)
    half = 0.5 * min(sp)
    d = np.maximum(d[1:-1, 1:-1, 1:-1] - half, half)
    return np.where(fluid, d, 0.0)


def apply_resistance(q, qold, faces, k_loss, d, dt, phi, solid, c):
    """Quadratic loss on the listed faces of component ``c``.

    The momentum sink of a loss ``dp = K rho q^2 / 2`` spread over a cell of length ``d``,
    implicit in the new velocity with the old speed ``|qold|`` as coefficient; the face
    gradient ``g`` of the last pressure potential ``phi`` (where the face is open, i.e.
    fluid on both sides) is taken out before the division and put back after it, so that
    at a steady state ``K |q| q / (2 d)`` balances the pressure drop at any ``dt``:
    ``(q - g) / (1 + dt K |qold| / (2 d)) + g``. Returns a new array; faces are assumed
    distinct.
    """
    q = _f64(q).copy()
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(faces):
        fluid = _fluid(solid)
        phi = _f64(phi)
        n_c = fluid.shape[c]
        i, j, k = faces.T
        f = faces[:, c]
        inside = (f >= 1) & (f <= n_c - 1)
        lo = faces.copy()
        lo[:, c] = np.clip(f - 1, 0, n_c - 1)
        hi = faces.copy()
        hi[:, c] = np.clip(f, 0, n_c - 1)
        hi_t, lo_t = tuple(hi.T), tuple(lo.T)
        open_ = inside & fluid[hi_t] & fluid[lo_t]
        g = np.where(open_, (phi[hi_t] - phi[lo_t]) / d, 0.0)
        beta = dt * np.asarray(k_loss, dtype=np.float64) * np.abs(_f64(qold)[i, j, k]) / (2.0 * d)
        q[i, j, k] = (q[i, j, k] - g) / (1.0 + beta) + g
    return q


# ---------------------------------------------------------------------- problem record
@dataclass(frozen=True)
class PortSpec:
    """Faces of ``cells`` (n, 3): face ``m`` on side ``side[m]`` (+1 upper, -1 lower) along
    ``axis[m]``, carrying the share ``frac[m]`` of the device's flow (the shares sum to 1).
    """

    cells: np.ndarray
    axis: np.ndarray
    side: np.ndarray
    frac: np.ndarray

    @property
    def n_faces(self) -> int:
        return int(len(self.cells))

    def faces(self) -> np.ndarray:
        f = np.array(self.cells, dtype=np.int64).reshape(-1, 3).copy()
        up = np.asarray(self.side) > 0
        f[np.nonzero(up)[0], np.asarray(self.axis)[up]] += 1
        return f

    @classmethod
    def of(cls, port, spacing) -> "PortSpec":
        """From a :class:`kernels.problem.Port`."""
        c, ax, sd = port.faces()
        return cls(c, ax, sd, port.face_fractions(spacing))


@dataclass(frozen=True)
class DeviceSpec:
    """A rack (adds ``heat_w``) or cooler (supplies ``supply_temp_c``, at most
    ``capacity_w`` removed) moving ``flow_m3_s`` from ``intake`` to ``exhaust``."""

    kind: str
    flow_m3_s: float
    heat_w: float
    supply_temp_c: float
    capacity_w: float
    intake: PortSpec
    exhaust: PortSpec


@dataclass(frozen=True)
class Params:
    """Everything :func:`step` needs besides the state (SI units, float64).

    ``bc_hk`` is the conductance from each box face to the first cell centre divided by
    rho*cp [m/s]; ``resistances`` are ``(axis, faces (n,3), k_loss (n,))``; ``sources``
    ``(cells (n,3), rate_k_s (n,))`` with ``rate = W / (rho cp V)`` per cell.
    """

    solid: np.ndarray
    spacing: tuple
    nu: float
    alpha: float
    inv_prt: float
    gbeta: float
    tref: float
    rho_cp: float
    bc_slip: np.ndarray
    bc_uw: np.ndarray
    bc_hk: np.ndarray
    bc_tb: np.ndarray
    turbulence: str = "laminar"
    nu_t_const: float = 0.0
    walldist: np.ndarray | None = None
    devices: tuple = ()
    resistances: tuple = ()
    sources: tuple = ()

    @property
    def shape(self):
        return self.solid.shape

    @property
    def lid_speed(self) -> float:
        return float(np.max(np.abs(self.bc_uw))) if np.size(self.bc_uw) else 0.0


def params_from_problem(problem) -> Params:
    """A :class:`Params` record from a :class:`kernels.problem.Problem`.

    Box-face conductances: a held temperature ``alpha / (d/2)`` (conduction from the face
    to the first centre); a convective face that in series with ``h / (rho cp)``.
    """
    g = problem.grid
    fl = problem.fluid
    faces = ("x-", "x+", "y-", "y+", "z-", "z+")
    slip = np.zeros(6, dtype=np.int32)
    uw = np.zeros((6, 3))
    hk = np.zeros(6)
    tb = np.zeros(6)
    for f, name in enumerate(faces):
        bc = problem.boundaries[name]
        slip[f] = bc.velocity == "slip"
        uw[f] = bc.wall_velocity_m_s
        tb[f] = bc.temp_c
        k_face = fl.diffusivity_m2_s / (0.5 * g.spacing_m[f // 2])
        if bc.thermal == "temperature":
            hk[f] = k_face
        elif bc.thermal == "convective" and bc.h_w_m2k > 0:
            hk[f] = 1.0 / (fl.rho_cp / bc.h_w_m2k + 1.0 / k_face)
    tu = problem.turbulence
    walldist = wall_distance(problem.solid, g.spacing_m) if tu.model == "chen-xu" else None
    devices = tuple(
        DeviceSpec(d.kind, float(d.flow_m3_s), float(d.heat_w), float(d.supply_temp_c),
                   float(d.capacity_w),
                   PortSpec.of(d.intake, g.spacing_m), PortSpec.of(d.exhaust, g.spacing_m))
        for d in problem.devices)
    resistances = tuple((r.axis, np.asarray(r.faces), np.full(len(r.faces), float(r.k_loss)))
                        for r in problem.resistances)
    vol_rcp = fl.rho_cp * g.cell_volume_m3
    sources = tuple((np.asarray(s.cells), np.full(len(s.cells), s.power_w / len(s.cells) / vol_rcp))
                    for s in problem.sources if len(s.cells))
    return Params(
        solid=np.asarray(problem.solid, dtype=np.uint8), spacing=tuple(g.spacing_m),
        nu=fl.viscosity_m2_s, alpha=fl.diffusivity_m2_s, inv_prt=1.0 / tu.prandtl_t,
        gbeta=fl.gravity_m_s2 * fl.expansion_1_k, tref=fl.reference_temp_c, rho_cp=fl.rho_cp,
        bc_slip=slip, bc_uw=uw, bc_hk=hk, bc_tb=tb, turbulence=tu.model,
        nu_t_const=tu.nu_t_m2_s, walldist=walldist, devices=devices,
        resistances=resistances, sources=sources)


def _face_area(spacing, axis):
    dx, dy, dz = spacing
    return (dy * dz, dx * dz, dx * dy)[axis]


def port_velocities(params: Params, u, v, w):
    """Copies of ``u, v, w`` with every port face at its device's speed.

    Speed ``flow * frac / face area`` on each face (``flow / (n_faces * face area)`` on a
    uniform port), directed into the device body (or the domain boundary) at its intake
    and out of it at its exhaust.
    """
    vel = [_f64(u).copy(), _f64(v).copy(), _f64(w).copy()]
    for dev in params.devices:
        for port, into_body in ((dev.intake, True), (dev.exhaust, False)):
            speed = _port_speeds(params, dev, port)
            # the body is on the +axis side when side = +1
            sign = np.where(into_body, port.side, -np.asarray(port.side))
            f = port.faces()
            for ax in range(3):
                m = np.asarray(port.axis) == ax
                i, j, k = f[m].T
                vel[ax][i, j, k] = (sign * speed)[m]
    return tuple(vel)


def _port_speeds(params: Params, dev, port) -> np.ndarray:
    """Face-normal speed of every face of ``port`` [m/s]."""
    area = np.array([_face_area(params.spacing, a) for a in range(3)])[np.asarray(port.axis)]
    return dev.flow_m3_s * np.asarray(port.frac) / area


def initial_state(params: Params, temp_c: float = 22.0) -> dict:
    """Still air at ``temp_c`` with the device ports blowing."""
    nx, ny, nz = params.shape
    u, v, w = port_velocities(params, np.zeros((nx + 1, ny, nz)), np.zeros((nx, ny + 1, nz)),
                              np.zeros((nx, ny, nz + 1)))
    return {"u": u, "v": v, "w": w, "T": np.full(params.shape, float(temp_c)),
            "phi": np.zeros(params.shape)}


def device_outlet_temperatures(params: Params, T):
    """Mean intake temperature and outlet temperature of every device [degC].

    Rack: ``T_out = T_in + P / (rho cp Q)``. Cooler: the set point, but never above the
    return and never so low that more than ``capacity_w`` is removed. No flow: the
    outlet is the intake.
    """
    T = _f64(T)
    tin, tout = [], []
    for dev in params.devices:
        c = np.asarray(dev.intake.cells, dtype=np.int64).reshape(-1, 3)
        t_in = float(np.sum(dev.intake.frac * T[c[:, 0], c[:, 1], c[:, 2]]))
        if dev.flow_m3_s <= 0:
            t_out = t_in
        elif dev.kind == "rack":
            t_out = t_in + dev.heat_w / (params.rho_cp * dev.flow_m3_s)
        else:
            floor = t_in - dev.capacity_w / (params.rho_cp * dev.flow_m3_s)
            t_out = min(t_in, max(dev.supply_temp_c, floor))
        tin.append(t_in)
        tout.append(t_out)
    return np.array(tin), np.array(tout)


def port_heat(params: Params, T, t_out) -> np.ndarray:
    """Temperature rate from device ports [K/s]: an intake face carries the cell's
    temperature out at ``speed / d``, an exhaust face brings the device's outlet in."""
    T = _f64(T)
    rate = np.zeros(T.shape)
    for n, dev in enumerate(params.devices):
        for port, intake in ((dev.intake, True), (dev.exhaust, False)):
            d = np.array(params.spacing)[np.asarray(port.axis)]
            speed = _port_speeds(params, dev, port)
            c = np.asarray(port.cells, dtype=np.int64).reshape(-1, 3)
            i, j, k = c.T
            val = -speed / d * T[i, j, k] if intake else np.full(len(c), speed / d * t_out[n])
            np.add.at(rate, (i, j, k), val)
    return rate


def source_heat(params: Params) -> np.ndarray:
    """Temperature rate from volume sources [K/s]."""
    rate = np.zeros(params.shape)
    for cells, r in params.sources:
        c = np.asarray(cells, dtype=np.int64).reshape(-1, 3)
        np.add.at(rate, (c[:, 0], c[:, 1], c[:, 2]), np.asarray(r, dtype=np.float64))
    return rate


# ---------------------------------------------------------------------- pressure
def inverse_box_eigenvalues(shape, spacing) -> np.ndarray:
    """1 / eigenvalues of the Neumann box Laplacian in the DCT-II basis (0 for the mean)."""
    lam = np.zeros(shape)
    for a in range(3):
        n, d = shape[a], float(spacing[a])
        lam = lam + _along(a, (2.0 * np.cos(np.pi * np.arange(n) / n) - 2.0) / (d * d))
    lam[0, 0, 0] = 1.0
    inv = 1.0 / lam
    inv[0, 0, 0] = 0.0
    return inv


def dot(a, b) -> float:
    return float(np.sum(_f64(a) * _f64(b)))


def max_advection_rate(u, v, w, dx, dy, dz) -> float:
    """Largest advective Courant rate [1/s] of a cell (``sum_a max|q_a| / d_a`` over its
    faces) or of a momentum control volume (axis by axis the larger of its two cells'),
    as ``pointwise.advection_rate``; NaN if a velocity is NaN."""
    u, v, w = (np.abs(_f64(a)) for a in (u, v, w))
    if np.isnan(u).any() or np.isnan(v).any() or np.isnan(w).any():
        return float("nan")
    s = (np.maximum(u[1:], u[:-1]) / dx, np.maximum(v[:, 1:], v[:, :-1]) / dy,
         np.maximum(w[:, :, 1:], w[:, :, :-1]) / dz)
    rate = float((s[0] + s[1] + s[2]).max())
    for ax in range(3):
        lo = tuple(slice(None, -1) if a == ax else slice(None) for a in range(3))
        hi = tuple(slice(1, None) if a == ax else slice(None) for a in range(3))
        if s[0][lo].size:
            rate = max(rate, float(sum(np.maximum(c[lo], c[hi]) for c in s).max()))
    return rate


def cg_update_xr(x, r, p, Ap, alpha):
    """In place: ``x += alpha p``, ``r -= alpha Ap``; returns ``r . r``."""
    x += alpha * p
    r -= alpha * Ap
    return float(np.sum(r * r))


def cg_update_p(p, z, beta):
    """In place: ``p = z + beta p``."""
    p *= beta
    p += z


def dct_precondition(r, solid, inv_eig):
    """``z = A_box^-1 r``: the exact solve of the obstacle-free Neumann box by DCT-II,
    then zero in solid cells (``solid`` boolean, ``inv_eig`` from the box eigenvalues)."""
    import scipy.fft

    nw = fft_workers(r.size)              # the threads the compiled backend uses too
    z = scipy.fft.idctn(scipy.fft.dctn(r, type=2, norm="ortho", workers=nw) * inv_eig,
                        type=2, norm="ortho", workers=nw)
    z[solid] = 0.0
    return z


def _pcg(phi0, b, fluid, spacing, tol, max_iter, multigrid=False):
    """Conjugate gradients on ``lap(phi) = b``, preconditioned by the exact DCT solve of
    the obstacle-free box, or (``multigrid``) by one V-cycle of
    :func:`kernels.reference_multigrid.vcycle` with its fluid mean taken out, as the
    solver's default; stops when ``max |r| <= tol``."""
    inv_eig = inverse_box_eigenvalues(b.shape, spacing)
    solid = ~fluid
    if multigrid:
        from . import multigrid as mg
        from . import reference_multigrid as rm
        levels = mg.levels_for(fluid, spacing)
        coarsest = mg.CoarsestSolve(levels[-1])

        def precondition(r):
            z = rm.vcycle(levels, r, coarsest=coarsest)
            return np.where(fluid, z - z[fluid].mean(), 0.0)
    else:
        def precondition(r):
            return dct_precondition(r, solid, inv_eig)

    x = _f64(phi0).copy()
    r = np.where(fluid, b - laplacian(x, solid, spacing), 0.0)
    rmax = float(np.max(np.abs(r)))
    it = 0
    if rmax > tol:
        z = precondition(r)
        p = z.copy()
        rz = dot(r, z)
        for it in range(1, max_iter + 1):
            Ap = laplacian(p, solid, spacing)
            pap = dot(p, Ap)
            if pap == 0.0:
                break
            alpha = rz / pap
            cg_update_xr(x, r, p, Ap, alpha)
            rmax = float(np.max(np.abs(r)))
            if rmax <= tol:
                break
            z = precondition(r)
            rz_new = dot(r, z)
            cg_update_p(p, z, rz_new / rz)
            rz = rz_new
    return x, it, rmax


def _direct(b, fluid, spacing):
    """Exact solve of the masked Neumann problem, one gauge (phi = 0 at a cell) per
    connected fluid region; each region's right-hand side is first made compatible."""
    import scipy.sparse as sps
    import scipy.sparse.linalg as spla
    from scipy.sparse.csgraph import connected_components
    N = int(fluid.sum())
    index = np.full(fluid.shape, -1, dtype=np.int64)
    index[fluid] = np.arange(N)
    rows, cols, vals = [], [], []
    for c in range(3):
        d2 = float(spacing[c]) ** 2
        lo, hi = _ax(c, slice(0, -1)), _ax(c, slice(1, None))
        m = fluid[lo] & fluid[hi]
        a, bb = index[lo][m], index[hi][m]
        w = np.full(a.size, 1.0 / d2)
        rows += [a, bb, a, bb]
        cols += [bb, a, a, bb]
        vals += [w, w, -w, -w]
    A = sps.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(N, N))
    ncomp, label = connected_components(A, directed=False)
    rhs = b[fluid].astype(np.float64)
    rhs -= (np.bincount(label, weights=rhs, minlength=ncomp)
            / np.bincount(label, minlength=ncomp))[label]
    pins = np.unique(label, return_index=True)[1]
    scale = 1.0 / min(float(s) for s in spacing) ** 2
    A = A - sps.csr_matrix((np.full(ncomp, scale), (pins, pins)), shape=(N, N))
    x = spla.spsolve(A.tocsc(), rhs)
    phi = np.zeros(fluid.shape)
    phi[fluid] = x
    return phi


def solve_pressure(b, solid, spacing, phi0=None, method="pcg", tol=1e-10, max_iter=300):
    """``phi`` with ``lap(phi) = b`` (masked Laplacian); returns ``(phi, iterations, max|r|)``.

    ``method="pcg"``: the solver's algorithm with the box preconditioner (DCT-preconditioned
    CG, warm start ``phi0``, stop at ``max |r| <= tol``); ``method="multigrid"``: the same
    with the multigrid V-cycle (the solver's default). ``method="direct"``: sparse LU,
    exact to round-off; ``phi`` is then fixed up to a constant per fluid region.
    """
    fluid = _fluid(solid)
    b = np.where(fluid, _f64(b), 0.0)
    if method == "direct":
        phi = _direct(b, fluid, spacing)
        r = np.where(fluid, b - laplacian(phi, solid, spacing), 0.0)
        return phi, 0, float(np.max(np.abs(r)))
    if method not in ("pcg", "multigrid"):
        raise ValueError(f"pressure method '{method}' is unknown; use pcg, multigrid or direct")
    phi0 = np.zeros(b.shape) if phi0 is None else phi0
    return _pcg(phi0, b, fluid, spacing, tol, max_iter, multigrid=method == "multigrid")


# ---------------------------------------------------------------------- the time step
def predict_velocity(c, u, v, w, nut, T, params: Params, dt):
    """``q + dt * momentum_rate`` for component ``c`` (new array)."""
    q = (u, v, w)[c]
    return _f64(q) + dt * momentum_rate(c, u, v, w, nut, T, params.solid, params.spacing,
                                        params.nu, params.gbeta, params.tref, params.bc_slip,
                                        params.bc_uw)


def temperature_step(T, u, v, w, nut, params: Params, dt):
    """``T + dt * temperature_rate`` (no ports or sources)."""
    return _f64(T) + dt * temperature_rate(u, v, w, nut, T, params.solid, params.spacing,
                                           params.alpha, params.inv_prt, params.bc_hk,
                                           params.bc_tb)


def step(state: dict, params: Params, dt: float, pressure: str = "pcg",
         pressure_tol: float = 1e-5, max_iter: int = 300, timings: dict | None = None):
    """One explicit step of ``dt`` seconds; returns ``(new_state, info)``.

    ``state`` holds ``u, v, w, T`` and optionally ``phi`` (the warm start of the pressure
    solve). Stages: eddy viscosity from the old velocity -> predicted velocity
    (``u* = u + dt * rate``) -> resistances -> projection -> device outlet temperatures
    from the old temperature -> temperature with the new velocity (+ ports, sources).

    ``pressure_tol`` is the solver's criterion: ``max |div u| <= pressure_tol * U / L``
    (``U`` the largest face or lid speed before the step, ``L`` the smallest box side);
    it is the stopping test of ``pressure="pcg"`` (box) and ``"multigrid"`` and ignored by
    ``"direct"``.
    ``timings``, if given, receives the wall time of each stage [s] (the benchmarks).
    """
    import time
    clock = [time.perf_counter()]

    def lap(name):
        if timings is not None:
            now = time.perf_counter()
            timings[name] = timings.get(name, 0.0) + now - clock[0]
            clock[0] = now

    u, v, w, T = (_f64(state[k]) for k in ("u", "v", "w", "T"))
    phi0 = _f64(state["phi"]) if state.get("phi") is not None else np.zeros(T.shape)
    sp = params.spacing
    U = max(float(np.max(np.abs(u))), float(np.max(np.abs(v))), float(np.max(np.abs(w))),
            params.lid_speed, 1e-6)
    L = min(n * d for n, d in zip(params.shape, sp))
    tol = pressure_tol * U / L
    lap("velocity_scale")
    nut = eddy_viscosity(u, v, w, params.turbulence, params.nu_t_const, params.walldist)
    lap("update_eddy_viscosity")
    star = [predict_velocity(c, u, v, w, nut, T, params, dt) for c in range(3)]
    lap("predict_momentum")
    for axis, faces, k_loss in params.resistances:
        star[axis] = apply_resistance(star[axis], (u, v, w)[axis], faces, k_loss, sp[axis],
                                      dt, phi0, params.solid, axis)
    lap("apply_resistances")
    b = divergence(*star, params.solid, sp)
    phi, iters, rmax = solve_pressure(b, params.solid, sp, phi0, pressure, tol, max_iter)
    new = [correct_velocity(c, star[c], phi, params.solid, sp[c]) for c in range(3)]
    lap("project")
    t_in, t_out = device_outlet_temperatures(params, T)
    lap("device_temperatures")
    Tn = temperature_step(T, *new, nut, params, dt)
    Tn += dt * (port_heat(params, T, t_out) + source_heat(params))
    lap("advance_temperature")
    out = {"u": new[0], "v": new[1], "w": new[2], "T": Tn, "phi": phi}
    info = {"cg_iterations": iters, "cg_max_residual": rmax, "cg_tol": tol, "nut": nut,
            "device_intake_c": t_in, "device_outlet_c": t_out}
    return out, info
