"""The tree states the architecture: no import cycles (function-level imports included), short
functions, no branching on the method outside methods/, commands at the package's top level and
library code in subpackages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "src" / "relabelgan"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(path: Path, modules: set[str]) -> set[str]:
    """relabelgan modules ``path`` imports anywhere (not under ``if TYPE_CHECKING``)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    skip: set[int] = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip |= {id(n) for child in node.body for n in ast.walk(child)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in modules else base)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {m for m in found if m in modules and m != name}


def test_no_import_cycles():
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in files}
    graph = {_module_name(p): _imports(p, modules) for p in files}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert graph["relabelgan.training.loop"], "the parser found no imports: the test itself is broken"
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_function_over_60_lines():
    """Short functions with one job: the training loop included (setup / step / snapshot / finish)."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 60:
                long.append(
                    f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
                )
    assert not long, "functions over 60 lines: " + ", ".join(long)


# A method's behaviour lives in its module under methods/: outside it, code asks the method's hooks
# and never tests which method it is or reads a flag to branch on.
METHOD_BRANCHES = re.compile(
    r"""method\.name\s*[!=]=|\[["']method["']\]\s*[!=]=|method\w*(\([^)]*\))?\.(relabels|grows|clusterer|classes)\b"""
)


def _workflow_files() -> list[Path]:
    """The Snakefile (wherever Snakemake would find it) and every rule file; the test fails if one is missing."""
    snakefiles = [p for p in (REPO / "Snakefile", REPO / "workflow" / "Snakefile") if p.exists()]
    assert snakefiles, "no Snakefile at the root or in workflow/"
    rules = sorted((REPO / "workflow" / "rules").glob("*.smk"))
    assert rules, "no rule files in workflow/rules/"
    return snakefiles + rules


def test_no_branching_on_the_method_outside_methods():
    sources = [p for p in PACKAGE.rglob("*.py") if "methods" not in p.relative_to(PACKAGE).parts]
    sources += _workflow_files()
    hits = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if METHOD_BRANCHES.search(line)
    ]
    assert not hits, "branching on the method outside methods/: " + "; ".join(hits)


def test_the_branch_pattern_finds_what_it_forbids():
    assert METHOD_BRANCHES.search('if method.name == "random":')
    assert METHOD_BRANCHES.search("if get_method(spec['method']).relabels:")
    assert METHOD_BRANCHES.search('if spec["method"] != "slcgan":')
    assert METHOD_BRANCHES.search("if method(run).relabels:")
    assert not METHOD_BRANCHES.search("labels = method.make_labels(spec, rnd, features, previous)")


# The package's top level: the CLI and one module per command (or group of commands), nothing else.
COMMAND_MODULES = {
    "__init__", "cli", "assign", "audit", "evaluate", "extract", "figures", "initialise", "install_profile",
    "lineage", "pipeline", "relabel", "tables",
}  # fmt: skip


def test_the_top_level_holds_commands_only():
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top == COMMAND_MODULES, (
        f"not commands: {sorted(top - COMMAND_MODULES)}; missing: {sorted(COMMAND_MODULES - top)}"
    )
    cli = (PACKAGE / "cli.py").read_text()
    for module in COMMAND_MODULES - {"__init__", "cli"}:
        assert f"from .{module} import" in cli, f"{module}.py is at the top level but no command of cli.py calls it"


def test_library_modules_do_not_import_commands():
    """Subpackages are the library: none imports a top-level command module (the commands import them)."""
    commands = {f"relabelgan.{m}" for m in COMMAND_MODULES - {"__init__"}}
    files = sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE)
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    hits = {_module_name(p): sorted(_imports(p, modules) & commands) for p in files}
    assert not {m: h for m, h in hits.items() if h}
