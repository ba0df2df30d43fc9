"""A linear softmax classifier's loss and its gradient, in NumPy.

The classifier scores N examples of D features for C classes with one weight
matrix: scores = X @ W, of shape (N, C). Its loss is the mean cross-entropy of
the softmax of the scores plus the regularisation reg/2 * sum(W**2), whose
gradient is reg * W. You write the loss twice: once with explicit loops over
the examples (to see every term), once vectorized (to make it fast).
"""

import numpy as np

# Probabilities below this count as this in cross_entropy, so that a zero
# probability costs -log(1e-12) ~= 27.6 instead of an infinite loss.
PROBABILITY_FLOOR = 1e-12


def one_hot(y, num_classes):
    """One-hot encode integer labels (Keras' to_categorical).

    Formula: one_hot(y)[i, c] = 1 if c == y[i] else 0

    Args:
        y: int array_like of shape (N,), class indices in [0, num_classes).
        num_classes: int C, the number of columns (it may exceed max(y) + 1).

    Returns:
        float ndarray of shape (N, C) holding 0.0 and 1.0, one 1.0 per row.

    Hint: fancy indexing sets one entry per row: Y[np.arange(N), y] = 1.0.

    Example:
        >>> one_hot([2, 0], 3)
        array([[0., 0., 1.],
               [1., 0., 0.]])
    """
    y = np.asarray(y, dtype=int)
    encoded = np.zeros((y.shape[0], num_classes))
    encoded[np.arange(y.shape[0]), y] = 1.0
    return encoded


def cross_entropy(probs, y):
    """Mean cross-entropy of predicted class probabilities against labels.

    Formula: L = -1/N * sum_i log(probs[i, y_i])

    Probabilities below PROBABILITY_FLOOR (1e-12) are clipped to it before the
    log, so a zero probability gives a large finite loss, never inf.

    Args:
        probs: float array_like of shape (N, C), each row a probability
            distribution over the C classes.
        y: int array_like of shape (N,), the true class of each row.

    Returns:
        float, the mean loss over the N examples.

    Hint: np.clip(..., PROBABILITY_FLOOR, None) keeps log away from 0.

    Example:
        >>> cross_entropy([[0.5, 0.5]], [0])  # -log(0.5)
        0.6931471805599453
    """
    probs = np.asarray(probs, dtype=float)
    y = np.asarray(y, dtype=int)
    true_class_probs = probs[np.arange(y.shape[0]), y]
    return float(-np.mean(np.log(np.clip(true_class_probs, PROBABILITY_FLOOR, None))))


def softmax_loss_naive(W, X, y, reg):
    """Softmax loss and gradient with explicit loops over the examples.

    Formula: L = -1/N * sum_i log(softmax(X[i] @ W)[y_i]) + reg/2 * sum(W**2)

    Args:
        W: float ndarray of shape (D, C), the weights.
        X: float ndarray of shape (N, D), one example per row.
        y: int ndarray of shape (N,), the true class of each example.
        reg: float, the regularisation strength.

    Returns:
        (loss, dW): loss a float; dW a float ndarray of shape (D, C), the
        gradient of the loss with respect to W.

    Hint: for one example, dL_i/dscores = softmax(scores) - one_hot(y_i), and
    np.outer(X[i], that) is its contribution to dW.

    Example:
        >>> loss, dW = softmax_loss_naive(np.zeros((3, 4)), np.ones((5, 3)), np.zeros(5, int), 0.1)
        >>> dW.shape
        (3, 4)
    """
    num_examples = X.shape[0]
    loss = 0.0
    dW = np.zeros(W.shape)
    for i in range(num_examples):
        scores = X[i] @ W
        shifted = scores - np.max(scores)  # exp of the shifted scores never overflows
        log_probs = shifted - np.log(np.sum(np.exp(shifted)))
        loss -= log_probs[y[i]]
        dscores = np.exp(log_probs)
        dscores[y[i]] -= 1.0
        dW += np.outer(X[i], dscores)
    loss = loss / num_examples + reg / 2 * np.sum(W * W)
    dW = dW / num_examples + reg * W
    return float(loss), dW


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax loss and gradient without Python loops, stable for large scores.

    Formula: L = mean_i(log(sum_c exp(s_ic)) - s_iy_i) + reg/2 * sum(W**2), s = X @ W

    Subtract each row's max from the scores, then take log-probabilities as
    shifted - log(sum(exp(shifted))): never log(probs), whose small entries
    round to 0 when scores differ by more than about 745.

    Args:
        W: float ndarray of shape (D, C), the weights.
        X: float ndarray of shape (N, D), one example per row.
        y: int ndarray of shape (N,), the true class of each example.
        reg: float, the regularisation strength.

    Returns:
        (loss, dW): the same float and (D, C) float ndarray as softmax_loss_naive.

    Hint: np.max(scores, axis=1, keepdims=True) gives the row maxima to subtract.

    Example:
        >>> loss, dW = softmax_loss_vectorized(np.zeros((3, 4)), np.ones((5, 3)), np.zeros(5, int), 0.1)
        >>> dW.shape
        (3, 4)
    """
    num_examples = X.shape[0]
    scores = X @ W
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    rows = np.arange(num_examples)
    loss = -np.mean(log_probs[rows, y]) + reg / 2 * np.sum(W * W)
    dscores = np.exp(log_probs) - one_hot(y, W.shape[1])
    dW = X.T @ dscores / num_examples + reg * W
    return float(loss), dW
