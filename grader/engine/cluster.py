"""Grading on a Dask cluster: one task per submission, the result sent back as plain data.

    dlgrade grade SUBMISSIONS --out OUT --scheduler tcp://HOST:8786

The batch (grader.engine.batch) stays where it is, on the instructor's
machine: it opens each submission there (a zip, notebooks), and sends a Dask
worker only the module files' bytes and the options, with the hidden tests'
seed already drawn (the course secret never leaves this machine). The task
(`grade_files`) writes the files into a folder of its own and grades them
with `grader.engine.runner.grade` in one of the Dask worker's lanes
(`grader.engine.lanes`), the same sandboxed way as a local batch
(so run the Dask workers as root on Linux for full isolation, as locally), and
returns results.json's data. This side writes the files, atomically, exactly
once per submission: a task whose worker is lost mid-grading is run again
elsewhere by the scheduler, and only the result that comes back is written.

Every Dask worker needs this same dlgrade installed, with the instructor's
`grader/hidden/` tests (the package from the course repository, not a
student release): a task refuses to grade with another version.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from grader.course import module_files
from grader.engine import intake, seeds
from grader.errors import UsageError
from grader.results.model import GradingResult
from grader.system import RUNNING

STOP_POLL_SECONDS = 0.5  # how soon a Ctrl-C reaches the tasks in flight
TASK_RETRIES = 2  # a task that raised (its worker's disk full, say) is tried this many more times


def grade_files(files: dict[str, bytes], options: dict, version: str) -> dict:
    """Run on a Dask worker: grade the module files `files` (name -> bytes) and return results.json's data."""
    import grader
    from grader.engine import runner

    if version != grader.__version__:
        raise RuntimeError(f"this Dask worker has dlgrade {grader.__version__}; the batch runs {version}")
    with tempfile.TemporaryDirectory(prefix="dlgrade-task-") as temporary:
        folder = Path(temporary) / "submission"
        folder.mkdir()
        for name, data in files.items():
            if Path(name).name != name or not name.endswith(".py"):
                raise ValueError(f"{name!r} is not a module file's name")
            (folder / name).write_bytes(data)
        with _lanes(options.get("modules")).lane() as lane:
            return runner.grade(folder, work_dir=Path(temporary), lane=lane, **options).to_json()


_LANES = {}


def _lanes(modules):
    """This Dask worker's lanes (`grader.engine.lanes`) for gradings of `modules`: its tasks share them."""
    from grader.engine import runner
    from grader.engine.lanes import Lanes
    from grader.limits import LIMITS

    key = tuple(modules or ())
    if key not in _LANES:
        _LANES.setdefault(key, Lanes(runner.pytest_environment(LIMITS.threads), modules))  # one, where two tasks race
    return _LANES[key]


class Cluster:
    """A connection to a Dask scheduler that grades one submission per task."""

    def __init__(self, address: str):
        try:
            from dask.distributed import Client
        except ImportError as error:
            raise UsageError(
                "--scheduler needs Dask's distributed scheduler: pip install 'dlgrade[cluster]'"
            ) from error
        try:
            self.client = Client(address, timeout=30, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise UsageError(f"--scheduler {address}: no Dask scheduler answers there ({error})") from error

    @property
    def threads(self) -> int:
        """How many tasks the cluster's workers run at once."""
        return max(1, sum(self.client.nthreads().values()))

    def grade(self, path, options: dict) -> GradingResult:
        """Grade the submission at `path` (or one already opened) on the cluster, as runner.grade would here."""
        import grader

        options = dict(options)
        already = isinstance(path, intake.Opened)
        with contextlib.nullcontext(path) if already else intake.opened(path) as submission:
            if options.get("hidden") and options.get("seed") is None:
                options["seed"] = seeds.submission_seed(submission.folder)  # the secret stays here
            files = {f"{name}.py": module.read_bytes() for name, module in module_files(submission.folder).items()}
            future = self.client.submit(
                grade_files, files, options, grader.__version__, pure=False, retries=TASK_RETRIES
            )
            try:
                result = GradingResult.from_json(_result(future))
            finally:
                future.release()
            submission.in_its_terms(result)
            return result

    def close(self):
        self.client.close()


def _result(future):
    """The task's result. On Ctrl-C (`RUNNING.stop()`) the task is cancelled and KeyboardInterrupt raised at once.

    A task not started yet never starts; one already running on a Dask
    worker finishes there (Dask cannot interrupt a task), and its result is dropped.
    """
    while True:
        try:
            return future.result(timeout=STOP_POLL_SECONDS)
        except TimeoutError:
            if RUNNING.stopping:
                future.cancel()
                raise KeyboardInterrupt("stopped while it ran") from None
