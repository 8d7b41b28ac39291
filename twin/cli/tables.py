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


def case_console(width: int = 80):
    """The console the case tables print on: the terminal's, or ``width`` columns for a
    file or a pipe."""
    from rich.console import Console
    con = Console()
    return con if con.is_terminal else Console(width=width)


def print_case_tables(con, recs, title: str, label_width: int, add_rows) -> None:
    """``recs`` side by side on ``con``, rows down the page, in blocks of as many cases as
    fit beside the row labels (``label_width`` characters): ``title`` over the first block,
    a column per case (the baseline in bold), the "change" row (:func:`change_row`), then
    ``add_rows(table, block)``; under them the legend (:func:`change_legend`)."""
    from rich.table import Table
    per = max(1, (con.width - label_width) // (CASE_COLUMN_WIDTH + 1))
    changes = change_row(recs)
    for start in range(0, len(recs), per):
        block = recs[start:start + per]
        t = Table(title=title if start == 0 else None)
        t.add_column("", no_wrap=True)
        for r in block:
            t.add_column(r["case"], justify="right", max_width=CASE_COLUMN_WIDTH, overflow="fold",
                         style="bold" if r["case"] == "baseline" else "")
        if changes is not None:
            t.add_row("change", *changes[start:start + per])
        add_rows(t, block)
        con.print(t)
    for line in change_legend(recs):                 # labels too long for the table
        con.print(line, markup=False, highlight=False)
