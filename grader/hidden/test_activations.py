"""Hidden checks of activations.py: the public checks again, on inputs drawn from the run's seed.

Worth 0 points each; a failure withdraws the public tests it names in
`rechecks` (those it draws the same kind of input for and checks the same
property of), and no other (see grader.engine.scoring). Feedback never shows
these inputs or expected values.
"""

import numpy as np

from grader.engine.feedback import check_array, describe_call
from grader.engine.scoring import graded
from grader.suite.test_activations import DEFAULT_ALPHA, check_stable, expit, read_only, softmax
from grader.tolerances import TOLERANCES


def fresh_input(rng, scale=5.0, dimensions=(1, 3), unit_axis=False):
    """Random values of a random shape, with exact zeros (and -0.0) at random places.

    The conventions at z == 0 (relu_grad 0, leaky_relu_grad alpha, binary_step 1)
    are then checked on fresh inputs too, not only on the published ones. With
    `unit_axis`, one axis (drawn) has length 1, at least 2 dimensions: an axis
    that `squeeze`, a hard-coded axis or a reshape to 2-D gets wrong.
    """
    low, high = dimensions
    ndim = int(rng.integers(max(low, 2) if unit_axis else low, high + 1))
    shape = [int(n) for n in rng.integers(2, 7, size=ndim)]
    if unit_axis:
        shape[int(rng.integers(ndim))] = 1
    z = rng.normal(scale=scale, size=tuple(shape))
    flat = z.reshape(-1)
    places = rng.choice(flat.size, size=2, replace=False)
    flat[places[0]], flat[places[1]] = 0.0, -0.0
    return read_only(z)  # as in the public checks: writing into an input fails loudly


def fresh_inputs(rng, count=3, dimensions=(1, 3)):
    """`count` fresh inputs, the first always with an axis of length 1 (so every seed has one)."""
    return [fresh_input(rng, dimensions=dimensions, unit_axis=index == 0) for index in range(count)]


def large_input(rng):
    """Finite values of every magnitude up to 1e4, both signs, where a naive exp overflows."""
    size = int(rng.integers(6, 15))
    z = np.sign(rng.normal(size=size)) * 10.0 ** rng.uniform(-1, 4, size=size)
    z[:2] = [rng.uniform(710, 1e4), -rng.uniform(710, 1e4)]  # past exp's overflow at ~709.78, both ways
    return read_only(rng.permutation(z))


# The public checks' elementwise oracles, as closed forms (grader.suite.test_activations).
CLOSED_FORMS = {
    "sigmoid": expit,
    "sigmoid_grad": lambda z: expit(z) * (1 - expit(z)),
    "tanh": np.tanh,
    "tanh_grad": lambda z: 1 - np.tanh(z) ** 2,
    "relu": lambda z: np.maximum(z, 0.0),
    "relu_grad": lambda z: (z > 0).astype(float),
    "binary_step": lambda z: (z >= 0).astype(float),
}


def check_values(student, rng, name, kwargs=None, oracle=None):
    """`name` matches its closed form on three fresh arrays (one with an axis of length 1), at the
    public checks' tolerances."""
    kwargs = kwargs or {}
    oracle = oracle or CLOSED_FORMS[name]
    for z in fresh_inputs(rng):
        got = getattr(student.activations, name)(z, **kwargs)
        check_array(got, oracle(z), call=describe_call(name, (z,), kwargs), **TOLERANCES[name]["values"].isclose)


def check_stable_values(student, rng, name):
    z = large_input(rng)
    check_stable(student, name, CLOSED_FORMS[name](z), z)


@graded(points=0, exercise="sigmoid", rechecks=("test_sigmoid_matches_closed_form",))
def test_hidden_sigmoid_matches_closed_form(student, hidden_rng):
    """Random arrays of 1 to 3 dimensions, with exact zeros."""
    check_values(student, hidden_rng, "sigmoid")


@graded(points=0, exercise="sigmoid", rechecks=("test_sigmoid_is_stable_for_large_inputs",))
def test_hidden_sigmoid_is_stable_for_large_inputs(student, hidden_rng):
    """Values of every magnitude up to 1e4, both signs, run with warnings as errors."""
    check_stable_values(student, hidden_rng, "sigmoid")


@graded(points=0, exercise="sigmoid_grad", rechecks=("test_sigmoid_grad_matches_closed_form_and_numerical_gradient",))
def test_hidden_sigmoid_grad_matches_closed_form(student, hidden_rng):
    """Random arrays of 1 to 3 dimensions, with exact zeros."""
    check_values(student, hidden_rng, "sigmoid_grad")


@graded(points=0, exercise="sigmoid_grad", rechecks=("test_sigmoid_grad_matches_closed_form_and_numerical_gradient",))
def test_hidden_sigmoid_grad_is_stable_for_large_inputs(student, hidden_rng):
    """Values of every magnitude up to 1e4, both signs, run with warnings as errors."""
    check_stable_values(student, hidden_rng, "sigmoid_grad")


@graded(points=0, exercise="tanh", rechecks=("test_tanh_matches_closed_form_and_is_built_from_exp",))
def test_hidden_tanh_matches_closed_form(student, hidden_rng):
    """Random arrays of 1 to 3 dimensions, with exact zeros."""
    check_values(student, hidden_rng, "tanh")


@graded(points=0, exercise="tanh", rechecks=("test_tanh_is_stable_for_large_inputs",))
def test_hidden_tanh_is_stable_for_large_inputs(student, hidden_rng):
    """Values of every magnitude up to 1e4, both signs, run with warnings as errors."""
    check_stable_values(student, hidden_rng, "tanh")


@graded(points=0, exercise="tanh_grad", rechecks=("test_tanh_grad_matches_closed_form_and_numerical_gradient",))
def test_hidden_tanh_grad_matches_closed_form(student, hidden_rng):
    """Random arrays of 1 to 3 dimensions, with exact zeros."""
    check_values(student, hidden_rng, "tanh_grad")


@graded(points=0, exercise="tanh_grad", rechecks=("test_tanh_grad_matches_closed_form_and_numerical_gradient",))
def test_hidden_tanh_grad_is_stable_for_large_inputs(student, hidden_rng):
    """Values of every magnitude up to 1e4, both signs, run with warnings as errors."""
    check_stable_values(student, hidden_rng, "tanh_grad")


@graded(points=0, exercise="relu", rechecks=("test_relu_matches_closed_form",))
def test_hidden_relu_matches_closed_form(student, hidden_rng):
    """Random arrays of 1 to 3 dimensions, with exact zeros."""
    check_values(student, hidden_rng, "relu")


@graded(points=0, exercise="relu_grad", rechecks=("test_relu_grad_is_zero_at_zero_and_matches_numerical_gradient",))
def test_hidden_relu_grad_is_zero_at_zero(student, hidden_rng):
    """Random arrays of 1 to 3 dimensions, with exact zeros."""
    check_values(student, hidden_rng, "relu_grad")


def random_alpha(rng):
    """A slope in the public checks' range, 0.01 (the default) to 0.5."""
    return float(rng.uniform(0.01, 0.5))


@graded(points=0, exercise="leaky_relu", rechecks=("test_leaky_relu_honours_alpha",))
def test_hidden_leaky_relu_honours_alpha(student, hidden_rng):
    """Random arrays of 1 to 3 dimensions, with exact zeros, and a random slope alpha."""
    alpha = random_alpha(hidden_rng)
    check_values(student, hidden_rng, "leaky_relu", {"alpha": alpha}, lambda z: np.where(z > 0, z, alpha * z))
    # The default slope as well, as the public check's first case: alpha left out of the call.
    check_values(student, hidden_rng, "leaky_relu", oracle=lambda z: np.where(z > 0, z, DEFAULT_ALPHA * z))


@graded(
    points=0,
    exercise="leaky_relu_grad",
    rechecks=("test_leaky_relu_grad_is_alpha_at_zero_and_matches_numerical_gradient",),
)
def test_hidden_leaky_relu_grad_is_alpha_at_zero(student, hidden_rng):
    """Random arrays of 1 to 3 dimensions, with exact zeros, and a random slope alpha."""
    alpha = random_alpha(hidden_rng)
    check_values(student, hidden_rng, "leaky_relu_grad", {"alpha": alpha}, lambda z: np.where(z > 0, 1.0, alpha))
    check_values(student, hidden_rng, "leaky_relu_grad", oracle=lambda z: np.where(z > 0, 1.0, DEFAULT_ALPHA))


@graded(points=0, exercise="binary_step", rechecks=("test_binary_step_is_one_at_zero_and_zero_below",))
def test_hidden_binary_step_is_one_at_zero(student, hidden_rng):
    """Random arrays of 1 to 3 dimensions, with exact zeros."""
    check_values(student, hidden_rng, "binary_step")


@graded(points=0, exercise="softmax", rechecks=("test_softmax_normalises_the_last_axis_by_default",))
def test_hidden_softmax_normalises_the_last_axis_by_default(student, hidden_rng):
    """Random arrays of 1 to 3 dimensions, no axis given."""
    check_values(student, hidden_rng, "softmax", oracle=lambda z: softmax(z, axis=-1))


@graded(points=0, exercise="softmax", rechecks=("test_softmax_normalises_along_any_axis",))
def test_hidden_softmax_normalises_along_any_axis(student, hidden_rng):
    """Random arrays of 2 or 3 dimensions, along a random axis (negative ones too)."""
    # The axes the public check asks for: 0, 1, -1 of a 2-D array; 0, 1, 2, -1, -2 of a 3-D one.
    # Every seed asks for a negative axis and a non-negative one; the first array has an axis of
    # length 1 (along it the softmax is exactly 1).
    public_axes = {2: (0, 1, -1), 3: (0, 1, 2, -1, -2)}
    for index, z in enumerate(fresh_inputs(hidden_rng, dimensions=(2, 3))):
        axes = [axis for axis in public_axes[z.ndim] if (axis < 0, axis >= 0, True)[index]]
        axis = int(hidden_rng.choice(axes))
        got = student.activations.softmax(z, axis=axis)
        check_array(
            got,
            softmax(z, axis=axis),
            call=describe_call("softmax", (z,), {"axis": axis}),
            **TOLERANCES["softmax"]["values"].isclose,
        )


@graded(points=0, exercise="softmax", rechecks=("test_softmax_is_stable_for_large_inputs",))
def test_hidden_softmax_is_stable_for_large_inputs(student, hidden_rng):
    """Two-row arrays of values of every magnitude up to 1e4, along either axis, run with warnings as errors."""
    z = read_only(large_input(hidden_rng).reshape(1, -1).repeat(2, axis=0) * [[1.0], [-1.0]])
    axis = int(hidden_rng.integers(0, 2))
    check_stable(student, "softmax", softmax(z, axis=axis), z, kwargs={"axis": axis})
