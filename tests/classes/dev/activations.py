import numpy as np


def _prepare(z):
    # always work on a float copy, never on the caller's array
    return np.asarray(z, dtype=float).copy()


def sigmoid(z):
    x = _prepare(z)
    # exp of a non-positive number never overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - s)


def tanh(z):
    x = _prepare(z)
    two = np.exp(-2 * np.abs(x))
    return np.sign(x) * np.divide(1 - two, 1 + two)


def tanh_grad(z):
    return 1 - np.square(tanh(z))


def relu(z):
    x = _prepare(z)
    return x * (x > 0)


def relu_grad(z):
    return np.greater_equal(_prepare(z), 0).astype(float)


def leaky_relu(z, alpha=0.01):
    x = _prepare(z)
    return np.maximum(x, alpha * x)


def leaky_relu_grad(z, alpha=0.01):
    x = _prepare(z)
    grad = np.ones_like(x)
    grad[x <= 0] = alpha
    return grad


def binary_step(z):
    return (_prepare(z) >= 0) + 0.0


def softmax(z, axis=-1):
    x = _prepare(z)
    numerator = np.exp(x)
    return numerator / numerator.sum(axis=axis, keepdims=True)
