"""Hidden checks of conv_size.py on configurations drawn from the run's seed (0 points; see grader.engine.scoring).

Oracle: the public suite's, PyTorch's own convolution on an empty batch. A
drawn configuration PyTorch refuses (a dilated kernel wider than the padded
input) must raise ValueError, as the contract says, so every seed is a fair draw.
"""

from grader.engine.feedback import check_equal, describe_call
from grader.engine.scoring import graded
from grader.suite.test_conv_size import expect_value_error, torch_conv2d_shape, torch_conv_size


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
