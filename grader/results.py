"""The result model: Gradescope's results.json, from which every other format is written."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import MODULES


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
        }


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
        return {module: (round(totals[module][0], 6), round(totals[module][1], 6))
                for module in MODULES if module in totals}

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
    def from_json(cls, data: dict) -> "GradingResult":
        tests = []
        for test in data["tests"]:
            tags = test.get("tags", [])
            module, exercise = tags[0], tags[1] if len(tags) > 1 else ""  # as to_json writes them
            tests.append(TestResult(name=test["name"], number=test["number"], module=module, exercise=exercise,
                                    score=test["score"], max_score=test["max_score"], status=test["status"],
                                    output=test.get("output", ""), visibility=test.get("visibility", "visible"),
                                    hidden="hidden" in tags))
        return cls(tests=tests, execution_time=data.get("execution_time", 0.0), extra=data.get("extra_data", {}))


def write_atomically(path: Path, text: str):
    """Write `text` to `path` so that a reader sees the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save(result: GradingResult, path: Path):
    write_atomically(path, json.dumps(result.to_json(), indent=2) + "\n")


def load(path: Path) -> GradingResult:
    return GradingResult.from_json(json.loads(Path(path).read_text()))
