"""Cell types as ``uint8`` bit flags (one byte per cell).

Only ``SOLID`` changes the physics; the other bits say what a solid or fluid cell belongs
to, for views and checks. Rasterised by ``twin.thermal.mesh`` from the facility geometry.
"""
from enum import IntFlag


class Flag(IntFlag):
    FLUID = 0
    SOLID = 1          # not fluid: wall, slab, rack or unit body, panel, obstacle
    RACK = 2           # body of a rack
    COOLER = 4         # body of a cooling unit
    FLOOR = 8          # raised-floor slab
    PANEL = 16         # containment panel or door
    TILE = 32          # fluid cell of a perforated tile (in the slab layer)
    PLENUM = 64        # fluid cell in the supply (under-floor) or return (ceiling) plenum
    WALL = 128         # building wall or column
