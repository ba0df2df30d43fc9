"""Probes for backprop.py: calls that need the student's live objects.

`backward` takes the cache of the student's own `forward`, whatever its
structure, and `numerical_gradient` takes a callable; neither can cross the
boundary, so these probes make them here and report plain data. No labels or
expected values come in; nothing here decides a verdict.
"""

import copy

import numpy as np


def unchanged(before, after) -> bool:
    """Whether `after` still holds what `before` (a deep copy taken earlier) held."""
    if isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and before.shape == after.shape
            and bool(np.array_equal(before, after, equal_nan=True))
        )
    if isinstance(before, dict):
        return (
            isinstance(after, dict)
            and before.keys() == after.keys()
            and all(unchanged(before[key], after[key]) for key in before)
        )
    if isinstance(before, (list, tuple)):
        return (
            type(before) is type(after)
            and len(before) == len(after)
            and all(unchanged(old, new) for old, new in zip(before, after, strict=True))
        )
    return True  # other objects are not compared


def backward_on_your_forward_cache(submission, params, X, y, reg_lambda=None):
    """Run the student's forward, then their backward on its cache (reg_lambda=None: its default).

    Returns {"grads": what backward returned, "cache_unchanged": bool,
    "inputs_unchanged": bool (params, X and y)}.
    """
    _, cache = submission.forward.forward(params, X)
    cache_before = copy.deepcopy(cache)
    inputs_before = copy.deepcopy((params, X, y))
    options = {} if reg_lambda is None else {"reg_lambda": reg_lambda}
    grads = submission.backprop.backward(params, cache, X, y, **options)
    return {
        "grads": grads,
        "cache_unchanged": unchanged(cache_before, cache),
        "inputs_unchanged": unchanged(inputs_before, (params, X, y)),
    }


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
