"""The graded suites' pytest plugin: the `student` object, per-test time limits, hidden seeds.

`grader/suite/` holds the public tests, `grader/hidden/` the hidden ones (run
only with `--hidden`, which `dlgrade grade` passes). `grader.engine.runner`
loads this plugin with `-p grader.engine.fixtures` and `--noconftest`. By hand:
`pytest grader/suite -p grader.engine.fixtures --noconftest --submission=DIR`,
DIR the folder holding the modules (one argument: a separate DIR would be
taken for a test path, and a conftest.py in it loaded); or through `dlgrade`.
"""

from __future__ import annotations

import gc
import secrets
from pathlib import Path

import pytest

from grader.course import uses_torch
from grader.engine import scoring
from grader.engine.intake import module_files
from grader.engine.student import Student
from grader.limits import LIMITS


def pytest_addoption(parser):
    scoring.add_options(parser)


def pytest_ignore_collect(collection_path, config):
    if collection_path.name == "hidden" and not config.getoption("hidden"):
        return True
    return None


def pytest_collection_finish(session):
    # What is imported and collected lives to the session's end: kept out of the garbage collector's
    # full passes, which otherwise walk all of PyTorch's objects again (~0.25 s a grading). Given back
    # to it at the end (pytest_unconfigure), for a process that runs many sessions.
    gc.freeze()


def pytest_configure(config):
    config.addinivalue_line("markers", "graded(points, exercise, time_limit): a graded test")
    config.addinivalue_line("markers", "cuda: needs a real CUDA GPU; worth no points")
    facts = config.stash[scoring.RUN_FACTS] = {}
    if config.getoption("hidden"):
        seed = config.getoption("seed")
        facts["seed"] = secrets.randbits(128) if seed is None else seed  # 128 bits: never guessed
    if not config.pluginmanager.has_plugin("dlgrade-scoring"):
        config.pluginmanager.register(scoring.ScoringPlugin(config), "dlgrade-scoring")


def pytest_sessionstart(session):
    """Start the submission's backend before collection, so the worker boots while tests load."""
    config = session.config
    folder = Path(config.getoption("submission") or Path.cwd() / "exercises")
    if not module_files(folder):
        raise pytest.UsageError(
            f"{folder}: holds none of the course modules; give --submission=DIR, the folder with the .py modules"
        )
    if config.getoption("in_process"):
        from grader.engine.backends import InProcess

        backend = InProcess(folder)
    else:
        from grader.engine.sandbox import Sandboxed

        graded = {scoring.module_name(argument.split("::")[0]) for argument in config.args} - {None}
        backend = Sandboxed(
            folder,
            allow_weak_isolation=config.getoption("allow_weak_isolation"),
            torch=uses_torch(graded or None),  # the worker template preloads it
        )
    config.stash[scoring.RUN_FACTS]["submission"] = str(folder)
    if config.getoption("allow_weak_isolation"):
        config.stash[scoring.RUN_FACTS]["weak_isolation_allowed"] = True
    config.stash[scoring.BACKEND] = backend


def pytest_unconfigure(config):
    backend = config.stash.get(scoring.BACKEND, None)
    if backend is not None:
        backend.close()
    gc.unfreeze()


@pytest.fixture(scope="session")
def student(request):
    return Student(request.config.stash[scoring.BACKEND])


@pytest.fixture(scope="session")
def pictures(request):
    """Where public tests keep plain data they computed, for the course's pictures (grader.results.pictures).

    Public tests only: what a hidden test computes stays secret.
    """
    return request.config.stash.setdefault(scoring.PICTURES, {})


HIDDEN_PHASE = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """The hidden tests (run after every public one) get a fresh worker."""
    if scoring.is_hidden(item) and not item.config.stash.get(HIDDEN_PHASE, False):
        item.config.stash[HIDDEN_PHASE] = True
        backend = item.config.stash.get(scoring.BACKEND, None)
        if backend is not None:
            backend.restart()


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
    request.config.stash[scoring.BACKEND].end_of_test()


def drawn_rng(request, name: str):
    """A NumPy generator for hidden inputs: the run's seed, mixed with `name`.

    Each hidden test draws from a generator of its own name (the fixture below);
    a hidden module's shared fixture names itself, so draws differ between them.
    """
    import zlib

    import numpy as np

    seed = request.config.stash[scoring.RUN_FACTS]["seed"]
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


@pytest.fixture
def hidden_rng(request):
    """A NumPy generator for a hidden test's inputs: the run's seed, mixed with the test's name."""
    return drawn_rng(request, request.node.name)
