"""Lanes: long-lived trusted processes that grade a batch's submissions one after another.

A batch graded with `--jobs N` has N lanes. A lane is a Python process that
imports what every grading needs once (pytest, the grader's engine and
suite, PyTorch with `torch._dynamo`) and starts the worker template its
gradings share (`grader.engine.template`). Then, for each submission, it
forks: the fork runs the graded suite exactly as a fresh
`python -m pytest ...` would (`grader.engine.runner` gives both the same
arguments), in a fresh copy of the lane's memory, and exits, so nothing one
grading does reaches the next; its worker is a fresh fork of the template,
confined afresh. The lane itself never computes: a fork made after torch had
run a parallel region could hang.

`Lane.run` answers as `grader.system.run_in_own_group` does for a fresh
process: the exit status (None where the lane killed the fork at its time
limit) and the fork's output. Ctrl-C: `RUNNING.stop()` sends SIGINT to the
lane's process group; the fork (pytest) ends its session as a fresh process
would, the lane answers and ends. A lane dies with the process that started
it, and its forks and its template with the lane.

Run as `python -m grader.engine.lanes CONFIG`: requests and answers are JSON
lines on its standard input and output.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from grader.course import uses_torch
from grader.limits import LIMITS
from grader.system import RUNNING, Completed, kill_group

ANSWER_MARGIN_SECONDS = 60.0  # beyond a grading's own limit, for the lane to kill the fork and answer


class Lane:
    """One lane (see the module's docstring), started on first use and again if it ended."""

    def __init__(self, environment: dict, modules=None):
        self._environment, self._modules = environment, list(modules or [])
        self._process: subprocess.Popen | None = None
        self._log = None

    def _start(self):
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 -- what the lane itself prints, for when it ends early
        config = {"modules": self._modules}
        self._process = RUNNING.start(
            [sys.executable, "-m", "grader.engine.lanes", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=self._environment,
            cwd=tempfile.gettempdir(),
        )

    def run(self, arguments: list[str], cwd: Path, timeout: float, environment: dict) -> Completed:
        """pytest's `arguments`, run by a fork of the lane in `cwd`, killed after `timeout` s.

        `environment` is the fork's whole environment, as a fresh process's would be. Its output goes to
        `cwd/output.txt`. Raises KeyboardInterrupt where `RUNNING.stop()` stopped it.
        """
        if self._process is None or self._process.poll() is not None:
            self._start()
        output = Path(cwd) / "output.txt"
        request = {
            "arguments": arguments,
            "cwd": str(cwd),
            "environment": environment,
            "output": str(output),
            "timeout": timeout,
            "address_space_bytes": LIMITS.trusted_memory_bytes,
        }
        answer = None
        try:
            self._process.stdin.write((json.dumps(request) + "\n").encode())
            self._process.stdin.flush()
            stream = self._process.stdout
            if select.select([stream], [], [], timeout + ANSWER_MARGIN_SECONDS)[0]:
                line = stream.readline()
                answer = json.loads(line) if line else None
        except (OSError, ValueError):
            answer = None
        if RUNNING.stopping:
            self.close()
            raise KeyboardInterrupt("stopped while it ran")
        printed = output.read_bytes() if output.is_file() else b""
        if answer is None:  # the lane ended (killed from outside, say): the grading stopped early
            printed += self._lane_log()  # why, before close() drops the lane's log
            self.close()
            return Completed(-9, printed, None)
        return Completed(answer["code"], printed, None)

    def _lane_log(self) -> bytes:
        if self._log is None:
            return b""
        self._log.seek(0)
        return self._log.read()[-2000:]

    def close(self):
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                kill_group(process.pid)
                process.wait()
            RUNNING.finished(process)
        if self._log is not None:
            self._log.close()
            self._log = None


class Lanes:
    """Lanes for the threads that grade at once: `with lanes.lane() as lane:` borrows one, started on first use."""

    def __init__(self, environment: dict, modules=None):
        self._environment, self._modules = environment, modules
        self._lock = threading.Lock()
        self._all: list[Lane] = []
        self._free: list[Lane] = []

    @contextlib.contextmanager
    def lane(self):
        with self._lock:
            if not self._free:
                self._all.append(Lane(self._environment, self._modules))
                self._free.append(self._all[-1])
            lane = self._free.pop()
        try:
            yield lane
        finally:
            with self._lock:
                self._free.append(lane)

    def close(self):
        with self._lock:
            for lane in self._all:
                lane.close()


# -- the lane process -------------------------------------------------------------------------


def _preload(modules: list[str]):
    """Import, without running anything, what a grading of `modules` imports."""
    from grader.engine.sandbox import worker_template

    preload_torch = uses_torch(modules)
    # Started first: the template (a process of its own) imports NumPy and PyTorch while this lane
    # does, instead of after it; started last, a batch's first grading per lane waited ~5 s for it.
    worker_template(torch=preload_torch)  # every grading's workers are its forks
    import pytest  # noqa: F401

    from grader.engine import fixtures, runner, scoring  # noqa: F401

    if preload_torch:
        import torch  # noqa: F401
        import torch._dynamo  # noqa: F401 -- what torch.optim's first step imports
    for path in runner.suite_files(modules, hidden=True):
        name = f"grader.{path.parent.name}.{path.stem}"
        suite = importlib.import_module(name)  # pytest finds them imported (the same files)
        for library in getattr(suite, "PRELOAD", ()):  # what the suite module imports where it uses it
            importlib.import_module(library)


def _grade(request: dict) -> int | None:
    """Fork; the fork runs pytest on the request's arguments. The exit status, None at the time limit."""
    deadline = time.monotonic() + float(request["timeout"])
    child = os.fork()
    if child == 0:
        code = 3
        try:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            import ctypes

            from grader.system import PR_SET_PDEATHSIG

            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            limit = int(request["address_space_bytes"])
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)  # never the lane's requests
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["environment"])
            tempfile.tempdir = None  # found again from the request's TMPDIR
            import pytest

            code = int(pytest.main(request["arguments"]))
        except BaseException:  # noqa: BLE001 -- the fork never returns into the lane's loop
            import traceback

            traceback.print_exc()
        finally:
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return None
        time.sleep(0.02)


def main():
    config = json.loads(sys.argv[1])
    state = {"busy": False, "stopping": False}

    def interrupted(*_):  # Ctrl-C: a grading in flight is the fork's to end (pytest does); then the lane ends
        if not state["busy"]:
            os._exit(0)
        state["stopping"] = True

    signal.signal(signal.SIGINT, interrupted)
    _preload(config["modules"])
    # The preloaded modules live as long as the lane: kept out of the garbage collector's full passes,
    # which otherwise walk all of PyTorch's objects in every grading's fork (~0.25 s each).
    gc.freeze()
    for line in sys.stdin:
        state["busy"] = True
        code = _grade(json.loads(line))
        sys.stdout.write(json.dumps({"code": code}) + "\n")
        sys.stdout.flush()
        state["busy"] = False
        if state["stopping"]:
            return


if __name__ == "__main__":
    main()
