"""Per-cell updates, written once as plain Python and compiled for every backend.

:func:`build` takes a JIT decorator (``numba.njit(inline="always")`` for the CPU,
``numba.cuda.jit(device=True, inline=True)`` for CUDA) and returns a namespace of
compiled scalar functions of ``(i, j, k, fields..., params...)``. The backend drivers in
``cpu.py`` and ``cuda_numba.py`` only loop, index, bounds-check and store or accumulate.

Besides the physics, every stage's per-item body is here once:

* the cell updates of the projection and the CG solver (:func:`fluid_divergence`,
  :func:`masked_difference`, :func:`cg_direction`, :func:`box_scaled`, ...) return the new
  value of the cell; the driver stores it;
* the sparse stages take row ``n`` of their list and return where and what to store or
  add (:func:`resisted`, :func:`port_heat`, :func:`source_heat`, :func:`intake_sample`,
  :func:`restricted`, :func:`prolonged`);
* the reductions' items return a cell's float64 contribution (:func:`product64`,
  :func:`abs64`, ...). The two fused update-and-reduce items (:func:`cg_advance`,
  :func:`residual_stored`) store their cell themselves and return its contribution.

Longer than the project's 600 lines on purpose: every per-cell and per-item body of every
backend lives in this one closure (:func:`build`), so that each is written once.

Discretisation (finite volume on a staggered MAC grid, ``kernels/README.md``):

* advection: conservative flux form; the transported value at a face is a MUSCL
  reconstruction with the van Leer limiter (van Leer, J. Comput. Phys. 32 (1979) 101-136),
  second order where the solution is smooth, bounded (TVD) near fronts; it falls back to
  first-order upwind next to walls;
* diffusion: second-order central differences with an effective viscosity
  ``nu + nu_t`` (momentum) and ``alpha + nu_t / Pr_t`` (heat);
* buoyancy: Boussinesq, ``g * beta * (T - T_ref)`` on the vertical velocity;
* walls: no-slip by a mirrored ghost value at half a cell (tangential), no penetration
  (normal faces next to a solid are held at zero or at a device's port velocity).

Integer codes for domain-boundary conditions (per face ``2*axis + (side > 0)``):
``bc_slip[f]`` 1 for a slip (symmetry) face, 0 for a wall; ``bc_uw[f, c]`` the wall's
velocity component ``c``; ``bc_hk[f]`` the thermal conductance from the wall to the
first cell centre per unit area divided by rho*cp [m/s] (0 adiabatic), ``bc_tb[f]`` the
outside or wall temperature.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

from numba import float64
from numba import types as _nbtypes
from numba.extending import overload

#: Chen & Xu (1998) constant of ``nu_t = C |V| l`` (also the time-step bound of
#: ``stages.stable_dt``).
CHEN_XU_C = 0.03874


def const(x, value):
    """The float ``value`` in the float type of ``x`` (a float scalar or a float array).

    A bare literal such as ``0.5`` is a float64 in Numba, and ``x32 * 0.5`` is then
    computed in float64 (NumPy's scalar promotion): every float32 kernel would convert its
    operands to double and back. Writing ``const(q, 0.5) * x`` keeps a float32 kernel in
    float32 and a float64 kernel in float64 from one source. Compiled (CPU and CUDA), the
    call folds to a typed constant; in plain Python (the CUDA simulator, the tests) it
    builds the NumPy scalar.
    """
    dt = getattr(x, "dtype", None)
    if dt is not None:
        return dt.type(value)
    return type(x)(value)


@overload(const, inline="always")
def _const_typed(x, value):
    if isinstance(x, _nbtypes.Array) and isinstance(x.dtype, _nbtypes.Float):
        ftype = x.dtype
    elif isinstance(x, _nbtypes.Float):
        ftype = x
    else:
        return None

    def impl(x, value):
        return ftype(value)
    return impl


def build(jit, nonneg=None):
    """Compile the pointwise functions with ``jit`` and return them in a namespace.

    ``nonneg`` is an index hint, ``x -> x`` for an integer known to be >= 0: the CPU
    passes :func:`kernels.cpu.assume_nonneg` (an ``llvm.assume``), other targets nothing
    (the identity). See :func:`at`.
    """
    if nonneg is None:
        @jit
        def nonneg(x):
            return x

    @jit
    def at(a, i, j, k):
        """``a[i, j, k]`` where every index is known to lie in the array (the momentum
        update, whose neighbour indices are clamped into the box, interior faces, cell
        centres).

        Numba adds the array length to a negative index (Python's wraparound): a select
        per index, which keeps LLVM from seeing that ``a[i, j, k + 1]`` of consecutive
        ``k`` are consecutive addresses, so it vectorised such loops with gathers, or not
        at all (the momentum update of 2026-12-06 stayed scalar with plain indexing).
        With the CPU's ``nonneg`` hint the select folds away: contiguous vector loads
        (measured on a 5-point stencil along ``k``, float32 128^3, one core: 10.4 ms with
        6 gathers per iteration, 1.4 ms without). Elsewhere it is plain indexing.
        """
        return a[nonneg(i), nonneg(j), nonneg(k)]

    @jit
    def vanleer(d1, d2):
        """van Leer's harmonic limiter ``2 d1 d2 / (d1 + d2)``, 0 where the signs differ.

        Written without branches, ``(d1 |d2| + |d1| d2) / (|d1| + |d2|)``: the same value,
        but compiled to selects, so the CPU vectorises and a GPU warp does not diverge
        on the sign of the data.
        """
        a1 = abs(d1)
        a2 = abs(d2)
        return (d1 * a2 + a1 * d2) / (a1 + a2 + const(d1, 1e-30))

    @jit
    def muscl_flux(a, qm2, qm1, qp1, qp2, okm2, okp2):
        """Advective flux ``a * q_face`` through the face between ``qm1`` and ``qp1``.

        ``okm2`` / ``okp2`` say whether the far neighbours exist; where one does not,
        that side's reconstruction falls back to first-order upwind.
        """
        zero = const(qm1, 0.0)
        half = const(qm1, 0.5)
        dm = (qm1 - qm2) if okm2 else zero
        dp = (qp2 - qp1) if okp2 else zero
        ql = qm1 + half * vanleer(dm, qp1 - qm1)
        qr = qp1 - half * vanleer(dp, qp1 - qm1)
        return a * (ql if a >= const(a, 0.0) else qr)

    @jit
    def opened(solid, i, j, k, f):
        """Face ``f`` (``2 * axis + side``, side 1 the upper) of fluid cell ``(i, j, k)``
        leads to a fluid cell inside the box: bit ``2 + f`` of the solver's cell code
        (``kernels.setup.cell_codes``). One shift and test where a test of the neighbour
        takes six bounds tests and a load."""
        return ((solid[i, j, k] >> (2 + f)) & 1) != 0

    @jit
    def component(c, u, v, w):
        """The staggered array of velocity component ``c`` (0: u, 1: v, 2: w)."""
        if c == 0:
            return u
        if c == 1:
            return v
        return w

    @jit
    def vel(c, u, v, w, i, j, k):
        if c == 0:
            return u[i, j, k]
        if c == 1:
            return v[i, j, k]
        return w[i, j, k]

    @jit
    def unit(c, b):
        return 1 if c == b else 0

    @jit
    def momentum_normal(c, i, j, k, q, d, q0, nu_hi, nu_lo):
        """Advection and diffusion of velocity component ``c`` along its own axis at
        interior face ``(i, j, k)`` [m/s2]. The faces one away along ``c`` always exist;
        a face two away that lies past the box is replaced by the nearer one, and its
        flag sends MUSCL to first-order upwind on that side.

        Diffusion in conservative form with the full stress: the normal stress
        ``2 nu_eff du_c/dx_c`` at the centres of the face's upper and lower cells
        (``nu_hi``, ``nu_lo``: ``nu`` plus the cell's eddy viscosity), differenced across
        the face. Its transpose half (``nu_eff du_c/dx_c`` of ``d/dx_j (nu_eff du_j/dx_i)``)
        and the transpose terms of :func:`momentum_cross` sum to ``nu d(div u)/dx_c`` where
        the viscosity is uniform: zero for a divergence-free flow, as in the textbook
        Laplacian form (Ferziger & Peric, *Computational Methods for Fluid Dynamics*, 3rd
        ed. 2002, sec. 8.4 and 10.3.1, eq. 10.38: the Reynolds stress by the Boussinesq
        eddy viscosity; Versteeg & Malalasekera 2007, sec. 3.7)."""
        ec0 = unit(0, c)
        ec1 = unit(1, c)
        ec2 = unit(2, c)
        half = const(q, 0.5)
        two = const(q, 2.0)
        f = i if c == 0 else (j if c == 1 else k)
        okm2 = f >= 2
        okp2 = f + 2 < q.shape[c]
        m2 = 2 if okm2 else 1
        p2 = 2 if okp2 else 1
        qm1 = at(q, i - ec0, j - ec1, k - ec2)
        qp1 = at(q, i + ec0, j + ec1, k + ec2)
        qm2 = at(q, i - m2 * ec0, j - m2 * ec1, k - m2 * ec2)
        qp2 = at(q, i + p2 * ec0, j + p2 * ec1, k + p2 * ec2)
        f_hi = muscl_flux(half * (q0 + qp1), qm1, q0, qp1, qp2, True, okp2)
        f_lo = muscl_flux(half * (qm1 + q0), qm2, qm1, q0, qp1, okm2, True)
        return (-(f_hi - f_lo) / d
                + two * (nu_hi * (qp1 - q0) - nu_lo * (q0 - qm1)) / (d * d))

    @jit
    def momentum_cross(rate, c, b, i, j, k, q, a, solid, d, dc, q0, nut, nu, nuw, code_hi,
                       code_lo, bc_slip, bc_uw, k_inner):
        """``rate`` plus the advection by component ``b`` and the diffusion along axis ``b``
        (``b != c``) of velocity component ``c`` at interior face ``(i, j, k)`` [m/s2].

        ``a`` is the array of component ``b``; ``code_hi``, ``code_lo`` are the cell codes
        of the face's upper and lower cells (``(i, j, k)`` and one below along ``c``).

        The ``c``-face one away along ``b`` holds a fluid value when a cell beside it is
        fluid: the open-face bit ``b`` of either cell of this face (:func:`opened`).
        Otherwise it is a wall at half a cell: no slip (mirror ``2 U_wall - q`` for
        diffusion, ``U_wall`` advected across it; ``U_wall`` is the box face's wall
        velocity, 0 at an internal solid) or, on a slip box face, zero shear (``q``
        mirrored, 0 advected). The face two away counts for MUSCL when it lies in the
        box and a cell beside it is fluid.

        Diffusion in conservative form with the full stress (Ferziger & Peric 2002, eq.
        10.38): the shear ``nu_eff (dq/dx_b + da/dx_c)`` at the two edges the face
        shares with its neighbours along ``b``, differenced across the face (``dc`` the
        spacing along ``c``). At an edge between fluid faces ``nu_eff`` is ``nu`` plus the
        mean eddy viscosity of the four cells around the edge (``nut``, on cell
        centres); on a no-slip wall side it is the wall viscosity ``nuw`` (``nu`` plus the
        wall function's ``nu_t`` with k-epsilon; every other model passes ``nut`` as the
        wall field), the wall at half a cell; a slip side carries no shear. Until
        2026-12-07 this was ``nu_eff * laplacian(q)`` with the face's viscosity, which
        drops ``grad(nu_t) . grad(q)``: in a developed k-epsilon channel the pressure
        drop was 3.6 times the wall shear (``benchmarks/results/channel-keps-*``).

        Written without branches on the data, as :func:`heat_axis`: neighbour indices are
        clamped into the box, every term is formed, and the bits select.
        ``k_inner`` (a compile-time constant) says the caller's loop keeps ``k`` two or
        more cells from both ends of the box: along ``k`` the clamps then fold away, and
        on the CPU the loads of consecutive faces are consecutive, so LLVM vectorises the
        loop. Every other caller passes False.
        """
        ec0 = unit(0, c)
        ec1 = unit(1, c)
        ec2 = unit(2, c)
        eb0 = unit(0, b)
        eb1 = unit(1, b)
        eb2 = unit(2, b)
        half = const(q, 0.5)
        two = const(q, 2.0)
        zero = const(q, 0.0)
        nb = solid.shape[b]
        x = i if b == 0 else (j if b == 1 else k)
        inner = k_inner and b == 2
        dn = 1 if (inner or x > 0) else 0          # steps to the neighbours, 0 past the box
        up = 1 if (inner or x < nb - 1) else 0
        dn2 = 2 if (inner or x > 1) else dn
        up2 = 2 if (inner or x < nb - 2) else up
        open_m = (((code_hi | code_lo) >> (2 + 2 * b)) & 1) != 0
        open_p = (((code_hi | code_lo) >> (3 + 2 * b)) & 1) != 0
        slip_m = dn == 0 and bc_slip[2 * b] != 0
        slip_p = up == 0 and bc_slip[2 * b + 1] != 0
        wall_m = const(q, bc_uw[2 * b, c]) if (dn == 0 and not slip_m) else zero
        wall_p = const(q, bc_uw[2 * b + 1, c]) if (up == 0 and not slip_p) else zero
        vm1 = at(q, i - dn * eb0, j - dn * eb1, k - dn * eb2)
        vp1 = at(q, i + up * eb0, j + up * eb1, k + up * eb2)
        qm1 = vm1 if open_m else zero
        qp1 = vp1 if open_p else zero
        s_m2 = (at(solid, i - dn2 * eb0, j - dn2 * eb1, k - dn2 * eb2)
                & at(solid, i - ec0 - dn2 * eb0, j - ec1 - dn2 * eb1, k - ec2 - dn2 * eb2))
        s_p2 = (at(solid, i + up2 * eb0, j + up2 * eb1, k + up2 * eb2)
                & at(solid, i - ec0 + up2 * eb0, j - ec1 + up2 * eb1, k - ec2 + up2 * eb2))
        open_m2 = (inner or x >= 2) and (s_m2 & 1) == 0
        open_p2 = (inner or x + 2 < nb) and (s_p2 & 1) == 0
        qm2 = at(q, i - dn2 * eb0, j - dn2 * eb1, k - dn2 * eb2)
        qp2 = at(q, i + up2 * eb0, j + up2 * eb1, k + up2 * eb2)
        # diffusion ghosts: the neighbour, the no-slip mirror or (slip) the face itself
        gp = qp1 if open_p else (q0 if slip_p else two * wall_p - q0)
        gm = qm1 if open_m else (q0 if slip_m else two * wall_m - q0)
        # the edges' viscosity: the four cells around an edge between fluid faces, the
        # wall's on a wall side
        quarter = const(q, 0.25)
        nut_f = at(nut, i, j, k) + at(nut, i - ec0, j - ec1, k - ec2)
        nu_p = nu + quarter * (nut_f + at(nut, i + up * eb0, j + up * eb1, k + up * eb2)
                               + at(nut, i - ec0 + up * eb0, j - ec1 + up * eb1,
                                    k - ec2 + up * eb2))
        nu_m = nu + quarter * (nut_f + at(nut, i - dn * eb0, j - dn * eb1, k - dn * eb2)
                               + at(nut, i - ec0 - dn * eb0, j - ec1 - dn * eb1,
                                    k - ec2 - dn * eb2))
        nu_p = nu_p if open_p else nuw
        nu_m = nu_m if open_m else nuw
        # the b velocity on the two edges' faces (also the advecting velocity below); its
        # derivative along c is the stress's transpose half, 0 along a wall
        a_p_hi = at(a, i + eb0, j + eb1, k + eb2)
        a_p_lo = at(a, i - ec0 + eb0, j - ec1 + eb1, k - ec2 + eb2)
        a_m_hi = at(a, i, j, k)
        a_m_lo = at(a, i - ec0, j - ec1, k - ec2)
        tp = (a_p_hi - a_p_lo) / dc
        tm = (a_m_hi - a_m_lo) / dc
        rate += (nu_p * ((gp - q0) / d + tp) - nu_m * ((q0 - gm) / d + tm)) / d
        # advection by the b velocity at the two edges; the wall side carries the wall's
        a_hi = half * (a_p_lo + a_p_hi)
        a_lo = half * (a_m_lo + a_m_hi)
        f_open = muscl_flux(a_hi, qm1, q0, qp1, qp2, open_m, open_p2)
        f_wall = a_hi * (q0 if a_hi >= zero else wall_p)
        f_hi = f_open if open_p else f_wall
        f_open = muscl_flux(a_lo, qm2, qm1, q0, qp1, open_m2, open_p)
        f_wall = a_lo * (wall_m if a_lo >= zero else q0)
        f_lo = f_open if open_m else f_wall
        rate += -(f_hi - f_lo) / d
        return rate

    @jit
    def momentum_rate(c, i, j, k, u, v, w, nut, nutw, T, solid, dx, dy, dz, nu, gbeta, tref,
                      bc_slip, bc_uw, k_inner):
        """Time derivative of velocity component ``c`` at its face ``(i, j, k)`` [m/s2].

        Advection + diffusion + buoyancy (no pressure), at an interior face (index along
        ``c`` from 1 to ``n_c - 1``): :func:`momentum_normal` along ``c``,
        :func:`momentum_cross` along the other two axes, in axis order, and
        ``g beta (T_face - T_ref)`` on ``w``. The value is only used where the face is
        open (:func:`face_open`), but every index stays in the box, so a driver may form
        it at every interior face and select. One formula for every face, without
        branches on the data (small hall at 0.2 m, float64, one core, the three
        components: 3.4 -> 1.9 ms against a fast path for faces between two cells two clear
        of walls plus a tested general path; 64^3 room 11.5 -> 8.2 ms).
        ``k_inner``: see :func:`momentum_cross`. ``nutw``: the eddy viscosity of the
        cells' wall faces (:func:`wall_viscosity` with k-epsilon, else ``nut`` itself).
        """
        ec0 = unit(0, c)
        ec1 = unit(1, c)
        ec2 = unit(2, c)
        q = component(c, u, v, w)
        half = const(q, 0.5)
        q0 = at(q, i, j, k)
        nu_hi = nu + at(nut, i, j, k)
        nu_lo = nu + at(nut, i - ec0, j - ec1, k - ec2)
        nuw = nu + half * (at(nutw, i, j, k) + at(nutw, i - ec0, j - ec1, k - ec2))
        code_hi = at(solid, i, j, k)
        code_lo = at(solid, i - ec0, j - ec1, k - ec2)
        dc = dx if c == 0 else (dy if c == 1 else dz)
        # the axes written out (see temperature_rate)
        if c == 0:
            rate = momentum_normal(0, i, j, k, q, dx, q0, nu_hi, nu_lo)
        else:
            rate = momentum_cross(const(q, 0.0), c, 0, i, j, k, q, u, solid, dx, dc, q0, nut,
                                  nu, nuw, code_hi, code_lo, bc_slip, bc_uw, k_inner)
        if c == 1:
            rate += momentum_normal(1, i, j, k, q, dy, q0, nu_hi, nu_lo)
        else:
            rate = momentum_cross(rate, c, 1, i, j, k, q, v, solid, dy, dc, q0, nut, nu, nuw,
                                  code_hi, code_lo, bc_slip, bc_uw, k_inner)
        if c == 2:
            rate += momentum_normal(2, i, j, k, q, dz, q0, nu_hi, nu_lo)
            rate += gbeta * (half * (at(T, i, j, k) + at(T, i, j, k - 1)) - tref)
        else:
            rate = momentum_cross(rate, c, 2, i, j, k, q, w, solid, dz, dc, q0, nut, nu, nuw,
                                  code_hi, code_lo, bc_slip, bc_uw, k_inner)
        return rate

    @jit
    def face_open(c, i, j, k, solid):
        """Interior face ``(i,j,k)`` of the staggered array ``c`` (its index along ``c``
        from 1 to ``n_c - 1``) lies between two fluid cells: the lower-face bit of cell
        ``(i, j, k)`` (:func:`opened`), one load where two neighbour tests took twelve
        bounds tests and two loads."""
        return opened(solid, i, j, k, 2 * c)

    @jit
    def heat_axis(rate, c, i, j, k, u, v, w, nut, T, solid, d, code, Tc, ac, alpha, inv_prt,
                  bc_hk, bc_tb):
        """``rate`` plus the heat into cell ``(i, j, k)`` through its two faces along axis
        ``c`` [K/s]: MUSCL advection and diffusion through an open face, conduction to the
        outside through a domain-boundary face.

        Written without branches on the data. Every neighbour index is clamped into the box
        (a missing neighbour reads the nearest cell that exists), every term is formed, and
        the cell code's face bits (:func:`opened`) select the terms that apply; the far
        neighbour past an open face is there when the neighbour's face on the same side is
        open. The terms are added in the order of the per-face tests this replaced, and an
        unselected term adds an exact zero. Compiled to selects, one formula serves every
        cell: the CPU runs it without mispredicted branches on walls (small hall at 0.2 m,
        where 40 % of the cells are regular, one core: 1.68 -> 0.94 ms in float64, 1.55 -> 0.80 ms
        in float32, against a regular-cell fast path plus tested faces; 32^3 room 0.88 ->
        0.54 ms), and a GPU warp does not diverge.
        """
        e0 = unit(0, c)
        e1 = unit(1, c)
        e2 = unit(2, c)
        n = solid.shape[c]
        idx = i if c == 0 else (j if c == 1 else k)
        dn = 1 if idx > 0 else 0               # steps to the lower and upper neighbours,
        up = 1 if idx < n - 1 else 0           # 0 past the box
        dn2 = 2 if idx > 1 else dn
        up2 = 2 if idx < n - 2 else up
        li, lj, lk = i - dn * e0, j - dn * e1, k - dn * e2
        hi, hj, hk_ = i + up * e0, j + up * e1, k + up * e2
        open_lo = ((code >> (2 + 2 * c)) & 1) != 0
        open_hi = ((code >> (3 + 2 * c)) & 1) != 0
        open_lo2 = opened(solid, li, lj, lk, 2 * c)
        open_hi2 = opened(solid, hi, hj, hk_, 2 * c + 1)
        Tlo = T[li, lj, lk]
        Thi = T[hi, hj, hk_]
        zero = const(T, 0.0)
        half = const(T, 0.5)
        # lower face
        h = bc_hk[2 * c]
        cond = h * (bc_tb[2 * c] - Tc) / d
        rate += cond if (dn == 0 and h > zero) else zero
        flux = muscl_flux(vel(c, u, v, w, i, j, k), T[i - dn2 * e0, j - dn2 * e1, k - dn2 * e2],
                          Tlo, Tc, Thi, open_lo2, open_hi) / d
        rate += flux if open_lo else zero
        diff = half * (ac + (alpha + nut[li, lj, lk] * inv_prt)) * (Tlo - Tc) / (d * d)
        rate += diff if open_lo else zero
        # upper face
        h = bc_hk[2 * c + 1]
        cond = h * (bc_tb[2 * c + 1] - Tc) / d
        rate += cond if (up == 0 and h > zero) else zero
        flux = muscl_flux(vel(c, u, v, w, i + e0, j + e1, k + e2), Tlo, Tc, Thi,
                          T[i + up2 * e0, j + up2 * e1, k + up2 * e2], open_lo, open_hi2) / d
        rate -= flux if open_hi else zero
        diff = half * (ac + (alpha + nut[hi, hj, hk_] * inv_prt)) * (Thi - Tc) / (d * d)
        rate += diff if open_hi else zero
        return rate

    @jit
    def temperature_rate(i, j, k, u, v, w, nut, T, solid, dx, dy, dz, alpha, inv_prt,
                         bc_hk, bc_tb):
        """Time derivative of temperature in fluid cell ``(i, j, k)`` [K/s].

        Advection through open faces + diffusion through open faces + conduction through
        domain-boundary faces (:func:`heat_axis`, one formula for every cell). Device
        ports are added by the sparse port stage. In a solid cell the value is not used.
        """
        code = solid[i, j, k]
        Tc = T[i, j, k]
        ac = alpha + nut[i, j, k] * inv_prt
        # the axes written out (a loop over them is not unrolled before inlining, and the
        # per-axis index arithmetic then stays in the loop body: measured 4x slower)
        rate = heat_axis(const(T, 0.0), 0, i, j, k, u, v, w, nut, T, solid, dx, code, Tc, ac,
                         alpha, inv_prt, bc_hk, bc_tb)
        rate = heat_axis(rate, 1, i, j, k, u, v, w, nut, T, solid, dy, code, Tc, ac, alpha,
                         inv_prt, bc_hk, bc_tb)
        return heat_axis(rate, 2, i, j, k, u, v, w, nut, T, solid, dz, code, Tc, ac, alpha,
                         inv_prt, bc_hk, bc_tb)

    @jit
    def divergence(i, j, k, u, v, w, dx, dy, dz):
        """Net outflow per unit volume of cell ``(i, j, k)`` [1/s]."""
        return ((at(u, i + 1, j, k) - at(u, i, j, k)) / dx
                + (at(v, i, j + 1, k) - at(v, i, j, k)) / dy
                + (at(w, i, j, k + 1) - at(w, i, j, k)) / dz)

    @jit
    def open_difference(phi, code, bit, ii, jj, kk, pc):
        """``phi[ii, jj, kk] - pc`` where face bit ``bit`` of the cell code is set, else 0."""
        if (code >> bit) & 1:
            return phi[ii, jj, kk] - pc
        return const(phi, 0.0)

    @jit
    def laplacian(i, j, k, phi, solid, cx, cy, cz):
        """Masked Laplacian of cell ``(i, j, k)``: Neumann (zero flux) at solid cells and
        the domain boundary; 0 in a solid cell. ``cx``, ``cy``, ``cz`` are ``1 / dx**2``
        and so on, in the type of ``phi``.

        One formula for every cell: each face contributes ``phi_nb - phi_c`` where its
        open-face bit (:func:`opened`) is set. A neighbour index past the box is clamped
        onto the cell itself; that face's bit is clear, so it is never used, but the load
        stays in the array. Without a branch on the kind of cell, the CPU vectorises the
        loop along ``k`` with selects (measured 2026-12-06, small hall at 0.2 m, 40 %
        regular cells, float64, one core: 0.25 ms with a regular fast path and neighbour
        tests, 0.08 ms this way). A solid cell has no open bits and gets 0.
        """
        n0, n1, n2 = phi.shape
        # written ``i - (1 or 0)`` so that both cases have one integer type (a parallel
        # loop's index may be unsigned, and ``i - 1`` is then signed)
        im = i - (1 if i > 0 else 0)
        ip = i + (1 if i < n0 - 1 else 0)
        jm = j - (1 if j > 0 else 0)
        jp = j + (1 if j < n1 - 1 else 0)
        km = k - (1 if k > 0 else 0)
        kp = k + (1 if k < n2 - 1 else 0)
        code = solid[i, j, k]
        pc = phi[i, j, k]
        return ((open_difference(phi, code, 2, im, j, k, pc)
                 + open_difference(phi, code, 3, ip, j, k, pc)) * cx
                + (open_difference(phi, code, 4, i, jm, k, pc)
                   + open_difference(phi, code, 5, i, jp, k, pc)) * cy
                + (open_difference(phi, code, 6, i, j, km, pc)
                   + open_difference(phi, code, 7, i, j, kp, pc)) * cz)

    @jit
    def larger(a, b):
        """``max(a, b)`` that returns a NaN from either side (the CUDA target has no
        two-argument ``max`` for device code)."""
        return a if (a > b or a != a) else b

    @jit
    def face_speeds(i, j, k, u, v, w):
        """Largest normal speed over each pair of opposite faces of cell ``(i, j, k)`` [m/s]."""
        return (larger(abs(u[i, j, k]), abs(u[i + 1, j, k])),
                larger(abs(v[i, j, k]), abs(v[i, j + 1, k])),
                larger(abs(w[i, j, k]), abs(w[i, j, k + 1])))

    @jit
    def advection_rate(i, j, k, u, v, w, idx, idy, idz):
        """Largest advective Courant rate ``sum_a |q_a| / d_a`` [1/s] of cell ``(i, j, k)``
        and of the momentum control volumes on its three upper faces.

        The cell's own rate bounds its temperature update (the velocities on its faces).
        A momentum control volume spans the halves of the two cells beside its face, and
        every velocity on its faces is a mean of face velocities of those two cells, so the
        larger of the two cells' face speeds, axis by axis, bounds it. The solver's
        explicit step keeps ``dt * max(rate) <= cfl``: the Courant-Friedrichs-Lewy
        condition (Courant, Friedrichs & Lewy, Math. Ann. 100 (1928) 32-74) cell by cell.
        With forward Euler and a limiter bounded by 2 (van Leer's) Harten's lemma gives a
        TVD scheme for a Courant number up to 1/2 (Hundsdorfer & Verwer, Numerical
        Solution of Time-Dependent Advection-Diffusion-Reaction Equations, 2003, ch. III.1),
        hence ``SolverSettings.cfl <= 0.5``. The bound used before, the sum of the three
        components' maxima over the whole box, mixes speeds from different places.
        """
        sx, sy, sz = face_speeds(i, j, k, u, v, w)
        rate = sx * idx + sy * idy + sz * idz
        if i + 1 < u.shape[0] - 1:
            ax, ay, az = face_speeds(i + 1, j, k, u, v, w)
            rate = larger(rate, larger(sx, ax) * idx + larger(sy, ay) * idy
                          + larger(sz, az) * idz)
        if j + 1 < v.shape[1] - 1:
            ax, ay, az = face_speeds(i, j + 1, k, u, v, w)
            rate = larger(rate, larger(sx, ax) * idx + larger(sy, ay) * idy
                          + larger(sz, az) * idz)
        if k + 1 < w.shape[2] - 1:
            ax, ay, az = face_speeds(i, j, k + 1, u, v, w)
            rate = larger(rate, larger(sx, ax) * idx + larger(sy, ay) * idy
                          + larger(sz, az) * idz)
        return rate

    @jit
    def speed_at_centre(i, j, k, u, v, w):
        half = const(u, 0.5)
        uc = half * (at(u, i, j, k) + at(u, i + 1, j, k))
        vc = half * (at(v, i, j, k) + at(v, i, j + 1, k))
        wc = half * (at(w, i, j, k) + at(w, i, j, k + 1))
        return math.sqrt(uc * uc + vc * vc + wc * wc)

    @jit
    def chen_xu_nut(i, j, k, u, v, w, walldist):
        """Chen & Xu (1998) zero-equation eddy viscosity, ``C * |V| * l`` [m2/s] with
        ``C`` = :data:`CHEN_XU_C`."""
        return const(u, CHEN_XU_C) * speed_at_centre(i, j, k, u, v, w) * at(walldist, i, j, k)

    # ------------------------------------------------------------------ cell updates
    @jit
    def fluid(solid, i, j, k):
        """Cell ``(i, j, k)`` is fluid: bit 0 of its code is clear."""
        return (solid[i, j, k] & 1) == 0

    @jit
    def fluid_divergence(i, j, k, u, v, w, solid, dx, dy, dz):
        """:func:`divergence` in a fluid cell, 0 in a solid one."""
        if fluid(solid, i, j, k):
            return divergence(i, j, k, u, v, w, dx, dy, dz)
        return const(u, 0.0)

    @jit
    def eddy_viscosity(i, j, k, u, v, w, walldist, nu_t_const, model):
        """``nut`` of cell ``(i, j, k)`` [m2/s]: model 0 laminar (0), 1 the constant
        ``nu_t_const``, 2 Chen-Xu (:func:`chen_xu_nut`)."""
        if model == 2:
            return chen_xu_nut(i, j, k, u, v, w, walldist)
        if model == 1:
            return nu_t_const
        return const(u, 0.0)

    # ------------------------------------------------------------------ k-epsilon
    # Standard k-epsilon (Launder, B.E. & Spalding, D.B., "The numerical computation of
    # turbulent flows", Comput. Methods Appl. Mech. Eng. 3 (1974) 269-289) with the
    # constants of that paper, the wall functions of the same paper as OpenFOAM writes them
    # (kqRWallFunction, epsilonWallFunction, nutkWallFunction), and the buoyancy
    # production of Rodi (1987, "Examples of calculation methods for flow and mixing in
    # stratified fluids", J. Geophys. Res. 92(C5) 5305-5328): G_b = -g beta nu_t/Pr_t dT/dz,
    # in the epsilon equation with C3 = 1 where it produces and 0 where it damps.
    # The constants are in kernels/problem.py (KEPS_*), passed in the field type.

    @jit
    def centre_velocity(c, u, v, w, i, j, k):
        """Component ``c`` at the centre of cell ``(i, j, k)``: the mean of its two faces."""
        half = const(u, 0.5)
        if c == 0:
            return half * (at(u, i, j, k) + at(u, i + 1, j, k))
        if c == 1:
            return half * (at(v, i, j, k) + at(v, i, j + 1, k))
        return half * (at(w, i, j, k) + at(w, i, j, k + 1))

    @jit
    def centre_gradient(a, b, i, j, k, u, v, w, solid, code, d, bc_slip):
        """``d(q_a)/d(x_b)`` at the centre of fluid cell ``(i, j, k)``, ``a != b`` [1/s].

        Central difference of the neighbours' centre values across open faces; across a
        closed face (wall, port or solid body) the value is 0 at the face, half a cell
        away (no slip; a port's tangential velocity is 0); across a slip box face it is
        the cell's own (zero gradient). Branch-free like :func:`heat_axis`: neighbour
        indices are clamped into the box and the face bits select."""
        eb0 = unit(0, b)
        eb1 = unit(1, b)
        eb2 = unit(2, b)
        half = const(u, 0.5)
        zero = const(u, 0.0)
        nb = solid.shape[b]
        x = i if b == 0 else (j if b == 1 else k)
        dn = 1 if x > 0 else 0
        up = 1 if x < nb - 1 else 0
        qc = centre_velocity(a, u, v, w, i, j, k)
        qm = centre_velocity(a, u, v, w, i - dn * eb0, j - dn * eb1, k - dn * eb2)
        qp = centre_velocity(a, u, v, w, i + up * eb0, j + up * eb1, k + up * eb2)
        open_m = ((code >> (2 + 2 * b)) & 1) != 0
        open_p = ((code >> (3 + 2 * b)) & 1) != 0
        slip_m = dn == 0 and bc_slip[2 * b] != 0
        slip_p = up == 0 and bc_slip[2 * b + 1] != 0
        gm = qm if open_m else (qc if slip_m else zero)
        gp = qp if open_p else (qc if slip_p else zero)
        lm = d if (open_m or slip_m) else half * d
        lp = d if (open_p or slip_p) else half * d
        return (gp - gm) / (lp + lm)

    @jit
    def strain_rate_sq(i, j, k, u, v, w, solid, dx, dy, dz, bc_slip):
        """``S^2 = 2 S_ij S_ij`` at the centre of fluid cell ``(i, j, k)`` [1/s2], so that
        the shear production of k is ``nu_t S^2``. Normal strains from the cell's faces,
        shear strains from :func:`centre_gradient`."""
        code = solid[i, j, k]
        two = const(u, 2.0)
        sxx = (at(u, i + 1, j, k) - at(u, i, j, k)) / dx
        syy = (at(v, i, j + 1, k) - at(v, i, j, k)) / dy
        szz = (at(w, i, j, k + 1) - at(w, i, j, k)) / dz
        sxy = (centre_gradient(0, 1, i, j, k, u, v, w, solid, code, dy, bc_slip)
               + centre_gradient(1, 0, i, j, k, u, v, w, solid, code, dx, bc_slip))
        sxz = (centre_gradient(0, 2, i, j, k, u, v, w, solid, code, dz, bc_slip)
               + centre_gradient(2, 0, i, j, k, u, v, w, solid, code, dx, bc_slip))
        syz = (centre_gradient(1, 2, i, j, k, u, v, w, solid, code, dz, bc_slip)
               + centre_gradient(2, 1, i, j, k, u, v, w, solid, code, dy, bc_slip))
        return two * (sxx * sxx + syy * syy + szz * szz) + sxy * sxy + sxz * sxz + syz * syz

    @jit
    def vertical_gradient(i, j, k, T, solid, dz):
        """``dT/dz`` at the centre of fluid cell ``(i, j, k)`` [K/m]: central difference
        over ``2 dz``, the cell's own value standing in across a closed face (adiabatic)."""
        nz = solid.shape[2]
        code = solid[i, j, k]
        dn = 1 if k > 0 else 0
        up = 1 if k < nz - 1 else 0
        tc = T[i, j, k]
        tm = T[i, j, k - dn] if ((code >> 6) & 1) != 0 else tc
        tp = T[i, j, k + up] if ((code >> 7) & 1) != 0 else tc
        return (tp - tm) / (const(T, 2.0) * dz)

    @jit
    def log_law_nut(kp, y, nu, cmu25, kappa, elog, ylam):
        """Wall eddy viscosity of the log law (OpenFOAM's ``nutkWallFunction``) [m2/s]:
        ``nu (y+ kappa / ln(E y+) - 1)`` with ``y+ = Cmu^1/4 sqrt(k) y / nu``, 0 in the
        viscous sublayer (``y+ <= y+_lam``)."""
        yplus = cmu25 * math.sqrt(kp) * y / nu
        nw = nu * (yplus * kappa / math.log(elog * yplus) - const(nu, 1.0))
        return nw if yplus > ylam else const(nu, 0.0)

    @jit
    def wall_count(wc, axis, x):
        """How many of the two faces along ``axis`` are no-slip walls (wall bits ``wc``),
        in the float type of ``x`` (an integer count would promote float32 to float64)."""
        one = const(x, 1.0)
        zero = const(x, 0.0)
        return ((one if ((wc >> (2 * axis)) & 1) != 0 else zero)
                + (one if ((wc >> (2 * axis + 1)) & 1) != 0 else zero))

    @jit
    def wall_axis(acc, axis, wc, kp, ut, d, nu, cmu25, kappa, elog, ylam):
        """``acc`` plus the wall-function terms of the cell's wall faces along ``axis``
        (``wc`` the cell's wall bits, bit ``2 * axis + side``): ``(count, production G,
        dissipation, wall nu_t)`` each summed over those faces. ``ut``: the speed
        tangential to them at the cell centre; the wall is half a cell ``d`` away."""
        n_w, g_w, e_w, nut_w = acc
        f = wall_count(wc, axis, kp)
        y = const(kp, 0.5) * d
        nw = log_law_nut(kp, y, nu, cmu25, kappa, elog, ylam)
        ustar = cmu25 * math.sqrt(kp)
        tau = (nu + nw) * ut / y                    # wall shear stress / rho [m2/s2]
        return (n_w + f, g_w + f * tau * ustar / (kappa * y),
                e_w + f * cmu25 * cmu25 * cmu25 * kp * math.sqrt(kp) / (kappa * y),
                nut_w + f * nw)

    @jit
    def wall_terms(i, j, k, u, v, w, tk, wallc, nu, dx, dy, dz, cmu25, kappa, elog, ylam,
                   kmin):
        """Log-law wall functions of fluid cell ``(i, j, k)`` (Launder & Spalding 1974):
        ``(n, G, eps, nut_w)``, the number of its no-slip wall faces (``wallc`` bits,
        ``kernels.setup.wall_codes``) and the sums over them of the production
        ``tau_w/rho * Cmu^1/4 sqrt(k) / (kappa y)``, the dissipation
        ``Cmu^3/4 k^3/2 / (kappa y)`` and the wall eddy viscosity (:func:`log_law_nut`);
        ``tau_w/rho = (nu + nut_w) U_t / y`` with ``U_t`` the tangential speed at the
        centre and ``y`` half the cell. A wall cell's production and dissipation are the
        means over its wall faces (OpenFOAM's ``epsilonWallFunction`` weights)."""
        wc = wallc[i, j, k]
        kp = larger(tk[i, j, k], kmin)
        uc = centre_velocity(0, u, v, w, i, j, k)
        vc = centre_velocity(1, u, v, w, i, j, k)
        wcv = centre_velocity(2, u, v, w, i, j, k)
        zero = const(kp, 0.0)
        acc = (zero, zero, zero, zero)
        acc = wall_axis(acc, 0, wc, kp, math.sqrt(vc * vc + wcv * wcv), dx, nu, cmu25, kappa,
                        elog, ylam)
        acc = wall_axis(acc, 1, wc, kp, math.sqrt(uc * uc + wcv * wcv), dy, nu, cmu25, kappa,
                        elog, ylam)
        return wall_axis(acc, 2, wc, kp, math.sqrt(uc * uc + vc * vc), dz, nu, cmu25, kappa,
                         elog, ylam)

    @jit
    def ke_sources(i, j, k, u, v, w, nut, T, tk, solid, wallc, dx, dy, dz, bc_slip, nu,
                   gbeta_prt, cmu25, kappa, elog, ylam, kmin):
        """``(P, G_b, n_wall, eps_wall)`` of fluid cell ``(i, j, k)``: the shear production
        ``nu_t S^2`` (the wall function's mean in a wall cell), the buoyancy production
        ``-g beta nu_t / Pr_t dT/dz`` (``gbeta_prt`` = g beta / Pr_t; 0 turns it off),
        and the wall cell's count of wall faces and fixed dissipation [m2/s3]."""
        n_w, g_w, e_w, nut_w = wall_terms(i, j, k, u, v, w, tk, wallc, nu, dx, dy, dz, cmu25,
                                          kappa, elog, ylam, kmin)
        one = const(nu, 1.0)
        nc = nut[i, j, k]
        prod = nc * strain_rate_sq(i, j, k, u, v, w, solid, dx, dy, dz, bc_slip)
        inv_n = one / (n_w if n_w > const(nu, 0.0) else one)
        prod = g_w * inv_n if n_w > const(nu, 0.0) else prod
        gb = -gbeta_prt * nc * vertical_gradient(i, j, k, T, solid, dz)
        return prod, gb, n_w, e_w * inv_n

    @jit
    def k_item(i, j, k, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip,
               bc_zero, nu, inv_sk, gbeta_prt, cmu25, kappa, elog, ylam, kmin, emin, dt):
        """New turbulent kinetic energy of cell ``(i, j, k)`` over ``dt`` [m2/s2].

        ``dk/dt = -div(u k) + div((nu + nu_t/sigma_k) grad k) + P + G_b - eps``:
        advection and diffusion as for heat (:func:`temperature_rate`, zero flux through
        walls and ports; the ports' inflow is the sparse port stage), the sources of
        :func:`ke_sources`; dissipation and a damping G_b implicit in ``k`` (point-implicit:
        ``k`` stays positive at any step). At least ``kmin``; a solid cell keeps its value."""
        kc = larger(tk[i, j, k], kmin)
        ec = larger(teps[i, j, k], emin)
        zero = const(kc, 0.0)
        trans = temperature_rate(i, j, k, u, v, w, nut, tk, solid, dx, dy, dz, nu, inv_sk,
                                 bc_zero, bc_zero)
        prod, gb, n_w, e_w = ke_sources(i, j, k, u, v, w, nut, T, tk, solid, wallc, dx, dy,
                                        dz, bc_slip, nu, gbeta_prt, cmu25, kappa, elog, ylam,
                                        kmin)
        gain = prod + (gb if gb > zero else zero)
        loss = (ec - (gb if gb < zero else zero)) / kc
        kn = (tk[i, j, k] + dt * (trans + gain)) / (const(kc, 1.0) + dt * loss)
        kn = larger(kn, kmin)
        return kn if (solid[i, j, k] & 1) == 0 else tk[i, j, k]

    @jit
    def eps_item(i, j, k, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip,
                 bc_zero, nu, inv_se, gbeta_prt, c1, c2, cmu25, kappa, elog, ylam, kmin, emin,
                 dt):
        """New dissipation rate of cell ``(i, j, k)`` over ``dt`` [m2/s3].

        ``d(eps)/dt = -div(u eps) + div((nu + nu_t/sigma_eps) grad eps)
        + (eps/k) (C1 (P + C3 G_b) - C2 eps)``, ``C3`` 1 where ``G_b > 0``, else 0; the
        destruction implicit in ``eps``. In a wall cell ``eps`` is the wall function's
        (:func:`wall_terms`). At least ``emin``; a solid cell keeps its value."""
        kc = larger(tk[i, j, k], kmin)
        ec = larger(teps[i, j, k], emin)
        zero = const(kc, 0.0)
        trans = temperature_rate(i, j, k, u, v, w, nut, teps, solid, dx, dy, dz, nu, inv_se,
                                 bc_zero, bc_zero)
        prod, gb, n_w, e_w = ke_sources(i, j, k, u, v, w, nut, T, tk, solid, wallc, dx, dy,
                                        dz, bc_slip, nu, gbeta_prt, cmu25, kappa, elog, ylam,
                                        kmin)
        ratio = ec / kc
        gain = c1 * ratio * (prod + (gb if gb > zero else zero))
        en = (teps[i, j, k] + dt * (trans + gain)) / (const(kc, 1.0) + dt * c2 * ratio)
        en = e_w if n_w > zero else en
        en = larger(en, emin)
        return en if (solid[i, j, k] & 1) == 0 else teps[i, j, k]

    @jit
    def ke_nut(i, j, k, tk, teps, solid, cmu, kmin, emin):
        """``nu_t = Cmu k^2 / eps`` of cell ``(i, j, k)`` [m2/s]; 0 in a solid cell."""
        kc = larger(tk[i, j, k], kmin)
        ec = larger(teps[i, j, k], emin)
        nt = cmu * kc * kc / ec
        return nt if (solid[i, j, k] & 1) == 0 else const(kc, 0.0)

    @jit
    def wall_viscosity(i, j, k, tk, nut, wallc, nu, dx, dy, dz, cmu25, kappa, elog, ylam,
                       kmin):
        """The eddy viscosity that the momentum update uses on the no-slip wall sides of
        cell ``(i, j, k)`` [m2/s]: the mean log-law ``nu_t`` of its wall faces
        (:func:`log_law_nut`, ``y`` half the cell along each), the cell's ``nut`` where it
        has none. Independent of the velocity: only ``k`` and the wall bits."""
        wc = wallc[i, j, k]
        kp = larger(tk[i, j, k], kmin)
        half = const(kp, 0.5)
        zero = const(kp, 0.0)
        nx_ = wall_count(wc, 0, kp)
        ny_ = wall_count(wc, 1, kp)
        nz_ = wall_count(wc, 2, kp)
        n = nx_ + ny_ + nz_
        s = (nx_ * log_law_nut(kp, half * dx, nu, cmu25, kappa, elog, ylam)
             + ny_ * log_law_nut(kp, half * dy, nu, cmu25, kappa, elog, ylam)
             + nz_ * log_law_nut(kp, half * dz, nu, cmu25, kappa, elog, ylam))
        return s / n if n > zero else nut[i, j, k]

    @jit
    def masked_difference(i, j, k, a, b, solid):
        """``a - b`` in a fluid cell, 0 in a solid one (the CG residual ``r - Ax``)."""
        x = a[i, j, k] - b[i, j, k]
        return x if fluid(solid, i, j, k) else const(x, 0.0)

    @jit
    def masked_shifted(i, j, k, a, solid, shift):
        """``a - shift`` in a fluid cell, 0 in a solid one."""
        x = a[i, j, k] - shift
        return x if fluid(solid, i, j, k) else const(x, 0.0)

    @jit
    def fluid_only(i, j, k, a, solid):
        """``a`` in a fluid cell, 0 in a solid one."""
        x = a[i, j, k]
        return x if fluid(solid, i, j, k) else const(x, 0.0)

    @jit
    def cg_direction(i, j, k, p, z, beta):
        """The new CG search direction ``z + beta p`` at cell ``(i, j, k)``."""
        return z[i, j, k] + beta * p[i, j, k]

    @jit
    def box_scaled(i, j, k, h, ex, ey, ez):
        """DCT coefficient ``(i, j, k)`` of ``h`` over the eigenvalue ``ex[i] + ey[j] +
        ez[k]`` of the Neumann box Laplacian; 0 where that is 0 (the mean mode)."""
        s = ex[i] + ey[j] + ez[k]
        zero = const(s, 0.0)
        return h[i, j, k] / s if s != zero else zero

    # ------------------------------------------------------------------ reduction items
    @jit
    def product64(x, y):
        """``x * y`` in float64 (the reductions sum in float64 whatever the field type)."""
        return float64(x) * float64(y)

    @jit
    def dot_item(i, j, k, a, b):
        return product64(a[i, j, k], b[i, j, k])

    @jit
    def fluid_value64(i, j, k, a, solid):
        """``a`` in float64 in a fluid cell, 0 in a solid one (a masked sum's term)."""
        return float64(a[i, j, k]) if fluid(solid, i, j, k) else 0.0

    @jit
    def abs64(i, j, k, a):
        return abs(float64(a[i, j, k]))

    @jit
    def abs_diff64(i, j, k, a, b):
        """``|a - b|`` in float64 (the difference in the field type)."""
        return abs(float64(a[i, j, k] - b[i, j, k]))

    @jit
    def advection_rate64(i, j, k, u, v, w, idx, idy, idz):
        return float64(advection_rate(i, j, k, u, v, w, idx, idy, idz))

    @jit
    def cg_advance(i, j, k, x, r, p, Ap, alpha):
        """``x += alpha p``, ``r -= alpha Ap`` at cell ``(i, j, k)``; returns the new ``r``
        squared in float64 (a term of ``r.r``), from the value stored."""
        x[i, j, k] += alpha * p[i, j, k]
        r[i, j, k] -= alpha * Ap[i, j, k]
        return product64(r[i, j, k], r[i, j, k])

    @jit
    def residual_stored(i, j, k, r, b, Ax, solid):
        """``r = b - Ax`` in a fluid cell, 0 in a solid one; returns ``|r|`` in float64."""
        x = masked_difference(i, j, k, b, Ax, solid)
        r[i, j, k] = x
        return abs(float64(x))

    # ------------------------------------------------------------------ sparse stages
    @jit
    def listed(cells, n):
        """Row ``n`` of an ``(m, 3)`` list of cells or faces: ``(i, j, k)``."""
        return cells[n, 0], cells[n, 1], cells[n, 2]

    @jit
    def resisted(n, q, qold, faces, k_loss, d, dt, phi, solid, c):
        """Listed face ``n`` of the predicted component ``c``, ``q``, after the quadratic
        loss over ``dt``, implicit in the new velocity with the coefficient of the old
        one, ``qold`` (Picard): ``(i, j, k, (q - g) / (1 + dt K |qold| / (2 d)) + g)``
        with ``K = k_loss[n]`` and ``g`` the face's gradient of the last pressure
        potential ``phi`` (0 where the face is not open).

        The loss divides the velocity with that step's pressure gradient taken out and
        the projection then puts the gradient back (its warm start is ``phi``): at a
        steady state the face balances ``K |u| u / (2 d)`` against the pressure drop
        exactly, at any ``dt`` (dividing the predicted velocity alone would divide the
        pressure gradient too: a steady loss of ``K / (1 + beta)``, ``beta = dt K |q| /
        (2 d)``, which depends on the step)."""
        i, j, k = listed(faces, n)
        e0 = unit(0, c)
        e1 = unit(1, c)
        e2 = unit(2, c)
        nc = solid.shape[c]
        f = i if c == 0 else (j if c == 1 else k)
        inside = f >= 1 and f <= nc - 1
        ii = i if (inside or c != 0) else (1 if i < 1 else nc - 1)
        jj = j if (inside or c != 1) else (1 if j < 1 else nc - 1)
        kk = k if (inside or c != 2) else (1 if k < 1 else nc - 1)
        qq = q[i, j, k]
        zero = const(qq, 0.0)
        g = (phi[ii, jj, kk] - phi[ii - e0, jj - e1, kk - e2]) / d
        g = g if (inside and face_open(c, ii, jj, kk, solid)) else zero
        beta = dt * k_loss[n] * abs(qold[i, j, k]) / (const(qq, 2.0) * d)
        return i, j, k, (qq - g) / (const(qq, 1.0) + beta) + g

    @jit
    def port_heat(n, T, pf_cell, pf_dev, pf_role, pf_rate, dev_tout, dt):
        """``(i, j, k, dT)``: the temperature change over ``dt`` of the cell of port face
        ``n``. ``pf_rate`` is the face speed over the cell length along the port axis
        [1/s]; an intake face (role 0) carries the cell's temperature out, an exhaust
        face brings in the device's outlet temperature."""
        i, j, k = listed(pf_cell, n)
        if pf_role[n] == 0:
            return i, j, k, -(dt * pf_rate[n] * T[i, j, k])
        return i, j, k, dt * pf_rate[n] * dev_tout[pf_dev[n]]

    @jit
    def source_heat(n, src_cell, src_rate, dt):
        """``(i, j, k, dT)`` of listed source cell ``n`` (``src_rate`` in K/s)."""
        i, j, k = listed(src_cell, n)
        return i, j, k, dt * src_rate[n]

    @jit
    def intake_sample(n, T, pf_cell, pf_dev, pf_role):
        """``(device, T)`` of port face ``n`` where it is an intake; device -1 (and 0)
        where it is an exhaust."""
        if pf_role[n] == 0:
            i, j, k = listed(pf_cell, n)
            return pf_dev[n], T[i, j, k]
        return -1, const(T, 0.0)

    @jit
    def restricted(n, r, agg):
        """``(a, r[n])`` with ``a`` the aggregate of flat cell ``n`` (< 0: a solid cell)
        and ``r[n]`` in float64 (coarse sums are float64)."""
        return agg[n], float64(r[n])

    @jit
    def prolonged(n, agg, xc):
        """``(a, xc[a])`` with ``a`` the aggregate of flat cell ``n``; ``(a, 0)`` where
        ``a < 0`` (a solid cell, which keeps its value)."""
        a = agg[n]
        return a, (xc[a] if a >= 0 else const(xc, 0.0))

    # -------------------------------------------------------------- multigrid levels
    @jit
    def mg_terms(i, j, k, x, solid, gx, gy, gz, cx, cy, cz, fine):
        """``(sum_faces g x_nb / d^2, sum_faces g / d^2)`` of cell ``(i, j, k)`` on a
        multigrid level (:mod:`kernels.multigrid`). On the finest level (``fine``) ``g``
        is the open-face bit of the solver's cell code (:func:`opened`), and ``gx, gy,
        gz`` are not read; on a coarse level it is the face coefficient of ``gx`` (shape
        ``(n0+1, n1, n2)``), ``gy``, ``gz``, and ``solid`` is not read. Neighbour indices
        past the box are clamped onto the cell (its face coefficient there is 0)."""
        n0, n1, n2 = x.shape
        im = i - (1 if i > 0 else 0)
        ip = i + (1 if i < n0 - 1 else 0)
        jm = j - (1 if j > 0 else 0)
        jp = j + (1 if j < n1 - 1 else 0)
        km = k - (1 if k > 0 else 0)
        kp = k + (1 if k < n2 - 1 else 0)
        one = const(x, 1.0)
        zero = const(x, 0.0)
        if fine:
            code = solid[i, j, k]
            a0 = one if (code >> 2) & 1 else zero
            a1 = one if (code >> 3) & 1 else zero
            a2 = one if (code >> 4) & 1 else zero
            a3 = one if (code >> 5) & 1 else zero
            a4 = one if (code >> 6) & 1 else zero
            a5 = one if (code >> 7) & 1 else zero
        else:
            a0 = gx[i, j, k]
            a1 = gx[i + 1, j, k]
            a2 = gy[i, j, k]
            a3 = gy[i, j + 1, k]
            a4 = gz[i, j, k]
            a5 = gz[i, j, k + 1]
        s = ((a0 * x[im, j, k] + a1 * x[ip, j, k]) * cx
             + (a2 * x[i, jm, k] + a3 * x[i, jp, k]) * cy
             + (a4 * x[i, j, km] + a5 * x[i, j, kp]) * cz)
        d = (a0 + a1) * cx + (a2 + a3) * cy + (a4 + a5) * cz
        return s, d

    @jit
    def mg_relaxed(i, j, k, x, b, solid, gx, gy, gz, cx, cy, cz, fine, colour):
        """Red-black Gauss-Seidel on a multigrid level: a cell of ``colour`` (``(i + j + k)
        % 2``) takes ``(sum g x_nb / d^2 - b) / diag`` (it satisfies ``A x = b`` with
        its neighbours' present values); other cells, and cells with no open face, keep
        their value."""
        xc = x[i, j, k]
        s, d = mg_terms(i, j, k, x, solid, gx, gy, gz, cx, cy, cz, fine)
        new = (s - b[i, j, k]) / d
        return new if (d > const(x, 0.0) and (i + j + k) % 2 == colour) else xc

    @jit
    def mg_residual(i, j, k, x, b, solid, gx, gy, gz, cx, cy, cz, fine):
        """``b - A x`` of cell ``(i, j, k)`` on a multigrid level."""
        s, d = mg_terms(i, j, k, x, solid, gx, gy, gz, cx, cy, cz, fine)
        return b[i, j, k] - (s - d * x[i, j, k])

    @jit
    def mg_restricted(ic, jc, kc, x, b, solid, gx, gy, gz, cx, cy, cz, fine, fx, fy, fz):
        """The coarse right side of coarse cell ``(ic, jc, kc)``: the fine residual
        ``b - A x`` summed over its children, ``fx * fy * fz`` of them (the coarsening
        factor, 1 or 2, along each axis), over their count (the mean over the coarse
        cell's volume; children past an odd edge count as 0)."""
        n0, n1, n2 = x.shape
        acc = const(x, 0.0)
        for a in range(fx):
            i = fx * ic + a
            for bb in range(fy):
                j = fy * jc + bb
                for c in range(fz):
                    k = fz * kc + c
                    if i < n0 and j < n1 and k < n2:
                        acc += mg_residual(i, j, k, x, b, solid, gx, gy, gz, cx, cy, cz,
                                           fine)
        return acc / const(x, fx * fy * fz)

    @jit
    def mg_prolonged(i, j, k, x, xc, solid, gx, gy, gz, cx, cy, cz, fine, fx, fy, fz):
        """``x + xc`` of the parent cell (piecewise-constant prolongation; ``fx, fy, fz``
        the coarsening factors) on a cell with an open face; ``x`` elsewhere."""
        s, d = mg_terms(i, j, k, x, solid, gx, gy, gz, cx, cy, cz, fine)
        return x[i, j, k] + (xc[i // fx, j // fy, k // fz] if d > const(x, 0.0)
                             else const(x, 0.0))

    return SimpleNamespace(
        fluid=fluid, fluid_divergence=fluid_divergence, eddy_viscosity=eddy_viscosity,
        masked_difference=masked_difference, masked_shifted=masked_shifted,
        fluid_only=fluid_only, cg_direction=cg_direction, box_scaled=box_scaled,
        product64=product64, dot_item=dot_item, fluid_value64=fluid_value64, abs64=abs64,
        abs_diff64=abs_diff64, advection_rate64=advection_rate64, cg_advance=cg_advance,
        residual_stored=residual_stored, listed=listed, resisted=resisted,
        port_heat=port_heat, source_heat=source_heat, intake_sample=intake_sample,
        restricted=restricted, prolonged=prolonged,
        mg_terms=mg_terms, mg_relaxed=mg_relaxed, mg_residual=mg_residual,
        mg_restricted=mg_restricted, mg_prolonged=mg_prolonged,
        at=at, nonneg=nonneg, component=component, vanleer=vanleer, muscl_flux=muscl_flux,
        opened=opened, vel=vel, unit=unit, momentum_normal=momentum_normal,
        momentum_cross=momentum_cross, momentum_rate=momentum_rate, face_open=face_open,
        temperature_rate=temperature_rate, heat_axis=heat_axis, divergence=divergence,
        laplacian=laplacian, open_difference=open_difference,
        speed_at_centre=speed_at_centre, chen_xu_nut=chen_xu_nut, larger=larger,
        centre_velocity=centre_velocity, centre_gradient=centre_gradient,
        strain_rate_sq=strain_rate_sq, vertical_gradient=vertical_gradient,
        log_law_nut=log_law_nut, wall_count=wall_count, wall_axis=wall_axis, wall_terms=wall_terms,
        ke_sources=ke_sources, k_item=k_item, eps_item=eps_item, ke_nut=ke_nut,
        wall_viscosity=wall_viscosity,
        face_speeds=face_speeds, advection_rate=advection_rate,
    )
