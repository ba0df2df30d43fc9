"""Hidden checks of backprop.py on inputs drawn from the run's seed (0 points; see grader.engine.scoring).

The loss oracle is NumPy's; the gradient oracle is a central difference of
that loss (float64, h=1e-5), whose error is far below the tolerance used.
"""

import numpy as np
from scipy import special

from grader.engine.feedback import check, check_array, check_number, describe_call
from grader.engine.scoring import graded
from grader.suite.test_backprop import check_cache_and_inputs_unchanged, known_function_gradient
from grader.worker.probes import backprop as backprop_probes


def oracle_loss(params, X, y, reg):
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    log_probs = special.log_softmax(hidden @ params["W2"] + params["b2"], axis=1)
    data = -np.mean(log_probs[np.arange(len(y)), y])
    return data + reg / 2 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))


def problem(rng):
    N, D, H, C = (int(n) for n in rng.integers(2, 7, size=4))
    params = {
        "W1": rng.normal(size=(D, H)),
        "b1": rng.normal(size=(1, H)),
        "W2": rng.normal(size=(H, C)),
        "b2": rng.normal(size=(1, C)),
    }
    return params, rng.normal(size=(N, D)), rng.integers(0, C, size=N), float(rng.uniform(0, 0.5))


@graded(points=0, exercise="loss")
def test_hidden_loss(student, hidden_rng):
    params, X, y, reg = problem(hidden_rng)
    check_number(
        student.backprop.loss(params, X, y, reg),
        oracle_loss(params, X, y, reg),
        call=describe_call("loss", (params, X, y, reg)),
    )


@graded(points=0, exercise="backward")
def test_hidden_backward(student, hidden_rng):
    params, X, y, reg = problem(hidden_rng)
    _, cache = student.forward.forward(params, X)
    grads = student.backprop.backward(params, cache, X, y, reg)
    for name, value in params.items():
        numerical = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus = {**params, name: value.copy()}
            minus = {**params, name: value.copy()}
            plus[name][index] += 1e-5
            minus[name][index] -= 1e-5
            numerical[index] = (oracle_loss(plus, X, y, reg) - oracle_loss(minus, X, y, reg)) / 2e-5
        got = grads.get(name) if isinstance(grads, dict) else None
        check_array(
            got,
            numerical,
            call=describe_call("backward", (params, cache, X, y, reg)) + f"[{name!r}]",
            rtol=1e-5,
            atol=1e-8,
        )


@graded(points=0, exercise="relative_error")
def test_hidden_relative_error(student, hidden_rng):
    a, b = hidden_rng.normal(size=5), hidden_rng.normal(size=5)
    expected = np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))
    check_number(student.backprop.relative_error(a, b), expected, call=describe_call("relative_error", (a, b)))


@graded(points=0, exercise="backward")
def test_hidden_backward_leaves_cache_and_inputs_unchanged(student, hidden_rng):
    params, X, y, reg = problem(hidden_rng)
    report = student.probe(backprop_probes.backward_on_your_forward_cache, params=params, X=X, y=y, reg_lambda=reg)
    call = describe_call("backward", (params, "cache", X, y, reg))
    check(isinstance(report["grads"], dict) and set(report["grads"]) >= set(params), "wrong result", call=call)
    check_cache_and_inputs_unchanged(report, params, X, y, call)


@graded(points=0, exercise="numerical_gradient")
def test_hidden_numerical_gradient(student, hidden_rng):
    shape = tuple(int(n) for n in hidden_rng.integers(1, 5, size=hidden_rng.integers(1, 4)))
    x = hidden_rng.normal(size=shape)
    report = student.probe(backprop_probes.numerical_gradient_of_a_known_function, x=x)
    call = describe_call("numerical_gradient", ("f", x))
    check_array(report["grad"], known_function_gradient(x), call=call, rtol=1e-7, atol=1e-8)
    check_array(report["x_after"], x, call=call + ", then x", rtol=0, atol=0)
    h = float(hidden_rng.uniform(1e-3, 1e-2))
    report = student.probe(backprop_probes.numerical_gradient_of_a_known_function, x=x, h=h)
    check_array(report["grad"], np.cos(x) * np.sin(h) / h + np.sum(x), call=call, rtol=1e-7, atol=1e-9)
