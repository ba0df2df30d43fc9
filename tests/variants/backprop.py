"""Variants of solutions/backprop.py: realistic student mistakes, and correct rewrites.

Each broken variant must lose points in backprop (and nowhere outside the
modules that import it), with `feedback` in the feedback of a failed test; each
correct one must score full marks. tests/test_variants.py grades them all.
"""

from tests.helpers import Variant

MODULE = "backprop"

DW1 = '"W1": X.T @ dhidden + reg_lambda * params["W1"],'
DW2 = '"W2": hidden.T @ dscores + reg_lambda * params["W2"],'
DB1 = '"b1": np.sum(dhidden, axis=0, keepdims=True),'
DB2 = '"b2": np.sum(dscores, axis=0, keepdims=True),'
RESTORE = "        x[index] = original  # the saved value, not original + h - h, which may round differently\n"
NUMERICAL_GRADIENT_BODY = (
    """    grad = np.zeros(x.shape, dtype=float)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = f()
        x[index] = original - h
        f_minus = f()
"""
    + RESTORE
    + """        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad
"""
)
LOSS_BODY = """    y = np.asarray(y, dtype=int)
    probs, _ = forward(params, X)
    correct_class = probs[np.arange(len(y)), y]
    # A probability that underflowed to 0 would give log(0) = -inf; the
    # smallest positive float keeps the loss finite (and huge, as it should be).
    data_loss = -np.mean(np.log(np.maximum(correct_class, np.finfo(float).tiny)))
"""
BACKWARD_BODY = """    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=int)
    num_examples = X.shape[0]
    hidden = cache["a1"]
    # d(mean cross-entropy)/d(scores) is (softmax - one-hot) / N.
    dscores = cache["probs"].copy()
    dscores[np.arange(num_examples), y] -= 1.0
    dscores /= num_examples
    dhidden = dscores @ params["W2"].T * (1.0 - hidden**2)  # tanh'(z1) = 1 - tanh(z1)**2
    return {
        "W1": X.T @ dhidden + reg_lambda * params["W1"],
        "b1": np.sum(dhidden, axis=0, keepdims=True),
        "W2": hidden.T @ dscores + reg_lambda * params["W2"],
        "b2": np.sum(dscores, axis=0, keepdims=True),
    }
"""


def broken(name, edits, feedback):
    return Variant(f"{MODULE}-{name}", MODULE, edits, feedback=feedback)


def correct(name, edits):
    return Variant(f"{MODULE}-correct-{name}", MODULE, edits, correct=True)


VARIANTS = [
    broken(
        "loss-sums-instead-of-mean",
        [("data_loss = -np.mean(", "data_loss = -np.sum(")],
        "summed cross-entropy instead of the mean",
    ),
    broken(
        "loss-regularises-biases",
        [
            (
                '(np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))',
                '(np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2)'
                ' + np.sum(params["b1"] ** 2) + np.sum(params["b2"] ** 2))',
            )
        ],
        "the biases are regularised too",
    ),
    broken(
        "loss-weight-decay-without-half",
        [("weight_decay = reg_lambda / 2 *", "weight_decay = reg_lambda *")],
        "weight decay without the 1/2",
    ),
    broken("backward-without-mean", [("    dscores /= num_examples\n", "")], "the gradient is not divided by N"),
    broken(
        "backward-without-reg-gradient",
        [(DW1, '"W1": X.T @ dhidden,'), (DW2, '"W2": hidden.T @ dscores,')],
        "the regularisation gradient is missing",
    ),
    broken(
        "backward-doubles-reg-gradient",
        [(DW1, DW1.replace("reg_lambda", "2 * reg_lambda")), (DW2, DW2.replace("reg_lambda", "2 * reg_lambda"))],
        "the regularisation gradient is doubled",
    ),
    broken(
        "backward-regularises-bias",
        [(DB2, '"b2": np.sum(dscores, axis=0, keepdims=True) + reg_lambda * params["b2"],')],
        "the bias is regularised",
    ),
    broken(
        "backward-tanh-derivative-without-square",
        [("(1.0 - hidden**2)", "(1.0 - hidden)")],
        "the tanh derivative lacks the square",
    ),
    broken(
        "backward-dW2-transposed", [(DW2, '"W2": dscores.T @ hidden + reg_lambda * params["W2"].T,')], "dW2 transposed"
    ),
    broken(
        "backward-bias-gradient-without-keepdims",
        [(DB1, '"b1": np.sum(dhidden, axis=0),')],
        "db1 lost its leading axis",
    ),
    broken(
        "backward-overwrites-cached-probs",
        [('dscores = cache["probs"].copy()', 'dscores = cache["probs"]')],
        "backward changed the cache",
    ),
    broken(
        "numerical-gradient-one-sided",
        [
            (
                "        x[index] = original - h\n        f_minus = f()\n",
                "        x[index] = original\n        f_minus = f()\n",
            ),
            ("(f_plus - f_minus) / (2 * h)", "(f_plus - f_minus) / h"),
        ],
        "a one-sided difference",
    ),
    broken(
        "numerical-gradient-for-matrices-only",
        [
            (
                NUMERICAL_GRADIENT_BODY,
                """    grad = np.zeros(x.shape, dtype=float)
    rows, columns = x.shape
    for i in range(rows):
        for j in range(columns):
            original = x[i, j]
            x[i, j] = original + h
            f_plus = f()
            x[i, j] = original - h
            f_minus = f()
            x[i, j] = original
            grad[i, j] = (f_plus - f_minus) / (2 * h)
    return grad
""",
            )
        ],
        "ValueError: too many values to unpack",
    ),
    broken("numerical-gradient-does-not-restore-x", [(RESTORE, "")], "x left at x - h"),
    broken(
        "numerical-gradient-restores-x-by-arithmetic",
        [
            ("        x[index] = original + h\n", "        x[index] += h\n"),
            ("        x[index] = original - h\n", "        x[index] -= 2 * h\n"),
            (RESTORE, "        x[index] += h\n"),
        ],
        "x restored by arithmetic",
    ),
    broken(
        "numerical-gradient-ignores-h",
        [("    grad = np.zeros(x.shape, dtype=float)\n", "    grad = np.zeros(x.shape, dtype=float)\n    h = 1e-5\n")],
        "the h argument is ignored",
    ),
    broken(
        "relative-error-without-floor",
        [("np.maximum(1e-8, np.abs(a) + np.abs(b))", "(np.abs(a) + np.abs(b))")],
        "no 1e-8 floor in the denominator",
    ),
    correct(
        "numerical-gradient-flat-index-loop",
        [
            (
                NUMERICAL_GRADIENT_BODY,
                """    grad = np.zeros_like(x, dtype=float)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)  # views: writing them writes x and grad
    for i in range(x.size):
        saved = flat_x[i]
        flat_x[i] = saved + h
        higher = f()
        flat_x[i] = saved - h
        lower = f()
        flat_x[i] = saved
        flat_grad[i] = (higher - lower) / (2 * h)
    return grad
""",
            )
        ],
    ),
    correct(
        "loss-and-backward-with-one-hot-and-z1",
        [
            (
                LOSS_BODY,
                """    probs, _ = forward(params, X)
    labels = np.asarray(y)
    data_loss = np.sum(-np.log(probs[range(len(labels)), labels])) / len(labels)
""",
            ),
            (
                BACKWARD_BODY,
                """    X = np.asarray(X, dtype=float)
    labels = np.asarray(y)
    one_hot = np.eye(cache["probs"].shape[1])[labels]
    dz2 = (cache["probs"] - one_hot) / len(labels)
    dz1 = (dz2 @ params["W2"].T) * (1 - np.tanh(cache["z1"]) ** 2)
    grads = {"W2": cache["a1"].T @ dz2, "b2": dz2.sum(axis=0, keepdims=True),
             "W1": X.T @ dz1, "b1": dz1.sum(axis=0, keepdims=True)}
    for name in ("W1", "W2"):
        grads[name] = grads[name] + reg_lambda * params[name]
    return grads
""",
            ),
        ],
    ),
    # CS231n's eval_numerical_gradient: np.nditer with a multi_index, stepping with it.iternext().
    correct(
        "numerical-gradient-cs231n-nditer",
        [
            (
                NUMERICAL_GRADIENT_BODY,
                """    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f()
        x[ix] = oldval - h
        fxmh = f()
        x[ix] = oldval
        grad[ix] = (fxph - fxmh) / (2 * h)
        it.iternext()
    return grad
""",
            )
        ],
    ),
    # WildML's "Implementing a Neural Network from Scratch" (the seed material's names): np.dot,
    # delta3/delta2, 1 - np.power(a1, 2), the one-hot by comparison and the bias rows by [None, :].
    correct(
        "backward-wildml-deltas-with-np-dot",
        [
            (
                BACKWARD_BODY,
                """    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=int)
    a1, probs = cache["a1"], cache["probs"]
    delta3 = (probs - (np.arange(probs.shape[1]) == y[:, None])) / len(y)
    dW2 = np.dot(a1.T, delta3) + reg_lambda * params["W2"]
    db2 = np.sum(delta3, axis=0)[None, :]
    delta2 = np.dot(delta3, params["W2"].T) * (1 - np.power(a1, 2))
    dW1 = np.dot(X.T, delta2) + reg_lambda * params["W1"]
    db1 = delta2.sum(axis=0).reshape(1, -1)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
""",
            )
        ],
    ),
    # The loss from forward's cached scores in log space (log-softmax), and the relative error's
    # floor as np.clip instead of np.maximum.
    correct(
        "loss-from-log-softmax-of-cached-scores-and-clipped-floor",
        [
            (
                LOSS_BODY,
                """    y = np.asarray(y, dtype=int)
    _, cache = forward(params, X)
    shifted = cache["z2"] - cache["z2"].max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    data_loss = -log_probs[np.arange(len(y)), y].mean()
""",
            ),
            (
                "    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))\n",
                "    return float((np.abs(a - b) / np.clip(np.abs(a) + np.abs(b), 1e-8, None)).max())\n",
            ),
        ],
    ),
]
