"""Hidden checks of cnn.py: the public checks again, on models, weights and data drawn from the run's seed.

Worth 0 points each; a failure withdraws the points of the public tests it
names in `rechecks` (see grader.engine.scoring), so each test here redraws
the kind of input of those tests and checks their one property, nothing
more: a mistake the public tests already show costs no more with these on.
Feedback never shows these inputs or expected values. Every verdict rests on
values recomputed here (logits, accuracies, parameter counts, states after a
hand-written epoch, the accuracy of the reference ConvNet holding the weights
the student's code trained), as in grader/suite/test_cnn.py, whose `check_*`
helpers these tests call.
"""

import math

from torch import nn

from grader.engine.feedback import check_number
from grader.engine.scoring import graded
from grader.suite.test_cnn import (
    SHAPE_CASES,
    CaptureProblem,
    ReferenceConvNet,
    check_capture_leaves_no_hook_behind,
    check_capture_returns_each_output_of_one_run,
    check_convnet_logits,
    check_convnet_logits_shapes,
    check_convnet_state_dict,
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
    hand_written_epoch,
    linear_logits,
    mode_problem,
    random_state,
    smallest_margin,
)
from grader.tolerances import TOLERANCES
from grader.worker.probes import cnn as probes

CONVNET_DEFAULTS = {"num_classes": 10, "in_channels": 1, "image_size": 28}


def integer(rng, low, high):
    """A Python int in [low, high] (plain data for the probes, and for nn layers' sizes)."""
    return int(rng.integers(low, high + 1))


# ----------------------------------------------------------------- ConvNet

# Image sizes the public checks do not use: 5 to 7 end in 1x1 feature maps, like the published 4.
PUBLISHED_SIZES = {kwargs.get("image_size", 28) for kwargs, _ in SHAPE_CASES}
FRESH_SIZES = [size for size in range(5, 21) if size not in PUBLISHED_SIZES]


def drawn_convnet_kwargs(rng, image_size):
    """ConvNet arguments for `image_size`: drawn class and channel counts, each given or left at its default."""
    drawn = {"num_classes": integer(rng, 2, 12), "in_channels": integer(rng, 1, 3)}
    # The defaults are part of the contract too; image_size is always given, one the public checks do not use.
    return {**{key: value for key, value in drawn.items() if rng.random() < 0.75}, "image_size": image_size}


# The borderline kinds of image size, one of each first on every seed: the published 4's 1x1 feature
# maps, and a size where a pool floors an odd side (as the published 13's 13 -> 6 -> 3).
ONE_BY_ONE_SIZES = [size for size in FRESH_SIZES if size < 8]
FLOORED_SIZES = [size for size in FRESH_SIZES if size >= 8 and (size % 2 == 1 or size // 2 % 2 == 1)]


def fresh_sizes(rng, count):
    """`count` different sizes from FRESH_SIZES: one of ONE_BY_ONE_SIZES and one of FLOORED_SIZES first."""
    chosen = [int(rng.choice(ONE_BY_ONE_SIZES)), int(rng.choice(FLOORED_SIZES))]
    rest = [size for size in FRESH_SIZES if size not in chosen]
    chosen += [rest[index] for index in rng.permutation(len(rest))]
    return chosen[:count]


def batch_shape(rng, kwargs):
    sizes = {**CONVNET_DEFAULTS, **kwargs}
    return (integer(rng, 1, 3), sizes["in_channels"], sizes["image_size"], sizes["image_size"])


@graded(points=0, exercise="ConvNet", rechecks=("test_convnet_logits_shape_for_any_image_size",))
def test_hidden_convnet_logits_shape_for_drawn_sizes(student, hidden_rng):
    """Drawn class counts, channel counts and image sizes (5 to 20, none of the published ones), on zeros.

    On every seed a size that ends in 1x1 feature maps (5 to 7) and one where a pool floors an odd side.
    """
    cases = []
    for size in fresh_sizes(hidden_rng, 3):
        kwargs = drawn_convnet_kwargs(hidden_rng, size)
        cases.append((kwargs, batch_shape(hidden_rng, kwargs)))
    check_convnet_logits_shapes(student, cases)


@graded(points=0, exercise="ConvNet", rechecks=("test_convnet_state_dict_has_the_specified_keys_and_shapes",))
def test_hidden_convnet_state_dict_for_drawn_sizes(student, hidden_rng):
    """Drawn class counts, channel counts and image sizes (5 to 20, none of the published ones)."""
    for size in fresh_sizes(hidden_rng, 2):
        check_convnet_state_dict(student, drawn_convnet_kwargs(hidden_rng, size))


@graded(points=0, exercise="ConvNet", rechecks=("test_convnet_with_given_weights_computes_the_reference_logits",))
def test_hidden_convnet_logits_with_random_weights_and_sizes(student, hidden_rng):
    """Random weights and BatchNorm statistics in ConvNets of drawn sizes, on random images."""
    for size in fresh_sizes(hidden_rng, 2):
        kwargs = drawn_convnet_kwargs(hidden_rng, size)
        state = random_state(ReferenceConvNet(**kwargs), hidden_rng)
        check_convnet_logits(student, kwargs, state, hidden_rng.normal(size=batch_shape(hidden_rng, kwargs)))


@graded(points=0, exercise="ConvNet", time_limit=30, rechecks=("test_convnet_trained_on_digits_reaches_90_percent",))
def test_hidden_convnet_trained_on_a_fresh_digits_split(student, hidden_rng):
    """Another stratified split of the 8x8 digits, and another torch seed for the initial weights and shuffling."""
    # Over the draws of seeds 0 to 99 the reference reaches 0.958 to 0.991 (mean 0.979), so the public
    # threshold of 0.9 holds with room for correct variations. One more training run (about 1 CPU second).
    split = digits_split(random_state=integer(hidden_rng, 0, 2**32 - 1))
    check_trained_convnet(student, split, seed=integer(hidden_rng, 0, 2**31 - 1))


# ----------------------------------------------------------------- NeuralNet


@graded(points=0, exercise="NeuralNet", rechecks=("test_neural_net_flattens_every_dim_but_the_first_and_uses_relu",))
def test_hidden_neural_net_logits_with_random_weights_and_sizes(student, hidden_rng):
    """Random weights in NeuralNets of drawn sizes, on random inputs with 1 to 3 trailing dimensions."""
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


@graded(points=0, exercise="count_parameters", rechecks=("test_count_parameters_counts_trainable_scalars",))
def test_hidden_count_parameters_of_random_layers_some_frozen(student, hidden_rng):
    """Sequentials of 2 to 5 Linear, Conv2d and BatchNorm layers of drawn sizes, some parameters frozen."""
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
            report[call_kind],
            expected,
            call=f"count_parameters(model{argument}) for {model}",
            kind=int,
            **TOLERANCES["count_parameters"]["counts"].isclose,
        )


# ----------------------------------------------------------------- train_one_epoch


def drawn_batches(rng, smallest_last):
    """(examples, batch size) for 6 to 20 examples in batches of 2 to 6, the last batch smaller and of at
    least `smallest_last` examples (BatchNorm1d in train mode needs 2 in every batch)."""
    while True:
        examples, batch_size = integer(rng, 6, 20), integer(rng, 2, 6)
        if smallest_last <= examples % batch_size:
            return examples, batch_size


@graded(points=0, exercise="train_one_epoch", rechecks=("test_train_one_epoch_matches_a_hand_written_loop",))
def test_hidden_train_one_epoch_matches_a_hand_written_loop(student, hidden_rng):
    """Random weights, data, batch sizes and learning rates for a BatchNorm classifier, with and without a criterion."""
    examples, batch_size = drawn_batches(hidden_rng, smallest_last=2)
    state = random_state(probes.small_classifier(), hidden_rng)
    inputs, targets = hidden_rng.normal(size=(examples, 4)), hidden_rng.integers(0, 3, size=examples)
    learning_rate = float(hidden_rng.uniform(0.05, 0.8))
    for label_smoothing in (None, float(hidden_rng.uniform(0.05, 0.3))):
        check_epoch_matches_a_hand_written_loop(
            student, state, inputs, targets, batch_size, learning_rate, label_smoothing
        )


@graded(points=0, exercise="train_one_epoch", rechecks=("test_train_one_epoch_returns_the_mean_loss_over_examples",))
def test_hidden_train_one_epoch_returns_the_mean_loss_over_examples(student, hidden_rng):
    """Random weights and data for nn.Linear(4, 3) trained with lr=0, in batches of a drawn size, the last smaller."""
    examples, batch_size = drawn_batches(hidden_rng, smallest_last=1)
    model = nn.Linear(4, 3).double()
    state = random_state(model, hidden_rng)
    inputs, targets = hidden_rng.normal(size=(examples, 4)), hidden_rng.integers(0, 3, size=examples)
    report = student.probe(
        probes.train_one_epoch_on_a_small_model,
        state=state,
        inputs=inputs,
        targets=targets,
        batch_size=batch_size,
        learning_rate=0.0,
        model="linear",
    )
    _, losses, sizes = hand_written_epoch(model, state, inputs, targets, batch_size, 0.0)
    call = f"train_one_epoch(model, loader, optimizer) with model = nn.Linear(4, 3), SGD(lr=0), {len(sizes)} batches"
    check_mean_loss(report["loss"], losses, sizes, call)


# ----------------------------------------------------------------- evaluate


@graded(points=0, exercise="evaluate", rechecks=("test_evaluate_returns_the_accuracy",))
def test_hidden_evaluate_accuracy_of_a_random_linear_model(student, hidden_rng):
    """Random nn.Linear models of drawn sizes, random inputs and targets, in batches of a drawn size.

    On every seed the last batch is smaller than the others.
    """
    in_features, out_features = integer(hidden_rng, 2, 6), integer(hidden_rng, 2, 5)
    state = random_state(nn.Linear(in_features, out_features), hidden_rng)
    # As in the public case, the last batch is smaller than the others on every seed: a mean of the
    # batches' accuracies is then not the accuracy.
    while True:
        examples, batch_size = integer(hidden_rng, 5, 24), integer(hidden_rng, 2, 7)
        if examples % batch_size:
            break
    inputs = hidden_rng.normal(size=(examples, in_features))
    while smallest_margin(linear_logits(state, inputs)) <= 1e-9:  # no argmax a rounding could flip
        inputs = hidden_rng.normal(size=(examples, in_features))
    targets = hidden_rng.integers(0, out_features, size=examples)
    check_evaluate_accuracy(student, state, inputs, targets, batch_size=batch_size)


def drawn_mode_problem(rng):
    return mode_problem(
        rng,
        batches=integer(rng, 2, 4),
        # Not 2: train mode normalises each logit over a batch of 2 to about +-1, so an argmax is nearly a tie.
        batch_size=integer(rng, 3, 6),
        later_examples=integer(rng, 2, 6),
    )


@graded(points=0, exercise="evaluate", rechecks=("test_evaluate_returns_the_eval_mode_accuracy",))
def test_hidden_evaluate_uses_eval_mode(student, hidden_rng):
    """Random weights and far-off BatchNorm statistics in a mode-sensitive model, called in train mode."""
    check_evaluate_uses_eval_mode(student, drawn_mode_problem(hidden_rng))


@graded(points=0, exercise="evaluate", rechecks=("test_evaluate_restores_the_previous_mode",))
def test_hidden_evaluate_restores_the_previous_mode(student, hidden_rng):
    """Random weights and far-off BatchNorm statistics, called in train and in eval mode, then run on other inputs."""
    check_evaluate_restores_the_mode(student, drawn_mode_problem(hidden_rng))


# ----------------------------------------------------------------- capture_activations

LAYER_NAMES = ["stamp", "features", "features.0", "features.1", "head"]  # hooked_model's named submodules
UNKNOWN_NAMES = ["body", "features.2", "head.0", "fc", "features.0.weight"]


def drawn_capture_problem(rng):
    """hooked_model of drawn sizes and random weights, random inputs, and 1 to 5 of its names in a drawn order."""
    sizes = (integer(rng, 1, 6), integer(rng, 1, 6), integer(rng, 1, 6))
    names = [LAYER_NAMES[i] for i in rng.permutation(len(LAYER_NAMES))[: integer(rng, 1, len(LAYER_NAMES))]]
    return CaptureProblem(
        state=random_state(probes.hooked_model(*sizes), rng),
        inputs=rng.normal(size=(integer(rng, 1, 4), sizes[0])),
        later_inputs=rng.normal(size=(integer(rng, 1, 4), sizes[0])),
        layer_names=names,
        sizes=sizes,
    )


@graded(points=0, exercise="capture_activations", rechecks=("test_capture_activations_returns_each_named_output_once",))
def test_hidden_capture_activations_of_random_layers(student, hidden_rng):
    """The grader's small named model with drawn sizes and random weights, random inputs, drawn submodule names."""
    check_capture_returns_each_output_of_one_run(student, drawn_capture_problem(hidden_rng))


@graded(points=0, exercise="capture_activations", rechecks=("test_capture_activations_returns_each_named_output_once",))
def test_hidden_capture_activations_raises_key_error_for_an_unknown_name(student, hidden_rng):
    """The grader's small named model with drawn sizes, and drawn submodule names with one it lacks among them."""
    problem = drawn_capture_problem(hidden_rng)
    names = list(problem.layer_names)
    names.insert(integer(hidden_rng, 0, len(names)), UNKNOWN_NAMES[integer(hidden_rng, 0, len(UNKNOWN_NAMES) - 1)])
    check_unknown_name_raises_key_error(student, problem, names)


@graded(points=0, exercise="capture_activations", rechecks=("test_capture_activations_removes_its_hooks",))
def test_hidden_capture_activations_removes_its_hooks(student, hidden_rng):
    """The grader's small named model with drawn sizes and weights, drawn names, then run again on other inputs."""
    check_capture_leaves_no_hook_behind(student, drawn_capture_problem(hidden_rng))
