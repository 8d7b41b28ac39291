"""A seeded corpus of broken and harmless variants of the shipped facility files (issue #21).

Every mutant starts from ``meshes/small-hall.toml``, ``meshes/ai-hall.toml`` or
``meshes/ulsan-campus.toml`` (with the files they include) and carries its expected
verdict:

* ``refuse``: certainly invalid; ``twin validate`` must exit non-zero with exactly one
  line starting with ``error`` that names the place (the file and the key, object or line:
  ``where``);
* ``accept``: a harmless change (line endings, BOM, comments, key order ...); it must pass;
* ``either``: a random byte or line edit at a seeded position; only "no traceback" holds.

The corpus is built from ``random.Random(SEED)``: the same mutants on every run. Run
``python -m tests.fault.corpus`` for the figures (tried, refused, tracebacks, accepted
wrongly ...) over the whole corpus; ``tests/fault/test_corpus.py`` asserts them.
"""
from __future__ import annotations

import random
import re
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tests.unit.test_facility import HEAD, ROW_A, doc

SEED = 20261206
REPO = Path(__file__).resolve().parents[2]
MESHES = REPO / "meshes"
MAIN = "facility.toml"
RACKS = "racks/racks.toml"

VERDICTS = ("refuse", "accept", "either")


@dataclass(frozen=True)
class Mutant:
    """One facility to validate: ``files`` (relative path -> bytes) written into an empty
    folder, ``main`` the file given to ``twin validate``."""

    name: str
    files: dict
    verdict: str
    where: tuple = ()          # for "refuse": substrings of the one error line (the place)
    main: str = MAIN
    xfail: str = ""            # a known miss, with its figure (none at present)

    def write(self, folder: Path) -> Path:
        for rel, data in self.files.items():
            p = folder / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        return folder / self.main


# ----------------------------------------------------------------------------- bases
@lru_cache(maxsize=None)
def _read(rel: str) -> str:
    return (MESHES / rel).read_text(encoding="utf-8")


def bases() -> dict:
    """The three shipped facilities with what they include, as {base: {path: text}}."""
    racks = _read(RACKS)
    return {
        "small": {MAIN: _read("small-hall.toml"), RACKS: racks},
        "ai": {MAIN: _read("ai-hall.toml"), RACKS: racks},
        "ulsan": {MAIN: _read("ulsan-campus.toml"), "ai-hall.toml": _read("ai-hall.toml"), RACKS: racks},
    }


def _encode(files: dict) -> dict:
    return {k: (v if isinstance(v, bytes) else v.encode("utf-8")) for k, v in files.items()}


def _sub(text: str, old: str, new: str, nth: int = 0) -> str:
    """``text`` with the ``nth`` occurrence of ``old`` replaced; the shipped files must
    still hold it (a corpus that silently stops mutating would test nothing)."""
    at = -1
    for _ in range(nth + 1):
        at = text.find(old, at + 1)
        if at < 0:
            raise LookupError(f"corpus: {old!r} not found (occurrence {nth}); update the corpus")
    return text[:at] + new + text[at + len(old):]


# ------------------------------------------------------------------ TOML line model
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")
_KV = re.compile(r"^(?P<key>[A-Za-z0-9_\-]+)(?P<eq>\s*=\s*)(?P<val>[^#]*?)(?P<tail>\s*(#.*)?)$")
_NUMBER = re.compile(r"^[+-]?\d[\d_]*(\.\d+)?([eE][+-]?\d+)?$")
_NAME = re.compile(r'^name\s*=\s*"([^"]*)"')


@dataclass
class Block:
    header: str                # "" for the top of the file, "halls.rows", "rack_types.storage" ...
    array: bool
    start: int                 # line index of the header (-1 for the top)
    lines: list = field(default_factory=list)   # line indices of key = value lines
    name: str | None = None

    def place(self, key: str) -> str:
        """How the validator names ``key`` of this table (a substring of its path)."""
        if self.header.startswith("rack_types."):
            return f"rack_types[{self.header.split('.', 1)[1]}].{key}"
        if self.array and self.name is not None:
            return f"[{self.name}].{key}"
        return f"{self.header}.{key}" if self.header else key


def blocks(text: str) -> list[Block]:
    """Tables of a TOML text with their single-line ``key = value`` lines (lines inside
    multi-line strings are skipped)."""
    out = [Block("", False, -1)]
    in_ml = False
    for i, ln in enumerate(text.split("\n")):
        if in_ml:
            in_ml = ln.count('"""') % 2 == 0
            continue
        if ln.count('"""') % 2 == 1:
            in_ml = True
            continue
        m = _HEADER.match(ln)
        if m:
            out.append(Block(m.group(2), m.group(1) == "[[", i))
            continue
        if _KV.match(ln):
            out[-1].lines.append(i)
            n = _NAME.match(ln)
            if n:
                out[-1].name = n.group(1)
    return out


def _set_line(text: str, i: int, new: str) -> str:
    lines = text.split("\n")
    lines[i] = new
    return "\n".join(lines)


def _key_val(text: str, i: int):
    return _KV.match(text.split("\n")[i])


# -------------------------------------------------------------- numeric value mutations
# Expected verdicts, from the engineer's side (docs/facility-format.md), not from the code:
# a zero or negative size, power, flow, capacity, count or rating is not physical; a
# temperature below 2 degC of supply water or air is frozen; a share is 0..1.
_NONNEG = {"idle_power_kw", "raised_floor_height_m", "return_plenum_height_m", "solar_mw",
           "carbon_kg_per_kwh", "tariff_krw_per_kwh", "price_krw_per_kwh", "liquid_capture_frac"}
_POS_SUFFIX = ("_kw", "_m3_s", "_kva", "_kv", "_mw", "_kpa", "_k", "_frac", "_temp_c")
_POS_KEYS = {"cop", "length_m", "width_m", "depth_m", "height_m", "ceiling_height_m", "pitch_m",
             "tile_m", "count", "roof_z_m", "floor_area_m2"}
_POSITION = {"x_m", "y_m", "z_m", "start_m", "end_m"}


def _refusals(key: str) -> list[str]:
    """Mutation kinds certain to make ``key`` invalid."""
    kinds = ["nan", "inf", "-inf", "string", "bool", "array"]
    if key in _POSITION:
        return kinds + ["huge"]
    if key in _NONNEG:
        kinds += ["negative"]
    elif key in _POS_KEYS or key.endswith(_POS_SUFFIX):
        kinds += ["negative", "zero"]
    return kinds + ["huge"]     # 1e12 (or 10**12 racks): no engineer means it


def _mutate_value(kind: str, key: str, val: str) -> str:
    is_int = key == "count" or re.fullmatch(r"[+-]?\d+", val) is not None
    negative = f"-{val.lstrip('+')}" if float(val.replace("_", "")) else "-1.0"   # not -0.0
    return {
        "nan": "nan", "inf": "inf", "-inf": "-inf", "string": f'"{val}"', "bool": "true",
        "array": f"[{val}]", "negative": negative, "zero": "0" if is_int else "0.0",
        "huge": "1_000_000_000_000" if is_int else "1e12",
    }[kind]


def numeric_targets():
    """(base, file, line index, key, place) of every number in the facility files
    (the ulsan campus: its own file only; its halls are the AI hall's)."""
    out = []
    for base, files in bases().items():
        for rel in ([MAIN, RACKS] if base == "small" else [MAIN]):
            text = files[rel]
            for b in blocks(text):
                for i in b.lines:
                    m = _key_val(text, i)
                    if _NUMBER.match(m.group("val")):
                        out.append((base, rel, i, m.group("key"), b.place(m.group("key"))))
    return out


def numeric_mutants(rng: random.Random, per_kind: int = 5) -> list[Mutant]:
    targets = numeric_targets()
    kinds = ["nan", "inf", "-inf", "string", "bool", "array", "negative", "zero", "huge"]
    out = []
    for kind in kinds:
        fit = [t for t in targets if kind in _refusals(t[3])]
        for base, rel, i, key, place in rng.sample(fit, min(per_kind, len(fit))):
            files = dict(bases()[base])
            m = _key_val(files[rel], i)
            new = m.group("key") + m.group("eq") + _mutate_value(kind, key, m.group("val")) + m.group("tail")
            files[rel] = _set_line(files[rel], i, new)
            out.append(Mutant(f"{kind}-{base}-{Path(rel).name}-{place}", _encode(files), "refuse",
                              (Path(rel).name, place)))
    return out


# --------------------------------------------------------------- hand-made refusals
def _epw(n_rows: int = 8760, mutate=None, header=None) -> bytes:
    """A synthetic EPW (made-up site and values), also for tests/unit/test_weather.py."""
    head = header or [
        "LOCATION,TESTVILLE,-,NOWHERE,synthetic,000000,35.0,129.0,9.0,10.0",
        "DESIGN CONDITIONS,0", "TYPICAL/EXTREME PERIODS,0", "GROUND TEMPERATURES,0",
        "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0", "COMMENTS 1,synthetic file for tests", "COMMENTS 2,",
        "DATA PERIODS,1,1,Data,Monday, 1/ 1,12/31"]
    days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    rows = []
    for m, nd in enumerate(days, start=1):
        for d in range(1, nd + 1):
            for h in range(1, 25):
                f = ["2001", str(m), str(d), str(h), "60", "?"] + ["0"] * 29
                f[6], f[7], f[8], f[9] = "15.0", "5.0", "50", "101000"
                f[13], f[14], f[15] = ("300", "400", "100") if 8 <= h <= 17 else ("0", "0", "0")
                f[20], f[21] = "180", "3.0"
                rows.append(f)
    rows = rows[:n_rows]
    if mutate:
        mutate(rows)
    return ("\r\n".join(head + [",".join(r) for r in rows]) + "\r\n").encode()


def _m(name, base, edits, where, rel=MAIN, extra=None, verdict="refuse"):
    """A mutant of ``base`` whose file ``rel`` gets ``edits`` (a function of the text)."""
    files = dict(bases()[base])
    files[rel] = edits(files[rel])
    files.update(extra or {})
    return Mutant(name, _encode(files), verdict, tuple(where))


def structural_mutants(rng: random.Random) -> list[Mutant]:
    S, A, U = "small", "ai", "ulsan"
    out = []

    def add(name, base, old, new, where, nth=0, rel=MAIN, extra=None):
        out.append(_m(name, base, lambda t: _sub(t, old, new, nth), where, rel, extra))

    # sizes an engineer could not mean; wrong units
    add("hall-10km-long", S, "length_m = 12.0", "length_m = 10000.0", ["halls[H1].length_m", "500"])
    add("hall-in-mm", A, "width_m = 15.0", "width_m = 15000.0", ["halls[AI-1].width_m"])
    add("rack-power-in-W", S, "nameplate_power_kw = 20.4", "nameplate_power_kw = 20400.0",
        ["racks.toml", "rack_types[hgx-h100-air-half].nameplate_power_kw"], rel=RACKS)
    add("rack-1e12-kW", S, 'facing = "+y"', 'facing = "+y"\npower_kw = 1e12', ["rows[A].power_kw"])
    add("crah-airflow-in-l-s", S, "airflow_m3_s = 6.0", "airflow_m3_s = 6000.0",
        ["cooling_units[CRAH-1].airflow_m3_s"])
    add("crah-capacity-in-W", S, "capacity_kw = 170.0", "capacity_kw = 170000.0",
        ["cooling_units[CRAH-2].capacity_kw"], nth=1)
    add("elevation-in-mm", S, "elevation_m = 30.0", "elevation_m = 30000.0", ["campus.elevation_m"])
    add("pump-head-in-Pa", U, "head_kpa = 250.0", "head_kpa = 250000.0", ["pumps[CHWP].head_kpa"])
    add("grid-in-kW", U, "capacity_mw = 150.0", "capacity_mw = 150000.0", ["power.grid.capacity_mw"])
    add("cop-1e6", U, "cop = 6.5", "cop = 6.5e6", ["chillers[CH].cop"])
    add("tower-approach-400K", U, "approach_k = 4.0", "approach_k = 400.0",
        ["cooling_towers[CT].approach_k"])
    add("cdu-capacity-1e9", A, "capacity_kw = 1200.0", "capacity_kw = 1.2e9", ["cdus[CDU-3].capacity_kw"], nth=2)
    add("supply-air-frozen", A, "supply_temp_c = 22.0", "supply_temp_c = -40.0",
        ["cooling_units[IR-B].supply_temp_c"], nth=1)
    add("lat-100", U, "lat_deg = 35.50", "lat_deg = 100.0", ["campus.lat_deg"])
    # huge counts
    add("row-count-1e5", S, "count = 5", "count = 100000", ["rows[A].count", "500"])
    add("row-count-1e9", A, "count = 8", "count = 1000000000", ["rows[C].count"], nth=2)
    add("unit-count-1e5", A, "count = 2", "count = 100000", ["cooling_units[FW].count"])
    add("hall-copies-1e6", U, "count = 6", "count = 1000000", ["halls[DC2-H].count", "200"], nth=1)
    add("ups-count-1e7", U, "count = 52", "count = 10000000", ["ups[UPS].count"])
    add("tile-count-1e6", S, "width_m = 1.2\n", "width_m = 1.2\ncount = 1000000\n", ["tiles[CA]"])
    add("types-list-600", S, 'types = ["cpu-compute", ', 'types = [' + '"storage", ' * 600,
        ["rows[B].types"])
    # wrong types and values
    add("facing-up", S, 'facing = "-y"', 'facing = "up"', ["rows[B].facing", "'+x'"])
    add("along-z", A, 'along = "y"', 'along = "z"', ["cooling_units[FW].along"])
    add("unit-type-unknown", S, 'type = "crah-downflow"', 'type = "crah-sideways"',
        ["cooling_units[CRAH-2].type"], nth=1)
    add("facing-number", A, 'facing = "-y"', "facing = 1", ["rows[A].facing"])
    add("name-array", S, 'name = "CRAH-1"', 'name = ["CRAH-1"]', ["cooling_units[0].name"])
    add("capacity-inline-table", S, "capacity_kw = 170.0", "capacity_kw = {value = 170.0}",
        ["cooling_units[CRAH-1].capacity_kw"])
    add("serves-empty", A, 'serves = ["*"]', "serves = []", ["cdus[CDU-1].serves"])
    add("name-with-slash", S, 'name = "B"', 'name = "B/2"', ["'B/2'", "letters, digits"])
    add("name-empty", A, 'name = "HAC-1"', 'name = ""', ["containment[0].name"])
    add("campus-name-empty", U, 'name = "Ulsan AI campus"', 'name = ""', ["campus.name"])
    # unknown references and names
    add("rack-type-unknown", S, 'type = "hgx-h100-air-half"', 'type = "hgx-h100-air-halve"',
        ["rows[A]", "hgx-h100-air-halve"])
    add("types-entry-unknown", S, '"storage", "network"', '"storage", "switch"', ["rows[B]", "switch"])
    add("building-unknown", A, 'building = "DC1"', 'building = "DC9"', ["halls[AI-1].building"])
    add("hall-file-building-unknown", U, 'building = "DC3"', 'building = "DC5"', ["facility.toml: halls[DC3-H01].building", "DC3-H06"])
    add("containment-row-unknown", A, 'rows = ["C", "D"]', 'rows = ["C", "E"]', ["containment[HAC-2]"])
    add("cdu-serves-unknown", A, 'serves = ["*"]', 'serves = ["Z"]\n', ["cdus[CDU-4].serves", "'Z'"], nth=3)
    add("duplicate-unit-name", S, 'name = "CRAH-2"', 'name = "CRAH-1"', ["cooling_units[CRAH-1]", "also used"])
    add("duplicate-building", U, '[[buildings]]\nname = "DC4"', '[[buildings]]\nname = "DC3"\n\n'
        '[[buildings]]\nname = "DC4"', ["buildings[DC3]", "twice"])
    add("duplicate-hall-name", U, 'name = "DC4-H"', 'name = "DC3-H"', ["halls[DC3-H01]", "twice"])
    add("duplicate-pump", U, 'name = "CWP"', 'name = "CHWP"', ["pumps[CHWP]", "twice"])
    add("from-hall-unknown", U, 'file = "ai-hall.toml"', 'file = "ai-hall.toml"\nfrom_hall = "AI-2"',
        ["halls[DC1-H].from_hall", "AI-2"])
    add("template-unknown", U, 'file = "ai-hall.toml"', 'template = "DC0-H"', ["halls[DC1-H].template"])
    add("template-and-file", U, 'file = "ai-hall.toml"\nbuilding = "DC2"',
        'file = "ai-hall.toml"\ntemplate = "DC1-H01"\nbuilding = "DC2"', ["halls[DC2-H]", "not both"])
    # geometry
    add("rack-outside-hall", S, "x_m = 3.0\ny_m = 5.2", "x_m = 9.4\ny_m = 5.2", ["B/05", "outside the hall"])
    add("unit-above-ceiling", S, "height_m = 2.0", "height_m = 3.5", ["CRAH-1", "ceiling"])
    add("grilles-without-plenum", S, "[[halls.tiles]]",
        '[[halls.ceiling_grilles]]\nname = "G"\nx_m = 3.0\ny_m = 2.0\nlength_m = 3.0\nwidth_m = 0.6\n'
        "open_area_frac = 0.5\n\n[[halls.tiles]]", ["halls[H1].ceiling_grilles[G]", "plenum"])
    # keys
    add("unknown-key-hall", S, "return_plenum_height_m = 0.0", "return_plenum_hieght_m = 0.0",
        ["halls[H1]", "return_plenum_hieght_m", "did you mean"])
    add("unknown-key-rack-type", S, "liquid_capture_frac = 0.0", "liquid_capture = 0.0",
        ["racks.toml", "rack_types[network]", "liquid_capture"], nth=4, rel=RACKS)
    add("unknown-key-top", U, "format_version = 1", "format_version = 1\nversion = 2", ["'version'"])
    add("unknown-table", A, "[[halls.cdus]]", "[[halls.cdu]]", ["halls[AI-1]", "'cdu'"])
    add("unknown-key-reused-hall", U, 'building = "DC2"', 'building = "DC2"\ncolour = "red"',
        ["facility.toml: halls[DC2-H01]", "colour", "DC2-H06"])
    add("missing-campus-weather", S, 'weather = "builtin:ulsan"\n', "", ["campus", "'weather'"])
    add("missing-hall-width", A, "width_m = 15.0\n", "", ["halls[AI-1]", "'width_m'"])
    add("missing-unit-airflow", A, "airflow_m3_s = 3.5\n", "", ["cooling_units[FW]", "'airflow_m3_s'"])
    add("missing-rack-idle", S, "idle_power_kw = 4.1            # est. 20% of peak\n", "",
        ["racks.toml", "rack_types[hgx-h100-air-half]", "'idle_power_kw'"], rel=RACKS)
    add("missing-chiller-cop", U, "cop = 6.5", "", ["chillers[CH]", "'cop'"])
    # format version
    add("format-version-2", S, "format_version = 1", "format_version = 2", ["format_version"])
    add("format-version-string", A, "format_version = 1", "format_version = '1'",
        ["format_version", "without quotes"])
    add("format-version-float", U, "format_version = 1", "format_version = 1.0", ["format_version"])
    # includes
    add("include-outside", S, 'include = ["racks/racks.toml"]', 'include = ["../racks/racks.toml"]',
        ["include[0]", "outside the facility's folder"])
    add("include-absolute", A, 'include = ["racks/racks.toml"]', 'include = ["/etc/passwd"]',
        ["include[0]", "outside"])
    add("include-missing", U, 'include = ["racks/racks.toml"]', 'include = ["racks/rack.toml"]',
        ["include[0]", "not found"])
    add("include-folder", S, 'include = ["racks/racks.toml"]', 'include = ["racks"]',
        ["include[0]", "folder"])
    add("include-builtin-unknown", S, 'include = ["racks/racks.toml"]', 'include = ["builtin:rack"]',
        ["include[0]", "builtin:racks"])
    add("include-number", A, 'include = ["racks/racks.toml"]', "include = [1]", ["include", "list of file names"])
    add("include-cycle", S, 'include = ["racks/racks.toml"]', 'include = ["racks/racks.toml", "loop.toml"]',
        ["include cycle"], extra={"loop.toml": 'include = ["facility.toml"]\n'})
    blob = bytes(rng.randrange(256) for _ in range(2048)) + b"\xff\xfe"
    add("include-binary", A, 'include = ["racks/racks.toml"]', 'include = ["racks/racks.toml", "blob.toml"]',
        ["blob.toml", "not UTF-8"], extra={"blob.toml": blob})
    add("hall-file-outside", U, 'file = "ai-hall.toml"', 'file = "../ai-hall.toml"', ["halls[DC1-H].file", "outside"])
    add("hall-file-missing", U, 'file = "ai-hall.toml"', 'file = "ai_hall.toml"', ["halls[DC4-H].file", "not found"], nth=3)
    add("rack-type-twice-differently", S, 'include = ["racks/racks.toml"]',
        'include = ["racks/racks.toml"]\n[rack_types.storage]\nnameplate_power_kw = 9.0\n'
        'idle_power_kw = 1.0\ndesign_delta_t_k = 10.0\nwidth_m = 0.6\ndepth_m = 1.2\nheight_m = 2.0\n',
        ["rack_types[storage]", "defined differently"])
    # weather
    add("weather-unknown-builtin", S, "builtin:ulsan", "builtin:busan", ["campus.weather", "builtin:ulsan"])
    add("weather-builtin-upper", A, "builtin:ulsan", "builtin:Ulsan", ["campus.weather"])
    add("weather-csv", U, "builtin:ulsan", "weather.csv", ["campus.weather", ".epw"])
    add("weather-epw-missing", S, '"builtin:ulsan"', '"site.epw"', ["campus.weather", "not found"])
    add("weather-epw-outside", A, '"builtin:ulsan"', '"../site.epw"', ["campus.weather", "outside"])
    cut = rng.randrange(100, 8700)
    epws = {
        "truncated": (_epw(n_rows=cut), "data rows"),
        "garbage": (bytes(rng.randrange(256) for _ in range(4096)), "LOCATION"),
        "nan-value": (_epw(mutate=lambda r: r[rng.randrange(8760)].__setitem__(6, "nan")), "missing code"),
        "missing-code": (_epw(mutate=lambda r: r[rng.randrange(8760)].__setitem__(6, "99.9")), "missing code"),
        "text-value": (_epw(mutate=lambda r: r[rng.randrange(8760)].__setitem__(21, "calm")), "not a number"),
        "short-row": (_epw(mutate=lambda r: r[rng.randrange(8760)].pop()), "fields"),
        "sub-hourly": (_epw(header=["LOCATION,T,-,N,s,0,35.0,129.0,9.0,10.0"] + ["X,0"] * 6
                            + ["DATA PERIODS,1,4,Data,Monday, 1/ 1,12/31"]), "per hour"),
        "hours-shuffled": (_epw(mutate=lambda r: r.insert(rng.randrange(1, 8000), r.pop(9000 % 8760))), "hour"),
        "empty": (b"", "lines"),
    }
    for i, (tag, (data, says)) in enumerate(epws.items()):
        base = (S, A, U)[i % 3]
        add(f"epw-{tag}", base, '"builtin:ulsan"', '"site.epw"', ["campus.weather", "site.epw", says],
            extra={"site.epw": data})
    # the hall as built: cabinet leakage shares and obstructions (issue 24)
    add("recirculation-in-percent", S, 'facing = "+y"', 'facing = "+y"\ncabinet_recirculation_frac = 25',
        ["rows[A].cabinet_recirculation_frac", "0.8"])
    add("bypass-negative", S, "height_m = 2.2", "height_m = 2.2\ncabinet_bypass_frac = -0.1",
        ["racks.toml", "rack_types[hgx-h100-air].cabinet_bypass_frac"], rel=RACKS)
    col = ('\n[[halls.obstructions]]\nname = "C1"\nkind = "{k}"\nx_m = {x}\ny_m = {y}\n'
           'length_m = 0.6\nwidth_m = {w}\n')
    for tag, k, x, y, w, where in (
            ("column-outside-hall", "column", 11.8, 0.2, 0.6, ["obstructions[C1]", "outside the hall"]),
            ("column-on-a-rack", "column", 3.2, 3.0, 0.6, ["obstructions[C1]", "overlaps rack H1/A/01"]),
            ("column-before-an-intake", "column", 4.0, 4.3, 0.2, ["rows[A].racks", "blocked by column H1/C1"]),
            ("obstruction-kind-unknown", "beam", 11.0, 0.2, 0.6, ["obstructions", "kind"])):
        add(tag, S, "capacity_kw = 170.0", "capacity_kw = 170.0\n" + col.format(k=k, x=x, y=y, w=w),
            ["halls[H1]"] + where, nth=1)
    # rear doors, floor leakage and the envelope (issue 24)
    floor = "raised_floor_height_m = 0.8"
    add("floor-leak-in-percent", S, floor, floor + "\nfloor_leakage_open_frac = 4.0",
        ["halls[H1].floor_leakage_open_frac", "0.1"])
    # the hall's orientation (issue 20, item 6): a compass bearing in [0, 360)
    add("north-deg-full-turn", S, floor, floor + "\nnorth_deg = 360.0",
        ["halls[H1].north_deg", "< 360", "write 0 for 360"])
    add("north-deg-negative", S, floor, floor + "\nnorth_deg = -90",
        ["halls[H1].north_deg", ">= 0", "270 for -90"])
    add("north-deg-as-a-word", S, floor, floor + '\nnorth_deg = "north"',
        ["halls[H1].north_deg", "expected a number"])
    env = "\n[halls.envelope]\nwall_u_w_m2k = {u}\nroof_u_w_m2k = 0.4\n{more}"
    top = "return_plenum_height_m = 0.0"
    add("wall-u-in-mW", S, top, top + env.format(u=600.0, more=""),
        ["halls[H1].envelope.wall_u_w_m2k", "6"])
    add("roof-sun-without-roof", S, top, top + env.format(
        u=0.5, more="roof = false\nroof_solar_absorptance = 0.7\n"),
        ["halls[H1].envelope", "need a roof to the outdoors"])
    add("rear-door-unknown", S, 'facing = "+y"', 'facing = "+y"\nrear_door = "rdhx"',
        ["rows[A].rear_door", "rear door 'rdhx' does not exist"])
    door = ('\n[rear_doors.rdhx]\nkind = "{k}"\nua_w_k = 2000.0\nwater_flow_m3_s = 0.0015\n'
            'rated_airflow_m3_s = 1.5\nrated_dp_pa = {dp}\n\n[campus]')
    add("active-door-without-fans", S, "[campus]", door.format(k="active", dp=25.0),
        ["rear_doors", "fan_power_w"])
    add("door-dp-in-mbar-as-kpa", S, "[campus]", door.format(k="passive", dp=25000.0),
        ["rear_doors", "rated_dp_pa", "1000"])
    return out


def syntax_mutants(rng: random.Random) -> list[Mutant]:
    """Broken TOML, bad bytes, deep nesting, huge files."""
    out = []
    for base in ("small", "ai", "ulsan"):
        files = bases()[base]
        text = files[MAIN]
        b = rng.choice([b for b in blocks(text) if b.header and b.lines])
        i = rng.choice(b.lines)
        lines = text.split("\n")
        m = _KV.match(lines[i])
        cut = "\n".join(lines[:i]) + "\n" + m.group("key") + m.group("eq")
        out.append(Mutant(f"truncated-after-equals-{base}-{b.place(m.group('key'))}",
                          _encode({**files, MAIN: cut}), "refuse", ("not valid TOML", f"line {i + 1}")))
        h = rng.choice([b for b in blocks(text) if b.header])
        head = lines[h.start]
        cut = "\n".join(lines[:h.start]) + "\n" + head[: max(2, len(head) // 2)]
        out.append(Mutant(f"truncated-in-header-{base}-{h.header}", _encode({**files, MAIN: cut}),
                          "refuse", ("not valid TOML", f"line {h.start + 1}")))
        # a Latin-1 byte in a comment or a string
        j = rng.choice([k for k, ln in enumerate(lines) if "#" in ln or '"' in ln])
        bad = "\n".join(lines).encode()
        pos = sum(len(ln) + 1 for ln in lines[:j]) + len(lines[j].encode()) - 1
        data = bad[:pos] + b"\xe9" + bad[pos:]
        out.append(Mutant(f"latin1-byte-{base}-line{j + 1}", {**_encode(files), MAIN: data}, "refuse",
                          ("not UTF-8", f"line {j + 1}")))
        # a NUL byte, a duplicated table, a duplicated key
        k = rng.randrange(1, len(lines))
        data = "\n".join(lines[:k] + ["x = 1\x00"] + lines[k:])
        out.append(Mutant(f"nul-byte-{base}-line{k + 1}", _encode({**files, MAIN: data}), "refuse",
                          ("not valid TOML", f"line {k + 1}")))
        kv = rng.choice([bb for bb in blocks(text) if bb.lines])
        li = rng.choice(kv.lines)
        data = "\n".join(lines[:li + 1] + [lines[li]] + lines[li + 1:])
        out.append(Mutant(f"duplicate-key-{base}-line{li + 2}", _encode({**files, MAIN: data}), "refuse",
                          ("not valid TOML", f"line {li + 2}")))
    dup = _sub(bases()["small"][MAIN], "[campus]", "[campus]\nname = 'x'\n[campus]")
    out.append(Mutant("duplicate-table-campus", _encode({**bases()["small"], MAIN: dup}), "refuse",
                      ("not valid TOML",)))
    cr = bases()["ai"][MAIN].replace("\n", "\r")
    out.append(Mutant("bare-cr-line-ends", _encode({**bases()["ai"], MAIN: cr}), "refuse", ("not valid TOML",)))
    # nesting thousands deep, and one level over the limit
    depth = rng.randrange(1000, 5000)
    for tag, body in [("arrays", "x = " + "[" * depth + "]" * depth),
                      ("inline-tables", "x = " + "{a = " * depth + "1" + "}" * depth),
                      ("dotted-keys", "x" + ".a" * depth + " = 1"),
                      ("table-header", "[" + "a." * depth + "a]\nb = 1"),
                      ("arrays-65", "x = " + "[" * 65 + "]" * 65)]:
        files = bases()["small"]
        out.append(Mutant(f"deep-{tag}", _encode({**files, MAIN: files[MAIN] + "\n" + body + "\n"}),
                          "refuse", ("nest deeper than 64",)))
    files = bases()["ai"]
    out.append(Mutant("huge-file-5MiB", _encode({**files, MAIN: files[MAIN] + ("#" * 1023 + "\n") * 5 * 1024}),
                      "refuse", ("facility.toml", "at most 4 MiB")))
    for tag, data in [("empty-file", b""), ("only-bom", b"\xef\xbb\xbf"), ("only-comments", b"# nothing\n")]:
        out.append(Mutant(tag, {**_encode(bases()["small"]), MAIN: data}, "refuse", ("campus",)))
    # a small facility (tests/unit/test_facility.py's) with a rack outside its hall
    single = doc(ROW_A.replace("x_m = 3.0", "x_m = 7.8"))
    out.append(Mutant("testdoc-rack-outside", {MAIN: single.encode()}, "refuse", ("H1/A/04", "outside the hall")))
    no_hall = HEAD
    out.append(Mutant("testdoc-no-hall", {MAIN: no_hall.encode()}, "refuse", ("halls", "no hall")))
    return out


# ------------------------------------------------------------------ harmless changes
def _shuffle_keys(text: str, rng: random.Random) -> str:
    """Every table's single-line keys in a seeded random order (comment lines stay)."""
    lines = text.split("\n")
    for b in blocks(text):
        if not b.header or len(b.lines) < 2:
            continue
        idx = b.lines
        if idx != list(range(idx[0], idx[0] + len(idx))):
            idx = [i for i in idx if i - 1 in idx or i + 1 in idx][:]   # contiguous runs only
            runs, cur = [], []
            for i in idx:
                if cur and i != cur[-1] + 1:
                    runs.append(cur)
                    cur = []
                cur.append(i)
            runs.append(cur)
        else:
            runs = [idx]
        for run in runs:
            vals = [lines[i] for i in run]
            rng.shuffle(vals)
            for i, v in zip(run, vals):
                lines[i] = v
    return "\n".join(lines)


def _ints_for_floats(text: str) -> str:
    return re.sub(r"(?m)^([a-z_]+\s*=\s*)(\d+)\.0(\s|$)", r"\g<1>\g<2>\g<3>", text)


def _comment_every_line(text: str) -> str:
    out = []
    for b_ln in text.split("\n"):
        m = _KV.match(b_ln)
        if m and not m.group("tail").strip() and '"""' not in b_ln and not b_ln.endswith("\\"):
            b_ln += "   # checked"
        out.append(b_ln)
    return "\n".join(out)


def accept_mutants(rng: random.Random) -> list[Mutant]:
    out = []
    for base, files in bases().items():
        text = files[MAIN]
        variants = {
            "crlf": text.replace("\n", "\r\n"),
            "bom": "\ufeff" + text,
            "bom-crlf": "\ufeff" + text.replace("\n", "\r\n"),
            "tabs": re.sub(r"(?m)^([a-z_]+) = ", "\\1\t=\t", text),
            "indented": re.sub(r"(?m)^(?=[a-z_\[])", "    ", text),
            "comments": _comment_every_line(text),
            "ints-for-floats": _ints_for_floats(text),
            "blank-lines": text.replace("\n", "\n\n\n"),
            "trailing-spaces": text.replace("\n", "  \t\n"),
            "keys-shuffled": _shuffle_keys(text, rng),
            "no-comments": "\n".join(ln for ln in text.split("\n") if not ln.lstrip().startswith("#")),
            "literal-strings": re.sub(r'(?m)^(name|type|facing|along) = "([^"\'\\]*)"$', r"\1 = '\2'", text),
        }
        for tag, new in variants.items():
            assert new != text, (base, tag)
            out.append(Mutant(f"accept-{tag}-{base}", _encode({**files, MAIN: new}), "accept"))
    small = bases()["small"]
    extra = {
        "unicode-names": _sub(small[MAIN], 'name = "Small hall demo"',
                              'name = "울산 캠퍼스 Ülsan — démo"\ndescription = "냉각 ✓"'),
        "exponents-underscores": _sub(_sub(small[MAIN], "length_m = 12.0", "length_m = 1.2e1"),
                                      "capacity_kw = 170.0", "capacity_kw = 1_70.0"),
        "plus-signs": _sub(small[MAIN], "lat_deg = 35.54", "lat_deg = +35.54"),
        "hall-turned-west": _sub(small[MAIN], "width_m = 9.0", "width_m = 9.0\nnorth_deg = 270"),
        "quoted-keys": _sub(small[MAIN], "width_m = 9.0", '"width_m" = 9.0'),
        "include-string": _sub(small[MAIN], 'include = ["racks/racks.toml"]', 'include = "racks/racks.toml"'),
        "include-builtin": _sub(small[MAIN], 'include = ["racks/racks.toml"]', 'include = ["builtin:racks"]'),
        "table-before-campus": _sub(small[MAIN], "[campus]", "[power]\nsolar_mw = 0.0\n\n[campus]"),
        "leaky-floor-envelope-and-doors": _sub(_sub(small[MAIN], "return_plenum_height_m = 0.0",
                                                    "return_plenum_height_m = 0.0\n"
                                                    "floor_leakage_open_frac = 0.003\n"
                                                    "[halls.envelope]\nwall_u_w_m2k = 0.4\n"
                                                    "roof_u_w_m2k = 0.3\n"
                                                    "roof_solar_absorptance = 0.6\n"),
                                               "[campus]", '[rear_doors.rdhx]\nkind = "active"\n'
                                               "ua_w_k = 2000.0\nwater_flow_m3_s = 0.002\n"
                                               "rated_airflow_m3_s = 1.5\nrated_dp_pa = 30.0\n"
                                               "fan_power_w = 400.0\n\n[campus]"),
        "plenum-cable-tray": small[MAIN] + ('\n[[halls.obstructions]]\nname = "TRAY"\nkind = '
                                             '"cable-tray"\nx_m = 8.0\ny_m = 0.2\nlength_m = 3.0\n'
                                             'width_m = 0.4\nheight_m = 0.3\n'),
    }
    for tag, new in extra.items():
        out.append(Mutant(f"accept-{tag}-small", _encode({**small, MAIN: new}), "accept"))
    racks = "\ufeff" + small[RACKS].replace("\n", "\r\n")
    out.append(Mutant("accept-racks-crlf-bom", _encode({**small, RACKS: racks}), "accept"))
    ai = bases()["ai"]
    epw = {MAIN: _sub(ai[MAIN], '"builtin:ulsan"', '"site.epw"'), "site.epw": _epw()}
    out.append(Mutant("accept-epw-weather", _encode({**ai, **epw}), "accept"))
    return out


# --------------------------------------------------------------- random edits: either
def random_mutants(rng: random.Random, n: int = 40) -> list[Mutant]:
    out = []
    ops = ["flip", "delete", "insert", "dup-line", "drop-line", "swap-lines", "truncate"]
    for k in range(n):
        base = rng.choice(["small", "ai", "ulsan"])
        rel = rng.choice([MAIN, MAIN, RACKS])
        files = _encode(bases()[base])
        data = bytearray(files[rel])
        op = ops[k % len(ops)]
        if op == "flip":
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
            tag = f"{i}"
        elif op == "delete":
            i = rng.randrange(len(data))
            n_del = rng.randrange(1, 20)
            del data[i:i + n_del]
            tag = f"{i}+{n_del}"
        elif op == "insert":
            i = rng.randrange(len(data))
            data[i:i] = bytes([rng.randrange(256)])
            tag = f"{i}"
        else:
            lines = bytes(data).split(b"\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            if op == "dup-line":
                lines.insert(i, lines[i])
            elif op == "drop-line":
                del lines[i]
            elif op == "swap-lines":
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines = lines[:i]
            data = bytearray(b"\n".join(lines))
            tag = f"line{i + 1}" + (f"-{j + 1}" if op == "swap-lines" else "")
        files[rel] = bytes(data)
        out.append(Mutant(f"random-{op}-{base}-{Path(rel).name}-{tag}", files, "either"))
    return out


def corpus(seed: int = SEED) -> list[Mutant]:
    """Every mutant, in a fixed order, from ``random.Random(seed)``."""
    rng = random.Random(seed)
    out = (numeric_mutants(rng) + structural_mutants(rng) + syntax_mutants(rng)
           + accept_mutants(rng) + random_mutants(rng))
    names = [m.name for m in out]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"corpus: mutant names used twice: {sorted(dup)}"
    return out


# ------------------------------------------------------------------------ running
@dataclass
class Outcome:
    exit_code: int
    output: str
    exception: str          # repr of an exception other than SystemExit, or ""

    @property
    def traceback(self) -> bool:
        return bool(self.exception) or "Traceback" in self.output

    @property
    def error_lines(self) -> list[str]:
        return [ln for ln in self.output.splitlines() if ln.startswith("error")]


def validate(m: Mutant, folder: Path) -> Outcome:
    """``twin validate`` of the mutant written into the empty ``folder``, in-process."""
    from click.testing import CliRunner

    from twin.cli import main
    path = m.write(folder)
    res = CliRunner().invoke(main, ["validate", str(path)])
    exc = res.exception
    return Outcome(res.exit_code, res.output,
                   "" if exc is None or isinstance(exc, SystemExit) else repr(exc))


def problems(m: Mutant, o: Outcome) -> list[str]:
    """What is wrong with the outcome of ``m`` (empty: as expected)."""
    out = []
    if o.traceback:
        out.append(f"traceback: {o.exception or 'Traceback in the output'}")
    if m.verdict == "refuse":
        if o.exit_code == 0:
            out.append("accepted wrongly")
        else:
            lines = o.error_lines
            if len(lines) != 1:
                out.append(f"{len(lines)} error lines, expected 1: {lines[:4]}")
            else:
                missing = [w for w in m.where if w not in lines[0]]
                if missing:
                    out.append(f"the error line does not name {missing}: {lines[0]}")
    elif m.verdict == "accept" and o.exit_code != 0:
        out.append(f"refused wrongly: {o.error_lines[:3] or o.output[-300:]}")
    elif m.verdict == "either" and o.exit_code not in (0, 2):
        out.append(f"exit status {o.exit_code}")
    return out


def run_corpus(mutants=None, root: Path | None = None) -> dict:
    """{name: (mutant, outcome)} for every mutant, each in its own folder under ``root``."""
    mutants = corpus() if mutants is None else mutants
    with tempfile.TemporaryDirectory(prefix="twin-corpus-") as tmp:
        base = Path(root or tmp)
        return {m.name: (m, validate(m, base / f"m{i:03d}")) for i, m in enumerate(mutants)}


def tally(results: dict) -> dict:
    """The figures: tried, refused, accepted, tracebacks, accepted wrongly, refused wrongly,
    unclear refusals (not one error line naming the place)."""
    t = dict.fromkeys(("tried", "definite", "refused", "accepted", "tracebacks",
                       "accepted wrongly", "refused wrongly", "unclear refusals"), 0)
    for m, o in results.values():
        t["tried"] += 1
        t["definite"] += m.verdict != "either"
        t["refused" if o.exit_code != 0 else "accepted"] += 1
        t["tracebacks"] += o.traceback
        t["accepted wrongly"] += m.verdict == "refuse" and o.exit_code == 0
        t["refused wrongly"] += m.verdict == "accept" and o.exit_code != 0
        t["unclear refusals"] += (m.verdict == "refuse" and o.exit_code != 0 and bool(problems(m, o))
                                  and not o.traceback)
    return t


def table(results: dict) -> str:
    t = tally(results)
    by = {v: sum(m.verdict == v for m, _ in results.values()) for v in VERDICTS}
    lines = [f"facility-file corpus (seed {SEED}): {by['refuse']} to refuse, {by['accept']} to accept, "
             f"{by['either']} random edits", "",
             "| " + " | ".join(t) + " |", "|" + "---|" * len(t),
             "| " + " | ".join(str(v) for v in t.values()) + " |"]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys
    res = run_corpus()
    print(table(res))
    bad = [(n, p) for n, (m, o) in res.items() if (p := problems(m, o)) and not m.xfail]
    for n, p in bad:
        print(f"  {n}: {'; '.join(p)}")
    sys.exit(1 if bad else 0)
