"""Grading inside a Jupyter kernel: the checks of the nbgrader course (`grader.doors.nbgrader_course`).

    from grader.doors.jupyter import check
    check("forward", "dense")          # a locked test cell of forward.ipynb

This is the module a student's kernel imports. A check exports the module
notebooks of the notebook's folder into a package of .py modules
(`grader.engine.notebooks.export_modules`), runs the graded suite of one
module on it the way `dlgrade grade --in-process` does (a fresh pytest
process; the submission is imported there without the sandbox), and raises
AssertionError with the feedback of the exercise's failed tests, or prints one line when all passed.
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
way and runs the modules in its sandbox (see `grader.engine.intake.opened`).

Nothing here writes to stderr on success: nbgrader gives a test cell with any
stderr output 0 points.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import secrets
import shutil
import tempfile
import warnings
from pathlib import Path

from grader.course import MODULES
from grader.engine import runner
from grader.engine.notebooks import ExportedModule, export_modules, in_notebook_terms, write_package
from grader.errors import CheckFailed, SiblingMissing
from grader.limits import LIMITS
from grader.worker.dispatcher import Submission

SEED_VARIABLE = "DLGRADE_HIDDEN_SEED"  # set by the course's nbgrader_config.py
FOLDER_VARIABLE = "DLGRADE_NOTEBOOK_FOLDER"  # set by share_submission_folder during autograde
EXPORTS_PREFIX = "dlgrade-notebooks-"  # then the kernel's PID: tempfile's folder holds one per kernel


def plural(count: float, noun: str) -> str:
    return f"{count:g} {noun}{'' if count == 1 else 's'}"


# ----------------------------------------------------------------------------- the kernel's state


class _Exports:
    """Per kernel: exported packages by content, and the results of the runs on them."""

    def __init__(self):
        self._directory: tempfile.TemporaryDirectory | None = None
        self.packages: dict[str, tuple[Path, dict[str, ExportedModule]]] = {}
        self.submissions: dict[str, object] = {}
        self.results: dict[tuple, object] = {}
        self.random_seed = secrets.randbits(128)

    def package(self, folder: Path) -> tuple[str, Path, dict[str, ExportedModule]]:
        modules = export_modules(folder)
        digest = hashlib.sha256(
            "\0".join(f"{name}\0{module.text}" for name, module in modules.items()).encode()
        ).hexdigest()[:16]
        if digest not in self.packages:
            if self._directory is None:
                remove_stale_exports()
                self._directory = tempfile.TemporaryDirectory(prefix=f"{EXPORTS_PREFIX}{os.getpid()}-")
            destination = Path(self._directory.name) / digest
            write_package(modules, destination)
            self.packages[digest] = (destination, modules)
        return digest, *self.packages[digest]


_state = _Exports()


def remove_stale_exports(folder: Path | None = None):
    """Remove this user's exports (the student's code) left by kernels that have ended.

    A kernel removes its own at exit, but nbgrader and Jupyter often end kernels
    at once (SIGKILL), and every notebook graded left a folder behind: a class's
    autograde, hundreds. A folder's PID names its kernel; another user's, or a
    live process's, is left as it is.
    """
    for path in Path(folder or tempfile.gettempdir()).glob(f"{EXPORTS_PREFIX}*-*"):
        pid = path.name.removeprefix(EXPORTS_PREFIX).split("-", 1)[0]
        try:
            if not pid.isdigit() or path.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:  # gone meanwhile, or a process of another user: alive
            continue


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
    folder = notebook_folder()
    if module not in MODULES:
        raise SiblingMissing(f"{module!r} is not a module of the course ({', '.join(MODULES)})")
    if not (folder / f"{module}.ipynb").is_file():
        raise SiblingMissing(
            f"there is no {module}.ipynb in {folder}: this notebook uses it, keep the "
            "course's notebooks together in one folder"
        )
    with _quiet():
        digest, destination, _ = _state.package(folder)
        if digest not in _state.submissions:
            _state.submissions[digest] = Submission(destination)
    try:
        loaded = getattr(_state.submissions[digest], module)
    except Exception as error:
        raise SiblingMissing(
            f"{module}.ipynb (as saved) could not be loaded: {type(error).__name__}: {error}"
        ) from None
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
    folder = notebook_folder()
    if not (folder / f"{module}.ipynb").is_file():
        raise CheckFailed(
            f"there is no {module}.ipynb in {folder}; keep the notebook's name {module}.ipynb and save it there"
        )
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
            _state.results[key] = runner.grade(
                destination,
                modules=[module],
                hidden=with_hidden,
                seed=seed,
                in_process=True,
                time_limit=LIMITS.notebook_module_seconds,
            )
        except RuntimeError as error:
            raise CheckFailed(f"the grader could not grade {module}.ipynb: {error}") from None
    notes = [note for exported in modules.values() for note in exported.notes]
    return _state.results[key], modules, notes


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
            print(
                f"{exercise}: {plural(len(tests), 'check')} passed "
                f"({plural(sum(test.max_score for test in tests), 'point')})"
            )
        return
    kind = "hidden checks" if hidden else "checks"
    lines = [f"{exercise}: {len(failed)} of {len(tests)} {kind} failed (graded from the saved notebooks):"]
    for test in failed:
        output = in_notebook_terms(test.output or "failed", modules)
        if len(output) > LIMITS.notebook_feedback_chars:
            output = output[: LIMITS.notebook_feedback_chars] + " [...]"
        lines.append(f"- {test.name}: " + output.replace("\n", "\n  "))
    lines += [f"note: {note}" for note in notes]
    raise CheckFailed("\n".join(lines))
