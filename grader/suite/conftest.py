"""The graded suite's fixtures: the `student` object and per-test time limits.

Run it with `pytest grader/suite --submission DIR` (or through `dlgrade`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import scoring
from grader.student import Student


def pytest_addoption(parser):
    scoring.add_options(parser)


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("dlgrade-scoring"):
        config.pluginmanager.register(scoring.ScoringPlugin(config), "dlgrade-scoring")


@pytest.fixture(scope="session")
def student(request):
    from grader.submission import locate

    folder = locate(request.config.getoption("submission") or Path.cwd() / "exercises")
    if request.config.getoption("in_process"):
        from grader.student import InProcess

        backend = InProcess(folder)
    else:
        from grader.sandbox import Sandboxed

        backend = Sandboxed(folder)
    handle = Student(backend)
    request.config._dlgrade_extra = {"submission": str(folder), "backend": backend}
    yield handle
    handle.close()


@pytest.fixture(autouse=True)
def _time_limit(request):
    """Each test's calls run under the limit its @graded marker gives."""
    if "student" not in request.fixturenames:
        yield
        return
    marker = request.node.get_closest_marker("graded")
    limit = (marker.kwargs.get("time_limit") if marker else None) or scoring.DEFAULT_TIME_LIMIT
    handle = request.getfixturevalue("student")
    with handle.limited_to(limit):
        yield
