"""Every exception the grader defines, in one place.

Three families, by who is at fault and who reads the message:

- bad input from the person running dlgrade (`UsageError`, `SubmissionError`):
  the CLI prints the message as one line and exits with status 2;
- the trust boundary (`NotPlainData`, said by the worker when a student's value
  cannot cross; `ProtocolError`, said by the trusted side when the wire holds
  something the worker's encoder never writes);
- a check failed because of the submission (`StudentFailure` and its kinds,
  `Mismatch`): the message is the student's feedback.

Standard library only: the worker imports this module before anything else.
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit code 2."""


class SubmissionError(UsageError, ValueError):
    """A path that cannot be graded; the message says why and what to do."""


class IsolationRefused(UsageError):
    """The worker would run as root without namespaces: grading stops unless weak isolation is allowed."""


class TemplateGone(OSError):
    """The worker template this process used has ended (`grader.engine.template`): a new one takes its place."""


class NotPlainData(TypeError):
    """A value that may not cross the boundary (said on the sending side)."""


class ProtocolError(ValueError):
    """The wire held something the encoder never writes (said on the receiving side)."""


class StudentFailure(Exception):
    """A check failed because of the submission; `str()` is the student's feedback.

    `facts` say the same as plain fields, for the reports that group and
    redact feedback without reading its text: `kind` (one of `FAILURE_KINDS`),
    and where known `function`, `cause` (a named mistake), `file` and `line`
    (of a module that does not import), `exception` (a built-in's name).
    """

    kind = "raised"

    def __init__(self, message: str = "", facts: dict | None = None):
        super().__init__(message)
        self.facts = {"kind": self.kind, **(facts or {})}


# What a failed test's `failure` says happened (grader.results.model.TestResult):
FAILURE_KINDS = (
    "wrong",  # a value came back, and it is not the right one
    "not-attempted",  # the function still raises NotImplementedError
    "import",  # the module (or one it imports) does not import
    "raised",  # the student's code raised
    "timeout",  # the student's code did not finish in time
    "crashed",  # the process running the student's code died
    "withdrawn",  # passed, but a hidden re-check of the same kind of input failed
    "not-run",  # the run ended before the test
    "moot",  # a hidden re-check left out: every public test it re-checks had failed (grader.engine.scoring)
)


class NotAttempted(StudentFailure):
    """The function (still) raises NotImplementedError."""

    kind = "not-attempted"


class ImportFailed(StudentFailure):
    """A module of the submission, or one it imports, does not import."""

    kind = "import"


class StudentRaised(StudentFailure):
    """The student's code raised; carries what the worker reported, as plain data.

    For a built-in exception type the instance is also an instance of that
    type (a student's ValueError is caught by `except ValueError`, see
    `grader.engine.student.exception_from_report`), so a test can expect the
    exceptions the contract asks for.
    """

    type_name = "Exception"
    builtin = "Exception"

    def __init__(self, message: str, report: dict):
        super().__init__(message, {"exception": report.get("builtin", "Exception")})
        self.report = report
        self.type_name = report.get("type", "Exception")
        self.builtin = report.get("builtin", "Exception")


class TimeLimitExceeded(StudentFailure):
    """The student's code did not finish within the test's time limit."""

    kind = "timeout"


class WorkerCrashed(StudentFailure):
    """The process running the student's code died (exit, signal, memory)."""

    kind = "crashed"


class Mismatch(AssertionError):
    """A check of a returned value failed; the message is the student's feedback.

    `facts` as for `StudentFailure`, of kind "wrong".
    """

    def __init__(self, message: str = "", facts: dict | None = None):
        super().__init__(message)
        self.facts = {"kind": "wrong", **(facts or {})}


class _ShownAlone(Exception):
    """An exception IPython shows as its message alone, without the grader's frames."""

    def _render_traceback_(self):  # IPython's hook for an exception's own traceback text
        return [f"{type(self).__name__}: {self}"]


class CheckFailed(_ShownAlone, AssertionError):
    """A notebook check's verdict (nbgrader gives the cell 0 points)."""


class SiblingMissing(_ShownAlone, ImportError):
    """`load_sibling` cannot give what a notebook's setup cell asks for."""
