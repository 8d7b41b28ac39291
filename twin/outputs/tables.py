"""Tables of a run for spreadsheets and pandas: ``timeseries.csv`` beside ``results.h5``.

Written by :meth:`twin.loop.simulation.Simulation.write` with
:func:`twin.outputs.files.write_csv` (atomically, at every checkpoint).
"""
from __future__ import annotations

import numpy as np

from twin.outputs.cf import local_time
from twin.outputs.results import RunData

#: Groups whose per-step scalars go into ``timeseries.csv``.
CSV_GROUPS = ("campus", "power", "plant", "weather", "dispatch")


def timeseries_table(data: RunData) -> tuple[list, list]:
    """``timeseries.csv`` of a run: one row per completed step. Columns: ``time_h`` (the
    middle of the step, hours after 1 January 00:00 local standard time), ``local_time``
    (the same in a non-leap calendar year, ISO 8601 with the site's UTC offset, e.g.
    ``2027-01-01T00:15+09:00``), every per-step
    scalar of :data:`CSV_GROUPS` as ``group.name`` (units in the names), the hottest
    and mean rack inlet of the campus (``racks.inlet_max_c``, ``racks.inlet_mean_c``: the
    cabinets' face means) and the hottest server inlet (``racks.server_inlet_max_c``: with
    the cabinets' internal recirculation)."""
    t = np.asarray(data.time_h, dtype=float)
    cols = {"time_h": t}
    cols["local_time"] = [local_time(h, data.utc_offset_h).isoformat(timespec="minutes")
                          for h in t]
    for g in CSV_GROUPS:
        for name, arr in sorted(data.series.get(g, {}).items()):
            a = np.asarray(arr)
            if a.ndim == 1 and a.shape[0] == t.size and a.dtype.kind in "fiub":
                cols[f"{g}.{name}"] = a
    # over the racks of the campus: column -> (the racks' series, reduction)
    over_racks = {"inlet_max_c": ("inlet_temp_c", np.nanmax),
                  "inlet_mean_c": ("inlet_temp_c", np.nanmean),
                  "server_inlet_max_c": ("server_inlet_temp_c", np.nanmax)}
    for name, (series, reduce) in over_racks.items():
        a = np.asarray(data.series.get("racks", {}).get(series, np.zeros((0, 0))))
        if a.ndim == 2 and a.shape[0] == t.size and a.shape[1]:
            cols[f"racks.{name}"] = reduce(a, axis=1)
    header = list(cols)
    rows = [[cols[c][k] for c in header] for k in range(t.size)]
    return header, rows
