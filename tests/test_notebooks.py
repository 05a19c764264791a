"""The notebooks run top to bottom against a real database, and are saved without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_saved_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook with no code cell"
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.realdata
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, real_run, monkeypatch):
    settings, _ = real_run
    monkeypatch.setenv("TRYGGHETSKARTA_DATA", str(settings.data_dir))
    monkeypatch.setenv("TRYGGHETSKARTA_PROCESSED", str(settings.processed_dir))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


def _imports(source: str) -> list[tuple[str, str]]:
    """``(module, name)`` for every import in a cell (name ``""`` for ``import module``)."""
    import ast

    out: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.extend((a.name, "") for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.extend((node.module or "", a.name) for a in node.names)
    return out


def _not_public(imports: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The imports of the package that reach past its public surface."""
    import trygghetskarta

    public = {"trygghetskarta", *(f"trygghetskarta.{p}" for p in trygghetskarta.PUBLIC_PACKAGES)}
    return [
        (m, n)
        for m, n in imports
        if m.split(".")[0] == "trygghetskarta"
        and ((m not in public and f"{m}.{n}" not in public) or n.startswith("_"))
    ]


def _private_attributes(source: str) -> list[str]:
    import ast

    return [
        n.attr
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Attribute) and n.attr.startswith("_") and not n.attr.endswith("__")
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_use_only_the_public_api(path):
    nb = nbformat.read(path, as_version=4)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    used = [imp for s in sources for imp in _imports(s)]
    assert any(m.split(".")[0] == "trygghetskarta" for m, _ in used), "no use of the package"
    assert _not_public(used) == [], "import only trygghetskarta and its public packages"
    assert [a for s in sources for a in _private_attributes(s)] == []
    assert not any("pipeline" in s for s in sources)


@pytest.mark.parametrize(
    ("source", "private"),
    [
        pytest.param("from trygghetskarta.pipeline import publish", True, id="pipeline"),
        pytest.param("from trygghetskarta.analysis import _frames", True, id="private-name"),
        pytest.param("import trygghetskarta.pipeline.analyse.parts", True, id="deep-module"),
        pytest.param("from trygghetskarta import analysis, store", False, id="public"),
        pytest.param("import trygghetskarta as tk", False, id="top-level"),
    ],
)
def test_the_public_api_check_tells_private_imports(source, private):
    assert bool(_not_public(_imports(source))) is private
