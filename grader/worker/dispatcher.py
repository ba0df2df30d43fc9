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
    {"op": "calls", "module": "conv_size", "function": "conv_output_size", "calls": [[args, kwargs], ...]}
Replies:
    {"ok": <wire value>}
    {"each": [<a call's reply>, ...]}  (to "calls": one reply per call, in order)
    {"raised": {"type", "builtin", "message", "where", "file", "line", "function", "source", "trace", "phase"}}
"""

from __future__ import annotations

import builtins
import functools
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
CALLS_TRACED = 10  # raised calls of one "calls" request that keep their traceback
_package_numbers = itertools.count()


class Submission:
    """The submission's modules, imported on first use from a private copy.

    Attribute access (`submission.activations`) imports that module only, so
    grading one module never imports what the others need (torch, say).
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()
        self.package = f"{wire.SUBMISSION_PACKAGE}{next(_package_numbers)}"
        spec = importlib.util.spec_from_file_location(
            self.package, self.folder / "__init__.py", submodule_search_locations=[str(self.folder)]
        )
        self.import_failures: dict[str, BaseException] = {}  # module -> why it last failed to import
        package = importlib.util.module_from_spec(spec)
        sys.modules[self.package] = package
        spec.loader.exec_module(package)

    def __getattr__(self, module: str):
        if module not in MODULES:
            raise AttributeError(module)
        if not (self.folder / f"{module}.py").is_file():
            raise ModuleNotFoundError(f"the submission has no {module}.py")
        try:
            return importlib.import_module(f"{self.package}.{module}")
        except BaseException as error:
            self.import_failures[module] = error  # a probe's failure may be this one: see Dispatcher.handle
            raise


class Dispatcher:
    def __init__(self, folder: Path):
        self.submission = Submission(folder)
        self._phase = "request"  # how far the request being answered got, for `describe_exception`

    def handle(self, request: dict) -> dict:
        self._phase = "request"
        return self._answer(lambda: self._run(request))

    def _run(self, request: dict) -> dict:
        op = request["op"]
        if op in ("call", "calls"):
            self._phase = "import"
            module = getattr(self.submission, request["module"])
            self._phase = "lookup"
            function = getattr(module, request["function"])
            if op == "call":
                return self._called(function, request["args"], request["kwargs"])
            if not isinstance(request["calls"], list):
                raise ValueError("calls must be a list")
            each = [self._answer(lambda call=call: self._called(function, *call)) for call in request["calls"]]
            # Only the first few tracebacks reach a student; the rest would only fill the reply.
            for answer in [answer for answer in each if "raised" in answer][CALLS_TRACED:]:
                answer["raised"]["trace"] = ""
            return {"each": each}
        if op == "probe":
            self._phase = "call"
            probe = _resolve_probe(request["probe"])
            value = probe(self.submission, **wire.decode(request["kwargs"]))
            self._phase = "return"
            return {"ok": wire.encode(value)}
        raise ValueError(f"unknown request {op!r}")

    def _called(self, function, args, kwargs) -> dict:
        self._phase = "call"
        value = function(*wire.decode(args), **wire.decode(kwargs))
        self._phase = "return"
        return {"ok": wire.encode(value)}

    def _answer(self, work) -> dict:
        """work()'s reply, or the account of what it raised."""
        try:
            return work()
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 -- everything student code raises is reported
            phase = self._phase
            failed_import = self._failed_import(error)
            if failed_import is not None:
                error, phase = failed_import, "import"
            return {"raised": describe_exception(error, self.submission.folder, phase)}
        finally:
            self.submission.import_failures.clear()

    def _failed_import(self, error: BaseException) -> BaseException | None:
        """The import failure behind `error` (a probe's, say), if a submission module failed to import."""
        failures = list(self.submission.import_failures.values())
        seen = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            if any(error is failure for failure in failures):
                return error
            error = error.__cause__ or error.__context__
        return None


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
    exec(_probe_code(path), module.__dict__)  # noqa: S102 -- the grader's own file
    return getattr(module, function_name)


@functools.cache
def _probe_code(path: Path) -> types.CodeType:
    """A probe module's code, compiled once per worker: a grading makes dozens of probe calls (~0.15 s)."""
    return compile(path.read_bytes(), str(path), "exec")


def builtin_base(error: BaseException) -> str:
    """The nearest built-in exception class of `error` (a custom ValueError -> ValueError)."""
    for cls in type(error).__mro__:
        if getattr(builtins, cls.__name__, None) is cls:
            return cls.__name__
    return "BaseException"


def _qualified_name(error: BaseException, frame: traceback.FrameSummary) -> str:
    """`ConvNet.__init__` rather than `__init__`: the qualified name of the frame's code (Python 3.11+)."""
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == frame.filename and tb.tb_lineno == frame.lineno:
            return getattr(code, "co_qualname", frame.name)
        tb = tb.tb_next
    return frame.name


def describe_exception(error: BaseException, folder: Path, phase: str) -> dict:
    """Plain-data account of an exception, pointing into the submission's files."""
    frames = traceback.extract_tb(error.__traceback__)
    folder_text = str(folder)
    own = [frame for frame in frames if frame.filename.startswith(folder_text)]
    file, line, function, text = "", 0, "", ""
    syntax = isinstance(error, SyntaxError) and bool(error.filename) and error.filename.startswith(folder_text)
    if syntax:
        file, line, text = Path(error.filename).name, error.lineno or 0, (error.text or "").strip()
    elif own:
        file, line, function = Path(own[-1].filename).name, own[-1].lineno or 0, _qualified_name(error, own[-1])
    where = f"{file}, line {line}" if file else ""
    trace = "".join(traceback.format_list(own)).replace(folder_text + "/", "")
    try:
        message = error.msg if syntax else str(error)  # a SyntaxError's str() repeats its location
        message = wire.without_package(message)
    except BaseException:  # noqa: BLE001 -- a __str__ that raises is the student's problem
        message = "<the exception's message could not be read>"
    return {
        "file": file[:200],
        "line": str(line),
        "function": function[:200],
        "source": text[:200],
        "type": str(type(error).__name__)[:200],
        "builtin": builtin_base(error),
        "message": message[: LIMITS.exception_message_chars],
        "where": where,
        "trace": trace[-4 * LIMITS.exception_message_chars :],
        "phase": phase,
    }
