"""Activation functions and their derivatives, in NumPy.

Every function takes array_like input (a scalar, a list, an array of any
shape), returns a new float ndarray of the input's shape and never modifies
its input. "Stable" means no nan/inf and no RuntimeWarning for finite inputs
of any magnitude (|z| up to 1e4 at least).
"""

import numpy as np


def sigmoid(z):
    """Logistic sigmoid, stable for inputs of any magnitude.

    Formula: sigmoid(z) = 1 / (1 + exp(-z))

    Args:
        z: array_like of any shape.

    Returns:
        float ndarray shaped like z, every entry in [0, 1].

    Hint: split by sign: for z < 0 use exp(z) / (1 + exp(z)), so exp never
    sees a large positive argument (np.where evaluates both branches, so
    compute each branch only where it applies).

    Example:
        >>> sigmoid(np.zeros((2, 3))).shape
        (2, 3)
    """
    # log(1 + exp(-z)) by logaddexp never overflows, so neither does its exp
    z = np.asarray(z, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -z))


def sigmoid_grad(z):
    """Derivative of the sigmoid at z.

    Formula: sigmoid'(z) = sigmoid(z) * (1 - sigmoid(z))

    Args:
        z: array_like of any shape (the pre-activation, not sigmoid(z)).

    Returns:
        float ndarray shaped like z.

    Hint: compute s = sigmoid(z) once and reuse it.

    Example:
        >>> sigmoid_grad([0.0])
        array([0.25])
    """
    s = sigmoid(z)
    return s - s * s


def tanh(z):
    """Hyperbolic tangent built from exp (not np.tanh), stable.

    Formula: tanh(z) = (1 - exp(-2|z|)) / (1 + exp(-2|z|)) * sign(z)

    Args:
        z: array_like of any shape.

    Returns:
        float ndarray shaped like z, every entry in [-1, 1].

    Hint: exp(-2|z|) is at most 1, so it never overflows; np.sign restores the sign.

    Example:
        >>> tanh(np.zeros(4)).shape
        (4,)
    """
    x = np.asarray(z, dtype=np.float64)
    t = np.exp(-2 * np.abs(x))
    return np.copysign((1 - t) / (1 + t), x)


def tanh_grad(z):
    """Derivative of tanh at z.

    Formula: tanh'(z) = 1 - tanh(z)**2

    Args:
        z: array_like of any shape (the pre-activation).

    Returns:
        float ndarray shaped like z.

    Hint: reuse your tanh; the derivative needs its square.

    Example:
        >>> tanh_grad([0.0])
        array([1.])
    """
    t = tanh(z)
    return (1.0 - t) * (1.0 + t)


def relu(z):
    """Rectified linear unit.

    Formula: relu(z) = max(z, 0)

    Args:
        z: array_like of any shape.

    Returns:
        float ndarray shaped like z.

    Hint: np.maximum compares elementwise.

    Example:
        >>> relu([-1.0, 2.0])
        array([0., 2.])
    """
    x = np.array(z, dtype=np.float64)
    x[x < 0] = 0.0
    return x


def relu_grad(z):
    """Derivative of relu: 1 where z > 0, else 0 (so 0 at z == 0).

    Formula: relu'(z) = 1 if z > 0 else 0

    Args:
        z: array_like of any shape.

    Returns:
        float ndarray of 0.0 and 1.0 shaped like z.

    Hint: a boolean mask (z > 0) converts to float with .astype(float).

    Example:
        >>> relu_grad([-1.0, 0.0, 2.0])
        array([0., 0., 1.])
    """
    return np.greater(z, 0).astype(np.float64)


def leaky_relu(z, alpha=0.01):
    """Leaky relu: z where z > 0, else alpha * z.

    Formula: leaky_relu(z) = z if z > 0 else alpha * z

    Args:
        z: array_like of any shape.
        alpha: float, the slope for z <= 0.

    Returns:
        float ndarray shaped like z.

    Hint: np.where(condition, if_true, if_false) picks elementwise.

    Example:
        >>> leaky_relu([-2.0, 3.0], alpha=0.5)
        array([-1.,  3.])
    """
    x = np.asarray(z, dtype=np.float64)
    return np.maximum(x, 0) + alpha * np.minimum(x, 0)


def leaky_relu_grad(z, alpha=0.01):
    """Derivative of leaky relu: 1 where z > 0, else alpha (so alpha at z == 0).

    Formula: leaky_relu'(z) = 1 if z > 0 else alpha

    Args:
        z: array_like of any shape.
        alpha: float, the slope for z <= 0.

    Returns:
        float ndarray shaped like z.

    Hint: np.where(z > 0, 1.0, alpha).

    Example:
        >>> leaky_relu_grad([-2.0, 0.0, 3.0], alpha=0.5)
        array([0.5, 0.5, 1. ])
    """
    x = np.asarray(z, dtype=np.float64)
    g = np.full(x.shape, float(alpha))
    g[x > 0] = 1.0
    return g


def binary_step(z):
    """Heaviside step: 1.0 where z >= 0, else 0.0 (so 1.0 at z == 0).

    Formula: step(z) = 1 if z >= 0 else 0

    Args:
        z: array_like of any shape.

    Returns:
        float ndarray of 0.0 and 1.0 shaped like z.

    Hint: (z >= 0).astype(float).

    Example:
        >>> binary_step([-1.0, 0.0, 1.0])
        array([0., 1., 1.])
    """
    return np.heaviside(np.asarray(z, dtype=np.float64), 1.0)


def softmax(z, axis=-1):
    """Softmax along `axis`, stable: the entries along `axis` sum to 1.

    Formula: softmax(z)_i = exp(z_i - max(z)) / sum_j exp(z_j - max(z))

    Args:
        z: array_like of any shape, e.g. scores of shape (N, C).
        axis: int, the axis to normalise along (default: the last, classes).

    Returns:
        float ndarray shaped like z.

    Hint: subtract the max along `axis` (np.max(..., axis=axis, keepdims=True))
    before exp; it cancels in the ratio and keeps exp from overflowing.

    Example:
        >>> softmax(np.zeros((2, 4))).shape
        (2, 4)
    """
    x = np.array(z, dtype=np.float64)
    x -= x.max(axis=axis, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=axis, keepdims=True)
    return x
