"""Electrical chain losses, grid carbon intensity and the KEPCO time-of-use tariff.

Power in W, energy in J (an hourly series holds the J of each hour), money in KRW.
Tariff rates and emission factors keep their published per-kWh unit *in their names*
(``_krw_per_kwh``, ``_kg_per_kwh``); energies are converted with
:func:`common.units.j_to_kwh` where they meet (see the glossary in :mod:`common.units`).

Time convention for hourly series: element i of an hourly series that starts at
``start_h`` covers the interval [start_h + i, start_h + i + 1) h after 1 January
00:00 local standard time; prices and emission factors are taken at the middle of it.

Contents
--------
- Loss models: :class:`QuadraticLoss` (no-load + proportional + square-law losses),
  with records for a double-conversion UPS, a dry-type MV/LV transformer and a PDU,
  and :func:`electrical_chain` for grid → transformer → UPS → PDU → IT.
- Grid carbon: :data:`KOREA_GRID_CARBON_KG_PER_KWH` (2023 national factor) and
  :func:`grid_carbon_intensity_kg_per_kwh` (flat, scalar or hourly profile).
- Tariff: :class:`TouTariff` records for KEPCO industrial time-of-use rates and
  :func:`tou_price_krw_per_kwh`, :func:`hourly_energy_cost_krw`,
  :func:`energy_cost_krw`, :func:`demand_charge_krw`.

About 600 lines: the three parts share the hourly-series convention above, and the
tariff's published rates are data that reads best beside the functions that use them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from common.errors import InputError
from common.units import J_PER_KWH, warn_outside_range

__all__ = [
    "QuadraticLoss",
    "loss_w",
    "efficiency_frac",
    "input_power_w",
    "fit_quadratic_loss",
    "ups_double_conversion",
    "transformer_dry_type",
    "pdu_typical",
    "ElectricalChain",
    "ChainPower",
    "electrical_chain",
    "KOREA_GRID_CARBON_KG_PER_KWH",
    "KOREA_GRID_CARBON_2020_22_KG_PER_KWH",
    "grid_carbon_intensity_kg_per_kwh",
    "emissions_kg",
    "LIGHT", "MID", "PEAK",
    "SUMMER", "SPRING_AUTUMN", "WINTER",
    "KEPCO_SEASON_OF_MONTH",
    "TouTariff",
    "KEPCO_INDUSTRIAL_A_HVA_I_2024",
    "KEPCO_INDUSTRIAL_B_HV_2024",
    "KEPCO_INDUSTRIAL_B_HV_2026",
    "DEFAULT_TARIFF",
    "tou_band",
    "tou_price_krw_per_kwh",
    "hourly_energy_cost_krw",
    "energy_cost_krw",
    "demand_charge_krw",
    "flat_load_average_price_krw_per_kwh",
]


# ====================================================================================
# Loss models
# ====================================================================================
@dataclass(frozen=True)
class QuadraticLoss:
    """Losses of a power-conversion stage as a quadratic in load fraction.

    P_loss = P_rated (a0 + a1 x + a2 x²), x = P_out / P_rated

    with a0 the no-load (fixed) loss, a1 the proportional loss and a2 the square-law
    (I²R) loss, each as a fraction of rated output power. This is the UPS/PDU loss
    model of Rasmussen, N., *Electrical Efficiency Modeling for Data Centers*,
    Schneider Electric (APC) White Paper 113, and Avelar, V., *Making Large UPS Systems
    More Efficient*, White Paper 108 (no-load, proportional and square-law losses);
    for a transformer a1 = 0, a0 = P0 / S_r (no-load, iron) and a2 = Pk / S_r (load,
    copper losses at rated current; IEC 60076-1), at unity power factor.

    Attributes
    ----------
    rated_power_w : float
        Rated output power, W (> 0).
    no_load_frac, proportional_frac, square_frac : float
        a0, a1, a2, fractions of rated power (≥ 0).
    max_load_frac : float
        Load fraction above which a warning is issued (default 1.0; 1.2 for short
        overloads is common on UPS datasheets).
    name, source : str
        What it is and where the numbers come from.
    """

    rated_power_w: float
    no_load_frac: float
    proportional_frac: float
    square_frac: float
    max_load_frac: float = 1.0
    name: str = ""
    source: str = ""

    def __post_init__(self):
        if not (np.isfinite(self.rated_power_w) and self.rated_power_w > 0):
            raise InputError(f"{self.name or 'loss model'}: rated_power_w must be > 0, got {self.rated_power_w}; "
                             "fix: give the nameplate output power in W")
        for k in ("no_load_frac", "proportional_frac", "square_frac"):
            v = getattr(self, k)
            if not (np.isfinite(v) and 0.0 <= v < 1.0):
                raise InputError(f"{self.name or 'loss model'}: {k} must be in [0, 1), got {v}; "
                                 "fix: give losses as fractions of rated power")


def loss_w(output_w, stage: QuadraticLoss):
    """Loss of a stage at an output power, W (see :class:`QuadraticLoss`).

    Parameters
    ----------
    output_w : array_like
        Power delivered by the stage, W (≥ 0).
    stage : QuadraticLoss

    Returns
    -------
    loss_w : ndarray
        P_rated (a0 + a1 x + a2 x²), x = output / rated. Warns above ``max_load_frac``.
    """
    x = np.asarray(output_w, dtype=float) / stage.rated_power_w
    warn_outside_range("load_frac", x, 0.0, stage.max_load_frac, stage.name or "loss model")
    return stage.rated_power_w * (stage.no_load_frac + stage.proportional_frac * x + stage.square_frac * x * x)


def input_power_w(output_w, stage: QuadraticLoss):
    """Input power of a stage: output plus loss, W."""
    return np.asarray(output_w, dtype=float) + loss_w(output_w, stage)


def efficiency_frac(output_w, stage: QuadraticLoss):
    """Efficiency P_out / (P_out + P_loss), fraction (0 at zero load).

    Parameters
    ----------
    output_w : array_like
        Output power, W.
    stage : QuadraticLoss
    """
    out = np.asarray(output_w, dtype=float)
    return out / (out + loss_w(out, stage))


def fit_quadratic_loss(load_frac, efficiency, rated_power_w: float, name: str = "", source: str = "",
                       max_load_frac: float = 1.0) -> QuadraticLoss:
    """Fit a0, a1, a2 to datasheet efficiency points by least squares on the losses.

    Parameters
    ----------
    load_frac : array_like
        Load fractions x of the datasheet points (at least 3, > 0), e.g. 0.25 ... 1.
    efficiency : array_like
        Efficiency at those points, fraction.
    rated_power_w : float
        Rated output power, W.

    Returns
    -------
    QuadraticLoss
        Loss per unit l = x (1/η - 1) fitted as a0 + a1 x + a2 x² with non-negative
        coefficients (scipy ``nnls``).
    """
    from scipy.optimize import nnls

    x = np.asarray(load_frac, dtype=float)
    eta = np.asarray(efficiency, dtype=float)
    if x.size < 3 or x.shape != eta.shape or np.any(x <= 0) or np.any((eta <= 0) | (eta >= 1)):
        raise InputError("fit_quadratic_loss: need ≥ 3 points with load_frac > 0 and 0 < efficiency < 1; "
                         "fix: give datasheet points as fractions")
    loss = x * (1.0 / eta - 1.0)
    a, _ = nnls(np.column_stack([np.ones_like(x), x, x * x]), loss)
    return QuadraticLoss(rated_power_w, float(a[0]), float(a[1]), float(a[2]), max_load_frac, name, source)


def ups_double_conversion(rated_power_w: float) -> QuadraticLoss:
    """A large transformerless double-conversion UPS in normal (online) mode.

    a0 = 0.6 %, a1 = 2.5 %, a2 = 0.8 % of rated power, giving efficiencies of
    95.2 % at 25 % load, 96.1 % at 50 %, 96.2 % at 75 % and 96.2 % at 100 %.
    Loss structure from Schneider Electric White Papers 108 and 113 (above); the
    levels are an estimate typical of current ≥ 250 kVA double-conversion datasheets
    (95-96.5 % from 25 to 100 % load). Replace with :func:`fit_quadratic_loss` on the
    chosen product's datasheet. Valid 0-100 % load (warns above 120 %).
    """
    return QuadraticLoss(rated_power_w, 0.006, 0.025, 0.008, 1.2, "UPS, double conversion (typical)",
                         "loss model: Schneider Electric WP108/WP113; levels est. from typical datasheets")


def transformer_dry_type(rated_power_w: float) -> QuadraticLoss:
    """A medium-voltage/low-voltage dry-type (cast-resin) transformer of ~2.5 MVA.

    No-load loss P0 = 0.1 % and load (copper) loss Pk = 0.85 % of rating at rated
    current: the order of the EU Ecodesign limits for this size (Commission Regulation
    (EU) No 548/2014, Annex I, Tier 2; est.). Efficiency 99.3 % at 50 % load; peak
    efficiency at x = sqrt(P0/Pk) ≈ 34 %. Unity power factor assumed (kVA = kW).
    """
    return QuadraticLoss(rated_power_w, 0.001, 0.0, 0.0085, 1.2, "MV/LV transformer, dry type (typical)",
                         "IEC 60076-1 loss split; levels est. after EU 548/2014 Tier 2")


def pdu_typical(rated_power_w: float) -> QuadraticLoss:
    """A power distribution unit without isolation transformer, plus branch wiring.

    a0 = 0.1 %, a1 = 0, a2 = 1.0 % (est.): square-law cable and breaker losses
    dominate, after the PDU loss split of Schneider Electric WP113 (a PDU with a
    transformer would have a0 ≈ 1-2 %).
    """
    return QuadraticLoss(rated_power_w, 0.001, 0.0, 0.010, 1.0, "PDU and branch circuits (typical)",
                         "loss model: Schneider Electric WP113; levels est.")


@dataclass(frozen=True)
class ElectricalChain:
    """Grid → transformer → UPS → PDU → IT, each a :class:`QuadraticLoss` (or None)."""

    transformer: QuadraticLoss | None
    ups: QuadraticLoss | None
    pdu: QuadraticLoss | None


@dataclass(frozen=True)
class ChainPower:
    """Power at each point of an :class:`ElectricalChain`, W (arrays like the input)."""

    it_power_w: np.ndarray
    pdu_loss_w: np.ndarray
    ups_loss_w: np.ndarray
    transformer_loss_w: np.ndarray
    grid_power_w: np.ndarray

    @property
    def total_loss_w(self) -> np.ndarray:
        return self.pdu_loss_w + self.ups_loss_w + self.transformer_loss_w


def electrical_chain(it_power_w, chain: ElectricalChain, non_ups_load_w=0.0) -> ChainPower:
    """Losses along the electrical chain for an IT load.

    Parameters
    ----------
    it_power_w : array_like
        Power drawn by the IT equipment, W.
    chain : ElectricalChain
    non_ups_load_w : array_like, optional
        Load fed by the transformer but not through the UPS (cooling plant, lights), W.

    Returns
    -------
    ChainPower
        PDU in = IT + PDU loss; UPS in = PDU in + UPS loss; transformer out = UPS in +
        non-UPS load; grid = transformer out + transformer loss. All losses end as
        heat in the electrical rooms.
    """
    it = np.asarray(it_power_w, dtype=float)
    zero = np.zeros_like(it)
    pdu_l = loss_w(it, chain.pdu) if chain.pdu is not None else zero
    ups_out = it + pdu_l
    ups_l = loss_w(ups_out, chain.ups) if chain.ups is not None else zero
    tr_out = ups_out + ups_l + np.asarray(non_ups_load_w, dtype=float)
    tr_l = loss_w(tr_out, chain.transformer) if chain.transformer is not None else np.zeros_like(tr_out)
    return ChainPower(it, pdu_l + zero, ups_l + zero, tr_l + zero, tr_out + tr_l)


# ====================================================================================
# Grid carbon intensity
# ====================================================================================
#: Korean national consumption-side grid emission factor for 2023, kg CO2eq/kWh
#: (0.4173 tCO2eq/MWh, confirmed by the Ministry of Climate, Energy & Environment on
#: 17 Dec 2025; Ajunews 20251218111433736, Yonhap). Updated yearly from now on.
KOREA_GRID_CARBON_KG_PER_KWH = 0.4173
#: 2020-22 average factor, published Mar 2025 (same sources).
KOREA_GRID_CARBON_2020_22_KG_PER_KWH = 0.4541


def grid_carbon_intensity_kg_per_kwh(time_h, profile_kg_per_kwh=None):
    """Grid emission factor at given times, kg CO2eq/kWh.

    Parameters
    ----------
    time_h : array_like
        Hours after 1 January 00:00 local standard time.
    profile_kg_per_kwh : None, float or array_like of 8760, optional
        None: the flat Korean 2023 national factor (no official hourly Korean factor
        exists; LNG is the marginal unit in most hours, so a flat value is a fair
        first model). A scalar: that flat value. 8760 values: an hourly profile, value
        i applying over [i, i+1) h, wrapped yearly.

    Returns
    -------
    carbon_kg_per_kwh : ndarray shaped like ``time_h``
    """
    t = np.asarray(time_h, dtype=float)
    if profile_kg_per_kwh is None:
        return np.full(t.shape, KOREA_GRID_CARBON_KG_PER_KWH)
    prof = np.asarray(profile_kg_per_kwh, dtype=float)
    if prof.ndim == 0:
        return np.full(t.shape, float(prof))
    if prof.shape != (8760,):
        raise InputError(f"carbon profile has shape {prof.shape}; fix: give a scalar or 8760 hourly values")
    if np.any(~np.isfinite(prof)) or np.any(prof < 0):
        raise InputError("carbon profile has negative or non-finite values; fix: give kg CO2eq/kWh ≥ 0")
    idx = np.mod(np.floor(t).astype(int), 8760)
    return prof[idx]


def emissions_kg(energy_j, carbon_kg_per_kwh):
    """Emissions of an energy, kg CO2eq = energy (kWh) × factor (kg/kWh)."""
    return np.asarray(energy_j, dtype=float) / J_PER_KWH * np.asarray(carbon_kg_per_kwh, dtype=float)


# ====================================================================================
# KEPCO time-of-use tariff
# ====================================================================================
LIGHT, MID, PEAK = 0, 1, 2
SUMMER, SPRING_AUTUMN, WINTER = 0, 1, 2
#: KEPCO seasons: summer Jun-Aug, spring/autumn Mar-May and Sep-Oct, winter Nov-Feb.
KEPCO_SEASON_OF_MONTH = (WINTER, WINTER, SPRING_AUTUMN, SPRING_AUTUMN, SPRING_AUTUMN, SUMMER,
                         SUMMER, SUMMER, SPRING_AUTUMN, SPRING_AUTUMN, WINTER, WINTER)


def _bands(spans) -> tuple[int, ...]:
    """24 bands, clock hour h covering [h, h+1), from (start, end, band) spans."""
    out = [None] * 24
    for start, end, band in spans:
        for h in range(start, end):
            out[h] = band
    assert None not in out
    return tuple(out)


# Weekday bands before 16 Apr 2026. Summer and spring/autumn: light 22-08; mid 08-11,
# 12-13, 18-22; peak 11-12, 13-18 (V: dobihood 2025; segye.com 20260313513716).
# Winter: light 22-08, peak 09-12 and 16-19, the rest mid (E: not read in a source).
_BANDS_SUMMER_SPRING_PRE2026 = _bands([(0, 8, LIGHT), (8, 11, MID), (11, 12, PEAK), (12, 13, MID),
                                       (13, 18, PEAK), (18, 22, MID), (22, 24, LIGHT)])
_BANDS_WINTER_PRE2026 = _bands([(0, 8, LIGHT), (8, 9, MID), (9, 12, PEAK), (12, 16, MID),
                                (16, 19, PEAK), (19, 22, MID), (22, 24, LIGHT)])
# From 16 Apr 2026: on weekdays 11-12 and 13-15 move from peak to mid, 18-21 from mid
# to peak (V: segye.com 20260313513716; kmib.co.kr 1773393936). Applied to the summer
# and spring/autumn bands; winter bands kept (E: the winter change was not read).
_BANDS_SUMMER_SPRING_2026 = _bands([(0, 8, LIGHT), (8, 15, MID), (15, 21, PEAK), (21, 22, MID),
                                    (22, 24, LIGHT)])


@dataclass(frozen=True)
class TouTariff:
    """A time-of-use energy tariff with KEPCO's structure.

    Attributes
    ----------
    name : str
    price_krw_per_kwh : 3 × 3 tuple
        Energy rate [season][band], season SUMMER/SPRING_AUTUMN/WINTER, band
        LIGHT/MID/PEAK, KRW/kWh, excluding the adders below.
    weekday_bands : 3 × 24 tuple
        Band of each clock hour [h, h+1) on weekdays, per season.
    season_of_month : 12-tuple
        Season of each month, January first.
    saturday_peak_as_mid : bool
        Saturday peak hours are charged at the mid rate (KEPCO rule; E).
    sunday_all_light : bool
        Sundays are charged at the light-load rate all day (KEPCO rule; E). Public
        holidays are not modelled.
    weekend_discount_frac : float
        Discount on weekend energy rates in ``weekend_discount_hours`` of
        ``weekend_discount_seasons`` (2026 reform: 50 % at 11-14 in spring/autumn).
    weekend_discount_hours : (start, end)
        Clock hours [start, end).
    weekend_discount_seasons : tuple of int
    climate_env_charge_krw_per_kwh : float
        Climate & environment charge, added to every kWh (9 KRW/kWh from Jan 2023).
    fuel_cost_adjustment_krw_per_kwh : float
        Fuel-cost adjustment, added to every kWh (+5 KRW/kWh, held in Q3 2025).
    demand_charge_krw_per_kw_month : float
        Basic (demand) charge per kW of contract/peak demand per month.
    source : str
    """

    name: str
    price_krw_per_kwh: tuple
    weekday_bands: tuple
    season_of_month: tuple = KEPCO_SEASON_OF_MONTH
    saturday_peak_as_mid: bool = True
    sunday_all_light: bool = True
    weekend_discount_frac: float = 0.0
    weekend_discount_hours: tuple = (11, 14)
    weekend_discount_seasons: tuple = (SPRING_AUTUMN,)
    climate_env_charge_krw_per_kwh: float = 9.0
    fuel_cost_adjustment_krw_per_kwh: float = 5.0
    demand_charge_krw_per_kw_month: float = 0.0
    source: str = ""

    def __post_init__(self):
        price = np.asarray(self.price_krw_per_kwh, dtype=float)
        bands = np.asarray(self.weekday_bands)
        if price.shape != (3, 3) or not np.all(np.isfinite(price)) or np.any(price < 0):
            raise InputError(f"tariff {self.name!r}: price_krw_per_kwh must be 3 seasons × 3 bands of "
                             "non-negative numbers; fix: [[light, mid, peak] for summer, spring/autumn, winter]")
        if bands.shape != (3, 24) or not np.isin(bands, (LIGHT, MID, PEAK)).all():
            raise InputError(f"tariff {self.name!r}: weekday_bands must be 3 seasons × 24 hours of 0/1/2; "
                             "fix: one band per clock hour")
        if len(self.season_of_month) != 12 or not set(self.season_of_month) <= {0, 1, 2}:
            raise InputError(f"tariff {self.name!r}: season_of_month must have 12 entries of 0/1/2")
        if not 0.0 <= self.weekend_discount_frac <= 1.0:
            raise InputError(f"tariff {self.name!r}: weekend_discount_frac must be in [0, 1]")


def _calendar(time_h, first_weekday: int):
    t = np.mod(np.asarray(time_h, dtype=float), 8760.0)
    day_of_year = np.floor(t / 24.0).astype(int)                   # 0..364
    clock = np.floor(np.mod(t, 24.0)).astype(int)                  # 0..23
    month_starts = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30])
    month = np.searchsorted(month_starts, day_of_year, side="right") - 1   # 0..11
    weekday = np.mod(day_of_year + first_weekday, 7)              # 0 = Monday
    return month, clock, weekday


def tou_band(time_h, tariff: TouTariff | None = None, first_weekday: int = 0):
    """Load band (LIGHT 0, MID 1, PEAK 2) in force at given times.

    Parameters
    ----------
    time_h : array_like
        Hours after 1 January 00:00 local standard time (wrapped yearly, no leap day).
    tariff : TouTariff
    first_weekday : int
        Weekday of 1 January, 0 = Monday ... 6 = Sunday (``Weather.first_weekday``).

    Returns
    -------
    band : ndarray of int
        Weekday band of the season and clock hour; Saturday peak → mid and Sunday → light
        when the tariff says so.
    """
    tariff = DEFAULT_TARIFF if tariff is None else tariff
    month, clock, weekday = _calendar(time_h, first_weekday)
    season = np.asarray(tariff.season_of_month)[month]
    band = np.asarray(tariff.weekday_bands)[season, clock]
    if tariff.saturday_peak_as_mid:
        band = np.where((weekday == 5) & (band == PEAK), MID, band)
    if tariff.sunday_all_light:
        band = np.where(weekday == 6, LIGHT, band)
    return band


def tou_price_krw_per_kwh(time_h, tariff: TouTariff | None = None, first_weekday: int = 0,
                          include_adders: bool = True):
    """Energy price in force at given times, KRW/kWh.

    Parameters
    ----------
    time_h : array_like
        Hours after 1 January 00:00 local standard time.
    tariff : TouTariff, optional
        Default (None) :data:`DEFAULT_TARIFF` (KEPCO industrial (B) HV, 2026 reform, est.).
    first_weekday : int
        Weekday of 1 January, 0 = Monday.
    include_adders : bool
        Add the climate & environment charge and the fuel-cost adjustment.

    Returns
    -------
    price_krw_per_kwh : ndarray
        rate[season(month), band(time)] × (1 - weekend discount where it applies)
        + adders. Holidays are treated as weekdays.
    """
    tariff = DEFAULT_TARIFF if tariff is None else tariff
    month, clock, weekday = _calendar(time_h, first_weekday)
    season = np.asarray(tariff.season_of_month)[month]
    band = tou_band(time_h, tariff, first_weekday)
    price = np.asarray(tariff.price_krw_per_kwh, dtype=float)[season, band]
    if tariff.weekend_discount_frac > 0.0:
        h0, h1 = tariff.weekend_discount_hours
        disc = ((weekday >= 5) & (clock >= h0) & (clock < h1)
                & np.isin(season, tariff.weekend_discount_seasons))
        price = np.where(disc, price * (1.0 - tariff.weekend_discount_frac), price)
    if include_adders:
        price = price + tariff.climate_env_charge_krw_per_kwh + tariff.fuel_cost_adjustment_krw_per_kwh
    return price


def flat_load_average_price_krw_per_kwh(tariff: TouTariff, first_weekday: int = 0,
                                        include_adders: bool = False) -> float:
    """Average energy rate seen by a constant load over a non-leap year, KRW/kWh."""
    t = np.arange(8760) + 0.5
    return float(tou_price_krw_per_kwh(t, tariff, first_weekday, include_adders).mean())


#: KEPCO industrial (A) "갑" II, high-voltage A, option I, from 24 Oct 2024, KRW/kWh
#: light/mid/peak: summer 95.7/121.5/155.0; spring-autumn 95.7/100.5/119.7;
#: winter 103.1/120.0/149.4; demand charge 6,490 KRW/kW. Verified table read on
#: cncityenergy.com chargeInfoEindustry.jsp (a district utility following KEPCO).
KEPCO_INDUSTRIAL_A_HVA_I_2024 = TouTariff(
    name="KEPCO industrial (A) II, HV-A option I, 2024-10-24",
    price_krw_per_kwh=((95.7, 121.5, 155.0), (95.7, 100.5, 119.7), (103.1, 120.0, 149.4)),
    weekday_bands=(_BANDS_SUMMER_SPRING_PRE2026, _BANDS_SUMMER_SPRING_PRE2026, _BANDS_WINTER_PRE2026),
    demand_charge_krw_per_kw_month=6490.0,
    source="cncityenergy.com chargeInfoEindustry.jsp (KEPCO schedule from 2024-10-24); bands: dobihood, segye",
)


def _scaled_to_average(base: TouTariff, average_krw_per_kwh: float, **changes) -> TouTariff:
    """Scale the band rates so a flat load pays ``average_krw_per_kwh`` including adders."""
    adders = base.climate_env_charge_krw_per_kwh + base.fuel_cost_adjustment_krw_per_kwh
    scale = (average_krw_per_kwh - adders) / flat_load_average_price_krw_per_kwh(base)
    price = tuple(tuple(round(p * scale, 1) for p in row) for row in base.price_krw_per_kwh)
    return replace(base, price_krw_per_kwh=price, **changes)


#: KEPCO industrial (B) "을", high voltage B/C, from 24 Oct 2024 (E). No per-band
#: table for (B) was found: the (A) HV-A option I band ratios are scaled so that a flat
#: load (weekday/weekend rules included, 1 January a Monday) pays the reported
#: industrial (B) average of 182.7 KRW/kWh (+16.9 KRW/kWh on 24 Oct 2024;
#: energynews.pro, cm.asiae.co.kr 2024102311341894162) *including* the 9 + 5 KRW/kWh
#: adders. That average is taken as an all-in unit price (bill / kWh), so the demand
#: charge is set to 0 here. Resulting rates (KRW/kWh, light/mid/peak): summer
#: 147.0/186.6/238.0, spring-autumn 147.0/154.3/183.8, winter 158.3/184.3/229.4.
KEPCO_INDUSTRIAL_B_HV_2024 = _scaled_to_average(
    KEPCO_INDUSTRIAL_A_HVA_I_2024, 182.7,
    name="KEPCO industrial (B) HV-B/C, 2024-10-24 (est.: (A) ratios scaled to 182.7 KRW/kWh)",
    demand_charge_krw_per_kw_month=0.0,
    source="band ratios: cncityenergy.com (A) table; average 182.7 KRW/kWh: energynews.pro, asiae 2024-10-23",
)


def _reform_2026(base: TouTariff) -> TouTariff:
    """Apply the 16 Apr 2026 reform: peak -16.9 (summer, winter), -13.2 (spring/autumn),
    light +5.1 KRW/kWh, new weekday bands, 50 % weekend discount 11-14 in spring/autumn
    (V: segye.com 20260313513716; kmib.co.kr 1773393936)."""
    dpeak = {SUMMER: -16.9, SPRING_AUTUMN: -13.2, WINTER: -16.9}
    price = tuple((round(row[LIGHT] + 5.1, 1), row[MID], round(row[PEAK] + dpeak[s], 1))
                  for s, row in enumerate(base.price_krw_per_kwh))
    bands = (_BANDS_SUMMER_SPRING_2026, _BANDS_SUMMER_SPRING_2026, base.weekday_bands[WINTER])
    return replace(base, price_krw_per_kwh=price, weekday_bands=bands, weekend_discount_frac=0.5,
                   name=base.name.split(",")[0] + ", 2026-04-16 reform (est. rates)",
                   source=base.source + "; 2026 reform: segye.com 20260313513716, kmib.co.kr 1773393936")


#: Industrial (B) HV with the 16 Apr 2026 time-of-use reform applied (E rates):
#: light/mid/peak summer 152.1/186.6/221.1, spring-autumn 152.1/154.3/170.6,
#: winter 163.4/184.3/212.5 KRW/kWh; flat-load average 181.4 KRW/kWh with adders.
KEPCO_INDUSTRIAL_B_HV_2026 = _reform_2026(KEPCO_INDUSTRIAL_B_HV_2024)
#: The tariff in force for a large data center from 16 Apr 2026.
DEFAULT_TARIFF = KEPCO_INDUSTRIAL_B_HV_2026


def hourly_energy_cost_krw(energy_j, tariff: TouTariff | None = None, start_h: float = 0.0,
                           first_weekday: int = 0, include_adders: bool = True):
    """Cost of each hour of an hourly energy series, KRW.

    Parameters
    ----------
    energy_j : array_like
        Energy bought from the grid in each hour, J (element i covers
        [start_h + i, start_h + i + 1) h).
    tariff : TouTariff
    start_h : float
        Start of the series, h after 1 January 00:00 local standard time.
    first_weekday : int
        Weekday of 1 January, 0 = Monday.
    include_adders : bool
        Include the per-kWh climate/environment and fuel-cost adders.

    Returns
    -------
    cost_krw : ndarray
        energy / 3.6e6 J/kWh × price at the middle of each hour.
    """
    tariff = DEFAULT_TARIFF if tariff is None else tariff
    e = np.asarray(energy_j, dtype=float)
    if e.ndim != 1:
        raise InputError(f"energy series has shape {e.shape}; fix: give a 1-D hourly series in J")
    t_mid = start_h + np.arange(e.size) + 0.5
    return e / J_PER_KWH * tou_price_krw_per_kwh(t_mid, tariff, first_weekday, include_adders)


def energy_cost_krw(energy_j, tariff: TouTariff | None = None, start_h: float = 0.0,
                    first_weekday: int = 0, include_adders: bool = True) -> float:
    """Total energy charge of an hourly energy series, KRW (see :func:`hourly_energy_cost_krw`)."""
    return float(np.sum(hourly_energy_cost_krw(energy_j, tariff, start_h, first_weekday, include_adders)))


def demand_charge_krw(peak_power_w, tariff: TouTariff | None = None, months: int = 12) -> float:
    """Demand (basic) charge: peak or contract demand (kW) × rate × months, KRW.

    Parameters
    ----------
    peak_power_w : float
        Billing demand, W.
    tariff : TouTariff
    months : int
        Number of billing months.
    """
    tariff = DEFAULT_TARIFF if tariff is None else tariff
    return float(peak_power_w) / 1e3 * tariff.demand_charge_krw_per_kw_month * months
