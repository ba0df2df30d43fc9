"""Opening a submission is bounded and fails with one line: zips that lie or overflow, malformed notebooks."""

import io
import json
import subprocess
import sys
import time
import zipfile

import pytest

from grader.engine import intake, notebooks
from grader.errors import SubmissionError
from grader.limits import LIMITS
from tests.helpers import ROOT, SOLUTIONS

RELU = "def relu(z):\n    return z\n"


def zip_of(path, entries: dict, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


def refusal(path, **options) -> str:
    with pytest.raises(SubmissionError) as raised:
        with intake.opened(path, **options):
            pass
    return str(raised.value)


def test_only_files_named_like_course_modules_are_unpacked_wherever_they_lie(tmp_path):
    archive = zip_of(tmp_path / "repo.zip", {
        "repo-main/exercises/activations.py": RELU,
        "repo-main/exercises/conftest.py": "raise SystemExit",
        "repo-main/.venv/lib/numpy.py": "raise SystemExit",
        "repo-main/README.md": "# hello",
    })  # fmt: skip
    with intake.opened(archive) as submission:
        assert sorted(path.name for path in submission.folder.iterdir()) == ["activations.py"]


def test_a_zip_is_refused_past_the_bytes_it_really_unpacks(tmp_path, monkeypatch):
    monkeypatch.setattr(LIMITS, "submission_file_bytes", 100_000)
    archive = zip_of(tmp_path / "big.zip", {"activations.py": "#" * 200_000})  # 200 KB from a 1 KB zip
    assert "activations.py unpacks to more than" in refusal(archive)
    monkeypatch.setattr(LIMITS, "submission_file_bytes", 32 * 1024**2)
    monkeypatch.setattr(LIMITS, "zip_bytes", 300_000)
    copies = {f"copy{index}/activations.py": "#" * 100_000 for index in range(5)}
    assert "unpacks to more than" in refusal(zip_of(tmp_path / "many.zip", copies))


def test_a_zip_of_too_many_entries_or_module_files_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(LIMITS, "zip_entries", 50)
    empties = {f"empty{index}.txt": "" for index in range(51)}
    assert "51 entries" in refusal(zip_of(tmp_path / "entries.zip", empties))
    monkeypatch.setattr(LIMITS, "zip_module_files", 4)
    modules = {f"copy{index}/activations.py": RELU for index in range(5)}
    assert "5 files named like course modules" in refusal(zip_of(tmp_path / "modules.zip", modules))


def test_unpacking_counts_against_the_time_allowed(tmp_path):
    archive = zip_of(tmp_path / "slow.zip", {"activations.py": RELU})
    assert "took longer to unpack" in refusal(archive, deadline=time.monotonic() - 1)


def corrupt_zip(path):
    buffer = io.BytesIO()
    zip_of(buffer, {"activations.py": RELU * 2000})
    data = bytearray(buffer.getvalue())
    start = 30 + len("activations.py")  # the local header, then the compressed data
    for index in range(start + 5, start + 60):
        data[index] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("kind", ["corrupt deflate data", "a file and a folder of one name", "a too long name"])
def test_a_malformed_zip_gets_one_line_and_exit_code_2(tmp_path, kind):
    if kind == "corrupt deflate data":
        archive = corrupt_zip(tmp_path / "corrupt.zip")
    elif kind == "a file and a folder of one name":
        archive = zip_of(tmp_path / "clash.zip", {"a/activations.py": RELU, "a/activations.py/activations.py": RELU})
    else:
        archive = zip_of(tmp_path / "long.zip", {"x" * 300 + "/activations.py": RELU})
    completed = subprocess.run([sys.executable, "-m", "grader", "grade", archive, "--out", tmp_path / "out"],
                               capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr, completed.stderr


MALFORMED_NOTEBOOKS = {
    "cells not a list": {"nbformat": 4, "cells": {"0": {}}},
    "a cell not an object": {"nbformat": 4, "cells": ["print(1)"]},
    "metadata a list": {"nbformat": 4, "cells": [{"cell_type": "code", "metadata": [], "source": RELU}]},
    "nbgrader metadata a string": {
        "nbformat": 4, "cells": [{"cell_type": "code", "metadata": {"nbgrader": "yes"}, "source": RELU}]},
    "source of numbers": {"nbformat": 4, "cells": [{"cell_type": "code", "metadata": {}, "source": [1, 2]}]},
    "cell type a number": {"nbformat": 4, "cells": [{"cell_type": 3, "metadata": {}, "source": RELU}]},
}  # fmt: skip


@pytest.mark.parametrize("kind", [*MALFORMED_NOTEBOOKS, "nested 100000 deep", "too large"])
def test_a_malformed_notebook_costs_its_module_and_says_so_without_a_traceback(tmp_path, kind, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    path = folder / "activations.ipynb"
    if kind == "nested 100000 deep":
        path.write_text("[" * 100_000 + "]" * 100_000)
    elif kind == "too large":
        monkeypatch.setattr(LIMITS, "submission_file_bytes", 1000)
        path.write_text(json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "source": "#" * 2000}]}))
    else:
        path.write_text(json.dumps(MALFORMED_NOTEBOOKS[kind]))
    exported = notebooks.export_modules(folder)["activations"]
    assert "could not be read as a notebook" in exported.notes[0]
    assert exported.text.startswith("raise ImportError")


def test_a_well_formed_notebook_still_exports(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    cells = [{"cell_type": "code", "metadata": {"nbgrader": {"solution": True}}, "source": [RELU]}]
    (folder / "activations.ipynb").write_text(json.dumps({"nbformat": 4, "cells": cells}))
    exported = notebooks.export_modules(folder)["activations"]
    assert not exported.notes and "def relu(z):" in exported.text
    assert SOLUTIONS.is_dir()


# ----------------------------------------------------------------------------- where the modules lie


def folder_of(root, relative: str, modules=("activations",), suffix=".py"):
    folder = root / relative if relative else root
    folder.mkdir(parents=True, exist_ok=True)
    for module in modules:
        (folder / f"{module}{suffix}").write_text(RELU)
    return folder


@pytest.mark.parametrize(
    "layout",
    ["", "exercises", "hw1", "hw1/dl", "repo-main/exercises", "upload/repo-main/exercises", "a/b/c/d"],
)
def test_modules_are_found_a_few_folders_down(tmp_path, layout):
    expected = folder_of(tmp_path / "submission", layout)
    assert intake.find_modules(tmp_path / "submission") == (expected, ".py")
    with intake.opened(tmp_path / "submission") as submission:
        assert submission.folder == expected.resolve()


def test_a_repository_is_graded_by_its_exercises_not_by_its_copy_of_the_grader(tmp_path):
    root = tmp_path / "repo-main"
    folder_of(root, "grader/worker/probes", ("activations", "cnn"))
    folder_of(root, "solutions")  # shallower than exercises/'s contents, and still not what is graded
    expected = folder_of(root, "exercises")
    assert intake.locate(tmp_path) == expected
    (root / "activations.py").write_text(RELU)  # the repository's own top-level modules come first
    assert intake.locate(tmp_path) == root


def test_two_copies_at_one_depth_are_refused_and_links_are_not_followed(tmp_path):
    folder_of(tmp_path / "two", "alice")
    folder_of(tmp_path / "two", "bob")
    assert "several folders (alice/, bob/)" in refusal(tmp_path / "two")
    target = folder_of(tmp_path, "elsewhere")
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "exercises").symlink_to(target)
    (tmp_path / "linked" / "deeper").symlink_to(tmp_path / "elsewhere")
    assert "none of the course modules" in refusal(tmp_path / "linked")


def test_notebooks_a_few_folders_down_are_found_after_the_modules_beside_them(tmp_path):
    notebook = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "source": RELU, "outputs": [], "execution_count": None}]})  # fmt: skip
    folder = tmp_path / "submission" / "alice" / "dl-exercises"
    folder.mkdir(parents=True)
    (folder / "activations.ipynb").write_text(notebook)
    assert intake.find_modules(tmp_path / "submission") == (folder, ".ipynb")
    with intake.opened(tmp_path / "submission") as submission:
        assert submission.notebooks and "def relu" in (submission.folder / "activations.py").read_text()
    (folder / "activations.py").write_text(RELU)
    assert intake.find_modules(tmp_path / "submission") == (folder, ".py")


@pytest.mark.parametrize("inside", ["activations.py", "hw1/activations.py", "repo-main/exercises/activations.py"])
def test_a_folder_holding_only_a_zip_is_that_zip(tmp_path, inside):
    upload = tmp_path / "submission"
    upload.mkdir()
    zip_of(upload / "my work.zip", {inside: RELU, "repo-main/README.md": "# hi"})
    with intake.opened(upload) as submission:
        assert sorted(path.name for path in submission.folder.iterdir()) == ["activations.py"]
    (upload / "notes.txt").write_text("and something else")
    assert "none of the course modules" in refusal(upload)
