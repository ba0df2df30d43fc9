"""Every output format, written from the one result model (`grader.results.model`).

- Gradescope `results.json`: `GradingResult.to_json()` itself.
- GitHub Classroom grader output: `classroom(result)` (version 1, one entry per
  test with its weighted score) and `classroom_base64` for `$GITHUB_OUTPUT`.
- JUnit XML: `junit(result)`.
- CSV gradebook: `gradebook_csv(rows)`, one row per submission.
- Canvas gradebook import: `canvas_csv(rows)`, from the same rows.
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
from grader.results.model import GradingResult, TestResult

SCHEMAS = Path(__file__).resolve().parent / "schemas"


def gradescope(result: GradingResult) -> dict:
    return result.to_json()


def classroom_points(result: GradingResult) -> list[tuple[TestResult, int]]:
    """Every graded test with its points as a whole number, summing to the result's `max_score` (rounded).

    The course's points are whole numbers already; should a test's not be,
    the largest remainders get the points left over, so the sum still holds.
    """
    tests = [test for test in result.tests if test.max_score > 0]
    points = [int(test.max_score) for test in tests]
    left = round(sum(test.max_score for test in tests)) - sum(points)
    by_remainder = sorted(range(len(tests)), key=lambda index: int(tests[index].max_score) - tests[index].max_score)
    for index in by_remainder[: max(0, left)]:
        points[index] += 1
    return [(test, count) for test, count in zip(tests, points, strict=True) if count > 0]


def classroom(result: GradingResult, message_chars: int | None = None) -> dict:
    """GitHub Classroom's autograding result: `{"version": 1, "status", "max_score", "tests": [...]}`.

    One entry per point, each worth 1: a 2-point test is two entries
    (`(point 1 of 2)`, `(point 2 of 2)`), passed or failed together. Classroom's
    reporter adds the entries' scores for the grade and counts passed entries
    for its log (passed / entries x 100, ECOSYSTEM.md); with entries of one
    point each both give the kit's total exactly, in whole numbers.
    `message_chars` cuts each failure's message (the reporter's input has a
    size limit); a failed entry's message is never empty.
    """
    tests = []
    for test, points in classroom_points(result):
        passed = test.status == "passed"
        message = "" if passed else (test.output.strip() or f"failed ({test.status})")
        if message_chars is not None and len(message) > message_chars:
            message = message[: max(0, message_chars - 1)].rstrip() + "\u2026"
        for point in range(1, points + 1):
            suffix = f" (point {point} of {points})" if points > 1 else ""
            tests.append(
                {
                    "name": f"{test.number} {test.module}: {test.name}{suffix}",
                    "status": "pass" if passed else "fail",
                    "score": 1 if passed else 0,
                    "message": message if point == 1 or passed else f"the same test as {test.number} (point 1)",
                    "test_code": f"dlgrade grade ({test.module}, {test.exercise})",
                    "filename": f"grader/suite/test_{test.module}.py",
                    "line_no": 0,
                    "duration": 0,
                }
            )
    everything_passed = all(test["status"] == "pass" for test in tests)
    return {
        "version": 1,
        "status": "pass" if everything_passed else "fail",
        "max_score": len(tests),
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


CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_ASSIGNMENT = "Deep-learning exercises"
CANVAS_GRADED = ("graded", "incomplete")  # rows whose total is a grade; Canvas leaves a blank cell unchanged


def canvas_csv(rows: list[dict], assignment: str = CANVAS_ASSIGNMENT) -> str:
    """The class's totals as a Canvas gradebook import: Canvas's five student columns, then the assignment.

    Canvas matches a row to a student by `ID` (Canvas's own number), `SIS User ID`
    or `SIS Login ID`, in that order; a row of `gradebook_row` knows only the
    submission's id, which goes in `SIS Login ID` (name the submission folders
    by the students' logins). A row may carry `student`, `canvas_id`,
    `sis_user_id`, `sis_login_id` and `section` to fill those columns instead.
    The second row is Canvas's "Points Possible"; a column named for an
    assignment that does not exist yet creates it with those points.
    Submissions that were not graded get an empty cell, which Canvas skips.
    """
    from grader.course import TOTAL_POINTS

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CANVAS_COLUMNS, assignment])
    possible = next((row["max_total"] for row in rows if row.get("max_total")), f"{TOTAL_POINTS:g}")
    writer.writerow(["Points Possible", "", "", "", "", possible])
    for row in rows:
        writer.writerow(
            [
                row.get("student", row.get("id", "")),
                row.get("canvas_id", ""),
                row.get("sis_user_id", ""),
                row.get("sis_login_id", row.get("id", "")),
                row.get("section", ""),
                row.get("total", "") if row.get("status", "graded") in CANVAS_GRADED else "",
            ]
        )
    return buffer.getvalue()


def schema(name: str) -> dict:
    """A JSON Schema of ours (`gradescope` or `classroom`), written from ECOSYSTEM.md."""
    return json.loads((SCHEMAS / f"{name}.json").read_text())
