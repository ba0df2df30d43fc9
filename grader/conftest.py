"""The graded suites' fixtures: the `student` object, per-test time limits, hidden seeds.

`grader/suite/` holds the public tests, `grader/hidden/` the hidden ones (run
only with `--hidden`, which `dlgrade grade` passes). Run the public suite with
`pytest grader/suite --submission=DIR` (one argument: a separate DIR would be
taken for a test path, and a conftest.py in it loaded), or through `dlgrade`.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from grader import scoring
from grader.limits import LIMITS
from grader.student import Student


def pytest_addoption(parser):
    scoring.add_options(parser)


def pytest_ignore_collect(collection_path, config):
    if collection_path.name == "hidden" and not config.getoption("hidden"):
        return True
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "graded(points, exercise, time_limit): a graded test")
    config.addinivalue_line("markers", "cuda: needs a real CUDA GPU; worth no points")
    config._dlgrade_extra = {}
    if config.getoption("hidden"):
        seed = config.getoption("seed")
        config._dlgrade_extra["seed"] = secrets.randbelow(2**31) if seed is None else seed
    if not config.pluginmanager.has_plugin("dlgrade-scoring"):
        config.pluginmanager.register(scoring.ScoringPlugin(config), "dlgrade-scoring")


def pytest_sessionstart(session):
    """Start the submission's backend before collection, so the worker boots while tests load."""
    from grader.submission import SubmissionError, locate

    config = session.config
    try:
        folder = locate(config.getoption("submission") or Path.cwd() / "exercises")
    except SubmissionError as error:
        raise pytest.UsageError(str(error)) from None
    if config.getoption("in_process"):
        from grader.student import InProcess

        backend = InProcess(folder)
    else:
        from grader.sandbox import Sandboxed

        backend = Sandboxed(folder)
    config._dlgrade_extra.update(submission=str(folder), backend=backend)


def pytest_unconfigure(config):
    backend = getattr(config, "_dlgrade_extra", {}).get("backend")
    if backend is not None:
        backend.close()


@pytest.fixture(scope="session")
def student(request):
    return Student(request.config._dlgrade_extra["backend"])


@pytest.fixture(autouse=True)
def _time_limit(request):
    """Each test's calls run under the limit its @graded marker gives."""
    if "student" not in request.fixturenames:
        yield
        return
    marker = request.node.get_closest_marker("graded")
    limit = (marker.kwargs.get("time_limit") if marker else None) or LIMITS.call_seconds
    handle = request.getfixturevalue("student")
    with handle.limited_to(limit):
        yield


@pytest.fixture
def hidden_rng(request):
    """A NumPy generator for a hidden test's inputs: the run's seed, mixed with the test's name."""
    import zlib

    import numpy as np

    seed = request.config._dlgrade_extra["seed"]
    return np.random.default_rng([seed, zlib.crc32(request.node.name.encode())])
