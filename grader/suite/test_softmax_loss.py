"""Graded checks of softmax_loss.py (14 points).

Oracles: NumPy/SciPy closed forms, and torch autograd in float64 for the loss
and its gradient (torch is imported inside those tests only, so the other
checks of this module never wait for it). Timing runs in the student's
process through probes and is measured in CPU seconds from outside.
"""

import functools
import math
import secrets
import time

import numpy as np
from scipy import special

import grader.worker.probes.softmax_loss  # noqa: F401 -- loads probes.softmax_loss
from grader.engine.feedback import check, check_array, check_number, describe_call, every_case, fail
from grader.engine.scoring import graded
from grader.engine.static import ModuleSource
from grader.tolerances import RELATIVE_ERROR_FLOOR, TOLERANCES
from grader.worker import probes

RNG_SEED = 2024  # any fixed seed: inputs are random but the same on every run
# (N, D, C, reg, the classes the labels are drawn from) of the loss/gradient
# cases. The first has N > 1 and a strong reg, so each known mistake changes its
# result visibly and is named. In the last the labels never reach the last
# class: C is W's number of columns, not max(y) + 1.
LOSS_CASES = [(7, 5, 3, 0.7, 3), (1, 4, 2, 0.0, 2), (16, 10, 6, 0.05, 6), (9, 4, 5, 0.2, 3)]
# The timing size: 500 examples make the loop's per-example overhead dominate.
TIMING_SIZE = dict(num_examples=500, num_features=40, num_classes=10, reg=0.1)
TIMING_SHAPE = {key: value for key, value in TIMING_SIZE.items() if key != "reg"}  # timing_inputs' sizes
TIMING_REPEATS = 20  # calls per run: the loop's run lasts ~90 ms, the student's is read in 10 ms clock ticks
TIMING_RUNS = 3  # best of 3 runs for each side
SPEEDUP = TOLERANCES["softmax_loss_vectorized"]["speed"].at_least  # NumPy is ~25x faster than the loop here


def loss_inputs(num_examples, num_features, num_classes, scale=0.5, rng=None, labelled_classes=None):
    """(W, X, y) in float64/int64, read-only so that in-place edits fail loudly.

    Drawn from `rng`, or by default from a generator seeded with RNG_SEED and the
    sizes; the labels from the first `labelled_classes` classes (default: all).
    """
    if rng is None:
        rng = np.random.default_rng([RNG_SEED, num_examples, num_features, num_classes])
    W = rng.normal(scale=scale, size=(num_features, num_classes))
    X = rng.normal(size=(num_examples, num_features))
    y = rng.integers(num_classes if labelled_classes is None else labelled_classes, size=num_examples)
    for array in (W, X, y):
        array.flags.writeable = False
    return W, X, y


def torch_loss_and_gradient(W, X, y, reg, *, reduction="mean", reg_factor=0.5):
    """Loss and dW by torch autograd; reduction/reg_factor vary it to fingerprint mistakes."""
    import torch
    import torch.nn.functional as F

    weights = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    scores = torch.tensor(X, dtype=torch.float64) @ weights
    data_loss = F.cross_entropy(scores, torch.tensor(y, dtype=torch.int64), reduction=reduction)
    loss = data_loss + reg_factor * reg * (weights**2).sum()
    loss.backward()
    return loss.item(), weights.grad.numpy().copy()


def relative_error(a, b) -> float:
    """CS231n relative error: max |a - b| / max(1e-8, |a| + |b|)."""
    return float(np.max(np.abs(a - b) / np.maximum(RELATIVE_ERROR_FLOOR, np.abs(a) + np.abs(b))))


def check_gradient(got, expected, tolerance, *, call, mistakes=None, nonfinite_cause=None):
    """`got` must be a float array shaped like `expected` within `tolerance`'s relative error."""
    bound = tolerance.relative_error
    if isinstance(got, np.ndarray) and got.dtype.kind == "f" and got.shape == expected.shape and np.isfinite(got).all():
        error = relative_error(got, expected)
        if error <= bound:
            return
        hint = f"relative error {error:.2e}; at most {bound:g} is allowed"
    else:
        hint = None
    # Fails with the details: the relative error is too large, so the bound's elementwise form fails too.
    check_array(
        got,
        expected,
        call=call,
        mistakes=mistakes,
        nonfinite_cause=nonfinite_cause,
        hint=hint,
        **tolerance.isclose,
    )
    fail("the gradient differs from autograd's", call=call, hint=hint)


def check_loss_result(result, W, X, y, reg, *, function, check_values=("loss", "dW")):
    """`result` must be (loss, dW) equal to autograd's, naming known mistakes."""
    tolerances = TOLERANCES[function]
    call = describe_call(function, (W, X, y, reg))
    check(
        isinstance(result, tuple) and len(result) == 2,
        f"expected a tuple (loss, dW); got {type(result).__name__}",
        call=call,
        hint="return loss, dW",
    )
    loss, dW = result
    expected_loss, expected_dW = torch_loss_and_gradient(W, X, y, reg)
    if "loss" in check_values:
        check_number(
            loss,
            expected_loss,
            call=call + " -> loss",
            mistakes={
                "the regularisation is reg * sum(W**2); the course's is reg/2 * sum(W**2)": torch_loss_and_gradient(
                    W, X, y, reg, reg_factor=1.0
                )[0],
                "the regularisation term reg/2 * sum(W**2) is missing": torch_loss_and_gradient(
                    W, X, y, reg, reg_factor=0.0
                )[0],
                "the loss is summed over the examples, not averaged over N": torch_loss_and_gradient(
                    W, X, y, reg, reduction="sum"
                )[0],
            },
            **tolerances["loss"].isclose,
        )
    if "dW" in check_values:
        check_gradient(
            dW,
            expected_dW,
            tolerances["dW"],
            call=call + " -> dW",
            mistakes={
                "dW is not divided by N (the loss is a mean over the examples)": torch_loss_and_gradient(
                    W, X, y, reg, reduction="sum"
                )[1],
                "the regularisation gradient reg * W is missing from dW": torch_loss_and_gradient(
                    W, X, y, reg, reg_factor=0.0
                )[1],
                "the regularisation gradient is 2 * reg * W; "
                "the gradient of reg/2 * sum(W**2) is reg * W": torch_loss_and_gradient(W, X, y, reg, reg_factor=1.0)[
                    1
                ],
                "dW has the wrong sign (softmax - one_hot, not one_hot - softmax)": -torch_loss_and_gradient(
                    W, X, y, reg
                )[1],
            },
        )


def check_uniform_loss(student, function, X, y, num_classes):
    """The function must work: at W = 0 every class has probability 1/C, so loss = log(C)."""
    W = np.zeros((X.shape[1], num_classes))
    call = describe_call(function, (W, X, y, 0.0))
    result = getattr(student.softmax_loss, function)(W, X, y, 0.0)
    check(
        isinstance(result, tuple) and len(result) == 2,
        f"expected a tuple (loss, dW); got {type(result).__name__}",
        call=call,
        hint="return loss, dW",
    )
    check_number(result[0], math.log(num_classes), call=call + " -> loss", **TOLERANCES[function]["loss"].isclose)


def uniform_loss_inputs():
    """The published (X, y, C) of check_uniform_loss: 5 examples, 4 features, 3 classes."""
    return (*loss_inputs(5, 4, 3)[1:], 3)


def check_one_hot(student, labels, num_classes):
    """one_hot(labels, num_classes) must be the float rows of the identity that the labels pick."""
    y = np.array(labels)
    y.flags.writeable = False
    got = student.softmax_loss.one_hot(y, num_classes)
    call = describe_call("one_hot", (y, num_classes))
    if isinstance(got, np.ndarray) and got.dtype.kind in "biu":
        fail(
            f"expected an array of a floating dtype (0.0 and 1.0); got dtype {got.dtype}",
            call=call,
            hint="np.zeros((N, C)) is float already: keep it (no dtype=int) and set 1.0s",
        )
    check_array(
        got,
        np.eye(num_classes)[y],
        call=call,
        hint="one_hot returns floats: np.zeros((N, C)) then set the 1.0s",
        mistakes={"num_classes is ignored: the columns stop at max(y) + 1": np.eye(y.max() + 1)[y]},
        **TOLERANCES["one_hot"]["values"].isclose,
    )


@graded(points=1, exercise="one_hot")
def test_one_hot_rows_are_identity_rows(student):
    with every_case() as cases:
        for labels, num_classes in [([2, 0, 1, 1], 3), ([0, 3], 6), ([4], 5)]:
            with cases.case():
                check_one_hot(student, labels, num_classes)


def check_cross_entropy(student, probs, y):
    """cross_entropy(probs, y) must be the mean of -log of each row's true-class probability."""
    tolerance = TOLERANCES["cross_entropy"]["values"]
    true_probs = probs[np.arange(len(y)), y]
    log_true = np.log(true_probs)
    got = student.softmax_loss.cross_entropy(probs, y)
    check_number(
        got,
        -np.mean(log_true),
        call=describe_call("cross_entropy", (probs, y)),
        rtol=tolerance.rtol,
        # Clipping to an epsilon, or adding it to every probability, moves each -log(p) by at
        # most epsilon / p: any epsilon the zero-probability check accepts is allowed here too.
        atol=tolerance.atol + float(np.mean(tolerance.epsilon / true_probs)),
        mistakes={
            "the loss is summed over the examples, not averaged over N": -np.sum(log_true),
            "the mean runs over all N*C entries of one_hot * log(probs), not over N": -np.mean(log_true)
            / probs.shape[1],
            "the minus sign is missing (log of a probability is negative)": np.mean(log_true),
            "every class's log-probability is summed, not only the true class's": -np.mean(
                np.sum(np.log(probs), axis=1)
            ),
        },
    )


@graded(points=1, exercise="cross_entropy")
def test_cross_entropy_is_mean_negative_log_of_true_class(student):
    rng = np.random.default_rng(RNG_SEED)
    with every_case() as cases:
        for num_examples, num_classes in [(8, 5), (1, 3)]:
            probs = special.softmax(rng.normal(size=(num_examples, num_classes)), axis=1)
            labels = rng.integers(num_classes, size=num_examples)
            with cases.case():
                check_cross_entropy(student, probs, labels)


def check_cross_entropy_with_zero_probabilities(student, probs, y):
    """cross_entropy(probs, y) must be a finite float at least what a floor of epsilon (1e-6) on the
    true-class probabilities gives, where some of them are exactly 0."""
    epsilon = TOLERANCES["cross_entropy"]["zero probability"].epsilon
    call = describe_call("cross_entropy", (probs, y))
    got = student.softmax_loss.cross_entropy(probs, y)
    check(
        isinstance(got, (float, np.floating)) and not isinstance(got, bool),
        f"expected a float; got {type(got).__name__}",
        call=call,
        hint="return float(...) of your result",
    )
    check(
        bool(np.isfinite(got)),
        f"got {got} where a large finite loss was expected",
        call=call,
        hint="log(0) is -inf: clip the probabilities to a tiny epsilon before the log (np.clip(p, 1e-12, None))",
    )
    # A zero probability must cost at least what epsilon costs (-log(1e-6) ~= 13.8):
    # any epsilon up to it passes.
    lower_bound = -np.mean(np.log(np.maximum(probs[np.arange(len(y)), y], epsilon)))
    check(
        bool(got >= lower_bound),
        f"got {got:.6g}; a zero probability must cost at least as much as a "
        f"probability of {epsilon:g}, so the loss must be at least {lower_bound:.6g}",
        call=call,
        hint="clip to a tiny epsilon such as 1e-12, not a large one",
    )


@graded(points=1, exercise="cross_entropy")
def test_cross_entropy_is_finite_when_a_probability_is_zero(student):
    # Row 0 gives its true class probability exactly 0; row 2 has a 0 elsewhere,
    # which the loss never needs.
    probs = np.array([[0.0, 0.5, 0.5], [0.2, 0.7, 0.1], [0.6, 0.4, 0.0]])
    check_cross_entropy_with_zero_probabilities(student, probs, np.array([0, 1, 0]))


def check_on_every_loss_case(student, function, value):
    """The student's `function` on every case of LOSS_CASES, its `value` ("loss" or "dW") against autograd."""
    with every_case() as cases:
        for num_examples, num_features, num_classes, reg, labelled_classes in LOSS_CASES:
            W, X, y = loss_inputs(num_examples, num_features, num_classes, labelled_classes=labelled_classes)
            with cases.case():
                result = getattr(student.softmax_loss, function)(W, X, y, reg)
                check_loss_result(result, W, X, y, reg, function=function, check_values=(value,))


@graded(points=2, exercise="softmax_loss_naive")
def test_naive_loss_matches_autograd(student):
    check_on_every_loss_case(student, "softmax_loss_naive", "loss")


@graded(points=2, exercise="softmax_loss_naive")
def test_naive_gradient_matches_autograd(student):
    check_on_every_loss_case(student, "softmax_loss_naive", "dW")


def check_naive_loops(student):
    """softmax_loss_naive (or a function it calls) must hold an explicit loop."""
    module = ModuleSource(student.source("softmax_loss"), "softmax_loss.py")
    call = "softmax_loss.py, function softmax_loss_naive and the functions it calls"
    check(module.defines("softmax_loss_naive"), "softmax_loss.py defines no function softmax_loss_naive", call=call)
    loops = module.loops("softmax_loss_naive")
    check(
        bool(loops),
        "softmax_loss_naive has no loop: this exercise asks for an explicit loop over the "
        "examples (the vectorized version is the next exercise)",
        call=call,
        hint="for i in range(X.shape[0]): add example i's loss and its gradient",
    )


@graded(points=1, exercise="softmax_loss_naive")
def test_naive_loops_over_the_examples(student):
    check_uniform_loss(student, "softmax_loss_naive", *uniform_loss_inputs())
    check_naive_loops(student)


@graded(points=1, exercise="softmax_loss_vectorized")
def test_vectorized_loss_matches_autograd(student):
    check_on_every_loss_case(student, "softmax_loss_vectorized", "loss")


@graded(points=2, exercise="softmax_loss_vectorized")
def test_vectorized_gradient_matches_autograd(student):
    check_on_every_loss_case(student, "softmax_loss_vectorized", "dW")


def global_max_subtracted_loss(W, X, y, reg) -> float:
    """The loss of log-sum-exp with the max of all scores subtracted, not each row's (-inf on large scores)."""
    with np.errstate(all="ignore"):
        centred = X @ W - (X @ W).max()
        log_normalisers = np.log(np.exp(centred).sum(axis=1))
        true_class = centred[np.arange(len(y)), y] - log_normalisers
        return float(-true_class.mean() + reg / 2 * (W**2).sum())


def check_stable_for_large_scores(student, W, X, y, reg):
    """softmax_loss_vectorized must give autograd's loss and dW, finite and without a warning, where
    the scores X @ W are so large that exp overflows without the max subtraction."""
    tolerances = TOLERANCES["softmax_loss_vectorized"]
    call = describe_call("softmax_loss_vectorized", (W, X, y, reg))
    reply = student.probe(probes.softmax_loss.softmax_loss_vectorized_warnings, W=W, X=X, y=y, reg=reg)
    result, warnings = reply["result"], reply["warnings"]
    check(
        isinstance(result, tuple) and len(result) == 2,
        f"expected a tuple (loss, dW); got {type(result).__name__}",
        call=call,
        hint="return loss, dW",
    )
    loss, dW = result
    text = " ".join(warnings)
    if "overflow" in text:
        cause = "no max subtraction: exp of a score near 1e4 overflows to inf"
    elif isinstance(loss, float) and loss == global_max_subtracted_loss(W, X, y, reg):
        cause = (
            "the max subtracted over the whole score matrix, not each row's: a row far below it has "
            "exp(shifted) summing to 0; subtract np.max(scores, axis=1, keepdims=True)"
        )
    elif "divide by zero" in text and "log" in text:
        cause = (
            "log of probabilities that rounded to 0: take log-probabilities as "
            "shifted - log(sum(exp(shifted))) instead of log(probs)"
        )
    else:
        cause = "no max subtraction (exp overflows), or log of a probability that rounded to 0"
    expected_loss, expected_dW = torch_loss_and_gradient(W, X, y, reg)
    check(
        isinstance(loss, (float, np.floating)) and bool(np.isfinite(loss)),
        f"the loss is {loss!r}; expected the finite {expected_loss:.6g}",
        call=call,
        cause=cause,
    )
    check_gradient(dW, expected_dW, tolerances["dW"], call=call + " -> dW", nonfinite_cause=cause)
    check(
        not warnings,
        f"your code emitted {len(warnings)} warning(s), the first: {warnings[0] if warnings else ''}",
        call=call,
        cause=cause,
    )
    check_number(
        loss,
        expected_loss,
        call=call + " -> loss",
        hint="take log-probabilities as shifted - log(sum(exp(shifted))); clipping probabilities "
        "that rounded to 0 changes the loss",
        **tolerances["loss"].isclose,
    )


@graded(points=1, exercise="softmax_loss_vectorized")
def test_vectorized_is_stable_for_scores_near_1e4(student):
    # Scores X @ W of order 1e4 (W ~ 4000 * N(0, 1), X ~ N(0, 1), D = 4): exp
    # overflows without the max subtraction, and the probabilities of all but
    # the top class round to exactly 0.
    check_stable_for_large_scores(student, *loss_inputs(6, 4, 5, scale=4000.0), 1e-7)


def check_vectorized_has_no_loops(student):
    """softmax_loss_vectorized (and every function it calls) must run no Python loop."""
    module = ModuleSource(student.source("softmax_loss"), "softmax_loss.py")
    call = "softmax_loss.py, function softmax_loss_vectorized and the functions it calls"
    check(
        module.defines("softmax_loss_vectorized"),
        "softmax_loss.py defines no function softmax_loss_vectorized",
        call=call,
    )
    loops = module.loops("softmax_loss_vectorized")
    check(
        not loops,
        "softmax_loss_vectorized runs Python loops: " + "; ".join(loops),
        call=call,
        hint="work on whole arrays: scores = X @ W, row maxima with axis=1, "
        "true-class entries with scores[np.arange(N), y]",
    )


@graded(points=1, exercise="softmax_loss_vectorized")
def test_vectorized_has_no_python_loops(student):
    check_uniform_loss(student, "softmax_loss_vectorized", *uniform_loss_inputs())
    check_vectorized_has_no_loops(student)


def loop_baseline(W, X, y, reg):
    """The yardstick: one Python iteration per example, the work of a naive loss.

    Each iteration does what an iteration of a naive softmax loss does (a score
    row X[i] @ W, a per-class vector, an outer-product update of dW), for a
    squared-error loss. It runs in this (trusted) process, timed by its CPU
    clock: the student's process could slow down any yardstick run there.
    """
    num_examples, num_classes = X.shape[0], W.shape[1]
    loss, gradient = 0.0, np.zeros_like(W)
    for i in range(num_examples):
        residual = X[i] @ W
        residual[y[i]] -= 1.0
        loss += 0.5 * float(residual @ residual) / num_classes
        gradient += np.outer(X[i], residual) / num_classes
    return loss / num_examples + reg / 2 * np.sum(W * W), gradient / num_examples + reg * W


@functools.cache
def loop_seconds_per_call() -> float:
    """CPU seconds of one loop_baseline call on the timing inputs, best of TIMING_RUNS runs.

    Measured once per grading, by the first test that needs it: the public test
    and its hidden re-check compare against the same yardstick. CPU time of this
    process, which the student's process cannot slow down.
    """
    runs = []
    for _ in range(TIMING_RUNS):
        # The yardstick builds its inputs inside its timed window too, as the student's run does.
        before = time.process_time()
        for repeat in range(TIMING_REPEATS):
            loop_baseline(*probes.softmax_loss.timing_inputs(RNG_SEED + repeat, **TIMING_SHAPE), TIMING_SIZE["reg"])
        runs.append(time.process_time() - before)
    return min(runs) / TIMING_REPEATS


def check_vectorized_is_faster_than_a_loop(student, first_seeds, judge_speed=True):
    """softmax_loss_vectorized must be SPEEDUP times faster than the loop yardstick, and right, on the timing
    inputs of TIMING_RUNS runs, run k on seeds first_seeds[k], first_seeds[k] + 1, ...

    `judge_speed=False` checks the timed runs' losses only: the hidden re-check's
    case. The public runs' inputs are already fresh and unknowable (seeds drawn
    per grading), so a second verdict on the speed would re-measure the same
    thing, and a submission near the threshold would lose the point to timing
    noise alone.
    """

    def inputs_and_losses(first_seed):
        """The inputs of one timed run (seeds first_seed, first_seed+1, ...) and their exact losses."""
        inputs, losses = [], []
        for repeat in range(TIMING_REPEATS):
            W, X, y = probes.softmax_loss.timing_inputs(first_seed + repeat, **TIMING_SHAPE)
            log_probs = special.log_softmax(X @ W, axis=1)
            losses.append(-np.mean(log_probs[np.arange(len(y)), y]) + TIMING_SIZE["reg"] / 2 * np.sum(W * W))
            inputs.append((W, X, y))
        return inputs, losses

    student_seconds, answers = [], []
    for first_seed in first_seeds:
        # The student's inputs are built inside the timed request, from a seed sent with it: work done
        # before the clock starts cannot prepare an answer, and every call has inputs of its own.
        before = student.cpu_seconds()
        losses = student.probe(
            probes.softmax_loss.softmax_loss_vectorized_timed, seed=first_seed, repeats=TIMING_REPEATS, **TIMING_SIZE
        )
        student_seconds.append(student.cpu_seconds() - before)
        answers.append((losses, inputs_and_losses(first_seed)[1]))
    W, X, y = probes.softmax_loss.timing_inputs(RNG_SEED, **TIMING_SHAPE)
    call = describe_call("softmax_loss_vectorized", (W, X, y, TIMING_SIZE["reg"]))
    for losses, expected_losses in answers:
        check(
            isinstance(losses, list) and len(losses) == TIMING_REPEATS, "the timed calls returned no losses", call=call
        )
        for loss, expected in zip(losses, expected_losses, strict=True):
            check_number(
                loss, expected, call=call + " -> loss", **TOLERANCES["softmax_loss_vectorized"]["loss"].isclose
            )
    if not judge_speed:
        return
    loop_time, student_time = loop_seconds_per_call(), min(student_seconds) / TIMING_REPEATS
    check(
        student_time <= loop_time / SPEEDUP,
        f"your vectorized loss took {1000 * student_time:.2f} ms of CPU per call; the grader's loop over "
        f"the {TIMING_SIZE['num_examples']} examples took {1000 * loop_time:.2f} ms. A vectorized version "
        f"should be at least {SPEEDUP:g}x faster than the loop",
        call=call,
        cause="a Python loop (or np.vectorize / map) over the examples or classes",
    )


@graded(points=1, exercise="softmax_loss_vectorized")
def test_vectorized_is_faster_than_a_loop_over_examples(student):
    # Every run gets inputs no one could know in advance: no cache of earlier answers helps.
    check_vectorized_is_faster_than_a_loop(student, [secrets.randbits(64) for _ in range(TIMING_RUNS)])
