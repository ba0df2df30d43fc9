"""Where a submission's score is decided: a pytest plugin over the graded suite.

Every graded test carries `@graded(points=..., exercise=...)`. A test earns
its points when it passes and nothing otherwise: a failure, an error, a skip
(missing work is never skipped) or a timeout all score 0.

Hidden tests (grader/hidden/, instructors' grading only) are worth 0 points
themselves: each redraws, from a secret seed (grader.engine.seeds), the kind
of input of the public tests it names in `rechecks`, and when it fails, those
of them that passed lose their points (an answer that passes only the
published inputs, a lookup table say, earns nothing), while a visible mistake
costs what it costs without hidden tests. A hidden test that never ran (the
run was cut short) withdraws nothing, and one whose re-checked public tests
all failed is not run: it could withdraw nothing. Every public test is named by one
(tests/test_suite_structure.py), so no point rests on the published inputs
alone, nor on what a probe in the student's process says about itself:
probes return raw values, and the suites compare them with their own
recomputation. The public score is so the
most a hidden run can give, and every module keeps its points total. The
plugin numbers the tests `<module index>.<test index>` in course order, keeps the student's
feedback for every failure, prints the score table and writes the result
model (`grader.results.model`). The result is also left in `config.stash[RESULT]`
for a caller that ran pytest in its own process (`grader.engine.runner`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest

from grader.course import MODULES, module_index
from grader.engine.backends import Backend
from grader.engine.student import printable
from grader.errors import Mismatch, StudentFailure
from grader.results.model import GradingResult, TestResult, save

# What a grading run keeps in pytest's config.stash (never in the result's extra_data):
BACKEND = pytest.StashKey[Backend]()  # the live backend running the submission (grader.engine.fixtures)
RUN_FACTS = pytest.StashKey[dict]()  # facts of the run recorded in results.json: seed, submission
RESULT = pytest.StashKey[GradingResult]()  # the final result, once the session finished
PICTURES = pytest.StashKey[dict]()  # plain data public tests kept for the course's pictures (grader.results.pictures)


def graded(points: float, exercise: str, time_limit: float | None = None, rechecks: tuple[str, ...] = ()):
    """Mark a test as graded: worth `points`, checking the student's `exercise`.

    A hidden test names in `rechecks` the public tests of its module whose
    kind of input it draws afresh; failing, it withdraws the points of those
    that passed, and of no other (empty: every public test of the exercise).
    """
    return pytest.mark.graded(points=points, exercise=exercise, time_limit=time_limit, rechecks=tuple(rechecks))


def module_of(item) -> str | None:
    """The course module a suite file checks: test_<module>.py."""
    return module_name(str(item.fspath))


def module_name(path: str) -> str | None:
    """The course module of a suite file's path: test_<module>.py."""
    stem = Path(path).stem.removeprefix("test_")
    return stem if stem in MODULES else None


def is_hidden(item) -> bool:
    """Hidden tests live in grader/hidden/."""
    return Path(str(item.fspath)).parent.name == "hidden"


def failure_facts(error: BaseException) -> dict:
    """What a failure was, as plain fields (see grader.errors.StudentFailure.facts)."""
    facts = getattr(error, "facts", None)
    if isinstance(error, (Mismatch, StudentFailure)) and isinstance(facts, dict):
        return {key: value for key, value in facts.items() if value not in (None, "")}
    return {"kind": "wrong"}  # the suite's own code stopped on what the student's code returned


HIDDEN_WHAT = {
    "wrong": "wrong result from {exercise}",
    "not-attempted": "{exercise} is not attempted yet",
    "import": "the module does not import",
    "raised": "your code raised {exception}",
    "timeout": "your code did not finish in time",
    "crashed": "your code ended the process running it",
}


def feedback_text(error: BaseException, hidden: bool, exercise: str = "") -> str:
    """What the student reads for a failed test.

    A hidden test's inputs and expected values stay secret, and so does any
    text the student's code produced from them (an exception message can echo
    its arguments): its feedback is made from the failure's fields alone (its
    kind, the exercise, a built-in exception's name), never from its text.
    """
    if not hidden:
        if isinstance(error, (Mismatch, StudentFailure)):
            return str(error)
        return (
            "the check could not use what your code returned: it does not have the structure the exercise "
            "asks for (see the exercise's return value in the contract)"
        )
    facts = failure_facts(error)
    exception = facts.get("exception", "Exception")  # a validated built-in's name (grader.engine.student)
    what = HIDDEN_WHAT.get(facts["kind"], HIDDEN_WHAT["wrong"]).format(exercise=exercise, exception=exception)
    return f"hidden test failed: {what}"


PARTIAL_SAVE_SECONDS = 0.5  # how far the partial results file may lag behind the tests


class _PartialSaver:
    """Rewrites the partial results file from a thread, at most every PARTIAL_SAVE_SECONDS while tests end.

    A grading killed at any moment (its total time, say) keeps every test that
    ended more than that before. Rewritten after every test instead, the file
    cost about 0.6 s of CPU per grading: 178 rewrites of 3.4 ms, each of the
    whole result. The thread writes while the tests wait for the worker.
    """

    def __init__(self, path: Path, build):
        self._path, self._build = path, build
        self._changed, self._stopped = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="dlgrade-partial-results", daemon=True)
        self._thread.start()

    def changed(self):
        self._changed.set()

    def _run(self):
        while True:
            self._changed.wait()
            if self._stopped.is_set():
                return
            self._changed.clear()
            save(self._build(), self._path, partial=True)
            self._stopped.wait(PARTIAL_SAVE_SECONDS)

    def stop(self):
        self._stopped.set()
        self._changed.set()
        self._thread.join()


class ScoringPlugin:
    def __init__(self, config):
        self.config = config
        self._lock = threading.Lock()  # the results, between the tests and the partial saver's thread
        partial = config.getoption("partial_results")
        self._saver = _PartialSaver(Path(partial), self.result) if partial else None
        self.results: dict[str, TestResult] = {}
        self.order: list[str] = []
        self.rechecks: dict[str, tuple[str, ...]] = {}  # hidden test -> the public tests it re-checks
        self.kinds: dict[str, str] = {}  # hidden test -> what its fresh inputs are (its docstring's first line)
        self.ran: set[str] = set()  # tests that got as far as their call
        self.moot: dict[str, str] = {}  # hidden tests not run, their re-checked public tests having failed
        self.started = time.monotonic()
        # When each phase began (wall clock, for bench/grading.py's breakdown; worth nothing).
        self.timings = {"configured": time.time()}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        for item in items:
            if item.get_closest_marker("graded") is None and item.get_closest_marker("cuda") is None:
                raise pytest.UsageError(f"{item.nodeid}: a graded suite test needs @graded(points, exercise)")
            if module_of(item) is None:
                raise pytest.UsageError(f"{item.nodeid}: suite files are named test_<module>.py")
        # Every public test first, then the hidden ones (in a fresh worker, see grader.engine.fixtures):
        # nothing a hidden input left behind can reappear in a public test's feedback.
        items.sort(key=lambda item: (is_hidden(item), module_index(module_of(item))))
        numbers, counters = {}, {}
        for item in items:  # numbered before any selection: a test keeps its number under `-k`
            if item.get_closest_marker("graded") is not None:
                module = module_of(item)
                counters[module] = counters.get(module, 0) + 1
                numbers[item.nodeid] = f"{module_index(module)}.{counters[module]}"
        wanted = config.getoption("exercise")
        if wanted:
            chosen = [
                item
                for item in items
                if item.get_closest_marker("graded") is not None
                and item.get_closest_marker("graded").kwargs["exercise"] in wanted
            ]
            config.hook.pytest_deselected(items=[item for item in items if item not in chosen])
            items[:] = chosen
        for item in items:
            marker = item.get_closest_marker("graded")
            if marker is None:
                continue
            module = module_of(item)
            self.order.append(item.nodeid)
            hidden = is_hidden(item)
            if hidden and marker.kwargs["points"] != 0:
                raise pytest.UsageError(f"{item.nodeid}: hidden tests are worth 0 points (see grader.engine.scoring)")
            if hidden:
                self.rechecks[item.nodeid] = tuple(marker.kwargs.get("rechecks", ()))
                doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines()
                self.kinds[item.nodeid] = doc[0].rstrip(".") if doc else ""
            self.results[item.nodeid] = TestResult(
                name=item.name,
                number=numbers[item.nodeid],
                module=module,
                exercise=marker.kwargs["exercise"],
                score=0.0,
                max_score=float(marker.kwargs["points"]),
                status="failed",
                output="not run",
                failure={"kind": "not-run"},
                hidden=hidden,
                visibility="after_published" if hidden else "visible",
            )

    def pytest_collection_finish(self, session):
        self.timings["collected"] = time.time()

    def _rechecked(self, nodeid: str, public: dict) -> list[str]:
        """The names of the public tests the hidden test `nodeid` re-checks (its exercise's, if it names none)."""
        hidden = self.results[nodeid]
        return list(self.rechecks.get(nodeid) or ()) or [
            name
            for (module, name), test in public.items()
            if (module, test.exercise) == (hidden.module, hidden.exercise)
        ]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        """A hidden test is not run when every public test it re-checks ran here and failed.

        A re-check can only withdraw points those tests earned, so it could
        change nothing: a broken training, say, would be trained three more
        times for no point. Where one of them passed, or did not run (a run
        with the hidden tests alone), the re-check runs.
        """
        if item.nodeid not in self.rechecks:
            return
        with self._lock:
            public = {(test.module, test.name): test for test in self.results.values() if not test.hidden}
            tests = [
                public.get((self.results[item.nodeid].module, name)) for name in self._rechecked(item.nodeid, public)
            ]
            if not tests or any(
                test is None or test.status != "failed" or (test.failure or {}).get("kind") == "not-run"
                for test in tests
            ):
                return
            self.moot[item.nodeid] = ", ".join(test.number for test in tests)
        pytest.skip("moot")

    def pytest_runtest_logfinish(self, nodeid, location):
        self.timings["tests_done"] = time.time()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if item.nodeid not in self.results:
            return
        with self._lock:
            self._record(item, call, report)
        if report.when == "teardown" and self._saver is not None:
            self._saver.changed()

    def _record(self, item, call, report):
        result = self.results[item.nodeid]
        if report.when == "call":
            self.ran.add(item.nodeid)
        if report.when == "call" and report.passed:
            result.status, result.score, result.output, result.failure = "passed", result.max_score, "", None
        elif report.failed or report.skipped:
            facts = {"kind": "wrong"}
            if report.skipped and item.nodeid in self.moot:
                message = (
                    f"left out: the public tests it re-checks ({self.moot[item.nodeid]}) failed already, and a "
                    "re-check only withdraws points they earned"
                )
                facts = {"kind": "moot"}
            elif report.skipped:
                message = "skipped, which counts as not passed"
            elif call.excinfo is not None:
                message = feedback_text(call.excinfo.value, result.hidden, result.exercise)
                facts = failure_facts(call.excinfo.value)
                if result.hidden:
                    facts = {key: facts[key] for key in ("kind", "exception") if key in facts}
            else:
                message = "failed"
            result.status, result.score, result.output = "failed", 0.0, printable(message)
            result.failure = {
                key: printable(value) if isinstance(value, str) else value for key, value in facts.items()
            }

    def result(self) -> GradingResult:
        with self._lock:
            tests = {nodeid: dataclasses.replace(self.results[nodeid]) for nodeid in self.order}
            ran = set(self.ran)
        public = {(test.module, test.name): test for test in tests.values() if not test.hidden}
        for nodeid, hidden in tests.items():
            # Only a hidden test that ran and failed withdraws: one the run never reached
            # (cut short, see grader.engine.runner) takes nothing back.
            if not hidden.hidden or hidden.status != "failed" or nodeid not in ran:
                continue
            names = self._rechecked(nodeid, public)
            kind = self.kinds.get(nodeid) or f"fresh inputs for `{hidden.exercise}`"
            for name in names:
                test = public.get((hidden.module, name))
                if test is not None and test.score:
                    test.score, test.status = 0.0, "failed"
                    test.failure = {"kind": "withdrawn", "function": hidden.exercise, "by": hidden.number}
                    test.output = (
                        f"passes the published inputs, but not a hidden re-check on fresh inputs of the same "
                        f"kind ({kind[0].lower() + kind[1:]}), so this test's points are withdrawn: see "
                        f"{hidden.number}, and make `{hidden.exercise}` right for every valid input"
                    )
        extra = dict(self.config.stash.get(RUN_FACTS, {}))
        if self.config.stash.get(PICTURES, None):
            extra["pictures"] = dict(self.config.stash[PICTURES])  # a copy: tests add to it as the saver writes
        backend = self.config.stash.get(BACKEND, None)
        if backend is not None:
            extra["isolation"] = backend.isolation or "not started"
            extra["cpu_time"] = backend.cpu_accounting
            extra["timings"] = {**self.timings, "worker_boots": list(getattr(backend, "boot_seconds", []))}
        return GradingResult(tests=list(tests.values()), execution_time=time.monotonic() - self.started, extra=extra)

    def pytest_sessionfinish(self, session):
        if self._saver is not None:
            self._saver.stop()
        result = self.config.stash[RESULT] = self.result()
        path = self.config.getoption("results")
        if path:
            save(result, Path(path))

    def pytest_terminal_summary(self, terminalreporter):
        if self.config.getoption("score_table"):
            from grader.results.report import score_table

            terminalreporter.write(score_table(self.config.stash.get(RESULT, None) or self.result()))


def add_options(parser):
    group = parser.getgroup("dlgrade")
    group.addoption("--submission", default=None, help="folder holding the modules to grade (default ./exercises)")
    group.addoption("--results", default=None, help="write the results.json here")
    group.addoption(
        "--in-process",
        action="store_true",
        help="import the submission into this process (fast, NOT isolated from the grader)",
    )
    group.addoption(
        "--allow-weak-isolation",
        action="store_true",
        help="run the submission as root where no namespaces or user of its own can be had",
    )
    group.addoption("--hidden", action="store_true", help="also run the hidden tests (instructors' grading)")
    group.addoption("--seed", type=int, default=None, help="seed of the hidden tests' inputs (default: random)")
    group.addoption(
        "--exercise",
        action="append",
        default=[],
        metavar="NAME",
        help="grade only the tests of this exercise (a function's name); repeatable",
    )
    group.addoption(
        "--partial-results", default=None, help="keep this results file up to date (at most 0.5 s behind the tests)"
    )
    group.addoption("--no-score-table", dest="score_table", action="store_false", help="do not print the table")
