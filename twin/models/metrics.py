"""Data-center performance metrics: thermal compliance of rack inlets and energy ratios.

Pure, vectorised numpy functions; temperatures in °C, powers in W, energies in J (or in
the unit their name says), indices in percent only where the name ends in ``_pct``.

Thermal (per hall, from rack intake and cooling-unit temperatures)
-----------------------------------------------------------------
* ASHRAE TC 9.9 classes (*Thermal Guidelines for Data Processing Environments*, 5th ed.,
  2021): recommended envelope 18-27 °C dry bulb (class H1: 18-22 °C), allowable
  A1 15-32, A2 10-35, A3 5-40, A4 5-45 °C (:data:`ASHRAE_CLASSES`,
  :func:`inlet_class_compliance`).
* Rack Cooling Index RCI_HI / RCI_LO (M.K. Herrlin, "Rack Cooling Effectiveness in Data
  Centers and Telecom Central Offices: The Rack Cooling Index (RCI)", ASHRAE
  Transactions 111(2), 2005) (:func:`rci_hi_pct`, :func:`rci_lo_pct`).
* Return Temperature Index RTI (M.K. Herrlin, "Airflow and Cooling Performance of Data
  Centers: Two Performance Metrics", ASHRAE Transactions 114(2), 2008) (:func:`rti_pct`).
* Supply / Return Heat Index SHI, RHI (R.K. Sharma, C.E. Bash, C.D. Patel,
  "Dimensionless parameters for evaluation of thermal design and performance of
  large-scale data centers", AIAA 2002-3091) (:func:`shi_rhi`).
* Hot spots from a 3D temperature field (:func:`hot_spots`).

Energy (per campus, over a period)
----------------------------------
* PUE = facility energy / IT energy and partial PUE of a subsystem
  (The Green Grid, White Paper 49, "PUE: A Comprehensive Examination of the Metric",
  2012) (:func:`pue`, :func:`partial_pue`).
* WUE = site water (L) / IT energy (kWh) (The Green Grid, White Paper 35, 2011)
  (:func:`wue_l_per_kwh`).
* CUE = CO2-equivalent (kg) / IT energy (kWh) (The Green Grid, White Paper 32, 2010)
  (:func:`cue_kg_per_kwh`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from common.errors import InputError
from common.units import J_PER_KWH

__all__ = [
    "InletEnvelope",
    "ASHRAE_CLASSES",
    "RECOMMENDED",
    "RECOMMENDED_MIN_C",
    "RECOMMENDED_MAX_C",
    "ALLOWABLE_MIN_C",
    "ALLOWABLE_MAX_C",
    "inlet_class_compliance",
    "ashrae_class_of",
    "rci_hi_pct",
    "rci_lo_pct",
    "rti_pct",
    "shi_rhi",
    "HotSpot",
    "hot_spots",
    "pue",
    "partial_pue",
    "wue_l_per_kwh",
    "cue_kg_per_kwh",
]


# --- ASHRAE TC 9.9 envelopes -----------------------------------------------------------
@dataclass(frozen=True)
class InletEnvelope:
    """An inlet dry-bulb range [°C] (ASHRAE TC 9.9, 5th ed., 2021, table 2.1)."""

    name: str
    min_temp_c: float
    max_temp_c: float


#: Recommended envelope for classes A1-A4 (18-27 °C) and H1 (18-22 °C).
RECOMMENDED = {"A": InletEnvelope("recommended", 18.0, 27.0),
               "H1": InletEnvelope("recommended H1", 18.0, 22.0)}

#: Allowable envelopes by class (dry bulb only; humidity limits are not checked here).
ASHRAE_CLASSES = {
    "A1": InletEnvelope("A1", 15.0, 32.0),
    "A2": InletEnvelope("A2", 10.0, 35.0),
    "A3": InletEnvelope("A3", 5.0, 40.0),
    "A4": InletEnvelope("A4", 5.0, 45.0),
    "H1": InletEnvelope("H1", 5.0, 25.0),
}

#: Class A1 inlet limits [degC] as plain numbers (what-if tables, reports).
RECOMMENDED_MIN_C = RECOMMENDED["A"].min_temp_c
RECOMMENDED_MAX_C = RECOMMENDED["A"].max_temp_c
ALLOWABLE_MIN_C = ASHRAE_CLASSES["A1"].min_temp_c
ALLOWABLE_MAX_C = ASHRAE_CLASSES["A1"].max_temp_c


def _recommended(cls: str) -> InletEnvelope:
    return RECOMMENDED["H1"] if cls == "H1" else RECOMMENDED["A"]


def _class(cls: str) -> InletEnvelope:
    if cls not in ASHRAE_CLASSES:
        raise InputError(f"ASHRAE class {cls!r} is unknown; choose one of {sorted(ASHRAE_CLASSES)}")
    return ASHRAE_CLASSES[cls]


def _temps(name, x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.size == 0:
        raise InputError(f"{name}: need at least one temperature")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name}: temperatures must be finite")
    return a


def ashrae_class_of(inlet_temp_c) -> np.ndarray:
    """The narrowest class A1..A4 whose allowable envelope holds each inlet temperature.

    Returns an array of strings: ``"recommended"`` inside 18-27 °C, else ``"A1"`` ..
    ``"A4"``, or ``"outside"`` beyond A4 (5-45 °C).
    """
    t = _temps("inlet_temp_c", inlet_temp_c)
    rec = RECOMMENDED["A"]
    out = np.full(t.shape, "outside", dtype=object)
    for cls in ("A4", "A3", "A2", "A1"):
        env = ASHRAE_CLASSES[cls]
        out = np.where((t >= env.min_temp_c) & (t <= env.max_temp_c), cls, out)
    out = np.where((t >= rec.min_temp_c) & (t <= rec.max_temp_c), "recommended", out)
    return out


def inlet_class_compliance(inlet_temp_c, ashrae_class: str = "A1") -> dict:
    """Counts of rack inlets inside and outside the recommended and allowable envelopes.

    Parameters
    ----------
    inlet_temp_c : array_like
        Rack inlet temperatures [°C] (one per rack, or racks x time).
    ashrae_class : str
        Key of :data:`ASHRAE_CLASSES`.

    Returns
    -------
    dict
        ``n``, ``within_recommended``, ``over_recommended``, ``under_recommended``,
        ``within_allowable``, ``over_allowable``, ``under_allowable`` (counts) and
        ``within_recommended_frac``.
    """
    t = _temps("inlet_temp_c", inlet_temp_c)
    rec, alw = _recommended(ashrae_class), _class(ashrae_class)
    n = int(t.size)
    over_r = int(np.sum(t > rec.max_temp_c))
    under_r = int(np.sum(t < rec.min_temp_c))
    over_a = int(np.sum(t > alw.max_temp_c))
    under_a = int(np.sum(t < alw.min_temp_c))
    return {"n": n, "within_recommended": n - over_r - under_r, "over_recommended": over_r,
            "under_recommended": under_r, "within_allowable": n - over_a - under_a,
            "over_allowable": over_a, "under_allowable": under_a,
            "within_recommended_frac": (n - over_r - under_r) / n}


# --- Rack Cooling Index (Herrlin 2005) -----------------------------------------------------
def _weights(name: str, weight, t: np.ndarray) -> np.ndarray:
    """``weight`` (None: 1 each) broadcast to ``t``; finite and >= 0 (InputError)."""
    if weight is None:
        return np.ones_like(t)
    w = np.broadcast_to(np.asarray(weight, dtype=float), t.shape)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InputError(f"{name}: weights must be finite and >= 0 (copies of each rack)")
    return w


def rci_hi_pct(inlet_temp_c, max_recommended_c: float = 27.0, max_allowable_c: float = 32.0,
               weight=None) -> float:
    """Rack Cooling Index at the high end [%].

    ``RCI_HI = [1 - sum_{T_x > T_max,rec} (T_x - T_max,rec) / ((T_max,all - T_max,rec) n)] 100``

    over the ``n`` rack intakes ``x`` (Herrlin 2005, eq. 1). 100 % means no intake above the
    recommended maximum; Herrlin rates >= 96 % good, 91-95 % acceptable, <= 90 % poor. It
    can fall below 0 when intakes are far above the allowable maximum.

    Parameters
    ----------
    inlet_temp_c : array_like
        Intake temperatures [°C], any shape (all entries count as intakes).
    max_recommended_c, max_allowable_c : float
        27 and 32 °C for class A1 (ASHRAE TC 9.9).
    weight : array_like, optional
        How many intakes each entry stands for (identical halls' copies, broadcast to
        ``inlet_temp_c``): the sums and ``n`` count each entry ``weight`` times.
    """
    t = _temps("inlet_temp_c", inlet_temp_c)
    w = _weights("rci_hi_pct", weight, t)
    span = float(max_allowable_c) - float(max_recommended_c)
    if not span > 0:
        raise InputError("rci_hi_pct: max_allowable_c must be above max_recommended_c")
    if not w.sum() > 0:
        return float("nan")
    over = np.sum(w * np.clip(t - max_recommended_c, 0.0, None))
    return float((1.0 - over / (span * w.sum())) * 100.0)


def rci_lo_pct(inlet_temp_c, min_recommended_c: float = 18.0, min_allowable_c: float = 15.0,
               weight=None) -> float:
    """Rack Cooling Index at the low end [%].

    ``RCI_LO = [1 - sum_{T_x < T_min,rec} (T_min,rec - T_x) / ((T_min,rec - T_min,all) n)] 100``
    (Herrlin 2005, eq. 2); 18 and 15 °C for class A1; ``weight`` as :func:`rci_hi_pct`.
    """
    t = _temps("inlet_temp_c", inlet_temp_c)
    w = _weights("rci_lo_pct", weight, t)
    span = float(min_recommended_c) - float(min_allowable_c)
    if not span > 0:
        raise InputError("rci_lo_pct: min_recommended_c must be above min_allowable_c")
    if not w.sum() > 0:
        return float("nan")
    under = np.sum(w * np.clip(min_recommended_c - t, 0.0, None))
    return float((1.0 - under / (span * w.sum())) * 100.0)


# --- Return Temperature Index (Herrlin 2008) ------------------------------------------------
def rti_pct(return_temp_c, supply_temp_c, cooler_airflow_m3_s, rack_delta_t_k, rack_airflow_m3_s) -> float:
    """Return Temperature Index [%].

    ``RTI = (T_return - T_supply) / dT_equipment * 100`` with ``T_return`` and ``T_supply``
    the airflow-weighted means over the cooling units and ``dT_equipment`` the
    airflow-weighted mean temperature rise through the racks (Herrlin 2008). When the air
    heat balances, RTI equals the rack airflow over the cooling-unit airflow: 100 % is a
    balanced hall, above 100 % means recirculation of hot air, below 100 % bypass of cold
    air.

    Parameters
    ----------
    return_temp_c, supply_temp_c, cooler_airflow_m3_s : array_like (n_units,)
    rack_delta_t_k, rack_airflow_m3_s : array_like (n_racks,)
        Exhaust minus intake [K] and airflow of each rack.
    """
    tr = np.asarray(return_temp_c, dtype=float)
    ts = np.asarray(supply_temp_c, dtype=float)
    qc = np.asarray(cooler_airflow_m3_s, dtype=float)
    dte = np.asarray(rack_delta_t_k, dtype=float)
    qr = np.asarray(rack_airflow_m3_s, dtype=float)
    if qc.sum() <= 0 or qr.sum() <= 0:
        return float("nan")
    d_ahu = float(np.sum(qc * (tr - ts)) / qc.sum())
    d_equip = float(np.sum(qr * dte) / qr.sum())
    if d_equip <= 0:
        return float("nan")
    return d_ahu / d_equip * 100.0


# --- SHI / RHI (Sharma, Bash & Patel 2002) -----------------------------------------------
def shi_rhi(inlet_temp_c, exhaust_temp_c, reference_temp_c, weight=None) -> tuple[float, float]:
    """Supply and Return Heat Indices.

    ``SHI = sum (T_in - T_ref) / sum (T_out - T_ref)``, ``RHI = 1 - SHI`` over the racks,
    ``T_ref`` the supply (cooling-unit outlet) temperature (Sharma et al. 2002). SHI is the
    share of the rack exhaust's enthalpy rise picked up before the air enters the racks
    (recirculation); 0 is ideal.

    Parameters
    ----------
    inlet_temp_c, exhaust_temp_c : array_like
        Of each rack [°C], the same shape.
    reference_temp_c : float or array_like
        Broadcast to the racks (a campus: each hall's own supply temperature).
    weight : array_like, optional
        Copies of each rack (identical halls): both sums count each rack ``weight``
        times, so that a campus's SHI is its halls' SHI weighted by their copies times
        ``sum (T_out - T_ref)`` (the denominator: their heat).

    Returns
    -------
    (shi, rhi) : floats (NaN when the racks add no heat)
    """
    tin = np.asarray(inlet_temp_c, dtype=float)
    tout = np.asarray(exhaust_temp_c, dtype=float)
    w = _weights("shi_rhi", weight, tin)
    den = float(np.sum(w * (tout - reference_temp_c)))
    if den <= 0:
        return float("nan"), float("nan")
    shi = float(np.sum(w * (tin - reference_temp_c))) / den
    return shi, 1.0 - shi


# --- hot spots ----------------------------------------------------------------------------
@dataclass(frozen=True)
class HotSpot:
    """A local temperature maximum of the air [°C] at a cell centre ``(x_m, y_m, z_m)``."""

    temp_c: float
    x_m: float
    y_m: float
    z_m: float
    index: tuple


def hot_spots(temp_c, mask=None, spacing_m=(1.0, 1.0, 1.0), origin_m=(0.0, 0.0, 0.0),
              threshold_c: float = 27.0, max_count: int = 5, separation_m: float = 1.0) -> list[HotSpot]:
    """Hottest separated local maxima of a 3D temperature field above a threshold.

    Parameters
    ----------
    temp_c : ndarray (nx, ny, nz)
        Cell-centred temperature [°C]; NaN (solid cells) is ignored.
    mask : ndarray of bool, optional
        Cells to search (e.g. the air in front of rack intakes, where a hot spot harms
        equipment); default every finite cell.
    spacing_m, origin_m : 3 floats
        Grid spacing and the corner of cell (0, 0, 0) [m].
    threshold_c : float
        Only cells above this temperature count (default: the ASHRAE recommended
        maximum, 27 °C).
    max_count : int
        Largest number of hot spots returned, hottest first.
    separation_m : float
        A hot spot is the maximum within a cube of this edge around it (at least the
        cell's 26 neighbours); nearer maxima merge into the hotter one.

    Returns
    -------
    list of HotSpot, hottest first (empty when nothing exceeds the threshold).
    """
    from scipy import ndimage

    t = np.asarray(temp_c, dtype=float)
    if t.ndim != 3:
        raise InputError(f"hot_spots: temp_c must be 3D, got shape {t.shape}")
    ok = np.isfinite(t)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != t.shape:
            raise InputError(f"hot_spots: mask shape {m.shape} differs from temp_c {t.shape}")
        ok &= m
    work = np.where(ok, t, -np.inf)
    half = [max(1, int(math.ceil(0.5 * separation_m / d - 1e-9))) for d in spacing_m]
    size = [2 * h + 1 for h in half]
    peak = ndimage.maximum_filter(work, size=size, mode="nearest")
    cand = ok & (work >= peak) & (work > threshold_c)
    idx = np.argwhere(cand)
    if idx.size == 0:
        return []
    vals = work[cand]
    order = np.argsort(-vals, kind="stable")
    out = []
    taken = []
    min_sep = np.asarray(half)
    for k in order:
        ijk = idx[k]
        if any(np.all(np.abs(ijk - o) <= min_sep) for o in taken):   # plateau of equal maxima
            continue
        taken.append(ijk)
        x, y, z = (origin_m[a] + (ijk[a] + 0.5) * spacing_m[a] for a in range(3))
        out.append(HotSpot(float(vals[k]), float(x), float(y), float(z), tuple(int(i) for i in ijk)))
        if len(out) >= max_count:
            break
    return out


# --- energy ratios -------------------------------------------------------------------------
def _positive(name, v) -> float:
    v = float(v)
    if not np.isfinite(v) or v < 0:
        raise InputError(f"{name} = {v}: it must be a finite number >= 0")
    return v


def pue(facility_energy, it_energy) -> float:
    """Power Usage Effectiveness: total facility energy over IT energy (same units).

    The Green Grid (2012), White Paper 49. NaN when the IT energy is zero.
    """
    f = _positive("facility energy", facility_energy)
    it = _positive("IT energy", it_energy)
    return f / it if it > 0 else float("nan")


def partial_pue(it_energy, subsystem_energy) -> float:
    """Partial PUE of a subsystem: ``(IT + subsystem) / IT`` (The Green Grid WP 49)."""
    it = _positive("IT energy", it_energy)
    s = _positive("subsystem energy", subsystem_energy)
    return (it + s) / it if it > 0 else float("nan")


def wue_l_per_kwh(site_water_l, it_energy_j) -> float:
    """Water Usage Effectiveness: site water [L] over IT energy [kWh] (The Green Grid WP 35)."""
    w = _positive("site water", site_water_l)
    it = _positive("IT energy", it_energy_j) / J_PER_KWH
    return w / it if it > 0 else float("nan")


def cue_kg_per_kwh(co2_kg, it_energy_j) -> float:
    """Carbon Usage Effectiveness: CO2-equivalent [kg] over IT energy [kWh] (The Green Grid WP 32)."""
    c = _positive("CO2", co2_kg)
    it = _positive("IT energy", it_energy_j) / J_PER_KWH
    return c / it if it > 0 else float("nan")
