"""Probes for cnn.py: build the student's models and run their helpers beside them.

Each probe takes inputs and weights from the trusted side as NumPy arrays,
runs the student's code on small models the grader builds here (or on the
student's own ConvNet / NeuralNet), and reports raw values as plain data:
arrays, logits, numbers the student's functions returned, state dicts. It
reports no verdicts and no flags a point could rest on: this file runs in
the student's process and can be replaced (see grader.worker). Labels are
sent only where the student's function needs them to do its job (a training
loop, an accuracy); the digits probe gets the training split only, and the
trusted side evaluates the trained weights on images this process never sees.
"""

from __future__ import annotations

import collections

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MODEL_CLASSES = ("ConvNet", "NeuralNet")


# ----------------------------------------------------------------- small grader-built models
# The trusted side builds the same models (it imports these builders) to compute its oracles.


def small_classifier() -> nn.Module:
    """4 features -> 3 classes through a BatchNorm layer, in float64 (for the training-loop checks)."""
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3)).double()


def frozen_counting_model() -> nn.Module:
    """Linear(3, 4), BatchNorm1d(4), Linear(4, 2): the parameter-counting model."""
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


class ModeSensitiveClassifier(nn.Module):
    """small_classifier as `body`, then a batch normalisation of the logits that this module does itself.

    Its own forward reads `self.training` (F.batch_norm(..., training=self.training)) and `body.1`
    is a BatchNorm1d, so the logits show both the top-level module's mode and its submodules'
    (for the evaluate checks: train and eval mode give different logits).
    """

    def __init__(self):
        super().__init__()
        self.body = small_classifier()
        self.register_buffer("running_mean", torch.zeros(3, dtype=torch.float64))
        self.register_buffer("running_var", torch.ones(3, dtype=torch.float64))

    def forward(self, x):
        return F.batch_norm(self.body(x), self.running_mean, self.running_var, training=self.training)


class CallStamp(nn.Module):
    """The identity plus the number of this module's forward calls so far (1 on the first call).

    Every output after it so shows which run of the model it comes from.
    """

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x + self.calls


def hooked_model(in_features: int = 4, hidden_features: int = 5, out_features: int = 3) -> nn.Module:
    """A model with nested, named submodules behind a CallStamp (for capture_activations)."""
    return nn.Sequential(
        collections.OrderedDict(
            stamp=CallStamp(),
            features=nn.Sequential(nn.Linear(in_features, hidden_features), nn.Tanh()),
            head=nn.Linear(hidden_features, out_features),
        )
    ).double()


def layer_from_spec(spec: dict) -> nn.Module:
    """One layer of a counting model, as the trusted side describes it."""
    kind = spec["kind"]
    if kind == "Linear":
        return nn.Linear(spec["in_features"], spec["out_features"], bias=spec["bias"])
    if kind == "Conv2d":
        return nn.Conv2d(spec["in_channels"], spec["out_channels"], tuple(spec["kernel_size"]), bias=spec["bias"])
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        return getattr(nn, kind)(spec["num_features"], affine=spec["affine"])
    raise ValueError(f"{kind!r} is not a layer kind of the counting models")


# ----------------------------------------------------------------- conversions


def load_state(model: nn.Module, state: dict) -> None:
    """Load a state dict sent as NumPy arrays (strictly: every key must match)."""
    model.load_state_dict({key: torch.tensor(np.array(value)) for key, value in state.items()})


def state_arrays(model: nn.Module) -> dict:
    return {key: value.detach().cpu().numpy().copy() for key, value in model.state_dict().items()}


def loader_over(inputs: np.ndarray, targets: np.ndarray, batch_size: int):
    dataset = torch.utils.data.TensorDataset(torch.tensor(inputs), torch.tensor(targets))
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)


def plain_number(value):
    """The student's number as plain data, or {"not_a_number": what it was} for anything else."""
    if type(value) in (int, float) or isinstance(value, (np.floating, np.integer)):
        return value
    if isinstance(value, torch.Tensor):
        return {"not_a_number": f"a torch.Tensor of shape {tuple(value.shape)}"}
    return {"not_a_number": f"a {type(value).__module__}.{type(value).__qualname__}"}


def plain_array(value):
    """A tensor as a NumPy array, or {"not_a_tensor": what it was}."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    return {"not_a_tensor": f"a {type(value).__module__}.{type(value).__qualname__}"}


def plain_activations(captured):
    """capture_activations' dict as {name: array}, or {"not_a_dict": what it was}."""
    if not isinstance(captured, dict):
        return {"not_a_dict": f"a {type(captured).__module__}.{type(captured).__qualname__}"}
    return {str(name): plain_array(value) for name, value in captured.items()}


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:400]


def model_class(submission, name: str):
    if name not in MODEL_CLASSES:
        raise ValueError(f"{name!r} is not a model of cnn.py")
    return getattr(submission.cnn, name)


# ----------------------------------------------------------------- ConvNet and NeuralNet


def convnet_logits_shapes(submission, cases: list) -> list:
    """The logits' shape of your ConvNet for several image sizes and channel counts.

    For each case, build ConvNet(**kwargs) and run zeros of `input_shape`; report the shape or the error.
    """
    convnet = submission.cnn.ConvNet  # outside the try: an import error is not a shape problem
    reports = []
    for case in cases:
        report = {"shape": None, "fc_in_features": None, "error": None, "stage": "build"}
        try:
            model = convnet(**case["kwargs"])
            fc = getattr(model, "fc", None)
            if isinstance(fc, nn.Linear):
                report["fc_in_features"] = int(fc.in_features)
            report["stage"] = "forward"
            model.eval()
            with torch.no_grad():
                logits = model(torch.zeros(tuple(case["input_shape"])))
            report["shape"] = tuple(int(n) for n in logits.shape)
            report["stage"] = "done"
        except NotImplementedError:
            raise
        except Exception as error:  # noqa: BLE001 -- reported, the trusted side explains it
            report["error"] = error_text(error)
        reports.append(report)
    return reports


def state_dict_shapes(submission, class_name: str, kwargs: dict) -> dict:
    """The state_dict keys and shapes of your model.

    Returns {key: shape} for `class_name(**kwargs)`.
    """
    model = model_class(submission, class_name)(**kwargs)
    return {str(key): tuple(int(n) for n in value.shape) for key, value in model.state_dict().items()}


def logits_with_given_weights(submission, class_name: str, kwargs: dict, state: dict, inputs: np.ndarray):
    """Your model's logits with the grader's weights loaded, in eval mode, in float64."""
    model = model_class(submission, class_name)(**kwargs)
    load_state(model, state)
    model.double().eval()
    with torch.no_grad():
        return plain_array(model(torch.tensor(inputs)))


class one_thread:
    """Run the block on one CPU thread: small models gain nothing from more, and lose much on a busy machine."""

    def __enter__(self):
        self.previous = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc_info):
        torch.set_num_threads(self.previous)


def training_on_digits(
    submission,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> dict:
    """Your ConvNet(image_size=8) trained with your train_one_epoch on the digits' training split.

    Reports the losses train_one_epoch returned and the trained state_dict; the grader evaluates
    that state in its own ConvNet on test images that never reach this process.
    """
    torch.manual_seed(seed)
    model = submission.cnn.ConvNet(num_classes=10, in_channels=1, image_size=8)
    dataset = torch.utils.data.TensorDataset(torch.tensor(train_images), torch.tensor(train_labels))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    with one_thread():
        losses = [plain_number(submission.cnn.train_one_epoch(model, loader, optimizer)) for _ in range(epochs)]
    return {"losses": losses, "state": state_arrays(model)}


# ----------------------------------------------------------------- count_parameters


def count_parameters_with_frozen_layers(submission) -> dict:
    """count_parameters on a small model, all trainable and with its first layer frozen."""
    count = submission.cnn.count_parameters
    model = frozen_counting_model()
    report = {
        "all_trainable": {
            "default": plain_number(count(model)),
            "trainable_only": plain_number(count(model, trainable_only=True)),
            "all": plain_number(count(model, trainable_only=False)),
        }
    }
    for parameter in model[0].parameters():
        parameter.requires_grad_(False)
    report["first_frozen"] = {
        "default": plain_number(count(model)),
        "trainable_only": plain_number(count(model, trainable_only=True)),
        "all": plain_number(count(model, trainable_only=False)),
    }
    return report


def count_parameters_of_described_layers(submission, layers: list) -> dict:
    """count_parameters on a Sequential of layers the grader describes, some of their parameters frozen.

    Each entry of `layers` gives a layer's kind and sizes (see layer_from_spec) and, in
    "frozen", the names of its parameters to set requires_grad=False on.
    """
    count = submission.cnn.count_parameters
    model = nn.Sequential(*[layer_from_spec(spec) for spec in layers])
    for layer, spec in zip(model, layers, strict=True):
        for name in spec["frozen"]:
            getattr(layer, name).requires_grad_(False)
    return {
        "default": plain_number(count(model)),
        "trainable_only": plain_number(count(model, trainable_only=True)),
        "all": plain_number(count(model, trainable_only=False)),
    }


# ----------------------------------------------------------------- train_one_epoch and evaluate

TRAINING_MODELS = {"small_classifier": small_classifier, "linear": lambda: nn.Linear(4, 3).double()}


def train_one_epoch_on_a_small_model(
    submission,
    state: dict,
    inputs: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    learning_rate: float,
    label_smoothing: float | None = None,
    device: str = "cpu",
    model: str = "small_classifier",
) -> dict:
    """One epoch of your train_one_epoch on a small grader model (SGD, fixed batches).

    The model starts in eval mode; the report holds the returned loss and the final state.
    `model` names the grader model ("small_classifier" or "linear", nn.Linear(4, 3));
    `label_smoothing` None calls train_one_epoch without a criterion; a number passes
    nn.CrossEntropyLoss(label_smoothing=...) as the criterion.
    """
    model = TRAINING_MODELS[model]()
    load_state(model, state)
    model.to(device).eval()  # train_one_epoch must switch to train mode itself
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    loader = loader_over(inputs, targets, batch_size)
    if label_smoothing is None:
        loss = submission.cnn.train_one_epoch(model, loader, optimizer, device=device)
    else:
        criterion = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        loss = submission.cnn.train_one_epoch(model, loader, optimizer, criterion=criterion, device=device)
    return {"loss": plain_number(loss), "state": state_arrays(model)}


def evaluate_on_a_linear_model(
    submission,
    state: dict,
    inputs: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    device: str = "cpu",
    in_features: int = 4,
    out_features: int = 3,
):
    """Your evaluate on nn.Linear(in_features, out_features) holding the grader's weights (float64)."""
    model = nn.Linear(in_features, out_features).double()
    load_state(model, state)
    model.to(device)
    return plain_number(submission.cnn.evaluate(model, loader_over(inputs, targets, batch_size), device=device))


def evaluate_then_run_again(
    submission,
    state: dict,
    inputs: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    start: str,
    later_inputs: np.ndarray,
) -> dict:
    """Your evaluate on a model whose logits depend on its mode, then that model run once more.

    The ModeSensitiveClassifier is put in `start` mode ("train" or "eval") before the call; the
    report holds the accuracy evaluate returned and the logits of one more forward pass on
    `later_inputs`, in whatever mode evaluate left the model.
    """
    model = ModeSensitiveClassifier()
    load_state(model, state)
    model.train(start == "train")
    accuracy = submission.cnn.evaluate(model, loader_over(inputs, targets, batch_size))
    with torch.no_grad():
        logits = model(torch.tensor(later_inputs))
    return {"accuracy": plain_number(accuracy), "logits_after": plain_array(logits)}


# ----------------------------------------------------------------- capture_activations


def capture_activations_on_a_small_model(
    submission,
    state: dict,
    inputs: np.ndarray,
    layer_names: list,
    later_inputs: np.ndarray,
    sizes: tuple = (4, 5, 3),
) -> dict:
    """capture_activations on a small model, then that model run once more on other inputs.

    Reports the returned dict's arrays right after the call ("activations") and again after
    model(later_inputs) ("activations_after"): hooks left behind that write into the dict
    show the second run's outputs there. `sizes` are hooked_model's feature counts.
    """
    model = hooked_model(*sizes)
    load_state(model, state)
    captured = submission.cnn.capture_activations(model, torch.tensor(inputs), list(layer_names))
    report = {"activations": plain_activations(captured)}
    with torch.no_grad():
        model(torch.tensor(later_inputs))
    report["activations_after"] = plain_activations(captured)
    return report


def capture_activations_of_an_unknown_name(
    submission, state: dict, inputs: np.ndarray, layer_names: list, sizes: tuple = (4, 5, 3)
) -> None:
    """capture_activations with a name the model lacks.

    Whatever it raises reaches the trusted side as the student's exception.
    """
    model = hooked_model(*sizes)
    load_state(model, state)
    submission.cnn.capture_activations(model, torch.tensor(inputs), list(layer_names))
