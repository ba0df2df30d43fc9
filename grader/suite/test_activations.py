"""Graded checks of activations.py (14 points).

Oracles: SciPy and NumPy closed forms only, so that checking this module never
imports torch.
"""

import numpy as np
import pytest
from scipy import special

from grader.feedback import check_array, describe_call
from grader.scoring import graded

RNG_SEED = 1234  # any fixed seed: inputs are random but the same on every run
SHAPES = [(7,), (3, 4), (2, 3, 5)]


def random_inputs(scale=3.0):
    rng = np.random.default_rng(RNG_SEED)
    return [rng.normal(scale=scale, size=shape) for shape in SHAPES]


@graded(points=1, exercise="sigmoid")
def test_sigmoid_matches_closed_form(student):
    for z in random_inputs():
        got = student.activations.sigmoid(z)
        check_array(got, special.expit(z), call=describe_call("sigmoid", (z,)))


@graded(points=1, exercise="softmax")
def test_softmax_normalises_the_last_axis_by_default(student):
    for z in random_inputs():
        got = student.activations.softmax(z)
        check_array(got, special.softmax(z, axis=-1), call=describe_call("softmax", (z,)),
                    mistakes={"softmax normalised over the wrong axis (axis=0 instead of the last)":
                              special.softmax(z, axis=0),
                              "softmax normalised over the whole array instead of along an axis":
                              special.softmax(z, axis=None)})
