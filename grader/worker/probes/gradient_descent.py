"""Probes for gradient_descent.py: calls that need callables, generators or identity.

`gradient_descent` takes a gradient function and `iterate_minibatches` is a
generator; neither crosses the boundary, so these probes build or drain them
here. Whether an input was changed in place, or a result is the input itself,
is only visible beside the live objects, so the probes report that too.
Nothing here decides a verdict.
"""

import copy

import numpy as np


def gradient_descent_on_a_quadratic(submission, curvature, x0, learning_rate=None, num_steps=None):
    """The student's gradient_descent on f(x) = sum(curvature * x**2) / 2, whose gradient is curvature * x.

    `learning_rate` and `num_steps` are passed only when given (None: the defaults).
    Returns {"result": what gradient_descent returned, "x0_after": x0 as the
    call left it, "history_holds_x0": whether a point of the history is x0's
    own memory (not a copy)}.
    """

    def grad_fn(x):
        return curvature * np.asarray(x, dtype=float)

    options = {
        name: value for name, value in (("learning_rate", learning_rate), ("num_steps", num_steps)) if value is not None
    }
    result = submission.gradient_descent.gradient_descent(grad_fn, x0, **options)
    history = result[1] if isinstance(result, tuple) and len(result) == 2 else None
    points = history if isinstance(history, list) else []
    holds_x0 = any(isinstance(point, np.ndarray) and np.shares_memory(point, x0) for point in points)
    return {"result": result, "x0_after": x0.copy(), "history_holds_x0": bool(holds_x0)}


def sgd_step_and_its_inputs(submission, params, grads, learning_rate):
    """The student's sgd_step, and what became of its inputs.

    Returns {"result": the returned dict, "params_after", "grads_after": the
    input dicts as the call left them, "returned_params_itself": whether the
    result is the params dict object}.
    """
    result = submission.gradient_descent.sgd_step(params, grads, learning_rate)
    return {
        "result": result,
        "params_after": copy.deepcopy(params),
        "grads_after": copy.deepcopy(grads),
        "returned_params_itself": result is params,
    }


def iterate_minibatches_to_the_end(submission, X, y, batch_size, **options):
    """Every (X_batch, y_batch) one call of the student's iterate_minibatches yields, in order.

    `options` (shuffle, seed) are passed as given, so leaving one out tests its default.
    """
    return [
        tuple(batch) if isinstance(batch, (tuple, list)) else batch
        for batch in submission.gradient_descent.iterate_minibatches(X, y, batch_size, **options)
    ]
