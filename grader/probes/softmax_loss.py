"""Probes for softmax_loss: warnings the student's code emits, and timing runs.

NumPy only (checking this module never waits for torch). The timing probes
do the same work apart from the loss itself (build the inputs from a seed, run
`repeats` times, return one float), so the trusted side can compare the CPU
seconds each takes: the grader's own loop over the examples against the
student's vectorized code.
"""

from __future__ import annotations

import warnings

import numpy as np


def softmax_loss_vectorized_warnings(submission, W, X, y, reg) -> dict:
    """The student's softmax_loss_vectorized(W, X, y, reg) and every warning it emitted."""
    # NumPy's default error handling (underflow to 0 is silent and harmless),
    # whatever the student's code set globally.
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        result = submission.softmax_loss.softmax_loss_vectorized(W, X, y, reg)
    return {"result": result,
            "warnings": [f"{warning.category.__name__}: {warning.message}" for warning in caught]}


def timing_inputs(seed: int, num_examples: int, num_features: int, num_classes: int):
    """The (W, X, y) both timing probes work on: moderate scores, random labels."""
    rng = np.random.default_rng(seed)
    W = rng.normal(scale=0.1, size=(num_features, num_classes))
    X = rng.normal(size=(num_examples, num_features))
    y = rng.integers(num_classes, size=num_examples)
    return W, X, y


def loop_softmax_loss(W, X, y, reg):
    """The grader's loop implementation: one Python iteration per example."""
    num_examples = X.shape[0]
    loss = 0.0
    dW = np.zeros(W.shape)
    for i in range(num_examples):
        scores = X[i] @ W
        shifted = scores - scores.max()
        log_probs = shifted - np.log(np.exp(shifted).sum())
        loss -= log_probs[y[i]]
        dscores = np.exp(log_probs)
        dscores[y[i]] -= 1.0
        dW += np.outer(X[i], dscores)
    return loss / num_examples + reg / 2 * np.sum(W * W), dW / num_examples + reg * W


def loop_reference_timed(submission, seed: int, num_examples: int, num_features: int, num_classes: int,
                         reg: float, repeats: int) -> float:
    """Run the grader's loop implementation `repeats` times; return its loss."""
    W, X, y = timing_inputs(seed, num_examples, num_features, num_classes)
    loss = 0.0
    for _ in range(repeats):
        loss, _ = loop_softmax_loss(W, X, y, reg)
    return float(loss)


def softmax_loss_vectorized_timed(submission, seed: int, num_examples: int, num_features: int,
                                  num_classes: int, reg: float, repeats: int) -> float:
    """Run the student's softmax_loss_vectorized `repeats` times; return its loss."""
    W, X, y = timing_inputs(seed, num_examples, num_features, num_classes)
    vectorized = submission.softmax_loss.softmax_loss_vectorized
    loss = 0.0
    for _ in range(repeats):
        loss, _ = vectorized(W, X, y, reg)
    return float(loss)
