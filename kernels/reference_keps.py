"""Plain NumPy reference of the k-epsilon model: the test oracle of its compiled kernels.

Float64 and whole-array, like :mod:`kernels.reference` (whose advection and diffusion
operator, :func:`kernels.reference.temperature_rate`, transports k and eps here as it
transports heat). Written from the model's statement in ``kernels/problem.py``
(``Turbulence``, ``KEPS``) and ``kernels/README.md``, not from ``pointwise.py``:

* production ``P = nu_t S^2``, ``S^2 = 2 S_ij S_ij`` at cell centres; a shear gradient
  ``d(q_a)/d(x_b)`` is the central difference of the neighbours' centre values, with 0 at
  a closed face half a cell away (no slip, or a port's zero tangential velocity) and the
  cell's own value past a slip box face;
* buoyancy production ``G_b = -g beta nu_t / Pr_t dT/dz`` (Rodi 1987), ``dT/dz`` central
  over ``2 dz`` with the cell's own value past a closed face;
* log-law wall functions (Launder & Spalding 1974) on the faces flagged in the wall bits:
  ``y+ = Cmu^1/4 k^1/2 y / nu`` with ``y`` half the cell, wall ``nu_t = nu (y+ kappa /
  ln(E y+) - 1)`` above ``y+_lam`` (else 0), ``tau/rho = (nu + nu_t,w) U_t / y``, wall-cell
  production ``tau/rho Cmu^1/4 k^1/2 / (kappa y)`` and dissipation ``Cmu^3/4 k^3/2 /
  (kappa y)``, each the mean over the cell's wall faces;
* point-implicit sinks: ``k' = (k + dt (T_k + P + G_b+)) / (1 + dt (eps + G_b-)/k)``,
  ``eps' = (eps + dt (T_eps + C1 eps/k (P + G_b+))) / (1 + dt C2 eps/k)``, the wall cells'
  eps replaced by the wall function's; floors ``k_min``, ``eps_min``; solid cells keep
  their values.
"""
from __future__ import annotations

import numpy as np

from .problem import KEPS
from .reference import _ax, _f64, _fluid, temperature_rate

__all__ = ["strain_rate_sq", "wall_terms", "k_step", "eps_step", "ke_nut", "wall_viscosity"]


def _centres(u, v, w):
    u, v, w = _f64(u), _f64(v), _f64(w)
    return (0.5 * (u[:-1] + u[1:]), 0.5 * (v[:, :-1] + v[:, 1:]),
            0.5 * (w[:, :, :-1] + w[:, :, 1:]))


def _neighbour_open(fluid, b, m):
    """Cells whose neighbour at ``m`` (+-1) along ``b`` is fluid and in the box (and which
    are fluid themselves)."""
    n = fluid.shape[b]
    nb = np.zeros_like(fluid)
    if m > 0:
        nb[_ax(b, slice(0, n - 1))] = fluid[_ax(b, slice(1, n))]
    else:
        nb[_ax(b, slice(1, n))] = fluid[_ax(b, slice(0, n - 1))]
    return fluid & nb


def _shift(a, b, m):
    """``a`` at the neighbour ``m`` along ``b`` (the cell's own value past the box)."""
    out = a.copy()
    n = a.shape[b]
    if m > 0:
        out[_ax(b, slice(0, n - 1))] = a[_ax(b, slice(1, n))]
    else:
        out[_ax(b, slice(1, n))] = a[_ax(b, slice(0, n - 1))]
    return out


def _edge(shape, b, m):
    """Cells on the box face at side ``m`` of axis ``b``."""
    e = np.zeros(shape, dtype=bool)
    e[_ax(b, slice(-1, None) if m > 0 else slice(0, 1))] = True
    return e


def _shear_gradient(qc, b, fluid, d, bc_slip):
    ends = []
    for m in (-1, 1):
        op = _neighbour_open(fluid, b, m)
        slip = _edge(qc.shape, b, m) & bool(bc_slip[2 * b + (m > 0)])
        g = np.where(op, _shift(qc, b, m), np.where(slip, qc, 0.0))
        length = np.where(op | slip, d, 0.5 * d)
        ends.append((g, length))
    (gm, lm), (gp, lp) = ends
    return (gp - gm) / (lp + lm)


def strain_rate_sq(u, v, w, solid, spacing, bc_slip):
    """``2 S_ij S_ij`` at every cell centre [1/s2] (values in solid cells unused)."""
    fluid = _fluid(solid)
    u, v, w = _f64(u), _f64(v), _f64(w)
    dx, dy, dz = spacing
    qc = _centres(u, v, w)
    sxx = (u[1:] - u[:-1]) / dx
    syy = (v[:, 1:] - v[:, :-1]) / dy
    szz = (w[:, :, 1:] - w[:, :, :-1]) / dz

    def g(a, b):
        return _shear_gradient(qc[a], b, fluid, spacing[b], bc_slip)
    sxy = g(0, 1) + g(1, 0)
    sxz = g(0, 2) + g(2, 0)
    syz = g(1, 2) + g(2, 1)
    return 2.0 * (sxx ** 2 + syy ** 2 + szz ** 2) + sxy ** 2 + sxz ** 2 + syz ** 2


def _dtdz(T, solid, dz):
    fluid = _fluid(solid)
    T = _f64(T)
    tm = np.where(_neighbour_open(fluid, 2, -1), _shift(T, 2, -1), T)
    tp = np.where(_neighbour_open(fluid, 2, 1), _shift(T, 2, 1), T)
    return (tp - tm) / (2.0 * dz)


def _log_law_nut(k, y, nu):
    c = KEPS
    yplus = c["c_mu"] ** 0.25 * np.sqrt(k) * y / nu
    with np.errstate(divide="ignore", invalid="ignore"):
        nw = nu * (yplus * c["kappa"] / np.log(c["e_log"] * yplus) - 1.0)
    return np.where(yplus > c["yplus_lam"], nw, 0.0)


def wall_terms(u, v, w, tk, wallc, nu, spacing):
    """``(n, G, eps, nut_w)``: the count of each cell's wall faces and the sums over them
    of the wall production, dissipation and wall eddy viscosity."""
    c = KEPS
    k = np.maximum(_f64(tk), c["k_min"])
    uc, vc, wc = _centres(u, v, w)
    speed2 = uc ** 2 + vc ** 2 + wc ** 2
    cmu25 = c["c_mu"] ** 0.25
    n = np.zeros(k.shape)
    G = np.zeros(k.shape)
    E = np.zeros(k.shape)
    NW = np.zeros(k.shape)
    for axis, qa in enumerate((uc, vc, wc)):
        nf = ((wallc >> (2 * axis)) & 1).astype(float) + ((wallc >> (2 * axis + 1)) & 1)
        y = 0.5 * spacing[axis]
        ut = np.sqrt(np.maximum(speed2 - qa ** 2, 0.0))
        nw = _log_law_nut(k, y, nu)
        tau = (nu + nw) * ut / y
        n += nf
        G += nf * tau * cmu25 * np.sqrt(k) / (c["kappa"] * y)
        E += nf * c["c_mu"] ** 0.75 * k ** 1.5 / (c["kappa"] * y)
        NW += nf * nw
    return n, G, E, NW


def _sources(tk, u, v, w, nut, T, solid, wallc, spacing, bc_slip, nu, gbeta_prt):
    n, G, E, _ = wall_terms(u, v, w, tk, wallc, nu, spacing)
    nut = _f64(nut)
    prod = np.where(n > 0, G / np.maximum(n, 1.0),
                    nut * strain_rate_sq(u, v, w, solid, spacing, bc_slip))
    gb = -gbeta_prt * nut * _dtdz(T, solid, spacing[2])
    return prod, gb, n, E / np.maximum(n, 1.0)


def k_step(tk, teps, u, v, w, nut, T, solid, wallc, spacing, bc_slip, nu, gbeta_prt, dt):
    """k one step of ``dt`` on, before the ports' inflow [m2/s2]."""
    c = KEPS
    fluid = _fluid(solid)
    tk, teps = _f64(tk), _f64(teps)
    kc = np.maximum(tk, c["k_min"])
    ec = np.maximum(teps, c["eps_min"])
    trans = temperature_rate(u, v, w, nut, tk, solid, spacing, nu, 1.0 / c["sigma_k"],
                             np.zeros(6), np.zeros(6))
    prod, gb, _, _ = _sources(tk, u, v, w, nut, T, solid, wallc, spacing, bc_slip, nu,
                              gbeta_prt)
    kn = (tk + dt * (trans + prod + np.maximum(gb, 0.0))) / (
        1.0 + dt * (ec - np.minimum(gb, 0.0)) / kc)
    return np.where(fluid, np.maximum(kn, c["k_min"]), tk)


def eps_step(tk, teps, u, v, w, nut, T, solid, wallc, spacing, bc_slip, nu, gbeta_prt, dt):
    """eps one step of ``dt`` on, before the ports' inflow [m2/s3]."""
    c = KEPS
    fluid = _fluid(solid)
    tk, teps = _f64(tk), _f64(teps)
    kc = np.maximum(tk, c["k_min"])
    ec = np.maximum(teps, c["eps_min"])
    trans = temperature_rate(u, v, w, nut, teps, solid, spacing, nu, 1.0 / c["sigma_eps"],
                             np.zeros(6), np.zeros(6))
    prod, gb, n, e_wall = _sources(tk, u, v, w, nut, T, solid, wallc, spacing, bc_slip, nu,
                                   gbeta_prt)
    ratio = ec / kc
    en = (teps + dt * (trans + c["c1"] * ratio * (prod + np.maximum(gb, 0.0)))) / (
        1.0 + dt * c["c2"] * ratio)
    en = np.where(n > 0, e_wall, en)
    return np.where(fluid, np.maximum(en, c["eps_min"]), teps)


def ke_nut(tk, teps, solid):
    """``Cmu k^2 / eps`` in fluid cells, 0 in solid ones [m2/s]."""
    c = KEPS
    k = np.maximum(_f64(tk), c["k_min"])
    e = np.maximum(_f64(teps), c["eps_min"])
    return np.where(_fluid(solid), c["c_mu"] * k * k / e, 0.0)


def wall_viscosity(tk, nut, wallc, nu, spacing):
    """The mean wall ``nu_t`` over each cell's wall faces; ``nut`` where it has none."""
    k = np.maximum(_f64(tk), KEPS["k_min"])
    n = np.zeros(k.shape)
    s = np.zeros(k.shape)
    for axis in range(3):
        nf = ((wallc >> (2 * axis)) & 1).astype(float) + ((wallc >> (2 * axis + 1)) & 1)
        n += nf
        s += nf * _log_law_nut(k, 0.5 * spacing[axis], nu)
    return np.where(n > 0, s / np.maximum(n, 1.0), _f64(nut))
