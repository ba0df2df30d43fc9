"""Grading inside a Jupyter kernel: the checks of the nbgrader course (`grader.nbgrader_course`).

    from grader.notebook import check
    check("forward", "dense")          # a locked test cell of forward.ipynb

A check exports the module notebooks of the notebook's folder into a package
of .py modules (`export_modules`: each <module>.ipynb's code cells in order,
test cells and markdown dropped, `load_sibling` lines turned back into
relative imports), runs the graded suite of one module on it the way
`dlgrade grade --in-process` does (a fresh pytest process; the submission is
imported there without the sandbox), and raises AssertionError with the
feedback of the exercise's failed tests, or prints one line when all passed.
The suite runs once per module and notebook contents per kernel; every
further check of that module reads the cached result.

When autograde runs (the course's nbgrader_config.py exports the hidden seed,
DLGRADE_HIDDEN_SEED), each run includes the module's hidden tests, with the
scoring of `dlgrade grade`: an exercise whose hidden check fails loses its
public points. So a notebook scores what `dlgrade grade --seed SEED` gives the
exported modules, except that a check cell is all or nothing.

Not a security boundary: the student's code runs in this kernel before the
checks and can replace them. For a grade that must withstand cheating, give
the submitted notebook folders to `dlgrade grade`, which exports them the same
way and runs the modules in its sandbox (see `grader.runner.modules_of`).

Nothing here writes to stderr on success: nbgrader gives a test cell with any
stderr output 0 points.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import MODULES
from grader.submission import module_files

SEED_VARIABLE = "DLGRADE_HIDDEN_SEED"  # set by the course's nbgrader_config.py
FOLDER_VARIABLE = "DLGRADE_NOTEBOOK_FOLDER"  # set by share_submission_folder during autograde
MODULE_TIME_LIMIT = 600.0  # seconds for one module's graded suite (nbgrader's cell limit is set above it)
FEEDBACK_LIMIT = 4000  # characters of one test's feedback shown in a cell


class CheckFailed(AssertionError):
    """A check's verdict; IPython shows its feedback alone, not the grader's frames."""

    def _render_traceback_(self):  # IPython's hook for an exception's own traceback text
        return [f"{type(self).__name__}: {self}"]


class SiblingMissing(ImportError):
    """load_sibling cannot give what the setup cell asks for; shown without the grader's frames."""

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {self}"]


def plural(count: float, noun: str) -> str:
    return f"{count:g} {noun}{'' if count == 1 else 's'}"


# ----------------------------------------------------------------------------- notebook -> module

@dataclass
class ExportedModule:
    """One notebook as a module: its text, and where each of its lines came from."""

    text: str
    origins: list[tuple[int, int] | None] = field(default_factory=list)  # line -> (cell number, line in cell)
    notes: list[str] = field(default_factory=list)  # cells left out, for the student


def is_test_cell(cell) -> bool:
    """An nbgrader autograder test cell (graded, not a solution): never part of the module."""
    metadata = cell.get("metadata", {}).get("nbgrader", {})
    return bool(metadata.get("grade")) and not metadata.get("solution")


def is_course_cell(cell) -> bool:
    """A cell the course wrote (solution, setup or provided code), exported whole.

    Cells a student adds carry no nbgrader metadata: of those only imports,
    functions and classes are exported, so experiments (prints, plots, a
    training run) do not run when the grader imports the module.
    """
    metadata = cell.get("metadata", {}).get("nbgrader", {})
    return bool(metadata.get("solution") or metadata.get("locked"))


def python_source(source: str) -> str:
    """A cell's text as Python: IPython syntax (%magic, !shell) in the form IPython runs it."""
    try:
        ast.parse(source)
        return source
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 -- left as is, reported as not valid Python
        return source


def sibling_import(statement: ast.stmt) -> str | None:
    """`a, c = load_sibling("m", "a", "b")` as `from .m import a, b as c`; None for other statements."""
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.value, ast.Call) and not statement.value.keywords):
        return None
    function = statement.value.func
    name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
    arguments = statement.value.args
    if name != "load_sibling" or not arguments or not all(
            isinstance(argument, ast.Constant) and isinstance(argument.value, str) for argument in arguments):
        return None
    module, *names = (argument.value for argument in arguments)
    target = statement.targets[0]
    targets = [target] if isinstance(target, ast.Name) or not names else getattr(target, "elts", None)
    if not module.isidentifier() or targets is None or not all(isinstance(t, ast.Name) for t in targets):
        return None
    if not names:
        return f"from . import {module} as {targets[0].id}" if len(targets) == 1 else None
    if len(targets) != len(names):
        return None
    aliases = [name if name == t.id else f"{name} as {t.id}" for name, t in zip(names, targets)]
    return f"from .{module} import {', '.join(aliases)}"


DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def is_grader_statement(statement: ast.stmt) -> bool:
    """`from grader.notebook import ...`, a `check(...)` call, or IPython magic: not module code."""
    if isinstance(statement, ast.ImportFrom) and statement.module == "grader.notebook":
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        function = statement.value.func
        if isinstance(function, ast.Name) and function.id == "check":
            return True
    # %magic and !shell lines, as IPython rewrites them (a function that calls get_ipython() stays)
    return not isinstance(statement, DEFINITIONS) and any(
        isinstance(node, ast.Name) and node.id == "get_ipython" for node in ast.walk(statement))


def export_cell(source: str, whole: bool) -> tuple[list[str], str | None]:
    """A code cell's lines for the module and a note when the cell is left out.

    Replaced statements keep their line count, so a line of the module maps
    to a line of the cell (the feedback names cells, not module lines).
    """
    source = python_source(source)
    lines = source.split("\n")
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:  # also a null byte, absurd nesting
        commented = [f"# {line}" if line.strip() else line for line in lines]
        why = (f"SyntaxError at its line {error.lineno}: {error.msg}" if isinstance(error, SyntaxError)
               else type(error).__name__)
        return commented, f"is not valid Python ({why}), so it was left out"
    for statement in reversed(tree.body):  # from the end, so the positions of earlier statements hold
        replacement = sibling_import(statement)
        if replacement is None and (is_grader_statement(statement)
                                    or not (whole or isinstance(statement, DEFINITIONS))):
            replacement = ""
        if replacement is None:
            continue
        first, last = statement.lineno, statement.end_lineno
        start, end = statement.col_offset, statement.end_col_offset
        prefix, suffix = lines[first - 1][:start], lines[last - 1][end:]
        if not replacement and (prefix.strip() or suffix.strip()):
            replacement = "pass"  # `import numpy; print(x)` -> `import numpy; pass`
        lines[first - 1:last] = [prefix + replacement + suffix] + [""] * (last - first)
    return lines, None


def export_notebook(notebook, name: str) -> ExportedModule:
    """The module `name` made of the code cells of `notebook` (nbformat 4, as plain data or a NotebookNode)."""
    exported = ExportedModule(text="", origins=[None, None])
    output = [f"# {name}.py: the code cells of {name}.ipynb, in order (exported by dlgrade)", ""]
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "code" or is_test_cell(cell):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if not source.strip():
            continue
        lines, note = export_cell(source, whole=is_course_cell(cell))
        if note:
            exported.notes.append(f"{name}.ipynb, cell {number} {note}")
        output.append(f"# [cell {number}]")
        exported.origins.append(None)
        output += lines
        exported.origins += [(number, index) for index in range(1, len(lines) + 1)]
        output.append("")
        exported.origins.append(None)
    exported.text = "\n".join(output) + "\n"
    return exported


def read_notebook(path: Path) -> dict | None:
    """The notebook at `path` as plain data, or None when it is missing or not an nbformat 4 notebook.

    Read as JSON, not with nbformat: `dlgrade grade` reads submitted notebooks
    on the trusted side, where nbformat (an optional extra) may be missing, and
    Jupyter and nbgrader have written nbformat 4 for a decade.
    """
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(notebook, dict) and notebook.get("nbformat") == 4 and isinstance(notebook.get("cells"), list)
            and all(isinstance(cell, dict) for cell in notebook["cells"])):
        return None
    return notebook


def export_modules(folder: Path) -> dict[str, ExportedModule]:
    """Every course module whose notebook is in `folder`, exported; unreadable notebooks as notes."""
    modules = {}
    for name, path in module_files(folder, ".ipynb").items():  # never a link: it could reach the reference
        notebook = read_notebook(path)
        if notebook is None:
            modules[name] = ExportedModule(text=f"raise ImportError('{name}.ipynb is not a readable notebook')\n",
                                           notes=[f"{name}.ipynb could not be read as a notebook"])
            continue
        modules[name] = export_notebook(notebook, name)
    return modules


def write_package(modules: dict[str, ExportedModule], destination: Path) -> list[str]:
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "__init__.py").write_text("")
    for name, module in modules.items():
        (destination / f"{name}.py").write_text(module.text, encoding="utf-8")
    return list(modules)


# ----------------------------------------------------------------------------- the kernel's state

class _Exports:
    """Per kernel: exported packages by content, and the results of the runs on them."""

    def __init__(self):
        self._directory: tempfile.TemporaryDirectory | None = None
        self.packages: dict[str, tuple[Path, dict[str, ExportedModule]]] = {}
        self.submissions: dict[str, object] = {}
        self.results: dict[tuple, object] = {}
        self.random_seed = secrets.randbelow(2**31)

    def package(self, folder: Path) -> tuple[str, Path, dict[str, ExportedModule]]:
        modules = export_modules(folder)
        digest = hashlib.sha256("\0".join(f"{name}\0{module.text}" for name, module in modules.items())
                                .encode()).hexdigest()[:16]
        if digest not in self.packages:
            if self._directory is None:
                self._directory = tempfile.TemporaryDirectory(prefix="dlgrade-notebooks-")
            destination = Path(self._directory.name) / digest
            write_package(modules, destination)
            self.packages[digest] = (destination, modules)
        return digest, *self.packages[digest]


_state = _Exports()


def notebook_folder() -> Path:
    """The folder whose notebooks make the submission: the kernel's working directory,
    or during nbgrader autograde the student's submitted folder (see share_submission_folder)."""
    here = Path.cwd()
    shared = os.environ.get(FOLDER_VARIABLE)
    if shared and Path(shared).is_dir():
        # autograded/<student>/<assignment> runs the notebooks of submitted/<student>/<assignment>;
        # a folder left from another student (a failed hook) is never used.
        if Path(shared).resolve().parts[-2:] == here.resolve().parts[-2:]:
            return Path(shared)
    return here


def share_submission_folder(assignment=None, student=None, notebooks=(), **_):
    """nbgrader's Autograde.pre_convert_hook: tell the kernels where the submitted notebooks are."""
    folders = {str(Path(notebook).resolve().parent) for notebook in notebooks}
    if len(folders) == 1:
        os.environ[FOLDER_VARIABLE] = folders.pop()
    else:
        os.environ.pop(FOLDER_VARIABLE, None)


@contextlib.contextmanager
def _quiet():
    """No warnings and nothing on stderr: any stderr output zeroes an nbgrader test cell."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def load_sibling(module: str, *names: str):
    """The names `names` of the student's notebook `<module>.ipynb` beside this one.

    `a, b = load_sibling("activations", "a", "b")` is what the notebook
    writes for the module's `from .activations import a, b` (which it
    becomes again when exported). With one name, the value itself; with none,
    the module.
    """
    from grader.worker import Submission

    folder = notebook_folder()
    if module not in MODULES:
        raise SiblingMissing(f"{module!r} is not a module of the course ({', '.join(MODULES)})")
    if not (folder / f"{module}.ipynb").is_file():
        raise SiblingMissing(f"there is no {module}.ipynb in {folder}: this notebook uses it, keep the "
                             "course's notebooks together in one folder")
    with _quiet():
        digest, destination, _ = _state.package(folder)
        if digest not in _state.submissions:
            _state.submissions[digest] = Submission(destination)
    try:
        loaded = getattr(_state.submissions[digest], module)
    except Exception as error:
        raise SiblingMissing(f"{module}.ipynb (as saved) could not be loaded: "
                             f"{type(error).__name__}: {error}") from None
    values = []
    for name in names:
        if not hasattr(loaded, name):
            raise SiblingMissing(f"{module}.ipynb (as saved) defines no `{name}`; run its cells and save it")
        values.append(getattr(loaded, name))
    if not names:
        return loaded
    return values[0] if len(values) == 1 else tuple(values)


# ----------------------------------------------------------------------------- checks

def _grade(module: str, hidden: bool, seed: int | None):
    """The module's graded suite on the exported notebooks (cached per kernel), and the export's notes."""
    from grader import runner

    folder = notebook_folder()
    if not (folder / f"{module}.ipynb").is_file():
        raise CheckFailed(f"there is no {module}.ipynb in {folder}; keep the notebook's name "
                          f"{module}.ipynb and save it there")
    configured = os.environ.get(SEED_VARIABLE, "").strip()
    if seed is None and configured.isdigit():
        seed = int(configured)
    with_hidden = hidden or configured.isdigit()  # autograde: one run with the hidden tests serves every check
    if with_hidden and seed is None:
        seed = _state.random_seed
    digest, destination, modules = _state.package(folder)
    key = (digest, module, with_hidden, seed if with_hidden else None)
    if key not in _state.results:
        try:
            _state.results[key] = runner.grade(destination, modules=[module], hidden=with_hidden, seed=seed,
                                               in_process=True, time_limit=MODULE_TIME_LIMIT)
        except RuntimeError as error:
            raise CheckFailed(f"the grader could not grade {module}.ipynb: {error}") from None
    notes = [note for exported in modules.values() for note in exported.notes]
    return _state.results[key], modules, notes


def in_notebook_terms(text: str, modules: dict[str, ExportedModule]) -> str:
    """`forward.py, line 57` in feedback as `forward.ipynb, cell 7, line 3`."""

    def replace(match):
        name, quote, line = match.group(1), match.group(2), int(match.group(3))
        origins = modules[name].origins if name in modules else []
        origin = origins[line - 1] if 0 < line <= len(origins) else None
        if origin is None:
            return match.group(0)
        return f"{name}.ipynb{quote}, cell {origin[0]}, line {origin[1]}"

    return re.sub(r"\b(\w+)\.py(\"?), line (\d+)", replace, text)


def check(module: str, exercise: str, hidden: bool = False, seed: int | None = None) -> None:
    """Grade `exercise` of `module` from the saved notebooks of this folder.

    Raises AssertionError with the feedback of its failed tests (nbgrader then
    gives the test cell 0 points), prints one line when all passed. With
    `hidden=True`, the verdict is that of the hidden checks (their feedback
    never shows their inputs): the exercise fails when one of them fails.
    """
    with _quiet():
        result, modules, notes = _grade(module, hidden, seed)
    tests = [test for test in result.tests if test.exercise == exercise and (hidden or not test.hidden)]
    if not tests:
        raise CheckFailed(f"the course has no graded test of `{exercise}` in {module}")
    failed = [test for test in tests if test.status != "passed"]
    if not failed:
        if hidden:
            print(f"{exercise}: {plural(sum(test.hidden for test in tests), 'hidden check')} passed")
        else:
            print(f"{exercise}: {plural(len(tests), 'check')} passed "
                  f"({plural(sum(test.max_score for test in tests), 'point')})")
        return
    kind = "hidden checks" if hidden else "checks"
    lines = [f"{exercise}: {len(failed)} of {len(tests)} {kind} failed (graded from the saved notebooks):"]
    for test in failed:
        output = in_notebook_terms(test.output or "failed", modules)
        if len(output) > FEEDBACK_LIMIT:
            output = output[:FEEDBACK_LIMIT] + " [...]"
        lines.append(f"- {test.name}: " + output.replace("\n", "\n  "))
    lines += [f"note: {note}" for note in notes]
    raise CheckFailed("\n".join(lines))
