"""Loading a submission and running what the grader asks of it (untrusted side).

`Dispatcher.handle` takes one request (plain data) and returns one reply
(plain data). The same dispatcher serves the in-process mode (called
directly by `grader.engine.backends.InProcess`) and the sandboxed worker
process (`grader.worker.main`, reading framed requests from its request
pipe). Nothing here decides a verdict: replies are values or a description
of what the student's code raised.

Requests:
    {"op": "call", "module": "activations", "function": "softmax", "args": [...], "kwargs": {...}}
    {"op": "probe", "probe": "grader.worker.probes.cnn:convnet_logits_shapes", "kwargs": {...}}
Replies:
    {"ok": <wire value>}
    {"raised": {"type", "builtin", "message", "where", "trace", "phase"}}
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import itertools
import sys
import traceback
import types
from pathlib import Path

from grader import wire
from grader.course import MODULES
from grader.limits import LIMITS

PROBE_PACKAGE = "grader.worker.probes."
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
            self.package, self.folder / "__init__.py", submodule_search_locations=[str(self.folder)]
        )
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
                args = wire.decode(request["args"])
                kwargs = wire.decode(request["kwargs"])
                value = function(*args, **kwargs)
            elif op == "probe":
                phase = "call"
                probe = _resolve_probe(request["probe"])
                value = probe(self.submission, **wire.decode(request["kwargs"]))
            else:
                raise ValueError(f"unknown request {op!r}")
            phase = "return"
            return {"ok": wire.encode(value)}
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 -- everything student code raises is reported
            return {"raised": describe_exception(error, self.submission.folder, phase)}


PROBES = Path(__file__).resolve().parent / "probes"


def _resolve_probe(reference: str):
    """The probe function `reference` names, from a private copy of its module loaded for this request.

    Never the module in `sys.modules`, which the student's code can patch.
    Hardening only: the student's code shares this process, and no point
    rests on what a probe reports (see grader.worker).
    """
    module_name, _, function_name = reference.partition(":")
    name = module_name.removeprefix(PROBE_PACKAGE)
    if not module_name.startswith(PROBE_PACKAGE) or not name.isidentifier() or not function_name.isidentifier():
        raise ValueError(f"{reference!r} is not a grader probe")
    path = PROBES / f"{name}.py"
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    exec(compile(path.read_bytes(), str(path), "exec"), module.__dict__)  # noqa: S102 -- the grader's own file
    return getattr(module, function_name)


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
        "message": message[: LIMITS.exception_message_chars],
        "where": where,
        "trace": trace[-4 * LIMITS.exception_message_chars :],
        "phase": phase,
    }
