"""Probes for gradient_descent.py: calls that need callables, generators or identity.

`gradient_descent` takes a gradient function and `iterate_minibatches` is a
generator; neither crosses the boundary, so these probes build or drain them
here. What became of the inputs is sent back as values, and the inputs are
then overwritten, so a result that shares their memory shows it in its
values. Nothing here decides a verdict.
"""

import copy

import numpy as np


def gradient_descent_on_a_quadratic(submission, curvature, x0, learning_rate=None, num_steps=None):
    """The student's gradient_descent on f(x) = sum(curvature * x**2) / 2, whose gradient is curvature * x.

    `learning_rate` and `num_steps` are passed only when given (None: the defaults).
    Returns {"result": what gradient_descent returned, "x0_after": x0 as the
    call left it}. Before the result is sent, x0 is overwritten with NaN: a
    history point that is x0's own memory (not a copy) then shows NaN to the
    trusted side, which compares the history with the points it expects.
    """

    def grad_fn(x):
        return curvature * np.asarray(x, dtype=float)

    options = {
        name: value for name, value in (("learning_rate", learning_rate), ("num_steps", num_steps)) if value is not None
    }
    result = submission.gradient_descent.gradient_descent(grad_fn, x0, **options)
    x0_after = x0.copy()
    x0.setflags(write=True)
    x0[...] = np.nan
    return {"result": result, "x0_after": x0_after}


def sgd_step_and_its_inputs(submission, params, grads, learning_rate):
    """The student's sgd_step, and what became of its inputs.

    Returns {"result": the returned dict, "params_after", "grads_after": the
    input dicts as the call left them}. Before the result is sent, every entry
    of params is set to NaN (in its dict and its arrays): a result that is
    params itself, or shares its arrays, then shows NaN to the trusted side.
    """
    result = submission.gradient_descent.sgd_step(params, grads, learning_rate)
    params_after, grads_after = copy.deepcopy(params), copy.deepcopy(grads)
    for key, value in list(params.items()):
        if isinstance(value, np.ndarray):
            value.setflags(write=True)
            value[...] = np.nan
        params[key] = np.full(np.shape(value), np.nan)
    return {"result": result, "params_after": params_after, "grads_after": grads_after}


def iterate_minibatches_to_the_end(submission, X, y, batch_size, **options):
    """Every (X_batch, y_batch) one call of the student's iterate_minibatches yields, in order.

    `options` (shuffle, seed) are passed as given, so leaving one out tests its default.
    """
    return [
        tuple(batch) if isinstance(batch, (tuple, list)) else batch
        for batch in submission.gradient_descent.iterate_minibatches(X, y, batch_size, **options)
    ]
