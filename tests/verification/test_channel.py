"""k-epsilon in a plane channel (issue 23, "one published turbulent case"):
``benchmarks/validation/channel.py`` builds and measures it; the references are in its
docstring (Dean 1978 for the skin friction, the DNS of del Alamo & Jimenez 2003 at
``Re_tau = 546.74`` for the mean velocity).

Targets (each with its reason; written after the first stored run was seen, and the
Dean band widened when the kernels' momentum diffusion became the conservative full
stress on 2026-12-07 and the wall shear fell from -6.5 % to -10.5 % of Dean):

* ``Cf`` within ``CF_TOL`` (8 %) of the DNS's own skin friction, the primary reference
  (the same flow, measured), and within ``CF_TOL_DEAN`` (12 %) of Dean's correlation,
  which lies 3.6 % above the DNS at this Reynolds number; the standard wall function's
  log law (``E = 9.8``, an additive constant 5.57 against about 5.2) alone puts ``Cf``
  some 5-8 % low;
* ``U+`` within ``U_PLUS_TOL`` (1.0, about 6 % of U+ there) of the DNS at every cell
  centre of the lower half (``y+`` from 30 to the centre);
* the first cell in the log layer (``30 <= y+ <= 100``), the flow developed where it is
  measured (Cf and the profile change by less than 1 % over the stations);
* the force balance of a developed channel, ``-dp/dx h = tau_w``, within 3 %.

The stored result (``benchmarks/results/channel-keps-*.json``, the newest) is held to
them; a coarse channel (8 cells across, about 2 s of CPU) is solved again here. The force
balance is what found the kernels' old momentum diffusion, ``(nu + nut) *
laplacian(u)``: it drops ``(d nut/dz)(du/dz)`` where the eddy viscosity varies across the
channel, and the k-epsilon channel's pressure drop came out 3.6 times its wall shear
(``channel-keps-2026-12-07-laplacian.md``). With the divergence of the full stress it
closes (1.001). The same channel with a constant eddy viscosity (the control below)
balances with either form.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.validation import channel as ch

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
CF_TOL = 0.08
CF_TOL_DEAN = 0.12
U_PLUS_TOL = 1.0
BALANCE_TOL = 0.03
DEVELOPED_TOL = 0.01

def _stored():
    files = sorted(RESULTS.glob("channel-keps-*.json"))
    assert files, (f"no stored channel result in {RESULTS}; "
                   "run python -m benchmarks.validation.channel")
    return json.loads(files[-1].read_text())


def _check_balance(f, label):
    ratio = f["shear_balance"]
    print(f"{label}: -dp/dx h / tau_w = {ratio:.3f}")
    assert abs(ratio - 1.0) <= BALANCE_TOL, \
        f"{label}: -dp/dx h / tau_w = {ratio:.3f}, not 1 within {BALANCE_TOL:.0%}"


def test_stored_channel_against_dean_and_dns():
    r = _stored()
    f = r["figures"]
    assert r["run"]["converged"], r["run"]
    assert r["settings"]["turbulence"] == "k-epsilon"
    print(f"Cf {f['cf']:.5f}, Dean {f['cf_dean']:.5f}: {f['cf_error_vs_dean']:+.2%}, DNS "
          f"{f['cf_dns']:.5f}: {f['cf_error_vs_dns']:+.2%}; "
          f"y+ {f['y_plus_1']:.1f}; Re_tau {f['re_tau']:.0f}")
    assert f["cf_dean"] == pytest.approx(ch.dean_cf(r["settings"]["re_bulk"]), rel=1e-12)
    assert abs(f["cf_error_vs_dean"]) < CF_TOL_DEAN, f"Cf {f['cf_error_vs_dean']:+.2%} from Dean"
    assert f["cf_dns"] == pytest.approx(ch.dns_cf(r["settings"]["re_bulk"]), rel=1e-12)
    assert abs(f["cf_error_vs_dns"]) < CF_TOL, f"Cf {f['cf_error_vs_dns']:+.2%} from the DNS"
    assert 30.0 <= f["y_plus_1"] <= 100.0, f"first cell at y+ {f['y_plus_1']:.1f}"
    assert f["cf_change"] < DEVELOPED_TOL and f["profile_change"] < DEVELOPED_TOL, f
    dev = np.abs(np.array(f["u_plus"]) - np.array(f["dns_u_plus"]))
    assert np.isfinite(dev).all() and dev.max() < U_PLUS_TOL, \
        f"U+ off the DNS by {dev.max():.2f} (y+ {f['y_plus']})"
    assert f["bulk_check"] == pytest.approx(1.0, abs=1e-6)
    # the pressure gradient is the momentum update's own diffusion (a steady state)
    assert f["kernel_balance"] == pytest.approx(1.0, abs=0.01)


def test_stored_channel_force_balance():
    _check_balance(_stored()["figures"], "stored channel")


@pytest.fixture(scope="module")
def coarse():
    """8 cells across (first cell near y+ 66), 120 H long in cells 6 times as long as
    high: 960 cells, about 1,800 steps."""
    s, run = ch.solve_channel(ch.channel_problem(cells_across=8))
    return s, run, ch.developed_figures(s)


def test_coarse_channel_develops_and_meets_dean(coarse):
    s, run, f = coarse
    assert run["converged"] and run["flow_throughs"] >= 3.0, run
    assert f["cf_change"] < DEVELOPED_TOL and f["profile_change"] < DEVELOPED_TOL, f
    assert 30.0 <= f["y_plus_1"] <= 100.0
    # a looser band than the stored run's: the first cell sits at y+ 66 here, and the
    # wall-function answer moves with it (measured -10.4 % at 8 cells, -6.5 % at 16)
    print(f"Cf {f['cf']:.5f} against Dean {f['cf_dean']:.5f}: {f['cf_error_vs_dean']:+.2%}")
    assert abs(f["cf_error_vs_dean"]) < 0.15
    dev = np.abs(np.array(f["u_plus"]) - np.array(f["dns_u_plus"]))
    assert np.isfinite(dev).all() and dev.max() < U_PLUS_TOL
    # the walls' shear is the law of the wall at the first cell: U+ = ln(E y+) / kappa
    # with y+ from k (the two-scale wall function), equal to the DNS's slope between
    # the first two cells within 15 %
    slope = (f["u_plus"][1] - f["u_plus"][0]) / np.log(f["y_plus"][1] / f["y_plus"][0])
    dns = (f["dns_u_plus"][1] - f["dns_u_plus"][0]) / np.log(f["y_plus"][1] / f["y_plus"][0])
    assert slope == pytest.approx(dns, rel=0.15), (slope, dns)
    # the channel carries the device's flow (to the projection's tolerance: measured
    # 2.6e-6 at 8 cells across, 4.5e-8 at 16)
    assert f["bulk_check"] == pytest.approx(1.0, abs=1e-5)
    # the steady discrete equations hold: the pressure gradient is the momentum
    # update's own rate summed across the channel
    print(f"dp/dx over the update's diffusion: {f['kernel_balance']:.4f}")
    assert f["kernel_balance"] == pytest.approx(1.0, abs=0.01)


def test_coarse_channel_force_balance(coarse):
    _check_balance(coarse[2], "coarse channel")


def test_constant_viscosity_channel_balances_and_is_poiseuille():
    """The control: the same channel with a constant eddy viscosity (the
    stress's divergence is then ``nu_e * laplacian``) is a laminar Poiseuille flow at
    ``nu_e = nu + nut``: ``-dp/dx h = tau_w`` within 3 %, and ``tau_w = 6 nu_e U_m / H``
    within 5 % (8 cells across, the wall shear a half-cell difference)."""
    from kernels import Turbulence
    nut = 3e-4
    p = ch.channel_problem(cells_across=8, turbulence=Turbulence("constant", nu_t_m2_s=nut))
    s, run = ch.solve_channel(p)
    assert run["converged"], run
    # nutw is nut itself for every model but k-epsilon
    f = ch.developed_figures(s)
    print(f"constant nut: -dp/dx h / tau_w = {f['shear_balance']:.4f}")
    assert f["shear_balance"] == pytest.approx(1.0, abs=BALANCE_TOL)
    assert f["kernel_balance"] == pytest.approx(1.0, abs=0.01)
    nue = ch.NU_M2_S + nut
    tau = 6.0 * nue * ch.bulk_speed_m_s(p) / ch.HEIGHT_M
    assert f["u_tau_m_s"] ** 2 == pytest.approx(tau, rel=0.05)
