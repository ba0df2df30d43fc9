"""The grader's layout: an import graph without cycles, layers that follow the trust boundary, docs that match.

Every import counts, a function's own imports included: a cycle through a
lazy import is still a cycle for a reader.
"""

import ast
import importlib
import re
from pathlib import Path

import pytest

from grader.engine import notebooks
from tests.helpers import ROOT

GRADER = ROOT / "grader"
# Each package may import only from its own layer and the ones below it (a
# lower number). Shared by both sides of the trust boundary: layers 0 and 1.
LAYERS = {
    "grader": 0,
    "grader.course": 0,
    "grader.limits": 0,
    "grader.errors": 0,
    "grader.system": 0,
    "grader.channel": 1,
    "grader.wire": 1,
    "grader.worker": 2,
    "grader.results": 2,
    "grader.engine": 3,
    "grader.suite": 4,
    "grader.hidden": 4,
    "grader.doors": 5,
    "grader.cli": 6,
    "grader.__main__": 7,
}
# The untrusted side may import nothing of the trusted one: the sandbox copies
# it (and what it imports of grader) into the worker, and nothing else.
WORKER_MAY_IMPORT = {"grader", "grader.course", "grader.limits", "grader.errors", "grader.channel", "grader.wire"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(GRADER.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The grader modules `name` imports, anywhere in its file."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from grader.x import y` imports the module grader.x.y when there is one
            candidates = [
                f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                for alias in node.names
            ]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in MODULES:  # `import grader.x.y` names grader.x.y
                candidate = candidate.rpartition(".")[0]
            if candidate.startswith("grader") and candidate != name:
                found.add(candidate)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def layer(name: str) -> int:
    while name not in LAYERS:
        name = name.rpartition(".")[0]
    return LAYERS[name]


def find_cycle(graph: dict) -> list[str] | None:
    """One import cycle of `graph`, as the list of its modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_walk_finds_a_cycle_where_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_walk_sees_lazy_imports():
    assert "grader.engine.sandbox" in GRAPH["grader.engine.fixtures"]  # imported inside a function


def test_the_grader_has_no_import_cycle():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH))


def test_nothing_below_the_command_line_imports_it():
    importers = sorted(name for name, targets in GRAPH.items() if "grader.cli" in targets)
    assert importers == ["grader.__main__"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_imports_only_its_layer_and_those_below(name):
    higher = sorted(target for target in GRAPH[name] if layer(target) > layer(name))
    assert not higher, f"{name} (layer {layer(name)}) imports {higher}"


def test_the_untrusted_side_imports_nothing_of_the_trusted_side():
    for name, targets in GRAPH.items():
        if name.startswith("grader.worker"):
            outside = {target for target in targets if not target.startswith("grader.worker")}
            assert outside <= WORKER_MAY_IMPORT, f"{name} imports {sorted(outside - WORKER_MAY_IMPORT)}"


def test_the_worker_library_is_the_worker_package_and_what_it_imports():
    from grader.engine.sandbox import worker_library

    library = {module_name(GRADER / path) for path in worker_library()}
    worker = {name for name in MODULES if name.startswith("grader.worker")}
    assert worker <= library
    assert library - worker == WORKER_MAY_IMPORT & library
    assert not any(name.startswith(("grader.engine", "grader.suite", "grader.hidden")) for name in library)


def test_the_exporter_drops_the_imports_of_the_module_notebooks_import():
    assert notebooks.KERNEL_MODULE == importlib.import_module("grader.doors.jupyter").__name__


def test_one_exceptions_module():
    defined = {
        name
        for name, path in MODULES.items()
        if name != "grader.errors"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and any(isinstance(base, ast.Name) and base.id.endswith(("Error", "Exception")) for base in node.bases)
    }
    assert not defined, f"exceptions defined outside grader/errors.py: {sorted(defined)}"


def documented_references(text: str) -> set[str]:
    """Every `grader.x.y` or `grader.x.y.name` in backticks."""
    return set(re.findall(r"`(grader(?:\.\w+)+)", text))


def resolves(reference: str) -> bool:
    parts = reference.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


@pytest.mark.parametrize("document", ["docs/architecture.md", "README.md"])
def test_the_docs_name_real_modules_and_functions(document):
    references = documented_references((ROOT / document).read_text())
    assert references, f"{document} names no grader module"
    missing = sorted(reference for reference in references if not resolves(reference))
    assert not missing, f"{document} names what does not exist: {missing}"


def test_the_architecture_note_walks_one_submission_through_real_functions():
    text = (ROOT / "docs" / "architecture.md").read_text()
    hops = [line for line in text.splitlines() if re.match(r"\d+\. ", line)]
    assert len(hops) >= 8, "the path of one submission, one numbered line per hop"
    assert all(documented_references(hop) for hop in hops), "every hop names the function that does it"


def test_the_readme_layout_matches_the_tree():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    layout = layout[: layout.index("\n## ", 4)]
    named = set(re.findall(r"\bgrader/[\w/]+\.py|\bgrader/\w+/", layout))
    assert named, "the layout section names grader's files"
    assert all((ROOT / path).exists() for path in named), sorted(path for path in named if not (ROOT / path).exists())
    packages = {path.parent.relative_to(ROOT).as_posix() + "/" for path in GRADER.glob("*/__init__.py")}
    assert packages <= named, f"the layout section leaves out {sorted(packages - named)}"
