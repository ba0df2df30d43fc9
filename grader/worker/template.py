"""The worker template: imports what every worker needs once, then forks one worker per request.

Started by `grader.engine.template.WorkerTemplate` as
`python -I -c "...; from grader.worker.template import serve; serve()" CONFIG`
from a private copy of the worker library, with the worker's scrubbed
environment and no file descriptor but its socket. It imports NumPy and, where
the graded modules use it, PyTorch with `torch._dynamo` (which a worker's
first optimizer step would import: about 2 s), and from then on only forks.
It never loads a submission's code and holds nothing secret: the suite, the
hidden tests and the reference never reach it. Each fork becomes one worker
(`grader.worker.main.run`) and confines itself afresh, exactly as a worker
started from scratch would (its own namespaces, user, cgroup and tmpfs), so
all that two workers of one template share is the state of the libraries
imported before the fork (random generators are seeded afresh in each).

A request is one message on the template's socket: a 4-byte length, the
worker's configuration as JSON, and five file descriptors: the worker's
request and reply pipes, its output (stdout and stderr), its lifeline and its
status pipe. No answer comes back on the socket. When the trusted side closes
the lifeline (or dies), the template kills the worker's process group; when
the worker ends, the template reaps it and writes its exit status (as
`subprocess` reports it: negative for a signal) to the status pipe and closes
it. The template dies with the process that started it, and its workers die
with it (their parent-death signal).
"""

from __future__ import annotations

import gc
import json
import os
import selectors
import signal
import socket
import sys
import traceback

# The libraries every worker imports, loaded once here (see the module's docstring).
import numpy

from grader.worker import main as worker_main

MAX_REQUEST_BYTES = 1 << 20
FDS_PER_REQUEST = 5


def serve():
    config = json.loads(sys.argv[1])
    if config.get("torch"):
        _import_torch()
    # What is imported lives as long as the template and its forks: kept out of the garbage collector's
    # full passes, which otherwise walk all of PyTorch's objects in each worker (~0.2 s a grading).
    gc.freeze()
    template = _Template(socket.socket(fileno=config["socket_fd"]))
    template.loop()


def _import_torch():
    try:
        import torch  # noqa: F401
        import torch._dynamo  # noqa: F401 -- what torch.optim's first step imports
    except Exception:  # noqa: BLE001 -- a worker imports torch itself, and reports what fails there
        pass


class _Template:
    def __init__(self, sock: socket.socket):
        self.socket = sock
        self.selector = selectors.DefaultSelector()
        self.workers: dict[int, tuple[int, int]] = {}  # pid -> (lifeline read end, status write end)
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that SIGCHLD wakes the loop
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the trusted side's to handle
        self.own_fds = {sock.fileno(), wake_read, wake_write}
        self.selector.register(sock, selectors.EVENT_READ, "request")
        self.selector.register(wake_read, selectors.EVENT_READ, "child")

    def loop(self):
        while True:
            for key, _ in self.selector.select():
                if key.data == "request":
                    if not self._request():
                        self._end()
                        return
                elif key.data == "child":
                    os.read(key.fd, 4096)
                    self._reap()
                else:
                    self._lifeline_ended(key.data, key.fd)

    def _request(self) -> bool:
        """Fork the worker of the next request; False once the trusted side has closed the socket."""
        try:
            data, fds, _, _ = socket.recv_fds(self.socket, MAX_REQUEST_BYTES, FDS_PER_REQUEST)
        except OSError:
            return False
        if not data:
            return False
        size = int.from_bytes(data[:4], "big")
        body = data[4:]
        while len(body) < size:
            chunk = self.socket.recv(size - len(body))
            if not chunk:
                return False
            body += chunk
        if len(fds) != FDS_PER_REQUEST:
            for fd in fds:
                os.close(fd)
            return True
        request_read, reply_write, output, lifeline, status = fds
        config = json.loads(body)
        pid = os.fork()
        if pid == 0:
            self._become_worker(config, (request_read, reply_write, output), (lifeline, status))
        for fd in (request_read, reply_write, output):
            os.close(fd)
        self.workers[pid] = (lifeline, status)
        self.own_fds.update((lifeline, status))
        self.selector.register(lifeline, selectors.EVENT_READ, pid)
        return True

    def _become_worker(self, config: dict, fds: tuple[int, int, int], templates: tuple[int, int]):
        """In the fork: the worker's descriptors and environment, a fresh session, then the worker itself.

        `templates`: the template's own ends of this worker's lifeline and status pipe, closed here with
        every other descriptor of the template's, so that nothing the worker starts can hold them open.
        """
        code = 1
        try:
            request_read, reply_write, output = fds
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            for fd in self.own_fds | set(templates):
                os.close(fd)
            os.setsid()  # a process group of its own: the template kills it whole
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(output, 1)
            os.dup2(output, 2)
            for fd in (null, output):
                os.close(fd)
            os.environ.clear()
            os.environ.update(config.pop("environment"))
            os.chdir(config["submission"])
            if "tempfile" in sys.modules:
                sys.modules["tempfile"].tempdir = None  # found again from the worker's TMPDIR
            _seed_afresh()
            config.update(request_fd=request_read, reply_fd=reply_write)
            worker_main.run(config)
            code = 0
        except BaseException:  # noqa: BLE001 -- a worker never returns into the template's loop
            try:
                traceback.print_exc()
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001
                pass
        finally:
            os._exit(code)

    def _lifeline_ended(self, pid: int, fd: int):
        """The trusted side is done with worker `pid` (or died): kill it."""
        self.selector.unregister(fd)
        _kill(pid)

    def _reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            lifeline, status_fd = self.workers.pop(pid, (None, None))
            if status_fd is None:
                continue
            try:
                os.write(status_fd, str(os.waitstatus_to_exitcode(status)).encode())
            except OSError:
                pass
            for fd in (lifeline, status_fd):
                if fd in self.selector.get_map():
                    self.selector.unregister(fd)
                os.close(fd)
                self.own_fds.discard(fd)

    def _end(self):
        """The trusted side closed the socket: every worker still running goes too."""
        for pid in self.workers:
            _kill(pid)
        os._exit(0)


def _kill(pid: int):
    """SIGKILL worker `pid`'s process group. Not reaped yet, its id cannot have passed to another process."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _seed_afresh():
    """Each worker's unseeded random generators draw afresh, as in a process of its own."""
    numpy.random.seed()
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()
