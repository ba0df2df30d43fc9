"""The worker template and the batch's lanes: everything loads once, nothing passes between submissions."""

import concurrent.futures
import os
import textwrap
import time
from pathlib import Path

import pytest

from grader.engine import runner
from grader.engine.lanes import Lanes
from grader.engine.sandbox import Sandboxed, worker_template
from grader.engine.student import Student
from grader.limits import LIMITS
from tests.helpers import SOLUTIONS, make_submission

# Each function tries one way to reach the worker template (its parent, outside a PID namespace)
# or to leave something behind for the next worker forked from it.
REACHING_MODULE = textwrap.dedent("""
    import os, signal, sys, tempfile

    import numpy as np

    MARK = "dlgrade-test-left-behind"
    TRUSTED = ("grader.suite", "grader.hidden", "grader.engine")

    def relu(z):
        parent = os.getppid()
        if parent <= 1:  # in a PID namespace of its own: the template is out of sight
            return {"parent": "out of sight"}
        tried = {}
        for name, attempt in (
            ("kill", lambda: os.kill(parent, signal.SIGKILL)),
            ("environ", lambda: open(f"/proc/{parent}/environ", "rb").read()),
            ("mem", lambda: open(f"/proc/{parent}/mem", "rb").read(1)),
        ):
            try:
                attempt()
                tried[name] = "done"
            except OSError as error:
                tried[name] = type(error).__name__
        return tried

    def sigmoid(z):
        # Leave marks: in the module, the environment, the temporary folder, the random state.
        global LEFT
        LEFT = MARK
        os.environ["DLGRADE_LEFT"] = MARK
        with open(os.path.join(tempfile.gettempdir(), MARK), "w") as mark:
            mark.write(MARK)
        import torch

        return [float(np.random.rand()), float(torch.rand(1))]

    def tanh(z):
        left = [
            "module" if globals().get("LEFT") == MARK else "",
            "environment" if os.environ.get("DLGRADE_LEFT") == MARK else "",
            "file" if os.path.exists(os.path.join(tempfile.gettempdir(), MARK)) else "",
            "secret" if any("SECRET" in key for key in os.environ) else "",
            "grader" if any(name.startswith(TRUSTED) for name in sys.modules) else "",
        ]
        return [entry for entry in left if entry]
""")


@pytest.fixture
def reaching(tmp_path):
    (tmp_path / "activations.py").write_text(REACHING_MODULE)
    return tmp_path


def test_a_worker_cannot_reach_its_template_nor_leave_anything_for_the_next(reaching, monkeypatch):
    monkeypatch.setenv("DLGRADE_COURSE_SECRET", "0" * 64)  # in the trusted process's environment only
    template = worker_template(torch=True)  # torch loaded before the fork: its generator too
    first = Student(Sandboxed(reaching, torch=True))
    try:
        tried = first.activations.relu(0)
        draws = [first.activations.sigmoid(0)]
        assert first.activations.tanh(0) == ["module", "environment", "file"]  # the marks are there ...
    finally:
        first.close()
    assert all(outcome != "done" for outcome in tried.values()), tried
    second = Student(Sandboxed(reaching, torch=True))
    try:
        assert second.activations.tanh(0) == []  # ... and none of them reaches the next fork
        draws.append(second.activations.sigmoid(0))
        assert second._backend._template is template, "the template was replaced: the worker reached it"
    finally:
        second.close()
    assert draws[0][0] != draws[1][0] and draws[0][1] != draws[1][1], f"two forks drew alike: {draws}"


def test_a_template_that_ended_is_started_again(reaching):
    template = worker_template(torch=False)
    os.kill(template.pid, 9)
    template._process.wait()
    student = Student(Sandboxed(reaching))
    try:
        assert student.activations.tanh(0) == []
        assert student._backend._template is not template
    finally:
        student.close()


HANGING = "def relu(z):\n    while True:\n        pass\n"


def worker_processes(marker: Path) -> list[int]:
    """Processes of a worker's own user (uid 200000 and up) whose command line names `marker` (the folder the
    worker's library was copied to lies in it), zombies aside. Other gradings running beside this test do not count.
    """
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid >= 200_000:
                if str(marker).encode() not in (entry / "cmdline").read_bytes():
                    continue
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry.name))
        except OSError:
            pass
    return found


def test_a_lane_kills_a_grading_at_its_time_limit_and_grades_the_next_afresh(tmp_path):
    hanging = make_submission(tmp_path / "hanging")
    (hanging / "activations.py").write_text(
        (hanging / "activations.py").read_text().replace("def relu(", "def relu_original(") + HANGING
    )
    temporary = tmp_path / "tmp"  # the lane's temporary files, and so its workers' library, lie here
    temporary.mkdir()
    # The gradings' thread count (runner.grade's default), or they would start a template of their own elsewhere.
    lanes = Lanes({**runner.pytest_environment(LIMITS.threads), "TMPDIR": str(temporary)}, ["activations"])
    try:
        with lanes.lane() as lane:
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                grading = pool.submit(runner.grade, hanging, modules=["activations"], time_limit=20, lane=lane)
                seen = False
                while not (seen := bool(worker_processes(temporary))) and not grading.done():
                    time.sleep(0.05)
                cut = grading.result()
            assert seen, "no worker of this grading was found: the check below would look for nothing"
            assert time.monotonic() - started < 60
            assert cut.extra.get("incomplete", "").startswith("not run: grading this submission ran out"), cut.extra
            deadline = time.monotonic() + 10
            while worker_processes(temporary) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert worker_processes(temporary) == [], "the killed grading's worker outlived it"
            whole = runner.grade(SOLUTIONS, modules=["activations"], lane=lane)
        assert whole.score == whole.max_score and "incomplete" not in whole.extra
    finally:
        lanes.close()
