"""The result model: Gradescope's results.json, from which every other format is written.

A test's module, exercise, whether it is hidden and why it failed are fields
of `TestResult` and travel in each test's `extra_data`; `tags` repeats them for Gradescope's
display only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import MODULES
from grader.system import write_atomically


@dataclass
class TestResult:
    name: str
    number: str
    module: str
    exercise: str
    score: float
    max_score: float
    status: str  # "passed" | "failed"
    output: str = ""
    visibility: str = "visible"
    hidden: bool = False
    # Why it failed, as plain fields (grader.errors.StudentFailure.facts): kind, and where known
    # function, cause, file, line, exception. None for a passed test.
    failure: dict | None = None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "number": self.number,
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "output": self.output,
            "tags": [self.module, self.exercise] + (["hidden"] if self.hidden else []),
            "visibility": self.visibility,
            "extra_data": {
                "module": self.module,
                "exercise": self.exercise,
                "hidden": self.hidden,
                **({"failure": self.failure} if self.failure else {}),
            },
        }

    @classmethod
    def from_json(cls, data: dict) -> TestResult:
        fields = data["extra_data"]
        return cls(
            name=data["name"],
            number=data["number"],
            module=fields["module"],
            exercise=fields["exercise"],
            score=data["score"],
            max_score=data["max_score"],
            status=data["status"],
            output=data.get("output", ""),
            visibility=data.get("visibility", "visible"),
            hidden=bool(fields.get("hidden", False)),
            failure=fields.get("failure") if isinstance(fields.get("failure"), dict) else None,
        )


@dataclass
class GradingResult:
    tests: list[TestResult] = field(default_factory=list)
    execution_time: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def score(self) -> float:
        return round(sum(test.score for test in self.tests), 6)

    @property
    def max_score(self) -> float:
        return round(sum(test.max_score for test in self.tests), 6)

    def module_scores(self) -> dict[str, tuple[float, float]]:
        """module -> (points earned, points possible), for the modules graded."""
        totals: dict[str, list[float]] = {}
        for test in self.tests:
            entry = totals.setdefault(test.module, [0.0, 0.0])
            entry[0] += test.score
            entry[1] += test.max_score
        return {
            module: (round(totals[module][0], 6), round(totals[module][1], 6)) for module in MODULES if module in totals
        }

    def to_json(self) -> dict:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": round(self.execution_time, 3),
            "output": f"Score: {self.score:g}/{self.max_score:g}",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "extra_data": self.extra,
            "tests": [test.to_json() for test in self.tests],
        }

    @classmethod
    def from_json(cls, data: dict) -> GradingResult:
        return cls(
            tests=[TestResult.from_json(test) for test in data["tests"]],
            execution_time=data.get("execution_time", 0.0),
            extra=data.get("extra_data", {}),
        )


def save(result: GradingResult, path: Path, partial: bool = False):
    """Write `result` to `path` atomically.

    `partial`: a grading's file rewritten after every test, read only if the
    grading is cut short: compact (the C encoder, about 10x faster than the
    indented one) and not synced to disk (it outlives a killed process,
    not a power cut).
    """
    if partial:
        write_atomically(path, json.dumps(result.to_json(), separators=(",", ":")), durable=False)
    else:
        write_atomically(path, json.dumps(result.to_json(), indent=2) + "\n")


def load(path: Path) -> GradingResult:
    return GradingResult.from_json(json.loads(Path(path).read_text()))
