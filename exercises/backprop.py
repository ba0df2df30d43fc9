"""Backpropagation through the two-layer net, and the gradient check that verifies it.

The net is the one of forward.py: X -> tanh(X W1 + b1) -> softmax(. W2 + b2).
Its loss is the mean cross-entropy over the N examples plus L2 weight decay
reg_lambda/2 * (sum(W1**2) + sum(W2**2)) on the weight matrices only, never
the biases. `backward` gives the exact gradient of that loss;
`numerical_gradient` and `relative_error` check it the way CS231n does: with
h = 1e-5 and float64, a correct backward agrees with central differences to a
relative error below 1e-7.
"""


def loss(params, X, y, reg_lambda=0.0):
    """Mean cross-entropy of the net's predictions plus L2 weight decay.

    Formula: L = -mean_i log probs[i, y_i] + reg_lambda/2 * (sum(W1**2) + sum(W2**2))

    Args:
        params: dict of float ndarrays W1 (D, H), b1 (1, H), W2 (H, C), b2 (1, C).
        X: float array_like of shape (N, D), one example per row.
        y: int array_like of shape (N,), class indices in [0, C).
        reg_lambda: float, the weight-decay strength (biases are not decayed).

    Returns:
        float, the loss.

    Hint: probs[np.arange(N), y] picks each row's probability of its true class.

    Example:
        >>> type(loss(init_params(2, 3, 2), np.zeros((5, 2)), np.zeros(5, dtype=int)))
        <class 'float'>
    """
    # TODO: mean -log probs[i, y_i] from forward, plus reg_lambda/2 * (sum(W1**2) + sum(W2**2)).
    raise NotImplementedError("loss: compute the mean cross-entropy plus weight decay")


def backward(params, cache, X, y, reg_lambda=0.0):
    """Exact gradient of `loss` with respect to every parameter, by backpropagation.

    Formula: dz2 = (probs - onehot(y)) / N; dW2 = a1.T dz2 + reg_lambda W2; dz1 = dz2 W2.T * (1 - a1**2)

    Args:
        params: dict of float ndarrays W1 (D, H), b1 (1, H), W2 (H, C), b2 (1, C).
        cache: what your `forward(params, X)` returned beside probs (here a dict
            with float ndarrays "a1" (N, H) and "probs" (N, C)); left unchanged.
        X: float array_like of shape (N, D), the batch `forward` saw.
        y: int array_like of shape (N,), class indices in [0, C).
        reg_lambda: float, the weight-decay strength (its gradient is reg_lambda * W, biases get none).

    Returns:
        dict of float ndarrays dW1, ... keyed like params: "W1" (D, H), "b1" (1, H),
        "W2" (H, C), "b2" (1, C).

    Hint: copy probs before subtracting 1 at the true classes (probs.copy()),
    so the cache stays as forward left it.

    Example:
        >>> probs, cache = forward(params, X)
        >>> backward(params, cache, X, y)["W1"].shape == params["W1"].shape
        True
    """
    # TODO: backpropagate dscores = (probs - onehot(y)) / N through W2, tanh and W1.
    raise NotImplementedError("backward: return the gradients dict keyed like params")


def numerical_gradient(f, x, h=1e-5):
    """Central-difference estimate of the gradient of a scalar function f() with respect to x.

    Formula: grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2h)

    Args:
        f: callable taking no arguments and returning a float; it reads x, so
            changing an entry of x in place changes its value.
        x: float ndarray of any shape; each entry is changed in place and
            restored to its exact original value before the next one.
        h: float, the step.

    Returns:
        float ndarray shaped like x.

    Hint: np.ndindex(x.shape) visits every index of an array of any shape.

    Example:
        >>> numerical_gradient(lambda: float(np.sum(x ** 2)), x).shape == x.shape
        True
    """
    # TODO: for each index: save x[index], evaluate f at +h and -h, restore, divide by 2h.
    raise NotImplementedError("numerical_gradient: write the central-difference loop")


def relative_error(a, b):
    """Largest elementwise relative error between two arrays (CS231n's gradient-check measure).

    Formula: max(|a - b| / max(1e-8, |a| + |b|))

    Args:
        a: float array_like of any shape.
        b: float array_like of a's shape.

    Returns:
        float, 0.0 when a and b are equal (zeros included).

    Hint: np.maximum(1e-8, ...) keeps the denominator away from zero.

    Example:
        >>> relative_error(np.zeros(3), np.zeros(3))
        0.0
    """
    # TODO: max of |a - b| / max(1e-8, |a| + |b|), as a float.
    raise NotImplementedError("relative_error: write the CS231n relative error")
