"""The house rules of the code's layout (issue #19), checked rather than hoped for.

* Layers: ``common/`` imports nothing of the project; ``kernels/`` never imports ``twin``;
  the facility and the component models never import the thermal core.
* Rooms: no module over 600 lines unless its docstring says why (it names the limit).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 600


def _modules(folder: str):
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> set[str]:
    """Top-level package names a module imports (relative imports resolved)."""
    rel = path.relative_to(ROOT).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = rel[:len(rel) - node.level]
                found.add(".".join(base + ((node.module,) if node.module else ())))
            elif node.module:
                found.add(node.module)
    return found


@pytest.mark.parametrize("folder, forbidden", [
    ("common", ("kernels", "twin", "benchmarks", "meshes")),
    ("kernels", ("twin",)),
    ("twin/facility", ("kernels",)),
    ("twin/models", ("kernels", "twin.loop", "twin.studies", "twin.cli", "twin.outputs")),
])
def test_layers_import_only_downward(folder, forbidden):
    bad = []
    for path in _modules(folder):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "imports against the layering: " + "; ".join(bad)


def test_no_module_over_600_lines_without_a_reason():
    long = []
    for folder in ("common", "kernels", "twin", "benchmarks"):
        for path in _modules(folder):
            text = path.read_text()
            n = text.count("\n")
            doc = ast.get_docstring(ast.parse(text)) or ""
            if n > MAX_LINES and str(MAX_LINES) not in doc:
                long.append(f"{path.relative_to(ROOT)} ({n} lines)")
    assert not long, ("modules over 600 lines whose docstring does not say why: "
                      + ", ".join(long))
