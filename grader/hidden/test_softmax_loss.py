"""Hidden checks of softmax_loss.py on inputs drawn from the run's seed (0 points; see grader.engine.scoring).

Each test redraws the kind of input of the public test it names and checks
that test's one property with the public suite's own `check_*` helper (and so
its oracle, torch autograd in float64 for the loss and gradient): values on
ordinary scores, values at scores near 1e4, a zero probability, the loop (or
its absence) beside the uniform loss at W = 0, the losses of timed runs (the
speed itself is judged once, by the public test). A mistake the public tests
already show so costs no more with these on.
"""

import numpy as np
from scipy import special

from grader.engine.scoring import graded
from grader.suite.test_softmax_loss import (
    TIMING_RUNS,
    check_cross_entropy,
    check_cross_entropy_with_zero_probabilities,
    check_loss_result,
    check_naive_loops,
    check_one_hot,
    check_stable_for_large_scores,
    check_uniform_loss,
    check_vectorized_has_no_loops,
    check_vectorized_is_faster_than_a_loop,
    loss_inputs,
)


def integer(rng, low, high):
    """A Python int in [low, high], both included."""
    return int(rng.integers(low, high + 1))


@graded(points=0, exercise="one_hot", rechecks=("test_one_hot_rows_are_identity_rows",))
def test_hidden_one_hot_rows_are_identity_rows(student, hidden_rng):
    """Drawn labels (1 to 20 of them) and class counts, the labels not always reaching the last class.

    On every seed: labels that stop short of the last class (so num_classes, not max(y) + 1, sets the
    width), labels that reach it, and a single label.
    """
    for kind in ("short of the last class", "reaching the last class", "a single label"):
        num_classes = integer(hidden_rng, 2, 9)
        size = 1 if kind == "a single label" else integer(hidden_rng, 1, 20)
        top = num_classes - 1 if kind == "short of the last class" else num_classes
        labels = hidden_rng.integers(0, top, size=size)
        if kind == "reaching the last class":
            labels[integer(hidden_rng, 0, size - 1)] = num_classes - 1
        check_one_hot(student, labels, num_classes)


def softmax_rows(rng, num_examples, num_classes):
    """Probabilities as the public check draws them: the softmax of standard normal scores."""
    return special.softmax(rng.normal(size=(num_examples, num_classes)), axis=1)


@graded(points=0, exercise="cross_entropy", rechecks=("test_cross_entropy_is_mean_negative_log_of_true_class",))
def test_hidden_cross_entropy_is_mean_negative_log_of_true_class(student, hidden_rng):
    """Softmax probabilities of drawn standard normal scores, 1 to 12 examples and 2 to 7 classes."""
    for num_examples in (1, integer(hidden_rng, 2, 12)):
        num_classes = integer(hidden_rng, 2, 7)
        probs = softmax_rows(hidden_rng, num_examples, num_classes)
        check_cross_entropy(student, probs, hidden_rng.integers(0, num_classes, size=num_examples))


@graded(points=0, exercise="cross_entropy", rechecks=("test_cross_entropy_is_finite_when_a_probability_is_zero",))
def test_hidden_cross_entropy_is_finite_when_a_probability_is_zero(student, hidden_rng):
    """Drawn softmax probabilities with some true-class probabilities exactly 0 and a 0 elsewhere in another row."""
    num_examples, num_classes = integer(hidden_rng, 3, 12), integer(hidden_rng, 2, 6)
    probs = softmax_rows(hidden_rng, num_examples, num_classes)
    y = hidden_rng.integers(0, num_classes, size=num_examples)
    rows = hidden_rng.permutation(num_examples)
    zeroed = rows[: integer(hidden_rng, 1, num_examples - 1)]
    probs[zeroed, y[zeroed]] = 0.0
    other = rows[-1]  # a row whose true class keeps its probability
    probs[other, (y[other] + integer(hidden_rng, 1, num_classes - 1)) % num_classes] = 0.0
    probs /= probs.sum(axis=1, keepdims=True)  # rows still sum to 1, the zeros stay exactly 0
    check_cross_entropy_with_zero_probabilities(student, probs, y)


def drawn_problems(rng):
    """(W, X, y, reg) of drawn sizes, read-only as the public ones, and a drawn reg (0 to 1).

    Three problems, with the public LOSS_CASES' edge cases on every seed: the first is one example
    without regularisation (reg = 0), the second's labels never reach the last class (a class count
    taken as max(y) + 1 shows), the third is drawn throughout.
    """
    problems = []
    for index in range(3):
        num_examples, num_features, num_classes = integer(rng, 1, 16), integer(rng, 2, 10), integer(rng, 2, 6)
        reg = float(rng.uniform(0, 1))
        num_examples, reg = (1, 0.0) if index == 0 else (num_examples, reg)
        labelled_classes = num_classes - 1 if index == 1 else None
        inputs = loss_inputs(num_examples, num_features, num_classes, rng=rng, labelled_classes=labelled_classes)
        problems.append((*inputs, reg))
    return problems


def check_on_drawn_problems(student, rng, function, value):
    """The student's `function` on drawn problems, its `value` ("loss" or "dW") against autograd."""
    for W, X, y, reg in drawn_problems(rng):
        result = getattr(student.softmax_loss, function)(W, X, y, reg)
        check_loss_result(result, W, X, y, reg, function=function, check_values=(value,))


@graded(points=0, exercise="softmax_loss_naive", rechecks=("test_naive_loss_matches_autograd",))
def test_hidden_naive_loss_matches_autograd(student, hidden_rng):
    """Drawn W of scale 0.5, X and labels of 1 to 16 examples, 2 to 10 features and 2 to 6 classes."""
    check_on_drawn_problems(student, hidden_rng, "softmax_loss_naive", "loss")


@graded(points=0, exercise="softmax_loss_naive", rechecks=("test_naive_gradient_matches_autograd",))
def test_hidden_naive_gradient_matches_autograd(student, hidden_rng):
    """Drawn W of scale 0.5, X and labels of 1 to 16 examples, 2 to 10 features and 2 to 6 classes."""
    check_on_drawn_problems(student, hidden_rng, "softmax_loss_naive", "dW")


def with_the_last_class(rng, y, num_classes):
    """The labels `y` with one drawn entry set to the last class, read-only.

    The published inputs of the stability and loop checks all hold a label of
    the last class; a mistake that shows only without one (C taken as
    max(y) + 1) belongs to the loss and gradient checks, which have such a case.
    """
    y = np.array(y)
    y[integer(rng, 0, len(y) - 1)] = num_classes - 1
    y.flags.writeable = False
    return y


def uniform_problem(rng):
    """(X, y, C) for the loss at W = 0: 2 to 12 examples, 2 to 8 features, 2 to 8 classes."""
    num_classes = integer(rng, 2, 8)
    _, X, y = loss_inputs(integer(rng, 2, 12), integer(rng, 2, 8), num_classes, rng=rng)
    return X, with_the_last_class(rng, y, num_classes), num_classes


@graded(points=0, exercise="softmax_loss_naive", rechecks=("test_naive_loops_over_the_examples",))
def test_hidden_naive_loops_over_the_examples(student, hidden_rng):
    """Drawn X and labels holding the last class, at W = 0 where the loss is log C; your source read for a loop."""
    check_uniform_loss(student, "softmax_loss_naive", *uniform_problem(hidden_rng))
    check_naive_loops(student)


@graded(points=0, exercise="softmax_loss_vectorized", rechecks=("test_vectorized_loss_matches_autograd",))
def test_hidden_vectorized_loss_matches_autograd(student, hidden_rng):
    """Drawn W of scale 0.5, X and labels of 1 to 16 examples, 2 to 10 features and 2 to 6 classes."""
    check_on_drawn_problems(student, hidden_rng, "softmax_loss_vectorized", "loss")


@graded(points=0, exercise="softmax_loss_vectorized", rechecks=("test_vectorized_gradient_matches_autograd",))
def test_hidden_vectorized_gradient_matches_autograd(student, hidden_rng):
    """Drawn W of scale 0.5, X and labels of 1 to 16 examples, 2 to 10 features and 2 to 6 classes."""
    check_on_drawn_problems(student, hidden_rng, "softmax_loss_vectorized", "dW")


@graded(points=0, exercise="softmax_loss_vectorized", rechecks=("test_vectorized_is_stable_for_scores_near_1e4",))
def test_hidden_vectorized_is_stable_for_scores_near_1e4(student, hidden_rng):
    """Drawn W of scale 3000 to 5000 (scores near 1e4), X and labels holding the last class, and a small reg."""
    num_examples, num_features, num_classes = (
        integer(hidden_rng, 2, 10),
        integer(hidden_rng, 3, 6),
        integer(hidden_rng, 3, 8),
    )
    scale = float(hidden_rng.uniform(3000, 5000))
    W, X, y = loss_inputs(num_examples, num_features, num_classes, scale=scale, rng=hidden_rng)
    y = with_the_last_class(hidden_rng, y, num_classes)
    check_stable_for_large_scores(student, W, X, y, float(10 ** hidden_rng.uniform(-8, -6)))


@graded(points=0, exercise="softmax_loss_vectorized", rechecks=("test_vectorized_has_no_python_loops",))
def test_hidden_vectorized_has_no_python_loops(student, hidden_rng):
    """Drawn X and labels holding the last class, at W = 0 where the loss is log C; your source read for loops."""
    check_uniform_loss(student, "softmax_loss_vectorized", *uniform_problem(hidden_rng))
    check_vectorized_has_no_loops(student)


@graded(points=0, exercise="softmax_loss_vectorized", rechecks=("test_vectorized_is_faster_than_a_loop_over_examples",))
def test_hidden_vectorized_is_faster_than_a_loop_over_examples(student, hidden_rng):
    """Timed runs at the public size (500 examples, 40 features, 10 classes) on inputs of drawn seeds: their
    losses. The speed is judged once, by the public test (its inputs are fresh every grading too)."""
    seeds = [int(seed) for seed in hidden_rng.integers(0, 2**62, size=TIMING_RUNS)]
    check_vectorized_is_faster_than_a_loop(student, seeds, judge_speed=False)
