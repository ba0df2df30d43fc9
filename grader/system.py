"""What the trusted side asks of the operating system: process groups killed whole, files written atomically."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import resource
import signal
import subprocess
import tempfile
import time
from pathlib import Path


def kill_group(pid: int):
    """SIGKILL the process group led by `pid` (started with `start_new_session=True`); gone already is fine."""
    try:
        os.killpg(pid, signal.SIGKILL)
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
                os.kill(int(entry), signal.SIGKILL)
                found = True
            except (OSError, ValueError):
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


def run_in_own_group(command: list[str], timeout: float, address_space_bytes: int | None = None, **popen) -> Completed:
    """Run `command` in a process group of its own, killed whole after `timeout` s or on any interruption.

    `address_space_bytes` caps the process's memory (RLIMIT_AS, set as it
    starts, where the OS has it). `popen` goes to `subprocess.Popen` (stdout
    and stderr are captured unless it says otherwise).
    """
    popen = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    process = subprocess.Popen(command, start_new_session=True, **popen)
    if address_space_bytes is not None and hasattr(resource, "prlimit"):
        try:
            resource.prlimit(process.pid, resource.RLIMIT_AS, (address_space_bytes, address_space_bytes))
        except (OSError, ValueError):
            pass  # gone already, or the platform does not enforce it
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        return Completed(process.returncode, stdout, stderr)
    except subprocess.TimeoutExpired:
        kill_group(process.pid)
        stdout, stderr = process.communicate()
        return Completed(None, stdout, stderr)
    except BaseException:
        kill_group(process.pid)
        process.wait()
        raise


@contextlib.contextmanager
def atomic_output(path: Path):
    """A temporary path beside `path` to write; moved onto `path` when the block ends without error.

    A reader sees the old file or the new one, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: str | bytes):
    """Write `data` (text as UTF-8) to `path` atomically (see `atomic_output`)."""
    with atomic_output(path) as temporary:
        temporary.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
