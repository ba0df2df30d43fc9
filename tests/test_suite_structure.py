"""The graded suite's structure: points per module, markers, and which modules each check can reach.

A check of module M reaches the submission only through `student.<module>`
and probes; if those name only M and the modules M imports, a mistake in one
module can cost points only in that module and the modules that use it
(`grader.course.dependents`). The variant tests show it dynamically; this
shows it for every check.
"""

import ast

import pytest

from grader.course import MODULE_IMPORTS, MODULE_POINTS, MODULES
from grader.engine.runner import graded_exercises
from tests.helpers import ROOT

SUITES = [ROOT / "grader" / "suite", ROOT / "grader" / "hidden"]
PROBES = ROOT / "grader" / "worker" / "probes"


def reachable(module: str) -> set[str]:
    """`module` and every module it imports, directly or not."""
    found, pending = set(), [module]
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(MODULE_IMPORTS[name])
    return found


def attribute_uses(tree: ast.AST, base: str) -> set[str]:
    """Every `base.<name>` in the tree."""
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == base
    }


def probe_modules_used(tree: ast.AST) -> set[str]:
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "grader.worker.probes":
            used.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            used.update(
                alias.name.split(".")[2] for alias in node.names if alias.name.startswith("grader.worker.probes.")
            )
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "probes":
            used.add(node.attr)
    return used & set(MODULES)


@pytest.mark.parametrize(
    "path",
    [path for suite in SUITES for path in sorted(suite.glob("test_*.py"))],
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_a_modules_checks_reach_only_that_module_and_what_it_imports(path):
    module = path.stem.removeprefix("test_")
    assert module in MODULES
    tree = ast.parse(path.read_text())
    reached = (attribute_uses(tree, "student") & set(MODULES)) | probe_modules_used(tree)
    assert module in reached or path.parent.name == "hidden", f"{path.name} never calls {module}"
    assert reached <= reachable(module), f"{path.name} reaches {sorted(reached - reachable(module))}"


@pytest.mark.parametrize("path", sorted(PROBES.glob("[a-z]*.py")), ids=lambda path: path.name)
def test_a_modules_probes_reach_only_that_module_and_what_it_imports(path):
    module = path.stem
    assert module in MODULES, f"probe modules are named after a course module: {path.name}"
    reached = attribute_uses(ast.parse(path.read_text()), "submission") & set(MODULES)
    assert reached <= reachable(module), f"{path.name} reaches {sorted(reached - reachable(module))}"


def test_every_public_module_file_carries_its_points():
    totals = {}
    for path in sorted((ROOT / "grader" / "suite").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "graded":
                points = next(keyword.value.value for keyword in node.keywords if keyword.arg == "points")
                totals[path.stem.removeprefix("test_")] = totals.get(path.stem.removeprefix("test_"), 0) + points
    # Parametrised tests would count once here; the suite has none with points (checked by
    # tests/test_grading.py, which grades the reference and sums what the plugin collected).
    assert totals == MODULE_POINTS


def test_modules_import_only_what_the_course_says():
    for module in MODULES:
        tree = ast.parse((ROOT / "solutions" / f"{module}.py").read_text())
        relative = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1}
        assert relative == set(MODULE_IMPORTS[module]), (module, relative)


def test_every_graded_exercise_has_a_hidden_recheck():
    """An exercise without one can be passed with a table of its published inputs (grader.engine.scoring)."""
    public, hidden = (
        {module: set(names) for module, names in graded_exercises(ROOT / "grader" / folder).items()}
        for folder in ("suite", "hidden")
    )
    missing = {
        module: sorted(exercises - hidden.get(module, set()))
        for module, exercises in public.items()
        if exercises - hidden.get(module, set())
    }
    assert not missing, f"graded exercises without a hidden test in grader/hidden/: {missing}"
    assert set(public) == set(MODULES)


def graded_tests(folder) -> dict[tuple[str, str], dict]:
    """{(module, test name): the @graded keywords} of every graded test in `folder`."""
    found = {}
    for path in sorted(folder.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "graded":
                    keywords = {
                        keyword.arg: ast.literal_eval(keyword.value)
                        for keyword in decorator.keywords
                        if keyword.arg in ("exercise", "rechecks", "points")
                    }
                    found[(path.stem.removeprefix("test_"), node.name)] = keywords
    return found


def test_every_public_test_is_rechecked_by_name_and_every_name_is_a_public_test_of_that_exercise():
    """A failing hidden test withdraws only the public tests it names (grader.engine.scoring):
    a public test no hidden test names could be passed with a table of its inputs."""
    public, hidden = graded_tests(ROOT / "grader" / "suite"), graded_tests(ROOT / "grader" / "hidden")
    named = set()
    for (module, name), keywords in hidden.items():
        rechecks = keywords.get("rechecks", ())
        assert rechecks, f"hidden/{module}: {name} names no public test it re-checks (rechecks=...)"
        for target in rechecks:
            assert (module, target) in public, f"hidden/{module}: {name} re-checks {target}, no public test of {module}"
            assert public[(module, target)]["exercise"] == keywords["exercise"], f"{name} re-checks {target}"
            named.add((module, target))
    unnamed = sorted(f"{module}: {name}" for module, name in set(public) - named)
    assert not unnamed, "public tests no hidden test re-checks:\n  " + "\n  ".join(unnamed)
