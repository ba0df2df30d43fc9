"""A neuron, a perceptron and the forward pass of a two-layer network, in NumPy.

The network is X -> tanh(X W1 + b1) -> softmax(. W2 + b2): D input features,
H hidden units, C classes. Its parameters live in a dict with keys "W1",
"b1", "W2", "b2". No function here modifies its inputs.
"""

from .activations import sigmoid


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
    # TODO: compute w . x + b and pass it through activation.
    raise NotImplementedError("neuron: return activation(w . x + b) as a float")


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
    # TODO: compare w . x + b with 0 (>= 0 fires).
    raise NotImplementedError("perceptron: return 1 if w . x + b >= 0 else 0, as an int")


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
    # TODO: compute X @ W + b, then the activation unless it is None.
    raise NotImplementedError("dense: return activation(X @ W + b), shape (N, H)")


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
    # TODO: draw the weights from a generator seeded with seed; zero biases.
    raise NotImplementedError("init_params: return the dict W1, b1, W2, b2 (weights N(0,1)/sqrt(fan_in))")


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
    # TODO: tanh hidden layer, then a softmax over each row.
    raise NotImplementedError("forward: return (probs, cache) for X -> tanh(X W1 + b1) -> softmax(. W2 + b2)")


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
    # TODO: run forward and take each row's argmax.
    raise NotImplementedError("predict: return the argmax class of each row, an int array (N,)")
