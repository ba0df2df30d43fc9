"""Hidden checks of backprop.py on inputs drawn from the run's seed (0 points; see grader.engine.scoring).

Each test draws afresh the kind of input of the public tests it names in
`rechecks` and checks the same property with the public tests' own checks
and oracles (grader.suite.test_backprop: the loss in closed form, PyTorch
autograd for the gradients, the exact derivative of a known function), so a
failure withdraws those tests only.
"""

import numpy as np

from grader.engine.scoring import graded
from grader.suite.test_backprop import (
    check_cache_and_inputs_unchanged,
    check_gradients_match_autograd,
    check_gradients_shaped_like_params,
    check_mean_cross_entropy,
    check_numerical_gradient_values,
    check_relative_error,
    check_relative_error_of_zeros,
    check_weight_decay_on_weights_only,
    check_x_restored_exactly,
    run_backward,
)


def problem(rng, one_example=False):
    """A net of random sizes N, D, H, C, all different (as the public NET_SIZES: a transposed gradient shows).

    With `one_example`, a batch of one (N = 1): a squeeze, or a mean taken over the wrong axis, shows there.
    """
    N, D, H, C = (int(n) for n in rng.choice(np.arange(2, 11), size=4, replace=False))
    N = 1 if one_example else N
    params = {
        "W1": rng.normal(size=(D, H)),
        "b1": rng.normal(size=(1, H)),
        "W2": rng.normal(size=(H, C)),
        "b2": rng.normal(size=(1, C)),
    }
    return params, rng.normal(size=(N, D)), rng.integers(0, C, size=N)


def reg_lambda(rng):
    """A weight-decay strength around the public checks' 0.1."""
    return float(rng.uniform(0.05, 0.5))


@graded(points=0, exercise="loss", rechecks=("test_loss_is_mean_cross_entropy",))
def test_hidden_loss_is_mean_cross_entropy(student, hidden_rng):
    """Random nets of random sizes (2 to 10, nonzero biases) and labels, reg_lambda left at its default.

    On every seed one of the nets sees a batch of one example (N = 1).
    """
    for one_example in (True, False):
        check_mean_cross_entropy(student, *problem(hidden_rng, one_example))


@graded(points=0, exercise="loss", rechecks=("test_loss_adds_weight_decay_on_weights_only",))
def test_hidden_loss_adds_weight_decay_on_weights_only(student, hidden_rng):
    """Random nets of random sizes (2 to 10, nonzero biases) and labels, and a random reg_lambda.

    On every seed one of the nets sees a batch of one example (N = 1).
    """
    for one_example in (True, False):
        check_weight_decay_on_weights_only(student, *problem(hidden_rng, one_example), reg_lambda(hidden_rng))


@graded(points=0, exercise="backward", rechecks=("test_backward_matches_autograd",))
def test_hidden_backward_matches_autograd(student, hidden_rng):
    """Random nets of random sizes (2 to 10, nonzero biases) and labels, reg_lambda left at its default.

    On every seed one of the nets sees a batch of one example (N = 1).
    """
    for one_example in (True, False):
        check_gradients_match_autograd(student, *problem(hidden_rng, one_example), None)


@graded(points=0, exercise="backward", rechecks=("test_backward_with_weight_decay_matches_autograd",))
def test_hidden_backward_with_weight_decay_matches_autograd(student, hidden_rng):
    """Random nets of random sizes (2 to 10, nonzero biases) and labels, and a random reg_lambda.

    On every seed one of the nets sees a batch of one example (N = 1).
    """
    for one_example in (True, False):
        check_gradients_match_autograd(student, *problem(hidden_rng, one_example), reg_lambda(hidden_rng))


@graded(points=0, exercise="backward", rechecks=("test_backward_gradients_are_shaped_like_params",))
def test_hidden_backward_gradients_are_shaped_like_params(student, hidden_rng):
    """Random nets of random sizes (2 to 10, all different) and labels, and a random reg_lambda."""
    for _ in range(2):
        check_gradients_shaped_like_params(student, *problem(hidden_rng), reg_lambda(hidden_rng))


@graded(points=0, exercise="backward", rechecks=("test_backward_leaves_cache_and_inputs_unchanged",))
def test_hidden_backward_leaves_cache_and_inputs_unchanged(student, hidden_rng):
    """A random net of random sizes (2 to 10) and labels, and a random reg_lambda, backward run twice."""
    params, X, y = problem(hidden_rng)
    report, call = run_backward(student, params, X, y, reg_lambda(hidden_rng))
    check_cache_and_inputs_unchanged(report, params, X, y, call)


def random_point(rng, unit_axis=False):
    """x of 1 to 3 dimensions of 1 to 4 entries each, N(0, 1) entries (so |f| stays small, see the public check).

    With `unit_axis`, one axis (drawn) has length 1: a column or row vector, or a single entry.
    """
    shape = [int(n) for n in rng.integers(1, 5, size=rng.integers(1, 4))]
    if unit_axis:
        shape[int(rng.integers(len(shape)))] = 1
    return rng.normal(size=tuple(shape))


@graded(points=0, exercise="numerical_gradient", rechecks=("test_numerical_gradient_matches_known_derivative",))
def test_hidden_numerical_gradient_matches_known_derivative(student, hidden_rng):
    """Random points x of 1 to 3 dimensions, with the default step and with a random step h.

    On every seed one of the points has an axis of length 1.
    """
    for x in (random_point(hidden_rng, unit_axis=True), random_point(hidden_rng)):
        check_numerical_gradient_values(student, x, None)
        check_numerical_gradient_values(student, x, float(hidden_rng.uniform(5e-3, 2e-2)))


@graded(points=0, exercise="numerical_gradient", rechecks=("test_numerical_gradient_restores_x_exactly",))
def test_hidden_numerical_gradient_restores_x_exactly(student, hidden_rng):
    """Random points x of 1 to 3 dimensions.

    On every seed one of the points has an axis of length 1.
    """
    for x in (random_point(hidden_rng, unit_axis=True), random_point(hidden_rng)):
        check_x_restored_exactly(student, x)


@graded(points=0, exercise="relative_error", rechecks=("test_relative_error_matches_cs231n_formula",))
def test_hidden_relative_error_matches_cs231n_formula(student, hidden_rng):
    """Random arrays of 1 or 2 dimensions, random scalars, and arrays with a pair of entries below the 1e-8 floor."""
    shape = tuple(int(n) for n in hidden_rng.integers(1, 6, size=hidden_rng.integers(1, 3)))
    # As the public case: entries that agree, and one pair a = -b with |a| + |b| = 2 * tiny below
    # the floor, so the result is 2 * tiny / 1e-8 (0.002 to 0.8; 1.0 without the floor).
    tiny, agreeing = float(hidden_rng.uniform(1e-11, 4e-9)), hidden_rng.normal(size=int(hidden_rng.integers(1, 5)))
    below_floor = np.append(agreeing, tiny), np.append(agreeing, -tiny)
    for a, b in (
        (hidden_rng.normal(size=shape), hidden_rng.normal(size=shape)),
        (float(hidden_rng.normal()), float(hidden_rng.normal())),
        below_floor,
    ):
        check_relative_error(student, a, b)


@graded(points=0, exercise="relative_error", rechecks=("test_relative_error_of_zeros_is_zero",))
def test_hidden_relative_error_of_zeros_is_zero(student, hidden_rng):
    """Zero arrays of a random shape of 1 to 3 dimensions."""
    check_relative_error_of_zeros(
        student, tuple(int(n) for n in hidden_rng.integers(1, 6, size=hidden_rng.integers(1, 4)))
    )
