"""Hidden checks of cnn.py: the public checks again, on models, weights and data drawn from the run's seed.

Worth 0 points each; a failure withdraws the public points of its exercise
(see grader.engine.scoring). Feedback never shows these inputs or expected
values. Every verdict rests on values recomputed here (logits, accuracies,
parameter counts, states after a hand-written epoch, the accuracy of the
reference ConvNet holding the weights the student's code trained), as in
grader/suite/test_cnn.py, whose `check_*` helpers these tests call.
"""

import math

from torch import nn

from grader.engine.feedback import check_number
from grader.engine.scoring import graded
from grader.suite.test_cnn import (
    CaptureProblem,
    ReferenceConvNet,
    check_capture_leaves_no_hook_behind,
    check_capture_returns_each_output_of_one_run,
    check_convnet_logits,
    check_epoch_matches_a_hand_written_loop,
    check_evaluate_accuracy,
    check_evaluate_restores_the_mode,
    check_evaluate_uses_eval_mode,
    check_mean_loss,
    check_neural_net_logits,
    check_trained_convnet,
    check_unknown_name_raises_key_error,
    digits_split,
    float32_exact,
    linear_logits,
    mode_problem,
    random_state,
    smallest_margin,
)
from grader.worker.probes import cnn as probes

CONVNET_DEFAULTS = {"num_classes": 10, "in_channels": 1, "image_size": 28}


def integer(rng, low, high):
    """A Python int in [low, high] (plain data for the probes, and for nn layers' sizes)."""
    return int(rng.integers(low, high + 1))


# ----------------------------------------------------------------- ConvNet


@graded(points=0, exercise="ConvNet")
def test_hidden_convnet_logits_with_random_weights_and_sizes(student, hidden_rng):
    for _ in range(2):
        drawn = {
            "num_classes": integer(hidden_rng, 2, 12),
            "in_channels": integer(hidden_rng, 1, 3),
            "image_size": integer(hidden_rng, 4, 20),
        }
        # Each argument given or left at its default: the defaults are part of the contract too.
        kwargs = {key: value for key, value in drawn.items() if hidden_rng.random() < 0.75}
        sizes = {**CONVNET_DEFAULTS, **kwargs}
        state = random_state(ReferenceConvNet(**kwargs), hidden_rng)
        x = hidden_rng.normal(
            size=(integer(hidden_rng, 1, 3), sizes["in_channels"], sizes["image_size"], sizes["image_size"])
        )
        check_convnet_logits(student, kwargs, state, x)


@graded(points=0, exercise="ConvNet", time_limit=30)
def test_hidden_convnet_trained_on_a_fresh_digits_split(student, hidden_rng):
    # Another stratified split and torch seed: over the draws of seeds 0 to 99 the reference reaches 0.958 to
    # 0.991 (mean 0.979), so the public threshold of 0.9 holds with room for correct variations.
    split = digits_split(random_state=integer(hidden_rng, 0, 2**32 - 1))
    check_trained_convnet(student, split, seed=integer(hidden_rng, 0, 2**31 - 1))


# ----------------------------------------------------------------- NeuralNet


@graded(points=0, exercise="NeuralNet")
def test_hidden_neural_net_logits_with_random_weights_and_sizes(student, hidden_rng):
    trailing = tuple(integer(hidden_rng, 1, 4) for _ in range(integer(hidden_rng, 1, 3)))
    kwargs = {
        "input_size": math.prod(trailing),
        "hidden_size": integer(hidden_rng, 1, 12),
        "num_classes": integer(hidden_rng, 1, 8),
    }
    D, H, C = kwargs["input_size"], kwargs["hidden_size"], kwargs["num_classes"]
    state = {
        "fc1.weight": hidden_rng.normal(scale=1 / math.sqrt(D), size=(H, D)),
        "fc1.bias": hidden_rng.normal(size=H),
        "fc2.weight": hidden_rng.normal(scale=1 / math.sqrt(H), size=(C, H)),
        "fc2.bias": hidden_rng.normal(size=C),
    }
    state = {key: float32_exact(value) for key, value in state.items()}
    x = hidden_rng.normal(size=(integer(hidden_rng, 1, 5), *trailing))
    check_neural_net_logits(student, kwargs, state, x)


# ----------------------------------------------------------------- count_parameters


def random_layer(rng):
    """A layer description for probes.layer_from_spec, and its parameters' sizes {name: scalars}."""
    kind = ("Linear", "Conv2d", "BatchNorm1d", "BatchNorm2d")[integer(rng, 0, 3)]
    if kind == "Linear":
        spec = {"in_features": integer(rng, 1, 9), "out_features": integer(rng, 1, 9), "bias": bool(rng.random() < 0.7)}
        sizes = {"weight": spec["in_features"] * spec["out_features"], "bias": spec["out_features"]}
        present = ["weight", "bias"] if spec["bias"] else ["weight"]
    elif kind == "Conv2d":
        spec = {
            "in_channels": integer(rng, 1, 4),
            "out_channels": integer(rng, 1, 6),
            "kernel_size": [integer(rng, 1, 5), integer(rng, 1, 5)],
            "bias": bool(rng.random() < 0.7),
        }
        kernel = spec["kernel_size"][0] * spec["kernel_size"][1]
        sizes = {"weight": spec["out_channels"] * spec["in_channels"] * kernel, "bias": spec["out_channels"]}
        present = ["weight", "bias"] if spec["bias"] else ["weight"]
    else:  # BatchNorm: a scale and a shift per feature when affine; running statistics are buffers
        spec = {"num_features": integer(rng, 1, 9), "affine": bool(rng.random() < 0.8)}
        sizes = {"weight": spec["num_features"], "bias": spec["num_features"]}
        present = ["weight", "bias"] if spec["affine"] else []
    return {"kind": kind, **spec}, {name: sizes[name] for name in present}


@graded(points=0, exercise="count_parameters")
def test_hidden_count_parameters_of_random_layers_some_frozen(student, hidden_rng):
    while True:
        layers = [random_layer(hidden_rng) for _ in range(integer(hidden_rng, 2, 5))]
        parameters = [(index, name, size) for index, (_, sizes) in enumerate(layers) for name, size in sizes.items()]
        if len(parameters) >= 2:
            break
    frozen_count = integer(hidden_rng, 1, len(parameters) - 1)  # some frozen, some trainable
    frozen = {
        (index, name)
        for index, name, _ in (parameters[i] for i in hidden_rng.permutation(len(parameters))[:frozen_count])
    }
    specs = [
        {**spec, "frozen": [name for name in sizes if (index, name) in frozen]}
        for index, (spec, sizes) in enumerate(layers)
    ]
    total = sum(size for _, _, size in parameters)
    trainable = sum(size for index, name, size in parameters if (index, name) not in frozen)
    report = student.probe(probes.count_parameters_of_described_layers, layers=specs)
    model = f"a Sequential of {len(specs)} layers, {frozen_count} of its {len(parameters)} parameter tensors frozen"
    for call_kind, expected in (("default", trainable), ("trainable_only", trainable), ("all", total)):
        argument = {"default": "", "trainable_only": ", trainable_only=True", "all": ", trainable_only=False"}[
            call_kind
        ]
        check_number(
            report[call_kind], expected, call=f"count_parameters(model{argument}) for {model}", kind=int, rtol=0, atol=0
        )


# ----------------------------------------------------------------- train_one_epoch


@graded(points=0, exercise="train_one_epoch")
def test_hidden_train_one_epoch_matches_a_hand_written_loop(student, hidden_rng):
    examples = integer(hidden_rng, 6, 20)
    batch_size = integer(hidden_rng, 2, 6)
    while examples % batch_size == 1:  # BatchNorm1d in train mode needs 2 examples in every batch, the last too
        batch_size = integer(hidden_rng, 2, 6)
    state = random_state(probes.small_classifier(), hidden_rng)
    inputs, targets = hidden_rng.normal(size=(examples, 4)), hidden_rng.integers(0, 3, size=examples)
    learning_rate = float(hidden_rng.uniform(0.05, 0.8))
    label_smoothing = float(hidden_rng.uniform(0.05, 0.3)) if hidden_rng.random() < 0.5 else None
    report, losses, sizes, call = check_epoch_matches_a_hand_written_loop(
        student, state, inputs, targets, batch_size, learning_rate, label_smoothing
    )
    check_mean_loss(report["loss"], losses, sizes, call)


# ----------------------------------------------------------------- evaluate


@graded(points=0, exercise="evaluate")
def test_hidden_evaluate_accuracy_of_a_random_linear_model(student, hidden_rng):
    in_features, out_features = integer(hidden_rng, 2, 6), integer(hidden_rng, 2, 5)
    state = random_state(nn.Linear(in_features, out_features), hidden_rng)
    examples = integer(hidden_rng, 5, 24)
    inputs = hidden_rng.normal(size=(examples, in_features))
    while smallest_margin(linear_logits(state, inputs)) <= 1e-9:  # no argmax a rounding could flip
        inputs = hidden_rng.normal(size=(examples, in_features))
    targets = hidden_rng.integers(0, out_features, size=examples)
    check_evaluate_accuracy(student, state, inputs, targets, batch_size=integer(hidden_rng, 1, 7))


@graded(points=0, exercise="evaluate")
def test_hidden_evaluate_uses_eval_mode_and_restores_the_mode(student, hidden_rng):
    problem = mode_problem(
        hidden_rng,
        batches=integer(hidden_rng, 2, 4),
        # Not 2: train mode normalises each logit over a batch of 2 to about +-1, so an argmax is nearly a tie.
        batch_size=integer(hidden_rng, 3, 6),
        later_examples=integer(hidden_rng, 2, 6),
    )
    check_evaluate_uses_eval_mode(student, problem)
    check_evaluate_restores_the_mode(student, problem)


# ----------------------------------------------------------------- capture_activations

LAYER_NAMES = ["stamp", "features", "features.0", "features.1", "head"]  # hooked_model's named submodules
UNKNOWN_NAMES = ["body", "features.2", "head.0", "fc", "features.0.weight"]


@graded(points=0, exercise="capture_activations")
def test_hidden_capture_activations_of_random_layers(student, hidden_rng):
    sizes = (integer(hidden_rng, 1, 6), integer(hidden_rng, 1, 6), integer(hidden_rng, 1, 6))
    names = [
        LAYER_NAMES[i] for i in hidden_rng.permutation(len(LAYER_NAMES))[: integer(hidden_rng, 1, len(LAYER_NAMES))]
    ]
    examples = integer(hidden_rng, 1, 4)
    problem = CaptureProblem(
        state=random_state(probes.hooked_model(*sizes), hidden_rng),
        inputs=hidden_rng.normal(size=(examples, sizes[0])),
        later_inputs=hidden_rng.normal(size=(integer(hidden_rng, 1, 4), sizes[0])),
        layer_names=names,
        sizes=sizes,
    )
    check_capture_returns_each_output_of_one_run(student, problem)
    check_capture_leaves_no_hook_behind(student, problem)
    unknown = list(names)
    unknown.insert(integer(hidden_rng, 0, len(unknown)), UNKNOWN_NAMES[integer(hidden_rng, 0, len(UNKNOWN_NAMES) - 1)])
    check_unknown_name_raises_key_error(student, problem, unknown)
