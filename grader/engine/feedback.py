"""Checks that fail with feedback written for a student.

Every check raises `Mismatch` (an AssertionError) whose message says what was
called with what, what was expected and what came back (shape, dtype, the
first mismatching index, max absolute and relative error) and, where the
wrong answer matches a known mistake, names that mistake. The graded suite
uses these instead of bare `assert`s.

Known mistakes are recognised by their fingerprint: a check is given
`mistakes`, a mapping from a sentence naming a mistake to the value that
mistake would produce (computed by the test with an oracle). When what came
back matches one of them, the sentence becomes the "likely cause".
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from grader.errors import Mismatch, NotAttempted, StudentFailure, StudentRaised, TimeLimitExceeded, WorkerCrashed

__all__ = [
    "Mismatch",
    "check",
    "check_array",
    "check_equal",
    "check_number",
    "describe",
    "describe_call",
    "every_case",
    "expect_raises",
    "fail",
]


def describe(value) -> str:
    """A short account of a value's type and shape, never its contents."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, np.generic):
        return f"NumPy {type(value).__name__} scalar"
    if isinstance(value, (int, float, complex, str)):
        return type(value).__name__
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {len(value)}"
    if isinstance(value, dict):
        return "dict with keys " + ", ".join(map(repr, list(value)[:8]))
    if value is None:
        return "None"
    return type(value).__name__


class Call(str):
    """A call as the student reads it (`relu(np.array([-1.0, 0.0]))`), knowing the function's name."""

    function: str = ""


def describe_call(function: str, args=(), kwargs=None) -> Call:
    """`softmax(float64 array of shape (3, 4), axis=0)`: a call, small inputs by value, large ones by shape.

    An input of up to `SHOWN_BY_VALUE` numbers is written as Python that
    rebuilds it (floats to 6 significant digits), so a student can paste the
    call and reproduce the failure.
    """
    parts = [_describe_argument(arg) for arg in args]
    parts += [f"{key}={_describe_argument(value)}" for key, value in (kwargs or {}).items()]
    call = Call(f"{function}({', '.join(parts)})")
    call.function = function
    return call


SHOWN_BY_VALUE = 8  # inputs of at most this many numbers are shown by value


def _describe_argument(value) -> str:
    if value is None or isinstance(value, (bool, int, float, str)) and len(repr(value)) <= 24:
        return repr(value)
    if isinstance(value, tuple) and all(isinstance(item, int) for item in value) and len(value) <= 6:
        return repr(value)
    small = _small_numbers(value)
    if small is not None:
        return small
    return describe(value)


def _small_numbers(value) -> str | None:
    """`np.array([-1.0, 0.0])`, `[[1, 2], [3, 4]]`: a value of at most SHOWN_BY_VALUE numbers, as Python."""
    if isinstance(value, np.ndarray):
        if value.size > SHOWN_BY_VALUE or value.dtype.kind not in "biuf" or value.ndim == 0:
            return None
        items = _rounded(value.tolist())
        dtype = "" if value.dtype in (np.float64, np.int64, np.bool_) else f", dtype=np.{value.dtype}"
        return f"np.array({items}{dtype})"
    if isinstance(value, list):
        with contextlib.suppress(ValueError, TypeError):
            array = np.asarray(value)
            if array.dtype.kind in "biuf" and 0 < array.size <= SHOWN_BY_VALUE and array.dtype != object:
                return _rounded(value)
    return None


def _rounded(value) -> str:
    """Nested lists of numbers as Python, floats to 6 significant digits (`-4.81151`, `0.0`, `1e-08`)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_rounded(item) for item in value) + "]"
    if isinstance(value, float) and math.isfinite(value):
        text = f"{value:.6g}"
        return text if any(mark in text for mark in ".en") else text + ".0"
    if isinstance(value, float):
        return f"float({str(value)!r})"
    return repr(value)


def _format_pair(expected, got) -> tuple[str, str]:
    """Both numbers to 6 significant digits, or to as many as it takes to tell them apart."""
    for digits in (6, 10, 17):
        pair = tuple(
            f"{float(value):.{digits}g}" if isinstance(value, (float, np.floating)) else _format_number(value)
            for value in (expected, got)
        )
        if pair[0] != pair[1]:
            break
    return pair


def _format_number(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return repr(value.item() if isinstance(value, np.generic) else value)


def _mismatch(call: str, lines: list[str], cause: str | None, hint: str | None) -> Mismatch:
    """The failure of a check: the call, what went wrong, and the named cause and hint where known."""
    indent = "  " if call else ""
    text = [f"{call}:" if call else ""] + [f"{indent}{line}" for line in lines]
    if cause:
        text.append(f"{indent}likely cause: {cause}")
    if hint:
        text.append(f"{indent}hint: {hint}")
    facts = {"function": getattr(call, "function", ""), "cause": cause}
    return Mismatch("\n".join(line for line in text if line), facts)


def _matching_mistake(got, mistakes, rtol, atol) -> str | None:
    for sentence, wrong in (mistakes or {}).items():
        if wrong is None:
            continue
        wrong_array = np.asarray(wrong)
        got_array = np.asarray(got)
        if got_array.shape != wrong_array.shape:
            continue
        with np.errstate(all="ignore"):
            if got_array.dtype.kind in "biufc" and np.allclose(
                got_array, wrong_array, rtol=max(rtol, 1e-6), atol=max(atol, 1e-9), equal_nan=True
            ):
                return sentence
    return None


def fail(message: str, *, call: str = "", cause: str | None = None, hint: str | None = None):
    """Fail with a message of our own (and the likely cause, when known)."""
    raise _mismatch(call, [message], cause, hint)


def check(condition: bool, message: str, *, call: str = "", cause: str | None = None, hint: str | None = None):
    """Fail with `message` unless `condition` holds (a real bool, True)."""
    if condition is not True:
        fail(message, call=call, cause=cause, hint=hint)


def check_array(
    got,
    expected,
    *,
    call: str,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    mistakes: dict | None = None,
    nonfinite_cause: str | None = None,
    hint: str | None = None,
    kinds: str = "f",
):
    """`got` must be an ndarray of a dtype kind in `kinds`, shaped and valued like `expected`.

    Values are compared as `|got - expected| <= atol + rtol*|expected|`
    elementwise (NumPy's `isclose`), a comparison that fails on NaN.
    `nonfinite_cause` names the mistake that makes NaN or inf appear.
    """
    expected = np.asarray(expected)
    if not isinstance(got, np.ndarray):
        fail(
            f"expected a NumPy array ({expected.dtype} of shape {expected.shape}); got {describe(got)}",
            call=call,
            hint="return np.asarray(...) of your result",
        )
    if got.dtype.kind not in kinds:
        wanted = {"f": "floating", "i": "integer", "b": "boolean", "u": "unsigned integer"}
        names = " or ".join(wanted.get(kind, kind) for kind in kinds)
        fail(
            f"expected an array of a {names} dtype; got dtype {got.dtype}",
            call=call,
            hint=hint
            or (
                "convert the input with np.asarray(..., dtype=float) so the arithmetic is in floats"
                if kinds == "f"
                else None
            ),
        )
    if got.shape != expected.shape:
        cause = _matching_mistake(got, mistakes, rtol, atol)
        raise _mismatch(call, [f"expected shape {expected.shape}", f"got shape      {got.shape}"], cause, hint)
    finite = np.isfinite(got) if got.dtype.kind in "fc" else np.ones(got.shape, bool)
    if not finite.all() and np.isfinite(expected).all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        lines = [
            f"got {np.count_nonzero(~finite)} non-finite value(s); the first, at index {index}, "
            f"is {_format_number(got[index])} where {_format_number(expected[index])} was expected"
        ]
        raise _mismatch(call, lines, nonfinite_cause or _matching_mistake(got, mistakes, rtol, atol), hint)
    with np.errstate(all="ignore"):
        close = np.isclose(got, expected, rtol=rtol, atol=atol)
        if close.all():
            return
        error = np.abs(got.astype(np.complex128 if got.dtype.kind == "c" else np.float64) - expected)
        # The contract's relative_error (CS231n's): no artefact where the expected value is 0.
        relative = error / np.maximum(np.abs(got) + np.abs(expected), 1e-8)
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    shown_expected, shown_got = _format_pair(expected[index], got[index])
    lines = [
        f"{np.count_nonzero(~close)} of {close.size} values differ; the first at index {index}: "
        f"expected {shown_expected}, got {shown_got}",
        f"max absolute error {_format_number(np.nanmax(error))}, max relative error "
        f"{_format_number(np.nanmax(relative))} as relative_error measures it "
        f"(allowed: |got - expected| <= {atol:g} + {rtol:g} * |expected|)",
    ]
    raise _mismatch(call, lines, _matching_mistake(got, mistakes, rtol, atol), hint)


def check_number(
    got,
    expected,
    *,
    call: str,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    kind: type = float,
    mistakes: dict | None = None,
    hint: str | None = None,
):
    """`got` must be a real number of type `kind` (int or float) close to `expected`.

    NumPy scalars count as floats (np.float64 is one) and, for `kind=int`,
    NumPy integers count as ints; bools never count as numbers.
    """
    acceptable = (int, np.integer) if kind is int else (float, int, np.floating, np.integer)
    if isinstance(got, bool) or isinstance(got, np.bool_) or not isinstance(got, acceptable):
        fail(
            f"expected {'an int' if kind is int else 'a float'}; got {describe(got)}",
            call=call,
            hint=hint or ("return int(...) of your result" if kind is int else "return float(...) of your result"),
        )
    got_value = float(got)
    if math.isclose(got_value, float(expected), rel_tol=rtol, abs_tol=atol):
        return
    shown_expected, shown_got = _format_pair(expected, got)
    lines = [f"expected {shown_expected}", f"got      {shown_got}"]
    if math.isfinite(got_value) and math.isfinite(float(expected)):
        lines.append(f"absolute error {abs(got_value - float(expected)):.3g}")
    raise _mismatch(call, lines, _matching_mistake(got, mistakes, rtol, atol), hint)


def check_equal(
    got, expected, *, call: str, what: str = "result", mistakes: dict | None = None, hint: str | None = None
):
    """Exact equality for plain data (ints, tuples, strings, dicts of them), compared by type too."""
    if type(got) is type(expected) and got == expected:
        return
    lines = [
        f"expected {what} {expected!r}",
        f"got      {what} {got!r}" if type(got) is type(expected) else f"got      {describe(got)} {got!r}"[:400],
    ]
    cause = next(
        (sentence for sentence, wrong in (mistakes or {}).items() if type(wrong) is type(got) and wrong == got), None
    )
    raise _mismatch(call, lines, cause, hint)


@contextlib.contextmanager
def expect_raises(exception: type[BaseException], *, call: str, hint: str | None = None):
    """The block must raise `exception` (a student's exception of that built-in type counts)."""
    try:
        yield
    except exception:
        return
    except Mismatch:
        raise
    except Exception as error:  # noqa: BLE001 -- any other exception is the student's wrong answer
        if isinstance(error, NotAttempted):
            raise
        got = error.type_name if isinstance(error, StudentRaised) else type(error).__name__
        fail(f"expected {exception.__name__}; your code raised {got} instead", call=call, hint=hint)
    fail(f"expected {exception.__name__} to be raised; nothing was raised", call=call, hint=hint)


BRIEF_CASES = 5  # failing cases named after the first; the others are counted


class _Cases:
    """The failures of one test's cases, collected by `every_case`."""

    def __init__(self):
        self.failures: list[StudentFailure | Mismatch] = []

    @contextlib.contextmanager
    def case(self):
        """One case: a wrong answer (or an exception of the student's code) is kept, and the loop goes on."""
        try:
            yield
        except (NotAttempted, TimeLimitExceeded, WorkerCrashed):
            raise  # nothing more to learn from the other cases, and each would cost the same again
        except (Mismatch, StudentRaised) as error:
            self.failures.append(error)


@contextlib.contextmanager
def every_case():
    """Check every case of a loop, then fail once, naming each failing case.

        with every_case() as cases:
            for z in inputs:
                with cases.case():
                    check_array(...)

    One failure is raised as it is; several become one Mismatch: the first in
    full, then one brief line for each of the next BRIEF_CASES, and a count of
    the rest.
    """
    cases = _Cases()
    yield cases
    if len(cases.failures) == 1:
        raise cases.failures[0]
    if cases.failures:
        first, *others = cases.failures
        lines = [str(first), f"also failing ({len(others)} more case{'s' if len(others) > 1 else ''}):"]
        lines += [f"  {_brief(error)}" for error in others[:BRIEF_CASES]]
        if len(others) > BRIEF_CASES:
            lines.append(f"  and {len(others) - BRIEF_CASES} more")
        error = Mismatch("\n".join(lines), first.facts)
        raise error


def _brief(error: BaseException) -> str:
    """One line for a failing case: its call and the first line of what went wrong."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if len(lines) >= 2 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else "failed"
