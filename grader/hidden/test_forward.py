"""Hidden checks of forward.py on inputs drawn from the run's seed (0 points; see grader.engine.scoring)."""

import numpy as np
from scipy import special

from grader.engine.feedback import check_array, check_equal, describe_call
from grader.engine.scoring import graded


def random_params(rng, D, H, C):
    return {
        "W1": rng.normal(size=(D, H)),
        "b1": rng.normal(size=(1, H)),
        "W2": rng.normal(size=(H, C)),
        "b2": rng.normal(size=(1, C)),
    }


def oracle_probs(params, X):
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    return special.softmax(hidden @ params["W2"] + params["b2"], axis=1)


@graded(points=0, exercise="dense")
def test_hidden_dense(student, hidden_rng):
    N, D, H = (int(n) for n in hidden_rng.integers(1, 9, size=3))
    X, W, b = hidden_rng.normal(size=(N, D)), hidden_rng.normal(size=(D, H)), hidden_rng.normal(size=H)
    check_array(student.forward.dense(X, W, b), X @ W + b, call=describe_call("dense", (X, W, b)))


@graded(points=0, exercise="forward")
def test_hidden_forward(student, hidden_rng):
    N, D, H, C = (int(n) for n in hidden_rng.integers(1, 9, size=4))
    params, X = random_params(hidden_rng, D, H, C), hidden_rng.normal(size=(N, D))
    probs, _ = student.forward.forward(params, X)
    check_array(probs, oracle_probs(params, X), call=describe_call("forward", (params, X)))


@graded(points=0, exercise="predict")
def test_hidden_predict(student, hidden_rng):
    N, D, H, C = 20, 3, 5, 4
    params, X = random_params(hidden_rng, D, H, C), hidden_rng.normal(size=(N, D))
    got = student.forward.predict(params, X)
    check_array(
        got,
        np.argmax(oracle_probs(params, X), axis=1),
        call=describe_call("predict", (params, X)),
        kinds="iu",
        rtol=0,
        atol=0,
    )


@graded(points=0, exercise="init_params")
def test_hidden_init_params_shapes(student, hidden_rng):
    D, H, C = (int(n) for n in hidden_rng.integers(1, 12, size=3))
    seed = int(hidden_rng.integers(0, 10**6))
    params = student.forward.init_params(D, H, C, seed=seed)
    shapes = {key: value.shape for key, value in params.items()} if isinstance(params, dict) else params
    check_equal(
        shapes,
        {"W1": (D, H), "b1": (1, H), "W2": (H, C), "b2": (1, C)},
        call=describe_call("init_params", (D, H, C), {"seed": seed}),
        what="shapes",
    )
