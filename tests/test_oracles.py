"""The grader's own NumPy oracles give SciPy's values.

`grader.suite.test_activations` computes the sigmoid and the softmax itself,
so that `dlgrade check activations` needs no SciPy import (0.3 s); these
tests hold those oracles to scipy.special on ordinary, extreme and odd inputs.
"""

import numpy as np
import pytest
from scipy import special

from grader.suite.test_activations import expit, softmax

RNG = np.random.default_rng(5)
INPUTS = [
    RNG.normal(scale=3.0, size=(4, 5)),
    RNG.normal(scale=300.0, size=(2, 3, 4)),
    np.array([-1e4, -800.0, -50.0, -1.0, -0.0, 0.0, 1.0, 50.0, 800.0, 1e4, np.inf, -np.inf]),
    np.array([[1, 2, 3], [-4, 0, 4]]),  # ints
    RNG.normal(size=(3, 3)).astype(np.float32),
    np.array(0.5),
    np.array([1.0, np.nan]),
]


def ulps(expected, count=2):
    """A relative tolerance of `count` units in the last place of `expected`'s float type."""
    return count * np.finfo(np.asarray(expected).dtype).eps


@pytest.mark.parametrize("z", INPUTS, ids=lambda z: f"{z.dtype}{z.shape}")
def test_expit_is_scipys(z):
    got, expected = expit(z), special.expit(z)
    assert np.asarray(got).dtype == np.asarray(expected).dtype and np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=ulps(expected), atol=0)


@pytest.mark.parametrize(
    "z", [z for z in INPUTS if z.ndim and np.isfinite(z).all()], ids=lambda z: f"{z.dtype}{z.shape}"
)
@pytest.mark.parametrize("axis", [-1, 0, None])
def test_softmax_is_scipys(z, axis):
    got, expected = softmax(z, axis=axis), special.softmax(z, axis=axis)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=ulps(expected, 20), atol=0)
