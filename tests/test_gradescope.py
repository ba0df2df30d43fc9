"""Gradescope: the autograder zip, and its run_autograder on a simulated /autograder tree."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import jsonschema
import pytest

from grader.course import MODULES, TOTAL_POINTS
from grader.doors.gradescope import build_bundle
from grader.results import formats
from tests.helpers import EXERCISES, ROOT, SOLUTIONS, make_submission


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    path = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    build_bundle(path, ROOT)
    return path


@pytest.fixture(scope="module")
def autograder(bundle, tmp_path_factory):
    """/autograder as Gradescope lays it out: the zip in source/, run_autograder copied beside it."""
    root = tmp_path_factory.mktemp("gradescope") / "autograder"
    source = root / "source"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(source)
        for member in archive.infolist():  # zipfile drops the modes; unzip keeps them
            (source / member.filename).chmod((member.external_attr >> 16) & 0o777)
    shutil.copy2(source / "run_autograder", root / "run_autograder")
    return root


def run_autograder(autograder, submission, results, wait=True, **environment):
    command = [str(autograder / "run_autograder")]
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(results.parent),
        "DLGRADE_AUTOGRADER": str(autograder),
        "DLGRADE_SUBMISSION": str(submission),
        "DLGRADE_RESULTS": str(results),
        "DLGRADE_PYTHON": sys.executable,
        **environment,
    }  # setup.sh's venv is not built here
    if not wait:
        return subprocess.Popen(
            command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return read_results(results)


def read_results(path):
    data = json.loads(path.read_text())
    jsonschema.validate(data, formats.schema("gradescope"))
    return data


def test_bundle_holds_the_scripts_the_project_and_every_test_but_no_solution(bundle):
    with zipfile.ZipFile(bundle) as archive:
        members = {member.filename: member for member in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        placeholder = json.loads(archive.read("placeholder_results.json"))
    for script in ("setup.sh", "run_autograder"):
        assert (members[script].external_attr >> 16) & 0o111, f"{script} is not executable"
    assert {
        "pyproject.toml",
        "README.md",
        "grader/cli.py",
        "grader/pytest.ini",
        "grader/results/schemas/gradescope.json",
    } <= set(members)
    for module in MODULES:
        assert f"grader/suite/test_{module}.py" in members
    hidden = {path.name for path in (ROOT / "grader" / "hidden").glob("test_*.py")}
    assert hidden and {f"grader/hidden/{name}" for name in hidden} <= set(members)
    for name in members:
        parts = name.split("/")
        assert not {"solutions", "exercises", "tests", "__pycache__"}.intersection(parts), name
        assert not name.endswith(".pyc")
    assert "python3.11" in setup and "https://download.pytorch.org/whl/cpu" in setup
    assert setup.index("download.pytorch.org") < setup.index('pip install -e "$SOURCE"')  # no second grader copy
    assert 'chmod -R go-rwx "$SOURCE/grader/hidden"' in setup  # the worker's own user cannot read them
    jsonschema.validate(placeholder, formats.schema("gradescope"))
    assert placeholder["score"] == 0 and sum(test["max_score"] for test in placeholder["tests"]) == TOTAL_POINTS


def test_reference_scores_100_with_the_hidden_tests(autograder, tmp_path):
    data = run_autograder(autograder, SOLUTIONS, tmp_path / "results" / "results.json")
    failed = "\n".join(
        f"{test['number']} {test['name']}: {test['output']}" for test in data["tests"] if test["status"] != "passed"
    )
    assert (data["score"], data["max_score"]) == (TOTAL_POINTS, TOTAL_POINTS), f"{data['output']}\n{failed}"
    hidden = [test for test in data["tests"] if "hidden" in test["tags"]]
    assert hidden and all(test["status"] == "passed" for test in hidden)
    assert "placeholder" not in data["extra_data"]


def test_stubs_score_0(autograder, tmp_path):
    data = run_autograder(autograder, EXERCISES, tmp_path / "results.json")
    assert (data["score"], data["max_score"]) == (0, TOTAL_POINTS)
    assert data["tests"] and "placeholder" not in data["extra_data"]


def test_a_submission_whose_every_import_crashes_still_gets_a_valid_result(autograder, tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    # softmax_loss ends the process it is imported in (a module no other imports, so that only its own
    # tests restart the worker); every other module raises.
    for module in MODULES:
        crash = "import os\nos._exit(0)\n" if module == "softmax_loss" else "raise RuntimeError('crashed on import')\n"
        (folder / f"{module}.py").write_text(crash)
    data = run_autograder(autograder, folder, tmp_path / "results.json")
    assert (data["score"], data["max_score"]) == (0, TOTAL_POINTS)
    assert data["tests"]


def test_a_submission_without_modules_is_told_what_to_upload(autograder, tmp_path):
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "notes.txt").write_text("my homework")
    data = run_autograder(autograder, tmp_path / "submission", tmp_path / "results.json")
    assert data["score"] == 0 and "could not be graded" in data["output"] and "activations.py" in data["output"]


def test_a_run_killed_midway_leaves_the_placeholder_result(autograder, tmp_path):
    folder = make_submission(
        tmp_path / "loops",
        "activations",
        [
            (
                "    z = np.asarray(z, dtype=float)\n    result = np.empty_like(z)",
                "    while True:\n        pass\n    z = np.asarray(z, dtype=float)\n    result = np.empty_like(z)",
            )
        ],
    )
    results = tmp_path / "results" / "results.json"
    # A short limit: the grading process, orphaned by the kill, then ends by itself soon after.
    process = run_autograder(autograder, folder, results, wait=False, DLGRADE_TIME_LIMIT="20")
    try:
        deadline = time.monotonic() + 60
        while not results.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(3)  # grading has started: the worker spins in sigmoid
        assert process.poll() is None, "run_autograder finished before it could be stopped"
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # what a platform timeout does
        process.wait()
    data = read_results(results)
    assert data["score"] == 0 and data["extra_data"] == {"placeholder": True}
    assert {test["tags"][0] for test in data["tests"]} == set(MODULES)
    assert all("did not finish" in test["output"] for test in data["tests"])
