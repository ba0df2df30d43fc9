"""Every output format, written from the one result model (`grader.results.model`).

- Gradescope `results.json`: `GradingResult.to_json()` itself.
- GitHub Classroom grader output: `classroom(result)` (version 1, one entry per
  test with its weighted score) and `classroom_base64` for `$GITHUB_OUTPUT`.
- JUnit XML: `junit(result)`.
- CSV gradebook: `gradebook_csv(rows)`, one row per submission.
- Markdown feedback: `grader.results.report.markdown`.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from grader.course import MODULES
from grader.results.model import GradingResult

SCHEMAS = Path(__file__).resolve().parent / "schemas"


def gradescope(result: GradingResult) -> dict:
    return result.to_json()


def classroom(result: GradingResult) -> dict:
    """GitHub Classroom's autograding result: `{"version": 1, "status", "max_score", "tests": [...]}`."""
    tests = [
        {
            "name": f"{test.number} {test.module}: {test.name}",
            "status": "pass" if test.status == "passed" else "fail",
            "score": test.score,
            "message": test.output,
            "test_code": f"dlgrade grade ({test.module}, {test.exercise})",
            "filename": f"grader/suite/test_{test.module}.py",
            "line_no": 0,
            "duration": 0,
        }
        for test in result.tests
        if test.max_score > 0
    ]
    everything_passed = all(test["status"] == "pass" for test in tests)
    return {
        "version": 1,
        "status": "pass" if everything_passed else "fail",
        "max_score": result.max_score,
        "tests": tests,
    }


def classroom_error(message: str, max_score: float) -> dict:
    """A valid Classroom result for a grading run that could not finish (always with `tests`)."""
    return {
        "version": 1,
        "status": "error",
        "max_score": max_score,
        "tests": [
            {
                "name": "grading",
                "status": "error",
                "score": 0,
                "message": message,
                "test_code": "dlgrade grade",
                "filename": "",
                "line_no": 0,
                "duration": 0,
            }
        ],
    }


def classroom_base64(data: dict) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode("ascii")


def junit(result: GradingResult, suite_name: str = "dlgrade") -> str:
    failures = sum(test.status != "passed" for test in result.tests)
    suite = ElementTree.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(result.tests)),
        failures=str(failures),
        errors="0",
        time=f"{result.execution_time:.3f}",
    )
    for test in result.tests:
        case = ElementTree.SubElement(suite, "testcase", classname=f"{suite_name}.{test.module}", name=test.name)
        properties = ElementTree.SubElement(case, "properties")
        for name, value in (
            ("number", test.number),
            ("score", f"{test.score:g}"),
            ("max_score", f"{test.max_score:g}"),
            ("exercise", test.exercise),
        ):
            ElementTree.SubElement(properties, "property", name=name, value=value)
        if test.status != "passed":
            failure = ElementTree.SubElement(case, "failure", message=(test.output.splitlines() or ["failed"])[0])
            failure.text = test.output
    suites = ElementTree.Element("testsuites")
    suites.append(suite)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


GRADEBOOK_COLUMNS = ["id", "total", "max_total", *MODULES, "status"]


def gradebook_row(identifier: str, result: GradingResult | None, status: str = "graded") -> dict:
    row = {"id": identifier, "status": status}
    if result is not None:
        row.update(total=f"{result.score:g}", max_total=f"{result.max_score:g}")
        for module, (earned, _) in result.module_scores().items():
            row[module] = f"{earned:g}"
    return row


def gradebook_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=GRADEBOOK_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue()


def schema(name: str) -> dict:
    """A JSON Schema of ours (`gradescope` or `classroom`), written from ECOSYSTEM.md."""
    return json.loads((SCHEMAS / f"{name}.json").read_text())
