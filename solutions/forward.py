"""A neuron, a perceptron and the forward pass of a two-layer network, in NumPy.

The network is X -> tanh(X W1 + b1) -> softmax(. W2 + b2): D input features,
H hidden units, C classes. Its parameters live in a dict with keys "W1",
"b1", "W2", "b2". No function here modifies its inputs.
"""

import numpy as np

from .activations import sigmoid, softmax, tanh


def neuron(x, w, b, activation=sigmoid):
    """One artificial neuron: a weighted sum plus a bias, through an activation.

    Formula: neuron(x) = activation(w . x + b)

    Args:
        x: array_like of shape (D,), one example.
        w: array_like of shape (D,), the weights.
        b: float, the bias.
        activation: function from an array to an array of the same shape (default: sigmoid).

    Returns:
        float, the neuron's output.

    Hint: np.dot(w, x) gives the weighted sum.

    Example:
        >>> neuron([1.0, 2.0], [0.5, -0.25], 0.0)
        0.5
    """
    pre_activation = np.dot(np.asarray(w, dtype=float), np.asarray(x, dtype=float)) + b
    return float(activation(pre_activation))


def perceptron(x, w, b):
    """Rosenblatt's perceptron: fires (1) when the weighted sum reaches the threshold.

    Formula: perceptron(x) = 1 if w . x + b >= 0 else 0

    Args:
        x: array_like of shape (D,), one example.
        w: array_like of shape (D,), the weights.
        b: float, the bias (minus the threshold).

    Returns:
        int, 1 or 0 (1 when w . x + b is exactly 0).

    Hint: int(condition) turns a bool into 1 or 0.

    Example:
        >>> perceptron([1.0, 2.0], [0.5, -0.25], 0.0)
        1
    """
    pre_activation = np.dot(np.asarray(w, dtype=float), np.asarray(x, dtype=float)) + b
    return int(pre_activation >= 0)


def dense(X, W, b, activation=None):
    """A fully connected layer applied to a batch of examples.

    Formula: dense(X) = activation(X @ W + b)

    Args:
        X: array_like of shape (N, D), one example per row.
        W: array_like of shape (D, H), the weights.
        b: array_like of shape (H,) or (1, H), the biases (broadcast over the rows).
        activation: function from an array to an array of the same shape, or None for the identity.

    Returns:
        float ndarray of shape (N, H).

    Hint: the @ operator multiplies matrices; + b broadcasts over the rows.

    Example:
        >>> dense(np.ones((4, 3)), np.ones((3, 2)), np.zeros(2)).shape
        (4, 2)
    """
    pre_activation = np.asarray(X, dtype=float) @ np.asarray(W, dtype=float) + np.asarray(b, dtype=float)
    return pre_activation if activation is None else activation(pre_activation)


def init_params(nn_input_dim, nn_hdim, nn_output_dim, seed=0):
    """Random weights and zero biases for the two-layer network.

    Formula: W ~ N(0, 1) / sqrt(fan_in), b = 0

    Args:
        nn_input_dim: int D, the number of input features.
        nn_hdim: int H, the number of hidden units.
        nn_output_dim: int C, the number of classes.
        seed: int, seeds a private random generator: the same seed gives the same arrays.

    Returns:
        dict of float ndarrays: "W1" (D, H), "b1" (1, H), "W2" (H, C), "b2" (1, C).
        The global NumPy random state is left untouched.

    Hint: np.random.default_rng(seed) is a generator of your own (np.random.seed would reseed everyone's).

    Example:
        >>> init_params(2, 3, 2)["W1"].shape
        (2, 3)
    """
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.standard_normal((nn_input_dim, nn_hdim)) / np.sqrt(nn_input_dim),
        "b1": np.zeros((1, nn_hdim)),
        "W2": rng.standard_normal((nn_hdim, nn_output_dim)) / np.sqrt(nn_hdim),
        "b2": np.zeros((1, nn_output_dim)),
    }


def forward(params, X):
    """The two-layer network's forward pass: class probabilities for every example.

    Formula: probs = softmax(tanh(X W1 + b1) W2 + b2), the softmax along each row

    Args:
        params: dict with "W1" (D, H), "b1" (1, H), "W2" (H, C), "b2" (1, C).
        X: array_like of shape (N, D), one example per row.

    Returns:
        (probs, cache): probs, float ndarray of shape (N, C), each row summing to 1;
        cache, a dict of what backward needs: "X" (N, D), "z1" (N, H), "a1" (N, H),
        "z2" (N, C), "probs" (N, C).

    Hint: dense computes each layer's X @ W + b; keep z1 and a1 for backward.

    Example:
        >>> forward(init_params(2, 3, 4), np.ones((5, 2)))[0].shape
        (5, 4)
    """
    X = np.asarray(X, dtype=float)
    z1 = dense(X, params["W1"], params["b1"])
    a1 = tanh(z1)
    z2 = dense(a1, params["W2"], params["b2"])
    probs = softmax(z2, axis=1)
    cache = {"X": X, "z1": z1, "a1": a1, "z2": z2, "probs": probs}
    return probs, cache


def predict(params, X):
    """The most probable class of every example.

    Formula: predict(X)_n = argmax_c probs[n, c]

    Args:
        params: dict with "W1" (D, H), "b1" (1, H), "W2" (H, C), "b2" (1, C).
        X: array_like of shape (N, D), one example per row.

    Returns:
        int ndarray of shape (N,), class indices in [0, C).

    Hint: np.argmax(..., axis=1) picks the column of each row's maximum.

    Example:
        >>> predict(init_params(2, 3, 4), np.ones((5, 2))).shape
        (5,)
    """
    probs, _ = forward(params, X)
    return np.argmax(probs, axis=1)
