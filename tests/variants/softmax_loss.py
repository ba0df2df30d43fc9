"""Variants of solutions/softmax_loss.py: realistic student mistakes, and correct rewrites.

Each broken variant must lose points in softmax_loss (and nowhere outside the
modules that import it), with `feedback` in the feedback of a failed test; each
correct one must score full marks. tests/test_variants.py grades them all.
"""

from tests.helpers import Variant

MODULE = "softmax_loss"

NAIVE_BODY = """    num_examples = X.shape[0]
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
"""
VECTORIZED_BODY = """    num_examples = X.shape[0]
    scores = X @ W
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    rows = np.arange(num_examples)
    loss = -np.mean(log_probs[rows, y]) + reg / 2 * np.sum(W * W)
    dscores = np.exp(log_probs) - one_hot(y, W.shape[1])
    dW = X.T @ dscores / num_examples + reg * W
    return float(loss), dW
"""

ONE_HOT_BODY = """    y = np.asarray(y, dtype=int)
    encoded = np.zeros((y.shape[0], num_classes))
    encoded[np.arange(y.shape[0]), y] = 1.0
    return encoded
"""
CROSS_ENTROPY_TAIL = """    true_class_probs = probs[np.arange(y.shape[0]), y]
    return float(-np.mean(np.log(np.clip(true_class_probs, PROBABILITY_FLOOR, None))))
"""


def broken(name, edits, feedback):
    return Variant(name=name, module=MODULE, edits=edits, feedback=feedback)


def correct(name, edits):
    return Variant(name=name, module=MODULE, edits=edits, correct=True)


VARIANTS = [
    broken(
        "softmax_loss-one-hot-int-dtype",
        [
            (
                "    encoded = np.zeros((y.shape[0], num_classes))\n",
                "    encoded = np.zeros((y.shape[0], num_classes), dtype=int)\n",
            ),
            ("    encoded[np.arange(y.shape[0]), y] = 1.0\n", "    encoded[np.arange(y.shape[0]), y] = 1\n"),
        ],
        "expected an array of a floating dtype (0.0 and 1.0); got dtype int64",
    ),
    broken(
        "softmax_loss-one-hot-ignores-num-classes",
        [
            (
                "    encoded = np.zeros((y.shape[0], num_classes))\n",
                "    encoded = np.zeros((y.shape[0], y.max() + 1))\n",
            )
        ],
        "num_classes is ignored",
    ),
    broken(
        "softmax_loss-cross-entropy-without-epsilon",
        [("np.log(np.clip(true_class_probs, PROBABILITY_FLOOR, None))", "np.log(true_class_probs)")],
        "clip the probabilities to a tiny epsilon",
    ),
    broken(
        "softmax_loss-cross-entropy-summed",
        [("return float(-np.mean(np.log(", "return float(-np.sum(np.log(")],
        "summed over the examples",
    ),
    broken(
        "softmax_loss-naive-reg-factor-one",
        [
            (
                "    loss = loss / num_examples + reg / 2 * np.sum(W * W)\n",
                "    loss = loss / num_examples + reg * np.sum(W * W)\n",
            )
        ],
        "the regularisation is reg * sum(W**2)",
    ),
    broken(
        "softmax_loss-naive-loss-not-averaged",
        [("    loss = loss / num_examples + reg / 2 * np.sum(W * W)\n", "    loss = loss + reg / 2 * np.sum(W * W)\n")],
        "not averaged over N",
    ),
    broken(
        "softmax_loss-naive-without-loops",
        [(NAIVE_BODY, "    return softmax_loss_vectorized(W, X, y, reg)\n")],
        "softmax_loss_naive has no loop",
    ),
    broken(
        "softmax_loss-vectorized-reg-gradient-missing",
        [("    dW = X.T @ dscores / num_examples + reg * W\n", "    dW = X.T @ dscores / num_examples\n")],
        "the regularisation gradient reg * W is missing",
    ),
    broken(
        "softmax_loss-vectorized-dW-not-averaged",
        [("    dW = X.T @ dscores / num_examples + reg * W\n", "    dW = X.T @ dscores + reg * W\n")],
        "dW is not divided by N",
    ),
    broken(
        "softmax_loss-vectorized-no-max-subtraction",
        [("    shifted = scores - np.max(scores, axis=1, keepdims=True)\n", "    shifted = scores\n")],
        "no max subtraction",
    ),
    broken(
        "softmax_loss-vectorized-log-of-probabilities",
        [
            (
                "    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))\n",
                "    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)\n"
                "    log_probs = np.log(probs)\n",
            )
        ],
        "log of probabilities that rounded to 0",
    ),
    broken(
        "softmax_loss-vectorized-loops-over-examples",
        [
            (
                VECTORIZED_BODY,
                """    num_examples = X.shape[0]
    loss = reg / 2 * np.sum(W * W)
    dW = reg * W
    for i in range(num_examples):
        scores = X[i] @ W
        shifted = scores - np.max(scores)
        log_probs = shifted - np.log(np.sum(np.exp(shifted)))
        loss -= log_probs[y[i]] / num_examples
        dscores = np.exp(log_probs)
        dscores[y[i]] -= 1.0
        dW = dW + np.outer(X[i], dscores) / num_examples
    return float(loss), dW
""",
            )
        ],
        "a for loop in softmax_loss_vectorized, line",
    ),
    broken(
        "softmax_loss-vectorized-one-hot-by-comprehension",
        [
            (
                "    dscores = np.exp(log_probs) - one_hot(y, W.shape[1])\n",
                "    dscores = np.exp(log_probs) - np.array([[float(c == label) for c in range(W.shape[1])] "
                "for label in y])\n",
            )
        ],
        "a list comprehension in softmax_loss_vectorized",
    ),
    Variant(
        name="softmax_loss-vectorized-take-along-axis-einsum",
        module=MODULE,
        correct=True,
        edits=[
            (
                VECTORIZED_BODY,
                """    scores = np.einsum("nd,dc->nc", X, W)
    log_probs = scores - scores.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    true_log_probs = np.take_along_axis(log_probs, y[:, None], axis=1)
    loss = -true_log_probs.mean() + 0.5 * reg * np.sum(W ** 2)
    dscores = np.exp(log_probs)
    np.put_along_axis(dscores, y[:, None], np.take_along_axis(dscores, y[:, None], axis=1) - 1.0, axis=1)
    dW = np.einsum("nd,nc->dc", X, dscores) / X.shape[0] + reg * W
    return float(loss), dW
""",
            )
        ],
    ),
    Variant(
        name="softmax_loss-logsumexp-and-eye-one-hot",
        module=MODULE,
        correct=True,
        edits=[
            (
                "    y = np.asarray(y, dtype=int)\n    encoded = np.zeros((y.shape[0], num_classes))\n"
                "    encoded[np.arange(y.shape[0]), y] = 1.0\n    return encoded\n",
                "    return np.eye(num_classes)[np.asarray(y, dtype=int)]\n",
            ),
            (
                "    return float(-np.mean(np.log(np.clip(true_class_probs, PROBABILITY_FLOOR, None))))\n",
                "    return float(-np.mean(np.log(true_class_probs + 1e-12)))\n",
            ),
        ],
    ),
    # Epsilons as public code writes them: added to every probability, or a larger clip floor.
    Variant(
        name="softmax_loss-cross-entropy-adds-1e-9",
        module=MODULE,
        correct=True,
        edits=[
            (
                "    return float(-np.mean(np.log(np.clip(true_class_probs, PROBABILITY_FLOOR, None))))\n",
                "    return float(-np.mean(np.log(true_class_probs + 1e-9)))\n",
            )
        ],
    ),
    Variant(
        name="softmax_loss-cross-entropy-clips-to-1e-7",
        module=MODULE,
        correct=True,
        edits=[
            (
                "    return float(-np.mean(np.log(np.clip(true_class_probs, PROBABILITY_FLOOR, None))))\n",
                "    return float(-np.mean(np.log(np.clip(true_class_probs, 1e-7, 1.0))))\n",
            )
        ],
    ),
    # A helper holds the per-example loop: the contract allows helpers, the check follows them.
    Variant(
        name="softmax_loss-naive-loop-in-a-helper",
        module=MODULE,
        correct=True,
        edits=[
            (
                NAIVE_BODY,
                """    loss, dW = _loss_and_gradient_over_examples(W, X, y)
    return float(loss + reg / 2 * np.sum(W * W)), dW + reg * W


def _loss_and_gradient_over_examples(W, X, y):
    num_examples = X.shape[0]
    loss, dW = 0.0, np.zeros(W.shape)
    for i in range(num_examples):
        example_loss, example_gradient = _one_example(W, X[i], y[i])
        loss += example_loss
        dW += example_gradient
    return loss / num_examples, dW / num_examples


def _one_example(W, x, label):
    scores = x @ W
    shifted = scores - np.max(scores)
    log_probs = shifted - np.log(np.sum(np.exp(shifted)))
    dscores = np.exp(log_probs)
    dscores[label] -= 1.0
    return -log_probs[label], np.outer(x, dscores)
""",
            )
        ],
    ),
    # The exercise's name bound to a function written under another name.
    Variant(
        name="softmax_loss-vectorized-defined-under-another-name",
        module=MODULE,
        correct=True,
        edits=[
            ("def softmax_loss_vectorized(W, X, y, reg):", "def _vectorized(W, X, y, reg):"),
            (VECTORIZED_BODY, VECTORIZED_BODY + "\n\nsoftmax_loss_vectorized = _vectorized\n"),
        ],
    ),
    # An alias hides that the "vectorized" version runs the naive loop.
    broken(
        "softmax_loss-vectorized-calls-the-naive-one-through-an-alias",
        [(VECTORIZED_BODY, "    return _alias(W, X, y, reg)\n\n\n_alias = softmax_loss_naive\n")],
        "a for loop in softmax_loss_naive, line",
    ),
    # CS231n's softmax_loss_naive as students write it: a loop over the examples and, inside, one
    # over the classes, each adding (p_j - [j == y_i]) * X[i] to column j of dW.
    correct(
        "softmax_loss-naive-cs231n-loops-over-examples-and-classes",
        [
            (
                NAIVE_BODY,
                """    num_train, num_classes = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W, dtype=float)
    for i in range(num_train):
        scores = X[i].dot(W)
        scores -= np.max(scores)  # a new array: shifting it in place is safe
        exp_scores = np.exp(scores)
        sum_exp = np.sum(exp_scores)
        loss += np.log(sum_exp) - scores[y[i]]
        for j in range(num_classes):
            p = exp_scores[j] / sum_exp
            dW[:, j] += (p - (j == y[i])) * X[i]
    loss /= num_train
    dW /= num_train
    loss += 0.5 * reg * np.sum(W * W)
    dW += reg * W
    return float(loss), dW
""",
            )
        ],
    ),
    # CS231n's vectorized version: X.dot(W), row maxima as [:, np.newaxis], log-probabilities,
    # and 1 subtracted at the true classes in place.
    correct(
        "softmax_loss-vectorized-cs231n-newaxis-and-dot",
        [
            (
                VECTORIZED_BODY,
                """    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= scores.max(axis=1)[:, np.newaxis]
    log_probs = scores - np.log(np.exp(scores).sum(axis=1))[:, np.newaxis]
    loss = -log_probs[np.arange(num_train), y].sum() / num_train + 0.5 * reg * np.sum(W * W)
    dscores = np.exp(log_probs)
    dscores[np.arange(num_train), y] -= 1
    dW = X.T.dot(dscores) / num_train + reg * W
    return float(loss), dW
""",
            )
        ],
    ),
    # Keras' categorical_crossentropy clips to [epsilon, 1 - epsilon] with epsilon = 1e-7; the
    # one-hot by comparing each label with np.arange(C).
    correct(
        "softmax_loss-keras-clip-both-ends-and-one-hot-by-comparison",
        [
            (
                ONE_HOT_BODY,
                "    y = np.asarray(y, dtype=int)\n    return (y[:, None] == np.arange(num_classes)).astype(float)\n",
            ),
            (
                CROSS_ENTROPY_TAIL,
                """    epsilon = 1e-7  # keras.backend.epsilon()
    true_class_probs = np.clip(probs, epsilon, 1.0 - epsilon)[np.arange(len(y)), y]
    return float(-np.log(true_class_probs).mean())
""",
            ),
        ],
    ),
    # scikit-learn's log_loss floor of 1e-15 with np.maximum, the true-class entries through
    # np.take_along_axis, the one-hot written with np.put_along_axis.
    correct(
        "softmax_loss-take-and-put-along-axis-with-sklearn-floor",
        [
            (
                ONE_HOT_BODY,
                """    y = np.asarray(y, dtype=int)
    encoded = np.zeros((len(y), num_classes))
    np.put_along_axis(encoded, y[:, None], 1.0, axis=1)
    return encoded
""",
            ),
            (
                CROSS_ENTROPY_TAIL,
                """    true_class_probs = np.take_along_axis(probs, y[:, None], axis=1)[:, 0]
    return float(np.mean(-np.log(np.maximum(true_class_probs, 1e-15))))
""",
            ),
        ],
    ),
    # A callable instance in place of the function (the contract's name still calls it), its loop in
    # __call__: class-based losses as in PyTorch-inspired from-scratch code.
    correct(
        "softmax_loss-naive-as-an-instance-of-a-loss-class",
        [
            ("def softmax_loss_naive(W, X, y, reg):\n", "def _naive_documented(W, X, y, reg):\n"),
            (
                NAIVE_BODY,
                NAIVE_BODY
                + "\n\nclass NaiveSoftmaxLoss:\n    def __call__(self, W, X, y, reg):\n"
                + NAIVE_BODY.replace("\n    ", "\n        ").replace("    num_examples", "        num_examples", 1)
                + "\n\nsoftmax_loss_naive = NaiveSoftmaxLoss()\n",
            ),
        ],
    ),
    # The max of all scores subtracted, not each row's: exp(shifted) of a row far below it sums to 0.
    broken(
        "softmax_loss-vectorized-subtracts-the-max-of-the-whole-matrix",
        [
            (
                "    shifted = scores - np.max(scores, axis=1, keepdims=True)\n    log_probs = shifted - np.log(",
                "    shifted = scores - np.max(scores)\n    log_probs = shifted - np.log(",
            )
        ],
        feedback="the max subtracted over the whole score matrix, not each row's",
    ),
]
