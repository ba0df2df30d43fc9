"""Gradescope: the autograder zip, and its run_autograder on a simulated /autograder tree."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import jsonschema
import pytest

from grader.course import MODULE_POINTS, MODULES, TOTAL_POINTS
from grader.doors.gradescope import build_bundle
from grader.engine import intake
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


def run_autograder(autograder, submission, results, wait=True, metadata=None, **environment):
    command = [str(autograder / "run_autograder")]
    metadata_file = autograder / "submission_metadata.json"
    metadata_file.unlink(missing_ok=True)
    if metadata is not None:
        metadata_file.write_text(json.dumps(metadata))
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
    # ...and the image build fails where the worker could not run as a user of its own.
    assert setup.index("go-rwx") < setup.index("sandbox.preflight(namespaces=False)")
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


# ----------------------------------------------------------------------------- every upload layout

# activations alone: no other module needed, and neither side imports torch (conv_size's checks would,
# 6.2 s a grading instead of 1.7 s), so each layout grades in seconds.
MODULE = "activations"
MODULE_FILES = {f"{MODULE}.py": (SOLUTIONS / f"{MODULE}.py").read_text()}
METADATA = {
    "id": 123456,
    "created_at": "2026-01-20T14:22:32.365935-07:00",
    "assignment": {"id": 25828, "title": "Deep-learning exercises", "total_points": "100.0"},
    "submission_method": "upload",
    "users": [{"email": "ada@example.edu", "id": 1234, "name": "Ada Lovelace"}],
    "previous_submissions": [],
}


def notebook_of(source: str) -> str:
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]})


def zipped(path, files: dict) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)


# What /autograder/submission holds for each way a student uploads: Gradescope unpacks an uploaded zip
# into it (so a zipped folder arrives as the folder), and a GitHub upload gives the repository's files.
LAYOUTS = {
    "files": {f"{MODULE}.py": MODULE_FILES[f"{MODULE}.py"]},
    "a folder": {f"my-work/{MODULE}.py": MODULE_FILES[f"{MODULE}.py"]},
    "nested folders": {f"homework/deep learning/week 3/{MODULE}.py": MODULE_FILES[f"{MODULE}.py"]},
    "GitHub upload": {f"exercises/{MODULE}.py": MODULE_FILES[f"{MODULE}.py"], "README.md": "# mine"},
    "GitHub archive": {f"dl-exercises-main/exercises/{MODULE}.py": MODULE_FILES[f"{MODULE}.py"]},
    "notebooks": {f"{MODULE}.ipynb": notebook_of(MODULE_FILES[f"{MODULE}.py"])},
    "a zipped folder kept as a file": "zip:my-work",
    "GitHub archive kept as a zip": "zip:dl-exercises-main/exercises",
}


def upload(folder, layout) -> None:
    folder.mkdir(parents=True)
    content = LAYOUTS[layout]
    if isinstance(content, str):  # a zip file as the submission's only file
        inside = content.removeprefix("zip:")
        zipped(folder / "submission.zip", {f"{inside}/{name}": text for name, text in MODULE_FILES.items()})
        return
    for name, text in content.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_upload_layout_is_graded_as_dlgrade_grade_grades_it(autograder, tmp_path, layout):
    upload(tmp_path / "submission", layout)
    data = run_autograder(
        autograder, tmp_path / "submission", tmp_path / "results.json", metadata=METADATA, DLGRADE_MODULES=MODULE
    )
    assert (data["score"], data["max_score"]) == (MODULE_POINTS[MODULE],) * 2, data["output"]
    assert "placeholder" not in data["extra_data"]
    assert any("hidden" in test["tags"] for test in data["tests"])  # graded as Gradescope grades: hidden on


def test_the_result_shows_markdown_feedback_names_the_student_and_fills_the_leaderboard(autograder, tmp_path):
    folder = make_submission(tmp_path / "submission", base=EXERCISES)
    shutil.copyfile(SOLUTIONS / f"{MODULE}.py", folder / f"{MODULE}.py")
    data = run_autograder(
        autograder, folder, tmp_path / "results.json", metadata=METADATA, DLGRADE_MODULES=f"{MODULE} forward"
    )
    assert data["score"] == MODULE_POINTS[MODULE] and data["output_format"] == "md"
    points = f"{MODULE_POINTS[MODULE]:g}"
    assert data["output"].startswith("# Feedback") and f"| {MODULE} | {points}/{points} |" in data["output"]
    assert "forward: not attempted yet" in data["output"]
    student = data["extra_data"]["student"]
    assert student["names"] == ["Ada Lovelace"] and student["submission_id"] == 123456
    assert student["users"] == [{"name": "Ada Lovelace", "email": "ada@example.edu", "id": 1234}]
    assert data["leaderboard"] == [{"name": "Points", "value": data["score"], "order": "desc"}]


def test_the_bundled_samples_are_every_layout_of_the_stubs(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as archive:
        names = [name for name in archive.namelist() if name.startswith("samples/")]
        assert "samples/README.md" in names
        samples = {name: archive.read(name) for name in names if name.endswith(".zip")}
    assert len(samples) >= 5
    for name, data in samples.items():
        folder = tmp_path / Path(name).stem
        folder.mkdir()
        (folder / "upload.zip").write_bytes(data)  # as Gradescope keeps a zip uploaded as a file
        with intake.opened(folder) as submission:  # where run_autograder's grading opens it
            found = sorted(path.name for path in submission.folder.iterdir())
            assert found == sorted(f"{module}.py" for module in MODULES), name
            for module in MODULES:  # the stubs, never a solution
                assert (submission.folder / f"{module}.py").read_bytes() == (EXERCISES / f"{module}.py").read_bytes()
