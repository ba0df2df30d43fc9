"""Hidden checks of conv_size.py on configurations drawn from the run's seed (0 points; see grader.engine.scoring).

Oracle: the public suite's, PyTorch's own convolution and pooling on an empty
batch, through the public checks' own `check_*` helpers. Each test redraws the
kind of configuration its named public tests use and checks their one
property: sizes where PyTorch accepts a configuration, ValueError where it
refuses one, ValueError for an argument of the wrong type or range. A mistake
the public tests already show so costs no more with these on.
"""

from grader.engine.scoring import graded
from grader.suite.test_conv_size import (
    check_conv2d_num_params,
    check_conv2d_output_shapes,
    check_conv_output_size_rejects,
    check_conv_output_sizes,
    check_pool_output_size_rejects,
    check_pool_output_sizes,
    check_rejects_bad_arguments,
    check_same_padding,
    torch_conv_size,
    torch_pool_size,
)

NUM_ACCEPTED = 300  # configurations per test of sizes: each is one call into the submission
NUM_REFUSED = 100  # configurations per test of refusals


def integer(rng, low, high):
    """A Python int in [low, high], both included."""
    return int(rng.integers(low, high + 1))


def conv_configuration(rng):
    """(input_size, kernel_size, stride, padding, dilation), a little wider than the public draw's ranges."""
    return (integer(rng, 1, 64), integer(rng, 1, 11), integer(rng, 1, 6), integer(rng, 0, 5), integer(rng, 1, 4))


def pool_configuration(rng):
    """(input_size, kernel_size, stride or None, padding), a little wider than the public draw's ranges."""
    stride = None if rng.random() < 0.3 else integer(rng, 1, 5)
    return (integer(rng, 1, 64), integer(rng, 1, 8), stride, integer(rng, 0, 4))


def drawn_until(rng, draw, keep, count):
    """`count` configurations of `draw` for which `keep` holds."""
    found = []
    while len(found) < count:
        configuration = draw(rng)
        if keep(configuration):
            found.append(configuration)
    return found


@graded(points=0, exercise="conv_output_size", rechecks=("test_conv_output_size_matches_conv2d",))
def test_hidden_conv_output_size_matches_conv2d(student, hidden_rng):
    """Drawn sizes, kernels, strides, paddings and dilations that nn.Conv2d accepts."""
    configurations = drawn_until(
        hidden_rng, conv_configuration, lambda configuration: torch_conv_size(*configuration) is not None, NUM_ACCEPTED
    )
    check_conv_output_sizes(student, configurations)


@graded(points=0, exercise="conv_output_size", rechecks=("test_conv_output_size_rejects_what_conv2d_rejects",))
def test_hidden_conv_output_size_rejects_what_conv2d_rejects(student, hidden_rng):
    """Drawn configurations whose dilated kernel is wider than the padded input, which nn.Conv2d refuses."""
    rejected = drawn_until(
        hidden_rng, conv_configuration, lambda configuration: torch_conv_size(*configuration) is None, NUM_REFUSED
    )
    check_conv_output_size_rejects(student, rejected)


# Each argument of conv_output_size, and the smallest value its range allows.
CONV_MINIMA = {"input_size": 1, "kernel_size": 1, "stride": 1, "padding": 0, "dilation": 1}


def spoiled_conv_call(rng):
    """A conv_output_size call that an otherwise fitting configuration makes wrong in one argument:
    a bool, a float, or an int below that argument's range. Returns (args, kwargs, why)."""
    values = dict(zip(CONV_MINIMA, (16, 3, 1, 1, 1), strict=True))  # a configuration that fits
    name = list(CONV_MINIMA)[integer(rng, 0, len(CONV_MINIMA) - 1)]
    kind = ("a bool", "a float", "below its range")[integer(rng, 0, 2)]
    if kind == "a bool":
        values[name] = bool(rng.random() < 0.5)
    elif kind == "a float":
        values[name] = float(values[name]) + (0.5 if rng.random() < 0.5 else 0.0)
    else:
        values[name] = CONV_MINIMA[name] - integer(rng, 1, 3)
    args = (values.pop("input_size"), values.pop("kernel_size"))
    return args, values, f"{name} is {kind}"


@graded(
    points=0,
    exercise="conv_output_size",
    rechecks=("test_conv_output_size_rejects_bools_floats_and_out_of_range_arguments",),
)
def test_hidden_conv_output_size_rejects_bools_floats_and_out_of_range_arguments(student, hidden_rng):
    """A fitting configuration with one argument drawn to be a bool, a float, or an int below its range."""
    check_rejects_bad_arguments(student.conv_size.conv_output_size, [spoiled_conv_call(hidden_rng) for _ in range(20)])


@graded(points=0, exercise="pool_output_size", rechecks=("test_pool_output_size_matches_max_pool2d",))
def test_hidden_pool_output_size_matches_max_pool2d(student, hidden_rng):
    """Drawn sizes, kernels, strides (some None) and paddings that nn.MaxPool2d accepts."""
    configurations = drawn_until(
        hidden_rng, pool_configuration, lambda configuration: torch_pool_size(*configuration) is not None, NUM_ACCEPTED
    )
    check_pool_output_sizes(student, configurations)


def spoiled_pool_call(rng):
    """A pool_output_size call wrong in one argument the way the public check's are: kernel_size or stride
    a bool, kernel_size or input_size a float, or a negative padding. Returns (args, kwargs, why)."""
    input_size, kernel_size, stride = integer(rng, 8, 40), integer(rng, 2, 5), integer(rng, 1, 3)
    kind = integer(rng, 0, 4)
    if kind == 0:
        return (input_size, True), {}, "kernel_size is a bool"
    if kind == 1:
        return (input_size, kernel_size), {"stride": True}, "stride is a bool"
    if kind == 2:
        return (input_size, float(kernel_size)), {}, "kernel_size is a float"
    if kind == 3:
        return (float(input_size), kernel_size), {}, "input_size is a float"
    return (input_size, kernel_size), {"stride": stride, "padding": -integer(rng, 1, 3)}, "padding is negative"


@graded(points=0, exercise="pool_output_size", rechecks=("test_pool_output_size_rejects_what_max_pool2d_rejects",))
def test_hidden_pool_output_size_rejects_what_max_pool2d_rejects(student, hidden_rng):
    """Drawn configurations nn.MaxPool2d refuses, and calls with a bool, a float or a negative padding."""
    rejected = drawn_until(
        hidden_rng, pool_configuration, lambda configuration: torch_pool_size(*configuration) is None, NUM_REFUSED
    )
    check_pool_output_size_rejects(student, rejected)
    check_rejects_bad_arguments(student.conv_size.pool_output_size, [spoiled_pool_call(hidden_rng) for _ in range(10)])


def int_or_pair(rng, low, high):
    return integer(rng, low, high) if rng.random() < 0.5 else (integer(rng, low, high), integer(rng, low, high))


@graded(points=0, exercise="conv2d_output_shape", rechecks=("test_conv2d_output_shape_matches_conv2d",))
def test_hidden_conv2d_output_shape_matches_conv2d(student, hidden_rng):
    """Drawn batched or unbatched shapes, channel counts, and int or (h, w) kernels, strides, paddings, dilations."""
    cases = []
    for _ in range(150):
        batch = (integer(hidden_rng, 1, 4),) * bool(hidden_rng.random() < 0.5)
        shape = batch + (integer(hidden_rng, 1, 4), integer(hidden_rng, 3, 40), integer(hidden_rng, 3, 40))
        options = (int_or_pair(hidden_rng, *limits) for limits in ((1, 6), (1, 4), (0, 3), (1, 3)))
        cases.append((shape, integer(hidden_rng, 1, 8), *options))
    check_conv2d_output_shapes(student, cases)


@graded(points=0, exercise="conv2d_num_params", rechecks=("test_conv2d_num_params_matches_conv2d_parameters",))
def test_hidden_conv2d_num_params_matches_conv2d_parameters(student, hidden_rng):
    """Drawn channel counts and int or (h, w) kernel sizes, each with and without bias."""
    cases = []
    for _ in range(10):
        in_channels, out_channels = integer(hidden_rng, 1, 64), integer(hidden_rng, 1, 64)
        cases.append((in_channels, out_channels, int_or_pair(hidden_rng, 1, 7)))
    check_conv2d_num_params(student, cases)


@graded(points=0, exercise="same_padding", rechecks=("test_same_padding_keeps_the_size_at_stride_1",))
def test_hidden_same_padding_keeps_the_size_at_stride_1(student, hidden_rng):
    """Drawn kernel sizes and dilations, the even spans among them (no symmetric padding) included."""
    check_same_padding(student, [(integer(hidden_rng, 1, 9), integer(hidden_rng, 1, 4)) for _ in range(12)])
