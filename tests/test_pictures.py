"""The course's pictures (grader.results.pictures): drawn for the reference from what its grading kept."""

import numpy as np
import pytest

from grader.cli import main
from grader.results import pictures
from grader.suite.test_gradient_descent import PICTURE_LOSSES
from tests.helpers import EXERCISES, SOLUTIONS


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plots")
    code = main(
        ["check", "gradient_descent", "cnn", "--submission", str(SOLUTIONS), "--in-process", "--plots", str(folder)]
    )
    assert code == 0
    return folder


def test_check_plots_writes_every_picture_for_the_reference(drawn, capsys):
    from matplotlib import image

    for name in pictures.FILES.values():
        path = drawn / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        height, width = image.imread(path).shape[:2]
        assert height > 200 and width > 200, name


@pytest.fixture(scope="module")
def moons_result():
    from tests.helpers import grade

    return grade(SOLUTIONS, modules=["gradient_descent"], in_process=True)


def test_the_references_decision_boundary_separates_the_moons(moons_result):
    result = moons_result
    params = result.extra["pictures"]["moons"]["params"]
    X, y = pictures.moons()
    assert np.mean(pictures.net_classes(params, X) == y) >= 0.95  # what the left panel draws
    xx, yy, points = pictures.grid_over(X)
    classes = pictures.net_classes(params, points).reshape(xx.shape)
    assert set(np.unique(classes)) == {0, 1}  # a boundary crosses the grid
    assert len(result.extra["pictures"]["moons"]["losses"]) <= PICTURE_LOSSES


def test_unwritten_training_draws_nothing_and_says_what_is_missing(tmp_path, capsys):
    assert (
        main(["check", "gradient_descent", "--submission", str(EXERCISES), "--in-process", "--plots", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert "not drawn: no trained net from gradient_descent: train_two_layer_net on the moons" in out
    assert not any(tmp_path.iterdir())


def test_a_feature_map_is_the_conv_layers_cross_correlation():
    """scipy's correlate2d with 'same' padding is Conv2d(1, 16, 5, padding=2) on one image."""
    import torch

    rng = np.random.default_rng(0)
    weight, bias, digit = rng.normal(size=(16, 1, 5, 5)), rng.normal(size=16), rng.normal(size=(8, 8))
    conv = torch.nn.functional.conv2d(
        torch.tensor(digit)[None, None], torch.tensor(weight), torch.tensor(bias), padding=2
    )[0].numpy()
    np.testing.assert_allclose(pictures.feature_maps(weight, bias, digit), conv, rtol=1e-10, atol=1e-10)


def test_a_batchs_feedback_html_shows_the_students_pictures(tmp_path, moons_result):
    from grader.engine import batch
    from grader.results import class_report

    batch.write_submission_files(tmp_path / "alice", moons_result, "alice", junit=False)
    assert sorted(path.name for path in (tmp_path / "alice" / pictures.FOLDER).iterdir()) == [
        "decision_boundary.png",
        "loss_curve.png",
    ]
    class_report.write_class_report(tmp_path)
    page = (tmp_path / "alice" / "feedback.html").read_text()
    assert page.count('src="data:image/png;base64,') == 2
    assert "<figcaption>the decision boundary of your train_two_layer_net" in page


def test_a_mosaic_keeps_each_tiles_own_contrast_apart():
    images = np.stack([np.arange(4.0).reshape(2, 2), 100 + 3 * np.arange(4.0).reshape(2, 2), np.full((2, 2), 7.0)])
    tiled = pictures.mosaic(images, columns=2)
    assert tiled.shape == (5, 5)  # two rows of 2x2 tiles, 1-pixel gaps
    np.testing.assert_allclose(tiled[:2, :2], [[0, 1 / 3], [2 / 3, 1]])
    np.testing.assert_allclose(tiled[:2, 3:], [[0, 1 / 3], [2 / 3, 1]])  # the same shape scaled alike
    np.testing.assert_array_equal(tiled[3:, :2], 0)  # a flat image: no division by zero
    assert np.isnan(tiled[2]).all() and np.isnan(tiled[:2, 2]).all() and np.isnan(tiled[3:, 2:]).all()
