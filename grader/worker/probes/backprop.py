"""Probes for backprop.py: calls that need the student's live objects.

`backward` takes the cache of the student's own `forward`, whatever its
structure, and `numerical_gradient` takes a callable; neither can cross the
boundary, so these probes make them here and report plain data. No labels or
expected values come in; nothing here decides a verdict.
"""

import copy

import numpy as np


def backward_on_your_forward_cache(submission, params, X, y, reg_lambda=None):
    """Run the student's forward, then their backward on its cache twice (reg_lambda=None: its default).

    Returns {"grads": the first backward's result, "grads_again": the second's,
    on the same cache, "inputs_after": (params, X, y) as the calls left them}.
    A backward that writes into the cache (dscores = probs; dscores[...] -= 1)
    gives other gradients the second time; the trusted side compares both, and
    the inputs, with what it sent.
    """
    _, cache = submission.forward.forward(params, X)
    options = {} if reg_lambda is None else {"reg_lambda": reg_lambda}
    grads = copy.deepcopy(submission.backprop.backward(params, cache, X, y, **options))
    grads_again = submission.backprop.backward(params, cache, X, y, **options)
    return {"grads": grads, "grads_again": grads_again, "inputs_after": copy.deepcopy((params, X, y))}


def numerical_gradient_of_a_known_function(submission, x, h=None):
    """The student's numerical gradient of f() = sum(sin(x)) + sum(x)**2 / 2 at `x`.

    f reads `x` itself, so only changes made to `x` in place change f. It is
    not separable (every entry appears in sum(x)), so an entry left perturbed
    while the next is measured shows in the result.
    Returns {"grad": the result, "x_after": x as the call left it}.
    """

    def f():
        return float(np.sum(np.sin(x)) + 0.5 * np.sum(x) ** 2)

    options = {} if h is None else {"h": h}
    grad = submission.backprop.numerical_gradient(f, x, **options)
    return {"grad": grad, "x_after": x.copy()}
