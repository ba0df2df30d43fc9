"""GitHub Classroom's grading step: grade with the public tests, hand the result to the reporter.

`dlgrade classroom` runs in the student's repository on every push (see
autograding/github-classroom/classroom.yml). It appends `result=<base64 JSON>`
to the file `$GITHUB_OUTPUT` names (stdout when it is unset), which the step
`classroom-resources/autograding-grading-reporter@v1` reads from its
environment as `DLGRADE_RESULTS`. The result always has a `tests` array: the
reporter crashes on one without, and then posts no points at all. So a
grading run that cannot finish still reports, as one errored test worth the
course's points, with a message that says why, and the step exits 0 whatever
the score: the reporter decides pass or fail.

What the reporter gets is compact, whatever the feedback's length: one entry
per point (`grader.results.formats.classroom`, so the reporter's sum and its
log both give the kit's total), each failure's message cut to its first
`MESSAGE_CHARS` characters, the whole at most `RESULT_BYTES` encoded, well
inside what one environment variable may hold (Linux takes at most 128 KiB
per string, MAX_ARG_STRLEN; a 279 KB result failed with "Argument list too
long" and posted nothing). The long feedback goes where the student reads it:
the job summary (`$GITHUB_STEP_SUMMARY`, the kit's Markdown feedback) and
annotations on the run (`::error file=exercises/<module>.py,line=N::...`, one
per mistake, at most `ANNOTATIONS`, as GitHub shows no more per step), and
the whole result, every message whole, is kept as
`$RUNNER_TEMP/dlgrade/results.json` for a workflow that uploads it.

A run that hits its time limit keeps the points of every test graded before
it; the tests it did not reach fail with a message that says so.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from grader.course import TOTAL_POINTS
from grader.engine import runner
from grader.errors import SubmissionError
from grader.results import formats, model, report

MESSAGE_CHARS = 300  # of one failure's message in the reporter's result: its first lines
RESULT_BYTES = 96 * 1024  # the encoded result's ceiling, under Linux's 128 KiB for one environment string
ANNOTATIONS = 10  # GitHub keeps at most 10 error annotations per step
ANNOTATION_CHARS = 4000  # of one annotation's message
SUMMARY_BYTES = 900 * 1024  # GitHub refuses a job summary over 1 MiB per step
RESULTS_FILE = "results.json"  # the whole result, in $RUNNER_TEMP/dlgrade/ (see keep_full_result)


def grading_step(submission: Path, time_limit: float) -> int:
    """Grade `submission` with the public tests and write the Classroom result; exit code 0."""
    result = None
    started = time.monotonic()
    try:
        # Resolved here: the grading process runs in a temporary folder of its own.
        result = runner.grade(Path(submission).resolve(), hidden=False, time_limit=time_limit)
        data = classroom_result(result)
    except SubmissionError as error:
        data = formats.classroom_error(f"nothing to grade: {error}", TOTAL_POINTS)
    except Exception as error:  # noqa: BLE001 -- the reporter must get a result whatever happened
        data = formats.classroom_error(failure_message(error, time.monotonic() - started, time_limit), TOTAL_POINTS)
    write_output(formats.classroom_base64(data))
    in_actions = bool(os.environ.get("GITHUB_OUTPUT"))
    if result is not None and result.tests:
        keep_full_result(result)
        print(report.score_table(result), file=sys.stderr)
        if in_actions:
            annotate(result, Path(submission))
        write_summary(report.markdown(result, "Autograding: public tests", student=True))
    else:
        message = data["tests"][0]["message"]
        print(f"dlgrade: {message}", file=sys.stderr)
        if in_actions:
            print(command("error", message, title="dlgrade could not grade"), flush=True)
        write_summary(f"# Autograding: public tests\n\n**Not graded: 0/{TOTAL_POINTS}**\n\n{message}\n")
    return 0


def failure_message(error: Exception, elapsed: float, time_limit: float) -> str:
    """Why grading could not finish, never empty: a run out of time says so, whatever the exception's text."""
    text = f"{type(error).__name__}: {error}".strip().rstrip(":").strip()
    if elapsed >= time_limit * 0.95:
        return (
            f"grading ran out of its time limit ({time_limit:g} s) before any test finished; "
            f"raise --time-limit in the workflow's grading step ({text})"
        )
    return f"grading could not finish: {text or type(error).__name__} (the step's log has the details)"


def classroom_result(result) -> dict:
    """The compact Classroom result of a grading run, or an error result when the run graded nothing."""
    if not result.tests or result.max_score <= 0:
        why = result.extra.get("incomplete") or "no test ran"
        return formats.classroom_error(f"grading could not finish: {why}", TOTAL_POINTS)
    for message_chars in (MESSAGE_CHARS, 80, 0):
        data = formats.classroom(result, message_chars=message_chars)
        if result.extra.get("incomplete"):
            data["status"] = "error"
        if len(formats.classroom_base64(data)) <= RESULT_BYTES:
            break
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


def keep_full_result(result):
    """The whole result (results.json, every message whole) in $RUNNER_TEMP/dlgrade/, for an artifact step."""
    temporary = os.environ.get("RUNNER_TEMP")
    if temporary:
        model.save(result, Path(temporary) / "dlgrade" / RESULTS_FILE)


def write_summary(markdown: str):
    """Append the feedback to the job summary the student sees on the run's page (when there is one)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    data = markdown.encode()
    if len(data) > SUMMARY_BYTES:
        cut = data[:SUMMARY_BYTES].decode(errors="ignore")
        markdown = cut + "\n\n*(feedback cut here: GitHub shows at most 1 MiB; the step's log has all of it)*\n"
    with open(target, "a", encoding="utf-8") as stream:
        stream.write(markdown)


def annotate(result, submission: Path):
    """The score as a notice, and each mistake (grouped as the feedback groups them) as an error annotation."""
    print(command("notice", f"Points {result.score:g}/{result.max_score:g}", title="dlgrade: public tests"), flush=True)
    try:
        folder = Path(submission).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        folder = None  # outside the repository: annotations without a file
    for block in report.blocks(result, student=True)[: ANNOTATIONS - 1]:
        facts = next((test.failure for test in block.tests if test.failure), None) or {}
        where = {}
        file = facts.get("file")
        if not (isinstance(file, str) and file.endswith(".py") and "/" not in file):
            file = f"{block.tests[0].module}.py" if block.tests else None  # the module the mistake is in
        if folder is not None and file is not None:
            where["file"] = f"{folder}/{file}" if folder != "." else file
            if isinstance(facts.get("line"), int) and facts["line"] > 0:
                where["line"] = str(facts["line"])
        text = block.text if len(block.text) <= ANNOTATION_CHARS else block.text[:ANNOTATION_CHARS] + "\u2026"
        print(command("error", text or block.heading, title=block.heading, **where), flush=True)


def command(kind: str, message: str, **properties: str) -> str:
    """A GitHub Actions workflow command (`::error file=...::message`), escaped as the runner reads them."""

    def escaped(text: str, property_value: bool = False) -> str:
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if property_value else text

    listed = ",".join(f"{name}={escaped(str(value), True)}" for name, value in properties.items())
    return f"::{kind}{' ' + listed if listed else ''}::{escaped(message)}"
