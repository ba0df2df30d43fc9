"""Variants of solutions/forward.py: realistic student mistakes, and correct rewrites.

Each broken variant must lose points in forward (and nowhere outside the
modules that import it), with `feedback` in the feedback of a failed test; each
correct one must score full marks. tests/test_variants.py grades them all.
"""

from tests.helpers import Variant

MODULE = "forward"

W1_LINE = '        "W1": rng.standard_normal((nn_input_dim, nn_hdim)) / np.sqrt(nn_input_dim),\n'
W2_LINE = '        "W2": rng.standard_normal((nn_hdim, nn_output_dim)) / np.sqrt(nn_hdim),\n'
B1_LINE = '        "b1": np.zeros((1, nn_hdim)),\n'
RNG_LINE = "    rng = np.random.default_rng(seed)\n"
PERCEPTRON_RETURN = "    return int(pre_activation >= 0)\n"
NEURON_RETURN = "    return float(activation(pre_activation))\n"
DENSE_BODY = (
    "    pre_activation = np.asarray(X, dtype=float) @ np.asarray(W, dtype=float) + np.asarray(b, dtype=float)\n"
    "    return pre_activation if activation is None else activation(pre_activation)\n"
)
PREDICT_RETURN = "    return np.argmax(probs, axis=1)\n"


def broken(name, edits, feedback):
    return Variant(name=name, module=MODULE, edits=edits, feedback=feedback)


def correct(name, edits):
    return Variant(name=name, module=MODULE, edits=edits, correct=True)


VARIANTS = [
    broken(
        "perceptron_strict_inequality",
        [(PERCEPTRON_RETURN, "    return int(pre_activation > 0)\n")],
        feedback="> instead of >=",
    ),
    broken(
        "perceptron_returns_a_bool",
        [(PERCEPTRON_RETURN, "    return pre_activation >= 0\n")],
        feedback="expected an int",
    ),
    broken(
        "neuron_ignores_activation",
        [(NEURON_RETURN, "    return float(sigmoid(pre_activation))\n")],
        feedback="`activation` ignored: sigmoid applied",
    ),
    broken(
        "neuron_returns_an_array",
        [(NEURON_RETURN, "    return activation(np.atleast_1d(pre_activation))\n")],
        feedback="expected a float",
    ),
    broken(
        "dense_ignores_bias",
        [(DENSE_BODY, DENSE_BODY.replace(" + np.asarray(b, dtype=float)", ""))],
        feedback="the bias b not added",
    ),
    broken(
        "dense_ignores_activation",
        [(DENSE_BODY, DENSE_BODY.replace(" if activation is None else activation(pre_activation)", ""))],
        feedback="`activation` ignored: X @ W + b returned",
    ),
    broken(
        "init_params_reseeds_the_global_rng",
        [(RNG_LINE, "    np.random.seed(seed)\n    rng = np.random\n")],
        feedback="global random state changed",
    ),
    broken(
        "init_params_ignores_seed",
        [(RNG_LINE, "    rng = np.random.default_rng(0)\n")],
        feedback="another seed must give other weights",
    ),
    broken(
        "init_params_unseeded_generator",
        [(RNG_LINE, "    rng = np.random.default_rng()\n")],
        feedback="the same seed must give the same arrays",
    ),
    broken(
        "init_params_random_biases",
        [(B1_LINE, '        "b1": rng.standard_normal((1, nn_hdim)),\n')],
        feedback="biases start at zero",
    ),
    broken(
        "init_params_bias_vector_shape",
        [(B1_LINE, '        "b1": np.zeros(nn_hdim),\n')],
        feedback="expected shape (1, 5)",
    ),
    broken(
        "init_params_scales_by_fan_out",
        [
            (W1_LINE, W1_LINE.replace("np.sqrt(nn_input_dim)", "np.sqrt(nn_hdim)")),
            (W2_LINE, W2_LINE.replace("np.sqrt(nn_hdim)", "np.sqrt(nn_output_dim)")),
        ],
        feedback="1/sqrt(fan_out) instead of 1/sqrt(fan_in)",
    ),
    broken(
        "init_params_unscaled",
        [
            (W1_LINE, W1_LINE.replace(" / np.sqrt(nn_input_dim)", "")),
            (W2_LINE, W2_LINE.replace(" / np.sqrt(nn_hdim)", "")),
        ],
        feedback="weights not scaled",
    ),
    broken(
        "forward_softmax_over_examples",
        [("    probs = softmax(z2, axis=1)\n", "    probs = softmax(z2, axis=0)\n")],
        feedback="softmax over axis 0",
    ),
    broken(
        "forward_sigmoid_hidden_layer",
        [("    a1 = tanh(z1)\n", "    a1 = sigmoid(z1)\n")],
        feedback="sigmoid instead of tanh",
    ),
    broken(
        "predict_returns_probabilities",
        [(PREDICT_RETURN, "    return probs\n")],
        feedback="predict returned the probabilities",
    ),
    correct(
        "init_params_with_a_legacy_private_generator",
        [(RNG_LINE, "    rng = np.random.RandomState(seed)  # a private generator: the global one is untouched\n")],
    ),
    correct(
        "explicit_layers_and_loops",
        [
            (
                NEURON_RETURN,
                "    total = b + sum(w_i * x_i for w_i, x_i in zip(w, x))\n"
                "    return float(activation(np.asarray(total, dtype=float)))\n",
            ),
            (PERCEPTRON_RETURN, "    return 1 if pre_activation >= 0 else 0\n"),
            ('    z1 = dense(X, params["W1"], params["b1"])\n', '    z1 = X @ params["W1"] + params["b1"]\n'),
            (PREDICT_RETURN, "    return np.array([int(np.argmax(row)) for row in probs])\n"),
        ],
    ),
    # Matrix products written the other public ways: w @ x, np.einsum, X.dot(W), b reshaped to a row.
    correct(
        "forward_with_einsum_dot_and_a_reshaped_bias",
        [
            (
                "    pre_activation = np.dot(np.asarray(w, dtype=float), np.asarray(x, dtype=float)) + b\n"
                "    return float(activation(pre_activation))\n",
                "    pre_activation = np.asarray(w, dtype=float) @ np.asarray(x, dtype=float) + b\n"
                "    return float(activation(pre_activation))\n",
            ),
            (
                DENSE_BODY,
                "    X, W = np.asarray(X, dtype=float), np.asarray(W, dtype=float)\n"
                '    pre_activation = np.einsum("nd,dh->nh", X, W) + np.reshape(np.asarray(b, dtype=float), (1, -1))\n'
                "    return pre_activation if activation is None else activation(pre_activation)\n",
            ),
            (
                '    z1 = dense(X, params["W1"], params["b1"])\n    a1 = tanh(z1)\n',
                '    z1 = X.dot(params["W1"]) + params["b1"]\n    a1 = tanh(z1)\n',
            ),
        ],
    ),
    # Xavier-style init as rng.normal(0, sqrt(1/fan_in)) from an explicit PCG64 generator (CS231n's
    # "calibrating the variances" note): the same N(0, 1)/sqrt(fan_in) the contract names.
    correct(
        "forward_init_params_normal_with_sqrt_of_reciprocal_scale",
        [
            (
                RNG_LINE
                + "    return {\n"
                + W1_LINE
                + B1_LINE
                + W2_LINE
                + '        "b2": np.zeros((1, nn_output_dim)),\n    }\n',
                """    rng = np.random.Generator(np.random.PCG64(seed))
    W1 = rng.normal(0.0, np.sqrt(1.0 / nn_input_dim), size=(nn_input_dim, nn_hdim))
    W2 = rng.normal(0.0, np.sqrt(1.0 / nn_hdim), size=(nn_hdim, nn_output_dim))
    return {"W1": W1, "b1": np.zeros((1, nn_hdim)), "W2": W2, "b2": np.zeros((1, nn_output_dim))}
""",
            )
        ],
    ),
    # The argmax of the scores (softmax keeps their order) and a Heaviside step for the perceptron.
    correct(
        "forward_predict_from_scores_and_heaviside_perceptron",
        [
            (PERCEPTRON_RETURN, "    return int(np.heaviside(pre_activation, 1.0))\n"),
            (
                "    probs, _ = forward(params, X)\n" + PREDICT_RETURN,
                '    _, cache = forward(params, X)\n    return cache["z2"].argmax(axis=1)\n',
            ),
        ],
    ),
]
