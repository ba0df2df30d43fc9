"""Hidden checks of conv_size.py on configurations drawn from the run's seed (0 points; see grader.engine.scoring).

Oracle: the public suite's, PyTorch's own convolution on an empty batch. A
drawn configuration PyTorch refuses (a dilated kernel wider than the padded
input) must raise ValueError, as the contract says, so every seed is a fair draw.
"""

from grader.engine.feedback import check_equal, describe_call
from grader.engine.scoring import graded
from grader.suite.test_conv_size import (
    expect_value_error,
    torch_conv2d_shape,
    torch_conv_size,
    torch_num_params,
    torch_pool_size,
    torch_same_padding,
)


@graded(points=0, exercise="conv2d_output_shape")
def test_hidden_conv2d_output_shape(student, hidden_rng):
    for _ in range(30):
        H, W = (int(n) for n in hidden_rng.integers(8, 40, size=2))
        kernel, stride, padding, dilation = (
            tuple(int(n) for n in hidden_rng.integers(low, high, size=2))
            for low, high in ((1, 5), (1, 4), (0, 3), (1, 3))
        )
        arguments = ((2, 3, H, W), 5, kernel)
        options = {"stride": stride, "padding": padding, "dilation": dilation}
        expected = torch_conv2d_shape(*arguments, stride, padding, dilation)
        if expected is None:
            expect_value_error(
                student.conv_size.conv2d_output_shape, arguments, options, reason="nn.Conv2d refuses this configuration"
            )
            continue
        got = student.conv_size.conv2d_output_shape(*arguments, **options)
        check_equal(got, expected, call=describe_call("conv2d_output_shape", arguments, options), what="shape")


@graded(points=0, exercise="conv_output_size")
def test_hidden_conv_output_size(student, hidden_rng):
    for _ in range(30):
        size, kernel, stride, padding, dilation = (
            int(n)
            for n in (
                hidden_rng.integers(8, 64),
                hidden_rng.integers(1, 7),
                hidden_rng.integers(1, 5),
                hidden_rng.integers(0, 4),
                hidden_rng.integers(1, 3),
            )
        )
        options = {"stride": stride, "padding": padding, "dilation": dilation}
        expected = torch_conv_size(size, kernel, stride, padding, dilation)
        if expected is None:
            expect_value_error(
                student.conv_size.conv_output_size,
                (size, kernel),
                options,
                reason="nn.Conv2d refuses this configuration",
            )
            continue
        got = student.conv_size.conv_output_size(size, kernel, **options)
        check_equal(got, expected, call=describe_call("conv_output_size", (size, kernel), options), what="size")


@graded(points=0, exercise="pool_output_size")
def test_hidden_pool_output_size(student, hidden_rng):
    for _ in range(30):
        size, kernel = int(hidden_rng.integers(1, 64)), int(hidden_rng.integers(1, 7))
        stride = None if hidden_rng.random() < 0.4 else int(hidden_rng.integers(1, 5))
        padding = int(hidden_rng.integers(0, 4))
        options = {"stride": stride, "padding": padding}
        expected = torch_pool_size(size, kernel, stride, padding)
        if expected is None:
            expect_value_error(
                student.conv_size.pool_output_size, (size, kernel), options, reason="nn.MaxPool2d refuses this"
            )
            continue
        got = student.conv_size.pool_output_size(size, kernel, **options)
        check_equal(got, expected, call=describe_call("pool_output_size", (size, kernel), options), what="size")


@graded(points=0, exercise="conv2d_num_params")
def test_hidden_conv2d_num_params(student, hidden_rng):
    for _ in range(10):
        in_channels, out_channels = (int(n) for n in hidden_rng.integers(1, 65, size=2))
        kernel = tuple(int(n) for n in hidden_rng.integers(1, 8, size=2))
        kernel_size = kernel if hidden_rng.random() < 0.5 else kernel[0]
        bias = bool(hidden_rng.random() < 0.5)
        got = student.conv_size.conv2d_num_params(in_channels, out_channels, kernel_size, bias=bias)
        call = describe_call("conv2d_num_params", (in_channels, out_channels, kernel_size), {"bias": bias})
        check_equal(got, torch_num_params(in_channels, out_channels, kernel_size, bias), call=call, what="count")


@graded(points=0, exercise="same_padding")
def test_hidden_same_padding(student, hidden_rng):
    for _ in range(8):
        kernel_size, dilation = int(hidden_rng.integers(1, 10)), int(hidden_rng.integers(1, 5))
        expected = torch_same_padding(kernel_size, dilation)
        if expected is None:
            expect_value_error(
                student.conv_size.same_padding, (kernel_size,), {"dilation": dilation}, reason="an even span"
            )
            continue
        got = student.conv_size.same_padding(kernel_size, dilation=dilation)
        check_equal(
            got, expected, call=describe_call("same_padding", (kernel_size,), {"dilation": dilation}), what="padding"
        )
