"""Where the submission's code runs: the backend protocol, and the in-process backend.

A backend takes one request as plain data (see `grader.worker.dispatcher`)
and returns one reply as plain data. `grader.engine.student.Student` is the
graded suite's handle on a backend; `grader.engine.fixtures` picks one per
grading run: `grader.engine.sandbox.Sandboxed` (a confined worker process,
the default) or `InProcess` (the submission imported into this process: fast,
and not isolated at all).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Protocol

from grader.engine.intake import private_copy


class Backend(Protocol):
    folder: Path  # the private copy of the submission's modules, for static checks (never imported here)
    modules: list[str]  # the course modules the submission has
    isolation: str | None  # how the code is confined, for results.json; None before it started
    cpu_accounting: str  # how `cpu_seconds` is measured, for results.json

    def request(self, request: dict, time_limit: float | None = None) -> dict:
        """Run one request; the reply is {"ok": ...}, {"raised": ...}, {"timeout": s} or {"crashed": why}."""

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the code's processes, measured outside that code."""

    def restart(self) -> None:
        """Load the submission afresh: no state of the earlier requests survives."""

    def end_of_test(self) -> None:
        """Called after every test: whatever the test left running must not cost the next ones."""

    def close(self) -> None:
        """Stop everything the backend started and remove its files."""


class InProcess:
    """Runs the submission inside this process: fast, and not isolated at all.

    Requests and replies still make a JSON round trip, so the suite sees the
    same exactly-typed values as with the sandboxed worker.
    """

    def __init__(self, submission_folder: Path):
        self._temporary = tempfile.TemporaryDirectory(prefix="dlgrade-")
        self.folder = Path(self._temporary.name) / "submission"
        self.isolation = "none (in-process, not isolated)"
        self.cpu_accounting = "advisory: this process's own CPU time"
        self.modules = private_copy(Path(submission_folder), self.folder)
        self.restart()

    def restart(self):
        from grader.worker.dispatcher import Dispatcher

        self._dispatcher = Dispatcher(self.folder)  # a package of its own: the modules are imported afresh

    def request(self, request: dict, time_limit: float | None = None) -> dict:
        reply = self._dispatcher.handle(json.loads(json.dumps(request, allow_nan=False)))
        return json.loads(json.dumps(reply, allow_nan=False))

    def end_of_test(self):
        pass  # nothing here outlives a call but what the process itself keeps

    def cpu_seconds(self) -> float:
        return time.process_time()

    def close(self):
        self._temporary.cleanup()
