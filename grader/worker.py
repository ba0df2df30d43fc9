"""The untrusted side: loads a submission and runs what the grader asks.

`Dispatcher.handle` takes one request (plain data) and returns one reply
(plain data). The same dispatcher serves the in-process mode (called
directly) and the sandboxed worker process (`main`, reading requests from
stdin). Nothing here decides a verdict: replies are values or a description
of what the student's code raised.

Requests:
    {"op": "call", "module": "activations", "function": "softmax", "args": [...], "kwargs": {...}}
    {"op": "probe", "probe": "grader.probes.cnn:logits_shape", "kwargs": {...}}
Replies:
    {"ok": <wire value>}
    {"raised": {"type", "builtin", "message", "where", "trace", "phase"}}
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import itertools
import os
import sys
import traceback
from pathlib import Path

from grader import boundary
from grader.course import MODULES

PROBE_PACKAGE = "grader.probes."
MAX_MESSAGE = 2000
_package_numbers = itertools.count()


class Submission:
    """The submission's modules, imported on first use from a private copy.

    Attribute access (`submission.activations`) imports that module only, so
    grading one module never imports what the others need (torch, say).
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()
        self.package = f"_dlgrade_submission_{next(_package_numbers)}"
        spec = importlib.util.spec_from_file_location(
            self.package, self.folder / "__init__.py", submodule_search_locations=[str(self.folder)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[self.package] = package
        spec.loader.exec_module(package)

    def __getattr__(self, module: str):
        if module not in MODULES:
            raise AttributeError(module)
        if not (self.folder / f"{module}.py").is_file():
            raise ModuleNotFoundError(f"the submission has no {module}.py")
        return importlib.import_module(f"{self.package}.{module}")


class Dispatcher:
    def __init__(self, folder: Path):
        self.submission = Submission(folder)

    def handle(self, request: dict) -> dict:
        phase = "request"
        try:
            op = request["op"]
            if op == "call":
                phase = "import"
                module = getattr(self.submission, request["module"])
                phase = "lookup"
                function = getattr(module, request["function"])
                phase = "call"
                args = boundary.decode(request["args"])
                kwargs = boundary.decode(request["kwargs"])
                value = function(*args, **kwargs)
            elif op == "probe":
                phase = "call"
                probe = _resolve_probe(request["probe"])
                value = probe(self.submission, **boundary.decode(request["kwargs"]))
            else:
                raise ValueError(f"unknown request {op!r}")
            phase = "return"
            return {"ok": boundary.encode(value)}
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 -- everything student code raises is reported
            return {"raised": describe_exception(error, self.submission.folder, phase)}


def _resolve_probe(reference: str):
    module_name, _, function_name = reference.partition(":")
    if not module_name.startswith(PROBE_PACKAGE) or not function_name.isidentifier():
        raise ValueError(f"{reference!r} is not a grader probe")
    return getattr(importlib.import_module(module_name), function_name)


def builtin_base(error: BaseException) -> str:
    """The nearest built-in exception class of `error` (a custom ValueError -> ValueError)."""
    for cls in type(error).__mro__:
        if getattr(builtins, cls.__name__, None) is cls:
            return cls.__name__
    return "BaseException"


def describe_exception(error: BaseException, folder: Path, phase: str) -> dict:
    """Plain-data account of an exception, pointing into the submission's files."""
    frames = traceback.extract_tb(error.__traceback__)
    folder_text = str(folder)
    own = [frame for frame in frames if frame.filename.startswith(folder_text)]
    where = ""
    if isinstance(error, SyntaxError) and error.filename and error.filename.startswith(folder_text):
        where = f"{Path(error.filename).name}, line {error.lineno}"
    elif own:
        where = f"{Path(own[-1].filename).name}, line {own[-1].lineno}"
    trace = "".join(traceback.format_list(own)).replace(folder_text + "/", "")
    try:
        message = str(error)
    except BaseException:  # noqa: BLE001 -- a __str__ that raises is the student's problem
        message = "<the exception's message could not be read>"
    return {
        "type": str(type(error).__name__)[:200],
        "builtin": builtin_base(error),
        "message": message[:MAX_MESSAGE],
        "where": where,
        "trace": trace[-4 * MAX_MESSAGE:],
        "phase": phase,
    }


class Channel:
    """Length-prefixed JSON messages over a pair of pipe file descriptors."""

    HEADER = 4
    MAX_MESSAGE = 320 * 1024 * 1024

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd, self.write_fd = read_fd, write_fd

    def send(self, message: dict):
        import json

        body = json.dumps(message, allow_nan=False, separators=(",", ":")).encode()
        data = len(body).to_bytes(self.HEADER, "big") + body
        view = memoryview(data)
        while view:
            written = os.write(self.write_fd, view)
            view = view[written:]

    def receive(self, deadline: float | None = None) -> dict | None:
        """The next message; None at end of input or once `deadline` (time.monotonic) passes."""
        import json

        header = self._read_exactly(self.HEADER, deadline)
        if header is None:
            return None
        size = int.from_bytes(header, "big")
        if size > self.MAX_MESSAGE:
            raise boundary.ProtocolError("message too large")
        body = self._read_exactly(size, deadline)
        if body is None:
            return None
        return json.loads(body, parse_constant=boundary._reject_constant)

    def _read_exactly(self, size: int, deadline: float | None) -> bytes | None:
        import select
        import time

        chunks, remaining = [], size
        while remaining:
            if deadline is not None:
                # A half-written message must not hold the reader past its deadline.
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                    return None
            chunk = os.read(self.read_fd, min(remaining, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


def main():
    """The sandboxed worker: confine this process, then serve requests until stdin closes."""
    import json

    from grader.isolation import confine

    config = json.loads(sys.argv[1])
    channel = Channel(config["request_fd"], config["reply_fd"])
    isolation, paths = confine(config, lambda pid, uid: channel.send({"pid": pid, "uid": uid}))
    sys.path[:] = [paths["library"]] + [entry for entry in sys.path[1:] if entry]
    # The grader package was imported before a chroot may have moved it.
    sys.modules["grader"].__path__[:] = [str(Path(paths["library"]) / "grader")]
    importlib.invalidate_caches()
    os.environ["HOME"] = paths["home"]
    os.environ["TMPDIR"] = paths["home"]
    import numpy  # noqa: F401 -- every module needs it; loading it before the first call keeps timings honest

    dispatcher = Dispatcher(Path(paths["submission"]))
    channel.send({"hello": {"isolation": isolation}})
    while True:
        message = channel.receive()
        if message is None:
            return
        reply = dispatcher.handle(message["body"])
        channel.send({"id": message["id"], **reply})
