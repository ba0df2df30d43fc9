"""Probes for cnn.py: build the student's models and run their helpers beside them.

Each probe takes inputs and weights from the trusted side as NumPy arrays,
runs the student's code on small models the grader builds here (or on the
student's own ConvNet / NeuralNet), and reports shapes, arrays and flags as
plain data. Labels are sent only where the student's function needs them to
do its job (a training loop, an accuracy); the digits probe gets the test
images without their labels. The comparisons happen on the trusted side.
"""

from __future__ import annotations

import collections

import numpy as np
import torch
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


def hooked_model() -> nn.Module:
    """A model with nested, named submodules and a forward-call counter (for capture_activations)."""
    return nn.Sequential(
        collections.OrderedDict(
            counter=CallCounter(),
            features=nn.Sequential(nn.Linear(4, 5), nn.Tanh()),
            head=nn.Linear(5, 3),
        )
    ).double()


class CallCounter(nn.Module):
    """The identity, counting its forward calls."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x


class ModeRecorder(nn.Module):
    """The identity, recording the train/eval mode and whether autograd records, at each call."""

    def __init__(self):
        super().__init__()
        self.training_seen: list[bool] = []
        self.grad_enabled_seen: list[bool] = []

    def forward(self, x):
        self.training_seen.append(bool(self.training))
        self.grad_enabled_seen.append(bool(torch.is_grad_enabled()))
        return x


def recorded_classifier() -> nn.Module:
    """small_classifier behind a ModeRecorder (index 0), for the evaluate-mode checks."""
    return nn.Sequential(ModeRecorder(), *small_classifier())


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


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:400]


def model_class(submission, name: str):
    if name not in MODEL_CLASSES:
        raise ValueError(f"{name!r} is not a model of cnn.py")
    return getattr(submission.cnn, name)


def hooks_left(model: nn.Module) -> list[str]:
    """Names of the submodules that still carry a forward (pre-)hook; "<global>" for a global one."""
    names = [
        name or "<model>"
        for name, module in model.named_modules()
        if module._forward_hooks or module._forward_pre_hooks
    ]
    global_hooks = getattr(torch.nn.modules.module, "_global_forward_hooks", {})
    return names + (["<global>"] if global_hooks else [])


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
    submission, state: dict, inputs: np.ndarray, targets: np.ndarray, batch_size: int, device: str = "cpu"
):
    """Your evaluate on nn.Linear(4, 3) holding the grader's weights (float64)."""
    model = nn.Linear(4, 3).double()
    load_state(model, state)
    model.to(device)
    return plain_number(submission.cnn.evaluate(model, loader_over(inputs, targets, batch_size), device=device))


def modes_seen_by_evaluate(submission, state: dict, inputs: np.ndarray, targets: np.ndarray, batch_size: int) -> dict:
    """Your evaluate called from train mode, then from eval mode, on a model that records what it saw."""
    model = recorded_classifier()
    load_state(model, state)
    recorder, batch_norm = model[0], model[2]
    reports = {}
    for start in ("train", "eval"):
        model.train(start == "train")
        recorder.training_seen.clear()
        recorder.grad_enabled_seen.clear()
        statistics = [buffer.clone() for buffer in batch_norm.buffers()]
        accuracy = submission.cnn.evaluate(model, loader_over(inputs, targets, batch_size))
        reports[start] = {
            "accuracy": plain_number(accuracy),
            "training_seen": list(recorder.training_seen),
            "grad_enabled_seen": list(recorder.grad_enabled_seen),
            "modes_after": sorted({bool(module.training) for module in model.modules()}),
            "running_stats_changed": not all(
                torch.equal(before, after) for before, after in zip(statistics, batch_norm.buffers(), strict=False)
            ),
        }
    return reports


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
    test_images: np.ndarray,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> dict:
    """Your ConvNet(image_size=8) trained with your train_one_epoch on the digits, predicting the test images."""
    torch.manual_seed(seed)
    model = submission.cnn.ConvNet(num_classes=10, in_channels=1, image_size=8)
    dataset = torch.utils.data.TensorDataset(torch.tensor(train_images), torch.tensor(train_labels))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    with one_thread():
        losses = [plain_number(submission.cnn.train_one_epoch(model, loader, optimizer)) for _ in range(epochs)]
        model.eval()
        with torch.no_grad():
            predictions = model(torch.tensor(test_images)).argmax(dim=1)
    return {"losses": losses, "predictions": predictions.numpy().astype(np.int64)}


# ----------------------------------------------------------------- capture_activations


def capture_activations_on_a_small_model(submission, state: dict, inputs: np.ndarray, layer_names: list) -> dict:
    """capture_activations on a small model.

    Reports the captured arrays, the number of forward calls and the hooks left behind.
    """
    model = hooked_model()
    load_state(model, state)
    captured = submission.cnn.capture_activations(model, torch.tensor(inputs), list(layer_names))
    if not isinstance(captured, dict):
        activations = {"not_a_dict": f"a {type(captured).__module__}.{type(captured).__qualname__}"}
    else:
        activations = {str(name): plain_array(value) for name, value in captured.items()}
    return {"activations": activations, "forward_calls": model.counter.calls, "hooks_left": hooks_left(model)}


def capture_activations_of_an_unknown_name(submission, state: dict, inputs: np.ndarray, layer_names: list) -> dict:
    """capture_activations with a name the model lacks.

    Reports what it raised and the hooks left behind.
    """
    model = hooked_model()
    load_state(model, state)
    raised = None
    try:
        submission.cnn.capture_activations(model, torch.tensor(inputs), list(layer_names))
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 -- which exception it was is the answer
        raised = {"type": type(error).__name__, "message": error_text(error)}
    return {"raised": raised, "hooks_left": hooks_left(model)}
