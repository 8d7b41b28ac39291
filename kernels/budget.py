"""What a solver's state says: heat through the walls, stored heat, the energy budget
(heat in = heat out at steady state, the conservation check every hall solve reports),
per-device records, the largest divergence, and the fields on the host.
"""
from __future__ import annotations

import numpy as np

__all__ = ["boundary_heat_w", "stored_heat_j", "energy_budget", "device_report",
           "max_divergence", "fields", "port_pressures_pa"]


def boundary_heat_w(solver, T=None, split=False):
    """Heat flowing into the air through the domain boundary [W].

    With ``split=True`` returns ``(into_air_w, out_of_air_w)`` summed cell by cell, so
    that a hot wall and a cold wall do not cancel.
    """
    p = solver.problem
    g = p.grid
    T = solver.backend.to_host(solver.T) if T is None else T
    fluid = p.fluid_mask
    q_in = q_out = 0.0
    for f in range(6):
        hk = solver.bc_hk_host[f]
        if hk <= 0:
            continue
        ax, hi = f // 2, f % 2
        sl = [slice(None)] * 3
        sl[ax] = -1 if hi else 0
        Tl = T[tuple(sl)].astype(np.float64)
        m = fluid[tuple(sl)]
        q = (solver.bc_tb_host[f] - Tl[m]) * hk * g.face_area_m2(ax) * p.fluid.rho_cp
        q_in += float(q[q > 0].sum())
        q_out += float(-q[q < 0].sum())
    if split:
        return q_in, q_out
    return q_in - q_out


def stored_heat_j(solver) -> float:
    """Heat stored in the air relative to 0 degC, rho*cp*V*sum(T) over fluid cells [J]."""
    p = solver.problem
    T = solver.backend.to_host(solver.T).astype(np.float64)
    return float(T[p.fluid_mask].sum()) * p.fluid.rho_cp * p.grid.cell_volume_m3


def energy_budget(solver) -> dict:
    """Heat into and out of the air [W] and the imbalance over the heat input."""
    p = solver.problem
    rcp = p.fluid.rho_cp
    rack = sum(rcp * d.flow_m3_s * (solver.dev_tout[n] - solver.dev_tin[n])
               for n, d in enumerate(solver.devices) if d.kind == "rack")
    cool = sum(rcp * d.flow_m3_s * (solver.dev_tin[n] - solver.dev_tout[n])
               for n, d in enumerate(solver.devices) if d.kind == "cooler")
    b_in, b_out = boundary_heat_w(solver, split=True)
    heat_in = rack + solver.source_w + b_in
    heat_out = cool + b_out
    imb = (heat_in - heat_out) / heat_in if heat_in > 0 else 0.0
    return {"rack_heat_w": float(rack), "source_heat_w": solver.source_w,
            "cooler_heat_w": float(cool), "boundary_heat_w": float(b_in - b_out),
            "boundary_in_w": b_in, "boundary_out_w": b_out,
            "heat_in_w": float(heat_in), "heat_out_w": float(heat_out),
            "imbalance_w": float(heat_in - heat_out), "imbalance_frac": float(imb)}


def device_report(solver) -> list[dict]:
    """Per device: intake mean and max, outlet, flow and heat (rack adds, cooler removes)."""
    rcp = solver.problem.fluid.rho_cp
    out = []
    for n, d in enumerate(solver.devices):
        tin, tout = float(solver.dev_tin[n]), float(solver.dev_tout[n])
        rec = {"name": d.name, "kind": d.kind, "intake_temp_c": tin,
               "intake_max_c": float(solver.dev_tin_max[n]), "exhaust_temp_c": tout,
               "flow_m3_s": d.flow_m3_s}
        if d.kind == "rack":
            rec["heat_w"] = rcp * d.flow_m3_s * (tout - tin)
        else:
            rec["heat_w"] = rcp * d.flow_m3_s * (tin - tout)
            rec["return_temp_c"] = tin
            rec["supply_temp_c"] = tout
        out.append(rec)
    return out


def max_divergence(solver) -> float:
    """Largest |div u| over fluid cells times the cell size [m/s]."""
    k = solver.backend.kernels
    g = solver.problem.grid
    T = solver.dtype.type
    k.divergence(solver.r, solver.u, solver.v, solver.w, solver.solid, *(T(d) for d in g.spacing_m))
    return k.max_abs(solver.r) * min(g.spacing_m)


def fields(solver) -> dict:
    """Cell-centred host arrays: temperature, velocity components, speed, pressure."""
    be = solver.backend
    u, v, w = (be.to_host(a).astype(np.float32) for a in (solver.u, solver.v, solver.w))
    uc = 0.5 * (u[1:] + u[:-1])
    vc = 0.5 * (v[:, 1:] + v[:, :-1])
    wc = 0.5 * (w[:, :, 1:] + w[:, :, :-1])
    T = be.to_host(solver.T).astype(np.float32)
    solid = ~solver.problem.fluid_mask
    T = np.where(solid, np.nan, T).astype(np.float32)
    dt = solver.dt or 1.0
    p = be.to_host(solver.phi).astype(np.float32) * solver.problem.fluid.density_kg_m3 / dt
    return {"temp_c": T, "u_m_s": uc, "v_m_s": vc, "w_m_s": wc,
            "speed_m_s": np.sqrt(uc ** 2 + vc ** 2 + wc ** 2),
            "pressure_pa": np.where(solid, np.nan, p).astype(np.float32),
            "flags": solver.problem.solid}


def port_pressures_pa(solver) -> np.ndarray:
    """The static pressure in front of every device's intake and exhaust [Pa], now:
    shape ``(2, devices)``, row 0 the intakes, row 1 the exhausts, each the flow-weighted
    mean over the port's fluid cells of ``p = rho phi / dt`` (Chorin's projection,
    ``kernels/solver.py``: ``u = u* - grad(phi)`` after a predictor without the pressure,
    so ``phi = dt p / rho``; with the tiles' loss taken implicitly around the last
    ``grad(phi)``, ``pointwise.resisted``, the steady ``phi / dt`` balances the loss
    too). The level is the projection's (a pressure relative to an arbitrary constant):
    only differences mean something. Zeros before the first step."""
    ndev = len(solver.problem.devices)
    out = np.zeros((2, ndev))
    if not ndev or not len(solver.pf_cell_h) or not solver.dt:
        return out
    be = solver.backend
    if getattr(solver, "_pf_idx", None) is None:
        solver._pf_idx = tuple(be.asarray(solver.pf_cell_h[:, a].copy()) for a in range(3))
    phi = be.to_host(solver.phi[solver._pf_idx]).astype(np.float64)
    p = phi * solver.problem.fluid.density_kg_m3 / solver.dt
    for role in (0, 1):
        m = solver.pf_role_h == role
        w = solver.pf_frac_h[m]
        num = np.bincount(solver.pf_dev_h[m], weights=w * p[m], minlength=ndev)
        den = np.bincount(solver.pf_dev_h[m], weights=w, minlength=ndev)
        out[role] = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return out
