"""Hidden checks of conv_size.py on configurations drawn from the run's seed (0 points; see grader.scoring).

Oracle: the output shape PyTorch's own layers give (on the meta device, so no
arithmetic runs).
"""

import torch

from grader.feedback import check_equal, describe_call
from grader.scoring import graded


@graded(points=0, exercise="conv2d_output_shape")
def test_hidden_conv2d_output_shape(student, hidden_rng):
    for _ in range(30):
        H, W = (int(n) for n in hidden_rng.integers(8, 40, size=2))
        kernel, stride, padding, dilation = (tuple(int(n) for n in hidden_rng.integers(low, high, size=2))
                                             for low, high in ((1, 5), (1, 4), (0, 3), (1, 3)))
        layer = torch.nn.Conv2d(3, 5, kernel, stride=stride, padding=padding, dilation=dilation, device="meta")
        expected = tuple(layer(torch.empty(2, 3, H, W, device="meta")).shape)
        arguments = ((2, 3, H, W), 5, kernel)
        options = {"stride": stride, "padding": padding, "dilation": dilation}
        got = student.conv_size.conv2d_output_shape(*arguments, **options)
        check_equal(got, expected, call=describe_call("conv2d_output_shape", arguments, options), what="shape")


@graded(points=0, exercise="conv_output_size")
def test_hidden_conv_output_size(student, hidden_rng):
    for _ in range(30):
        size, kernel, stride, padding, dilation = (int(n) for n in (
            hidden_rng.integers(8, 64), hidden_rng.integers(1, 7), hidden_rng.integers(1, 5),
            hidden_rng.integers(0, 4), hidden_rng.integers(1, 3)))
        layer = torch.nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation, device="meta")
        expected = layer(torch.empty(1, 1, size, size, device="meta")).shape[-1]
        options = {"stride": stride, "padding": padding, "dilation": dilation}
        got = student.conv_size.conv_output_size(size, kernel, **options)
        check_equal(got, expected, call=describe_call("conv_output_size", (size, kernel), options), what="size")
