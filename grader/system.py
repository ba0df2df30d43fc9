"""What the trusted side asks of the operating system: process groups killed whole, files written atomically.

A process group started by `run_in_own_group` never outlives this process,
however it ends: on Linux the child is given a parent-death signal (SIGKILL)
before it runs its command, and every such child is started from one thread
that lives as long as the process (the kernel sends the signal when the
*thread* that started the child ends, and a pool's threads may end early).
The sandboxed worker dies with its parent the same way
(`grader.engine.sandbox`, `grader.worker.confinement`), so the whole tree
goes. `RUNNING.stop()` stops every group still running at once (a batch's
Ctrl-C) and refuses new ones.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import queue
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PR_SET_PDEATHSIG, SIGKILL = 1, 9  # prctl(2): the signal a process gets when the thread that started it ends
# A stopped pytest gets this long to end its session: closing the sandbox (its worker's files and
# cgroups) takes it 2-4 s when the worker is busy (measured on 2 loaded cores), 2 s of them waiting for the worker.
STOP_GRACE_SECONDS = 5.0


def kill_group(pid: int):
    """SIGKILL the process group led by `pid` (started with `start_new_session=True`); gone already is fine."""
    signal_group(pid, signal.SIGKILL)


def signal_group(pid: int, number: int):
    """Send signal `number` to the process group led by `pid`; gone already is fine."""
    try:
        os.killpg(pid, number)
    except (ProcessLookupError, PermissionError):
        pass


def kill_user(uid: int, rounds: int = 50):
    """SIGKILL every process of user `uid` (Linux), until none is left or `rounds` scans of /proc passed.

    For a worker's own user: a process that left its process group (a
    daemon) is still that user's. Never call it with a real account's uid.
    """
    if uid < 1000 or not os.path.isdir("/proc"):
        raise ValueError(f"refusing to kill every process of uid {uid}")
    for _ in range(rounds):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.stat(f"/proc/{entry}").st_uid != uid:
                    continue
                with open(f"/proc/{entry}/stat") as stat:
                    if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                        continue  # a zombie runs nothing; its parent reaps it
                os.kill(int(entry), signal.SIGKILL)
                found = True
            except (OSError, ValueError, IndexError):
                continue
        if not found:
            return
        time.sleep(0.01)


@dataclasses.dataclass
class Completed:
    returncode: int | None  # None: killed at the time limit
    stdout: str | bytes
    stderr: str | bytes | None

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def die_with_parent(parent: int) -> str:
    """Python statements that arm SIGKILL for when the thread that started this process ends (Linux).

    Then they check that the parent is still `parent`: where it ended before
    prctl took effect, the process ends at once.
    """
    return (
        f"import ctypes, os; ctypes.CDLL(None).prctl({PR_SET_PDEATHSIG}, {SIGKILL}, 0, 0, 0); "
        f"os.getppid() == {parent} or os._exit(1)"
    )


def dying_with_this_process(command: list[str]) -> list[str]:
    """`command`, run so that it gets SIGKILL when this process ends (Linux; elsewhere `command` itself).

    A `python -I -S` (about 10 ms) arms the signal and becomes the command. The
    signal is bound to the thread that starts the process: start it with
    `start_process`.
    """
    if not sys.platform.startswith("linux"):
        return list(command)
    become = "; import sys; os.execvp(sys.argv[1], sys.argv[1:])"
    return [sys.executable, "-I", "-S", "-c", die_with_parent(os.getpid()) + become, *command]


def start_process(command: list[str], **popen) -> subprocess.Popen:
    """`subprocess.Popen(command, **popen)`, from a thread that lives as long as this process."""
    return _LAUNCHER.popen(command, **popen)


class _Launcher:
    """Starts processes from one daemon thread, alive as long as this process, whichever thread asks."""

    def __init__(self):
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue | None = None
        os.register_at_fork(after_in_child=self._forget)  # a forked child has no such thread

    def _forget(self):
        self._lock, self._requests = threading.Lock(), None

    def popen(self, command: list[str], **popen) -> subprocess.Popen:
        with self._lock:
            if self._requests is None:
                self._requests = queue.SimpleQueue()
                threading.Thread(
                    target=self._serve, args=(self._requests,), name="dlgrade-launcher", daemon=True
                ).start()
            requests = self._requests
        answer = concurrent.futures.Future()
        requests.put((answer, command, popen))
        return answer.result()

    @staticmethod
    def _serve(requests: queue.SimpleQueue):
        while True:
            answer, command, popen = requests.get()
            try:
                answer.set_result(subprocess.Popen(command, **popen))
            except BaseException as error:  # noqa: BLE001 -- the caller's thread raises it
                answer.set_exception(error)


_LAUNCHER = _Launcher()


class Groups:
    """The process groups `run_in_own_group` started that still run, so that all can be stopped at once."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen] = set()
        self._stopped: set[subprocess.Popen] = set()
        self.stopping = False

    def start(self, command: list[str], **popen) -> subprocess.Popen:
        """Start `command` in a group of its own that dies with this process; KeyboardInterrupt once stopping."""
        with self._lock:
            if self.stopping:
                raise KeyboardInterrupt("stopped before it started")
            process = start_process(dying_with_this_process(command), start_new_session=True, **popen)
            self._running.add(process)
            return process

    def finished(self, process: subprocess.Popen) -> bool:
        """Forget `process`, ended; whether `stop` ended it."""
        with self._lock:
            self._running.discard(process)
            stopped = process in self._stopped
            self._stopped.discard(process)
            return stopped

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> int:
        """Stop every running group and refuse new ones; returns how many were stopped.

        Each group gets SIGINT (pytest then ends its session, removing the
        worker's files) and, `grace` seconds on or at a second Ctrl-C, SIGKILL.
        """
        with self._lock:
            self.stopping = True
            stopped = [process for process in self._running if process.returncode is None]
            self._stopped.update(stopped)
            for process in stopped:
                signal_group(process.pid, signal.SIGINT)
        deadline = time.monotonic() + grace
        try:
            while time.monotonic() < deadline and any(process.poll() is None for process in stopped):
                time.sleep(0.05)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: no more waiting
        with self._lock:
            for process in stopped:
                if process.returncode is None:
                    kill_group(process.pid)
        return len(stopped)

    def reopen(self):
        """Start groups again (after `stop`)."""
        with self._lock:
            self.stopping = False


RUNNING = Groups()


def run_in_own_group(command: list[str], timeout: float, address_space_bytes: int | None = None, **popen) -> Completed:
    """Run `command` in a process group of its own, killed whole after `timeout` s or on any interruption.

    The group dies with this process, however it ends (see the module's
    docstring). `address_space_bytes` caps the process's memory (RLIMIT_AS,
    set as it starts, where the OS has it). `popen` goes to `subprocess.Popen`
    (stdout and stderr are captured unless it says otherwise). Raises
    KeyboardInterrupt where `RUNNING.stop()` stopped it (or stops before it started).
    """
    popen = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    process = RUNNING.start(command, **popen)
    try:
        if address_space_bytes is not None and hasattr(resource, "prlimit"):
            try:
                resource.prlimit(process.pid, resource.RLIMIT_AS, (address_space_bytes, address_space_bytes))
            except (OSError, ValueError):
                pass  # gone already, or the platform does not enforce it
        try:
            stdout, stderr = process.communicate(timeout=timeout)
            completed = Completed(process.returncode, stdout, stderr)
        except subprocess.TimeoutExpired:
            kill_group(process.pid)
            stdout, stderr = process.communicate()
            completed = Completed(None, stdout, stderr)
        except BaseException:
            kill_group(process.pid)
            process.wait()
            raise
    finally:
        stopped = RUNNING.finished(process)
    if stopped:
        raise KeyboardInterrupt("stopped while it ran")
    return completed


@contextlib.contextmanager
def atomic_output(path: Path, durable: bool = True):
    """A temporary path beside `path` to write; moved onto `path` when the block ends without error.

    A reader sees the old file or the new one, never half of one. `durable`:
    synced to disk first, so that a power cut cannot leave an empty file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        if durable:
            with open(temporary, "rb+") as stream:
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: str | bytes, durable: bool = True):
    """Write `data` (text as UTF-8) to `path` atomically (see `atomic_output`)."""
    with atomic_output(path, durable) as temporary:
        temporary.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
