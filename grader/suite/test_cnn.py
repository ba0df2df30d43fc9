"""Graded checks of cnn.py (16 points).

Oracles, all on the trusted side: a reference ConvNet built here from the
SPEC (its `state_dict` keys and shapes, with fc's input size measured by
running nn.Conv2d/nn.MaxPool2d on zeros), torch.nn.functional forward passes
of the reference architectures (and of known mistakes, to name them),
hand-written training loops on the grader's own small models, and the labels
of scikit-learn's digits test split. The student's models and loops run only
inside the probes of grader/probes/cnn.py, which send back plain data.
"""

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.engine.feedback import check, check_array, check_equal, check_number, fail
from grader.engine.scoring import graded
from grader.worker.probes import cnn as probes

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


def reference_flatten_size(image_size, padding=2):
    """32*s*s for the ConvNet, s measured with nn.Conv2d/nn.MaxPool2d on zeros (padding varied for fingerprints)."""
    with torch.no_grad():
        x = torch.zeros(1, 1, image_size, image_size)
        for _ in range(2):
            x = F.max_pool2d(nn.Conv2d(x.shape[1], 1, 5, stride=1, padding=padding)(x), 2, 2)
    return 32 * x.shape[2] * x.shape[3]


def state_shapes(model):
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


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
        # Rounded to float32: the student's model stores float32 parameters before .double().
        state[key] = array.astype(np.float32).astype(np.float64)
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


@graded(points=2, exercise="ConvNet")
def test_convnet_logits_shape_for_any_image_size(student):
    reports = student.probe(
        probes.convnet_logits_shapes, cases=[{"kwargs": kwargs, "input_shape": shape} for kwargs, shape in SHAPE_CASES]
    )
    failed = []
    for (kwargs, input_shape), report in zip(SHAPE_CASES, reports, strict=True):
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


@graded(points=1, exercise="ConvNet")
def test_convnet_state_dict_has_the_specified_keys_and_shapes(student):
    for kwargs in STATE_CASES:
        expected = state_shapes(ReferenceConvNet(**kwargs))
        got = student.probe(probes.state_dict_shapes, class_name="ConvNet", kwargs=kwargs)
        if got == expected:
            continue
        lines, cause = state_dict_difference(expected, got, kwargs)
        arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
        fail(
            "its state_dict differs from the specified layers:\n    " + "\n    ".join(lines),
            call=f"ConvNet({arguments}).state_dict()",
            cause=cause,
            hint=None if cause else "layer1 = Sequential(Conv2d, BatchNorm2d, ReLU, MaxPool2d), layer2 alike, fc",
        )


# (ConvNet kwargs, batch size)
WEIGHT_CASES = [({"num_classes": 4, "in_channels": 3, "image_size": 13}, 3), ({}, 2)]


@graded(points=2, exercise="ConvNet")
def test_convnet_with_given_weights_computes_the_reference_logits(student):
    rng = np.random.default_rng(RNG_SEED)
    for kwargs, batch in WEIGHT_CASES:
        state = random_state(ReferenceConvNet(**kwargs), rng)
        size, channels = kwargs.get("image_size", 28), kwargs.get("in_channels", 1)
        x = rng.normal(size=(batch, channels, size, size))
        call = call_with_shape("ConvNet", kwargs, x.shape) + " in eval mode, holding the grader's weights (float64)"
        got = logits_with_given_weights(student, "ConvNet", kwargs, state, x, call)
        # Same float64 operations on both sides; only summation order may differ.
        check_array(
            got,
            convnet_logits(state, x),
            call=call,
            rtol=1e-9,
            atol=1e-9,
            mistakes={
                "ReLU before BatchNorm2d: each block is Conv2d, BatchNorm2d, ReLU, MaxPool2d, "
                "in this order": convnet_logits(state, x, relu_before_batch_norm=True),
                "average pooling instead of MaxPool2d(2, 2)": convnet_logits(state, x, pool=F.avg_pool2d),
                "the ReLU is missing from the blocks": convnet_logits(state, x, activation=lambda z: z),
            },
            hint="the shapes are right, so check each block's layers and their order",
        )


# ----------------------------------------------------------------- NeuralNet


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
    state = {key: value.astype(np.float32).astype(np.float64) for key, value in state.items()}
    x = rng.normal(size=(5, 2, 3, 4))  # 2*3*4 = 24 values per example
    call = call_with_shape("NeuralNet", kwargs, x.shape) + " holding the grader's weights (float64)"
    got = logits_with_given_weights(student, "NeuralNet", kwargs, state, x, call)
    check_array(
        got,
        neural_net_logits(state, x),
        call=call,
        rtol=1e-9,
        atol=1e-9,
        mistakes={
            "sigmoid instead of ReLU": neural_net_logits(state, x, torch.sigmoid),
            "tanh instead of ReLU": neural_net_logits(state, x, torch.tanh),
            "no activation between fc1 and fc2": neural_net_logits(state, x, lambda z: z),
        },
        hint="forward is fc2(relu(fc1(torch.flatten(x, start_dim=1))))",
    )


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
    for situation, calls in expected.items():
        for call_kind, count in calls.items():
            model = "Sequential(Linear(3, 4), BatchNorm1d(4), Linear(4, 2))" + (
                " with the first Linear frozen (requires_grad=False)" if situation == "first_frozen" else ""
            )
            argument = {"default": "", "trainable_only": ", trainable_only=True", "all": ", trainable_only=False"}[
                call_kind
            ]
            call = f"count_parameters(model{argument}) for model = {model}"
            got = got_number(report[situation][call_kind], call, kind=int)
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
            check_number(got, count, call=call, kind=int, mistakes=mistakes)


# ----------------------------------------------------------------- train_one_epoch

# 10 examples in batches of 4, 4 and 2: unequal batches make the mean over examples
# differ from the mean of the batch means.
TRAIN_EXAMPLES, TRAIN_BATCH = 10, 4
TRAIN_CALL = (
    "train_one_epoch(model, loader, optimizer{}) with SGD(lr={}), batches of 4, 4 and 2 examples, "
    "the model in eval mode before the call"
)


def training_data(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(TRAIN_EXAMPLES, 4)), rng.integers(0, 3, size=TRAIN_EXAMPLES)


@graded(points=2, exercise="train_one_epoch")
def test_train_one_epoch_matches_a_hand_written_loop(student):
    rng = np.random.default_rng(RNG_SEED + 2)
    state = random_state(probes.small_classifier(), rng)
    inputs, targets = training_data(RNG_SEED + 3)
    learning_rate = 0.5
    for label_smoothing in (None, 0.2):
        report = student.probe(
            probes.train_one_epoch_on_a_small_model,
            state=state,
            inputs=inputs,
            targets=targets,
            batch_size=TRAIN_BATCH,
            learning_rate=learning_rate,
            label_smoothing=label_smoothing,
        )
        criterion = (
            "" if label_smoothing is None else f", criterion=CrossEntropyLoss(label_smoothing={label_smoothing})"
        )
        call = TRAIN_CALL.format(criterion, learning_rate)
        smoothing = label_smoothing or 0.0

        def epoch(smoothing=smoothing, **mistake):
            final, _, _ = hand_written_epoch(
                probes.small_classifier(),
                state,
                inputs,
                targets,
                TRAIN_BATCH,
                learning_rate,
                label_smoothing=smoothing,
                **mistake,
            )
            return flat_state(final)

        mistakes = {
            "optimizer.zero_grad() is not called before each backward pass, so gradients accumulate "
            "across batches": epoch(zero_grad=False),
            "model.train() is not called: the model stayed in eval mode (BatchNorm used its running "
            "statistics instead of the batch's)": epoch(train_mode=False),
            "optimizer.step() is never called, so the parameters never change": epoch(step=False),
        }
        if label_smoothing is not None:
            final, _, _ = hand_written_epoch(
                probes.small_classifier(), state, inputs, targets, TRAIN_BATCH, learning_rate
            )
            mistakes["the criterion argument is ignored (plain cross-entropy was used)"] = flat_state(final)
        check_equal(sorted(report["state"]), sorted(state), call=call, what="state_dict keys")
        # The same float64 operations as the loop above, batch by batch.
        check_array(
            flat_state(report["state"]),
            epoch(),
            call=call + "; comparing every parameter and BatchNorm statistic afterwards with a hand-written loop",
            rtol=1e-9,
            atol=1e-12,
            mistakes=mistakes,
            hint="per batch: optimizer.zero_grad(), loss = criterion(model(X), y), loss.backward(), "
            "optimizer.step(); model.train() once before the loop",
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
    call = TRAIN_CALL.format("", 0.0).replace("the model in eval mode", "model = nn.Linear(4, 3),")
    check_number(
        got_number(report["loss"], call),
        float(np.sum(losses * sizes) / np.sum(sizes)),
        call=call,
        rtol=1e-9,
        mistakes={
            "returns the mean of the batch means; weight each batch's mean loss by its size "
            "(the last batch is smaller)": float(np.mean(losses)),
            "returns the sum of the batch losses, not a mean": float(np.sum(losses)),
            "returns the total loss over examples without dividing by their number": float(np.sum(losses * sizes)),
            "returns the last batch's loss only": float(losses[-1]),
        },
        hint="accumulate loss.item() * batch_size and divide by the number of examples",
    )


# ----------------------------------------------------------------- evaluate


@graded(points=1, exercise="evaluate")
def test_evaluate_returns_the_accuracy(student):
    rng = np.random.default_rng(RNG_SEED + 6)
    state = random_state(nn.Linear(4, 3), rng)
    inputs = rng.normal(size=(11, 4))
    predictions = linear_logits(state, inputs).argmax(axis=1)
    targets = predictions.copy()
    wrong = [0, 1, 2, 3]  # the whole first batch of 4 is wrong, the batches of 4 and 3 right
    targets[wrong] = (targets[wrong] + 1) % 3
    accuracy = 7 / 11  # 11 examples, 4 wrong
    call = "evaluate(model, loader) with model = nn.Linear(4, 3) and batches of 4, 4 and 3 examples"
    report = student.probe(probes.evaluate_on_a_linear_model, state=state, inputs=inputs, targets=targets, batch_size=4)
    got = got_number(report, call)
    check_number(
        got,
        accuracy,
        call=call,
        rtol=1e-12,
        mistakes={
            "the mean of the per-batch accuracies; count correct examples over all batches instead": (0 + 1 + 1) / 3,
            "the number of correct predictions, not divided by the number of examples": 7,
            "the error rate instead of the accuracy": 4 / 11,
        },
        hint="accuracy = correct / total, both summed over every batch",
    )


def evaluate_mode_reports(student):
    rng = np.random.default_rng(RNG_SEED + 7)
    state = random_state(probes.recorded_classifier(), rng)
    inputs, targets = rng.normal(size=(10, 4)), rng.integers(0, 3, size=10)
    return student.probe(probes.modes_seen_by_evaluate, state=state, inputs=inputs, targets=targets, batch_size=4)


EVALUATE_CALL = (
    "evaluate(model, loader) with a model holding BatchNorm1d and a layer that records its mode, "
    "called with the model in {} mode"
)


@graded(points=1, exercise="evaluate")
def test_evaluate_runs_in_eval_mode_without_building_a_graph(student):
    report = evaluate_mode_reports(student)["train"]
    call = EVALUATE_CALL.format("train")
    check(len(report["training_seen"]) > 0, "the model was never called", call=call)
    check(
        not any(report["training_seen"]),
        "the model ran in train mode during evaluate",
        call=call,
        cause="model.eval() is not called before the forward passes (Dropout stays on and BatchNorm uses, "
        "and updates, batch statistics)",
    )
    check(
        not report["running_stats_changed"],
        "BatchNorm's running statistics changed during evaluate",
        call=call,
        cause="part of the model ran in train mode; call model.eval() on the whole model",
    )
    check(
        not any(report["grad_enabled_seen"]),
        "autograd recorded the forward passes (torch.is_grad_enabled() was True inside the model)",
        call=call,
        cause="the loop is not wrapped in torch.no_grad(), so every batch builds a graph",
    )


@graded(points=1, exercise="evaluate")
def test_evaluate_restores_the_previous_mode(student):
    reports = evaluate_mode_reports(student)
    for start, expected in (("train", [True]), ("eval", [False])):
        got = reports[start]["modes_after"]
        if got == expected:
            continue
        if got == [False, True]:
            cause = (
                "only some modules got their mode back: restore it with model.train(was_training), "
                "which sets every submodule, not by assigning model.training"
            )
        elif start == "train":
            cause = (
                "evaluate leaves the model in eval mode: remember model.training and call model.train(it) at the end"
            )
        else:
            cause = "evaluate always switches back to train mode: a model that was in eval mode must stay in it"
        fail(
            f"afterwards the model is in {' and '.join('train' if mode else 'eval' for mode in got)} mode; "
            f"expected {start} mode, as before the call",
            call=EVALUATE_CALL.format(start),
            cause=cause,
        )


# ----------------------------------------------------------------- training on digits

# Adam(lr=3e-3), 4 epochs of batches of 64: the reference reaches 0.97 to 0.99 for every torch seed from 0
# to 11 (mean 0.98), in about 1 CPU second; 0.9 leaves room for correct variations in initialisation.
DIGITS_EPOCHS, DIGITS_BATCH, DIGITS_LEARNING_RATE = 4, 64, 3e-3
DIGITS_MIN_ACCURACY = 0.9


@functools.lru_cache(maxsize=1)
def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8) in [0, 1]
    return train_test_split(
        images, digits.target.astype(np.int64), test_size=0.25, random_state=0, stratify=digits.target
    )


@graded(points=1, exercise="ConvNet", time_limit=30)
def test_convnet_trained_on_digits_reaches_90_percent(student):
    train_images, test_images, train_labels, test_labels = digits_split()
    report = student.probe(
        probes.training_on_digits,
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        epochs=DIGITS_EPOCHS,
        batch_size=DIGITS_BATCH,
        learning_rate=DIGITS_LEARNING_RATE,
        seed=RNG_SEED,
    )
    predictions = report["predictions"]
    check_equal(predictions.shape, test_labels.shape, call="predicting the digits test split", what="shape")
    accuracy = float(np.mean(predictions == test_labels))
    losses = ", ".join(f"{loss:.3g}" if isinstance(loss, float) else str(loss) for loss in report["losses"])
    check(
        accuracy >= DIGITS_MIN_ACCURACY,
        f"test accuracy {accuracy:.3f}, expected at least {DIGITS_MIN_ACCURACY} (the reference reaches about "
        f"0.98); your train_one_epoch returned the losses {losses}",
        call=f"ConvNet(image_size=8) trained for {DIGITS_EPOCHS} epochs of train_one_epoch with "
        f"Adam(lr={DIGITS_LEARNING_RATE}) on {len(train_labels)} 8x8 digits (scikit-learn's load_digits)",
        hint="if the loss does not fall, check the training loop's steps; if it falls, check ConvNet's forward",
    )


# ----------------------------------------------------------------- capture_activations

CAPTURED = ["features.0", "features", "head", "features.1"]
CAPTURE_CALL = (
    "capture_activations(model, x of shape (3, 4), {}) with model = Sequential(counter=..., "
    "features=Sequential(Linear(4, 5), Tanh()), head=Linear(5, 3))"
)


def capture_inputs():
    rng = np.random.default_rng(RNG_SEED + 8)
    return random_state(probes.hooked_model(), rng), rng.normal(size=(3, 4))


@graded(points=1, exercise="capture_activations")
def test_capture_activations_returns_each_named_output_once(student):
    state, x = capture_inputs()
    weights = tensors(state)
    linear = F.linear(torch.tensor(x), weights["features.0.weight"], weights["features.0.bias"])
    hidden = torch.tanh(linear)
    expected = {
        "features.0": linear.numpy(),
        "features.1": hidden.numpy(),
        "features": hidden.numpy(),
        "head": F.linear(hidden, weights["head.weight"], weights["head.bias"]).numpy(),
    }
    report = student.probe(probes.capture_activations_on_a_small_model, state=state, inputs=x, layer_names=CAPTURED)
    call = CAPTURE_CALL.format(CAPTURED)
    activations = report["activations"]
    if "not_a_dict" in activations:
        fail(f"expected a dict {{name: tensor}}; got {activations['not_a_dict']}", call=call)
    check_equal(sorted(activations), sorted(CAPTURED), call=call, what="keys")
    for name in CAPTURED:
        got = activations[name]
        if isinstance(got, dict):
            fail(f"the value for {name!r} is {got['not_a_tensor']}, not the tensor that submodule returned", call=call)
        check_array(
            got,
            expected[name],
            call=call + f", entry {name!r}",
            rtol=1e-12,
            atol=1e-12,
            hint=("a forward hook's arguments are (module, inputs, output): store output"),
        )
    check(
        report["forward_calls"] == 1,
        f"the model ran {report['forward_calls']} times; run model(x) once and let the hooks collect every output",
        call=call,
    )
    unknown = student.probe(
        probes.capture_activations_of_an_unknown_name, state=state, inputs=x, layer_names=["features.0", "body"]
    )
    call = CAPTURE_CALL.format(["features.0", "body"])
    check(
        unknown["raised"] is not None,
        "expected KeyError for the unknown name 'body'; nothing was raised",
        call=call,
        hint="look names up in dict(model.named_modules())",
    )
    check(
        unknown["raised"]["type"] == "KeyError",
        f"expected KeyError for the unknown name 'body'; got {unknown['raised']['message']}",
        call=call,
        hint="model.get_submodule raises AttributeError; look names up in dict(model.named_modules()) and "
        "raise KeyError yourself",
    )


@graded(points=1, exercise="capture_activations")
def test_capture_activations_removes_its_hooks(student):
    state, x = capture_inputs()
    for names in (CAPTURED, ["features.0", "body"]):
        probe = (
            probes.capture_activations_of_an_unknown_name
            if "body" in names
            else probes.capture_activations_on_a_small_model
        )
        report = student.probe(probe, state=state, inputs=x, layer_names=names)
        check(
            report["hooks_left"] == [],
            f"hooks are still registered afterwards on: {', '.join(report['hooks_left'])}",
            call=CAPTURE_CALL.format(names),
            cause="the handles returned by register_forward_hook are not all removed"
            + (
                " when the call raises KeyError (check every name before registering any hook)"
                if "body" in names
                else " (call handle.remove() for each, in a finally block)"
            ),
        )


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
        call=TRAIN_CALL.format(", device='cuda'", 0.5),
        rtol=1e-7,
        atol=1e-9,
    )
    state = random_state(nn.Linear(4, 3), rng)
    targets = linear_logits(state, inputs).argmax(axis=1)
    got = student.probe(
        probes.evaluate_on_a_linear_model, state=state, inputs=inputs, targets=targets, batch_size=4, device="cuda"
    )
    check_number(
        got_number(got, "evaluate(model, loader, device='cuda')"), 1.0, call="evaluate(model, loader, device='cuda')"
    )
