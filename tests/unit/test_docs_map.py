"""The docs' map of the code stays true (issue #19).

``docs/architecture.md`` is how a newcomer finds, for a feature, its per-cell function, its
model and its stage in the loop. These tests hold the page to the code: every file it
names exists, every function, class, method or field it names is defined, and the three
features the issue names (tile pressure loss, chiller power, rack throttling) each have a
row that gives all three places.
"""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "architecture.md"
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "kernels" / "README.md"]
CODE_DIRS = ("common", "kernels", "twin", "benchmarks", "meshes", "tests")
#: Spans that are notation or another program's words, not this project's code.
NOT_CODE = {"T_return", "U_wall", "ExecutionTime", "racks/racks.toml",
            # xarray's and pandas' names, and names inside the netCDF results file
            "DataTree", "Dataset", "open_datatree", "open_dataset", "tz_localize",
            "Conventions", "hot_spot", "log_line", "summary_json", "time_bnds", "cell_methods",
            # the shared reference weather file (outside the project, read by tests only)
            "KOR_Ulsan", "shared/reference/weather/KOR_Ulsan.471520_IWEC.SOURCE.md"}


@lru_cache(maxsize=None)
def _defined() -> frozenset:
    """Every name the project's code defines: modules, functions, classes, methods, module
    and class level assignments (constants, dataclass and pydantic fields)."""
    names = set()
    for d in CODE_DIRS:
        for f in (ROOT / d).rglob("*.py"):
            if ".venv" in f.parts:
                continue
            names.add(f.stem)                                   # a module
            tree = ast.parse(f.read_text(), str(f))
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(node.name)
                elif isinstance(node, ast.Assign):
                    names.update(t.id for t in node.targets if isinstance(t, ast.Name))
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    names.add(node.target.id)
                elif isinstance(node, ast.arg):                   # a parameter
                    names.add(node.arg)
                elif isinstance(node, ast.Dict):                  # a record's keys
                    names.update(k.value for k in node.keys
                                 if isinstance(k, ast.Constant) and isinstance(k.value, str))
    return frozenset(names)


def _spans(text: str) -> list[str]:
    """The inline code spans of markdown ``text`` (fenced blocks dropped, one line each)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_file_the_page_names_exists(page):
    missing = []
    for span in _spans(page.read_text()):
        for path in re.findall(r"[\w./-]+\.(?:py|md|toml)\b", span):
            if "/" in path and path not in NOT_CODE and not (ROOT / path).exists():
                missing.append(path)
    assert not missing, f"{page.name} names files that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_code_name_the_page_gives_is_defined(page):
    """Identifiers (``snake_case`` with an underscore, ``CamelCase``, dotted paths) must be
    defined in the code; facility-file keys are pydantic fields, so they count too."""
    defined = _defined()
    missing = set()
    for span in _spans(page.read_text()):
        span = re.sub(r"\(.*", "", span).strip()
        if "/" in span or " " in span or span.startswith("["):
            continue                       # a path, a command or a facility table
        for part in span.split("."):
            if part in ("py", "md", "toml", "h5") or part in NOT_CODE or not part.isidentifier():
                continue
            if "_" in part.strip("_") or (part[0].isupper() and not part.isupper()):
                if part not in defined:
                    missing.add(part)
    assert not missing, f"{page.name} names code that does not exist: {sorted(missing)}"


def _row(feature: str) -> list[str]:
    for line in PAGE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith(feature):
            return cells
    raise AssertionError(f"docs/architecture.md has no feature row for {feature!r}")


def test_the_issue_features_have_model_kernel_and_stage():
    """The three features a newcomer must find from the docs alone: each row names its
    model (a defined function), its per-cell function or kernel (or says none, and why the
    feature enters the core another way), and its stage in the loop."""
    defined = _defined()
    for feature in ("perforated tile", "chiller power", "rack throttling"):
        _, _, model, kernel, stage = _row(feature)
        model_names = [s for s in _spans(model) if s.isidentifier() and "_" in s]
        assert model_names and all(n in defined for n in model_names), (feature, model)
        assert kernel.startswith("none") or _spans(kernel), (feature, kernel)
        assert stage and stage != "none", (feature, stage)
