"""No module of the package keeps mutable state at module level (house rule, issue 10).

A module-level container that functions fill at run time (a "warned already" set, a cache
dict) makes results depend on what ran before in the same process, and makes tests
monkeypatch it. The check reads every module's syntax tree: a name bound at module level
to a list, dict or set (a display, a comprehension, or a call of ``list``/``dict``/``set``/
``defaultdict``/``Counter``/``OrderedDict``/``deque``) must never be changed in place, and
no function may rebind a module name with ``global``. ``functools`` caches of pure
functions are fine: they are decorators, not containers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trygghetskarta

PACKAGE = Path(trygghetskarta.__file__).parent
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "resources" not in p.parts)

_CONTAINER_CALLS = {"list", "dict", "set", "defaultdict", "Counter", "OrderedDict", "deque"}
_MUTATORS = {
    "add",
    "append",
    "appendleft",
    "clear",
    "discard",
    "extend",
    "extendleft",
    "insert",
    "pop",
    "popitem",
    "popleft",
    "remove",
    "setdefault",
    "update",
    "difference_update",
    "intersection_update",
    "symmetric_difference_update",
    "sort",
    "reverse",
}


def _is_container(node: ast.expr | None) -> bool:
    if isinstance(node, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        return name in _CONTAINER_CALLS
    return False


def _module_containers(tree: ast.Module) -> set[str]:
    """Names bound to a mutable container by a statement at module level."""
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and _is_container(stmt.value):
            names |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        elif (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and _is_container(stmt.value)
        ):
            names.add(stmt.target.id)
    return names


def _base_name(node: ast.expr) -> str | None:
    """``x`` for ``x``, ``x[...]`` and ``x[...][...]``."""
    while isinstance(node, ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def mutations(source: str) -> list[str]:
    """Where a function in ``source`` changes a module-level container or rebinds a global.

    Building a constant at import time (``_WORDS |= {...}`` at module level) is not state;
    changing it from a function, at run time, is. Returns one ``line N: what`` per finding
    (empty when the module keeps no state).
    """
    tree = ast.parse(source)
    containers = _module_containers(tree)
    functions = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
    ]
    inside = {id(node): node for f in functions for node in ast.walk(f) if node is not f}
    found: list[str] = []
    for node in inside.values():
        if isinstance(node, ast.Global):
            found.append(f"line {node.lineno}: global {', '.join(node.names)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _MUTATORS
            and _base_name(node.func.value) in containers
        ):
            found.append(f"line {node.lineno}: {_base_name(node.func.value)}.{node.func.attr}()")
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                name = _base_name(target)
                in_place = isinstance(target, ast.Subscript) or isinstance(node, ast.AugAssign)
                if in_place and name in containers:
                    found.append(f"line {node.lineno}: {ast.unparse(target)} changed")
    return sorted(set(found))


@pytest.mark.parametrize(
    "source, expected",
    [
        pytest.param("_SEEN: set[str] = set()\ndef f(k):\n    _SEEN.add(k)\n", 1, id="set-add"),
        pytest.param("_C = {}\ndef f(k, v):\n    _C[k] = v\n", 1, id="dict-item"),
        pytest.param("_C = dict()\ndef f(k):\n    _C[k][0] = 1\n", 1, id="nested-item"),
        pytest.param("_L = []\ndef f():\n    _L += [1]\n", 1, id="augmented"),
        pytest.param("_D = {}\ndef f(k):\n    del _D[k]\n", 1, id="delete"),
        pytest.param("_N = 0\ndef f():\n    global _N\n    _N = 1\n", 1, id="global"),
        pytest.param("_T = {'a': 1}\ndef f(k):\n    return _T.get(k)\n", 0, id="read-only"),
        pytest.param("def f():\n    seen = set()\n    seen.add(1)\n", 0, id="local"),
        pytest.param("_T = (1, 2)\n", 0, id="tuple"),
        pytest.param("_W = {'a'}\n_W |= {'b'}\n", 0, id="built-at-import"),
        pytest.param("_C = {}\nclass K:\n    def m(self):\n        _C.clear()\n", 1, id="method"),
    ],
)
def test_the_check_finds_what_it_should(source: str, expected: int) -> None:
    assert len(mutations(source)) == expected


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_level_container_is_changed(path: Path) -> None:
    found = mutations(path.read_text(encoding="utf-8"))
    assert not found, (
        f"{path.relative_to(PACKAGE)} keeps state at module level ({'; '.join(found)}): "
        "pass it down, collect it in the step's result, or use warnings.warn (whose default "
        "filter shows each message once)"
    )
