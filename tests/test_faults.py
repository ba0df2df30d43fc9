"""Faults in a submission cost only the tests they touch: graded for real, sandboxed.

A syntax error costs its module (and the modules that import it), with
feedback naming the file and line. A missing function, a call that ends the
process (os._exit), a RecursionError, a MemoryError or an endless loop cost
the tests of that function only: the worker is killed or restarted and the
next test runs. Megabytes of output at import and in every call cost
nothing, and the grader keeps only a capped amount of it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.course import MODULES
from grader.results.model import GradingResult
from tests.helpers import ROOT, SOLUTIONS, failures, grade, make_submission

SEED = 1


@dataclasses.dataclass(frozen=True)
class Fault:
    """The reference with `module` edited, and code appended to it; graded on `modules`."""

    module: str
    modules: tuple
    edits: tuple = ()
    append: str = ""


SYNTAX_ERROR_LINE = next(
    number
    for number, line in enumerate((SOLUTIONS / "forward.py").read_text().splitlines(), start=1)
    if line.startswith("def neuron(")
)
FAULTS = {
    # The colon after a def forgotten, in forward.py; activations.py stays fine.
    "syntax-error": Fault(
        "forward",
        ("activations", "forward"),
        edits=(("def neuron(x, w, b, activation=sigmoid):", "def neuron(x, w, b, activation=sigmoid)"),),
    ),
    "missing-function": Fault("activations", ("activations",), edits=(("def relu_grad(z):", "def relu_gradient(z):"),)),
    # Three functions fail three ways; the other seven work.
    "crashes": Fault(
        "activations",
        ("activations",),
        append="""

def relu(z):
    import os
    import sys

    sys.stdout.write("last words " * 500_000 + "\\n")  # 5.5 MB, then the process ends mid-call
    sys.stdout.flush()
    os._exit(3)


def sigmoid_grad(z):
    return sigmoid_grad(z) * 1.0  # no base case: RecursionError


def binary_step(z):
    return np.zeros((1 << 20, 1 << 20)) >= 0  # 8 TB: MemoryError
""",
    ),
    # relu_grad forks without end; every child sleeps on, holding its process slot. cnn, which
    # never calls it but needs threads of its own, must not notice.
    "fork-bomb": Fault(
        "activations",
        ("activations", "cnn"),
        append="""
def relu_grad(z):
    import os
    import time

    while True:
        if os.fork() == 0:
            while True:
                time.sleep(60)
""",
    ),
    # Training never ends; the tests after it (hidden sgd_step, all of softmax_loss) must still run.
    "endless-training": Fault(
        "gradient_descent",
        ("gradient_descent", "softmax_loss"),
        append="""

def train_two_layer_net(*args, **kwargs):
    while True:
        pass
""",
    ),
}
LOUD = """

import functools as _functools
import sys as _sys

_NOISE = "noise " * 350_000  # 2.1 MB per print
print(_NOISE)


def _loud(function):
    @_functools.wraps(function)
    def loud(*args, **kwargs):
        print(_NOISE)
        print(_NOISE, file=_sys.stderr)
        return function(*args, **kwargs)
    return loud


for _name in ("sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad", "leaky_relu",
              "leaky_relu_grad", "binary_step", "softmax"):
    globals()[_name] = _loud(globals()[_name])
"""
# Grades in a fresh process, so that its peak memory (the trusted pytest process and the
# worker are its children) is the grading's alone.
MEASURED_GRADING = """
import json, resource, sys
from grader.engine import runner
result = runner.grade(sys.argv[1], modules=["activations"], hidden=True, seed=1, time_limit=180)
print(json.dumps({"result": result.to_json(),
                  "peak_megabytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""
PEAK_MEGABYTES = 250  # grading activations peaks near 65 MB; keeping the ~300 MB printed would not fit


def build(folder: Path, fault: Fault) -> Path:
    make_submission(folder, fault.module, fault.edits)
    path = folder / f"{fault.module}.py"
    path.write_text(path.read_text() + fault.append)
    return folder


def grade_measured(folder: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", MEASURED_GRADING, str(folder)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def graded():
    """Every fault graded once (two at a time), and the loud submission with its peak memory."""
    folder = Path(tempfile.mkdtemp(prefix="dlgrade-faults-"))
    loud = make_submission(folder / "loud", "activations")
    (loud / "activations.py").write_text((loud / "activations.py").read_text() + LOUD)

    def run(name):
        if name == "loud":
            return name, grade_measured(loud)
        fault = FAULTS[name]
        return name, grade(build(folder / name, fault), list(fault.modules), hidden=True, seed=SEED, time_limit=240)

    order = ["endless-training", "loud", "crashes", "syntax-error", "missing-function"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(pool.map(run, order))
    results.update([run("fork-bomb")])  # alone: it exhausts what every sandboxed worker shares
    yield results
    shutil.rmtree(folder, ignore_errors=True)


def select_tests(result: GradingResult, module: str | None = None, exercises=None):
    return [
        test
        for test in result.tests
        if (module is None or test.module == module) and (exercises is None or test.exercise in exercises)
    ]


def assert_complete(result: GradingResult):
    assert all(test.status in ("passed", "failed") for test in result.tests)
    assert not any(test.output.startswith("not run") for test in result.tests), failures(result)
    assert "incomplete" not in result.extra, result.extra


def test_a_syntax_error_costs_only_its_module_and_names_file_and_line(graded):
    result = graded["syntax-error"]
    assert_complete(result)
    scores = result.module_scores()
    assert scores["activations"][0] == scores["activations"][1], failures(result)
    assert scores["forward"][0] == 0, failures(result)
    public = select_tests(result, "forward")
    assert all(test.status == "failed" for test in public)
    visible = [test.output for test in public if not test.hidden]
    assert all("forward.py" in output and f"line {SYNTAX_ERROR_LINE}" in output for output in visible), visible[0]
    assert any("SyntaxError" in output for output in visible), visible[0]


def test_a_missing_function_costs_only_its_tests(graded):
    result = graded["missing-function"]
    assert_complete(result)
    failed = [test for test in result.tests if test.status == "failed"]
    assert failed and {test.exercise for test in failed} == {"relu_grad"}, failures(result)
    public = [test for test in failed if not test.hidden]
    assert all("relu_grad" in test.output and "defined" in test.output for test in public), failures(result)
    others = [test for test in result.tests if test.exercise != "relu_grad"]
    assert all(test.status == "passed" for test in others)


def test_a_crash_a_recursion_and_a_memory_error_cost_only_their_tests(graded):
    result = graded["crashes"]
    assert_complete(result)
    broken = {"relu", "sigmoid_grad", "binary_step"}
    for test in result.tests:
        assert (test.status == "failed") == (test.exercise in broken), f"{test.number} {test.name}: {test.output}"
    feedback = {test.exercise: test.output for test in result.tests if not test.hidden and test.exercise in broken}
    assert "ended the process running your code" in feedback["relu"], feedback["relu"]
    assert "RecursionError" in feedback["sigmoid_grad"], feedback["sigmoid_grad"][:500]
    assert "MemoryError" in feedback["binary_step"], feedback["binary_step"]
    # The 5.5 MB the crashing call printed: only its tail, capped, reaches the feedback.
    assert "last words" in feedback["relu"] and len(feedback["relu"]) < 1000, len(feedback["relu"])
    assert all(len(test.output) < 10_000 for test in result.tests)


def test_an_endless_loop_costs_only_its_tests_and_later_tests_still_run(graded):
    result = graded["endless-training"]
    assert_complete(result)
    training = select_tests(result, "gradient_descent", {"train_two_layer_net"})
    assert training and all(test.status == "failed" for test in training)
    assert all("did not finish in" in test.output for test in training if not test.hidden), failures(result)
    later = result.tests[result.tests.index(training[0]) + 1 :]
    assert len([test for test in later if test.module == "softmax_loss"]) >= 10, "softmax_loss's tests run after"
    others = [test for test in result.tests if test.exercise != "train_two_layer_net"]
    assert all(test.status == "passed" for test in others), failures(result)


def test_a_process_bomb_costs_only_its_tests_even_in_a_module_beside_it(graded):
    result = graded["fork-bomb"]
    assert_complete(result)
    failed = {test.exercise for test in result.tests if test.status == "failed"}
    assert failed == {"relu_grad"}, failures(result)
    cnn = select_tests(result, "cnn")
    assert cnn and all(test.status == "passed" for test in cnn), failures(result)


def test_megabytes_of_output_are_graded_normally_and_not_kept(graded):
    measured = graded["loud"]
    result = GradingResult.from_json(measured["result"])
    assert_complete(result)
    assert result.score == result.max_score, failures(result)
    assert measured["peak_megabytes"] < PEAK_MEGABYTES, measured["peak_megabytes"]
    assert len(json.dumps(measured["result"])) < 100_000


def test_every_fault_was_graded_in_the_sandbox(graded):
    isolations = {
        name: GradingResult.from_json(value["result"]).extra.get("isolation")
        if name == "loud"
        else value.extra.get("isolation")
        for name, value in graded.items()
    }
    assert all(isolations.values()), isolations
    assert all(not isolation.startswith("none") for isolation in isolations.values()), isolations
    assert set(MODULES) >= {module for fault in FAULTS.values() for module in fault.modules}


def test_a_function_that_timed_out_gets_a_short_limit_after(tmp_path, monkeypatch):
    """A hang costs its full limit once; the function's later calls get the short one, and its hidden
    re-checks, whose public tests all timed out, are left out (they could withdraw nothing)."""
    from grader.engine import runner
    from grader.limits import LIMITS
    from tests.helpers import make_submission

    monkeypatch.setattr(LIMITS, "call_seconds", 4.0)
    monkeypatch.setattr(LIMITS, "call_seconds_after_timeout", 1.0)
    hang = ("def softmax(z, axis=-1):\n", "def softmax(z, axis=-1):\n    while True:\n        pass\n")
    folder = make_submission(tmp_path / "hangs", "activations", [hang])
    result = runner.grade(folder, modules=["activations"], hidden=True, seed=3, fresh_process=False)
    public = [test for test in result.tests if test.exercise == "softmax" and not test.hidden]
    assert [test.failure["kind"] for test in public] == ["timeout"] * 3
    assert "did not finish in 4 s;" in public[0].output
    for test in public[1:]:
        assert "did not finish in 1 s (a shorter limit than the test's 4 s" in test.output
    hidden = [test for test in result.tests if test.exercise == "softmax" and test.hidden]
    assert hidden and all(test.failure["kind"] == "moot" for test in hidden)
    others = [test for test in result.tests if test.exercise != "softmax" and not test.hidden]
    assert all(test.status == "passed" for test in others)  # nothing else pays for softmax's hang


# conv_size's checks send thousands of calls in one request (Student.call_each). A call that hangs,
# ends the process or returns a wrong value in the middle of such a batch costs what it would alone.
BATCH_FAULTS = """

_conv_output_size, _pool_output_size, _conv2d_output_shape = conv_output_size, pool_output_size, conv2d_output_shape


def conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
    while kernel_size == 9:  # among the random configurations, never the first
        pass
    return _conv_output_size(input_size, kernel_size, stride, padding, dilation)


def pool_output_size(input_size, kernel_size, stride=None, padding=0):
    if input_size == 40:
        import os

        os._exit(3)
    return _pool_output_size(input_size, kernel_size, stride, padding)


def conv2d_output_shape(input_shape, *args, **kwargs):
    shape = _conv2d_output_shape(input_shape, *args, **kwargs)
    return list(shape) if len(input_shape) == 3 else shape


_same_padding = same_padding


def same_padding(kernel_size, dilation=1):
    return 1 // (kernel_size - 7) + _same_padding(kernel_size, dilation)  # 1 // 0 at 7: the 6th of 11 cases
"""


def test_a_fault_inside_a_batch_of_calls_costs_what_it_would_alone(tmp_path, monkeypatch):
    from grader.engine import runner
    from grader.limits import LIMITS

    monkeypatch.setattr(LIMITS, "call_seconds", 4.0)
    monkeypatch.setattr(LIMITS, "call_seconds_after_timeout", 1.0)
    folder = make_submission(tmp_path / "batch", "conv_size")
    (folder / "conv_size.py").write_text((folder / "conv_size.py").read_text() + BATCH_FAULTS)
    result = runner.grade(folder, modules=["conv_size"], fresh_process=False)
    tests = {test.name: test for test in result.tests}
    hung = tests["test_conv_output_size_matches_conv2d"]
    assert hung.failure["kind"] == "timeout", hung.output
    assert hung.output.startswith(
        "your `conv_output_size` (1738 calls in a row, the first `conv_output_size(8, 3, stride=2, padding=0, "
        "dilation=1)`) did not finish in 4 s;"
    ), hung.output
    assert tests["test_conv_output_size_rejects_what_conv2d_rejects"].failure["kind"] == "timeout"
    assert tests["test_conv_output_size_rejects_bools_floats_and_out_of_range_arguments"].status == "passed"
    crashed = tests["test_pool_output_size_matches_max_pool2d"]
    assert crashed.failure["kind"] == "crashed", crashed.output
    assert "ended the process running your code (it exited with status 3" in crashed.output
    # One wrong value among the answers: named by its own call, as a lone call's would be.
    wrong = tests["test_conv2d_output_shape_matches_conv2d"]
    assert "conv2d_output_shape((3, 28, 28), 6, 3, stride=1, padding=0, dilation=1)" in wrong.output, wrong.output
    assert "a list returned; return a tuple" in wrong.output
    # One call raising among the answers: named by its own call too, and the other cases still checked.
    raised = tests["test_same_padding_keeps_the_size_at_stride_1"]
    assert "your `same_padding(7, dilation=3)` raised ZeroDivisionError" in raised.output, raised.output
    assert tests["test_conv2d_num_params_matches_conv2d_parameters"].status == "passed"


def test_a_batch_reply_of_the_wrong_shape_is_refused():
    """A worker's reply to a batch must hold one answer per call: anything else fails closed."""
    from grader import wire
    from grader.engine.student import Student
    from grader.errors import ProtocolError

    class Forging:
        modules, folder = ["conv_size"], None

        def __init__(self, each):
            self.each = each

        def request(self, request, time_limit=None):
            return {"each": self.each}

    calls = [((8, 3), {}), ((9, 3), {})]
    six, seven = {"ok": wire.encode(6)}, {"ok": wire.encode(7)}
    for each in ([six], [six, seven, seven], [six, {"nothing": 1}], [six, {"ok": 7}], six, None):
        with pytest.raises(ProtocolError):
            Student(Forging(each)).call_each("conv_size", "conv_output_size", calls)
    answers = Student(Forging([six, seven])).call_each("conv_size", "conv_output_size", calls)
    assert [answer.get() for answer in answers] == [6, 7]
