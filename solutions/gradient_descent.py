"""Gradient descent: the update rule, minibatches, and training the two-layer net.

`gradient_descent` minimises any function given its gradient; `sgd_step`
applies one update to a dict of parameters; `iterate_minibatches` cuts a data
set into shuffled batches; `train_two_layer_net` puts them together with
forward.py and backprop.py. None of them modifies its inputs in place.
"""

import numpy as np

from .backprop import backward, loss
from .forward import forward, init_params


def gradient_descent(grad_fn, x0, learning_rate=0.1, num_steps=100):
    """Minimise a function by repeated steps against its gradient.

    Formula: x_{k+1} = x_k - learning_rate * grad_fn(x_k)

    Args:
        grad_fn: callable taking a float ndarray shaped like x0 and returning
            the gradient there, of the same shape.
        x0: float array_like of any shape, the starting point (left unchanged).
        learning_rate: float, the step size.
        num_steps: int, the number of updates.

    Returns:
        (x_final, history): x_final is a float ndarray shaped like x0;
        history is a list of num_steps + 1 float ndarrays shaped like x0,
        the points visited in order, history[0] a copy of x0 and
        history[-1] equal to x_final.

    Hint: np.array(x0, dtype=float) copies x0; then x = x - step builds a new
    array each time, so the points in history keep their values (x -= step
    would change them all).

    Example:
        >>> x_final, history = gradient_descent(lambda x: 2 * x, np.ones(3), num_steps=10)
        >>> x_final.shape, len(history)
        ((3,), 11)
    """
    x = np.array(x0, dtype=float)  # np.array copies, so x0 is never touched
    history = [x]
    for _ in range(num_steps):
        x = x - learning_rate * np.asarray(grad_fn(x), dtype=float)
        history.append(x)
    return x, history


def sgd_step(params, grads, learning_rate):
    """One gradient-descent update of every parameter, returned as a new dict.

    Formula: new[k] = params[k] - learning_rate * grads[k]

    Args:
        params: dict of float ndarrays, e.g. W1 (D, H), b1 (1, H), W2 (H, C), b2 (1, C).
        grads: dict of float ndarrays with params' keys and shapes.
        learning_rate: float, the step size.

    Returns:
        dict of float ndarrays with params' keys and shapes; params and grads
        are left unchanged.

    Hint: a dict comprehension {key: ... for key in params} builds the new dict.

    Example:
        >>> sgd_step({"W": np.ones((2, 3))}, {"W": np.ones((2, 3))}, 0.1)["W"].shape
        (2, 3)
    """
    return {key: params[key] - learning_rate * grads[key] for key in params}


def iterate_minibatches(X, y, batch_size, shuffle=True, seed=None):
    """Yield (X_batch, y_batch) pairs that cover every example exactly once.

    Formula: batch k holds the examples order[k*batch_size : (k+1)*batch_size]

    Args:
        X: float ndarray of shape (N, D).
        y: int ndarray of shape (N,), y[i] the label of X[i].
        batch_size: int, the examples per batch; the last batch holds the
            remaining N % batch_size when that is not 0.
        shuffle: bool, visit the examples in a random order (else in order 0..N-1).
        seed: int or None, seeds the shuffle: the same seed gives the same batches.

    Returns:
        a generator of (X_batch, y_batch): float ndarray (B, D) and int
        ndarray (B,) with B <= batch_size, rows still paired as in X and y.

    Hint: np.random.default_rng(seed).permutation(N) gives one shuffled order
    to index both X and y with.

    Example:
        >>> [xb.shape for xb, yb in iterate_minibatches(np.zeros((5, 2)), np.zeros(5, int), 2)]
        [(2, 2), (2, 2), (1, 2)]
    """
    X = np.asarray(X)
    y = np.asarray(y)
    num_examples = X.shape[0]
    order = np.random.default_rng(seed).permutation(num_examples) if shuffle else np.arange(num_examples)
    for start in range(0, num_examples, batch_size):
        batch = order[start : start + batch_size]
        yield X[batch], y[batch]


def train_two_layer_net(X, y, nn_hdim, num_passes=2000, learning_rate=1.0, reg_lambda=0.001, batch_size=None, seed=0):
    """Train the two-layer net by gradient descent on `loss`.

    Formula: params <- params - learning_rate * backward(params, cache, X_batch, y_batch, reg_lambda)

    Args:
        X: float ndarray of shape (N, D), the training examples.
        y: int ndarray of shape (N,), class indices in [0, C) where C = y.max() + 1.
        nn_hdim: int, H, the number of hidden units.
        num_passes: int, passes over the data (epochs).
        learning_rate: float, the step size.
        reg_lambda: float, the weight-decay strength.
        batch_size: int or None; None means one full-batch step per pass.
        seed: int, seeds init_params and the minibatch shuffles.

    Returns:
        (params, loss_history): params a dict of float ndarrays W1 (D, H),
        b1 (1, H), W2 (H, C), b2 (1, C); loss_history a list of num_passes
        floats, loss(params, X, y, reg_lambda) on all of X after each pass.

    Hint: sgd_step returns the updated dict; rebind params to it.

    Example:
        >>> params, history = train_two_layer_net(X, y, nn_hdim=3, num_passes=10)
        >>> params["W1"].shape, len(history)
        ((2, 3), 10)
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=int)
    params = init_params(X.shape[1], nn_hdim, int(y.max()) + 1, seed=seed)
    shuffle_seeds = np.random.default_rng(seed)  # a different, reproducible order every pass
    loss_history = []
    for _ in range(num_passes):
        if batch_size is None:
            batches = [(X, y)]
        else:
            batches = iterate_minibatches(X, y, batch_size, shuffle=True, seed=int(shuffle_seeds.integers(2**31)))
        for X_batch, y_batch in batches:
            _, cache = forward(params, X_batch)
            grads = backward(params, cache, X_batch, y_batch, reg_lambda)
            params = sgd_step(params, grads, learning_rate)
        loss_history.append(loss(params, X, y, reg_lambda))
    return params, loss_history
