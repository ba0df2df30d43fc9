"""Probes for softmax_loss: warnings the student's code emits, and timed runs.

NumPy only (checking this module never waits for torch). The timed probe runs
the student's vectorized loss on inputs built from seeds; the trusted side
reads the worker's CPU time around it and compares it with its own loop over
the examples, timed in the trusted process (code in the student's process can
be patched by the student, so the yardstick never runs there).
"""

from __future__ import annotations

import warnings

import numpy as np


def softmax_loss_vectorized_warnings(submission, W, X, y, reg) -> dict:
    """The student's softmax_loss_vectorized(W, X, y, reg) and every warning it emitted."""
    # NumPy's default error handling (underflow to 0 is silent and harmless),
    # whatever the student's code set globally.
    with (
        warnings.catch_warnings(record=True) as caught,
        np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"),
    ):
        warnings.simplefilter("always")
        result = submission.softmax_loss.softmax_loss_vectorized(W, X, y, reg)
    return {"result": result, "warnings": [f"{warning.category.__name__}: {warning.message}" for warning in caught]}


def timing_inputs(seed: int, num_examples: int, num_features: int, num_classes: int):
    """The (W, X, y) both timing probes work on: moderate scores, random labels."""
    rng = np.random.default_rng(seed)
    W = rng.normal(scale=0.1, size=(num_features, num_classes))
    X = rng.normal(size=(num_examples, num_features))
    y = rng.integers(num_classes, size=num_examples)
    return W, X, y


def softmax_loss_vectorized_timed(
    submission, seed: int, repeats: int, num_examples: int, num_features: int, num_classes: int, reg: float
) -> list:
    """Run the student's softmax_loss_vectorized on fresh inputs (seeds seed, seed+1, ...); return every loss.

    The inputs are built inside this timed request, from a seed sent with it:
    nothing done before the clock starts can prepare an answer. Each call gets
    inputs of its own, so a cache of earlier answers cannot make the calls
    look fast, and the trusted side checks every loss.
    """
    vectorized = submission.softmax_loss.softmax_loss_vectorized
    losses = []
    for repeat in range(repeats):
        W, X, y = timing_inputs(seed + repeat, num_examples, num_features, num_classes)
        losses.append(float(vectorized(W, X, y, reg)[0]))
    return losses
