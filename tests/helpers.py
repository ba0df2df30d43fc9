"""Helpers for the project's own tests: build submissions and grade them for real."""

from __future__ import annotations

import dataclasses
import shutil
import signal
from pathlib import Path

from grader.course import MODULES
from grader.engine import runner
from grader.engine.cgroup import MemoryGroup
from grader.results.model import GradingResult

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


@dataclasses.dataclass
class Variant:
    """The reference with one module's text changed.

    `edits` are (old, new) pairs applied to solutions/<module>.py; each `old`
    must occur exactly once. A broken variant must lose points in its own
    module (only there and in the modules that import it); `feedback`, when
    given, must appear in the feedback of one of its failed tests. A correct
    variant (`correct=True`) must score full marks.
    """

    name: str
    module: str
    edits: list[tuple[str, str]]
    feedback: str | None = None
    correct: bool = False

    def __str__(self):
        return self.name


def answers_ctrl_c():
    """A Popen `preexec_fn`: the child answers SIGINT as from a terminal, even if the suite was started in
    the background (a shell without job control starts its background jobs with SIGINT ignored, and a
    Python child would then inherit that and never see a Ctrl-C)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def make_submission(folder: Path, module: str | None = None, edits=(), base: Path = SOLUTIONS) -> Path:
    """A copy of `base` (the reference by default) with `edits` applied to `module`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in MODULES:
        shutil.copyfile(base / f"{name}.py", folder / f"{name}.py")
    (folder / "__init__.py").write_text("")
    if module is not None:
        path = folder / f"{module}.py"
        text = path.read_text()
        for old, new in edits:
            count = text.count(old)
            assert count == 1, f"edit target occurs {count} times in {module}.py: {old!r}"
            text = text.replace(old, new)
        path.write_text(text)
    return folder


_LANES = []


def grade(submission: Path, modules=None, hidden: bool = False, **options) -> GradingResult:
    """Grade `submission` the way a batch of `dlgrade grade` does and return the result.

    A fresh grading process, forked by one of this test run's lanes
    (`grader.engine.lanes`), with a sandboxed worker forked by the lane's
    worker template: the path every batch takes, paying the imports once.
    """
    if not _LANES:
        import atexit

        from grader.engine.lanes import Lanes
        from grader.limits import LIMITS

        _LANES.append(Lanes(runner.pytest_environment(LIMITS.threads)))  # as a batch's lanes
        atexit.register(_LANES[0].close)
    with _LANES[0].lane() as lane:
        return runner.grade(Path(submission), modules=modules, hidden=hidden, lane=lane, **options)


def failures(result: GradingResult) -> str:
    """Every failed test's feedback, for assertion messages."""
    return "\n".join(f"{test.number} {test.name}: {test.output}" for test in result.tests if test.status != "passed")


def grade_many_in_process(jobs: list[tuple], processes: int = 2) -> list[GradingResult]:
    """Grade (submission, modules[, options]) jobs in-process, `processes` worker processes taking the next
    job not yet taken as each finishes one (jobs differ in cost by 10x: a fixed share would leave one idle).

    `options` are tests.grade_many's per-job keys: "seed" turns the hidden
    tests on with that seed, "public": False leaves the public ones out.

    Much faster than one `grade` per submission (one import of PyTorch per
    process instead of two per submission); only for honest code.
    """
    import json
    import subprocess
    import sys
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="dlgrade-many-"))
    entries = [
        {
            "submission": str(Path(job[0]).resolve()),
            "modules": list(job[1]),
            "results": str(folder / f"{index}.json"),
            **(job[2] if len(job) > 2 else {}),
        }
        for index, job in enumerate(jobs)
    ]
    jobs_file = folder / "jobs.json"
    jobs_file.write_text(json.dumps(entries))
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.grade_many", str(jobs_file)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(min(processes, len(entries)))
    ]
    errors = [process.communicate()[1] for process in running]
    results = []
    for entry in entries:
        path = Path(entry["results"])
        if not path.is_file():
            raise AssertionError(f"no result for {entry['submission']}:\n" + "\n".join(errors)[-3000:])
        results.append(GradingResult.from_json(json.loads(path.read_text())))
    shutil.rmtree(folder)
    return results


def memory_groups_work() -> bool:
    """Whether this machine lets the sandbox put a worker in a memory cgroup (grader.engine.cgroup)."""
    group = MemoryGroup.create(1 << 30)
    if group is not None:
        group.remove()
    return group is not None
