"""Side-by-side case tables that fit 80 columns: what each case changes.

``twin whatif`` and ``twin whatif-run`` print their cases side by side, one column of at
most :data:`CASE_COLUMN_WIDTH` characters each. A case's change ("label", e.g.
``cooling_units[*].supply_temp_c=18``) that is longer would be folded inside its column
and be hard to read; then the table leaves out its "change" row and a legend under it
names every case's change in full, one line each.
"""
from __future__ import annotations

#: Widest column of one case in the side-by-side tables [characters].
CASE_COLUMN_WIDTH = 18


def change_row(recs) -> list[str] | None:
    """The table's "change" cells, one per record, or None when any label is wider than
    :data:`CASE_COLUMN_WIDTH` (then :func:`change_legend` names them)."""
    labels = [str(r.get("label", "")) for r in recs]
    return labels if all(len(s) <= CASE_COLUMN_WIDTH for s in labels) else None


def change_legend(recs) -> list[str]:
    """Lines ``case-01  <label>`` under the table for every case whose label is not its
    name (the baseline's is), or none when the labels fit the table's "change" row
    (:func:`change_row`)."""
    if change_row(recs) is not None:
        return []
    w = max(len(str(r["case"])) for r in recs)
    return [f"{r['case']:<{w}}  {r.get('label', '')}" for r in recs
            if str(r.get("label", "")) != str(r["case"])]
