"""Variants of solutions/conv_size.py: realistic student mistakes, and correct rewrites.

Each broken variant must lose points in conv_size (and nowhere outside the
modules that import it: cnn may lose points too), with `feedback` in the
feedback of a failed test; each correct one must score full marks.
tests/test_variants.py grades them all.
"""

from tests.helpers import Variant

MODULE = "conv_size"

FORMULA = "    output_size = (input_size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1\n"


def broken(name, edits, feedback):
    return Variant(name=name, module=MODULE, edits=edits, feedback=feedback)


def correct(name, edits):
    return Variant(name=name, module=MODULE, edits=edits, correct=True)


VARIANTS = [
    broken(
        "conv_size-true-division",
        [(FORMULA, FORMULA.replace("// stride", "/ stride"))],
        "true division `/` instead of floor division `//`",
    ),
    broken(
        "conv_size-single-padding", [(FORMULA, FORMULA.replace("2 * padding", "padding"))], "padding added once (W + P)"
    ),
    broken(
        "conv_size-dilation-ignored",
        [(FORMULA, "    output_size = (input_size + 2 * padding - kernel_size) // stride + 1\n")],
        "dilation ignored",
    ),
    broken(
        "conv_size-output-below-one-accepted",
        [("    if output_size < 1:\n", "    if output_size < 0:\n")],
        "nn.Conv2d refuses it",
    ),
    broken(
        "conv_size-bool-accepted",
        [("    if isinstance(value, bool) or not isinstance(value, int):\n", "    if not isinstance(value, int):\n")],
        "True is an int in Python",
    ),
    broken(
        "conv_size-floats-accepted",
        [
            (
                "    if isinstance(value, bool) or not isinstance(value, int):\n",
                "    if isinstance(value, bool) or not isinstance(value, (int, float)):\n",
            )
        ],
        "is a float",
    ),
    broken(
        "conv_size-pool-stride-none-as-one",
        [("    if stride is None:\n        stride = kernel_size\n", "    if stride is None:\n        stride = 1\n")],
        "stride=None means stride = kernel_size",
    ),
    broken(
        "conv_size-pool-padding-rule-missing",
        [("    if padding > kernel_size // 2:\n", "    if padding > kernel_size:\n")],
        "kernel_size // 2",
    ),
    broken(
        "conv_size-shape-as-list",
        [
            (
                "    return (*input_shape[:-3], out_channels, output_height, output_width)\n",
                "    return [*input_shape[:-3], out_channels, output_height, output_width]\n",
            )
        ],
        "a list returned; return a tuple",
    ),
    broken(
        "conv_size-shape-keeps-input-channels",
        [
            (
                "    return (*input_shape[:-3], out_channels, output_height, output_width)\n",
                "    return (*input_shape[:-2], output_height, output_width)\n",
            )
        ],
        "the channel dimension kept from the input",
    ),
    broken(
        "conv_size-num-params-without-bias",
        [("    return weights + (out_channels if bias else 0)\n", "    return weights\n")],
        "the biases (one per output channel) are not counted",
    ),
    broken(
        "conv_size-same-padding-no-even-check",
        [("    if extent % 2 == 0:\n", "    if extent % 2 == 0 and False:\n")],
        "an even number, so no symmetric padding keeps the size",
    ),
    broken(
        "conv_size-same-padding-ignores-dilation",
        [
            (
                "    extent = dilation * (kernel_size - 1) + 1\n    if extent % 2 == 0:\n",
                "    extent = kernel_size\n    if extent % 2 == 0:\n",
            )
        ],
        "dilation ignored",
    ),
    Variant(
        name="conv_size-math-floor-and-int",
        module=MODULE,
        correct=True,
        edits=[
            ('"""\n\n\ndef _check_int', '"""\n\nimport math\n\n\ndef _check_int'),
            (
                FORMULA,
                "    output_size = int(math.floor((input_size + 2 * padding - dilation * (kernel_size - 1) - 1)"
                " / stride)) + 1\n",
            ),
        ],
    ),
    # numbers.Integral for the type check (bools still refused), star-unpacking of the input shape,
    # math.prod for the kernel's weights, and the result made a Python int explicitly.
    correct(
        "conv_size-numbers-integral-star-unpacking-and-math-prod",
        [
            ('"""\n\n\ndef _check_int', '"""\n\nimport math\nimport numbers\n\n\ndef _check_int'),
            (
                "    if isinstance(value, bool) or not isinstance(value, int):\n",
                "    if isinstance(value, bool) or not isinstance(value, numbers.Integral):\n",
            ),
            ("    return output_size\n", "    return int(output_size)\n"),
            ("    height, width = input_shape[-2:]\n", "    *batch_and_channels, height, width = input_shape\n"),
            (
                "    return (*input_shape[:-3], out_channels, output_height, output_width)\n",
                "    return (*batch_and_channels[:-1], out_channels, output_height, output_width)\n",
            ),
            (
                "    weights = out_channels * in_channels * kernel_height * kernel_width\n"
                "    return weights + (out_channels if bias else 0)\n",
                "    weights = in_channels * out_channels * math.prod((kernel_height, kernel_width))\n"
                "    return weights + int(bool(bias)) * out_channels\n",
            ),
        ],
    ),
    # Pooling's formula written out with its own checks (PyTorch's pad <= kernel / 2 as 2P > F),
    # and same_padding from the even-or-odd span D*(F - 1).
    correct(
        "conv_size-pool-formula-written-out-and-same-padding-from-the-span",
        [
            (
                '    _check_int("kernel_size", kernel_size, 1)\n    _check_int("padding", padding, 0)\n'
                "    if stride is None:\n        stride = kernel_size\n    if padding > kernel_size // 2:\n",
                """    stride = kernel_size if stride is None else stride
    for name, value, minimum in (
        ("input_size", input_size, 1),
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("padding", padding, 0),
    ):
        _check_int(name, value, minimum)
    if 2 * padding > kernel_size:
""",
            ),
            (
                "    return conv_output_size(input_size, kernel_size, stride, padding)\n",
                """    output_size = (input_size + 2 * padding - kernel_size) // stride + 1
    if output_size < 1:
        raise ValueError(f"the pooling window ({kernel_size}) does not fit the padded input")
    return output_size
""",
            ),
            (
                "    extent = dilation * (kernel_size - 1) + 1\n    if extent % 2 == 0:\n",
                "    span = dilation * (kernel_size - 1)\n    extent = span + 1\n    if span % 2:\n",
            ),
            ("    return (extent - 1) // 2\n", "    return span // 2\n"),
        ],
    ),
]
