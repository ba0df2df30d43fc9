"""A linear softmax classifier's loss and its gradient, in NumPy.

The classifier scores N examples of D features for C classes with one weight
matrix: scores = X @ W, of shape (N, C). Its loss is the mean cross-entropy of
the softmax of the scores plus the regularisation reg/2 * sum(W**2), whose
gradient is reg * W. You write the loss twice: once with explicit loops over
the examples (to see every term), once vectorized (to make it fast).
"""

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
    # TODO: a float (N, C) matrix of zeros with a 1.0 at column y[i] of row i.
    raise NotImplementedError("one_hot: build the (N, C) float 0/1 matrix")


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
    # TODO: pick each row's true-class probability, clip it, average -log over N.
    raise NotImplementedError("cross_entropy: return the mean -log(probs[i, y_i]) as a float")


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
    # TODO: loop over the examples, adding each one's loss and gradient; then average and regularise.
    raise NotImplementedError("softmax_loss_naive: compute (loss, dW) with a loop over the examples")


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
    # TODO: the same (loss, dW) with whole-array operations; subtract the row max first.
    raise NotImplementedError("softmax_loss_vectorized: compute (loss, dW) without Python loops")
