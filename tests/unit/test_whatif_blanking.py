""""We fit blanking panels in row A" as one command (issue 24): the exact ``twin whatif``
of the legacy hall's header and ``docs/facility-format.md``, at 0.4 m cells, shows the
hottest server inlet beside the hottest face mean and its fall with the panels fitted."""
from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from twin.cli import main
from twin.facility import BUILTIN_DIR

LEGACY = BUILTIN_DIR / "legacy-hall.toml"
BLANK_ROW_A = "halls[H1].rows[A].cabinet_recirculation_frac=0"


def test_blanking_panels_in_row_a_is_one_whatif(tmp_path):
    """Exit 0; the table shows "max server inlet C"; with row A blanked its servers draw the
    face's air (no recirculation), so the hottest server inlet falls by more than a kelvin
    (row A, r 0.25, drew the hall's hottest server air), and more than the faces move."""
    assert f'--set "{BLANK_ROW_A}"' in LEGACY.read_text(encoding="utf-8")   # the recipe
    out = tmp_path / "wi"
    r = CliRunner().invoke(main, ["whatif", str(LEGACY), "--cell", "0.4", "--workers", "1",
                                  "--set", BLANK_ROW_A, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "max server inlet C" in r.output
    with open(out / "whatif.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    base, blank = rows
    assert base["case"] == "baseline" and blank["converged"] == "True"
    d_srv, d_face = float(blank["d_server_inlet_max_c"]), float(blank["d_inlet_max_c"])
    print(f"blanking row A: max server inlet {base['server_inlet_max_c']} -> "
          f"{blank['server_inlet_max_c']} degC ({d_srv:+.2f} K), max face inlet "
          f"{d_face:+.2f} K")
    assert d_srv < -1.0 and d_srv < d_face
    recs = json.loads((out / "whatif.json").read_text())["cases"]
    assert float(base["server_inlet_max_c"]) > float(base["inlet_max_c"]) + 1.0
    assert len(recs) == 2
