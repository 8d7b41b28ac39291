"""The kernel set every backend provides: the one contract between the solver and the
drivers (:mod:`kernels.cpu`, :class:`kernels.cuda_numba.NumbaCudaKernels`,
:class:`kernels.cuda_cupy.CupyKernels`).

Arrays are the backend's (NumPy or CuPy), C-contiguous, on the grid's staggered layout
(``kernels/README.md``); scalars are in the field's float type. A driver changes only
the arrays it names as output (first argument unless said otherwise) and returns
nothing, except the reductions, which return host floats. The per-cell formulas are
:mod:`kernels.pointwise`; the drivers only loop. ``tests/unit/test_protocol.py`` checks
that every backend has every method with these argument names.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["KernelSet", "CPU_ONLY"]

#: Drivers only the CPU backend has (the GPUs transform all three axes: ``box_scale``).
CPU_ONLY = ("box_solve_x", "threads")


@runtime_checkable
class KernelSet(Protocol):
    """The drivers, by stage of :meth:`kernels.solver.Solver.step`."""

    # -- 1. turbulence
    def update_nut(self, nut, u, v, w, walldist, nu_t_const, model) -> None:
        """``nut`` per cell: 0 laminar, 1 constant ``nu_t_const``, 2 Chen-Xu from the wall
        distance and the local speed."""

    def turbulence_k(self, kn, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip,
                     bc_zero, kec, dt) -> None:
        """k-epsilon: ``kn`` = k one step of ``dt`` on (``pointwise.k_item``); ``wallc`` the
        wall bits (``setup.wall_codes``), ``kec`` the coefficients
        (``setup.ke_coefficients``), ``bc_zero`` six zeros (no flux through the box)."""

    def turbulence_eps(self, en, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip,
                       bc_zero, kec, dt) -> None:
        """k-epsilon: ``en`` = eps one step on (``pointwise.eps_item``)."""

    def turbulence_viscosity(self, nut, nutw, tk, teps, solid, wallc, dx, dy, dz, kec) -> None:
        """k-epsilon: ``nut = Cmu k^2/eps`` and the wall-side ``nutw``
        (``pointwise.ke_nut``, ``pointwise.wall_viscosity``)."""

    # -- 2. momentum
    def predict_velocity(self, c, u, v, w, out, nut, T, solid, dx, dy, dz, nu, gbeta, tref,
                         bc_slip, bc_uw, dt, nutw=None) -> None:
        """``out = q + dt * rate`` on the open interior faces of component ``c`` (0, 1, 2);
        a copy of ``q`` elsewhere. ``nutw``: the eddy viscosity on no-slip wall sides
        (k-epsilon's wall functions); ``nut`` when None."""

    # -- 3. resistances
    def apply_resistance(self, q, qold, faces, k_loss, d, dt, phi, solid, c) -> None:
        """Quadratic loss on the listed faces of component ``c``, implicit with the old
        speed ``qold``, the last pressure gradient (``phi``) taken out and put back:
        ``q = (q - g) / (1 + dt K abs(qold) / (2 d)) + g`` (``pointwise.resisted``)."""

    # -- 4. projection
    def divergence(self, out, u, v, w, solid, dx, dy, dz) -> None:
        """``out`` = divergence of the face velocities per fluid cell, 0 in solid cells."""

    def laplacian(self, out, phi, solid, dx, dy, dz) -> None:
        """Masked Laplacian of ``phi`` (Neumann at solids and the box), 0 in solid cells."""

    def correct_velocity(self, c, q, phi, solid, d) -> None:
        """``q -= d(phi)/d(axis c)`` on the open interior faces of component ``c``."""

    def cg_residual_inplace(self, r, Ax, solid) -> None:
        """``r -= Ax`` on fluid cells, 0 on solid cells."""

    def cg_update_xr(self, x, r, p, Ap, alpha):
        """``x += alpha p``, ``r -= alpha Ap``; returns ``r.r`` (summed in float64). The
        conjugate gradients then take ``max abs(r)`` with :meth:`max_abs`, a second pass
        over ``r`` that a fused reduction could save."""

    def cg_update_p(self, p, z, beta) -> None:
        """``p = z + beta p``."""

    def mask_solid(self, a, solid) -> None:
        """``a = 0`` in solid cells."""

    def box_scale(self, h, ex, ey, ez) -> None:
        """``h /= ex[i] + ey[j] + ez[k]`` in the DCT basis (0 for the mean mode)."""

    def coarse_restrict(self, r, agg, rc) -> None:
        """``rc[a]`` = sum of ``r`` over the cells of aggregate ``a``."""

    def coarse_prolong_add(self, out, agg, xc) -> None:
        """``out += xc[aggregate of each cell]`` on fluid cells."""

    def mg_relax(self, x, b, solid, gx, gy, gz, cx, cy, cz, fine, colour) -> None:
        """Red-black Gauss-Seidel half sweep of a multigrid level on the cells of
        ``colour`` (``kernels.multigrid``: the level's face coefficients ``gx, gy, gz``,
        or the cell codes ``solid`` on the finest level, ``fine``; ``cx = 1 / dx**2``)."""

    def mg_restrict(self, bc, x, b, solid, gx, gy, gz, cx, cy, cz, fine, fx, fy, fz) -> None:
        """``bc`` = the mean over each coarse cell's children (``fx * fy * fz`` of them) of
        the residual ``b - A x``."""

    def mg_prolong(self, x, xc, solid, gx, gy, gz, cx, cy, cz, fine, fx, fy, fz) -> None:
        """``x += xc`` of each cell's parent (coarsening factors ``fx, fy, fz``), on cells
        with an open face."""

    # -- 5. devices
    def port_intake_stats(self, T, pf_cell, pf_dev, pf_role, sums, maxs) -> None:
        """Per device: sum and maximum of ``T`` over its intake-port cells."""

    # -- 6. heat
    def temperature_step(self, Tn, T, u, v, w, nut, solid, dx, dy, dz, alpha, inv_prt, bc_hk,
                         bc_tb, dt) -> None:
        """``Tn = T + dt * rate`` in fluid cells (advection, diffusion, box conduction)."""

    def apply_ports(self, Tn, T, pf_cell, pf_dev, pf_role, pf_rate, dev_tout, dt) -> None:
        """Advective heat through the ports: intakes carry the cell's temperature out,
        exhausts bring the device's outlet temperature in."""

    def apply_sources(self, Tn, src_cell, src_rate, dt) -> None:
        """Volumetric heat sources [K/s] on the listed cells."""

    # -- reductions (host floats)
    def dot(self, a, b) -> float:
        """``sum(a * b)`` in float64."""

    def max_abs(self, a) -> float:
        """``max abs(a)``; NaN if ``a`` holds a NaN."""

    def max_abs_diff(self, a, b) -> float:
        """``max abs(a - b)``; NaN if either holds a NaN."""

    def masked_sum(self, a, solid) -> float:
        """Sum of ``a`` over fluid cells."""

    def masked_shift(self, a, solid, shift) -> None:
        """``a -= shift`` on fluid cells, 0 on solid cells."""

    def max_advection_rate(self, u, v, w, idx, idy, idz) -> float:
        """Largest advective Courant rate of any cell or momentum control volume [1/s]."""
