"""GitHub Classroom's grading step: grade with the public tests, hand the result to the reporter.

`dlgrade classroom` runs in the student's repository on every push (see
autograding/github-classroom/classroom.yml). It appends `result=<base64 JSON>`
to the file `$GITHUB_OUTPUT` names (stdout when it is unset), which the step
`classroom-resources/autograding-grading-reporter@v1` reads as
`DLGRADE_RESULTS`. The result always has a `tests` array: the reporter crashes
on one without, and then posts no points at all. So a grading run that cannot
finish still reports, as one errored test worth the course's points, and the
step exits 0 whatever the score: the reporter decides pass or fail.

A run that hits its time limit keeps the points of every test graded before
it; the tests it did not reach fail with a message that says so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from grader.course import TOTAL_POINTS
from grader.engine import runner
from grader.errors import SubmissionError
from grader.results import formats, report


def grading_step(submission: Path, time_limit: float) -> int:
    """Grade `submission` with the public tests and write the Classroom result; exit code 0."""
    result = None
    try:
        # Resolved here: the grading process runs in a temporary folder of its own.
        result = runner.grade(Path(submission).resolve(), hidden=False, time_limit=time_limit)
        data = classroom_result(result)
    except SubmissionError as error:
        data = formats.classroom_error(f"nothing to grade: {error}", TOTAL_POINTS)
    except Exception as error:  # noqa: BLE001 -- the reporter must get a result whatever happened
        data = formats.classroom_error(f"grading could not finish: {type(error).__name__}: {error}", TOTAL_POINTS)
    write_output(formats.classroom_base64(data))
    if result is not None and result.tests:
        print(report.score_table(result), file=sys.stderr)
    else:
        print(f"dlgrade: {data['tests'][0]['message']}", file=sys.stderr)
    return 0


def classroom_result(result) -> dict:
    """The Classroom result of a grading run, or an error result when the run graded nothing."""
    if not result.tests or result.max_score <= 0:
        return formats.classroom_error("grading could not finish: no test ran", TOTAL_POINTS)
    data = formats.classroom(result)
    if result.extra.get("incomplete"):
        data["status"] = "error"
    return data


def write_output(encoded: str):
    """Append `result=...` to $GITHUB_OUTPUT, or print it when the variable is unset (a local run)."""
    line = f"result={encoded}\n"
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        sys.stdout.write(line)
        sys.stdout.flush()
        return
    with open(target, "a", encoding="utf-8") as stream:
        stream.write(line)
