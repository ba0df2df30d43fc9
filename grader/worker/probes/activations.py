"""Probes for activations.py: run a function with warnings turned into errors.

"Stable" in the course contract means no RuntimeWarning (overflow in exp,
invalid value in a division) for inputs as large as 1e4. Warnings raised in
the student's process never reach the grader, so this probe runs the call
there under `warnings.simplefilter("error")` and reports the first warning
as text. NumPy only: checking activations must not wait for torch.
"""

import warnings

import numpy as np


def warnings_as_errors(submission, function, args, kwargs=None):
    """Your function on large inputs, with warnings turned into errors.

    Returns `{"value": activations.<function>(*args, **kwargs)}`, or
    `{"warning": "<category>: <message>"}` for the first warning issued.
    """
    target = getattr(submission.activations, function)
    # NumPy's own error state too, whatever the student's code set with np.seterr
    # (underflow to 0 is harmless and stays silent, as by default).
    with warnings.catch_warnings(), np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("error")
        try:
            value = target(*args, **(kwargs or {}))
        except Warning as warning:
            return {"warning": f"{type(warning).__name__}: {warning}"}
    return {"value": value}
