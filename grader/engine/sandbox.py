"""The sandboxed backend: the submission runs in a confined worker process.

`Sandboxed` runs a worker on a private copy of the submission: a fork of the
worker template (`grader.engine.template`, a `python -I` with a scrubbed
environment that has imported NumPy, and PyTorch where asked, once), which
confines itself afresh with resource limits and, where the OS allows, its own
namespaces (see `grader.worker.confinement`). It talks to it over two pipes with
length-prefixed JSON (`grader.channel.Channel`). A call that overruns its time
limit gets the worker's whole process group killed (SIGKILL); a worker that
died for any reason is started afresh for the next call, so one test's crash
costs that test only.

The limits come from `grader.limits`, the one place an instructor changes them.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from grader.channel import STATUS, Channel
from grader.engine import template
from grader.engine.cgroup import CpuGroup, MemoryGroup
from grader.engine.intake import private_copy
from grader.errors import IsolationRefused, TemplateGone
from grader.limits import LIMITS, Limits
from grader.system import kill_user
from grader.worker.confinement import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    refusal,
    why_no_user_of_its_own,
)

GRADER = Path(__file__).resolve().parent.parent
# Environment variables the worker keeps: numeric libraries need these to pick
# safe kernels on some processors; nothing else of the grader's environment leaks.
KEPT_ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "LC_ALL")


@functools.cache
def namespaces_available() -> bool:
    """Whether a process started here may create the worker's namespaces (Linux, root, CAP_SYS_ADMIN)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False
    flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET
    probe = f"import ctypes, os; os._exit(0 if ctypes.CDLL(None).unshare({flags}) == 0 else 1)"
    return (
        subprocess.run(
            [sys.executable, "-I", "-c", probe],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=LIMITS.start_seconds,
        ).returncode
        == 0
    )


def secret_paths() -> list[str]:
    """What the worker must never read: the hidden tests, and the reference beside a course checkout's grader."""
    return [str(GRADER / "hidden"), str(GRADER.parent / "solutions")]


def preflight(namespaces: bool = True, allow_weak_isolation: bool = False):
    """Refuse, before anything is graded, where the worker would run the student's code as root.

    Raises `IsolationRefused` (one line: why, and what to do) unless the
    worker gets namespaces or a user of its own, or weak isolation is allowed.
    """
    if allow_weak_isolation or not sys.platform.startswith("linux") or os.geteuid() != 0:
        return
    if namespaces and namespaces_available():
        return
    problem = why_no_user_of_its_own([tempfile.gettempdir()], secret_paths())
    if problem is not None:
        raise IsolationRefused(refusal(problem))


def worker_environment(limits: Limits = LIMITS) -> dict:
    """The workers' environment (each gets its own HOME and TMPDIR besides): nothing of the grader's leaks."""
    threads = os.environ.get("DLGRADE_WORKER_THREADS", str(limits.threads))
    environment = {key: os.environ[key] for key in KEPT_ENVIRONMENT if key in os.environ}
    environment.update(
        {
            "PATH": "/usr/bin:/bin",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
        }
    )
    return environment


def worker_template(torch: bool, limits: Limits = LIMITS, replace=None) -> template.WorkerTemplate:
    """This process's worker template for these preloads (`grader.engine.template.shared`)."""
    return template.shared(worker_library(), worker_environment(limits), torch, replace=replace)


@functools.cache
def worker_library() -> tuple[Path, ...]:
    """The grader's files the worker may import: the `grader.worker` package and the modules it imports.

    Found by following the package's `import grader.X` statements, so the
    worker gets what it needs and nothing else: never the suite, the hidden
    tests or the trusted engine. Paths are relative to the `grader` package.
    """
    files = {Path("__init__.py")}
    files.update(path.relative_to(GRADER) for path in (GRADER / "worker").rglob("*.py"))
    pending = list(files)
    while pending:
        tree = ast.parse((GRADER / pending.pop()).read_text(encoding="utf-8"))
        for node in _statements(tree.body):  # an import is a statement: no need to walk the expressions
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from grader.x import y`: y is a name in grader/x.py, or the module grader/x/y.py
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] != "grader" or len(parts) < 2:
                    continue
                candidate = Path(*parts[1:]).with_suffix(".py")
                if (GRADER / candidate).is_file() and candidate not in files:
                    files.add(candidate)
                    pending.append(candidate)
    return tuple(sorted(files))


def _statements(body: list[ast.stmt]):
    """Every statement in `body`, nested ones (in functions, classes, if, try, with, match...) included."""
    for node in body:
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            nested = getattr(node, field, None)
            if isinstance(nested, list):
                yield from _statements(nested)


class CapturedOutput:
    """Drains a pipe on a thread, keeping the first `limit` bytes."""

    def __init__(self, stream, limit: int):
        self.limit, self.kept, self.total = limit, bytearray(), 0
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream):
        for chunk in iter(lambda: stream.read1(65536), b""):
            self.total += len(chunk)
            room = self.limit - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]

    def text(self) -> str:
        text = self.kept.decode("utf-8", errors="replace")
        if self.total > self.limit:
            text += f"\n[... {self.total - self.limit} more bytes of output dropped]"
        return text


class Sandboxed:
    """A worker process per submission, restarted whenever it dies."""

    def __init__(
        self,
        submission_folder: Path,
        limits: Limits = LIMITS,
        namespaces: bool = True,
        allow_weak_isolation: bool = False,
        torch: bool = False,
    ):
        """`torch`: the worker template preloads PyTorch (the graded modules use it)."""
        self.limits, self.namespaces, self.allow_weak_isolation = limits, namespaces, allow_weak_isolation
        self._torch = torch
        self._temporary = tempfile.TemporaryDirectory(prefix="dlgrade-")
        base = Path(self._temporary.name)
        os.chmod(base, 0o755)
        self._source = Path(submission_folder)
        self.folder = base / "submission"  # what the trusted side reads for static checks
        self.modules = private_copy(self._source, self.folder)
        self._base = base
        # One memory limit for the worker's whole process tree, where the OS lets us.
        self._memory_group = MemoryGroup.create(limits.memory_bytes)
        # CPU time kept for processes that ended too, where the OS lets us count it (grader.engine.cgroup).
        self._cpu_group = CpuGroup.create()
        self.cpu_accounting = (
            "cgroup: every process of the worker, ended ones included"
            if self._cpu_group is not None
            else "advisory: /proc, live processes and the children they reaped (no cgroup could be made)"
        )
        self._template = None
        self._library = None  # the template's copy of the worker library, which the worker imports
        self._process = None
        self._pid = None
        self._uid = None
        self._broken = None  # why the worker's last message was refused
        self.isolation = None
        self.output = None
        self.restarts = 0
        self.boot_seconds = []  # each worker's time from its fork to its hello (bench/grading.py)
        self._spawn()  # starts now, while the trusted side is still collecting tests

    def _start(self):
        self._spawn()
        self._handshake()

    # -- the worker's life -------------------------------------------------
    def _spawn(self):
        """A new worker: a fork of this process's worker template (`grader.engine.template`)."""
        self._uid = None
        self._process_count = None  # the worker's processes once it said hello (grader.engine.sandbox.end_of_test)
        # Each start gets a fresh copy, so nothing a previous worker wrote survives.
        run = self._base / f"run-{self.restarts}"
        submission = run / "submission"
        private_copy(self._source, submission)
        home = run / "home"
        home.mkdir()
        environment = worker_environment(self.limits)
        own = {"HOME": str(home), "TMPDIR": str(home)}
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        config = {
            "submission": str(submission),
            "home": str(home),
            "root": str(run / "root"),
            "namespaces": self.namespaces,
            "allow_weak_isolation": self.allow_weak_isolation,
            "secret_paths": secret_paths(),
            "cgroup_procs": self._memory_group and self._memory_group.procs,
            "cpu_procs": self._cpu_group and self._cpu_group.procs,
            "limits": dataclasses.asdict(self.limits),
        }
        try:
            for attempt in range(2):  # a template found ended is started again, once
                self._template = worker_template(self._torch, self.limits, self._template if attempt else None)
                self._library = self._template.library
                config["library"] = str(self._library)
                try:
                    self._process = self._template.fork(config, {**environment, **own}, request_read, reply_write)
                    break
                except TemplateGone:
                    if attempt:
                        raise
        except BaseException:
            for fd in (request_write, reply_read):
                os.close(fd)
            raise
        finally:
            os.close(request_read)
            os.close(reply_write)
        self._channel = Channel(reply_read, request_write, self.limits.message_bytes)
        self.output = CapturedOutput(self._process.stdout, self.limits.output_bytes)
        self._pid = None
        self._forked = time.monotonic()

    def _handshake(self):
        """Wait for the worker to report its PID and that it is ready (or fail to start)."""
        deadline = time.monotonic() + self.limits.start_seconds
        first = self._receive(deadline)
        if first and "refused" in first:
            self._kill()
            raise IsolationRefused(str(first["refused"]))
        if first and first.get("uid") is not None:
            self._uid = int(first["uid"])  # known before the hello: a worker that dies early is still killed whole
        hello = self._receive(deadline) if first and "pid" in first else None
        if not (first and hello and "hello" in hello):
            detail = self.output.text().strip()[-2000:] or self._template.log().strip()
            self._kill()
            raise RuntimeError(f"the grading worker did not start: {detail or 'no output'}")
        self._pid = int(first["pid"])
        self.isolation = str(hello["hello"]["isolation"])
        self.boot_seconds.append(round(time.monotonic() - self._forked, 3))
        processes = self._worker_processes()
        self._process_count = None if processes is None else len(processes)

    def _receive(self, deadline: float, ident: bytes = STATUS) -> dict | None:
        """The next message with id `ident`, or None if the worker died, broke the protocol or the deadline passed."""
        try:
            frame = self._channel.receive(deadline, ident)
        except (ValueError, OSError) as error:
            self._broken = f"it broke the grader's protocol ({error}), so it was stopped"
            return None
        return frame[1] if frame is not None and isinstance(frame[1], dict) else None

    def _kill(self):
        process, self._process = self._process, None
        if process is None:
            return
        process.close()  # the template kills the worker's process group and reaps it
        if self._memory_group is not None:
            self._memory_group.kill_all()  # a process that left the process group is still in the cgroup
        if self._cpu_group is not None:
            self._cpu_group.kill_all()
        if self._uid is not None:
            kill_user(self._uid)  # and still the worker's own user's
        self._channel.close()
        self.restarts += 1

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- the backend interface ---------------------------------------------
    def request(self, request: dict, time_limit: float | None = None) -> dict:
        if not self._alive():
            if self._process is not None:
                self._kill()
            self._start()
        elif self._pid is None:
            self._handshake()
        identifier = secrets.token_bytes(8)
        limit = time_limit or self.limits.call_seconds
        try:
            self._channel.send(request, identifier)
        except OSError:
            return self._crashed()
        deadline = time.monotonic() + limit
        reply = self._receive(deadline, identifier)  # frames with another id are skipped unread
        if reply is None:
            if time.monotonic() >= deadline and self._alive():
                self._kill()
                return {"timeout": limit}
            return self._crashed()
        return reply

    def _crashed(self) -> dict:
        process, broken, self._broken = self._process, self._broken, None
        code = None
        if process is not None and not broken:
            try:
                code = process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        output = self.output.text().strip() if self.output else ""
        self._kill()
        if broken:
            reason = broken
        elif code is None:
            reason = "the process stopped answering"
        elif code < 0:
            name = signal.Signals(-code).name
            reason = f"killed by {name}" + (" -- the memory or CPU limit" if name in ("SIGKILL", "SIGXCPU") else "")
            if name == "SIGSEGV":
                reason = "killed by SIGSEGV (a segmentation fault)"
        else:
            reason = f"it exited with status {code} in the middle of the call (os._exit or a crash)"
        if output:
            reason += "; its last output: " + output[-300:]
        return {"crashed": reason}

    def cpu_seconds(self) -> float:
        """CPU seconds of every process of the worker, as the OS counts them on the trusted side's behalf.

        From the worker's CPU cgroup where there is one: processes that ended
        (a child reaped at once) are counted too. Elsewhere from /proc (advisory,
        see `cpu_accounting`): every process of the worker's own user, else of
        its process group, each with the children it has reaped.
        """
        if self._cpu_group is not None:
            usage = self._cpu_group.usage_seconds()
            if usage is not None:
                return usage
        if self._pid is None:
            return 0.0
        if not Path("/proc/self/stat").is_file():
            return time.monotonic()  # no /proc (macOS): wall time, still read on the trusted side
        ticks = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if self._uid is not None and entry.stat().st_uid != self._uid:
                    continue
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            if self._uid is None and int(fields[2]) != self._pid:  # field 5, the process group
                continue
            ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        return ticks / os.sysconf("SC_CLK_TCK")

    def _worker_processes(self) -> set[int] | None:
        """Every live process of the worker, from its cgroup or its own user; None where neither tells them apart."""
        for group in (self._memory_group, self._cpu_group):
            if group is not None:
                return group.pids()
        if self._uid is None or not Path("/proc").is_dir():
            return None
        found = set()
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and entry.stat().st_uid == self._uid:
                    found.add(int(entry.name))
            except OSError:
                continue  # ended meanwhile
        return found

    def end_of_test(self):
        """Processes the test's calls left behind (a process bomb holding the worker's process slots)
        would cost the next tests their threads: then the next test gets a fresh worker."""
        if not self._alive() or self._pid is None or self._process_count is None:
            return
        processes = self._worker_processes()
        if processes is not None and len(processes) > self._process_count:
            self.restart()

    def restart(self):
        """A fresh worker from here on: nothing of the current one (its memory, its files) survives."""
        self._kill()
        self._spawn()

    def close(self):
        if self._alive():
            try:
                os.close(self._channel.write_fd)  # end of requests: the worker returns
                self._process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill()
        if self._memory_group is not None:
            self._memory_group.remove()
        if self._cpu_group is not None:
            self._cpu_group.remove()
        self._temporary.cleanup()
