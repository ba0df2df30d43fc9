"""Variants of solutions/activations.py: realistic student mistakes, and correct rewrites.

Each broken variant must lose points in activations (and nowhere outside the
modules that import it), with `feedback` in the feedback of a failed test; each
correct one must score full marks. tests/test_variants.py grades them all.
"""

from tests.helpers import SOLUTIONS, Variant

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


def reference_function(name):
    """The reference's whole `def name(...)`: signature, docstring and body, for an edit that replaces it."""
    text = (SOLUTIONS / f"{MODULE}.py").read_text()
    start = text.index(f"def {name}(")
    end = text.find("\n\n\ndef ", start)
    return text[start:] if end == -1 else text[start : end + 1]


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
    # CS231n's layers.py style: a class per activation whose forward caches its output for backward,
    # the contract's functions calling them (module-level functions of the contract's signatures).
    correct(
        "activations_class_layers_called_by_the_functions",
        [
            (
                "import numpy as np\n\n\ndef sigmoid(z):\n",
                """import numpy as np


class Sigmoid:
    def forward(self, z):
        z = np.asarray(z, dtype=float)
        decay = np.exp(-np.abs(z))  # exp(-|z|) <= 1: no overflow on either side
        self.out = np.where(z >= 0, 1.0, decay) / (1.0 + decay)
        return self.out

    def backward(self, upstream):
        return upstream * self.out * (1.0 - self.out)


class Tanh:
    def forward(self, z):
        z = np.asarray(z, dtype=float)
        decay = np.exp(-2.0 * np.abs(z))
        self.out = np.sign(z) * (1.0 - decay) / (1.0 + decay)
        return self.out

    def backward(self, upstream):
        return upstream * (1.0 - self.out**2)


def sigmoid(z):
""",
            ),
            (SIGMOID_BODY, "    return Sigmoid().forward(z)\n"),
            (
                "    s = sigmoid(z)\n    return s * (1.0 - s)\n",
                "    layer = Sigmoid()\n    layer.forward(z)\n    return layer.backward(np.ones(np.shape(z)))\n",
            ),
            (TANH_BODY, "    return Tanh().forward(z)\n"),
            (
                "    return 1.0 - tanh(z) ** 2\n",
                "    layer = Tanh()\n    layer.forward(z)\n    return layer.backward(np.ones(np.shape(z)))\n",
            ),
        ],
    ),
    # CS231n's relu_backward (dx[x <= 0] = 0): boolean masks written into copies, never into the input.
    correct(
        "activations_relu_family_with_masks_on_copies",
        [
            (RELU_BODY, "    out = np.array(z, dtype=float)  # a copy\n    out[out < 0] = 0.0\n    return out\n"),
            (
                RELU_GRAD_BODY,
                "    z = np.asarray(z, dtype=float)\n"
                "    grad = np.ones_like(z)\n    grad[z <= 0] = 0.0\n    return grad\n",
            ),
            (LEAKY_RELU_BODY, "    out = np.array(z, dtype=float)\n    out[out <= 0] *= alpha\n    return out\n"),
            (
                "    z = np.asarray(z, dtype=float)\n    return np.where(z > 0, 1.0, alpha)\n",
                "    z = np.asarray(z, dtype=float)\n"
                "    grad = np.ones_like(z)\n    grad[z <= 0] = alpha\n    return grad\n",
            ),
            (BINARY_STEP_BODY, "    return np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)\n"),
        ],
    ),
    # Stable sigmoid as exp(-softplus(-z)) with np.logaddexp (a log-space idiom of numerically careful
    # code), and 0.5 * (1 + tanh(z / 2)) for its derivative's sigmoid: both exp-based, neither overflows.
    correct(
        "activations_sigmoid_via_logaddexp_and_tanh_half_angle",
        [
            (SIGMOID_BODY, "    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))\n"),
            (
                "    s = sigmoid(z)\n    return s * (1.0 - s)\n",
                "    s = 0.5 * (1.0 + tanh(0.5 * np.asarray(z, dtype=float)))\n    return s * (1.0 - s)\n",
            ),
        ],
    ),
    # Scalar code with math.exp run per element and reshaped back (math-based code from tutorials).
    correct(
        "activations_tanh_from_math_exp_per_element",
        [
            ("import numpy as np\n", "import math\n\nimport numpy as np\n"),
            (
                TANH_BODY,
                """    z = np.asarray(z, dtype=float)
    return np.array([_scalar_tanh(value) for value in z.flat], dtype=float).reshape(z.shape)


def _scalar_tanh(value):
    decay = math.exp(-2.0 * abs(value))  # at most 1: never overflows
    return math.copysign((1.0 - decay) / (1.0 + decay), value)
""",
            ),
        ],
    ),
    # Softmax along any axis by moving it last, with [..., np.newaxis] instead of keepdims.
    correct(
        "activations_softmax_moveaxis_and_newaxis",
        [
            (
                SOFTMAX_BODY,
                """    z = np.moveaxis(np.asarray(z, dtype=float), axis, -1)
    exp_z = np.exp(z - z.max(axis=-1)[..., np.newaxis])
    return np.moveaxis(exp_z / exp_z.sum(axis=-1)[..., np.newaxis], -1, axis)
""",
            )
        ],
    ),
    # Class-based activations bound to the contract's names (sigmoid = Sigmoid()), as the Keras and
    # PyTorch-module habit writes them: callable with the contract's signatures, built from exp.
    correct(
        "activations_callable_class_instances",
        [
            (
                reference_function("sigmoid"),
                '''class Sigmoid:
    """The logistic sigmoid 1/(1+exp(-z)) as a callable object, split by sign so exp never overflows."""

    def __call__(self, z):
        z = np.asarray(z, dtype=float)
        decay = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0, decay) / (1.0 + decay)


sigmoid = Sigmoid()
''',
            ),
            (
                reference_function("tanh"),
                '''class Tanh:
    """tanh from exp(-2|z|), which is at most 1, as a callable object."""

    def __call__(self, z):
        z = np.asarray(z, dtype=float)
        decay = np.exp(-2.0 * np.abs(z))
        return np.sign(z) * (1.0 - decay) / (1.0 + decay)


tanh = Tanh()
''',
            ),
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
    # A class whose instance stands for the function (`tanh = Tanh()`), hiding the library's tanh in
    # __call__: the static check follows the instance into its class.
    broken(
        "activations-tanh-as-an-instance-whose-call-uses-np-tanh",
        [
            ("def tanh(z):\n", "def _documented_tanh(z):\n"),
            (
                TANH_BODY,
                TANH_BODY
                + "\n\nclass Tanh:\n    def __call__(self, z):\n        return np.tanh(np.asarray(z, dtype=float))"
                + "\n\n\ntanh = Tanh()\n",
            ),
        ],
        feedback="(numpy.tanh, in Tanh, line",
    ),
]
