"""The course as an nbgrader course: `dlgrade nbgrader-course OUT_DIR`.

Writes, from `solutions/` (and `exercises/`, for what the stubs give away),

    OUT_DIR/nbgrader_config.py
    OUT_DIR/source/dl-exercises/<module>.ipynb     one notebook per course module

Nothing here is hand-edited, so the notebooks cannot drift from the modules.
A notebook holds, in the module's order:

- a markdown cell: the module's docstring and how the notebook is graded;
- a locked setup cell: the module's imports; a relative import
  (`from .activations import softmax`) becomes
  `softmax = load_sibling("activations", "softmax")`, which loads the
  student's own sibling notebook (and turns back into the relative import
  when `grader.engine.notebooks` exports the notebook to a .py module);
- a solution cell per function or class, its body (each method's body for a
  class) between `### BEGIN SOLUTION` / `### END SOLUTION`, so the released
  stub keeps the signature and docstring; definitions that `exercises/` gives
  unchanged (helpers) are locked, read-only cells instead;
- after the solution cell of each exercise (the function that the graded
  suite's `@graded(exercise=...)` names), a locked autograder test cell worth
  the public points of that exercise's tests:
  `check("<module>", "<exercise>")`, and the hidden checks between
  `### BEGIN HIDDEN TESTS` / `### END HIDDEN TESTS`. Exercises worth 0 public
  points get no test cell.

Points and exercises come from the graded suite itself (`pytest --collect-only`
over it), so parametrized tests count as pytest counts them. The hidden tests'
seed is drawn when the course is written and kept in nbgrader_config.py (the
instructor's file, never released), not in the notebooks, whose autograded
copies go back to students as feedback.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import MODULES
from grader.doors import jupyter
from grader.doors.jupyter import SEED_VARIABLE, plural, share_submission_folder
from grader.errors import UsageError
from grader.limits import LIMITS
from grader.results.model import load

ASSIGNMENT = "dl-exercises"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
NBGRADER_SCHEMA_VERSION = 3  # nbgrader 0.9's cell metadata format
# Cell and grade ids: a solution cell is named for its function; the other cells' names hold a "-",
# which no Python name does, so they never collide with one.
SETUP_ID = "setup-imports"
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"

HOW_TO = """\
**How this notebook is graded.** Write your code in the cells marked `YOUR CODE HERE`
(replace the `raise NotImplementedError()`), keeping each function's name and
signature. The locked *check* cells grade your work with the course's graded
tests: they read the **saved** notebooks of this folder, so save (Ctrl-S) before
running one. A check cell is worth the points it names, all or nothing; when the
instructor grades, it also runs hidden checks on fresh inputs. The grader sees
this notebook as the module `{module}.py`: your cells' code in order, and from
cells you add only their imports, functions and classes."""


@dataclass
class Exercise:
    """One exercise of a module as the graded suite sees it."""

    name: str
    points: float = 0.0  # public points
    tests: int = 0  # public tests
    hidden_tests: int = 0


@dataclass
class ModulePlan:
    exercises: dict[str, Exercise] = field(default_factory=dict)


def write_course(out_dir: Path, course: Path, seed: int | None = None, course_id: str | None = None) -> Path:
    """Write the nbgrader course of `course` (a repository with solutions/) into `out_dir`.

    `seed` is the hidden tests' seed; by default the one of an existing
    nbgrader_config.py in `out_dir` (regenerating keeps grading consistent),
    else a fresh random one. `course_id` (which `nbgrader release_assignment`
    and the students' `fetch_assignment` need) is by default the existing
    config's, else `out_dir`'s name. Returns the assignment's source folder.
    """
    out_dir, course = Path(out_dir), Path(course).resolve()
    course_id = course_id or existing_course_id(out_dir / "nbgrader_config.py") or default_course_id(out_dir)
    solutions, exercises = course / "solutions", course / "exercises"
    modules = [module for module in MODULES if (solutions / f"{module}.py").is_file()]
    if not modules:
        raise UsageError(f"{solutions}: no course modules there; run in the course repository (or give --course DIR)")
    config_path = out_dir / "nbgrader_config.py"
    if seed is None:
        seed = existing_seed(config_path)
    if seed is None:
        seed = secrets.randbits(128)
    import nbformat

    plans = collect_exercises(solutions, modules)
    source = out_dir / "source" / ASSIGNMENT
    source.mkdir(parents=True, exist_ok=True)
    for module in modules:
        stub = exercises / f"{module}.py"
        notebook = module_notebook(
            module,
            (solutions / f"{module}.py").read_text(encoding="utf-8"),
            stub.read_text(encoding="utf-8") if stub.is_file() else None,
            plans[module],
        )
        nbformat.validate(notebook)
        nbformat.write(notebook, source / f"{module}.ipynb")
    config_path.write_text(config_text(seed, modules, course_id), encoding="utf-8")
    return source


def default_course_id(out_dir: Path) -> str:
    """The course folder's name as an nbgrader course id: letters, digits, `-` and `_`."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(out_dir).resolve().name).strip("-")
    return name or "dl-course"


def existing_course_id(config_path: Path) -> str | None:
    if not config_path.is_file():
        return None
    found = re.search(
        r'^c\.CourseDirectory\.course_id = "([A-Za-z0-9_-]+)"', config_path.read_text(encoding="utf-8"), re.M
    )
    return found.group(1) if found else None


def existing_seed(config_path: Path) -> int | None:
    if not config_path.is_file():
        return None
    found = re.search(rf'{SEED_VARIABLE}", "(\d+)"', config_path.read_text(encoding="utf-8"))
    return int(found.group(1)) if found else None


def collect_exercises(solutions: Path, modules: list[str]) -> dict[str, ModulePlan]:
    """module -> its exercises with public points and test counts, as the graded suite collects them."""
    from grader.engine import runner

    graded = [module for module in modules if (runner.SUITE / f"test_{module}.py").is_file()]
    plans = {module: ModulePlan() for module in modules}
    if not graded:
        return plans
    with tempfile.TemporaryDirectory(prefix="dlgrade-collect-") as temporary:
        results = Path(temporary) / "results.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            *runner.pytest_arguments(
                solutions, graded, hidden=True, seed=0, in_process=True, results=results, terminal=False
            ),
        ]
        completed = subprocess.run(
            command,
            cwd=temporary,
            env=runner.pytest_environment(),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if not results.is_file():
            tail = (completed.stdout + completed.stderr).strip().splitlines()[-5:]
            raise RuntimeError("collecting the graded suite failed: " + " | ".join(tail))
        tests = load(results).tests
    for test in tests:
        exercise = plans[test.module].exercises.setdefault(test.exercise, Exercise(test.exercise))
        if test.hidden:
            exercise.hidden_tests += 1
        else:
            exercise.points += test.max_score
            exercise.tests += 1
    return plans


# ----------------------------------------------------------------------------- notebook cells


def nbgrader_metadata(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    metadata = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": NBGRADER_SCHEMA_VERSION,
        "solution": solution,
    }
    if points is not None:
        metadata["points"] = int(points) if float(points).is_integer() else float(points)
    return {"nbgrader": metadata}


def module_notebook(module: str, solution_text: str, stub_text: str | None, plan: ModulePlan):
    """The source notebook of `module`, from its reference solution and (optionally) its stub."""
    import nbformat.v4 as v4

    tree = ast.parse(solution_text)
    lines = solution_text.splitlines()
    stub_definitions = definitions(ast.parse(stub_text)) if stub_text else {}
    stub_lines = stub_text.splitlines() if stub_text else None
    statements = list(tree.body)
    docstring = ast.get_docstring(tree, clean=True) or ""
    if statements and is_docstring(statements[0]):
        statements = statements[1:]

    cells = [
        v4.new_markdown_cell(
            f"# `{module}`\n\n{docstring}\n\n{HOW_TO.format(module=module)}".strip(), id="module-introduction"
        )
    ]
    imports = []
    while statements and isinstance(statements[0], (ast.Import, ast.ImportFrom)):
        imports.append(statements.pop(0))
    if imports:
        cells.append(
            v4.new_code_cell(setup_text(imports, lines), id=SETUP_ID, metadata=nbgrader_metadata(SETUP_ID, locked=True))
        )

    pending = dict(plan.exercises)
    provided: list[str] = []
    previous_end = (
        imports[-1].end_lineno
        if imports
        else (tree.body[0].end_lineno if tree.body and is_docstring(tree.body[0]) else 0)
    )

    def flush_provided():
        if provided:
            number = sum(1 for cell in cells if cell.id.startswith("provided")) + 1
            cells.append(
                v4.new_code_cell(
                    "\n\n".join(provided),
                    id=f"provided-{number}",
                    metadata=nbgrader_metadata(f"provided-{number}", locked=True),
                )
            )
            provided.clear()

    for statement in statements:
        start = leading_start(statement, lines, previous_end)
        text = "\n".join(lines[start - 1 : statement.end_lineno]).strip("\n")
        previous_end = statement.end_lineno
        if is_main_guard(statement):
            continue
        if isinstance(statement, (ast.Import, ast.ImportFrom)) and relative_import(statement):
            text = f"from {jupyter.__name__} import load_sibling\n" + load_sibling_text(statement)
        definition = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        if not definition or same_definition(statement, stub_definitions.get(statement.name)):
            provided.append(text)
            continue
        flush_provided()
        text = solution_cell_text(statement, lines, start, stub_definitions.get(statement.name), stub_lines)
        cells.append(
            v4.new_code_cell(
                text, id=cell_id(statement.name), metadata=nbgrader_metadata(statement.name, solution=True)
            )
        )
        exercise = pending.pop(statement.name, None)
        if exercise is not None and exercise.points > 0:
            cells.append(test_cell(module, exercise))
    flush_provided()
    for exercise in pending.values():  # exercises that are not a top-level definition of the module
        if exercise.points > 0:
            cells.append(test_cell(module, exercise))

    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def test_cell(module: str, exercise: Exercise):
    import nbformat.v4 as v4

    lines = [
        f"# Check of `{exercise.name}`: {plural(exercise.points, 'point')}, all or nothing "
        f"({plural(exercise.tests, 'graded test')} of the course's suite).",
        f"from {jupyter.__name__} import check",
        "",
        f"check({json.dumps(module)}, {json.dumps(exercise.name)})",
    ]
    if exercise.hidden_tests:
        lines += [BEGIN_HIDDEN, f"check({json.dumps(module)}, {json.dumps(exercise.name)}, hidden=True)", END_HIDDEN]
    grade_id = f"check-{exercise.name}"
    return v4.new_code_cell(
        "\n".join(lines),
        id=cell_id(grade_id),
        metadata=nbgrader_metadata(grade_id, grade=True, locked=True, points=exercise.points),
    )


def cell_id(name: str) -> str:
    """An nbformat cell id (letters, digits, - and _, at most 64) for a cell named `name`."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)[:64]


# ----------------------------------------------------------------------------- source text


def is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def is_main_guard(statement: ast.stmt) -> bool:
    """`if __name__ == "__main__":` -- a script block, no part of the module's API."""
    return (
        isinstance(statement, ast.If)
        and isinstance(statement.test, ast.Compare)
        and isinstance(statement.test.left, ast.Name)
        and statement.test.left.id == "__name__"
    )


def definitions(tree: ast.Module) -> dict[str, ast.stmt]:
    return {
        node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }


def same_definition(node: ast.AST, other: ast.AST | None) -> bool:
    """Whether the stub gives this definition unchanged (formatting aside)."""
    return other is not None and ast.dump(node) == ast.dump(other)


def leading_start(statement: ast.stmt, lines: list[str], previous_end: int) -> int:
    """First line of `statement` with its decorators and the comment lines right above it (1-based)."""
    start = min([statement.lineno] + [decorator.lineno for decorator in getattr(statement, "decorator_list", [])])
    while start - 1 > previous_end and lines[start - 2].strip().startswith("#"):
        start -= 1
    return start


def relative_import(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.ImportFrom) and statement.level > 0


def load_sibling_text(statement: ast.ImportFrom) -> str:
    """`from .activations import a, b as c` as the notebook's `a, c = load_sibling("activations", "a", "b")`."""
    if statement.level != 1 or any(alias.name == "*" for alias in statement.names):
        raise ValueError(
            f"line {statement.lineno}: only `from .module import name, ...` imports between course "
            "modules can become notebook imports"
        )
    if statement.module is None:  # from . import activations
        return "\n".join(f'{alias.asname or alias.name} = load_sibling("{alias.name}")' for alias in statement.names)
    targets = ", ".join(alias.asname or alias.name for alias in statement.names)
    names = ", ".join(f'"{alias.name}"' for alias in statement.names)
    return f'{targets} = load_sibling("{statement.module}", {names})'


def setup_text(imports: list[ast.stmt], lines: list[str]) -> str:
    """The setup cell: the module's own imports; imports of sibling modules load the sibling notebooks."""
    plain, siblings = [], []
    for statement in imports:
        if relative_import(statement):
            original = " ".join(line.strip() for line in lines[statement.lineno - 1 : statement.end_lineno])
            siblings.append(f"# {original}  (your {statement.module or 'sibling'}.ipynb in this folder)")
            siblings.append(load_sibling_text(statement))
        else:
            plain.append("\n".join(lines[statement.lineno - 1 : statement.end_lineno]))
    text = "\n".join(plain)
    if siblings:
        text += ("\n\n" if text else "") + f"from {jupyter.__name__} import load_sibling\n\n" + "\n".join(siblings)
    return text


def body_region(function: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> tuple[int, int] | None:
    """The lines (1-based, inclusive) of a function's body after its docstring, None when there are none."""
    body = function.body
    if body and is_docstring(body[0]):
        if len(body) == 1:
            return None
        first = body[0].end_lineno + 1
    else:
        first = body[0].lineno
        while first - 1 > function.lineno and lines[first - 2].strip().startswith("#"):
            first -= 1
    if first <= function.lineno:  # `def f(x): return x` on one line
        return None
    while first < function.end_lineno and not lines[first - 1].strip():
        first += 1
    return first, function.end_lineno


def todo_comments(stub: ast.AST | None, stub_lines: list[str] | None) -> list[str]:
    """The `# TODO` comment lines of a stub function's body (without indentation)."""
    if stub is None or not stub_lines:
        return []
    region = body_region(stub, stub_lines)
    if region is None:
        return []
    return [line.strip() for line in stub_lines[region[0] - 1 : region[1]] if line.strip().startswith("#")]


def solution_cell_text(
    node: ast.stmt, lines: list[str], start: int, stub: ast.stmt | None, stub_lines: list[str] | None
) -> str:
    """The definition with each function body between the solution markers, after the stub's TODO comments."""
    regions = []  # (first line, last line, indentation, TODO comments)
    functions = (
        [node]
        if not isinstance(node, ast.ClassDef)
        else [child for child in node.body if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))]
    )
    stub_methods = definitions(ast.Module(body=stub.body, type_ignores=[])) if isinstance(stub, ast.ClassDef) else {}
    for function in functions:
        region = body_region(function, lines)
        if region is None:
            continue
        stub_function = stub if function is node else stub_methods.get(function.name)
        if stub_function is not None and function is not node and same_definition(function, stub_function):
            continue  # a method the stub gives unchanged
        indent = re.match(r"\s*", lines[region[0] - 1]).group(0)
        regions.append((*region, indent, todo_comments(stub_function, stub_lines)))
    output, line_number = [], start
    for first, last, indent, todo in regions:
        output += lines[line_number - 1 : first - 1]
        output += [indent + comment for comment in todo]
        output += [indent + BEGIN_SOLUTION, *lines[first - 1 : last], indent + END_SOLUTION]
        line_number = last + 1
    output += lines[line_number - 1 : node.end_lineno]
    return "\n".join(output).strip("\n")


def config_text(seed: int, modules: list[str], course_id: str = "dl-course") -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", course_id):
        raise UsageError(f"{course_id!r}: an nbgrader course id is letters, digits, - and _ only")
    files = ", ".join(f'"{module}.py"' for module in modules)
    return f'''\
# nbgrader configuration of the dlgrade course, written by `dlgrade nbgrader-course`.
# Regenerate it (and source/) with that command instead of editing; a regeneration
# keeps the hidden tests' seed and the course id below.
import os

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

# The course's id in nbgrader's exchange: `nbgrader release_assignment` publishes the
# release to <exchange>/{course_id}/outbound/ (the exchange is Exchange.root, by default
# /srv/nbgrader/exchange), and students run `nbgrader fetch_assignment --course {course_id}`.
c.CourseDirectory.course_id = "{course_id}"

# The hidden tests' secret seed, drawn when the course was written. The test cells
# hold no seed: autograded notebooks go back to students as feedback. Autograde's
# kernels inherit this variable, and grader.doors.jupyter.check reads it there: every
# check then runs the public and hidden tests of its module together, once per
# notebook. Export another value in the shell to regrade with fresh hidden inputs.
os.environ.setdefault("{SEED_VARIABLE}", "{seed}")

# Autograde executes one notebook at a time in the folder autograded/<student>/<assignment>/,
# which holds only the notebooks processed so far. This hook tells the kernels where the
# student's submitted notebooks are, so a check of forward.ipynb can load the submitted
# activations.ipynb it imports.
c.Autograde.pre_convert_hook = "{share_submission_folder.__module__}.{share_submission_folder.__name__}"

# nbgrader copies the source versions of non-notebook files over the submitted ones; if a
# student's .py module is ever submitted beside the notebooks, keep the student's (otherwise
# an empty stub would be graded against the instructor's file). source/ holds notebooks only.
c.Autograde.exclude_overwriting = {{"{ASSIGNMENT}": [{files}]}}

# generate_assignment copies every non-notebook file of source/ into release/ unchanged:
# never copy .py files (a solution module left in source/ would be released as is).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.py"]

# Any stderr output in a test cell gives it 0 points (nbgrader.utils.determine_grade).
# check() writes nothing to stderr; stderr text that is only a Python warning (from a
# library the student's code imported, say) is removed from the outputs before grading.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\\w+Warning: "

# A check cell grades a whole module (the training checks included) in a fresh process;
# nbgrader's default of 30 s per cell is too short on a slow machine. The outputs are
# complete once the last cell ran: stop the kernel at once instead of waiting for it
# (saves 1-3 s per notebook).
c.Execute.timeout = {LIMITS.nbgrader_cell_seconds}
c.Execute.shutdown_kernel = "immediate"

# Feedback is made from the autograded notebooks, which hold the hidden test code:
# clear those regions from the feedback too, as generate_assignment does for the release.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
'''
