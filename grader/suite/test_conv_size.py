"""Graded checks of conv_size.py (10 points).

Oracle: PyTorch itself. Every expected size is the shape torch.nn.functional
.conv2d or nn.MaxPool2d produces on an empty batch of images (PyTorch checks
the layer and computes the shape, nothing else, so thousands of checks take a
fraction of a second), and every configuration PyTorch refuses must raise
ValueError. (The "meta" device would do the same but loads SymPy on first use,
about 2 s.) Parameter counts come from an
nn.Conv2d's parameters.
"""

import functools
import random

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from grader.engine.feedback import check, check_equal, describe_call, every_case, expect_raises, fail
from grader.engine.scoring import graded

RNG_SEED = 31337  # any fixed seed: configurations are random but the same on every run
NUM_RANDOM_CONFIGURATIONS = 2000

# Hand-picked cases checked first, so the common mistakes show on a readable
# case: a stride that does not divide evenly, padding, dilation, a tight fit.
# (input_size, kernel_size, stride, padding, dilation)
CONV_FIRST_CASES = [
    (8, 3, 2, 0, 1),
    (7, 3, 1, 1, 1),
    (9, 3, 1, 0, 2),
    (10, 4, 3, 1, 1),
    (5, 5, 1, 0, 1),
    (11, 3, 2, 2, 2),
]
# (input_size, kernel_size, stride, padding); stride None means stride = kernel_size.
POOL_FIRST_CASES = [(28, 2, None, 0), (7, 3, None, 1), (5, 2, None, 0), (9, 3, 2, 1), (6, 4, 1, 2)]


def random_conv_configurations():
    rng = random.Random(RNG_SEED)
    return [
        (rng.randint(1, 40), rng.randint(1, 9), rng.randint(1, 5), rng.randint(0, 4), rng.randint(1, 3))
        for _ in range(NUM_RANDOM_CONFIGURATIONS)
    ]


def random_pool_configurations():
    rng = random.Random(RNG_SEED + 1)
    return [
        (rng.randint(1, 40), rng.randint(1, 6), rng.choice([None, 1, 2, 3, 4]), rng.randint(0, 3))
        for _ in range(NUM_RANDOM_CONFIGURATIONS // 2)
    ]


def empty_images(input_size):
    """A batch of zero square images: PyTorch checks the layer and computes the output shape only."""
    return torch.empty(0, 1, input_size, input_size)


@functools.cache
def torch_conv_size(input_size, kernel_size, stride, padding, dilation):
    """F.conv2d's output size on a square input, or None where PyTorch refuses the configuration."""
    weights = torch.empty(1, 1, kernel_size, kernel_size)
    try:
        output = F.conv2d(empty_images(input_size), weights, stride=stride, padding=padding, dilation=dilation)
    except RuntimeError:
        return None
    return int(output.shape[-1])


@functools.cache
def torch_pool_size(input_size, kernel_size, stride, padding):
    """nn.MaxPool2d's output size on a square input, or None where PyTorch refuses the configuration."""
    try:
        output = nn.MaxPool2d(kernel_size, stride=stride, padding=padding)(empty_images(input_size))
    except RuntimeError:
        return None
    return int(output.shape[-1])


def torch_conv2d_shape(input_shape, out_channels, kernel_size, stride, padding, dilation, *, empty_batch=True):
    """The shape F.conv2d gives for `input_shape`, as a tuple of ints, or None where PyTorch refuses.

    With `empty_batch` PyTorch sees an empty batch of the same images and gives
    (0, out_channels, H_out, W_out) without computing anything; the batch entry
    then becomes the input's (N for (N, C, H, W), none for an unbatched (C, H, W)),
    as nn.Conv2d documents and as the full runs on the hand-picked cases confirm.
    """
    kernel = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
    weights = torch.empty(out_channels, input_shape[-3], *kernel)
    images = torch.empty(0, *input_shape[-3:]) if empty_batch else torch.zeros(input_shape)
    try:
        output = F.conv2d(images, weights, stride=stride, padding=padding, dilation=dilation)
    except RuntimeError:
        return None
    shape = tuple(int(size) for size in output.shape)
    return tuple(input_shape[:-3]) + shape[1:] if empty_batch else shape


def torch_num_params(in_channels, out_channels, kernel_size, bias):
    layer = nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)
    return sum(parameter.numel() for parameter in layer.parameters())


def swapped(value):
    return value[::-1] if isinstance(value, tuple) else value


def conv_size_mistakes(input_size, kernel_size, stride, padding, dilation):
    """What each known mistake in the conv formula returns (mistakes computed, then named)."""
    W, F_, S, P, D = input_size, kernel_size, stride, padding, dilation
    return {
        "true division `/` instead of floor division `//`: the size must be an int, rounded down "
        "when the stride does not divide evenly": (W + 2 * P - D * (F_ - 1) - 1) / S + 1,
        "padding added once (W + P); it pads both sides (W + 2P)": (W + P - D * (F_ - 1) - 1) // S + 1,
        "dilation ignored: the dilated kernel spans D*(F - 1) + 1 inputs": (W + 2 * P - F_) // S + 1,
        "the dilated kernel taken as D*F inputs; it spans D*(F - 1) + 1": (W + 2 * P - D * F_) // S + 1,
        "rounded up instead of down": -(-(W + 2 * P - D * (F_ - 1) - 1) // S) + 1,
        "a NumPy integer returned; return a Python int (int(...))": np.int64((W + 2 * P - D * (F_ - 1) - 1) // S + 1),
    }


def expect_value_error(name, args, kwargs, answer, *, reason, hint=None):
    """The call `name(*args, **kwargs)`, whose `answer` came back (grader.engine.student.Answer), must
    have raised ValueError; say what came back otherwise."""
    call = describe_call(name, args, kwargs)
    with expect_raises(ValueError, call=call, hint=hint):
        got = answer.get()
        fail(f"expected ValueError ({reason}); got {got!r}", call=call, hint=hint)


def check_conv_output_sizes(student, configurations) -> int:
    """conv_output_size must give F.conv2d's size on each configuration PyTorch accepts; returns how many."""
    accepted = [configuration for configuration in configurations if torch_conv_size(*configuration) is not None]
    # Every call in one round trip (Student.call_each): these checks make thousands of them.
    calls = [((W, F_), dict(stride=S, padding=P, dilation=D)) for W, F_, S, P, D in accepted]
    for configuration, answer in zip(accepted, student.conv_size.conv_output_size.each(calls), strict=True):
        expected = torch_conv_size(*configuration)
        input_size, kernel_size, stride, padding, dilation = configuration
        got = answer.get()
        if type(got) is int and got == expected:
            continue  # the common case, without building the failure message's parts
        check_equal(
            got,
            expected,
            what="size",
            mistakes=conv_size_mistakes(*configuration),
            call=describe_call(
                "conv_output_size", (input_size, kernel_size), dict(stride=stride, padding=padding, dilation=dilation)
            ),
        )
    return len(accepted)


def check_conv_output_size_rejects(student, rejected):
    """conv_output_size must raise ValueError on each configuration F.conv2d refuses."""
    calls = [((W, F_), dict(stride=S, padding=P, dilation=D)) for W, F_, S, P, D in rejected]
    answers = student.conv_size.conv_output_size.each(calls)
    for ((input_size, kernel_size), kwargs), answer in zip(calls, answers, strict=True):
        padding, dilation = kwargs["padding"], kwargs["dilation"]
        extent = dilation * (kernel_size - 1) + 1
        expect_value_error(
            "conv_output_size",
            (input_size, kernel_size),
            kwargs,
            answer,
            reason=f"nn.Conv2d refuses it: the dilated kernel spans {extent} inputs, more than "
            f"the padded input's {input_size + 2 * padding}",
            hint="raise ValueError when the output size would be below 1",
        )


def check_rejects_bad_arguments(function, bad_calls, hint=None):
    """function(*args, **kwargs) must raise ValueError for each (args, kwargs, why the contract refuses it)."""
    answers = function.each([(args, kwargs) for args, kwargs, _ in bad_calls])
    with every_case() as cases:
        for (args, kwargs, reason), answer in zip(bad_calls, answers, strict=True):
            with cases.case():
                expect_value_error(function.__name__, args, kwargs, answer, reason=reason, hint=hint)


@graded(points=2, exercise="conv_output_size")
def test_conv_output_size_matches_conv2d(student):
    checked = check_conv_output_sizes(student, CONV_FIRST_CASES + random_conv_configurations())
    assert checked >= NUM_RANDOM_CONFIGURATIONS // 2  # the random draw must keep most configurations


@graded(points=1, exercise="conv_output_size")
def test_conv_output_size_rejects_what_conv2d_rejects(student):
    rejected = [
        configuration for configuration in random_conv_configurations() if torch_conv_size(*configuration) is None
    ]
    assert len(rejected) >= 50  # the draw holds enough kernels larger than the padded input
    check_conv_output_size_rejects(student, rejected)


CONV_ARGUMENTS_CHECK_HINT = "check every argument first: an int (not a bool) in range"


@graded(points=1, exercise="conv_output_size")
def test_conv_output_size_rejects_bools_floats_and_out_of_range_arguments(student):
    # (args, kwargs, why the contract refuses them)
    bad_calls = [
        (
            (True, 1),
            {},
            "input_size is a bool: True is an int in Python (bool subclasses int), so reject bools explicitly",
        ),
        (
            (5, True),
            {},
            "kernel_size is a bool: True is an int in Python (bool subclasses int), so reject bools explicitly",
        ),
        ((8, 3), dict(stride=True), "stride is a bool: True is an int in Python, so reject bools explicitly"),
        ((8, 3), dict(padding=False), "padding is a bool: False is an int in Python, so reject bools explicitly"),
        ((8, 3), dict(dilation=True), "dilation is a bool: True is an int in Python, so reject bools explicitly"),
        ((8.0, 3), {}, "input_size is a float"),
        ((8, 3.0), {}, "kernel_size is a float"),
        ((8, 3), dict(stride=2.0), "stride is a float"),
        ((8, 3), dict(padding=0.5), "padding is a float"),
        ((8, 3), dict(dilation=1.5), "dilation is a float"),
        ((0, 1), {}, "input_size 0 is below 1"),
        ((8, 0), {}, "kernel_size 0 is below 1"),
        ((8, 3), dict(stride=0), "stride 0 is below 1"),
        ((8, 3), dict(stride=-2), "stride -2 is below 1"),
        ((8, 3), dict(padding=-1), "padding -1 is negative"),
        ((8, 3), dict(dilation=0), "dilation 0 is below 1"),
    ]
    check_rejects_bad_arguments(student.conv_size.conv_output_size, bad_calls, hint=CONV_ARGUMENTS_CHECK_HINT)


def check_pool_output_sizes(student, configurations):
    """pool_output_size must give nn.MaxPool2d's size on each configuration PyTorch accepts."""
    accepted = [configuration for configuration in configurations if torch_pool_size(*configuration) is not None]
    calls = [((W, F_), dict(stride=S, padding=P)) for W, F_, S, P in accepted]
    for configuration, answer in zip(accepted, student.conv_size.pool_output_size.each(calls), strict=True):
        expected = torch_pool_size(*configuration)
        input_size, kernel_size, stride, padding = configuration
        effective_stride = kernel_size if stride is None else stride
        got = answer.get()
        mistakes = {
            "stride=None means stride = kernel_size (non-overlapping windows), not stride 1": (
                input_size + 2 * padding - kernel_size
            )
            // 1
            + 1
            if stride is None
            else None
        }
        mistakes.update(conv_size_mistakes(input_size, kernel_size, effective_stride, padding, 1))
        check_equal(
            got,
            expected,
            what="size",
            mistakes=mistakes,
            call=describe_call("pool_output_size", (input_size, kernel_size), dict(stride=stride, padding=padding)),
        )


def check_pool_output_size_rejects(student, rejected):
    """pool_output_size must raise ValueError on each configuration nn.MaxPool2d refuses."""
    calls = [((W, F_), dict(stride=S, padding=P)) for W, F_, S, P in rejected]
    answers = student.conv_size.pool_output_size.each(calls)
    for ((input_size, kernel_size), kwargs), answer in zip(calls, answers, strict=True):
        padding = kwargs["padding"]
        if padding > kernel_size // 2:
            reason = f"nn.MaxPool2d refuses padding {padding} > kernel_size // 2 = {kernel_size // 2} (PyTorch's rule)"
        else:
            reason = "nn.MaxPool2d refuses it: the output size would be below 1"
        expect_value_error("pool_output_size", (input_size, kernel_size), kwargs, answer, reason=reason)


@graded(points=1, exercise="pool_output_size")
def test_pool_output_size_matches_max_pool2d(student):
    check_pool_output_sizes(student, POOL_FIRST_CASES + random_pool_configurations())


@graded(points=1, exercise="pool_output_size")
def test_pool_output_size_rejects_what_max_pool2d_rejects(student):
    rejected = [
        configuration for configuration in random_pool_configurations() if torch_pool_size(*configuration) is None
    ]
    assert len(rejected) >= 50  # the draw holds enough large paddings and small inputs
    # The padding rule first, on a case where the output size alone would be fine.
    check_pool_output_size_rejects(student, [(4, 2, None, 2), (9, 3, 1, 2)] + rejected)
    check_rejects_bad_arguments(
        student.conv_size.pool_output_size,
        [
            ((28, True), {}, "kernel_size is a bool (True is an int in Python)"),
            ((28, 2), dict(stride=True), "stride is a bool (True is an int in Python)"),
            ((28, 2.0), {}, "kernel_size is a float"),
            ((28.0, 2), {}, "input_size is a float"),
            ((28, 2), dict(padding=-1), "padding -1 is negative"),
        ],
    )


def check_conv2d_output_shapes(student, cases, num_run_for_real=0):
    """conv2d_output_shape must give F.conv2d's shape, a tuple of ints, on each case PyTorch accepts.

    `cases` are (input_shape, out_channels, kernel_size, stride, padding, dilation);
    the first `num_run_for_real` go through a real convolution, the rest through an empty batch.
    """
    accepted = []  # (case, the shape PyTorch gives)
    for number, case in enumerate(cases):
        expected = torch_conv2d_shape(*case, empty_batch=number >= num_run_for_real)
        if expected is not None:
            accepted.append((case, expected))
    calls = [
        ((shape, channels, kernel), dict(stride=S, padding=P, dilation=D))
        for (shape, channels, kernel, S, P, D), _ in accepted
    ]
    shapes = student.conv_size.conv2d_output_shape.each(calls)
    for (case, expected), answer in zip(accepted, shapes, strict=True):
        input_shape, out_channels, kernel_size, stride, padding, dilation = case
        kwargs = dict(stride=stride, padding=padding, dilation=dilation)
        call = describe_call("conv2d_output_shape", (input_shape, out_channels, kernel_size), kwargs)
        got = answer.get()
        wrong_channels = expected[:-3] + (input_shape[-3],) + expected[-2:]
        hint = (
            "return a tuple, as torch.Size is one"
            if type(got) is not tuple
            else "size each spatial dimension with its own entry of every (h, w) pair: conv_output_size(H, "
            "kernel_h, stride_h, padding_h, dilation_h) and the same for W"
        )
        check_equal(
            got,
            expected,
            what="shape",
            call=call,
            hint=hint,
            mistakes={
                "a list returned; return a tuple": list(expected),
                "the channel dimension kept from the input; the output has out_channels channels": wrong_channels,
                "the (h, w) pairs used as (w, h)": torch_conv2d_shape(
                    input_shape,
                    out_channels,
                    swapped(kernel_size),
                    swapped(stride),
                    swapped(padding),
                    swapped(dilation),
                ),
            },
        )
        check(
            all(type(size) is int for size in got),
            f"every entry must be a Python int; got {[type(size).__name__ for size in got]}",
            call=call,
            hint="floor division `//` keeps sizes ints; `/` makes floats",
        )


@graded(points=2, exercise="conv2d_output_shape")
def test_conv2d_output_shape_matches_conv2d(student):
    # (input_shape, out_channels, kernel_size, stride, padding, dilation): the seed
    # material's layers, unbatched input, (h, w) pairs, a stride that does not divide.
    cases = [
        ((8, 3, 32, 32), 16, 5, 1, 2, 1),
        ((3, 28, 28), 6, 3, 1, 0, 1),
        ((2, 1, 28, 20), 4, (3, 5), (2, 1), (1, 2), (1, 2)),
        ((1, 3, 9, 17), 2, (2, 4), 3, 0, (2, 1)),
        ((5, 16, 14, 14), 32, 5, 1, 2, 1),
    ]
    NUM_HAND_PICKED = len(cases)  # these run through a real convolution; the random ones on an empty batch
    rng = random.Random(RNG_SEED + 2)

    def int_or_pair(low, high):
        return rng.randint(low, high) if rng.random() < 0.5 else (rng.randint(low, high), rng.randint(low, high))

    for _ in range(300):
        shape = (rng.randint(1, 4),) * (rng.random() < 0.5) + (
            rng.randint(1, 4),
            rng.randint(3, 30),
            rng.randint(3, 30),
        )
        cases.append(
            (shape, rng.randint(1, 8), int_or_pair(1, 5), int_or_pair(1, 3), int_or_pair(0, 2), int_or_pair(1, 2))
        )
    check_conv2d_output_shapes(student, cases, num_run_for_real=NUM_HAND_PICKED)


def check_conv2d_num_params(student, cases):
    """conv2d_num_params must count an nn.Conv2d's parameters, with and without bias, for each
    (in_channels, out_channels, kernel_size)."""
    with every_case() as failures:
        for in_channels, out_channels, kernel_size in cases:
            kernel_height, kernel_width = kernel_size if isinstance(kernel_size, tuple) else (kernel_size,) * 2
            weights = out_channels * in_channels * kernel_height * kernel_width
            for bias in (True, False):
                with failures.case():
                    got = student.conv_size.conv2d_num_params(in_channels, out_channels, kernel_size, bias=bias)
                    check_equal(
                        got,
                        torch_num_params(in_channels, out_channels, kernel_size, bias),
                        what="count",
                        call=describe_call(
                            "conv2d_num_params", (in_channels, out_channels, kernel_size), dict(bias=bias)
                        ),
                        mistakes={
                            "the biases (one per output channel) are not counted": weights if bias else None,
                            "biases counted although bias=False": weights + out_channels if not bias else None,
                            "the kernel counted as F, not F_h * F_w": out_channels * in_channels * kernel_height
                            + out_channels * bias,
                            "in_channels forgotten: each filter has in_channels * F_h * F_w weights": out_channels
                            * kernel_height
                            * kernel_width
                            + out_channels * bias,
                        },
                    )


@graded(points=1, exercise="conv2d_num_params")
def test_conv2d_num_params_matches_conv2d_parameters(student):
    check_conv2d_num_params(student, [(3, 16, 5), (1, 6, (3, 5)), (64, 128, (1, 1)), (2, 3, 1), (16, 32, (5, 2))])


def torch_same_padding(kernel_size, dilation):
    """The padding P for which F.conv2d at stride 1 keeps the size, or None if no P does."""
    extent = dilation * (kernel_size - 1) + 1
    sizes = (extent + 3, extent + 10)
    for padding in range(extent + 1):
        if all(torch_conv_size(size, kernel_size, 1, padding, dilation) == size for size in sizes):
            return padding
    return None


def check_same_padding(student, cases):
    """same_padding must give the size-keeping padding for each (kernel_size, dilation), ValueError where none is."""
    calls = [((kernel_size,), dict(dilation=dilation)) for kernel_size, dilation in cases]
    with every_case() as failures:
        for ((kernel_size,), kwargs), answer in zip(calls, student.conv_size.same_padding.each(calls), strict=True):
            dilation = kwargs["dilation"]
            with failures.case():
                expected = torch_same_padding(kernel_size, dilation)
                extent = dilation * (kernel_size - 1) + 1
                if expected is None:
                    expect_value_error(
                        "same_padding",
                        (kernel_size,),
                        kwargs,
                        answer,
                        reason=f"the dilated kernel spans {extent} inputs, an even number, so no "
                        "symmetric padding keeps the size",
                        hint="the size stays when 2P = D*(F - 1): raise ValueError when that is odd",
                    )
                else:
                    check_equal(
                        answer.get(),
                        expected,
                        what="padding",
                        call=describe_call("same_padding", (kernel_size,), kwargs),
                        mistakes={
                            "true division: (F - 1) / 2 is a float; use //": dilation * (kernel_size - 1) / 2,
                            "dilation ignored: the dilated kernel spans D*(F - 1) + 1 inputs": (kernel_size - 1) // 2,
                        },
                    )


@graded(points=1, exercise="same_padding")
def test_same_padding_keeps_the_size_at_stride_1(student):
    # (kernel_size, dilation): odd kernels, a dilated even kernel whose span is
    # odd (2 taps 2 apart span 3 inputs), and even spans with no symmetric padding.
    check_same_padding(
        student, [(3, 1), (1, 1), (5, 1), (3, 2), (2, 2), (7, 3), (4, 3), (2, 1), (4, 1), (6, 1), (3, 4)]
    )
