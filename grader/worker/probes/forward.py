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


def global_draws_after_init_params(submission, nn_input_dim, nn_hdim, nn_output_dim, seed, global_seed):
    """Your init_params between seeding NumPy's global generator and drawing from it.

    Seeds the global generator with `global_seed`, calls `init_params(...)`,
    then returns four draws of `np.random.random()`. The trusted side knows
    what those draws are when the call leaves the generator alone. The
    global state is put back afterwards.
    """
    saved = np.random.get_state()
    try:
        np.random.seed(global_seed)
        submission.forward.init_params(nn_input_dim, nn_hdim, nn_output_dim, seed=seed)
        return np.random.random(4)
    finally:
        np.random.set_state(saved)
