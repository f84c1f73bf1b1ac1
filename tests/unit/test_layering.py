"""The layout's promises, checked on the source: the rules open nothing, the lower packages never reach up,
no module imports another that imports it back, and no private name crosses a module boundary."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import REPO

PACKAGES = ("pipeline", "parsers", "storage")
# What "does I/O" means for a rule: processes, sockets, databases, mail servers, archive and document libraries,
# and the project's own modules that read files or talk to servers.
IO_MODULES = (
    "subprocess", "multiprocessing", "socket", "smtplib", "imaplib", "imapclient", "sqlalchemy", "alembic",
    "py7zr", "rarfile", "zipfile", "pdfplumber", "PIL", "openpyxl", "docx", "lxml",
    "storage.db", "storage.repo", "storage.rawstore", "parsers.convert", "parsers.docx_text", "parsers.scan",
    "parsers.sheets", "parsers.pdf", "pipeline.documents.archives", "pipeline.documents.identify",
    "pipeline.documents.materials", "pipeline.intake", "pipeline.transport", "pipeline.replies.outbox",
    "pipeline.mail.decode",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in (REPO / package).rglob("*.py")
            if "migrations" not in p.parts}


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[tuple[str, list[str]]]:
    """(module, names) of every import in the file, at any depth, but those only for type checkers."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def walk(node: ast.AST) -> Iterator[tuple[str, list[str]]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, []
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                yield base, [alias.name for alias in child.names]
            else:
                yield from walk(child)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")))


def _project_edges(name: str, path: Path) -> set[str]:
    edges = set()
    for module, names in _imports(name, path):
        for target in [f"{module}.{n}" for n in names] + [module]:
            if target in MODULES and target != name:
                edges.add(target)
                break
    return edges


GRAPH = {name: _project_edges(name, path) for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("pipeline.rules")))
def test_a_rule_module_loads_nothing_that_does_io(module: str) -> None:
    probe = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                                       check=True, timeout=60).stdout)
    offending = sorted(m for m in loaded if any(m == io or m.startswith(io + ".") for io in IO_MODULES))
    assert offending == [], f"{module} loads {offending}"


@pytest.mark.parametrize(("lower", "forbidden"), [("storage", ("pipeline",)), ("parsers", ("pipeline", "storage"))])
def test_a_lower_package_never_imports_a_higher_one(lower: str, forbidden: tuple[str, ...]) -> None:
    reaching_up = {name: sorted(t for t in targets if t.split(".")[0] in forbidden)
                   for name, targets in GRAPH.items() if name.split(".")[0] == lower}
    assert {name: up for name, up in reaching_up.items() if up} == {}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_private_name_is_imported_from_another_module() -> None:
    """Not by the packages, and not by the tests, benchmarks and scripts either: a seam they need is public."""
    users = {**MODULES, **{str(p.relative_to(REPO)): p for folder in ("tests", "benchmarks", "scripts")
                           for p in (REPO / folder).rglob("*.py")}}
    private = sorted(f"{name}: {module}.{n}" for name, path in users.items() for module, names in _imports(name, path)
                     for n in names
                     if n.startswith("_") and not n.startswith("__") and module.split(".")[0] in PACKAGES)
    assert private == []


def _test_module_imports(source: str) -> list[tuple[int, str]]:
    """(line, what) of each import in `source` of a test module, one whose last dotted part starts with test_:
    `import e2e.test_run`, `from unit.test_rules import facts`, `from unit import test_rules` (a test function
    imported by name counts too: pytest would collect it again where it is imported)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            targets = [base] + [f"{base}.{alias.name}" if node.module else base + alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, target) for target in targets if target.rsplit(".", 1)[-1].startswith("test_")]
    return found


def test_no_file_under_tests_imports_a_test_module() -> None:
    """What tests share lives in tests/helpers/: a unit test never rests on an integration test module."""
    assert _test_module_imports("import e2e.test_run\nfrom unit.test_rules import facts\nfrom unit import test_rules\n"
                                "from . import test_x\nfrom helpers.facts import facts\nimport testing.contest\n") == [
        (1, "e2e.test_run"), (2, "unit.test_rules"), (3, "unit.test_rules"), (4, ".test_x")]
    offending = sorted(f"{path.relative_to(REPO)}:{line}: {target}" for path in (REPO / "tests").rglob("*.py")
                       for line, target in _test_module_imports(path.read_text(encoding="utf-8")))
    assert offending == []
