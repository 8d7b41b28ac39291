"""Properties of air and water, defined once for the thermal core and the twin's models.

Air: dry air near 22 degC at sea level (ASHRAE Handbook - Fundamentals 2021, ch. 33;
ideal gas at 101 325 Pa), as :class:`Fluid` for the Boussinesq solver and as plain
constants for the component models. Water: liquid near 30 degC (IAPWS-95). A campus may
set its own air (``[campus.air]`` in a facility file, :class:`twin.facility.Air`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.errors import InputError

__all__ = ["Fluid", "AIR_DENSITY_KG_M3", "AIR_CP_J_KG_K", "WATER_CP_J_KG_K",
           "WATER_DENSITY_KG_M3", "GRAVITY_M_S2"]

#: Air density near 22 degC at sea level [kg/m3] (ideal gas at 101 325 Pa).
AIR_DENSITY_KG_M3 = 1.19
#: Specific heat of dry air near 22 degC [J/(kg K)].
AIR_CP_J_KG_K = 1006.0
#: Specific heat of liquid water near 30 degC [J/(kg K)] (IAPWS-95: 4178-4180).
WATER_CP_J_KG_K = 4180.0
#: Density of liquid water near 30 degC [kg/m3] (IAPWS-95: 995.6).
WATER_DENSITY_KG_M3 = 996.0
#: Standard gravity [m/s2] (the Boussinesq solver's :class:`Fluid` keeps 9.81).
GRAVITY_M_S2 = 9.80665


@dataclass(frozen=True)
class Fluid:
    """Air properties (Boussinesq). Defaults: dry air near 22 degC at sea level.

    Source: ASHRAE Handbook - Fundamentals (2021), ch. 33 (air properties); the values are
    those of ``shared/reference/domain-notes.md``.
    """

    density_kg_m3: float = AIR_DENSITY_KG_M3
    cp_j_kgk: float = AIR_CP_J_KG_K
    viscosity_m2_s: float = 1.5e-5          # kinematic viscosity nu
    diffusivity_m2_s: float = 2.2e-5        # thermal diffusivity alpha
    expansion_1_k: float = 1.0 / 295.0      # thermal expansion coefficient beta
    gravity_m_s2: float = 9.81
    reference_temp_c: float = 22.0          # Boussinesq reference temperature

    def __post_init__(self):
        for name in ("density_kg_m3", "cp_j_kgk", "viscosity_m2_s", "diffusivity_m2_s"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise InputError(f"fluid: {name} = {v}; it must be a positive number")
        for name in ("expansion_1_k", "gravity_m_s2", "reference_temp_c"):
            if not np.isfinite(getattr(self, name)):
                raise InputError(f"fluid: {name} must be finite")

    @property
    def rho_cp(self) -> float:
        return self.density_kg_m3 * self.cp_j_kgk
