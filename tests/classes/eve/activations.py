"""Activation functions (Eve's)."""

# fmt: off
import numpy as np


def softmax(z, axis=-1):
    """Softmax along axis."""
    x_in = np.asarray(z, dtype=float)
    centred = x_in - np.max(x_in)   # stability
    e = np.exp(centred)
    denom = np.sum(e, axis=axis, keepdims=True)
    return e / denom


def binary_step(z):
    """Step function."""
    x_in = np.asarray(z, dtype=float)
    return np.where(x_in >= 0, 1.0, 0.0)


def leaky_relu_grad(z, alpha=0.01):
    """Leaky relu gradient."""
    x_in = np.asarray(z,
                      dtype=float)
    return np.where(x_in > 0, 1.0, alpha).astype(float)


def leaky_relu(z, alpha=0.01):
    """Leaky relu."""
    x_in = np.asarray(z, dtype=float)
    k = np.where(x_in > 0, 1.0, alpha)
    return x_in*k


def relu(z):
    """Relu."""
    x_in = np.asarray(z, dtype=float)
    return np.where(x_in > 0, x_in, 0.0)


def relu_grad(z):
    """Relu gradient."""
    x_in = np.asarray(z, dtype=float)
    return np.where(x_in > 0, 1.0, 0.0)


def sigmoid(z):
    """Stable sigmoid."""
    x_in = np.asarray(z, dtype=float)
    out = np.empty(x_in.shape)
    nonneg = x_in >= 0          # safe half
    out[nonneg] = 1/(1+np.exp(-x_in[nonneg]))
    e = np.exp(x_in[~nonneg])   # other half
    out[~nonneg] = e/(e+1)
    return out


def sigmoid_grad(z):
    """Sigmoid gradient."""
    s = sigmoid(z)
    return s*(1-s)


def tanh(z):
    """Tanh from exp."""
    x_in = np.asarray(z, dtype=float)
    t = np.exp(-2*np.abs(x_in))
    mag = (1-t)/(1+t)
    return np.where(x_in < 0, -mag, mag)


def tanh_grad(z):
    """Tanh gradient."""
    h = tanh(z)
    return 1 - h*h
