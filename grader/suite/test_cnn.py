"""Graded checks of cnn.py (16 points).

Oracles, all on the trusted side: a reference ConvNet built here from the
SPEC (its `state_dict` keys and shapes, with fc's input size measured by
running nn.Conv2d/nn.MaxPool2d on zeros), torch.nn.functional forward passes
of the reference architectures and of the grader's small models in each
train/eval mode (and of known mistakes, to name them), hand-written training
loops on the grader's own small models, and the reference ConvNet holding the
weights the student's code trained, run here on digits the worker never gets.
The student's models and loops run only inside the probes of
grader/worker/probes/cnn.py, which send back raw values (logits, arrays,
state dicts, the numbers the student's functions returned), never verdicts:
no point rests on what a probe says about itself (a mode, a hook, a flag).
Helpers named `check_*` hold one check each; grader/hidden/test_cnn.py runs
them again on inputs drawn from the run's secret seed.
"""

import dataclasses
import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.engine.feedback import check, check_array, check_equal, check_number, every_case, expect_raises, fail
from grader.engine.scoring import graded
from grader.tolerances import TOLERANCES
from grader.worker.probes import cnn as probes

# Imported where used, so that checking the other functions stays quick; a batch's lanes
# import them once (grader.engine.lanes).
PRELOAD = ("sklearn.datasets", "sklearn.model_selection")
RNG_SEED = 2024  # any fixed seed: weights and inputs are random but the same on every run


# ----------------------------------------------------------------- oracles


class ReferenceConvNet(nn.Module):
    """The SPEC's ConvNet: two Conv2d(5, stride 1, padding 2) -> BatchNorm2d -> ReLU -> MaxPool2d(2, 2) blocks, fc."""

    def __init__(self, num_classes=10, in_channels=1, image_size=28):
        super().__init__()
        self.layer1 = self.block(in_channels, 16)
        self.layer2 = self.block(16, 32)
        with torch.no_grad():  # fc's input size, measured by running the blocks on one image of zeros
            features = self.layer2(self.layer1(torch.zeros(1, in_channels, image_size, image_size)))
        self.fc = nn.Linear(features[0].numel(), num_classes)

    @staticmethod
    def block(channels_in, channels_out):
        block = nn.Sequential(
            nn.Conv2d(channels_in, channels_out, kernel_size=5, stride=1, padding=2),
            nn.BatchNorm2d(channels_out),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        return block.eval()  # eval mode so a 1x1 feature map of one image is fine while measuring

    def forward(self, x):
        return self.fc(torch.flatten(self.layer2(self.layer1(x)), start_dim=1))


def reference_flatten_size(image_size, padding=2):
    """32*s*s for the ConvNet, s measured with nn.Conv2d/nn.MaxPool2d on zeros (padding varied for fingerprints).

    None where that padding leaves no room for the layers (padding 0 on an 8x8 image, say).
    """
    with torch.no_grad():
        x = torch.zeros(1, 1, image_size, image_size)
        try:
            for _ in range(2):
                x = F.max_pool2d(nn.Conv2d(x.shape[1], 1, 5, stride=1, padding=padding)(x), 2, 2)
        except RuntimeError:  # an input smaller than the kernel or the pool
            return None
    return 32 * x.shape[2] * x.shape[3]


def state_shapes(model):
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def float32_exact(array):
    """`array` rounded to float32, held in float64: the student's model stores float32 parameters before .double()."""
    return np.asarray(array).astype(np.float32).astype(np.float64)


def random_state(model, rng):
    """A state dict of float64 arrays for `model`: random weights (exactly representable in float32),
    BatchNorm affine parameters and running statistics away from their defaults."""
    state = {}
    for key, value in model.state_dict().items():
        shape = tuple(value.shape)
        if key.endswith("num_batches_tracked"):
            state[key] = np.array(5, dtype=np.int64)
            continue
        if key.endswith("running_var"):
            array = rng.uniform(0.5, 2.0, size=shape)
        elif key.endswith("running_mean"):
            array = rng.normal(scale=0.5, size=shape)
        elif value.ndim == 1 and key.endswith("weight"):  # a BatchNorm scale
            array = rng.uniform(0.5, 1.5, size=shape)
        elif key.endswith("bias"):
            array = rng.normal(scale=0.1, size=shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            array = rng.normal(scale=1.0 / np.sqrt(fan_in), size=shape)
        state[key] = float32_exact(array)
    return state


def tensors(state):
    return {key: torch.tensor(value) for key, value in state.items()}


def convnet_logits(state, x, *, relu_before_batch_norm=False, pool=F.max_pool2d, activation=F.relu):
    """The ConvNet's eval-mode forward pass with torch.nn.functional (variants give known mistakes)."""
    weights = tensors(state)
    out = torch.tensor(x)
    for layer in ("layer1", "layer2"):
        out = F.conv2d(out, weights[f"{layer}.0.weight"], weights[f"{layer}.0.bias"], stride=1, padding=2)

        def batch_norm(z, layer=layer):
            return F.batch_norm(
                z,
                weights[f"{layer}.1.running_mean"],
                weights[f"{layer}.1.running_var"],
                weights[f"{layer}.1.weight"],
                weights[f"{layer}.1.bias"],
                training=False,
                eps=1e-5,
            )

        out = batch_norm(activation(out)) if relu_before_batch_norm else activation(batch_norm(out))
        out = pool(out, 2, 2)
    return F.linear(torch.flatten(out, 1), weights["fc.weight"], weights["fc.bias"]).numpy()


def neural_net_logits(state, x, activation=F.relu):
    weights = tensors(state)
    hidden = activation(F.linear(torch.flatten(torch.tensor(x), 1), weights["fc1.weight"], weights["fc1.bias"]))
    return F.linear(hidden, weights["fc2.weight"], weights["fc2.bias"]).numpy()


def linear_logits(state, inputs):
    weights = tensors(state)
    return F.linear(torch.tensor(inputs), weights["weight"], weights["bias"]).numpy()


def flat_state(state):
    """Every entry of a state dict, in key order, as one float64 vector."""
    return np.concatenate([np.asarray(state[key], dtype=np.float64).ravel() for key in sorted(state)])


def hand_written_epoch(
    model,
    state,
    inputs,
    targets,
    batch_size,
    learning_rate,
    *,
    label_smoothing=0.0,
    zero_grad=True,
    train_mode=True,
    step=True,
):
    """The loop train_one_epoch must be: (final state, per-batch mean losses, batch sizes).

    The keyword flags switch off one step each, giving what a known mistake would produce.
    Plain SGD is written out (p <- p - lr * p.grad), which is what torch.optim.SGD(lr=...) does.
    """
    probes.load_state(model, state)
    model.train(train_mode)
    criterion = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    losses, sizes = [], []
    with probes.one_thread():  # tiny tensors: on a busy machine more threads make each step ~50 times slower
        for start in range(0, len(targets), batch_size):
            batch_inputs = torch.tensor(inputs[start : start + batch_size])
            batch_targets = torch.tensor(targets[start : start + batch_size])
            if zero_grad:
                model.zero_grad()
            loss = criterion(model(batch_inputs), batch_targets)
            loss.backward()
            if step:
                with torch.no_grad():
                    for parameter in model.parameters():
                        parameter -= learning_rate * parameter.grad
            losses.append(loss.item())
            sizes.append(len(batch_targets))
    return probes.state_arrays(model), np.array(losses), np.array(sizes)


def got_number(value, call, kind=float):
    """The student's number from a probe report; fail helpfully when it was a tensor or another object."""
    if isinstance(value, dict) and "not_a_number" in value:
        fail(
            f"expected {'an int' if kind is int else 'a float'}; got {value['not_a_number']}",
            call=call,
            hint="return int(...) of your count" if kind is int else "return a Python float, e.g. via loss.item()",
        )
    return value


def call_with_shape(name, kwargs, input_shape):
    arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    return f"{name}({arguments}) on a batch of shape {tuple(input_shape)}"


def logits_with_given_weights(student, class_name, kwargs, state, x, call):
    """The student's `class_name(**kwargs)` holding `state`, run on `x`; a failure unless it gives a tensor."""
    got = student.probe(probes.logits_with_given_weights, class_name=class_name, kwargs=kwargs, state=state, inputs=x)
    if isinstance(got, dict):
        fail(f"forward returned {got['not_a_tensor']}, not a tensor of logits", call=call)
    return got


# ----------------------------------------------------------------- ConvNet

# (ConvNet kwargs, input shape); expected logits shape (N, num_classes)
SHAPE_CASES = [
    ({}, (2, 1, 28, 28)),
    ({"image_size": 13}, (2, 1, 13, 13)),  # 13 -> 6 -> 3: the pools' floor matters
    ({"num_classes": 7, "image_size": 8}, (3, 1, 8, 8)),
    ({"image_size": 4}, (2, 1, 4, 4)),  # the smallest size allowed: 4 -> 2 -> 1
    ({"num_classes": 5, "in_channels": 3, "image_size": 8}, (2, 3, 8, 8)),
]
HARD_CODED_FLATTEN = 32 * 7 * 7  # what fc takes at the default 28x28 (28 -> 14 -> 7)


def check_convnet_logits_shapes(student, cases):
    """ConvNet(**kwargs) must give logits of shape (N, num_classes) on zeros of each case's (kwargs, input shape)."""
    reports = student.probe(
        probes.convnet_logits_shapes, cases=[{"kwargs": kwargs, "input_shape": shape} for kwargs, shape in cases]
    )
    failed = []
    for (kwargs, input_shape), report in zip(cases, reports, strict=True):
        expected = (input_shape[0], kwargs.get("num_classes", 10))
        if report["shape"] != expected:
            failed.append((kwargs, input_shape, expected, report))
    if not failed:
        return
    kwargs, input_shape, expected, report = failed[0]
    if report["error"] is not None:
        what = "building the model" if report["stage"] == "build" else "the forward pass"
        line = f"{what} raised {report['error']}"
    else:
        line = f"expected logits of shape {expected}; got shape {report['shape']}"
    hard_coded = any(
        report["fc_in_features"] == HARD_CODED_FLATTEN and kwargs.get("image_size", 28) != 28
        for kwargs, _, _, report in failed
    )
    if hard_coded:
        sizes = sorted({kwargs.get("image_size", 28) for kwargs, *_ in failed})
        cause = (
            f"a hard-coded flatten size: image_size 28 works but {', '.join(map(str, sizes))} "
            f"{'fails' if len(sizes) == 1 else 'fail'}; fc must take 32*s*s inputs with s computed from "
            "image_size (conv_output_size, then pool_output_size, per block), not 32*7*7"
        )
        fail(line, call=call_with_shape("ConvNet", kwargs, input_shape), cause=cause)
    hint = (
        "per block the conv keeps the size (conv_output_size(s, 5, stride=1, padding=2)) and the pool halves "
        "it (pool_output_size(s, 2, stride=2))"
        if report["stage"] == "build"
        else "print the shape after each layer for this image size"
    )
    fail(line, call=call_with_shape("ConvNet", kwargs, input_shape), hint=hint)


@graded(points=2, exercise="ConvNet")
def test_convnet_logits_shape_for_any_image_size(student):
    check_convnet_logits_shapes(student, SHAPE_CASES)


STATE_CASES = [{}, {"num_classes": 4, "in_channels": 3, "image_size": 13}]


def state_dict_difference(expected, got, kwargs):
    """(what differs, likely cause) between two {key: shape} dicts."""
    missing = [key for key in expected if key not in got]
    unexpected = [key for key in got if key not in expected]
    reshaped = [key for key in expected if key in got and got[key] != expected[key]]
    lines = []
    if missing:
        lines.append("missing keys: " + ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else ""))
    if unexpected:
        lines.append("unexpected keys: " + ", ".join(unexpected[:8]) + (" ..." if len(unexpected) > 8 else ""))
    for key in reshaped[:6]:
        lines.append(f"{key}: expected shape {expected[key]}, got {got[key]}")
    cause = None
    image_size = kwargs.get("image_size", 28)
    if any(key.startswith(("layer1.1.", "layer2.1.")) and key.endswith("running_mean") for key in missing):
        if not any(key.endswith("running_mean") for key in got):
            cause = "BatchNorm2d is missing: each block is Conv2d, BatchNorm2d, ReLU, MaxPool2d"
        else:
            cause = (
                "the layers of a block are in another order: BatchNorm2d must come right after Conv2d (keys layerK.1.*)"
            )
    elif "fc.weight" in reshaped and len(got["fc.weight"]) == 2:
        flatten = got["fc.weight"][1]
        if flatten == HARD_CODED_FLATTEN and image_size != 28:
            cause = "a hard-coded flatten size: fc takes 32*7*7 inputs whatever image_size is"
        elif flatten in (reference_flatten_size(image_size, 0), reference_flatten_size(image_size, 1)):
            cause = "wrong Conv2d padding: a 5x5 kernel needs padding 2 to keep the image size"
    elif any(key.endswith(".0.weight") and len(got[key]) == 4 and got[key][2:] != (5, 5) for key in reshaped):
        cause = "wrong kernel size: both Conv2d layers use 5x5 kernels"
    return lines, cause


def check_convnet_state_dict(student, kwargs):
    """ConvNet(**kwargs).state_dict() must have the reference's keys, with its shapes."""
    expected = state_shapes(ReferenceConvNet(**kwargs))
    got = student.probe(probes.state_dict_shapes, class_name="ConvNet", kwargs=kwargs)
    if got == expected:
        return
    lines, cause = state_dict_difference(expected, got, kwargs)
    arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    fail(
        "its state_dict differs from the specified layers:\n    " + "\n    ".join(lines),
        call=f"ConvNet({arguments}).state_dict()",
        cause=cause,
        hint=None if cause else "layer1 = Sequential(Conv2d, BatchNorm2d, ReLU, MaxPool2d), layer2 alike, fc",
    )


@graded(points=1, exercise="ConvNet")
def test_convnet_state_dict_has_the_specified_keys_and_shapes(student):
    with every_case() as cases:
        for kwargs in STATE_CASES:
            with cases.case():
                check_convnet_state_dict(student, kwargs)


# (ConvNet kwargs, batch size)
WEIGHT_CASES = [({"num_classes": 4, "in_channels": 3, "image_size": 13}, 3), ({}, 2)]


def check_convnet_logits(student, kwargs, state, x):
    """ConvNet(**kwargs) holding `state` (eval mode, float64) must give the reference's logits on `x`."""
    call = call_with_shape("ConvNet", kwargs, x.shape) + " in eval mode, holding the grader's weights (float64)"
    got = logits_with_given_weights(student, "ConvNet", kwargs, state, x, call)
    # Same float64 operations on both sides; only summation order may differ.
    check_array(
        got,
        convnet_logits(state, x),
        call=call,
        **TOLERANCES["ConvNet"]["logits"].isclose,
        mistakes={
            "ReLU before BatchNorm2d: each block is Conv2d, BatchNorm2d, ReLU, MaxPool2d, "
            "in this order": convnet_logits(state, x, relu_before_batch_norm=True),
            "average pooling instead of MaxPool2d(2, 2)": convnet_logits(state, x, pool=F.avg_pool2d),
            "the ReLU is missing from the blocks": convnet_logits(state, x, activation=lambda z: z),
        },
        hint="the shapes are right, so check each block's layers and their order",
    )


@graded(points=2, exercise="ConvNet")
def test_convnet_with_given_weights_computes_the_reference_logits(student):
    rng = np.random.default_rng(RNG_SEED)
    with every_case() as cases:
        for kwargs, batch in WEIGHT_CASES:
            state = random_state(ReferenceConvNet(**kwargs), rng)
            size, channels = kwargs.get("image_size", 28), kwargs.get("in_channels", 1)
            x = rng.normal(size=(batch, channels, size, size))
            with cases.case():
                check_convnet_logits(student, kwargs, state, x)


# ----------------------------------------------------------------- NeuralNet


def check_neural_net_logits(student, kwargs, state, x):
    """NeuralNet(**kwargs) holding `state` (float64) must give fc2(relu(fc1(flatten(x))))."""
    call = call_with_shape("NeuralNet", kwargs, x.shape) + " holding the grader's weights (float64)"
    got = logits_with_given_weights(student, "NeuralNet", kwargs, state, x, call)
    check_array(
        got,
        neural_net_logits(state, x),
        call=call,
        **TOLERANCES["NeuralNet"]["logits"].isclose,
        mistakes={
            "sigmoid instead of ReLU": neural_net_logits(state, x, torch.sigmoid),
            "tanh instead of ReLU": neural_net_logits(state, x, torch.tanh),
            "no activation between fc1 and fc2": neural_net_logits(state, x, lambda z: z),
        },
        hint="forward is fc2(relu(fc1(torch.flatten(x, start_dim=1))))",
    )


@graded(points=1, exercise="NeuralNet")
def test_neural_net_flattens_every_dim_but_the_first_and_uses_relu(student):
    expected_defaults = {"fc1.weight": (500, 784), "fc1.bias": (500,), "fc2.weight": (10, 500), "fc2.bias": (10,)}
    check_equal(
        student.probe(probes.state_dict_shapes, class_name="NeuralNet", kwargs={}),
        expected_defaults,
        call="NeuralNet().state_dict()",
        what="{key: shape}",
        hint="attributes fc1 = Linear(input_size, hidden_size), relu, fc2 = Linear(hidden_size, num_classes)",
    )
    rng = np.random.default_rng(RNG_SEED + 1)
    kwargs = {"input_size": 24, "hidden_size": 6, "num_classes": 5}
    state = {
        "fc1.weight": rng.normal(scale=0.3, size=(6, 24)),
        "fc1.bias": rng.normal(size=6),
        "fc2.weight": rng.normal(size=(5, 6)),
        "fc2.bias": rng.normal(size=5),
    }
    state = {key: float32_exact(value) for key, value in state.items()}
    x = rng.normal(size=(5, 2, 3, 4))  # 2*3*4 = 24 values per example
    check_neural_net_logits(student, kwargs, state, x)


# ----------------------------------------------------------------- count_parameters


@graded(points=1, exercise="count_parameters")
def test_count_parameters_counts_trainable_scalars(student):
    # frozen_counting_model: Linear(3, 4) has 3*4 + 4 = 16 parameters, BatchNorm1d(4) 4 + 4 = 8,
    # Linear(4, 2) 4*2 + 2 = 10: 34 in all; 18 once the first Linear is frozen. Its buffers
    # (running_mean 4, running_var 4, num_batches_tracked 1) are not parameters: 43 counts them too.
    expected = {
        "all_trainable": {"default": 34, "trainable_only": 34, "all": 34},
        "first_frozen": {"default": 18, "trainable_only": 18, "all": 34},
    }
    report = student.probe(probes.count_parameters_with_frozen_layers)
    with every_case() as cases:
        for situation, calls in expected.items():
            for call_kind, count in calls.items():
                model = "Sequential(Linear(3, 4), BatchNorm1d(4), Linear(4, 2))" + (
                    " with the first Linear frozen (requires_grad=False)" if situation == "first_frozen" else ""
                )
                argument = {"default": "", "trainable_only": ", trainable_only=True", "all": ", trainable_only=False"}[
                    call_kind
                ]
                call = f"count_parameters(model{argument}) for model = {model}"
                mistakes = {
                    "counted the buffers too (state_dict holds BatchNorm's running statistics, "
                    "which are not parameters)": count + 9,
                    "counted parameter tensors instead of their scalars (use p.numel())": {34: 6, 18: 4}[count],
                }
                if situation == "first_frozen":
                    mistakes[
                        {
                            18: "trainable_only is ignored: parameters with requires_grad=False were counted",
                            34: "trainable_only=False still skips the frozen parameters",
                        }[count]
                    ] = 52 - count
                with cases.case():
                    got = got_number(report[situation][call_kind], call, kind=int)
                    check_number(
                        got,
                        count,
                        call=call,
                        kind=int,
                        mistakes=mistakes,
                        **TOLERANCES["count_parameters"]["counts"].isclose,
                    )


# ----------------------------------------------------------------- train_one_epoch

# 10 examples in batches of 4, 4 and 2: unequal batches make the mean over examples
# differ from the mean of the batch means.
TRAIN_EXAMPLES, TRAIN_BATCH = 10, 4
TRAIN_CALL = (
    "train_one_epoch(model, loader, optimizer{}) with SGD(lr={}), batches of {} examples, "
    "the model in eval mode before the call"
)


def batch_sizes_text(examples, batch_size):
    """'4, 4 and 2': the sizes of a loader's batches, for feedback."""
    sizes = [min(batch_size, examples - start) for start in range(0, examples, batch_size)]
    return ", ".join(map(str, sizes[:-1])) + " and " + str(sizes[-1]) if len(sizes) > 1 else str(sizes[0])


def training_data(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(TRAIN_EXAMPLES, 4)), rng.integers(0, 3, size=TRAIN_EXAMPLES)


def check_epoch_matches_a_hand_written_loop(
    student, state, inputs, targets, batch_size, learning_rate, label_smoothing
):
    """One epoch of the student's train_one_epoch on small_classifier must end where the hand-written loop does.

    Returns (the probe's report, the loop's per-batch losses, batch sizes, the call's description).
    """
    report = student.probe(
        probes.train_one_epoch_on_a_small_model,
        state=state,
        inputs=inputs,
        targets=targets,
        batch_size=batch_size,
        learning_rate=learning_rate,
        label_smoothing=label_smoothing,
    )
    criterion = "" if label_smoothing is None else f", criterion=CrossEntropyLoss(label_smoothing={label_smoothing:g})"
    call = TRAIN_CALL.format(criterion, f"{learning_rate:g}", batch_sizes_text(len(targets), batch_size))

    def epoch(smoothing=label_smoothing or 0.0, **mistake):
        return hand_written_epoch(
            probes.small_classifier(),
            state,
            inputs,
            targets,
            batch_size,
            learning_rate,
            label_smoothing=smoothing,
            **mistake,
        )

    final, losses, sizes = epoch()
    mistakes = {
        "optimizer.zero_grad() is not called before each backward pass, so gradients accumulate "
        "across batches": flat_state(epoch(zero_grad=False)[0]),
        "model.train() is not called: the model stayed in eval mode (BatchNorm used its running "
        "statistics instead of the batch's)": flat_state(epoch(train_mode=False)[0]),
        "optimizer.step() is never called, so the parameters never change": flat_state(epoch(step=False)[0]),
    }
    if label_smoothing is not None:
        mistakes["the criterion argument is ignored (plain cross-entropy was used)"] = flat_state(epoch(0.0)[0])
    check_equal(sorted(report["state"]), sorted(state), call=call, what="state_dict keys")
    # The same float64 operations as the loop above, batch by batch.
    check_array(
        flat_state(report["state"]),
        flat_state(final),
        call=call + "; comparing every parameter and BatchNorm statistic afterwards with a hand-written loop",
        **TOLERANCES["train_one_epoch"]["state and mean loss"].isclose,
        mistakes=mistakes,
        hint="per batch: optimizer.zero_grad(), loss = criterion(model(X), y), loss.backward(), "
        "optimizer.step(); model.train() once before the loop",
    )
    return report, losses, sizes, call


def check_mean_loss(got, losses, sizes, call):
    """train_one_epoch's return value must be the mean of the per-batch losses weighted by the batch sizes."""
    check_number(
        got_number(got, call),
        float(np.sum(losses * sizes) / np.sum(sizes)),
        call=call,
        **TOLERANCES["train_one_epoch"]["state and mean loss"].isclose,
        mistakes={
            "returns the mean of the batch means; weight each batch's mean loss by its size "
            "(the last batch is smaller)": float(np.mean(losses)),
            "returns the sum of the batch losses, not a mean": float(np.sum(losses)),
            "returns the total loss over examples without dividing by their number": float(np.sum(losses * sizes)),
            "returns the last batch's loss only": float(losses[-1]),
        },
        hint="accumulate loss.item() * batch_size and divide by the number of examples",
    )


@graded(points=2, exercise="train_one_epoch")
def test_train_one_epoch_matches_a_hand_written_loop(student):
    rng = np.random.default_rng(RNG_SEED + 2)
    state = random_state(probes.small_classifier(), rng)
    inputs, targets = training_data(RNG_SEED + 3)
    with every_case() as cases:
        for label_smoothing in (None, 0.2):
            with cases.case():
                check_epoch_matches_a_hand_written_loop(
                    student, state, inputs, targets, TRAIN_BATCH, 0.5, label_smoothing
                )


@graded(points=1, exercise="train_one_epoch")
def test_train_one_epoch_returns_the_mean_loss_over_examples(student):
    # A plain nn.Linear(4, 3) and lr=0 (no update): the losses depend only on how they are averaged.
    rng = np.random.default_rng(RNG_SEED + 4)
    model = nn.Linear(4, 3).double()
    state = random_state(model, rng)
    inputs, targets = training_data(RNG_SEED + 5)
    report = student.probe(
        probes.train_one_epoch_on_a_small_model,
        state=state,
        inputs=inputs,
        targets=targets,
        batch_size=TRAIN_BATCH,
        learning_rate=0.0,
        model="linear",
    )
    _, losses, sizes = hand_written_epoch(model, state, inputs, targets, TRAIN_BATCH, 0.0)
    call = TRAIN_CALL.format("", 0, batch_sizes_text(TRAIN_EXAMPLES, TRAIN_BATCH)).replace(
        "the model in eval mode", "model = nn.Linear(4, 3),"
    )
    check_mean_loss(report["loss"], losses, sizes, call)


# ----------------------------------------------------------------- evaluate


# An accuracy computed with float32 tensors ((predictions == y).float().mean()) is rounded to about 6e-8;
# accuracies of different counts of N <= 24 examples differ by 1/N, so 1e-6 tells them apart all the same.
ACCURACY = TOLERANCES["evaluate"]["accuracy"]


def check_evaluate_accuracy(student, state, inputs, targets, batch_size):
    """evaluate on nn.Linear holding `state` must return the fraction of examples its argmax gets right."""
    out_features, in_features = state["weight"].shape
    right = linear_logits(state, inputs).argmax(axis=1) == targets
    per_batch = [right[start : start + batch_size].mean() for start in range(0, len(targets), batch_size)]
    call = (
        f"evaluate(model, loader) with model = nn.Linear({in_features}, {out_features}) and batches of "
        f"{batch_sizes_text(len(targets), batch_size)} examples"
    )
    report = student.probe(
        probes.evaluate_on_a_linear_model,
        state=state,
        inputs=inputs,
        targets=targets,
        batch_size=batch_size,
        in_features=in_features,
        out_features=out_features,
    )
    check_number(
        got_number(report, call),
        float(right.mean()),
        call=call,
        **ACCURACY.isclose,
        mistakes={
            "the mean of the per-batch accuracies; count correct examples over all batches instead": float(
                np.mean(per_batch)
            ),
            "the number of correct predictions, not divided by the number of examples": int(right.sum()),
            "the error rate instead of the accuracy": float(1 - right.mean()),
        },
        hint="accuracy = correct / total, both summed over every batch",
    )


@graded(points=1, exercise="evaluate")
def test_evaluate_returns_the_accuracy(student):
    rng = np.random.default_rng(RNG_SEED + 6)
    state = random_state(nn.Linear(4, 3), rng)
    inputs = rng.normal(size=(11, 4))
    targets = linear_logits(state, inputs).argmax(axis=1)
    wrong = [0, 1, 2, 3]  # the whole first batch of 4 is wrong, the batches of 4 and 3 right: 7/11,
    targets[wrong] = (targets[wrong] + 1) % 3  # while the mean of the batch accuracies is (0 + 1 + 1)/3
    check_evaluate_accuracy(student, state, inputs, targets, batch_size=4)


# The four ways a ModeSensitiveClassifier can run: (top-level module in train mode, its submodules in train mode).
MODES = [(True, True), (False, False), (True, False), (False, True)]


def mode_sensitive_logits(state, x, *, top_training, inner_training):
    """probes.ModeSensitiveClassifier holding `state`, run on the batch `x` in the given modes, with F.* calls."""
    weights = tensors(state)  # fresh tensors: a train-mode batch_norm updates the running statistics it gets
    hidden = F.linear(torch.tensor(x), weights["body.0.weight"], weights["body.0.bias"])
    hidden = F.batch_norm(
        hidden,
        weights["body.1.running_mean"],
        weights["body.1.running_var"],
        weights["body.1.weight"],
        weights["body.1.bias"],
        training=inner_training,
        eps=1e-5,
    )
    logits = F.linear(F.relu(hidden), weights["body.3.weight"], weights["body.3.bias"])
    return F.batch_norm(
        logits, weights["running_mean"], weights["running_var"], training=top_training, eps=1e-5
    ).numpy()


def batchwise_logits(state, inputs, batch_size, modes):
    """Each example's logits when a loader of `batch_size` feeds the model in `modes`, batch by batch."""
    return np.concatenate(
        [
            mode_sensitive_logits(
                state, inputs[start : start + batch_size], top_training=modes[0], inner_training=modes[1]
            )
            for start in range(0, len(inputs), batch_size)
        ]
    )


def smallest_margin(logits):
    """The smallest gap between an example's two largest logits: how far its argmax is from a tie."""
    ordered = np.sort(logits, axis=1)
    return float(np.min(ordered[:, -1] - ordered[:, -2]))


@dataclasses.dataclass
class ModeProblem:
    """An evaluate problem on probes.ModeSensitiveClassifier where every mode gives its own answer."""

    state: dict
    inputs: np.ndarray
    targets: np.ndarray
    batch_size: int
    later_inputs: np.ndarray
    accuracies: dict  # {modes: the accuracy evaluate would return running in those modes}

    def later_logits(self, modes):
        return mode_sensitive_logits(self.state, self.later_inputs, top_training=modes[0], inner_training=modes[1])


def mode_problem(rng, batches, batch_size, later_examples):
    """A ModeProblem of `batches` full batches, drawn until each mode shows.

    BatchNorm's running statistics are drawn far from any batch's (means of scale 2, variances
    0.05 to 0.3, where a batch's are near 0 and 1), so train and eval mode normalise differently.
    The targets are the eval-mode predictions with a fifth of them changed. A draw is kept only
    when each mode gives its own accuracy (so a mistake is named by its mode), no argmax is
    within 1e-6 of a tie in any mode (rounding cannot flip a prediction), and the later inputs'
    logits differ by more than 1e-3 between any two modes: far beyond the 1e-9 the checks allow.
    Full batches: a wrong way of averaging (checked elsewhere) does not change these answers.
    """
    for _ in range(1000):  # about 1 draw in 5 is kept in the worst case of the hidden check (2 batches of 3)
        state = random_state(probes.ModeSensitiveClassifier(), rng)
        for prefix, size in (("body.1.", 6), ("", 3)):
            state[prefix + "running_mean"] = float32_exact(rng.normal(scale=2.0, size=size))
            state[prefix + "running_var"] = float32_exact(rng.uniform(0.05, 0.3, size=size))
        inputs = rng.normal(size=(batches * batch_size, 4))
        later_inputs = rng.normal(size=(later_examples, 4))
        logits = {modes: batchwise_logits(state, inputs, batch_size, modes) for modes in MODES}
        targets = logits[(False, False)].argmax(axis=1)
        changed = rng.choice(len(targets), size=max(1, len(targets) // 5), replace=False)
        targets[changed] = (targets[changed] + rng.integers(1, 3, size=len(changed))) % 3
        accuracies = {modes: float(np.mean(logits[modes].argmax(axis=1) == targets)) for modes in MODES}
        later = {
            modes: mode_sensitive_logits(state, later_inputs, top_training=modes[0], inner_training=modes[1])
            for modes in MODES
        }
        distinct_accuracy = len(set(accuracies.values())) == len(MODES)
        far_from_ties = min(smallest_margin(value) for value in logits.values()) > 1e-6
        distinct_later = all(
            np.max(np.abs(later[one] - later[other])) > 1e-3 for one in MODES for other in MODES if one != other
        )
        if distinct_accuracy and far_from_ties and distinct_later:
            return ModeProblem(state, inputs, targets, batch_size, later_inputs, accuracies)
    raise RuntimeError("no evaluate problem where the modes show in 1000 draws")


EVALUATE_MODE_CALL = (
    "evaluate(model, loader) with batches of {batch_size} examples and a model holding BatchNorm1d whose running "
    "statistics are far from any batch's, called with the model in {start} mode"
)


def evaluate_then_run_again(student, problem, start):
    return student.probe(
        probes.evaluate_then_run_again,
        state=problem.state,
        inputs=problem.inputs,
        targets=problem.targets,
        batch_size=problem.batch_size,
        start=start,
        later_inputs=problem.later_inputs,
    )


def check_evaluate_uses_eval_mode(student, problem):
    """evaluate called in train mode must return the accuracy the model has in eval mode."""
    report = evaluate_then_run_again(student, problem, "train")
    call = EVALUATE_MODE_CALL.format(batch_size=problem.batch_size, start="train")
    check_number(
        got_number(report["accuracy"], call),
        problem.accuracies[(False, False)],
        call=call + ": expected the accuracy of the model in eval mode",
        **ACCURACY.isclose,
        mistakes={
            "model.eval() is not called before the forward passes: BatchNorm normalised each batch with "
            "that batch's statistics instead of its running ones (and updated them)": problem.accuracies[(True, True)],
            "only model.training = False was set: that changes the top-level module alone, while model.eval() "
            "sets the mode of every submodule (BatchNorm1d stayed in train mode)": problem.accuracies[(False, True)],
            "only the submodules were put in eval mode, not the model itself": problem.accuracies[(True, False)],
        },
        hint="call model.eval() before the loop, so every submodule uses its eval-mode behaviour",
    )


RESTORE_MISTAKES = {
    "train": {
        (False, False): "evaluate leaves the model in eval mode: note model.training before "
        "model.eval() and pass it to model.train(...) at the end",
        (True, False): "only model.training was assigned: that sets the top-level module's mode alone, while "
        "model.train(was_training) sets every submodule's (BatchNorm1d stayed in eval mode)",
        (False, True): "the top-level module was left in eval mode while its submodules went back to train mode",
    },
    "eval": {
        (True, True): "evaluate always switches back to train mode: a model that was in eval mode must stay in it "
        "(model.train(was_training), not model.train())",
        (True, False): "the top-level module was switched to train mode afterwards; a model that was in eval mode "
        "must stay in it",
        (False, True): "the submodules were switched back to train mode afterwards; a model that was in eval mode "
        "must stay in it",
    },
}


def check_evaluate_restores_the_mode(student, problem):
    """After evaluate, the model must compute the logits of the mode it was in before the call."""
    with every_case() as cases:
        for start in ("train", "eval"):
            with cases.case():
                report = evaluate_then_run_again(student, problem, start)
                before = (start == "train", start == "train")
                call = (
                    EVALUATE_MODE_CALL.format(batch_size=problem.batch_size, start=start)
                    + f", then model(x) on {len(problem.later_inputs)} other examples"
                )
                check_array(
                    report["logits_after"],
                    problem.later_logits(before),
                    call=call + f": expected the logits of the model in {start} mode, as before the call",
                    mistakes={
                        sentence: problem.later_logits(modes) for modes, sentence in RESTORE_MISTAKES[start].items()
                    },
                    hint="afterwards the model must be in the mode it was in before: the logits are those of a "
                    "model in another mode",
                    **TOLERANCES["evaluate"]["mode afterwards"].isclose,
                )


def public_mode_problem():
    # 3 full batches of 4 (the accuracies are 0.83 in eval mode, 0.33 in train mode), 5 later examples.
    return mode_problem(np.random.default_rng(RNG_SEED + 7), batches=3, batch_size=4, later_examples=5)


@graded(points=1, exercise="evaluate")
def test_evaluate_returns_the_eval_mode_accuracy(student):
    check_evaluate_uses_eval_mode(student, public_mode_problem())


@graded(points=1, exercise="evaluate")
def test_evaluate_restores_the_previous_mode(student):
    check_evaluate_restores_the_mode(student, public_mode_problem())


# ----------------------------------------------------------------- training on digits

# Adam(lr=3e-3), 4 epochs of batches of 64: the reference reaches 0.97 to 0.99 for every torch seed from 0
# to 11 (mean 0.98), in about 1 CPU second; 0.9 leaves room for correct variations in initialisation.
DIGITS_EPOCHS, DIGITS_BATCH, DIGITS_LEARNING_RATE = 4, 64, 3e-3
DIGITS_MIN_ACCURACY = TOLERANCES["ConvNet"]["trained on digits"].at_least
# The published run's torch seed, on split 0: the reference reaches 0.991 there, while a ConvNet built with
# average pooling (its trained weights run with the specified max pooling) reaches 0.749; over seeds 0 to 11
# that mistake ranges from 0.75 to 0.96. At this seed it fails on the published inputs, as it fails the
# logits check: a visible mistake, not one a hidden draw's luck would withdraw these points for.
DIGITS_SEED = 9
DIGITS_CONVNET = {"num_classes": 10, "in_channels": 1, "image_size": 8}


@functools.lru_cache(maxsize=1)
def digits():
    """scikit-learn's 8x8 digits as (1797, 1, 8, 8) float32 images in [0, 1] and int64 labels."""
    from sklearn.datasets import load_digits

    loaded = load_digits()
    return (loaded.images / 16.0).astype(np.float32)[:, None], loaded.target.astype(np.int64)


def digits_split(random_state=0):
    """(train images, test images, train labels, test labels): a stratified 75/25 split."""
    from sklearn.model_selection import train_test_split

    images, labels = digits()
    return train_test_split(images, labels, test_size=0.25, random_state=random_state, stratify=labels)


def reference_holding(state, call):
    """ReferenceConvNet(**DIGITS_CONVNET) holding the state the student's code trained, in eval mode."""
    model = ReferenceConvNet(**DIGITS_CONVNET)
    if not isinstance(state, dict):
        fail(f"the trained model's state_dict came back as {type(state).__name__}, not a dict", call=call)
    for key, value in state.items():
        counter = str(key).endswith("num_batches_tracked")
        if not isinstance(value, np.ndarray) or value.dtype.kind not in ("iu" if counter else "f"):
            what = f"an array of dtype {value.dtype}" if isinstance(value, np.ndarray) else f"a {type(value).__name__}"
            fail(f"state_dict entry {key!r} is {what}, not a {'integer' if counter else 'float'} tensor", call=call)
    expected = state_shapes(model)
    got = {str(key): tuple(value.shape) for key, value in state.items()}
    if got != expected:
        lines, cause = state_dict_difference(expected, got, DIGITS_CONVNET)
        fail(
            "the trained model's state_dict does not fit the specified ConvNet:\n    " + "\n    ".join(lines),
            call=call,
            cause=cause,
            hint=None if cause else "layer1 = Sequential(Conv2d, BatchNorm2d, ReLU, MaxPool2d), layer2 alike, fc",
        )
    model.load_state_dict({key: torch.tensor(value) for key, value in state.items()}, strict=True)
    return model.eval()


def check_trained_convnet(student, split, seed, pictures=None):
    """The student's ConvNet trained by their train_one_epoch, evaluated here on the held-out images.

    `pictures` gets the trained first conv layer and one held-out digit (grader.results.pictures).
    """
    train_images, test_images, train_labels, test_labels = split
    report = student.probe(
        probes.training_on_digits,
        train_images=train_images,
        train_labels=train_labels,
        epochs=DIGITS_EPOCHS,
        batch_size=DIGITS_BATCH,
        learning_rate=DIGITS_LEARNING_RATE,
        seed=seed,
    )
    call = (
        f"ConvNet(image_size=8) trained for {DIGITS_EPOCHS} epochs of train_one_epoch with "
        f"Adam(lr={DIGITS_LEARNING_RATE}) on {len(train_labels)} 8x8 digits (scikit-learn's load_digits), "
        f"its weights then run by the grader's own ConvNet on {len(test_labels)} held-out digits"
    )
    model = reference_holding(report["state"], call)
    conv = model.layer1[0]
    if pictures is not None and bool(torch.isfinite(conv.weight).all() and torch.isfinite(conv.bias).all()):
        pictures["digits"] = {
            "conv1_weight": conv.weight.detach().numpy().tolist(),
            "conv1_bias": conv.bias.detach().numpy().tolist(),
            "digit": test_images[0, 0].tolist(),
            "label": int(test_labels[0]),
        }
    with torch.no_grad():
        predictions = model(torch.tensor(test_images)).argmax(dim=1).numpy()
    accuracy = float(np.mean(predictions == test_labels))
    losses = ", ".join(f"{loss:.3g}" if isinstance(loss, float) else str(loss) for loss in report["losses"])
    check(
        accuracy >= DIGITS_MIN_ACCURACY,
        f"test accuracy {accuracy:.3f}, expected at least {DIGITS_MIN_ACCURACY} (the reference reaches about "
        f"0.98); your train_one_epoch returned the losses {losses}",
        call=call,
        hint="if the loss does not fall, check the training loop's steps; if it falls, check ConvNet's forward "
        "(it must compute what the specified layers compute, in their order)",
    )


@graded(points=1, exercise="ConvNet", time_limit=30)
def test_convnet_trained_on_digits_reaches_90_percent(student, pictures):
    check_trained_convnet(student, digits_split(random_state=0), seed=DIGITS_SEED, pictures=pictures)


# ----------------------------------------------------------------- capture_activations

CAPTURED = ["features.0", "features", "head", "features.1"]
# The very float64 operations the model ran, recomputed here: equal up to rounding.
CAPTURED_OUTPUTS = TOLERANCES["capture_activations"]["outputs"]
CAPTURE_CALL = (
    "capture_activations(model, x of shape {shape}, {names}) with model = Sequential(stamp=CallStamp(), "
    "features=Sequential(Linear({sizes[0]}, {sizes[1]}), Tanh()), head=Linear({sizes[1]}, {sizes[2]})), "
    "where CallStamp adds the number of the run to its input (1 on the model's first run)"
)


def hooked_outputs(state, x, run):
    """Every named submodule's output in probes.hooked_model holding `state`, on the model's `run`-th run on `x`."""
    weights = tensors(state)
    stamped = torch.tensor(x) + run
    linear = F.linear(stamped, weights["features.0.weight"], weights["features.0.bias"])
    hidden = torch.tanh(linear)
    head = F.linear(hidden, weights["head.weight"], weights["head.bias"])
    return {
        "stamp": stamped.numpy(),
        "features.0": linear.numpy(),
        "features.1": hidden.numpy(),
        "features": hidden.numpy(),
        "head": head.numpy(),
    }


@dataclasses.dataclass
class CaptureProblem:
    state: dict
    inputs: np.ndarray
    later_inputs: np.ndarray  # what the model runs on after capture_activations returned
    layer_names: list
    sizes: tuple  # hooked_model's (in_features, hidden_features, out_features)

    def call(self, names=None):
        return CAPTURE_CALL.format(
            shape=self.inputs.shape, names=self.layer_names if names is None else names, sizes=self.sizes
        )


def capture_report(student, problem):
    return student.probe(
        probes.capture_activations_on_a_small_model,
        state=problem.state,
        inputs=problem.inputs,
        layer_names=problem.layer_names,
        later_inputs=problem.later_inputs,
        sizes=problem.sizes,
    )


def check_captured(activations, expected, call, mistakes_of_name, hint):
    """`activations` (a probe's {name: array}) must hold exactly `expected`'s arrays."""
    if "not_a_dict" in activations:
        fail(f"expected a dict {{name: tensor}}; got {activations['not_a_dict']}", call=call)
    check_equal(sorted(activations), sorted(expected), call=call, what="keys")
    for name, value in expected.items():
        got = activations[name]
        if isinstance(got, dict):
            fail(f"the value for {name!r} is {got['not_a_tensor']}, not the tensor that submodule returned", call=call)
        check_array(
            got,
            value,
            call=call + f", entry {name!r}",
            **CAPTURED_OUTPUTS.isclose,
            mistakes=mistakes_of_name(name),
            hint=hint,
        )


def check_capture_returns_each_output_of_one_run(student, problem):
    """The returned dict must hold each named submodule's output of one run of the model on x."""
    report = capture_report(student, problem)
    names = problem.layer_names
    first = hooked_outputs(problem.state, problem.inputs, run=1)
    other_runs = {run: hooked_outputs(problem.state, problem.inputs, run=run) for run in range(2, len(names) + 2)}

    def mistakes(name):
        return {
            f"this is the output of run {run} of the model, not of its first: run model(x) once, with every hook "
            "registered, and let the hooks collect every output": outputs[name]
            for run, outputs in other_runs.items()
        }

    check_captured(
        report["activations"],
        {name: first[name] for name in names},
        problem.call(),
        mistakes,
        hint="a forward hook's arguments are (module, inputs, output): store output",
    )


def check_capture_leaves_no_hook_behind(student, problem):
    """After model(x2), the returned dict must still hold the outputs of capture_activations' own run on x.

    Which run of the model those are is the other check's business (an entry from a second run
    on x is accepted here); this one asks only that running the model later left the dict alone.
    """
    report = capture_report(student, problem)
    after = report["activations_after"]
    own = {
        run: hooked_outputs(problem.state, problem.inputs, run=run) for run in range(1, len(problem.layer_names) + 1)
    }
    later = hooked_outputs(problem.state, problem.later_inputs, run=2)  # the model's run after a capture in one run

    def own_output(name):
        got = after.get(name) if isinstance(after, dict) else None
        for outputs in own.values():
            if (
                isinstance(got, np.ndarray)
                and got.shape == outputs[name].shape
                and np.allclose(got, outputs[name], **CAPTURED_OUTPUTS.isclose)
            ):
                return outputs[name]
        return own[1][name]

    check_captured(
        after,
        {name: own_output(name) for name in problem.layer_names},
        problem.call() + f", then model(x2) on other inputs of shape {problem.later_inputs.shape}; "
        "the returned dict afterwards",
        lambda name: {
            "hooks are still registered after capture_activations returned: running the model again wrote its "
            "new outputs into the returned dict; remove every handle register_forward_hook returned "
            "(handle.remove(), in a finally block)": later[name]
        },
        hint="the dict must keep the outputs of the run capture_activations made, whatever runs the model later",
    )


def check_unknown_name_raises_key_error(student, problem, names):
    """capture_activations with a name the model lacks must raise KeyError."""
    with expect_raises(
        KeyError,
        call=problem.call(names),
        hint="look names up in dict(model.named_modules()) and raise KeyError yourself for a missing one "
        "(model.get_submodule raises AttributeError)",
    ):
        student.probe(
            probes.capture_activations_of_an_unknown_name,
            state=problem.state,
            inputs=problem.inputs,
            layer_names=names,
            sizes=problem.sizes,
        )


def public_capture_problem():
    rng = np.random.default_rng(RNG_SEED + 8)
    state, x = random_state(probes.hooked_model(), rng), rng.normal(size=(3, 4))
    return CaptureProblem(state, x, rng.normal(size=(3, 4)), CAPTURED, (4, 5, 3))


@graded(points=1, exercise="capture_activations")
def test_capture_activations_returns_each_named_output_once(student):
    problem = public_capture_problem()
    check_capture_returns_each_output_of_one_run(student, problem)
    check_unknown_name_raises_key_error(student, problem, ["features.0", "body"])


@graded(points=1, exercise="capture_activations")
def test_capture_activations_removes_its_hooks(student):
    check_capture_leaves_no_hook_behind(student, public_capture_problem())


# ----------------------------------------------------------------- real CUDA (no points)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_train_one_epoch_and_evaluate_move_batches_to_cuda(student):
    rng = np.random.default_rng(RNG_SEED + 2)
    state = random_state(probes.small_classifier(), rng)
    inputs, targets = training_data(RNG_SEED + 3)
    report = student.probe(
        probes.train_one_epoch_on_a_small_model,
        state=state,
        inputs=inputs,
        targets=targets,
        batch_size=TRAIN_BATCH,
        learning_rate=0.5,
        device="cuda",
    )
    final, _, _ = hand_written_epoch(probes.small_classifier(), state, inputs, targets, TRAIN_BATCH, 0.5)
    check_array(
        flat_state(report["state"]),
        flat_state(final),
        call=TRAIN_CALL.format(", device='cuda'", 0.5, batch_sizes_text(TRAIN_EXAMPLES, TRAIN_BATCH)),
        **TOLERANCES["train_one_epoch"]["on a CUDA device"].isclose,
    )
    state = random_state(nn.Linear(4, 3), rng)
    targets = linear_logits(state, inputs).argmax(axis=1)
    got = student.probe(
        probes.evaluate_on_a_linear_model, state=state, inputs=inputs, targets=targets, batch_size=4, device="cuda"
    )
    check_number(
        got_number(got, "evaluate(model, loader, device='cuda')"),
        1.0,
        call="evaluate(model, loader, device='cuda')",
        **ACCURACY.isclose,
    )
