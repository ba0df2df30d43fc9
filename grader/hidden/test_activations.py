"""Hidden checks of activations.py: the public checks again, on inputs drawn from the run's seed.

Worth 0 points each; a failure withdraws the public points of its exercise
(see grader.engine.scoring). Feedback never shows these inputs or expected values.
"""

import numpy as np
from scipy import special

from grader.engine.feedback import check_array, describe_call
from grader.engine.scoring import graded
from grader.suite.test_activations import check_stable, read_only


def fresh_input(rng, scale=5.0):
    """Random values of a random shape, with exact zeros (and -0.0) at random places.

    The conventions at z == 0 (relu_grad 0, leaky_relu_grad alpha, binary_step 1)
    are then checked on fresh inputs too, not only on the published ones.
    """
    shape = tuple(int(n) for n in rng.integers(2, 7, size=rng.integers(1, 4)))
    z = rng.normal(scale=scale, size=shape)
    flat = z.reshape(-1)
    places = rng.choice(flat.size, size=2, replace=False)
    flat[places[0]], flat[places[1]] = 0.0, -0.0
    return read_only(z)  # as in the public checks: writing into an input fails loudly


def large_input(rng):
    """Finite values of every magnitude up to 1e4, both signs, where a naive exp overflows."""
    size = int(rng.integers(6, 15))
    z = np.sign(rng.normal(size=size)) * 10.0 ** rng.uniform(-1, 4, size=size)
    z[:2] = [rng.uniform(710, 1e4), -rng.uniform(710, 1e4)]  # past exp's overflow at ~709.78, both ways
    return read_only(rng.permutation(z))


def closed_forms(z, alpha):
    return {
        "sigmoid": ((z,), {}, special.expit(z)),
        "sigmoid_grad": ((z,), {}, special.expit(z) * (1 - special.expit(z))),
        "tanh": ((z,), {}, np.tanh(z)),
        "tanh_grad": ((z,), {}, 1 - np.tanh(z) ** 2),
        "relu": ((z,), {}, np.maximum(z, 0)),
        "relu_grad": ((z,), {}, (z > 0).astype(float)),
        "leaky_relu": ((z,), {"alpha": alpha}, np.where(z > 0, z, alpha * z)),
        "leaky_relu_grad": ((z,), {"alpha": alpha}, np.where(z > 0, 1.0, alpha)),
        "binary_step": ((z,), {}, (z >= 0).astype(float)),
        "softmax": ((z,), {"axis": 0}, special.softmax(z, axis=0)),
    }


def check_exercise(student, rng, name):
    for _ in range(3):
        z, alpha = fresh_input(rng), float(rng.uniform(0.01, 0.5))
        args, kwargs, expected = closed_forms(z, alpha)[name]
        got = getattr(student.activations, name)(*args, **kwargs)
        check_array(got, expected, call=describe_call(name, args, kwargs), rtol=1e-7, atol=1e-12)


@graded(points=0, exercise="sigmoid")
def test_hidden_sigmoid(student, hidden_rng):
    check_exercise(student, hidden_rng, "sigmoid")


@graded(points=0, exercise="sigmoid_grad")
def test_hidden_sigmoid_grad(student, hidden_rng):
    check_exercise(student, hidden_rng, "sigmoid_grad")


@graded(points=0, exercise="tanh")
def test_hidden_tanh(student, hidden_rng):
    check_exercise(student, hidden_rng, "tanh")


@graded(points=0, exercise="tanh_grad")
def test_hidden_tanh_grad(student, hidden_rng):
    check_exercise(student, hidden_rng, "tanh_grad")


@graded(points=0, exercise="relu")
def test_hidden_relu(student, hidden_rng):
    check_exercise(student, hidden_rng, "relu")


@graded(points=0, exercise="relu_grad")
def test_hidden_relu_grad(student, hidden_rng):
    check_exercise(student, hidden_rng, "relu_grad")


@graded(points=0, exercise="leaky_relu")
def test_hidden_leaky_relu(student, hidden_rng):
    check_exercise(student, hidden_rng, "leaky_relu")


@graded(points=0, exercise="leaky_relu_grad")
def test_hidden_leaky_relu_grad(student, hidden_rng):
    check_exercise(student, hidden_rng, "leaky_relu_grad")


@graded(points=0, exercise="binary_step")
def test_hidden_binary_step(student, hidden_rng):
    check_exercise(student, hidden_rng, "binary_step")


@graded(points=0, exercise="softmax")
def test_hidden_softmax(student, hidden_rng):
    check_exercise(student, hidden_rng, "softmax")


def check_stable_exercise(student, rng, name):
    z = large_input(rng)
    args, kwargs, expected = closed_forms(z, 0.01)[name]
    check_stable(student, name, expected, z, kwargs=kwargs)


@graded(points=0, exercise="sigmoid")
def test_hidden_sigmoid_is_stable(student, hidden_rng):
    check_stable_exercise(student, hidden_rng, "sigmoid")


@graded(points=0, exercise="sigmoid_grad")
def test_hidden_sigmoid_grad_is_stable(student, hidden_rng):
    check_stable_exercise(student, hidden_rng, "sigmoid_grad")


@graded(points=0, exercise="tanh")
def test_hidden_tanh_is_stable(student, hidden_rng):
    check_stable_exercise(student, hidden_rng, "tanh")


@graded(points=0, exercise="tanh_grad")
def test_hidden_tanh_grad_is_stable(student, hidden_rng):
    check_stable_exercise(student, hidden_rng, "tanh_grad")


@graded(points=0, exercise="softmax")
def test_hidden_softmax_is_stable(student, hidden_rng):
    z = read_only(large_input(hidden_rng).reshape(1, -1).repeat(2, axis=0) * [[1.0], [-1.0]])
    axis = int(hidden_rng.integers(0, 2))
    check_stable(student, "softmax", special.softmax(z, axis=axis), z, kwargs={"axis": axis})
