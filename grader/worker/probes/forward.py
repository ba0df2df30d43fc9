"""Probes for forward.py: calls that take a function, or look at the student's global state.

A function cannot cross the boundary, so `neuron` and `dense` with a
non-default activation run here, given one of the grader's own activations
(not the student's: a mistake in their activations.py cannot hide a mistake
in forward.py). NumPy only: checking forward must not wait for torch.
"""

import numpy as np


def cube(z):
    """z**3: odd, unbounded and unlike any activation a student would apply by mistake."""
    return np.asarray(z, dtype=float) ** 3


def relu(z):
    return np.maximum(np.asarray(z, dtype=float), 0.0)


ACTIVATIONS = {"cube": cube, "relu": relu}


def neuron_with_activation(submission, x, w, b, activation):
    """Your neuron given one of the grader's activations (cube or relu).

    Returns `neuron(x, w, b, activation=ACTIVATIONS[activation])`.
    """
    return submission.forward.neuron(x, w, b, activation=ACTIVATIONS[activation])


def dense_with_activation(submission, X, W, b, activation):
    """Your dense layer given one of the grader's activations (cube or relu).

    Returns `dense(X, W, b, activation=ACTIVATIONS[activation])`.
    """
    return submission.forward.dense(X, W, b, activation=ACTIVATIONS[activation])


def forward_probabilities(submission, params, X):
    """Your forward pass's probabilities (its cache stays in your process).

    Returns what `forward(params, X)` gave: its type, its length and its first
    item (probs). The cache is the student's own design (whatever their
    backward needs), so it never crosses.
    """
    result = submission.forward.forward(params, X)
    pair = isinstance(result, (tuple, list)) and len(result) == 2
    return {
        "type": type(result).__name__,
        "length": len(result) if isinstance(result, (tuple, list)) else None,
        "probs": result[0] if pair else None,
    }


def _global_state():
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    return [str(name), np.array(keys), int(position), int(has_gauss), float(cached_gaussian)]


def global_rng_around_init_params(submission, nn_input_dim, nn_hdim, nn_output_dim, seed):
    """Your init_params, watching NumPy's global random state.

    Returns the global state before and after `init_params(...)`, as plain data.
    """
    before = _global_state()
    submission.forward.init_params(nn_input_dim, nn_hdim, nn_output_dim, seed=seed)
    return {"before": before, "after": _global_state()}
