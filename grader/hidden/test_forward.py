"""Hidden checks of forward.py on inputs drawn from the run's seed (0 points; see grader.engine.scoring).

Every array handed to the student's code is read-only, as in the public checks.
"""

import numpy as np
from scipy import special

from grader.engine.feedback import check_array, check_equal, check_number, describe_call
from grader.engine.scoring import graded
from grader.suite.test_forward import check_global_rng_left_alone, read_only
from grader.worker import probes


def random_params(rng, D, H, C):
    return {
        "W1": read_only(rng.normal(size=(D, H))),
        "b1": read_only(rng.normal(size=(1, H))),
        "W2": read_only(rng.normal(size=(H, C))),
        "b2": read_only(rng.normal(size=(1, C))),
    }


def oracle_probs(params, X):
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    return special.softmax(hidden @ params["W2"] + params["b2"], axis=1)


def neuron_inputs(rng):
    D = int(rng.integers(1, 9))
    return read_only(rng.normal(size=D)), read_only(rng.normal(size=D)), float(rng.normal())


@graded(points=0, exercise="neuron")
def test_hidden_neuron(student, hidden_rng):
    for _ in range(3):
        x, w, b = neuron_inputs(hidden_rng)
        check_number(student.forward.neuron(x, w, b), special.expit(w @ x + b), call=describe_call("neuron", (x, w, b)))
        got = student.probe(probes.forward.neuron_with_activation, x=x, w=w, b=b, activation="cube")
        check_number(got, (w @ x + b) ** 3, call=describe_call("neuron", (x, w, b), {"activation": "cube"}))


@graded(points=0, exercise="perceptron")
def test_hidden_perceptron(student, hidden_rng):
    for _ in range(4):
        x, w, b = neuron_inputs(hidden_rng)
        got = student.forward.perceptron(x, w, b)
        check_number(got, int(w @ x + b >= 0), kind=int, rtol=0, atol=0, call=describe_call("perceptron", (x, w, b)))
    # Exactly at the threshold: small integers make w . x + b exactly 0.0.
    x = read_only(hidden_rng.integers(-4, 5, size=3))
    w = read_only(hidden_rng.integers(-4, 5, size=3))
    b = -float(w @ x)
    check_number(
        student.forward.perceptron(x, w, b), 1, kind=int, rtol=0, atol=0, call=describe_call("perceptron", (x, w, b))
    )


@graded(points=0, exercise="dense")
def test_hidden_dense(student, hidden_rng):
    N, D, H = (int(n) for n in hidden_rng.integers(1, 9, size=3))
    X, W, b = (read_only(hidden_rng.normal(size=shape)) for shape in ((N, D), (D, H), (H,)))
    check_array(student.forward.dense(X, W, b), X @ W + b, call=describe_call("dense", (X, W, b)))


@graded(points=0, exercise="forward")
def test_hidden_forward(student, hidden_rng):
    N, D, H, C = (int(n) for n in hidden_rng.integers(1, 9, size=4))
    params, X = random_params(hidden_rng, D, H, C), read_only(hidden_rng.normal(size=(N, D)))
    probs, _ = student.forward.forward(params, X)
    check_array(probs, oracle_probs(params, X), call=describe_call("forward", (params, X)))


@graded(points=0, exercise="forward")
def test_hidden_forward_is_stable_for_large_scores(student, hidden_rng):
    N, D, H, C = (int(n) for n in hidden_rng.integers(2, 9, size=4))
    params = random_params(hidden_rng, D, H, C)
    params["W2"] = read_only(float(hidden_rng.uniform(300, 1000)) * params["W2"])  # scores in the thousands
    X = read_only(hidden_rng.normal(size=(N, D)))
    probs, _ = student.forward.forward(params, X)
    check_array(probs, oracle_probs(params, X), call=describe_call("forward", (params, X)), atol=1e-12)


@graded(points=0, exercise="predict")
def test_hidden_predict(student, hidden_rng):
    N, D, H, C = 20, 3, 5, 4
    params, X = random_params(hidden_rng, D, H, C), read_only(hidden_rng.normal(size=(N, D)))
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
def test_hidden_init_params(student, hidden_rng):
    D, H, C = (int(n) for n in hidden_rng.integers(1, 12, size=3))
    seed = int(hidden_rng.integers(0, 2**31))
    call = describe_call("init_params", (D, H, C), {"seed": seed})
    params = student.forward.init_params(D, H, C, seed=seed)
    shapes = {key: value.shape for key, value in params.items()} if isinstance(params, dict) else params
    check_equal(shapes, {"W1": (D, H), "b1": (1, H), "W2": (H, C), "b2": (1, C)}, call=call, what="shapes")
    again = student.forward.init_params(D, H, C, seed=seed)
    for key in ("W1", "b1", "W2", "b2"):
        check_array(again[key], params[key], call=call + f", called twice, [{key!r}]", rtol=0, atol=0)
        if key.startswith("b"):
            check_array(params[key], np.zeros((1, H if key == "b1" else C)), call=call + f"[{key!r}]", rtol=0, atol=0)
    check_global_rng_left_alone(student, (D, H, C), seed=seed, global_seed=int(hidden_rng.integers(0, 2**32)))
