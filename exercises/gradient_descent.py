"""Gradient descent: the update rule, minibatches, and training the two-layer net.

`gradient_descent` minimises any function given its gradient; `sgd_step`
applies one update to a dict of parameters; `iterate_minibatches` cuts a data
set into shuffled batches; `train_two_layer_net` puts them together with
forward.py and backprop.py. None of them modifies its inputs in place.
"""


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
    # TODO: start from a copy of x0; step num_steps times, appending each new point.
    raise NotImplementedError("gradient_descent: write the update loop and its history")


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
    # TODO: a new dict of params[key] - learning_rate * grads[key].
    raise NotImplementedError("sgd_step: return the updated parameters in a new dict")


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
    # TODO: one order (shuffled with seed, or 0..N-1); yield X and y indexed by each slice of it.
    raise NotImplementedError("iterate_minibatches: yield (X_batch, y_batch) pairs")


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
    # TODO: init_params, then per pass: forward, backward, sgd_step on each batch; record the loss.
    raise NotImplementedError("train_two_layer_net: write the training loop")
