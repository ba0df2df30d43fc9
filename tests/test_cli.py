"""The dlgrade command line: exit codes, output formats, batches that resume."""

import base64
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
import zipfile

import jsonschema
import pytest

from grader.engine import batch
from grader.results import formats
from tests.helpers import EXERCISES, ROOT, SOLUTIONS, make_submission

FAST = ["--modules", "activations", "--no-hidden", "--quiet"]


def dlgrade(*arguments, cwd=ROOT, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "grader", *map(str, arguments)], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    "arguments, words",
    [
        (["check", "--submission", "/no/such/folder"], "no such file or folder"),
        (["check", "softmax"], "unknown module 'softmax'"),
        (["grade", "/no/such/folder", "--out", "x"], "no such file or folder"),
        (["grade", str(SOLUTIONS), "--modules", "convolution", "--out", "x"], "unknown module"),
        (["grade", str(SOLUTIONS), "--modules", "activation", "--out", "x"], "did you mean 'activations'?"),
    ],
)
def test_bad_input_gets_one_line_and_exit_code_2(arguments, words, tmp_path):
    completed = dlgrade(*arguments, cwd=tmp_path)
    assert completed.returncode == 2, completed
    assert completed.stderr.count("\n") == 1 and words in completed.stderr, completed.stderr


def test_a_folder_without_modules_and_an_unreadable_zip_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    for target, words in ((tmp_path / "empty", "none of the course modules"), (tmp_path / "broken.zip", "zip")):
        completed = dlgrade("grade", target, "--out", tmp_path / "out")
        assert completed.returncode == 2 and words in completed.stderr and completed.stderr.count("\n") == 1


def test_format_json_prints_only_the_results_json(tmp_path):
    completed = dlgrade("grade", SOLUTIONS, "--format", "json", *FAST)
    assert completed.returncode == 0, completed.stderr
    data = json.loads(completed.stdout)
    jsonschema.validate(data, formats.schema("gradescope"))
    assert data["score"] == data["max_score"] == 14
    assert all(test["tags"][0] == "activations" for test in data["tests"])


def test_format_classroom_prints_base64_of_a_valid_weighted_result():
    completed = dlgrade("grade", SOLUTIONS, "--format", "classroom", *FAST)
    data = json.loads(base64.b64decode(completed.stdout.strip()))
    jsonschema.validate(data, formats.schema("classroom"))
    assert data["max_score"] == 14 and sum(test["score"] for test in data["tests"]) == 14


def test_format_junit_is_xml_with_one_case_per_test():
    completed = dlgrade("grade", EXERCISES, "--format", "junit", *FAST)
    suite = ElementTree.fromstring(completed.stdout.split("?>", 1)[1]).find("testsuite")
    assert int(suite.get("tests")) == len(suite.findall("testcase")) > 0
    assert int(suite.get("failures")) == int(suite.get("tests"))


def test_check_shows_the_table_and_feedback_and_exits_0(tmp_path):
    make_submission(tmp_path / "exercises", base=EXERCISES)
    completed = dlgrade("check", "activations", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "activations" in completed.stdout and "0/14" in completed.stdout
    assert "not attempted yet" in completed.stdout
    assert "hidden re-checks of the same kinds of input" in completed.stdout


def test_check_activations_imports_torch_in_neither_process(tmp_path):
    folder = make_submission(tmp_path / "sub")
    # The student's side: a sigmoid that turns wrong if torch was imported in its process.
    source = (folder / "activations.py").read_text()
    (folder / "activations.py").write_text(
        source.replace(
            "def sigmoid(z):",
            "def sigmoid(z):\n    import sys\n    assert 'torch' not in sys.modules, 'torch!'\n"
            "    return _sigmoid(z)\n\n\ndef _sigmoid(z):",
            1,
        ).replace('    """Logistic sigmoid', '    """Logistic sigmoid', 1)
    )
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "grader", "check", "activations", "--submission", folder],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0
    assert "14/14" in completed.stdout, completed.stdout
    imported = [line.split("|")[-1].strip() for line in completed.stderr.splitlines() if "|" in line]
    assert imported and not [name for name in imported if name.split(".")[0] == "torch"]


def test_batch_writes_every_file_and_resumes_without_regrading(tmp_path):
    make_submission(tmp_path / "alice")
    make_submission(tmp_path / "bob", base=EXERCISES)
    with zipfile.ZipFile(tmp_path / "carol.zip", "w") as archive:  # a zipped student repository
        for path in EXERCISES.glob("*.py"):
            archive.write(path, f"carol-repo/exercises/{path.name}")
    out = tmp_path / "out"
    submissions = [tmp_path / "alice", tmp_path / "bob", tmp_path / "carol.zip"]
    completed = dlgrade("grade", *submissions, "--out", out, "--jobs", "2", *FAST)
    assert completed.returncode == 0, completed.stderr
    rows = (out / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("id,total,max_total,activations")
    assert sorted(row.split(",")[:3] for row in rows[1:]) == [
        ["alice", "14", "14"],
        ["bob", "0", "14"],
        ["carol", "0", "14"],
    ]
    for name in ("alice", "bob", "carol"):
        assert {path.name for path in (out / name).iterdir()} >= {
            "results.json",
            "feedback.md",
            "feedback-instructor.md",
        }
    assert "Score: 14/14" in (out / "alice" / "feedback.md").read_text()
    assert "summary" in (out / "summary.md").read_text().lower()
    canvas = (out / "canvas.csv").read_text().splitlines()  # the same totals, as Canvas imports them
    assert canvas[0].startswith("Student,ID,SIS User ID,SIS Login ID,Section,")
    assert any(",alice," in row and row.endswith(",14") for row in canvas)
    # Lose one result, as a crash would; the next run grades only that one.
    kept = (out / "alice" / "results.json").stat().st_mtime_ns
    (out / "bob" / "results.json").unlink()
    completed = dlgrade("grade", *submissions, "--out", out, "--jobs", "2", *FAST)
    assert (out / "alice" / "results.json").stat().st_mtime_ns == kept
    assert (out / "bob" / "results.json").is_file()


def test_a_killed_batch_loses_nothing_and_the_rerun_finishes_it(tmp_path):
    for name in ("a", "b", "c", "d"):
        make_submission(tmp_path / name)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "grade", *(tmp_path / name for name in "abcd"), "--out", out, *FAST]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while not list(out.glob("*/results.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = list(out.glob("*/results.json"))
    assert finished, "no submission finished before the kill"
    for path in finished:
        assert json.loads(path.read_text())["score"] == 14  # whole files only
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode == 0
    assert len(list(out.glob("*/results.json"))) == 4


def test_verify_fails_when_the_reference_is_not_100(tmp_path):
    make_submission(tmp_path / "solutions", base=EXERCISES)
    make_submission(tmp_path / "exercises", base=EXERCISES)
    completed = dlgrade("verify", "--course", tmp_path, "--seed", "1")
    assert completed.returncode == 1
    assert "solutions: 0/100 (expected 100) WRONG" in completed.stdout
    assert "exercises: 0/100 (expected 0) ok" in completed.stdout


def test_batch_ids_are_unique_whatever_the_folder_names_and_safe_names_are_kept():
    paths = ["alice!", "alice?", "alice_-2", "alice_", "Bob", "bob", "..", ".hidden", "x" * 300, "x" * 301, "é"]
    ids = [job.identifier for job in batch.identifiers(paths)]
    assert len({identifier.lower() for identifier in ids}) == len(ids), ids
    assert ids[2] == "alice_-2" and ids[3] == "alice_" and ids[4] == "Bob"  # safe names are never renamed
    assert all(len(identifier) <= 110 and not identifier.startswith(".") and "/" not in identifier
               for identifier in ids)  # fmt: skip


def test_batch_ids_are_unique_and_name_the_student_where_folder_names_repeat():
    paths = [
        "submitted/alice/dl-exercises",
        "submitted/bob/dl-exercises",
        "zips/carol.zip",
        "grades.csv",
        "x/dave",
        "y/dave",
    ]
    assert [job.identifier for job in batch.identifiers(paths)] == [
        "alice-dl-exercises",
        "bob-dl-exercises",
        "carol",
        "grades.csv-2",
        "x-dave",
        "y-dave",
    ]
