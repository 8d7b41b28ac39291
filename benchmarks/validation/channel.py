"""``python -m benchmarks.validation.channel``: k-epsilon in a plane channel against a
skin-friction correlation and DNS (issue 23, "one published turbulent case").

The case: air between two parallel no-slip plates (``z-`` and ``z+``, height ``H``), one
cell across the span with slip side walls (``y``), fed at ``x-`` by a uniform inlet patch
and leaving through an outlet patch at ``x+`` (one device whose exhaust port is the inlet
and whose intake port is the outlet: the kernels' way to state a through-flow). The
standard k-epsilon model with its log-law wall functions (Launder & Spalding 1974,
``kernels/README.md``), float64, CPU backend. The channel is long (120 H by default) so
that the flow develops; the figures are taken where it has: the mean over the stations
from ``0.6 L`` to ``0.9 L``, and the runner states how much the profile changes over
that range (the outlet patch imposes a uniform profile at the last face, so the last
tenth is left out).

References
----------
* Skin friction: R. B. Dean, "Reynolds number dependence of skin friction and other bulk
  flow variables in two-dimensional rectangular duct flow", J. Fluids Eng. 100 (1978)
  215: ``Cf = 0.073 Re_m^-1/4`` with ``Re_m = U_m 2h / nu`` (bulk velocity, full
  height), ``Cf = tau_w / (rho U_m^2 / 2)``.
* Mean velocity and a second skin friction: DNS of J. C. del Alamo & J. Jimenez,
  "Spectra of the very large anisotropic scales in turbulent channels", Phys. Fluids 15
  (2003) L41-L44, at ``Re_tau = 546.74``; the statistics of S. Hoyas & J. Jimenez (file
  ``Re550.prof`` of their data set, columns y+ and U+). Points read from that file are
  :data:`DNS_RE550`; its bulk velocity :data:`DNS_BULK_U_PLUS`. The default bulk
  Reynolds number (20 000) gives ``Re_tau = 554`` by Dean's correlation, close to the
  DNS (whose own is 20 120).
* Wall functions: B. E. Launder & D. B. Spalding, Comput. Methods Appl. Mech. Eng. 3
  (1974) 269-289 (``E = 9.8``, ``kappa = 0.41``: ``U+ = ln(E y+) / kappa``, an additive
  constant of 5.57 where Dean's and the DNS's log law has about 5.2; the wall function
  alone thus puts ``U_m+`` about 0.4 high and ``Cf`` about 4 % low at this Reynolds
  number).

What is measured (per station ``x``; figures averaged over the developed stations):

* ``tau_w``: the wall shear the momentum update applies, ``(nu + nutw) u / (dz/2)`` at
  the face velocities next to each wall (``kernels/reference.py``, ``momentum_rate``),
  mean of both walls; ``u_tau = sqrt(tau_w)``, ``Cf = 2 tau_w / U_m^2``;
* ``y+`` of the first cell centre, ``u_tau dz / (2 nu)``;
* ``U+ = U / u_tau`` at every cell centre against the DNS interpolated in ``ln y+``;
* ``shear_balance``: ``-dp/dx h / tau_w`` (``p / rho = phi / dt``, the projection's
  pressure potential, ``kernels/budget.py``), which is 1 in a developed channel (the
  force on a slice of fluid: pressure against the two walls' shear);
* ``kernel_balance``: the pressure gradient over the momentum update's own diffusion
  summed across the channel (:func:`kernel_balance`), 1 where the steady discrete
  equations hold. Measured 2026-12-07 before the kernels' momentum diffusion became the
  conservative full stress: ``kernel_balance`` 1.000 while ``shear_balance`` was 3.6 at
  16 cells across (1.7 at 8): the update diffused with ``(nu + nut) * laplacian(u)``,
  which drops ``(d nut/dz)(du/dz)``, so the pressure drop of the k-epsilon channel was
  not the walls' shear (``channel-keps-2026-12-07-laplacian.md``). With a constant eddy
  viscosity both
  are 1.00 (``tests/verification/test_channel.py``).

The steady state: pseudo-time steps at the stable step until the RMS change of the face
velocities per unit time, scaled by ``H / U_m^2``, is below ``tol`` after at least
``min_flow_throughs`` passes of the bulk flow through the channel (rule 1 of
``kernels.steady``, which the solver applies only without devices, with the channel
height as the length).

Output: ``<out>/channel-keps-<date>.json`` (atomically): the figures, the grid, the
iterations, the settings, the CPU time and the machine's load.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # before Numba starts OpenMP

import argparse  # noqa: E402
import datetime as _dt  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results"

#: Bulk Reynolds number ``U_m 2h / nu`` of the stored case.
RE_BULK = 20_000.0
#: Channel height ``2h`` [m] and the air's kinematic viscosity [m2/s] (the speed follows).
HEIGHT_M = 0.1
NU_M2_S = 1.5e-5

#: (y+, U+) of the DNS at Re_tau = 546.74 (del Alamo & Jimenez 2003; Hoyas & Jimenez's
#: ``Re550.prof``), from the log layer to the centreline, five significant digits.
DNS_RE_TAU = 546.74
DNS_RE550 = np.array([
    (29.739, 13.451), (39.088, 14.244), (49.661, 14.849), (61.432, 15.352),
    (74.371, 15.799), (88.449, 16.210), (103.63, 16.596), (119.88, 16.961),
    (141.63, 17.396), (160.14, 17.728), (199.89, 18.353), (248.59, 18.999),
    (300.92, 19.587), (349.97, 20.052), (400.92, 20.448), (433.50, 20.653),
    (486.48, 20.891), (546.74, 20.990)])
#: The DNS's bulk velocity ``U_m+`` and bulk Reynolds number ``U_m 2h / nu``: the
#: trapezoidal integral of the file's ``U+`` over ``y+`` from the wall to the centre (122 of
#: its 129 points, read 2026-12-07; the gap from y+ 433 to 486 is nearly flat), over
#: ``Re_tau``. Its skin friction ``2 / U_m+^2`` = 0.00591 is 3.6 % below Dean's at that
#: Reynolds number, and Dean's centreline ratio ``U_0 / U_m = 1.28 Re_m^-0.0116`` gives
#: 1.1410 against the DNS's 1.1408 (which also confirms ``Re_m`` on the full height).
DNS_BULK_U_PLUS = 18.400
DNS_RE_BULK = 2.0 * DNS_BULK_U_PLUS * DNS_RE_TAU


def dns_cf(re_bulk: float) -> float:
    """The DNS's skin friction ``2 / U_m+^2`` carried to ``re_bulk`` with Dean's exponent
    (``Re_m^-1/4``; the stored case is 0.6 % from the DNS's Reynolds number)."""
    return 2.0 / DNS_BULK_U_PLUS ** 2 * (float(re_bulk) / DNS_RE_BULK) ** -0.25


def dean_cf(re_bulk: float) -> float:
    """Skin friction of a developed plane channel, ``Cf = 0.073 Re_m^-1/4`` (Dean 1978,
    J. Fluids Eng. 100:215, an empirical fit to "two-dimensional" (high aspect ratio)
    rectangular-duct data; ``Re_m = U_m 2h / nu``)."""
    return 0.073 * float(re_bulk) ** -0.25


def dns_u_plus(y_plus) -> np.ndarray:
    """The DNS mean velocity ``U+`` at ``y_plus`` (linear in ``ln y+`` between the points of
    :data:`DNS_RE550`; NaN outside ``29.7 <= y+ <= 546.74``)."""
    y = np.asarray(y_plus, dtype=np.float64)
    ly = np.log(DNS_RE550[:, 0])
    out = np.interp(np.log(np.maximum(y, 1e-30)), ly, DNS_RE550[:, 1])
    return np.where((y >= DNS_RE550[0, 0]) & (y <= DNS_RE550[-1, 0]), out, np.nan)


def channel_problem(cells_across: int = 16, length_heights: float = 120.0,
                    aspect: float = 6.0, re_bulk: float = RE_BULK,
                    height_m: float = HEIGHT_M, nu_m2_s: float = NU_M2_S,
                    turbulence=None):
    """The plane channel as a :class:`kernels.Problem`.

    ``cells_across`` cells between the plates (``z``), cells ``aspect`` times as long
    (``x``) as they are high, ``length_heights`` channel heights long, one cell wide
    (``y``, slip on both sides). The bulk speed is ``re_bulk nu / H``; the inlet brings
    5 % turbulence intensity with a mixing length of 0.1 H. ``turbulence``: another
    :class:`kernels.Turbulence` (the tests' constant-viscosity control)."""
    from kernels import BoundaryFace, Device, Fluid, Grid, Port, Problem, Turbulence
    dz = height_m / cells_across
    dx = aspect * dz
    nx = int(round(length_heights * height_m / dx))
    g = Grid((nx, 1, cells_across), (dx, dz, dz))
    k = np.arange(cells_across)
    zeros = np.zeros(cells_across, np.int64)
    inlet = Port(np.column_stack([zeros, zeros, k]), 0, -1)
    outlet = Port(np.column_stack([zeros + nx - 1, zeros, k]), 0, +1)
    speed = re_bulk * nu_m2_s / height_m
    fan = Device("channel", "rack", intake=outlet, exhaust=inlet,
                 flow_m3_s=speed * height_m * dz)
    if turbulence is None:
        ti, lm = 0.05, 0.1 * height_m
        k0 = 1.5 * (ti * speed) ** 2
        turbulence = Turbulence("k-epsilon", inlet_intensity=ti, inlet_mixing_length_m=lm,
                                initial_k_m2_s2=k0,
                                initial_eps_m2_s3=0.09 ** 0.75 * k0 ** 1.5 / lm)
    slip = BoundaryFace(velocity="slip")
    return Problem(g, devices=(fan,), boundaries={"y-": slip, "y+": slip},
                   fluid=Fluid(viscosity_m2_s=nu_m2_s, expansion_1_k=0.0),
                   turbulence=turbulence, name=f"channel-Re{re_bulk:g}")


def bulk_speed_m_s(problem) -> float:
    """The bulk speed ``U_m`` [m/s]: the device's flow over the channel's cross-section."""
    g = problem.grid
    return problem.devices[0].flow_m3_s / (g.size_m[1] * g.size_m[2])


def solve_channel(problem, tol: float = 2e-5, min_flow_throughs: float = 3.0,
                  max_steps: int = 40_000, check_every: int = 100,
                  backend: str = "numba-cpu", progress=None):
    """March the channel to a steady state from a uniform start (``u = U_m``).

    Returns ``(solver, run)``: ``run`` holds ``iterations``, ``converged``,
    ``residual`` (the last scaled RMS velocity change, module docstring), ``history``,
    ``cpu_s`` and ``wall_s``."""
    from kernels.solver import Solver, SolverSettings
    s = Solver(problem, backend, SolverSettings(dtype="float64"))
    be = s.backend
    g = problem.grid
    H = g.size_m[2]
    Um = bulk_speed_m_s(problem)
    u0 = be.to_host(s.u).copy()
    u0[1:-1] = Um                     # interior faces; the port faces hold their speeds
    s.u[...] = be.asarray(u0)
    c0, t0 = time.process_time(), time.perf_counter()
    dt = s.compute_dt()
    prev = [be.to_host(a).copy() for a in (s.u, s.w)]
    t_prev = s.time_s
    res, history, converged, n = np.inf, [], False, 0
    through_s = g.size_m[0] / Um
    while n < max_steps:
        s.step(dt)
        n += 1
        if n % check_every:
            continue
        dt = s.compute_dt()
        cur = [be.to_host(a).copy() for a in (s.u, s.w)]
        sq = sum(float(np.sum((a - b) ** 2)) for a, b in zip(cur, prev))
        size = sum(a.size for a in cur)
        res = np.sqrt(sq / size) / (s.time_s - t_prev) * H / Um ** 2
        prev, t_prev = cur, s.time_s
        history.append((n, float(res)))
        if progress is not None:
            progress(n, s.time_s / through_s, res)
        if res < tol and s.time_s >= min_flow_throughs * through_s:
            converged = True
            break
    run = {"iterations": n, "converged": converged, "residual": float(res),
           "flow_throughs": s.time_s / through_s, "history": history,
           "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0}
    return s, run


def station_figures(solver, i: int) -> dict:
    """The figures at the cell column ``i`` (module docstring): ``tau_w_m2_s2``,
    ``u_tau_m_s``, ``cf``, ``y_plus_1``, ``shear_balance``, ``kernel_balance``, ``u_m_s``
    (cell centres)."""
    be = solver.backend
    p = solver.problem
    g = p.grid
    dx, dz = g.spacing_m[0], g.spacing_m[2]
    nu = p.fluid.viscosity_m2_s
    u = be.to_host(solver.u)[:, 0, :].astype(np.float64)
    nutw = be.to_host(solver.nutw)[:, 0, :].astype(np.float64)
    pk = be.to_host(solver.phi)[:, 0, :].astype(np.float64) / solver.dt   # p / rho
    Um = bulk_speed_m_s(p)
    # the wall shear on the u faces i and i + 1 (the cell's two x faces), both walls
    taus = []
    for f in (i, i + 1):
        for k in (0, -1):
            nuw = nu + 0.5 * (nutw[f - 1, k] + nutw[f, k])
            taus.append(nuw * u[f, k] / (0.5 * dz))
    tau = float(np.mean(taus))
    dpdx = (pk[i + 1].mean() - pk[i - 1].mean()) / (2.0 * dx)
    u_tau = np.sqrt(tau)
    return {"x_m": (i + 0.5) * dx, "tau_w_m2_s2": tau, "u_tau_m_s": float(u_tau),
            "cf": 2.0 * tau / Um ** 2, "y_plus_1": float(u_tau * 0.5 * dz / nu),
            "shear_balance": float(-dpdx * 0.5 * g.size_m[2] / tau),
            "kernel_balance": kernel_balance(solver, i),
            "u_m_s": 0.5 * (u[i] + u[i + 1])}


def kernel_balance(solver, f) -> float:
    """The pressure gradient across the u faces of column ``f`` over the momentum
    update's own rate there (advection and diffusion, :func:`kernels.reference.momentum_rate`
    in float64 on the solver's fields), summed across the channel: 1 where the steady
    discrete equations hold (at a steady state the update's rate is the pressure
    gradient, ``(p[f] - p[f-1]) / (rho dx)``)."""
    from kernels import reference
    be = solver.backend
    p = solver.problem
    fl = p.fluid
    h = [be.to_host(a).astype(np.float64) for a in (solver.u, solver.v, solver.w, solver.nut,
                                                     solver.T, solver.nutw)]
    rate = reference.momentum_rate(
        0, *h[:3], h[3], h[4], be.to_host(solver.solid), p.grid.spacing_m,
        fl.viscosity_m2_s, fl.gravity_m_s2 * fl.expansion_1_k, fl.reference_temp_c,
        be.to_host(solver.bc_slip), be.to_host(solver.bc_uw), nutw=h[5])[f, 0, :]
    pk = be.to_host(solver.phi)[:, 0, :].astype(np.float64) / solver.dt     # p / rho
    dpdx = (pk[f] - pk[f - 1]) / p.grid.spacing_m[0]
    return float(dpdx.mean() / rate.mean())


def developed_figures(solver, start: float = 0.6, stop: float = 0.9) -> dict:
    """The figures over the stations from ``start`` to ``stop`` of the length: their
    means, how much they change (``cf_change``: largest minus smallest Cf over the mean;
    ``profile_change``: the largest change of the centre velocities between the first
    and last station over ``U_m``), ``U+`` against the DNS (``u_plus``, ``dns_u_plus``,
    ``y_plus`` at the cell centres of the lower half), and the error of Cf against
    Dean's correlation."""
    p = solver.problem
    g = p.grid
    nx, nz = g.shape[0], g.shape[2]
    nu = p.fluid.viscosity_m2_s
    Um = bulk_speed_m_s(p)
    H = g.size_m[2]
    cols = range(max(1, int(start * nx)), min(nx - 1, int(stop * nx)) + 1)
    st = [station_figures(solver, i) for i in cols]
    cf = np.array([x["cf"] for x in st])
    prof = np.array([x["u_m_s"] for x in st])
    u_tau = float(np.mean([x["u_tau_m_s"] for x in st]))
    u_mean = prof.mean(axis=0)
    half = u_mean[: nz // 2]
    zc = (np.arange(nz // 2) + 0.5) * g.spacing_m[2]
    y_plus = zc * u_tau / nu
    u_plus = half / u_tau
    dns = dns_u_plus(y_plus)
    re_bulk = Um * H / nu
    cf_mean = float(cf.mean())
    return {"stations": len(st), "x_from_m": st[0]["x_m"], "x_to_m": st[-1]["x_m"],
            "cf": cf_mean, "cf_dean": dean_cf(re_bulk),
            "cf_error_vs_dean": cf_mean / dean_cf(re_bulk) - 1.0,
            "cf_dns": dns_cf(re_bulk), "cf_error_vs_dns": cf_mean / dns_cf(re_bulk) - 1.0,
            "cf_change": float((cf.max() - cf.min()) / cf_mean),
            "profile_change": float(np.max(np.abs(prof[-1] - prof[0])) / Um),
            "u_tau_m_s": u_tau, "re_tau": u_tau * 0.5 * H / nu,
            "y_plus_1": float(np.mean([x["y_plus_1"] for x in st])),
            "shear_balance": float(np.mean([x["shear_balance"] for x in st])),
            "kernel_balance": float(np.mean([x["kernel_balance"] for x in st])),
            "centreline_u_plus": float(u_mean.max() / u_tau),
            "y_plus": y_plus.tolist(), "u_plus": u_plus.tolist(), "dns_u_plus": dns.tolist(),
            "bulk_check": float(np.mean(u_mean) / Um)}


def run_case(cells_across: int = 16, length_heights: float = 120.0, aspect: float = 6.0,
             re_bulk: float = RE_BULK, tol: float = 2e-5, max_steps: int = 40_000,
             verbose: bool = False) -> dict:
    """Build, solve and measure the channel; the record the runner stores."""
    problem = channel_problem(cells_across, length_heights, aspect, re_bulk)

    def report(n, passes, res):
        if n % 1000 == 0:
            print(f"  step {n}: {passes:.1f} flow-throughs, residual {res:.2e}", flush=True)
    solver, run = solve_channel(problem, tol=tol, max_steps=max_steps,
                                progress=report if verbose else None)
    fig = developed_figures(solver)
    g = problem.grid
    return {"grid": {"shape": list(g.shape), "spacing_m": list(g.spacing_m),
                     "cells_across": cells_across, "length_heights": length_heights,
                     "aspect": aspect, "cells": int(g.cells)},
            "settings": {"re_bulk": re_bulk, "height_m": g.size_m[2],
                         "nu_m2_s": problem.fluid.viscosity_m2_s,
                         "bulk_speed_m_s": bulk_speed_m_s(problem),
                         "turbulence": "k-epsilon", "inlet_intensity": 0.05,
                         "inlet_mixing_length_m": 0.1 * g.size_m[2], "dtype": "float64",
                         "backend": solver.backend.name, "tol": tol,
                         "max_steps": max_steps, "measured_from_to": [0.6, 0.9]},
            "run": {k: v for k, v in run.items() if k != "history"},
            "figures": fig}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.validation.channel",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--cells-across", type=int, default=16,
                    help="cells between the plates (16: first cell near y+ 34)")
    ap.add_argument("--length", type=float, default=120.0, help="channel length in heights")
    ap.add_argument("--aspect", type=float, default=6.0, help="cell length over cell height")
    ap.add_argument("--re", type=float, default=RE_BULK, help="bulk Reynolds number U 2h/nu")
    ap.add_argument("--tol", type=float, default=2e-5)
    ap.add_argument("--max-steps", type=int, default=40_000)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--stem", default=None)
    a = ap.parse_args(argv)
    load0 = os.getloadavg()
    print(f"plane channel, k-epsilon, Re_m {a.re:g}, {a.cells_across} cells across, "
          f"{a.length:g} H long", flush=True)
    rec = run_case(a.cells_across, a.length, a.aspect, a.re, a.tol, a.max_steps, verbose=True)
    load1 = os.getloadavg()
    date = _dt.date.today().isoformat()
    rec = {"schema": "dc-twin-validation-channel/1", "date": date,
           "case": "plane channel, developing from a uniform inlet",
           "references": {"cf": "Dean (1978) J. Fluids Eng. 100:215, Cf = 0.073 Re_m^-1/4",
                          "cf_dns": f"2 / U_m+^2 of the DNS, U_m+ = {DNS_BULK_U_PLUS}",
                          "u_plus": "DNS del Alamo & Jimenez (2003) Phys. Fluids 15:L41, "
                                    f"Re_tau = {DNS_RE_TAU}"},
           "load_before": load0, "load_after": load1, "cpu_count": os.cpu_count(), **rec}
    from twin.outputs.files import write_json
    path = write_json(a.out / f"{a.stem or 'channel-keps-' + date}.json", rec)
    f, r = rec["figures"], rec["run"]
    print(f"Cf {f['cf']:.5f} against Dean {f['cf_dean']:.5f} "
          f"({100 * f['cf_error_vs_dean']:+.1f} %; DNS {f['cf_dns']:.5f}, "
          f"{100 * f['cf_error_vs_dns']:+.1f} %),"
          f" Re_tau {f['re_tau']:.0f}, first cell y+ {f['y_plus_1']:.1f}, shear balance "
          f"-dp/dx h / tau_w = {f['shear_balance']:.3f}, centreline U+ "
          f"{f['centreline_u_plus']:.2f} (DNS 20.99); {r['iterations']} iterations, "
          f"{r['cpu_s']:.0f} s CPU, load {load0[0]:.2f} -> {load1[0]:.2f}; {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
