"""The course's pictures of a student's work, drawn on the trusted side from a grading result.

The public tests keep plain data as they check (grader.engine.fixtures'
`pictures`; `extra_data["pictures"]` in results.json): the params and loss
history `train_two_layer_net` returned on the moons, and the first conv layer
of the ConvNet the student's `train_one_epoch` trained on the digits, run by
the grader's own ConvNet. From those alone, never running the student's code
again, this module draws:

- the decision boundary of the student's net on make_moons beside logistic
  regression's, with both accuracies (the course material's comparison);
- the training loss curve;
- the 16 filters of the first conv layer, and its feature maps for one digit.

matplotlib runs here only (its own figures, no pyplot), never in the worker.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np

from grader.results.model import GradingResult

GRID_STEPS = 200  # the decision boundary's grid: GRID_STEPS x GRID_STEPS points
FILES = {
    "decision_boundary": "decision_boundary.png",
    "loss_curve": "loss_curve.png",
    "conv_filters": "conv_filters.png",
    "feature_maps": "feature_maps.png",
}
FOLDER = "pictures"  # OUT/<id>/pictures/ in a batch (grader.engine.batch), shown in feedback.html
CAPTIONS = {
    "decision_boundary": "the decision boundary of your train_two_layer_net on the moons, beside logistic regression's",
    "loss_curve": "the loss of each pass of your train_two_layer_net",
    "conv_filters": "the 16 filters of your trained ConvNet's first conv layer",
    "feature_maps": "the feature maps of that layer for one held-out digit",
}
NEEDS = {  # what each picture is drawn from, and the public test that computes it
    "decision_boundary": ("moons", "gradient_descent: train_two_layer_net on the moons"),
    "loss_curve": ("moons", "gradient_descent: train_two_layer_net on the moons"),
    "conv_filters": ("digits", "cnn: the ConvNet trained on the digits"),
    "feature_maps": ("digits", "cnn: the ConvNet trained on the digits"),
}


def moons():
    """The seed material's moons: make_moons(200, noise=0.2, random_state=0)."""
    from sklearn.datasets import make_moons

    return make_moons(200, noise=0.2, random_state=0)


def net_classes(params: dict, X: np.ndarray) -> np.ndarray:
    """The class the two-layer net `params` gives each row of X: argmax of tanh(X W1 + b1) W2 + b2."""
    weights = {name: np.asarray(params[name], dtype=float) for name in ("W1", "b1", "W2", "b2")}
    scores = np.tanh(X @ weights["W1"] + weights["b1"]) @ weights["W2"] + weights["b2"]
    return np.argmax(scores, axis=1)


def grid_over(X: np.ndarray, steps: int = GRID_STEPS):
    """(xx, yy, points): a grid around X's two features, half a unit beyond them."""
    (x_min, y_min), (x_max, y_max) = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, steps), np.linspace(y_min, y_max, steps))
    return xx, yy, np.c_[xx.ravel(), yy.ravel()]


def feature_maps(weight: np.ndarray, bias: np.ndarray, digit: np.ndarray) -> np.ndarray:
    """The first conv layer's output for one image: each filter cross-correlated, padding 2 (as Conv2d)."""
    from scipy.signal import correlate2d

    return np.stack([correlate2d(digit, kernel[0], mode="same") + b for kernel, b in zip(weight, bias, strict=True)])


def figures(result: GradingResult) -> dict[str, bytes]:
    """Each picture the result holds the data for, as PNG bytes, by name (see FILES)."""
    data = result.extra.get("pictures") or {}
    drawn: dict[str, bytes] = {}
    if isinstance(data.get("moons"), dict):
        drawn.update(_moons_figures(data["moons"]))
    if isinstance(data.get("digits"), dict):
        drawn.update(_digits_figures(data["digits"]))
    return drawn


def _subplots(rows: int, columns: int, **options):
    """A figure of its own (no pyplot: no global state, safe in a batch's threads) and its axes."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=options.pop("figsize"))
    return figure, figure.subplots(rows, columns, squeeze=False, **options)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


@functools.cache
def logistic_regression_on_the_moons() -> tuple[np.ndarray, float]:
    """Logistic regression's classes on the moons' grid, and its accuracy: the same for every student."""
    from sklearn.linear_model import LogisticRegression

    X, y = moons()
    baseline = LogisticRegression().fit(X, y)
    return baseline.predict(grid_over(X)[2]), float(baseline.score(X, y))


def _moons_figures(moons_data: dict) -> dict[str, bytes]:
    X, y = moons()
    params = moons_data["params"]
    xx, yy, points = grid_over(X)
    panels = [
        ("your train_two_layer_net (nn_hdim=3)", net_classes(params, points), np.mean(net_classes(params, X) == y)),
        ("logistic regression", *logistic_regression_on_the_moons()),
    ]
    figure, axes = _subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for axis, (title, classes, accuracy) in zip(axes[0], panels, strict=True):
        axis.contourf(xx, yy, classes.reshape(xx.shape), alpha=0.35, cmap="coolwarm", levels=[-0.5, 0.5, 1.5])
        axis.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=18)
        axis.set_title(f"{title}\naccuracy {accuracy:.3f} on the moons")
    figure.suptitle("Decision boundaries on make_moons(200, noise=0.2, random_state=0)", y=1.08)
    pictures = {"decision_boundary": _png(figure)}

    losses = [value for value in moons_data.get("losses", []) if value is not None]
    step = int(moons_data.get("loss_step", 1))
    figure, axes = _subplots(1, 1, figsize=(6, 4))
    axis = axes[0, 0]
    axis.plot(np.arange(len(losses)) * step, losses)
    axis.set_xlabel("pass")
    axis.set_ylabel("loss")
    axis.set_yscale("log" if losses and min(losses) > 0 else "linear")
    axis.set_title("train_two_layer_net: the loss of each pass")
    pictures["loss_curve"] = _png(figure)
    return pictures


def mosaic(images: np.ndarray, columns: int) -> np.ndarray:
    """`images` (n, h, w), each scaled to [0, 1] on its own, tiled `columns` to a row with 1-pixel gaps (NaN).

    One picture of one axes: as fast to draw as a single image (a grid of
    axes costs matplotlib about 40 ms each), each tile keeping its own contrast.
    """
    count, height, width = images.shape
    rows = -(-count // columns)
    tiled = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan)
    for index, image in enumerate(images):
        low, high = float(np.min(image)), float(np.max(image))
        scaled = (image - low) / (high - low) if high > low else np.zeros_like(image)
        row, column = divmod(index, columns)
        tiled[row * (height + 1) : row * (height + 1) + height, column * (width + 1) : column * (width + 1) + width] = (
            scaled
        )
    return tiled


def _label_tiles(axis, count: int, columns: int, height: int, width: int, label: str):
    for index in range(count):
        row, column = divmod(index, columns)
        axis.text(column * (width + 1), row * (height + 1) - 0.6, f"{label} {index}", fontsize=7, va="bottom")


def _digits_figures(digits_data: dict) -> dict[str, bytes]:
    weight = np.asarray(digits_data["conv1_weight"], dtype=float)  # (16, 1, 5, 5)
    bias = np.asarray(digits_data["conv1_bias"], dtype=float)
    digit = np.asarray(digits_data["digit"], dtype=float)
    pictures = {}
    figure, axes = _subplots(1, 1, figsize=(6, 6.4))
    axis = axes[0, 0]
    filters = weight[:, 0]
    axis.imshow(mosaic(filters, 4), cmap="gray")
    _label_tiles(axis, len(filters), 4, *filters.shape[1:], "filter")
    axis.set_axis_off()
    figure.suptitle("Your ConvNet's first conv layer: its 16 trained 5x5 filters (each scaled on its own)")
    pictures["conv_filters"] = _png(figure)

    maps = feature_maps(weight, bias, digit)
    figure, axes = _subplots(1, 2, figsize=(9, 5.6), width_ratios=(1, 4))
    for axis in axes.flat:
        axis.set_axis_off()
    axes[0, 0].imshow(digit, cmap="gray_r")
    axes[0, 0].set_title(f"a digit {digits_data.get('label', '')}", fontsize=8)
    axes[0, 1].imshow(mosaic(maps, 4), cmap="viridis")
    _label_tiles(axes[0, 1], len(maps), 4, *maps.shape[1:], "map")
    figure.suptitle("Feature maps of the first conv layer for one held-out digit (each scaled on its own)")
    pictures["feature_maps"] = _png(figure)
    return pictures


def write(result: GradingResult, folder: Path) -> tuple[list[Path], list[str]]:
    """Write each picture the result has data for into `folder`; return (files written, what is missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    drawn = figures(result)
    written = []
    for name, png in drawn.items():
        path = folder / FILES[name]
        path.write_bytes(png)
        written.append(path)
    missing = sorted({NEEDS[name][1] for name in FILES if name not in drawn})
    return written, missing
