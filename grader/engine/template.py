"""The trusted side's end of a worker template (`grader.worker.template`): the sandbox's workers are its forks.

Starting a worker from scratch costs a Python start-up, NumPy's import and,
for the PyTorch exercises, torch's and `torch._dynamo`'s (about 4.5 s of CPU
on the 2-core machine the limits were sized on). A template pays that once:
every worker of this process, and in a batch's lane every worker of every
submission the lane grades, is a fork of it that confines itself afresh.
`shared` gives this process's template for a set of preloads, started on
first use and again if it died.

`WorkerTemplate.fork` hands the template a worker's configuration and pipes
and returns a `ForkedWorker`, the part of `subprocess.Popen` the sandbox uses
(`stdout`, `poll`, `wait`, `kill`). The template is the worker's parent: it
kills the worker's process group when the trusted side closes the lifeline
(`kill`, or this process ending) and reports the exit status on the status
pipe once it has reaped it, so no signal can reach a process that took a
dead worker's id.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from grader.errors import TemplateGone
from grader.system import die_with_parent, start_process

GRADER = Path(__file__).resolve().parent.parent
KILL_WAIT_SECONDS = 10.0  # for the template to report a killed worker's end


class ForkedWorker:
    """A worker forked by the template, driven like the `subprocess.Popen` of a worker started from scratch."""

    def __init__(self, stdout_fd: int, lifeline_fd: int, status_fd: int):
        self.stdout = os.fdopen(stdout_fd, "rb")
        self._lifeline, self._status = lifeline_fd, status_fd
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self._read_status(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._read_status(timeout)
        if code is None:
            raise subprocess.TimeoutExpired("worker", timeout)
        return code

    def kill(self):
        """Have the template kill the worker's process group (closing the lifeline)."""
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None

    def _read_status(self, timeout: float | None) -> int | None:
        if self.returncode is not None:
            return self.returncode
        if not select.select([self._status], [], [], timeout)[0]:
            return None
        data = b""
        while chunk := os.read(self._status, 64):  # the template writes it whole, then closes
            data += chunk
        os.close(self._status)
        try:
            self.returncode = int(data)
        except ValueError:
            self.returncode = -9  # the template ended first: its workers die with it (their parent-death signal)
        return self.returncode

    def close(self):
        self.kill()
        if self.returncode is None:
            self._read_status(KILL_WAIT_SECONDS)


class WorkerTemplate:
    """A started worker template: NumPy (and PyTorch, with `torch=True`) imported once, forked per worker.

    `environment` is the workers' environment as they start (thread counts
    included: the libraries read them as they load, in the template); each
    fork then gets its own `HOME` and `TMPDIR` from its configuration.
    """

    def __init__(self, library_files: tuple[Path, ...], environment: dict, torch: bool = False):
        self._temporary = tempfile.TemporaryDirectory(prefix="dlgrade-template-")
        base = Path(self._temporary.name)
        os.chmod(base, 0o755)
        self.library = base / "lib"  # what the workers import the grader's worker package from
        for relative in library_files:
            target = self.library / "grader" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(GRADER / relative, target)
        self.owner = os.getpid()
        self._lock = threading.Lock()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket = ours
        config = {"socket_fd": theirs.fileno(), "torch": torch}
        # Its own HOME and TMPDIR (each fork is given the worker's): what the imports cache stays here.
        environment = {**environment, "HOME": str(base), "TMPDIR": str(base)}
        bootstrap = f"import sys; sys.path.insert(0, {str(self.library)!r}); "
        bootstrap += "from grader.worker.template import serve; serve()"
        if sys.platform.startswith("linux"):
            bootstrap = die_with_parent(os.getpid()) + "; " + bootstrap
        self._log_path = base / "template.log"
        self._log = open(self._log_path, "wb")  # noqa: SIM115 -- the template's own errors, for a worker that did not start
        self._process = start_process(
            [sys.executable, "-I", "-c", bootstrap, json.dumps(config)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=(theirs.fileno(),),
            env=environment,
            cwd=base,
            start_new_session=True,
        )
        theirs.close()

    @property
    def pid(self) -> int:
        return self._process.pid

    def fork(self, config: dict, environment: dict, request_fd: int, reply_fd: int) -> ForkedWorker:
        """A new worker for `config` (see `grader.worker.main.run`), talking on `request_fd` and `reply_fd`.

        The two descriptors go to the worker; the caller closes its copies.
        Raises `TemplateGone` where the template has ended.
        """
        output_read, output_write = os.pipe()
        lifeline_read, lifeline_write = os.pipe()
        status_read, status_write = os.pipe()
        body = json.dumps({**config, "environment": environment}).encode()
        given = [request_fd, reply_fd, output_write, lifeline_read, status_write]
        try:
            with self._lock:
                socket.send_fds(self._socket, [len(body).to_bytes(4, "big") + body], given)
        except OSError as error:
            for fd in (output_read, lifeline_write, status_read):
                os.close(fd)
            raise TemplateGone(error.errno, f"the worker template has ended ({error})") from None
        finally:
            for fd in (output_write, lifeline_read, status_write):
                os.close(fd)
        return ForkedWorker(output_read, lifeline_write, status_read)

    def log(self) -> str:
        """What the template itself printed (why it could not start, say)."""
        try:
            return self._log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def close(self):
        """End the template and its workers (only the process that started it does)."""
        if os.getpid() != self.owner:
            return
        self._socket.close()
        try:
            self._process.wait(timeout=KILL_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()
        self._temporary.cleanup()


_SHARED: dict[tuple, WorkerTemplate] = {}
_SHARED_LOCK = threading.Lock()


def shared(library_files: tuple[Path, ...], environment: dict, torch: bool, replace: WorkerTemplate | None = None):
    """This process's template for these preloads and this environment, started now where there is none.

    `replace`: a template found ended (`TemplateGone`); a new one takes its place.
    A template inherited by a fork of the process that started it (a batch's
    lane) is used as it is.
    """
    key = (library_files, tuple(sorted(environment.items())), torch)
    with _SHARED_LOCK:
        template = _SHARED.get(key)
        if template is None or template is replace:
            template = _SHARED[key] = WorkerTemplate(library_files, environment, torch)
        return template


@atexit.register
def _close_all():
    for template in _SHARED.values():
        try:
            template.close()
        except OSError:
            pass
    _SHARED.clear()
