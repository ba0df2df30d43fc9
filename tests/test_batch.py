"""Batches that resume right: a rerun regrades what changed, an interrupted batch leaves nothing running.

The signal tests grade for real in the sandbox (the workers are what must not
outlive the batch); the others use `--in-process` on one module, where
isolation does not matter, to stay fast.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

import grader
from tests.helpers import ROOT, answers_ctrl_c, make_submission
from tests.redteam.attacks import ATTACKS

FAST = ["--modules", "activations", "--no-hidden", "--quiet"]
# relu never returns: the test calling it waits out its 60 s call limit, so the grading stays in flight.
HANGS = "\n\ndef relu(z):\n    while True:\n        pass\n"


def hanging_submission(folder: Path) -> Path:
    make_submission(folder)
    (folder / "activations.py").write_text((folder / "activations.py").read_text() + HANGS)
    return folder


def grading_processes(marker: Path) -> list[str]:
    """Live processes whose command line mentions `marker` (zombies have an empty one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command_line = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        if str(marker).encode() in command_line:
            words = command_line.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {words[:300]}")
    return found


def wait_for_none(marker: Path, seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := grading_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def start_batch(tmp_path: Path, submissions: list[Path], *options) -> tuple[subprocess.Popen, list]:
    """`dlgrade grade` in a session of its own, its temporary files (and so its workers' command lines) in tmp_path."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    command = [sys.executable, "-m", "grader", "grade", *map(str, submissions), "--out", str(tmp_path / "out"), *FAST]
    command += list(options)
    environment = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=answers_ctrl_c,
    )
    return process, command


def wait_for_results(out: Path, count: int, process: subprocess.Popen, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while len(list(out.glob("*/results.json"))) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the batch graded too little in time"
        time.sleep(0.05)


def rerun(command: list, tmp_path: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)


def test_sigint_stops_in_flight_gradings_at_once_writes_the_gradebook_and_a_rerun_finishes(tmp_path):
    submissions = [make_submission(tmp_path / "a"), make_submission(tmp_path / "b")]
    submissions.append(hanging_submission(tmp_path / "hangs"))
    process, command = start_batch(tmp_path, submissions, "--jobs", "3")
    out = tmp_path / "out"
    wait_for_results(out, 2, process)
    time.sleep(1)  # the hanging grading is in its endless call by now
    assert grading_processes(tmp_path / "hangs"), "the hanging submission is not being graded"
    interrupted = time.monotonic()
    os.kill(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    seconds = time.monotonic() - interrupted
    assert process.returncode == 130, stderr
    assert seconds < 10, f"{seconds:.1f} s from SIGINT to exit"
    assert "run the same command again" in stderr, stderr
    assert wait_for_none(tmp_path, 5) == []
    rows = {row.split(",")[0]: row for row in (out / "grades.csv").read_text().splitlines()[1:]}
    assert rows["a"].startswith("a,14,14") and rows["hangs"].endswith("interrupted"), rows
    assert "hangs: interrupted" in (out / "summary.md").read_text()
    assert not (out / "hangs" / "results.json").exists()
    # The student fixes relu; the rerun grades only what is left.
    make_submission(tmp_path / "hangs")
    kept = (out / "a" / "results.json").stat().st_mtime_ns
    completed = rerun(command, tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert (out / "a" / "results.json").stat().st_mtime_ns == kept
    assert json.loads((out / "hangs" / "results.json").read_text())["score"] == 14


def test_a_second_sigint_still_leaves_no_grading_process(tmp_path):
    submissions = [make_submission(tmp_path / "a"), hanging_submission(tmp_path / "hangs")]
    process, _ = start_batch(tmp_path, submissions, "--jobs", "2")
    wait_for_results(tmp_path / "out", 1, process)
    time.sleep(1)
    os.kill(process.pid, signal.SIGINT)
    time.sleep(0.2)
    os.kill(process.pid, signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130
    assert wait_for_none(tmp_path, 5) == []


def test_a_batch_killed_outright_leaves_no_grading_process_and_a_rerun_finishes(tmp_path):
    submissions = [make_submission(tmp_path / "a"), hanging_submission(tmp_path / "hangs")]
    process, command = start_batch(tmp_path, submissions, "--jobs", "2")
    out = tmp_path / "out"
    wait_for_results(out, 1, process)
    time.sleep(1)
    before = grading_processes(tmp_path / "tmp")
    assert before, "no grading process found to outlive the batch"
    process.kill()  # the batch alone, as the OOM killer would: not its process group
    process.communicate()
    left = wait_for_none(tmp_path, 5)
    assert left == [], f"{len(left)} of the batch's processes outlived it:\n" + "\n".join(left)
    make_submission(tmp_path / "hangs")
    completed = rerun(command, tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert len(list(out.glob("*/results.json"))) == 2


# -- what a rerun regrades -------------------------------------------------------------------------

QUICK = [*FAST, "--in-process"]  # isolation does not matter here


def dlgrade(*arguments) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "grader", *map(str, arguments)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def graded_at(out: Path) -> dict[str, int]:
    return {path.parent.name: path.stat().st_mtime_ns for path in out.glob("*/results.json")}


def regraded(out: Path, before: dict[str, int]) -> set[str]:
    return {name for name, mtime in graded_at(out).items() if before.get(name) != mtime}


def test_a_rerun_regrades_what_changed_files_or_options_and_skips_only_the_identical(tmp_path):
    submissions = [make_submission(tmp_path / name) for name in ("alice", "bob")]
    out = tmp_path / "out"
    assert dlgrade("grade", *submissions, "--out", out, "--jobs", "2", *QUICK).returncode == 0
    extra = json.loads((out / "alice" / "results.json").read_text())["extra_data"]
    assert extra["grader_version"] == grader.__version__
    assert extra["options"] == {
        "modules": ["activations"],
        "hidden": False,
        "seed": None,
        "time_limit": 1200.0,
        "in_process": True,
        "allow_weak_isolation": False,
    }
    assert extra["files"].startswith("sha256:")

    before = graded_at(out)
    completed = dlgrade("grade", *submissions, "--out", out, *QUICK)
    assert completed.returncode == 0 and regraded(out, before) == set(), completed.stderr
    assert "skipping 2 graded already" in completed.stderr

    (tmp_path / "bob" / "activations.py").write_text((tmp_path / "bob" / "activations.py").read_text() + "# v2\n")
    before = graded_at(out)
    completed = dlgrade("grade", *submissions, "--out", out, *QUICK)
    assert regraded(out, before) == {"bob"}, completed.stderr
    assert "regrading bob: its files changed" in completed.stderr

    before = graded_at(out)
    completed = dlgrade("grade", *submissions, "--out", out, *QUICK, "--time-limit", "600")
    assert regraded(out, before) == {"alice", "bob"}, completed.stderr
    assert "graded with other options (time_limit)" in completed.stderr

    before = graded_at(out)
    completed = dlgrade("grade", *submissions, "--out", out, *QUICK, "--time-limit", "600", "--regrade", "bob")
    assert regraded(out, before) == {"bob"}, completed.stderr

    completed = dlgrade("grade", *submissions, "--out", out, *QUICK, "--regrade", "alicia")
    assert completed.returncode == 2 and "did you mean 'alice'" in completed.stderr, completed.stderr

    before = graded_at(out)
    completed = dlgrade("grade", *submissions, "--out", out, *QUICK, "--time-limit", "600", "--force")
    assert regraded(out, before) == {"alice", "bob"}, completed.stderr


def test_the_seed_recorded_is_the_one_given_or_where_it_came_from_and_a_new_one_regrades(tmp_path):
    submission, out = make_submission(tmp_path / "alice"), tmp_path / "out"
    with_hidden = ["--modules", "activations", "--quiet", "--in-process"]
    assert dlgrade("grade", submission, "--out", out, *with_hidden).returncode == 0
    record = json.loads((out / "alice" / "results.json").read_text())["extra_data"]
    assert record["options"]["hidden"] and record["options"]["seed"].startswith("course secret ")
    assert str(record["seed"]) not in record["options"]["seed"]  # the derived seed itself is not an option
    before = graded_at(out)
    completed = dlgrade("grade", submission, "--out", out, *with_hidden, "--seed", "7")
    assert regraded(out, before) == {"alice"} and "(seed)" in completed.stderr, completed.stderr
    assert json.loads((out / "alice" / "results.json").read_text())["extra_data"]["options"]["seed"] == 7


# -- exit codes, formats, feedback -------------------------------------------------------------------


def test_a_batch_with_an_invalid_submission_exits_1_and_junit_has_a_testsuite_per_submission(tmp_path):
    (tmp_path / "empty").mkdir()
    make_submission(tmp_path / "alice")
    out = tmp_path / "out"
    completed = dlgrade("grade", tmp_path / "alice", tmp_path / "empty", "--out", out, "--format", "junit", *QUICK)
    assert completed.returncode == 1, completed.stderr
    assert "empty: invalid" in completed.stderr
    assert (out / "alice" / "junit.xml").is_file()
    suites = ElementTree.parse(out / "junit.xml").getroot()
    assert suites.tag == "testsuites"
    by_name = {suite.get("name"): suite for suite in suites.findall("testsuite")}
    assert set(by_name) == {"alice", "empty"}
    assert int(by_name["alice"].get("tests")) == len(by_name["alice"].findall("testcase")) > 0
    assert by_name["alice"].get("failures") == "0" and by_name["empty"].get("errors") == "1"
    completed = dlgrade("grade", tmp_path / "alice", "--out", out, "--format", "junit", *QUICK)
    assert completed.returncode == 0, completed.stderr


def test_feedback_md_is_the_students_and_names_no_hidden_test_the_instructors_does(tmp_path):
    # A table of the published sigmoid inputs: the public tests pass, their hidden re-checks fail.
    (table,) = [attack for attack in ATTACKS if attack.name == "lookup-table-of-the-public-sigmoid-inputs"]
    submission, out = make_submission(tmp_path / "bob"), tmp_path / "out"
    (submission / "activations.py").write_text((submission / "activations.py").read_text() + table.append)
    completed = dlgrade("grade", submission, "--out", out, "--modules", "activations", "--quiet", "--in-process")
    assert completed.returncode == 0, completed.stderr
    tests = json.loads((out / "bob" / "results.json").read_text())["tests"]
    hidden = [test["name"] for test in tests if test["extra_data"]["hidden"]]
    failed = [  # that ran and failed; sigmoid_grad's, its public tests failed, are left out
        test["name"]
        for test in tests
        if test["extra_data"]["hidden"] and test["extra_data"].get("failure", {}).get("kind") == "wrong"
    ]
    student, instructor = ((out / "bob" / name).read_text() for name in ("feedback.md", "feedback-instructor.md"))
    assert failed and all(name in instructor for name in failed), instructor
    assert not any(name in student for name in hidden), student


@pytest.mark.parametrize("limit", ["-5", "0", "nan"])
def test_a_time_limit_that_is_not_positive_gets_one_line_and_exit_code_2(limit, tmp_path):
    completed = dlgrade("grade", ROOT / "solutions", "--out", tmp_path / "out", "--time-limit", limit)
    assert completed.returncode == 2 and completed.stderr.count("\n") == 1, completed.stderr
    assert "--time-limit must be a positive number of seconds" in completed.stderr
    assert not (tmp_path / "out").exists()


def test_version_is_the_installed_distributions():
    completed = dlgrade("--version")
    assert completed.returncode == 0
    assert completed.stdout == f"dlgrade {importlib.metadata.version('dlgrade')}\n" == f"dlgrade {grader.__version__}\n"


# -- the mechanism: a group dies with the process, not with the thread that started it ---------------

STARTS_FROM_A_THREAD = """
import sys, threading, time
from grader.system import RUNNING

started = []
sleeper = [sys.executable, "-c", "import time; time.sleep(300)", sys.argv[1]]
thread = threading.Thread(target=lambda: (started.append(RUNNING.start(sleeper)), time.sleep(0.5)))
thread.start()
thread.join()  # the thread that asked for the process has ended, once the process had armed its signal
time.sleep(1)
print(started[0].pid, started[0].poll() is None, flush=True)
time.sleep(300)
"""


def test_a_group_outlives_the_thread_that_started_it_and_dies_with_the_process(tmp_path):
    marker = tmp_path / "marker"
    process = subprocess.Popen(
        [sys.executable, "-c", STARTS_FROM_A_THREAD, str(marker)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        _, alive = process.stdout.readline().split()
        assert alive == "True", "the process died with the thread that asked for it"
        assert grading_processes(marker)
    finally:
        process.kill()
        process.wait()
    assert wait_for_none(marker, 5) == []
