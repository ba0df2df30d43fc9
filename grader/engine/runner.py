"""Grading one submission: open it (folder, zip, notebooks), run the graded suite, return the result.

`grade` is the one path from a submission to its `GradingResult`, for
`dlgrade check`, `dlgrade grade`, the doors and the notebook checks alike.
The suite (`grader/suite`, and `grader/hidden` when hidden tests are asked
for) runs under pytest with the plugin of `grader.engine.fixtures`, which
starts the submission's backend (the sandboxed worker by default).

By default pytest runs in a fresh trusted process (in a batch, a fork of a
lane that has imported the suite and torch once: `grader.engine.lanes`) that
rewrites a partial results file after every test, so a submission that exhausts its total time
(or a run that is killed) still yields every test graded so far, the rest
marked not run. `fresh_process=False` runs it in this process instead
(`dlgrade check`: a second interpreter would cost a second start-up).
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader.course import MODULES
from grader.engine import intake, seeds
from grader.engine.sandbox import preflight
from grader.limits import LIMITS
from grader.results.model import GradingResult
from grader.system import run_in_own_group

GRADER = Path(__file__).resolve().parent.parent
SUITE, HIDDEN = GRADER / "suite", GRADER / "hidden"


def suite_files(modules=None, hidden: bool = False) -> list[Path]:
    """The graded test files for `modules` (all by default), public first."""
    files = []
    for module in modules or MODULES:
        if (SUITE / f"test_{module}.py").is_file():
            files.append(SUITE / f"test_{module}.py")
        if hidden and (HIDDEN / f"test_{module}.py").is_file():
            files.append(HIDDEN / f"test_{module}.py")
    return files


def graded_exercises(folder: Path = SUITE, modules=MODULES) -> dict[str, list[str]]:
    """{module: the functions the @graded tests of `folder`'s test_<module>.py check, in file order}.

    Read from the decorators' source, never by importing the tests: a test is
    a module-level function, so only those decorators are read.
    """
    found: dict[str, list[str]] = {}
    for module in modules:
        path = Path(folder) / f"test_{module}.py"
        if not path.is_file():
            continue
        calls = [
            decorator
            for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.FunctionDef)
            for decorator in node.decorator_list
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "graded"
        ]
        names = [
            keyword.value.value
            for call in sorted(calls, key=lambda call: call.lineno)
            for keyword in call.keywords
            if keyword.arg == "exercise"
        ]
        found[module] = list(dict.fromkeys(names))
    return found


def pytest_arguments(
    folder: Path,
    modules=None,
    hidden=False,
    seed=None,
    in_process=False,
    results: Path | None = None,
    partial: Path | None = None,
    terminal: bool = True,
    allow_weak_isolation: bool = False,
    exercises: tuple[str, ...] = (),
    first: bool = False,
) -> list[str]:
    """pytest's command line for grading `folder`; `terminal=False` silences pytest's own output.

    `exercises` keeps only the tests of those functions; `first` stops at the first failing test.
    """
    arguments = [str(path) for path in suite_files(modules, hidden)]
    # `--submission=DIR` as one argument: pytest's first pass over the command
    # line does not know the option yet and would take a separate DIR for a
    # test path, loading any conftest.py the submission ships. `--noconftest`
    # with the grader's fixtures as a named plugin makes sure no conftest.py is
    # ever loaded, wherever it lies.
    arguments += [
        "-c",
        str(GRADER / "pytest.ini"),
        "--rootdir",
        str(GRADER),
        f"--submission={Path(folder).resolve()}",
        "--noconftest",
        "-p",
        "grader.engine.fixtures",
        "-p",
        "no:cacheprovider",
        # Neither decides an outcome; the first costs 0.5 s of garbage collection at the end.
        "-p",
        "no:unraisableexception",
        "-p",
        "no:logging",
        "--assert=plain",
    ]
    arguments += ["-q", "--tb=no", "--no-score-table"] if terminal else ["-p", "no:terminal"]
    if hidden:
        arguments.append("--hidden")
    if seed is not None:
        arguments.append(f"--seed={seed}")
    if in_process:
        arguments.append("--in-process")
    if allow_weak_isolation:
        arguments.append("--allow-weak-isolation")
    arguments += [f"--exercise={name}" for name in exercises]
    if first:
        arguments.append("--exitfirst")
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
    environment = {
        **os.environ,
        "PYTHONPATH": path,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if threads is not None:
        # The grading process and its workers compute on this many threads (LIMITS.threads says why).
        environment.update(
            {
                name: str(threads)
                for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "DLGRADE_WORKER_THREADS")
            }
        )
    return environment


class _ResultOf:
    """A pytest plugin that keeps the scoring plugin's final result (pytest run in this process)."""

    def __init__(self):
        self.result: GradingResult | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        from grader.engine.scoring import RESULT

        self.result = session.config.stash.get(RESULT, None)


def grade(
    path: Path | intake.Opened,
    *,
    modules=None,
    hidden=False,
    seed=None,
    in_process=False,
    allow_weak_isolation=False,
    time_limit: float = LIMITS.submission_seconds,
    work_dir: Path | None = None,
    threads: int | None = LIMITS.threads,
    fresh_process: bool = True,
    exercises: tuple[str, ...] = (),
    first: bool = False,
    progress=None,
    lane=None,
) -> GradingResult:
    """Grade the submission at `path` (or one already opened) and return its result.

    `threads` caps the compute threads of both processes (LIMITS.threads by default;
    None: the libraries' own defaults). `fresh_process=False` runs pytest in this process, without a
    total time limit (see the module's docstring); there `progress(done, total, module)`
    is called as each test starts and once more at the end. `lane` (a batch's
    `grader.engine.lanes.Lane`) runs the fresh process as a fork of itself. Raises `IsolationRefused`
    before anything runs where the sandbox would run the code as root
    (`grader.engine.sandbox.preflight`), unless `allow_weak_isolation`.
    """
    if not in_process:
        preflight(allow_weak_isolation=allow_weak_isolation)
    deadline = time.monotonic() + time_limit  # opening (unpacking a zip) counts against the submission's time
    with contextlib.ExitStack() as stack:
        submission = path if isinstance(path, intake.Opened) else stack.enter_context(intake.opened(path, deadline))
        if hidden and seed is None:
            seed = seeds.submission_seed(submission.folder)  # None without a course secret: drawn per run
        suite = dict(
            modules=modules,
            hidden=hidden,
            seed=seed,
            in_process=in_process,
            allow_weak_isolation=allow_weak_isolation,
            exercises=tuple(exercises),
            first=first,
        )
        if fresh_process:
            result = _in_fresh_process(submission.folder, suite, time_limit, deadline, work_dir, threads, lane)
        else:
            result = _in_this_process(submission.folder, suite, progress)
        submission.in_its_terms(result)
        return result


class _Progress:
    """A pytest plugin that tells `progress(done, total, module)` as each test starts, and at the end."""

    def __init__(self, progress):
        self.progress, self.total, self.done = progress, 0, 0

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        self.total = len(session.items)

    def pytest_runtest_logstart(self, nodeid, location):
        from grader.engine.scoring import module_name

        self.progress(self.done, self.total, module_name(location[0]))
        self.done += 1

    def pytest_sessionfinish(self, session):
        self.progress(self.total, self.total, None)


def _in_this_process(folder: Path, suite: dict, progress=None) -> GradingResult:
    os.environ.update({"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    keeper = _ResultOf()
    plugins = [keeper] + ([_Progress(progress)] if progress else [])
    code = pytest.main(pytest_arguments(folder, **suite, terminal=False), plugins=plugins)
    if keeper.result is None:
        raise RuntimeError(f"the grader could not run (pytest exit code {int(code)})")
    return keeper.result


def _in_fresh_process(folder: Path, suite: dict, time_limit, deadline, work_dir, threads, lane=None) -> GradingResult:
    with tempfile.TemporaryDirectory(prefix="dlgrade-run-", dir=work_dir) as temporary:
        # Everything the grading writes lies in here and goes with it, however the grading ended:
        # its results (readable by this user only) and, under tmp/, the sandbox's files, which
        # the worker's own user must reach (grader.engine.sandbox).
        run = Path(temporary)
        os.chmod(run, 0o711)
        (run / "results").mkdir(mode=0o700)
        (run / "tmp").mkdir()
        os.chmod(run / "tmp", 0o711)
        results, partial = run / "results" / "results.json", run / "results" / "partial.json"
        arguments = pytest_arguments(folder, **suite, results=results, partial=partial)
        timeout = max(1.0, deadline - time.monotonic())
        environment = {**pytest_environment(threads), "TMPDIR": str(run / "tmp")}
        if lane is not None:
            completed = lane.run(arguments, run / "results", timeout, environment)
        else:
            completed = run_in_own_group(
                [sys.executable, "-m", "pytest", *arguments],
                timeout,
                address_space_bytes=LIMITS.trusted_memory_bytes,
                cwd=run / "results",
                env=environment,
                stderr=subprocess.STDOUT,
            )
        for candidate in (results, partial):
            if candidate.is_file():
                try:
                    result = GradingResult.from_json(json.loads(candidate.read_text()))
                    break
                except (ValueError, KeyError):
                    continue
        else:
            detail = completed.stdout.decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError("the grader produced no result: " + " | ".join(detail))
        if completed.timed_out or candidate == partial:
            reason = (
                f"not run: grading this submission ran out of its total time ({time_limit:g} s)"
                if completed.timed_out
                else "not run: the grading process stopped early"
            )
            for test in result.tests:
                if test.output == "not run":
                    test.output = reason
            result.extra["incomplete"] = reason
        return result
