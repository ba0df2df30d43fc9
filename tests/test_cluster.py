"""Grading on a Dask cluster (grader.engine.cluster): a scheduler and two workers on 127.0.0.1.

The same scores as a local batch, and every submission graded exactly once
when a Dask worker is killed in the middle of the batch.
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import EXERCISES, answers_ctrl_c, make_submission

distributed = pytest.importorskip("distributed")

DASK = Path(sys.executable).parent / "dask"
SECRET = "5e" * 32  # one course secret for the local batch and the cluster's: the same hidden inputs


def start(*command, log):
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture
def cluster(tmp_path):
    """A Dask scheduler and two one-thread workers; yields (address, client, worker processes)."""
    from dask.distributed import Client

    log = open(tmp_path / "dask.log", "wb")  # noqa: SIM115 -- open while the processes run
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = start(
        str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
        "--scheduler-file", str(scheduler_file), log=log,
    )  # fmt: skip
    processes = [scheduler]
    try:
        for _ in range(100):
            if scheduler_file.is_file() and scheduler_file.stat().st_size:
                break
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [
            start(
                str(DASK),
                "worker",
                address,
                "--nthreads",
                "1",
                "--no-dashboard",
                "--nworkers",
                "1",
                "--local-directory",
                str(tmp_path / f"worker-{number}"),
                log=log,
            )  # fmt: skip
            for number in range(2)
        ]
        processes += workers
        client = Client(address, timeout=60)
        client.wait_for_workers(2, timeout=120)
        yield address, client, workers
        client.close()
    finally:
        for process in reversed(processes):
            stop(process)
        log.close()


def submissions(folder: Path) -> list[Path]:
    shutil.copytree(EXERCISES, folder / "bob")
    make_submission(
        folder / "carol", "activations", [("    return 1.0 - tanh(z) ** 2\n", "    return 1.0 - tanh(z)\n")]
    )
    return [folder / name for name in ("bob", "carol")]


def grade(paths, out, *options, env=None, wait=True):
    command = [sys.executable, "-m", "grader", "grade", *map(str, paths), "--out", str(out), "--quiet", *options]
    environment = {**os.environ, "DLGRADE_COURSE_SECRET": SECRET, **(env or {})}
    if not wait:
        return subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=answers_ctrl_c
        )
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def gradebook(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), f"a submission appears twice: {ids}"
    return {row["id"]: row for row in rows}


def test_a_batch_on_the_cluster_scores_as_a_local_batch(tmp_path, cluster):
    address, _, _ = cluster
    paths = submissions(tmp_path / "class")
    grade(paths, tmp_path / "local", "--modules", "activations")
    grade(paths, tmp_path / "remote", "--modules", "activations", "--scheduler", address)
    local, remote = gradebook(tmp_path / "local"), gradebook(tmp_path / "remote")
    assert set(remote) == {"bob", "carol"}
    assert {name: row["total"] for name, row in remote.items()} == {name: row["total"] for name, row in local.items()}
    assert float(remote["bob"]["total"]) == 0
    assert 0 < float(remote["carol"]["total"]) < 14
    for name in remote:
        result = json.loads((tmp_path / "remote" / name / "results.json").read_text())
        assert (
            result["extra_data"]["seed"]
            == json.loads((tmp_path / "local" / name / "results.json").read_text())["extra_data"]["seed"]
        )
        assert "namespaces" in result["extra_data"]["isolation"]  # sandboxed on the Dask worker, as locally


SLOW = (
    "def relu(z):\n",
    "def relu(z):\n    import time\n\n    time.sleep(2)\n",  # slow enough to be caught mid-grading
)


def test_a_worker_lost_mid_batch_still_grades_every_submission_once(tmp_path, cluster):
    address, client, workers = cluster
    paths = [make_submission(tmp_path / "class" / f"student{number}", "activations", [SLOW]) for number in range(3)]
    options = ("--modules", "activations", "--no-hidden", "--scheduler", address)
    batch = grade(paths, tmp_path / "out", *options, wait=False)
    busy = None
    for _ in range(600):
        busy = next((worker for worker, tasks in client.processing().items() if tasks), None)
        if busy is not None:
            break
        time.sleep(0.1)
    assert busy is not None, "no task reached a worker"
    time.sleep(3)  # well into its grading
    pid = client.run(os.getpid, workers=[busy])[busy]
    os.killpg(os.getpgid(pid), signal.SIGKILL)  # the worker and its nanny: the worker is gone for good
    output, _ = batch.communicate(timeout=900)
    assert batch.returncode == 0, output.decode()
    rows = gradebook(tmp_path / "out")
    assert set(rows) == {f"student{number}" for number in range(3)}
    assert all(row["status"] == "graded" for row in rows.values()), rows
    assert all(float(row["total"]) == 14 for row in rows.values()), rows
    assert sum(worker.poll() is None for worker in workers) == 1


def test_ctrl_c_stops_a_cluster_batch_at_once_and_cancels_the_tasks_not_started(tmp_path, cluster):
    address, client, _ = cluster
    paths = [make_submission(tmp_path / "class" / f"student{number}", "activations", [SLOW]) for number in range(6)]
    options = ("--modules", "activations", "--no-hidden", "--scheduler", address, "--jobs", "6")
    batch = grade(paths, tmp_path / "out", *options, wait=False)
    for _ in range(600):
        if any(client.processing().values()):
            break
        time.sleep(0.1)
    time.sleep(1)
    batch.send_signal(signal.SIGINT)
    started = time.monotonic()
    output, _ = batch.communicate(timeout=120)
    assert batch.returncode == 130, output.decode()
    assert time.monotonic() - started < 15, "Ctrl-C waited for the cluster's tasks to finish"
    rows = gradebook(tmp_path / "out")
    assert any(row["status"] != "graded" for row in rows.values()), rows
    deadline = time.monotonic() + 60  # what ran finishes on its worker; nothing else starts
    while any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(client.processing().values()), client.processing()
    assert not client.who_has(), "tasks of the stopped batch are still held on the cluster"
