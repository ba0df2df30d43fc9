"""Variants of solutions/activations.py: realistic student mistakes, and correct rewrites.

Each broken variant must lose points in activations (and nowhere outside the
modules that import it), with `feedback` in the feedback of a failed test; each
correct one must score full marks. tests/test_variants.py grades them all.
"""

from tests.helpers import Variant

MODULE = "activations"

SIGMOID_BODY = """    z = np.asarray(z, dtype=float)
    result = np.empty_like(z)
    positive = z >= 0
    result[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    exp_z = np.exp(z[~positive])
    result[~positive] = exp_z / (1.0 + exp_z)
    return result
"""
TANH_BODY = """    z = np.asarray(z, dtype=float)
    decay = np.exp(-2.0 * np.abs(z))
    return np.sign(z) * (1.0 - decay) / (1.0 + decay)
"""
SOFTMAX_BODY = """    z = np.asarray(z, dtype=float)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    exp_z = np.exp(shifted)
    return exp_z / np.sum(exp_z, axis=axis, keepdims=True)
"""
RELU_BODY = "    return np.maximum(np.asarray(z, dtype=float), 0.0)\n"
RELU_GRAD_BODY = "    return (np.asarray(z, dtype=float) > 0).astype(float)\n"
BINARY_STEP_BODY = "    return (np.asarray(z, dtype=float) >= 0).astype(float)\n"
LEAKY_RELU_BODY = """    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * z)
"""


def broken(name, edits, feedback):
    return Variant(name=name, module=MODULE, edits=edits, feedback=feedback)


def correct(name, edits):
    return Variant(name=name, module=MODULE, edits=edits, correct=True)


VARIANTS = [
    broken("softmax_wrong_axis", [(SOFTMAX_BODY, SOFTMAX_BODY.replace("axis=axis", "axis=0"))], feedback="wrong axis"),
    broken(
        "softmax_without_max_subtraction",
        [("    shifted = z - np.max(z, axis=axis, keepdims=True)\n", "    shifted = z\n")],
        feedback="no max subtraction",
    ),
    broken(
        "softmax_max_over_whole_array",
        [("    shifted = z - np.max(z, axis=axis, keepdims=True)\n", "    shifted = z - np.max(z)\n")],
        feedback="the max subtracted over the whole array",
    ),
    broken(
        "tanh_grad_without_square",
        [("    return 1.0 - tanh(z) ** 2\n", "    return 1.0 - tanh(z)\n")],
        feedback="tanh derivative without the square",
    ),
    broken(
        "sigmoid_grad_in_terms_of_z",
        [
            (
                "    s = sigmoid(z)\n    return s * (1.0 - s)\n",
                "    z = np.asarray(z, dtype=float)\n    return z * (1.0 - z)\n",
            )
        ],
        feedback="applied to z itself (z*(1-z))",
    ),
    broken(
        "sigmoid_unstable_exp_of_minus_z",
        [(SIGMOID_BODY, "    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))\n")],
        feedback="split by sign",
    ),
    broken(
        "tanh_naive_exp_formula",
        [
            (
                TANH_BODY,
                "    z = np.asarray(z, dtype=float)\n    return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))\n",
            )
        ],
        feedback="use exp(-2|z|)",
    ),
    broken(
        "tanh_calls_np_tanh",
        [(TANH_BODY, "    return np.tanh(np.asarray(z, dtype=float))\n")],
        feedback="tanh must be built from exp",
    ),
    broken(
        "relu_grad_one_at_zero",
        [(RELU_GRAD_BODY, RELU_GRAD_BODY.replace("> 0", ">= 0"))],
        feedback="relu_grad is 1 at z == 0",
    ),
    broken(
        "binary_step_zero_at_zero",
        [(BINARY_STEP_BODY, BINARY_STEP_BODY.replace(">= 0", "> 0"))],
        feedback="binary_step is 0 at z == 0",
    ),
    broken(
        "leaky_relu_ignores_alpha",
        [(LEAKY_RELU_BODY, LEAKY_RELU_BODY.replace("alpha * z", "0.01 * z"))],
        feedback="alpha ignored",
    ),
    broken(
        "leaky_relu_grad_one_at_zero",
        [("    return np.where(z > 0, 1.0, alpha)\n", "    return np.where(z >= 0, 1.0, alpha)\n")],
        feedback="leaky_relu_grad is 1 at z == 0",
    ),
    broken(
        "relu_modifies_its_input_in_place",
        [(RELU_BODY, "    z = np.asarray(z, dtype=float)\n    z[z < 0] = 0.0\n    return z\n")],
        feedback="read-only",
    ),
    broken("relu_keeps_integer_dtype", [(RELU_BODY, "    return np.maximum(z, 0)\n")], feedback="floating dtype"),
    correct(
        "sigmoid_via_where_on_exp_of_minus_abs",
        [
            (
                SIGMOID_BODY,
                "    z = np.asarray(z, dtype=float)\n"
                "    decay = np.exp(-np.abs(z))  # at most 1: never overflows\n"
                "    return np.where(z >= 0, 1.0 / (1.0 + decay), decay / (1.0 + decay))\n",
            )
        ],
    ),
    correct(
        "tanh_via_sigmoid_and_heaviside_steps",
        [
            (TANH_BODY, "    return 2.0 * sigmoid(2.0 * np.asarray(z, dtype=float)) - 1.0\n"),
            (RELU_GRAD_BODY, "    return np.heaviside(np.asarray(z, dtype=float), 0.0)\n"),
            (BINARY_STEP_BODY, "    return np.heaviside(np.asarray(z, dtype=float), 1.0)\n"),
            (LEAKY_RELU_BODY, "    z = np.asarray(z, dtype=float)\n    return np.maximum(z, alpha * z)\n"),
        ],
    ),
    correct(
        "softmax_via_log_sum_exp",
        [
            (
                SOFTMAX_BODY,
                """    z = np.asarray(z, dtype=float)
    top = np.max(z, axis=axis, keepdims=True)
    log_total = top + np.log(np.sum(np.exp(z - top), axis=axis, keepdims=True))
    return np.exp(z - log_total)
""",
            )
        ],
    ),
    # The library's tanh under another name.
    Variant(
        name="activations-tanh-through-an-alias-of-np-tanh",
        module=MODULE,
        edits=[
            (
                "    decay = np.exp(-2.0 * np.abs(z))\n    return np.sign(z) * (1.0 - decay) / (1.0 + decay)\n",
                "    return _hyperbolic(z)\n\n\n_hyperbolic = np.tanh\n",
            ),
        ],  # fmt: skip
        feedback="uses the library's tanh: `_hyperbolic` (numpy.tanh",
    ),
]
