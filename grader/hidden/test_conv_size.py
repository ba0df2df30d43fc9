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
    torch_conv2d_shape,
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


def conv_extent(configuration):
    """D*(F - 1) + 1, the span of the dilated kernel."""
    _, kernel_size, _, _, dilation = configuration
    return dilation * (kernel_size - 1) + 1


def conv_slack(configuration):
    """W + 2P - D*(F - 1) - 1: how far the padded input reaches past one placement of the kernel."""
    input_size, _, _, padding, _ = configuration
    return input_size + 2 * padding - conv_extent(configuration)


# The borderline kinds of accepted configuration, each drawn on every seed (the rest may miss one).
CONV_EDGES = {
    "an exact fit (output 1, kernel wider than 1)": lambda c: conv_slack(c) == 0 and c[1] > 1,
    "a stride that does not divide evenly": lambda c: conv_slack(c) > 0 and c[2] > 1 and conv_slack(c) % c[2] != 0,
    "a stride above 1 that divides evenly": lambda c: conv_slack(c) > 0 and c[2] > 1 and conv_slack(c) % c[2] == 0,
    "dilation and padding both used": lambda c: conv_slack(c) >= 0 and c[3] > 0 and c[4] > 1,
    "a 1x1 kernel": lambda c: c[1] == 1,
}


def edge_conv_configurations(rng):
    """One drawn configuration of each kind in CONV_EDGES, all of which nn.Conv2d accepts."""
    return [
        drawn_until(rng, conv_configuration, lambda c, keep=keep: keep(c) and torch_conv_size(*c) is not None, 1)[0]
        for keep in CONV_EDGES.values()
    ]


@graded(points=0, exercise="conv_output_size", rechecks=("test_conv_output_size_matches_conv2d",))
def test_hidden_conv_output_size_matches_conv2d(student, hidden_rng):
    """Drawn sizes, kernels, strides, paddings and dilations that nn.Conv2d accepts.

    On every seed one of each kind in CONV_EDGES: an exact fit, a stride that divides evenly and one that
    does not, dilation with padding, a 1x1 kernel.
    """
    configurations = drawn_until(
        hidden_rng, conv_configuration, lambda configuration: torch_conv_size(*configuration) is not None, NUM_ACCEPTED
    )
    check_conv_output_sizes(student, edge_conv_configurations(hidden_rng) + configurations)


@graded(points=0, exercise="conv_output_size", rechecks=("test_conv_output_size_rejects_what_conv2d_rejects",))
def test_hidden_conv_output_size_rejects_what_conv2d_rejects(student, hidden_rng):
    """Drawn configurations whose dilated kernel is wider than the padded input, which nn.Conv2d refuses."""
    rejected = drawn_until(
        hidden_rng, conv_configuration, lambda configuration: torch_conv_size(*configuration) is None, NUM_REFUSED
    )
    # On every seed the borderline refusal: the padded input one short of the dilated kernel (output 0).
    just_short = drawn_until(hidden_rng, conv_configuration, lambda configuration: conv_slack(configuration) == -1, 1)
    check_conv_output_size_rejects(student, just_short + rejected)


# Each argument of conv_output_size, and the smallest value its range allows.
CONV_MINIMA = {"input_size": 1, "kernel_size": 1, "stride": 1, "padding": 0, "dilation": 1}


SPOILED_KINDS = ("a bool", "a float", "below its range")


def spoiled_conv_call(rng, name=None, kind=None):
    """A conv_output_size call that an otherwise fitting configuration makes wrong in one argument:
    a bool, a float, or an int below that argument's range (drawn where not given). Returns (args, kwargs, why)."""
    values = dict(zip(CONV_MINIMA, (16, 3, 1, 1, 1), strict=True))  # a configuration that fits
    name = list(CONV_MINIMA)[integer(rng, 0, len(CONV_MINIMA) - 1)] if name is None else name
    kind = SPOILED_KINDS[integer(rng, 0, 2)] if kind is None else kind
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
    """A fitting configuration with one argument drawn to be a bool, a float, or an int below its range.

    On every seed each argument is spoiled each of the three ways once; five more calls are drawn.
    """
    calls = [spoiled_conv_call(hidden_rng, name, kind) for name in CONV_MINIMA for kind in SPOILED_KINDS]
    calls += [spoiled_conv_call(hidden_rng) for _ in range(5)]
    check_rejects_bad_arguments(student.conv_size.conv_output_size, calls)


@graded(points=0, exercise="pool_output_size", rechecks=("test_pool_output_size_matches_max_pool2d",))
def test_hidden_pool_output_size_matches_max_pool2d(student, hidden_rng):
    """Drawn sizes, kernels, strides (some None) and paddings that nn.MaxPool2d accepts.

    On every seed each kind in POOL_EDGES: stride None, the largest padding, an exact fit, an uneven stride.
    """
    configurations = drawn_until(
        hidden_rng, pool_configuration, lambda configuration: torch_pool_size(*configuration) is not None, NUM_ACCEPTED
    )
    check_pool_output_sizes(student, edge_pool_configurations(hidden_rng) + configurations)


def pool_stride(configuration):
    _, kernel_size, stride, _ = configuration
    return kernel_size if stride is None else stride


# The borderline kinds of accepted pooling, each drawn on every seed.
POOL_EDGES = {
    "stride None (the kernel size)": lambda c: c[2] is None and c[1] > 1,
    "padding at its largest, kernel_size // 2": lambda c: c[3] == c[1] // 2 > 0,
    "an exact fit (output 1)": lambda c: c[0] + 2 * c[3] == c[1] and c[1] > 1,
    "a stride that does not divide evenly": lambda c: (c[0] + 2 * c[3] - c[1]) % pool_stride(c) != 0,
}


def edge_pool_configurations(rng):
    """One drawn configuration of each kind in POOL_EDGES, all of which nn.MaxPool2d accepts."""
    return [
        drawn_until(rng, pool_configuration, lambda c, keep=keep: keep(c) and torch_pool_size(*c) is not None, 1)[0]
        for keep in POOL_EDGES.values()
    ]


def spoiled_pool_call(rng, kind=None):
    """A pool_output_size call wrong in one argument the way the public check's are: kernel_size or stride
    a bool, kernel_size or input_size a float, or a negative padding (kind 0 to 4, drawn where not given).
    Returns (args, kwargs, why)."""
    input_size, kernel_size, stride = integer(rng, 8, 40), integer(rng, 2, 5), integer(rng, 1, 3)
    kind = integer(rng, 0, 4) if kind is None else kind
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
    """Drawn configurations nn.MaxPool2d refuses, and calls with a bool, a float or a negative padding.

    On every seed: a padding one past kernel_size // 2 on an input it would fit, and each wrong argument once.
    """
    rejected = drawn_until(
        hidden_rng, pool_configuration, lambda configuration: torch_pool_size(*configuration) is None, NUM_REFUSED
    )
    one_past = drawn_until(
        hidden_rng,
        pool_configuration,
        lambda c: c[3] == c[1] // 2 + 1 and c[0] >= c[1] and torch_pool_size(*c) is None,
        1,
    )
    check_pool_output_size_rejects(student, one_past + rejected)
    calls = [spoiled_pool_call(hidden_rng, kind) for kind in range(5)]
    calls += [spoiled_pool_call(hidden_rng) for _ in range(5)]
    check_rejects_bad_arguments(student.conv_size.pool_output_size, calls)


def int_or_pair(rng, low, high):
    return integer(rng, low, high) if rng.random() < 0.5 else (integer(rng, low, high), integer(rng, low, high))


@graded(points=0, exercise="conv2d_output_shape", rechecks=("test_conv2d_output_shape_matches_conv2d",))
def test_hidden_conv2d_output_shape_matches_conv2d(student, hidden_rng):
    """Drawn batched or unbatched shapes, channel counts, and int or (h, w) kernels, strides, paddings, dilations."""
    cases = []
    # On every seed an unbatched shape with int options and a batched one with (h, w) pairs, each one
    # that nn.Conv2d accepts (a refused case is skipped), before the drawn ones.
    for batched, pairs in ((False, False), (True, True)):
        while True:
            case = conv2d_case(hidden_rng, batched, pairs)
            if torch_conv2d_shape(*case) is not None:
                break
        cases.append(case)
    cases += [conv2d_case(hidden_rng) for _ in range(150)]
    check_conv2d_output_shapes(student, cases)


def conv2d_case(rng, batched=None, pairs=None):
    """(input_shape, out_channels, kernel_size, stride, padding, dilation), batched or not and with int or
    (h, w) options as given, else drawn (each option on its own)."""
    batched = bool(rng.random() < 0.5) if batched is None else batched
    batch = (integer(rng, 1, 4),) * batched
    shape = batch + (integer(rng, 1, 4), integer(rng, 3, 40), integer(rng, 3, 40))
    limits = ((1, 6), (1, 4), (0, 3), (1, 3))
    if pairs is None:
        options = [int_or_pair(rng, *limit) for limit in limits]
    elif pairs:
        options = [(integer(rng, *limit), integer(rng, *limit)) for limit in limits]
    else:
        options = [integer(rng, *limit) for limit in limits]
    return (shape, integer(rng, 1, 8), *options)


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
    """Drawn kernel sizes and dilations, the even spans among them (no symmetric padding) included.

    On every seed: a 1x1 kernel, an even kernel with an even dilation (an odd span: padding exists),
    an even kernel with an odd dilation (an even span: ValueError), and an odd kernel with any dilation.
    """
    edges = [
        (1, integer(hidden_rng, 1, 4)),
        (2 * integer(hidden_rng, 1, 4), 2 * integer(hidden_rng, 1, 2)),
        (2 * integer(hidden_rng, 1, 4), 2 * integer(hidden_rng, 0, 1) + 1),
        (2 * integer(hidden_rng, 1, 4) + 1, integer(hidden_rng, 1, 4)),
    ]
    check_same_padding(student, edges + [(integer(hidden_rng, 1, 9), integer(hidden_rng, 1, 4)) for _ in range(12)])
