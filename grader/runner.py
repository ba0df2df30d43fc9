"""Grading one submission: open it (folder or zip), run the graded suite, return the result.

The suite runs in a fresh trusted process (`python -m pytest` over
`grader/suite`, and `grader/hidden` when hidden tests are asked for), which in
turn starts the sandboxed worker. That process rewrites a partial results file
after every test, so a submission that exhausts its total time (or a run that
is killed) still yields every test graded so far, the rest marked not run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from grader import notebook
from grader.course import MODULES
from grader.limits import LIMITS
from grader.results import GradingResult
from grader.submission import SubmissionError, locate, module_files

GRADER = Path(__file__).resolve().parent
SUITE, HIDDEN = GRADER / "suite", GRADER / "hidden"
MAX_ZIP_BYTES = 200 * 1024**2


def suite_files(modules=None, hidden: bool = False) -> list[Path]:
    """The graded test files for `modules` (all by default), public first."""
    files = []
    for module in modules or MODULES:
        if (SUITE / f"test_{module}.py").is_file():
            files.append(SUITE / f"test_{module}.py")
        if hidden and (HIDDEN / f"test_{module}.py").is_file():
            files.append(HIDDEN / f"test_{module}.py")
    return files


def pytest_arguments(folder: Path, modules=None, hidden=False, seed=None, in_process=False,
                     results: Path | None = None, partial: Path | None = None, terminal: bool = True) -> list[str]:
    """pytest's command line for grading `folder`; `terminal=False` silences pytest's own output."""
    arguments = [str(path) for path in suite_files(modules, hidden)]
    # `--submission=DIR` as one argument: pytest's first pass over the command
    # line does not know the option yet and would take a separate DIR for a
    # test path, loading any conftest.py the submission ships. `--noconftest`
    # with the grader's fixtures as a named plugin makes sure no conftest.py is
    # ever loaded, wherever it lies.
    arguments += ["-c", str(GRADER / "pytest.ini"), "--rootdir", str(GRADER),
                  f"--submission={Path(folder).resolve()}", "--noconftest", "-p", "grader.conftest",
                  "-p", "no:cacheprovider", "--assert=plain"]
    arguments += ["-q", "--tb=no", "--no-score-table"] if terminal else ["-p", "no:terminal"]
    if hidden:
        arguments.append("--hidden")
    if seed is not None:
        arguments.append(f"--seed={seed}")
    if in_process:
        arguments.append("--in-process")
    if results:
        arguments.append(f"--results={results}")
    if partial:
        arguments.append(f"--partial-results={partial}")
    return arguments


def pytest_environment(threads: int | None = None) -> dict:
    """The grading process's environment: this very grader first on the path, no third-party plugins.

    The grading process must import the `grader` package this runner belongs
    to (a Gradescope bundle's copy, say), not another one installed elsewhere:
    its suite files and its fixtures must come from one place. Only the
    grader's own hooks decide outcomes.
    """
    path = os.pathsep.join(filter(None, [str(GRADER.parent), os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, "PYTHONPATH": path, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                   "PYTHONDONTWRITEBYTECODE": "1"}
    if threads is not None:
        # Submissions graded side by side share the cores: each process computes on its share.
        environment.update({name: str(threads) for name in (
            "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "DLGRADE_WORKER_THREADS")})
    return environment


@dataclasses.dataclass
class Opened:
    """A submission ready to grade: the folder of its modules, and their notebooks' exports if it had notebooks."""

    folder: Path
    notebooks: dict[str, notebook.ExportedModule] | None = None

    def in_its_terms(self, result: GradingResult):
        """Feedback on notebooks names cells (`forward.ipynb, cell 7, line 3`) and the cells left out."""
        if not self.notebooks:
            return
        for test in result.tests:
            test.output = notebook.in_notebook_terms(test.output, self.notebooks)
            exported = self.notebooks.get(test.module)
            if test.status != "passed" and exported is not None:
                test.output += "".join(f"\nnote: {note}" for note in exported.notes)


@contextlib.contextmanager
def opened(path: Path):
    """The submission at `path` (a folder or a .zip, of modules or notebooks), ready to grade."""
    path = Path(path)
    is_zip = path.suffix.lower() == ".zip"
    with contextlib.ExitStack() as stack:
        root = path
        if is_zip:
            if not path.is_file():
                raise SubmissionError(f"{path}: no such file; give an existing .zip or folder")
            temporary = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dlgrade-zip-")))
            extract_zip(path, temporary)
            entries = [entry for entry in temporary.iterdir() if entry.name != "__MACOSX"]
            root = entries[0] if len(entries) == 1 and entries[0].is_dir() else temporary
        try:
            submission = stack.enter_context(modules_of(root))
        except SubmissionError as error:
            if not is_zip:
                raise
            raise SubmissionError(f"{path}: {str(error).split(': ', 1)[-1]}") from None
        yield submission


@contextlib.contextmanager
def modules_of(path: Path):
    """The .py modules at `path`; a folder of <module>.ipynb notebooks is exported to modules first.

    Notebooks (an nbgrader submission, say) are read as data and their code
    cells written out as modules (`grader.notebook`), so they are graded in the
    sandbox like any other submission.
    """
    try:
        folder = locate(path).resolve()  # the grading process runs elsewhere: no relative paths
    except SubmissionError:
        if not (path.is_dir() and module_files(path, ".ipynb")):
            raise
        folder = None
    if folder is not None:
        yield Opened(folder)
        return
    with tempfile.TemporaryDirectory(prefix="dlgrade-notebooks-") as temporary:
        exported = notebook.export_modules(path)
        notebook.write_package(exported, Path(temporary))
        yield Opened(Path(temporary).resolve(), exported)


def extract_zip(path: Path, destination: Path):
    """Extract the .py and .ipynb files of a zip, refusing absolute paths, '..', links and zip bombs."""
    try:
        archive = zipfile.ZipFile(path)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise SubmissionError(f"{path}: not a readable zip file ({error}); re-create it with `zip -r`") from None
    with archive:
        if sum(member.file_size for member in members) > MAX_ZIP_BYTES:
            raise SubmissionError(f"{path}: unpacks to more than {MAX_ZIP_BYTES // 1024**2} MB")
        for member in members:
            name = Path(member.filename)
            is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
            unsafe = is_link or name.is_absolute() or ".." in name.parts
            if member.is_dir() or unsafe or name.suffix not in (".py", ".ipynb"):
                continue
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                target.write_bytes(archive.read(member))
            except (zipfile.BadZipFile, OSError, RuntimeError) as error:
                raise SubmissionError(f"{path}: {member.filename} cannot be read ({error})") from None


def grade(path: Path, *, modules=None, hidden=False, seed=None, in_process=False,
          time_limit: float = LIMITS.submission_seconds, work_dir: Path | None = None,
          threads: int | None = None) -> GradingResult:
    """Grade the submission at `path` in a fresh trusted process and return its result.

    `threads` caps the compute threads of both processes (for batches run in parallel).
    """
    with opened(path) as submission, tempfile.TemporaryDirectory(prefix="dlgrade-run-", dir=work_dir) as temporary:
        results, partial = Path(temporary) / "results.json", Path(temporary) / "partial.json"
        command = [sys.executable, "-m", "pytest",
                   *pytest_arguments(submission.folder, modules, hidden, seed, in_process, results, partial)]
        process = subprocess.Popen(command, cwd=temporary, env=pytest_environment(threads),
                                   stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            output, _ = process.communicate(timeout=time_limit)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            timed_out = True
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        for candidate in (results, partial):
            if candidate.is_file():
                try:
                    result = GradingResult.from_json(json.loads(candidate.read_text()))
                    break
                except (ValueError, KeyError):
                    continue
        else:
            detail = output.decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError("the grader produced no result: " + " | ".join(detail))
        if timed_out or candidate == partial:
            reason = (f"not run: grading this submission ran out of its total time ({time_limit:g} s)"
                      if timed_out else "not run: the grading process stopped early")
            for test in result.tests:
                if test.output == "not run":
                    test.output = reason
            result.extra["incomplete"] = reason
        submission.in_its_terms(result)
        return result
