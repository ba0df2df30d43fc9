"""Helpers for the project's own tests: build submissions and grade them for real."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader.course import MODULES
from grader.results import GradingResult

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
SUITE = ROOT / "grader" / "suite"


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


def grade(submission: Path, modules=None, extra_args=(), timeout: float = 600) -> GradingResult:
    """Grade `submission` with the graded suite in a fresh process and return the result."""
    results = Path(submission).parent / f"{Path(submission).name}-results.json"
    files = [str(SUITE / f"test_{module}.py") for module in (modules or MODULES)]
    command = [sys.executable, "-m", "pytest", *files, "--submission", str(submission), "--results", str(results),
               "-q", "--tb=no", "--no-score-table", "-p", "no:cacheprovider", *extra_args]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    if not results.exists():
        raise AssertionError(f"the grader wrote no results:\n{completed.stdout}\n{completed.stderr}")
    return GradingResult.from_json(json.loads(results.read_text()))
