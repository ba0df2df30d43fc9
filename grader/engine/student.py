"""The `student` object: the graded suite's only way to reach a submission.

    student.activations.softmax(z, axis=0)        # -> a NumPy array
    student.probe(probes.cnn.convnet_logits_shapes, cases=[...])
    student.conv_size.conv_output_size.each([((8, 3), {"stride": 2}), ...])   # -> [Answer, ...]

A call is sent as plain data to a backend that runs it beside the submission
and sends back plain data (see `grader.wire`). Tests never hold a student
object, only values built on the trusted side. Whatever the student's code
raises arrives as `NotAttempted` (a stub's NotImplementedError) or
`StudentRaised`, whose message is written for the student.

Backends (`grader.engine.backends.Backend`): `InProcess` (the submission
imported into this process: fast, not isolated) and the sandboxed worker of
`grader.engine.sandbox`.
"""

from __future__ import annotations

import builtins
import contextlib
import re

from grader import wire
from grader.course import MODULES
from grader.engine.backends import Backend
from grader.engine.feedback import describe_call, fail
from grader.errors import (
    ImportFailed,
    NotAttempted,
    ProtocolError,
    StudentFailure,
    StudentRaised,
    TimeLimitExceeded,
    WorkerCrashed,
)
from grader.limits import LIMITS

__all__ = [
    "Answer",
    "Student",
    "exception_from_report",
    "NotAttempted",
    "StudentFailure",
    "StudentRaised",
    "TimeLimitExceeded",
    "WorkerCrashed",
]

# Characters the student's text may not carry into feedback: control characters (ANSI escapes
# for the terminal, NUL and the like, invalid in XML) other than newline and tab, and the
# code points XML forbids.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """Text from the student's side made safe for every report, once, where it enters."""
    return _UNPRINTABLE.sub("\ufffd", text)


_raised_classes: dict[str, type] = {}


def _raised_class(builtin: str) -> type:
    """StudentRaised mixed with the built-in exception `builtin`, where that is safe."""
    if builtin not in _raised_classes:
        base = getattr(builtins, builtin, None)
        cls = StudentRaised
        if (
            isinstance(base, type)
            and issubclass(base, Exception)
            and not issubclass(base, (NotImplementedError, AssertionError))
        ):
            try:
                cls = type(f"Student{builtin}", (StudentRaised, base), {})
            except TypeError:  # incompatible layouts (OSError, SyntaxError, ...)
                cls = StudentRaised
        _raised_classes[builtin] = cls
    return _raised_classes[builtin]


def exception_from_report(report: dict, call: str) -> StudentFailure:
    """The trusted-side exception for what the worker says the student's code raised."""
    report = {key: printable(str(value)) for key, value in report.items() if isinstance(value, str)}
    # The worker can be replaced: a "built-in" it names must really be one, or it is an Exception.
    named = getattr(builtins, report.get("builtin", ""), None)
    if not (isinstance(named, type) and issubclass(named, BaseException)):
        report["builtin"] = "Exception"
    kind, message = report.get("type", "Exception"), report.get("message", "")
    where = f" ({report['where']})" if report.get("where") else ""
    phase = report.get("phase", "call")
    file, function = report.get("file", ""), report.get("function", "")
    line = int(report["line"]) if report.get("line", "").isdigit() else 0
    if report.get("builtin") == "NotImplementedError" and phase == "call":
        # The function that raised it: the one asked for, or one of the student's it calls.
        unwritten = f"{function} ({file})" if function and file else function or "it"
        text = f"{call} is not attempted yet: {unwritten} raises NotImplementedError"
        if message:
            text += f" ({message})"
        return NotAttempted(text + ".", {"function": function, "file": file})
    if phase == "import":
        return ImportFailed(
            import_failure_text(file, line, kind, message, report.get("source", "")),
            {
                "file": file,
                "line": line,
                "exception": report.get("builtin", "Exception"),
            },
        )
    if phase == "lookup":
        return StudentRaised(f"{call}: {message}. Is the function defined, with the name the exercise gives?", report)
    if phase == "return":
        return StudentRaised(f"{call} returned {message}", report)
    text = f"{call} raised {kind}: {message}{where}"
    if report.get("builtin") == "ValueError" and "read-only" in message:
        text += (
            "\n  likely cause: the grader passes read-only arrays, and your code changes its input in "
            "place; work on a copy (np.array(x, dtype=float) or x.copy()) instead"
        )
    if report.get("trace"):
        text += "\n  traceback (your code):\n" + "\n".join(
            "    " + line for line in report["trace"].rstrip().splitlines()
        )
    return _raised_class(report.get("builtin", "Exception"))(text, report)


def import_failure_text(file: str, line: int, kind: str, message: str, source: str = "") -> str:
    """`the module does not import: SyntaxError at activations.py, line 103: invalid syntax`, and the line."""
    where = f" at {file}, line {line}" if file and line else f" in {file}" if file else ""
    text = f"the module does not import: {kind}{where}" + (f": {message}" if message else "")
    if source:
        text += f"\n  the line: {source}"
    module = file.removesuffix(".py")
    if module.isidentifier():
        text += f'\n  run `python -c "import {module}"` in your exercises folder to see the whole error'
    return text


class Student:
    """What a graded test holds: module proxies and probes, nothing live."""

    def __init__(self, backend: Backend):
        self._backend = backend
        self.time_limit: float | None = None  # seconds; set per test by `limited_to` (grader.engine.fixtures)
        self._timed_out: dict[str, float] = {}  # module.function (or probe) -> seconds its calls ran out of

    @property
    def modules(self) -> list[str]:
        """The course modules this submission has."""
        return list(self._backend.modules)

    def __getattr__(self, module: str) -> _ModuleProxy:
        if module in MODULES:
            return _ModuleProxy(self, module)
        raise AttributeError(f"the course has no module {module!r}")

    def source(self, module: str) -> str:
        """The text of the submission's `module` file, for static checks (never imported here)."""
        path = self._backend.folder / f"{module}.py"
        if not path.is_file():
            fail(f"the submission has no {module}.py")
        return path.read_text(encoding="utf-8", errors="replace")

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the process running the student's code.

        Measured by the operating system on the trusted side's behalf, never
        by a clock read inside the student's process: subtract two readings
        around calls to time them.
        """
        return self._backend.cpu_seconds()

    def call(self, module: str, function: str, args: tuple, kwargs: dict):
        request = {
            "op": "call",
            "module": module,
            "function": function,
            "args": wire.encode(list(args)),
            "kwargs": wire.encode(kwargs),
        }
        return self._send(request, lambda: f"your `{describe_call(function, args, kwargs)}`")

    def probe(self, probe, /, **kwargs):
        """Run grader function `probe(submission, **kwargs)` beside the submission.

        Failures read "checking <the first line of the probe's docstring>".
        """
        reference = f"{probe.__module__}:{probe.__name__}"
        request = {"op": "probe", "probe": reference, "kwargs": wire.encode(kwargs)}
        summary = (probe.__doc__ or "").strip().splitlines()
        what = summary[0].rstrip(".") if summary else probe.__name__.replace("_", " ")
        return self._send(request, lambda: f"checking {what[0].lower() + what[1:]}")

    def _limit_for(self, key: str) -> float | None:
        """The time limit of the next call of `key`: shorter once it, or the run, has timed out enough."""
        if self.time_limit is None:
            return None
        if key in self._timed_out or sum(self._timed_out.values()) >= LIMITS.timeouts_seconds:
            return min(self.time_limit, LIMITS.call_seconds_after_timeout)
        return self.time_limit

    def call_each(self, module: str, function: str, calls: list[tuple[tuple, dict]]) -> list[Answer]:
        """`function` called on each (args, kwargs) of `calls` in turn, in one round trip to the worker.

        For the checks that make thousands of cheap calls: each call's outcome is
        exactly what `call` would give (`Answer.get` returns or raises it), and
        the trusted side checks each as before. One time limit holds for them all.
        """
        if not calls:
            return []
        request = {
            "op": "calls",
            "module": module,
            "function": function,
            "calls": [[wire.encode(list(args)), wire.encode(kwargs)] for args, kwargs in calls],
        }

        def describe():  # a failure of the whole batch: a time-out, a crash, an import
            first = describe_call(function, *calls[0])
            if len(calls) == 1:
                return f"your `{first}`"
            return f"your `{function}` ({len(calls)} calls in a row, the first `{first}`)"

        reply = self._reply(request, describe)
        each = reply.get("each")
        if not isinstance(each, list) or len(each) != len(calls):
            raise ProtocolError("malformed reply")
        return [
            self._answer_of(answer, lambda args=args, kwargs=kwargs: f"your `{describe_call(function, args, kwargs)}`")
            for answer, (args, kwargs) in zip(each, calls, strict=True)
        ]

    def _answer_of(self, reply, describe) -> Answer:
        if isinstance(reply, dict) and "ok" in reply:
            return Answer(value=wire.decode(reply["ok"]))
        if isinstance(reply, dict) and isinstance(reply.get("raised"), dict):
            return Answer(failure=exception_from_report(reply["raised"], describe()))
        raise ProtocolError("malformed reply")

    def _send(self, request: dict, describe):
        return self._answer_of(self._reply(request, describe), describe).get()

    def _reply(self, request: dict, describe) -> dict:
        """The worker's reply to `request`; raises what a time-out or a crash means for the student."""
        key = f"{request.get('module', '')}.{request.get('function') or request.get('probe', '')}"
        limit = self._limit_for(key)
        reply = self._backend.request(request, limit)
        if "timeout" in reply:
            self._timed_out[key] = self._timed_out.get(key, 0.0) + float(limit or 0.0)
            shortened = (
                f" (a shorter limit than the test's {self.time_limit:g} s: your code had run out of time "
                "before in this run)"
                if limit is not None and self.time_limit is not None and limit < self.time_limit
                else ""
            )
            raise TimeLimitExceeded(
                f"{describe()} did not finish in {reply['timeout']:g} s{shortened}; look for an "
                "endless loop, or work that grows faster than the input",
                {"function": request.get("function", "")},
            )
        if "crashed" in reply:
            raise WorkerCrashed(
                f"{describe()} ended the process running your code ({printable(str(reply['crashed']))})",
                {"function": request.get("function", "")},
            )
        if "raised" in reply and isinstance(reply["raised"], dict):
            raise exception_from_report(reply["raised"], describe())
        return reply

    def close(self):
        self._backend.close()

    @contextlib.contextmanager
    def limited_to(self, seconds: float):
        """Run the block's calls with a time limit of `seconds` each."""
        previous, self.time_limit = self.time_limit, seconds
        try:
            yield
        finally:
            self.time_limit = previous


class Answer:
    """One call's outcome in `Student.call_each`: `get()` returns what the call returned, or raises its failure."""

    __slots__ = ("value", "failure")

    def __init__(self, value=None, failure: StudentFailure | None = None):
        self.value, self.failure = value, failure

    def get(self):
        if self.failure is not None:
            raise self.failure
        return self.value


class _ModuleProxy:
    def __init__(self, student: Student, module: str):
        self._student, self._module = student, module

    def __getattr__(self, function: str):
        if function.startswith("_"):
            raise AttributeError(function)
        student, module = self._student, self._module

        def call(*args, **kwargs):
            return student.call(module, function, args, kwargs)

        call.__name__ = function
        call.each = lambda calls: student.call_each(module, function, calls)
        return call
