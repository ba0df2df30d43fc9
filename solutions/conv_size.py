"""Output sizes and parameter counts of convolution and pooling layers, in plain ints.

Along one spatial dimension a convolution with input size W, kernel size F,
stride S, padding P and dilation D produces

    floor((W + 2P - D*(F - 1) - 1) / S) + 1

outputs: the padded input W + 2P holds that many placements of the dilated
kernel, whose extent is D*(F - 1) + 1, taken every S positions. With D = 1
this is the familiar (W - F + 2P)/S + 1, rounded down when S does not divide
evenly. Every function takes and returns Python ints, exactly what PyTorch's
nn.Conv2d and nn.MaxPool2d would give, and raises ValueError where PyTorch
would refuse the layer or input.
"""


def _check_int(name, value, minimum):
    """Raise ValueError unless `value` is an int (a bool is not one here) of at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _pair(name, value):
    """(h, w) from an int (used for both) or an (h, w) pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or an (h, w) pair, got {value!r}")
        return tuple(value)
    return (value, value)


def conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """Output size of a convolution along one spatial dimension.

    Formula: out = (W + 2P - D*(F - 1) - 1) // S + 1

    Args:
        input_size: int W >= 1, the input's size along the dimension.
        kernel_size: int F >= 1.
        stride: int S >= 1.
        padding: int P >= 0, added on both sides.
        dilation: int D >= 1, the spacing between kernel taps.

    Returns:
        int, the output size (at least 1).

    Raises:
        ValueError: an argument is not an int (bools and floats included) or
            out of range, or the dilated kernel does not fit the padded input
            (the output would be below 1).

    Hint: `//` floors for ints, so the result stays an int; `/` would give a float.

    Example:
        >>> conv_output_size(8, 3, stride=2)  # (8 - 3) // 2 + 1
        3
    """
    _check_int("input_size", input_size, 1)
    _check_int("kernel_size", kernel_size, 1)
    _check_int("stride", stride, 1)
    _check_int("padding", padding, 0)
    _check_int("dilation", dilation, 1)
    output_size = (input_size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
    if output_size < 1:
        raise ValueError(
            f"the output size would be {output_size}: the padded input "
            f"({input_size + 2 * padding}) is smaller than the dilated kernel "
            f"({dilation * (kernel_size - 1) + 1})"
        )
    return output_size


def pool_output_size(input_size, kernel_size, stride=None, padding=0):
    """Output size of max pooling along one spatial dimension (nn.MaxPool2d's rules).

    Formula: out = (W + 2P - F) // S + 1, with S = F when stride is None

    Args:
        input_size: int W >= 1.
        kernel_size: int F >= 1, the pooling window.
        stride: int S >= 1, or None for S = F (non-overlapping windows).
        padding: int P with 0 <= P <= F // 2 (PyTorch's rule).

    Returns:
        int, the output size (at least 1).

    Raises:
        ValueError: as conv_output_size, and when padding > kernel_size // 2.

    Hint: reuse conv_output_size once stride and padding are settled.

    Example:
        >>> pool_output_size(28, 2)  # stride 2: (28 - 2) // 2 + 1
        14
    """
    _check_int("kernel_size", kernel_size, 1)
    _check_int("padding", padding, 0)
    if stride is None:
        stride = kernel_size
    if padding > kernel_size // 2:
        raise ValueError(
            f"padding must be at most half the kernel size (kernel_size // 2 = {kernel_size // 2}), got {padding}"
        )
    return conv_output_size(input_size, kernel_size, stride, padding)


def conv2d_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1):
    """Output shape of nn.Conv2d(C, out_channels, kernel_size, stride, padding, dilation) on an input.

    Formula: (N, C, H, W) -> (N, out_channels, conv_output_size(H, ...), conv_output_size(W, ...))

    Args:
        input_shape: tuple of ints, (N, C, H, W) or (C, H, W) (an unbatched input).
        out_channels: int >= 1, the number of filters.
        kernel_size: int, or an (h, w) pair of ints.
        stride: int, or an (h, w) pair of ints.
        padding: int, or an (h, w) pair of ints.
        dilation: int, or an (h, w) pair of ints.

    Returns:
        tuple of ints of the input's length: (N, out_channels, H_out, W_out) or
        (out_channels, H_out, W_out).

    Raises:
        ValueError: the shape has neither 3 nor 4 entries, or conv_output_size
            refuses a dimension.

    Hint: turn each int-or-pair argument into an (h, w) pair first.

    Example:
        >>> conv2d_output_shape((8, 3, 32, 32), 16, 5, padding=2)
        (8, 16, 32, 32)
    """
    if len(input_shape) not in (3, 4):
        raise ValueError(f"input_shape must be (N, C, H, W) or (C, H, W), got {tuple(input_shape)!r}")
    _check_int("out_channels", out_channels, 1)
    kernels = _pair("kernel_size", kernel_size)
    strides = _pair("stride", stride)
    paddings = _pair("padding", padding)
    dilations = _pair("dilation", dilation)
    height, width = input_shape[-2:]
    output_height = conv_output_size(height, kernels[0], strides[0], paddings[0], dilations[0])
    output_width = conv_output_size(width, kernels[1], strides[1], paddings[1], dilations[1])
    return (*input_shape[:-3], out_channels, output_height, output_width)


def conv2d_num_params(in_channels, out_channels, kernel_size, bias=True):
    """Number of learnable parameters of nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias).

    Formula: out_channels * in_channels * F_h * F_w + (out_channels if bias else 0)

    Args:
        in_channels: int >= 1.
        out_channels: int >= 1, the number of filters.
        kernel_size: int, or an (h, w) pair of ints.
        bias: bool, whether each filter has a bias.

    Returns:
        int, the number of scalar parameters (weights, plus one bias per filter).

    Hint: each filter holds in_channels * F_h * F_w weights.

    Example:
        >>> conv2d_num_params(3, 16, 5)  # 16 * 3 * 5 * 5 weights + 16 biases
        1216
    """
    _check_int("in_channels", in_channels, 1)
    _check_int("out_channels", out_channels, 1)
    kernel_height, kernel_width = _pair("kernel_size", kernel_size)
    _check_int("kernel_size", kernel_height, 1)
    _check_int("kernel_size", kernel_width, 1)
    weights = out_channels * in_channels * kernel_height * kernel_width
    return weights + (out_channels if bias else 0)


def same_padding(kernel_size, dilation=1):
    """Padding that keeps the size unchanged at stride 1 ("same" convolution).

    Formula: P = D*(F - 1) // 2, defined when the dilated kernel D*(F - 1) + 1 is odd

    Args:
        kernel_size: int F >= 1.
        dilation: int D >= 1.

    Returns:
        int P >= 0 with conv_output_size(W, F, 1, P, D) == W for every W.

    Raises:
        ValueError: the dilated kernel D*(F - 1) + 1 is even (no symmetric
            padding keeps the size), or an argument is not an int >= 1.

    Hint: at stride 1 the output is W + 2P - D*(F - 1); solve for P.

    Example:
        >>> same_padding(3), same_padding(3, dilation=2)
        (1, 2)
    """
    _check_int("kernel_size", kernel_size, 1)
    _check_int("dilation", dilation, 1)
    extent = dilation * (kernel_size - 1) + 1
    if extent % 2 == 0:
        raise ValueError(
            f"the dilated kernel spans {extent} inputs, an even number: no symmetric padding keeps the size"
        )
    return (extent - 1) // 2
