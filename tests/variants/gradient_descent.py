"""Variants of solutions/gradient_descent.py: realistic student mistakes, and correct rewrites.

Each broken variant must lose points in gradient_descent (and nowhere outside
the modules that import it), with `feedback` in the feedback of a failed test;
each correct one must score full marks. tests/test_variants.py grades them all.
"""

from tests.helpers import Variant

MODULE = "gradient_descent"

START = "    x = np.array(x0, dtype=float)  # np.array copies, so x0 is never touched\n"
STEP = "        x = x - learning_rate * np.asarray(grad_fn(x), dtype=float)\n"
ORDER = "    order = np.random.default_rng(seed).permutation(num_examples) if shuffle else np.arange(num_examples)\n"
BATCHES = """    for start in range(0, num_examples, batch_size):
        batch = order[start : start + batch_size]
        yield X[batch], y[batch]
"""
SGD_BODY = "    return {key: params[key] - learning_rate * grads[key] for key in params}\n"
RECORD = "        loss_history.append(loss(params, X, y, reg_lambda))\n"
UPDATE = "            params = sgd_step(params, grads, learning_rate)\n"


def broken(name, edits, feedback):
    return Variant(f"{MODULE}-{name}", MODULE, edits, feedback=feedback)


def correct(name, edits):
    return Variant(f"{MODULE}-correct-{name}", MODULE, edits, correct=True)


VARIANTS = [
    broken(
        "ascends-the-gradient",
        [(STEP, STEP.replace("x - learning_rate", "x + learning_rate"))],
        "the step goes up the gradient",
    ),
    broken(
        "updates-x0-in-place",
        [
            (START, "    x = np.asarray(x0, dtype=float)\n"),
            ("    history = [x]\n", "    history = [x.copy()]\n"),
            (
                STEP + "        history.append(x)\n",
                "        x -= learning_rate * np.asarray(grad_fn(x), dtype=float)\n        history.append(x.copy())\n",
            ),
        ],
        "x0 was updated in place",
    ),
    broken("history-without-x0", [("    history = [x]\n", "    history = []\n")], "history misses the start point"),
    broken(
        "history-entries-alias-one-array",
        [(STEP, "        x -= learning_rate * np.asarray(grad_fn(x), dtype=float)\n")],
        "every history entry is the same array",
    ),
    broken(
        "history-starts-with-x0-itself",
        [(START, "    x = x0\n"), ("    history = [x]\n", "    history = [x0]\n")],
        "history[0] is x0 itself",
    ),
    broken(
        "sgd-step-updates-params-in-place",
        [(SGD_BODY, "    for key in params:\n        params[key] -= learning_rate * grads[key]\n    return params\n")],
        "returned the params dict itself",
    ),
    broken(
        "sgd-step-adds-gradient",
        [(SGD_BODY, SGD_BODY.replace("] - learning_rate", "] + learning_rate"))],
        "the update adds the gradient",
    ),
    broken(
        "minibatches-drop-last-partial-batch",
        [(BATCHES, BATCHES.replace("range(0, num_examples,", "range(0, num_examples - batch_size + 1,"))],
        "the last, smaller batch is dropped",
    ),
    broken(
        "minibatches-shuffle-X-and-y-separately",
        [
            (
                ORDER,
                "    rng = np.random.default_rng(seed)\n"
                "    order = rng.permutation(num_examples) if shuffle else np.arange(num_examples)\n"
                "    label_order = rng.permutation(num_examples) if shuffle else np.arange(num_examples)\n",
            ),
            (
                "        yield X[batch], y[batch]\n",
                "        yield X[batch], y[label_order[start:start + batch_size]]\n",
            ),
        ],
        "X and y pairs are broken",
    ),
    broken(
        "minibatches-ignore-seed",
        [(ORDER, ORDER.replace("np.random.default_rng(seed).permutation", "np.random.permutation"))],
        "the seed must decide the order",
    ),
    broken("minibatches-never-shuffle", [(ORDER, "    order = np.arange(num_examples)\n")], "they are not shuffled"),
    broken(
        "minibatches-shuffle-ignores-flag",
        [(ORDER, "    order = np.random.default_rng(seed).permutation(num_examples)\n")],
        "order of the examples",
    ),
    broken(
        "training-records-loss-without-weight-decay",
        [(RECORD, "        loss_history.append(loss(params, X, y))\n")],
        "the loss without the weight decay",
    ),
    broken(
        "training-records-loss-per-batch", [(UPDATE + RECORD, UPDATE + "    " + RECORD)], "one loss per minibatch step"
    ),
    broken(
        "training-ignores-learning-rate", [(UPDATE, UPDATE.replace("learning_rate)", "0.01)"))], "training accuracy"
    ),
    correct(
        "iterate-minibatches-by-splitting-a-permutation",
        [
            (
                ORDER + BATCHES,
                """    if shuffle:
        order = np.random.RandomState(seed).permutation(len(X))
    else:
        order = np.arange(len(X))
    for batch in np.array_split(order, range(batch_size, len(X), batch_size)):
        yield X[batch], y[batch]
""",
            )
        ],
    ),
    correct(
        "gradient-descent-in-place-on-a-copy",
        [
            (START, "    x = np.copy(np.asarray(x0, dtype=float))\n"),
            ("    history = [x]\n", "    history = [x.copy()]\n"),
            (
                STEP + "        history.append(x)\n",
                "        x -= learning_rate * np.asarray(grad_fn(x), dtype=float)\n        history.append(x.copy())\n",
            ),
        ],
    ),
    correct(
        "training-records-loss-before-each-update",
        [
            (UPDATE + RECORD, UPDATE),
            ("        for X_batch, y_batch in batches:\n", RECORD + "        for X_batch, y_batch in batches:\n"),
        ],
    ),
    # d2l's gd(): results = [x], each step appended from the last one, the answer results[-1].
    correct(
        "gradient-descent-d2l-results-list",
        [
            (
                START
                + "    history = [x]\n    for _ in range(num_steps):\n"
                + STEP
                + "        history.append(x)\n    return x, history\n",
                """    results = [np.array(x0, dtype=float)]
    for _ in range(num_steps):
        results.append(results[-1] - learning_rate * np.asarray(grad_fn(results[-1]), dtype=float))
    return results[-1], results
""",
            )
        ],
    ),
    # Copies updated in place with -= (PyTorch-like param -= lr * grad, on copies so inputs stay).
    correct(
        "sgd-step-updates-copies-in-place",
        [
            (
                SGD_BODY,
                """    updated = {name: np.array(value, dtype=float) for name, value in params.items()}
    for name in updated:
        updated[name] -= learning_rate * grads[name]
    return updated
""",
            )
        ],
    ),
    # Lasagne's iterate_minibatches (the MNIST example): shuffled indices, slices cut by start_idx,
    # the last one ending at min(start + batch_size, N).
    correct(
        "iterate-minibatches-lasagne-style",
        [
            (
                ORDER + BATCHES,
                """    indices = np.arange(num_examples)
    if shuffle:
        np.random.default_rng(seed).shuffle(indices)
    for start_idx in range(0, num_examples, batch_size):
        excerpt = indices[start_idx : min(start_idx + batch_size, num_examples)]
        yield X[excerpt], y[excerpt]
""",
            )
        ],
    ),
    # A per-epoch shuffle seed of seed + epoch (reproducible, new each pass), full batch as one slice.
    correct(
        "training-shuffles-with-seed-plus-epoch",
        [
            (
                "    shuffle_seeds = np.random.default_rng(seed)  # a different, reproducible order every pass\n",
                "",
            ),
            ("    for _ in range(num_passes):\n", "    for epoch in range(num_passes):\n"),
            (
                "            batches = iterate_minibatches(X, y, batch_size, shuffle=True, "
                "seed=int(shuffle_seeds.integers(2**31)))\n",
                "            batches = iterate_minibatches(X, y, batch_size, seed=seed + epoch)\n",
            ),
            (RECORD, "        loss_history.append(float(loss(params, X, y, reg_lambda)))\n"),
        ],
    ),
]
