"""Golden tests of the feedback a student reads (grader.results.report, grader.engine.feedback).

Real submissions graded for real (in-process, for speed: the feedback is the
same from the sandbox): a syntax error is told once per module, unwritten
functions in one line, a hidden withdrawal in neutral words, and the check
helpers report every failing case, small inputs by value, in one relative
error.
"""

import io
import re

import numpy as np
import pytest

from grader.cli import Progress, main
from grader.engine.feedback import check_array, describe_call, every_case
from grader.errors import Mismatch, NotAttempted
from grader.results import report
from tests.helpers import EXERCISES, SOLUTIONS, grade, make_submission

BROKEN_LINE = "def relu(z):\n"


@pytest.fixture(scope="module")
def syntax_error(tmp_path_factory):
    """activations.py with a syntax error; forward.py, which imports it, untouched."""
    folder = make_submission(tmp_path_factory.mktemp("syntax"), "activations", [(BROKEN_LINE, "def relu(z,,):\n")])
    line = (folder / "activations.py").read_text().splitlines().index("def relu(z,,):") + 1
    return grade(folder, modules=["activations", "forward"], in_process=True), line


def test_a_syntax_error_is_one_block_naming_the_file_and_line_once(syntax_error):
    result, line = syntax_error
    table = report.score_table(result)
    feedback = table.split("┘\n", 1)[1]  # after the score table
    assert result.score == 0
    assert feedback.count("SyntaxError") == 1
    assert feedback.count(f"line {line}") == 1
    assert f"the module does not import: SyntaxError at activations.py, line {line}: invalid syntax" in feedback
    assert "the line: def relu(z,,):" in feedback  # the offending line's text, once
    assert 'run `python -c "import activations"`' in feedback
    assert "activations: does not import (14 tests, 14 points)" in feedback
    # forward fails because of activations, and says so instead of repeating the error
    assert "forward: does not import (12 tests, 12 points)" in feedback
    assert "forward.py imports activations.py, which does not import (see activations above)" in feedback
    assert "<module>" not in feedback and "[1." not in feedback and "[2." not in feedback
    markdown = report.markdown(result)
    assert markdown.count("SyntaxError") == 1


def test_unwritten_functions_are_one_line_per_module():
    result = grade(EXERCISES, modules=["activations", "backprop"], in_process=True)
    feedback = report.score_table(result, width=200).split("┘\n", 1)[1]
    assert feedback.strip().splitlines() == [
        "activations: not attempted yet (14 tests, 14 points)",
        "  still raising NotImplementedError: sigmoid, sigmoid_grad, tanh, tanh_grad, relu, relu_grad, "
        "leaky_relu, leaky_relu_grad, binary_step, softmax",
        "",
        "backprop: not attempted yet (10 tests, 16 points)",
        "  still raising NotImplementedError: loss, forward (in forward.py), numerical_gradient, relative_error",
    ]
    assert "is not attempted yet" not in feedback  # the per-test sentence is folded into the line


# Right on every published input (random arrays without zeros, a list with one), wrong at an exact
# zero of an array: only the hidden re-check, whose fresh arrays always hold zeros, sees it.
RELU_WRONG_AT_ARRAY_ZEROS = (
    "def relu(z):\n",
    "def relu(z):\n"
    "    result = np.maximum(np.asarray(z, dtype=float), 0.0)\n"
    "    if isinstance(z, np.ndarray):\n"
    "        result[z == 0] = 1.0\n"
    "    return result\n",
)


def test_a_hidden_withdrawal_is_told_in_neutral_words_and_only_counted_for_the_student(tmp_path):
    folder = make_submission(tmp_path / "lookup", "activations", [RELU_WRONG_AT_ARRAY_ZEROS])
    public = grade(folder, modules=["activations"], in_process=True)
    hidden = grade(folder, modules=["activations"], hidden=True, seed=20261201, in_process=True)
    withdrawn = [test for test in hidden.tests if (test.failure or {}).get("kind") == "withdrawn"]
    assert withdrawn and hidden.score < public.score
    for test in withdrawn:
        assert test.output.startswith("passes the published inputs, but not a hidden re-check on fresh inputs")
        assert not re.search(r"cheat|fitt|hard-?cod|lookup|suspic", test.output, re.IGNORECASE)
    student = report.markdown(hidden, student=True)
    hidden_names = [test.name for test in hidden.tests if test.hidden]
    assert not any(name in student for name in hidden_names)
    assert "hidden re-check(s) failed" in student
    instructor = report.markdown(hidden)
    assert any(name in instructor for name in hidden_names)


def test_every_failing_case_is_reported_briefly():
    with pytest.raises(Mismatch) as raised, every_case() as cases:
        for value in (1.0, 2.0, 3.0):
            with cases.case():
                check_array(np.array([value]), np.array([2.0]), call=describe_call("relu", (np.array([value]),)))
    text = str(raised.value)
    assert text.startswith("relu(np.array([1.0])):")
    assert "also failing (1 more case):" in text
    assert "relu(np.array([3.0])): 1 of 1 values differ" in text
    assert raised.value.facts["function"] == "relu"


def test_every_case_stops_at_once_on_unwritten_code():
    calls = []
    with pytest.raises(NotAttempted), every_case() as cases:
        for value in range(3):
            with cases.case():
                calls.append(value)
                raise NotAttempted("relu is not attempted yet")
    assert calls == [0]


def test_small_inputs_are_shown_by_value_and_large_ones_by_shape():
    assert describe_call("relu_grad", ([1.5, -2.0],)) == "relu_grad([1.5, -2.0])"
    assert describe_call("relu", (np.array([-1.0, -0.0, 0.0]),)) == "relu(np.array([-1.0, -0.0, 0.0]))"
    assert describe_call("f", (np.zeros(9),)) == "f(float64 array of shape (9,))"
    assert describe_call("f", (np.array([1, 2], dtype=np.int32),)) == "f(np.array([1, 2], dtype=np.int32))"


def test_check_colours_only_when_asked_or_on_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    main(["check", "activations", "-k", "relu", "--submission", str(EXERCISES), "--in-process", "--color", "always"])
    assert "\x1b[" in capsys.readouterr().out
    main(["check", "activations", "-k", "relu", "--submission", str(EXERCISES), "--in-process"])
    captured = capsys.readouterr()
    assert "\x1b[" not in captured.out  # not a terminal
    assert "checking activations ..." in captured.err  # progress, one line per module off a terminal


def test_no_color_is_honoured_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    main(["check", "activations", "-k", "relu", "--submission", str(EXERCISES), "--in-process"])
    assert "\x1b[" not in capsys.readouterr().out


def test_progress_rewrites_one_line_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = Progress(stream)
    progress(0, 3, "activations")
    progress(1, 3, "activations")
    progress.clear()
    assert stream.getvalue() == (
        "\r\x1b[Kchecking activations  0/3 tests\r\x1b[Kchecking activations  1/3 tests\r\x1b[K"
    )


def test_check_k_and_first_narrow_what_runs(capsys):
    main(["check", "-k", "relu_grad", "--submission", str(SOLUTIONS), "--in-process"])
    assert "Score: 1/1" in capsys.readouterr().out
    main(["check", "--first", "--submission", str(EXERCISES), "--in-process"])
    out = capsys.readouterr().out
    assert "Score: 0/1" in out and "stopped at the first failing test (--first); 83 tests did not run" in out


def test_an_unknown_function_for_k_is_a_usage_error(capsys):
    assert main(["check", "-k", "softmaxx", "--submission", str(EXERCISES)]) == 2
    assert "did you mean 'softmax'?" in capsys.readouterr().err


def test_a_value_that_cannot_cross_names_the_students_type_not_the_graders(tmp_path):
    edit = ("def relu(z):\n", "def relu(z):\n    class Box:\n        pass\n\n    return Box()\n")
    folder = make_submission(tmp_path / "box", "activations", [edit])
    result = grade(folder, modules=["activations"], exercises=("relu",), in_process=True)
    output = next(test.output for test in result.tests if test.exercise == "relu")
    assert "returned a activations.relu.Box, which is not plain data" in output
    assert "_dlgrade_submission" not in output and "NotPlainData" not in output


def test_numbers_that_differ_past_six_digits_are_shown_with_the_digits_that_differ():
    from grader.engine.feedback import check_number

    with pytest.raises(Mismatch) as raised:
        check_number(1.9237612345, 1.9237600001, call="cross_entropy(...)", rtol=1e-10)
    text = str(raised.value)
    assert "expected 1.92376\n" in text and "got      1.923761234\n" in text  # 6 digits would read the same


def test_many_failing_cases_are_named_up_to_a_few_and_counted():
    from grader.engine.feedback import BRIEF_CASES

    with pytest.raises(Mismatch) as raised, every_case() as cases:
        for value in range(20):
            with cases.case():
                check_array(np.array([float(value)]), np.array([-1.0]), call=describe_call("f", (value,)))
    text = str(raised.value)
    assert "also failing (19 more cases):" in text
    assert text.count("values differ") == 1 + BRIEF_CASES
    assert f"and {19 - BRIEF_CASES} more" in text
