"""Hidden checks of softmax_loss.py on inputs drawn from the run's seed (0 points; see grader.engine.scoring).

Oracle: the loss in closed form with SciPy's log_softmax; its gradient
X^T (softmax(XW) - onehot(y)) / N + reg W, derived by hand.
"""

import numpy as np
from scipy import special

from grader.engine.feedback import check, check_array, check_number, describe_call
from grader.engine.scoring import graded


def problem(rng):
    N, D, C = (int(n) for n in rng.integers(2, 9, size=3))
    return rng.normal(size=(D, C)), rng.normal(size=(N, D)), rng.integers(0, C, size=N), float(rng.uniform(0, 1))


def oracle(W, X, y, reg):
    scores = X @ W
    N = len(y)
    loss = -np.mean(special.log_softmax(scores, axis=1)[np.arange(N), y]) + reg / 2 * np.sum(W**2)
    probs = special.softmax(scores, axis=1)
    probs[np.arange(N), y] -= 1
    return loss, X.T @ probs / N + reg * W


def check_loss_function(student, rng, name):
    W, X, y, reg = problem(rng)
    loss, dW = getattr(student.softmax_loss, name)(W, X, y, reg)
    expected_loss, expected_dW = oracle(W, X, y, reg)
    call = describe_call(name, (W, X, y, reg))
    check_number(loss, expected_loss, call=call)
    check_array(dW, expected_dW, call=call + " gradient", rtol=1e-6, atol=1e-10)


@graded(points=0, exercise="softmax_loss_naive")
def test_hidden_softmax_loss_naive(student, hidden_rng):
    check_loss_function(student, hidden_rng, "softmax_loss_naive")


@graded(points=0, exercise="softmax_loss_vectorized")
def test_hidden_softmax_loss_vectorized(student, hidden_rng):
    check_loss_function(student, hidden_rng, "softmax_loss_vectorized")


@graded(points=0, exercise="one_hot")
def test_hidden_one_hot(student, hidden_rng):
    C = int(hidden_rng.integers(2, 9))
    y = hidden_rng.integers(0, C, size=int(hidden_rng.integers(1, 20)))
    check_array(student.softmax_loss.one_hot(y, C), np.eye(C)[y], call=describe_call("one_hot", (y, C)))


@graded(points=0, exercise="softmax_loss_vectorized")
def test_hidden_softmax_loss_vectorized_is_stable_for_large_scores(student, hidden_rng):
    W, X, y, reg = problem(hidden_rng)
    W = W * float(hidden_rng.uniform(2000, 5000))  # scores of order 1e4
    loss, dW = student.softmax_loss.softmax_loss_vectorized(W, X, y, reg)
    expected_loss, expected_dW = oracle(W, X, y, reg)
    call = describe_call("softmax_loss_vectorized", (W, X, y, reg))
    check_number(loss, expected_loss, call=call, rtol=1e-9)
    check_array(dW, expected_dW, call=call + " gradient", rtol=1e-6, atol=1e-9)


@graded(points=0, exercise="cross_entropy")
def test_hidden_cross_entropy(student, hidden_rng):
    N, C = int(hidden_rng.integers(1, 12)), int(hidden_rng.integers(2, 7))
    probs, y = special.softmax(hidden_rng.normal(size=(N, C)), axis=1), hidden_rng.integers(0, C, size=N)
    call = describe_call("cross_entropy", (probs, y))
    # rtol 1e-4: any clipping epsilon up to 1e-6 passes, as in the public zero-probability check.
    check_number(
        student.softmax_loss.cross_entropy(probs, y), -np.mean(np.log(probs[np.arange(N), y])), call=call, rtol=1e-4
    )
    probs[0] = 0.0
    probs[0, (y[0] + 1) % C] = 1.0  # the true class of row 0 has probability exactly 0
    got = student.softmax_loss.cross_entropy(probs, y)
    bound = -np.mean(np.log(np.maximum(probs[np.arange(N), y], 1e-6)))
    check(isinstance(got, (float, np.floating)) and bool(np.isfinite(got) and got >= bound), "wrong result", call=call)
