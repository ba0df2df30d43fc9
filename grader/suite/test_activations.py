"""Graded checks of activations.py (14 points).

Oracles: NumPy closed forms only, so that checking this module never imports
torch (nor SciPy, 0.3 s of `dlgrade check activations`): the sigmoid and softmax
oracles below give scipy.special's values, which tests/test_oracles.py checks.
Every array handed to the student's code is read-only: a function that
modifies its input in place fails with NumPy's "read-only" error instead of
silently passing. Stability (no nan/inf and no
RuntimeWarning up to |z| = 1e4) is checked in the student's process by
`probes.activations.warnings_as_errors`.
"""

import contextlib

import numpy as np

import grader.worker.probes.activations  # noqa: F401 -- loads probes.activations
from grader.engine.feedback import check, check_array, describe_call, every_case, fail
from grader.engine.scoring import graded
from grader.engine.static import ModuleSource
from grader.tolerances import CENTRAL_DIFFERENCE_STEP, RELATIVE_ERROR_FLOOR, TOLERANCES
from grader.worker import probes

RNG_SEED = 1234  # any fixed seed: inputs are random but the same on every run
SHAPES = [(7,), (3, 4), (2, 3, 5)]
# A list of ints: array_like input, and the result must still be a float array.
LIST_INPUT = [[-2, 0, 3], [1, -1, 4]]
SCALAR_INPUTS = [0.5, -1.5]
# Both signed zeros: the conventions at z == 0 (relu_grad 0, leaky_relu_grad
# alpha, binary_step 1) hold for -0.0 too, since -0.0 == 0.0.
AT_ZERO = np.array([-1.0, -0.0, 0.0, 1.0])
# exp overflows above log(float64 max) ~ 709.78, so 800 and beyond overflow in a
# naive formula; exp(-1e4) underflows to 0, which must not turn into 0/0.
LARGE = np.array([-1e4, -1e3, -800.0, -50.0, -1.0, 0.0, 1.0, 50.0, 800.0, 1e3, 1e4])
# Central differences of the oracles with this step, on the gradient inputs below
# (|z| < 3), are within 1e-10 of the derivative (grader/tolerances.py).
STEP = CENTRAL_DIFFERENCE_STEP


def _floats(z) -> np.ndarray:
    """z as an array of its own float type (float64 for ints, lists and scalars), as SciPy's ufuncs give."""
    z = np.asarray(z)
    return z if np.issubdtype(z.dtype, np.floating) else z.astype(float)


def expit(z):
    """The logistic sigmoid 1 / (1 + exp(-z)), without overflow for any z (scipy.expit)."""
    z = _floats(z)
    small = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1 / (1 + small), small / (1 + small))[()]


def softmax(z, axis=-1):
    """exp(z) normalised along `axis` (None: the whole array), shifted by the maximum (scipy.softmax)."""
    z = _floats(z)
    shifted = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def read_only(array):
    array = np.array(array, dtype=float)
    array.flags.writeable = False
    return array


def random_inputs(scale=3.0):
    """Read-only float64 arrays of every shape in SHAPES, N(0, scale**2) entries."""
    rng = np.random.default_rng(RNG_SEED)
    return [read_only(rng.normal(scale=scale, size=shape)) for shape in SHAPES]


def gradient_inputs():
    """Inputs for gradient checks: |z| < 3, where h=1e-5 differences are accurate (see STEP)."""
    return random_inputs(scale=1.0)


def as_checked_array(got):
    """A NumPy float scalar is what NumPy itself returns for a 0-d input: accept it as one."""
    return np.asarray(got) if isinstance(got, np.floating) else got


def collecting(cases):
    """`cases` (a caller's every_case collector, so its failures join the caller's list), or a new one."""
    return every_case() if cases is None else contextlib.nullcontext(cases)


def check_elementwise(student, function, oracle, kwargs=None, mistakes=None, cases=None):
    """`function` matches `oracle` on random arrays of several shapes, a list of ints and scalars.

    `mistakes(z)` gives the fingerprints of known mistakes for input `z`. Every
    failing input is reported (into `cases`, when given, the collector of a
    caller that loops over more).
    """
    kwargs = kwargs or {}
    call = getattr(student.activations, function)
    inputs = random_inputs() + [LIST_INPUT] + SCALAR_INPUTS
    with collecting(cases) as collected:
        for z in inputs:
            with collected.case():
                z_array = np.asarray(z, dtype=float)
                got = as_checked_array(call(z, **kwargs))
                check_array(
                    got,
                    oracle(z_array),
                    call=describe_call(function, (z,), kwargs),
                    mistakes=mistakes(z_array) if mistakes else None,
                    **TOLERANCES[function]["values"].isclose,
                )


def numerical_derivative(f, z, h=STEP):
    """Central differences of the elementwise function f at every entry of z."""
    return (f(z + h) - f(z - h)) / (2 * h)


def relative_error(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(RELATIVE_ERROR_FLOOR, np.abs(a) + np.abs(b))))


def check_numerical_gradient(student, function, oracle_function, kwargs=None, cases=None):
    """`function` agrees with central differences of the oracle's `oracle_function` (failures into `cases`
    as for check_elementwise).

    No gradient input lies within h of relu's kink at 0 (the inputs are fixed
    by RNG_SEED; the nearest is farther than 1e-3).
    """
    kwargs = kwargs or {}
    tolerance = TOLERANCES[function]["numerical gradient"]
    with collecting(cases) as collected:
        for z in gradient_inputs():
            with collected.case():
                got = getattr(student.activations, function)(z, **kwargs)
                call = describe_call(function, (z,), kwargs)
                numerical = numerical_derivative(oracle_function, z)
                # The bound's elementwise form first: shape, dtype, finiteness and where the values differ.
                check_array(
                    got,
                    numerical,
                    call=call,
                    hint=f"compared with central differences (h={STEP:g}) of the function: an exact derivative "
                    f"is within relative error {tolerance.relative_error:g} of them",
                    **tolerance.isclose,
                )
                error = relative_error(got, numerical)
                check(
                    error <= tolerance.relative_error,
                    f"relative error {error:.3g} against central differences (h={STEP:g}) of the function; "
                    f"at most {tolerance.relative_error:g} is expected of an exact derivative",
                    call=call,
                )


def check_stable(student, function, expected, z, kwargs=None, mistakes=None, overflow_cause=None, invalid_cause=None):
    """`function(z)` is finite, right, and issues no RuntimeWarning (run with warnings as errors).

    A non-finite result is explained by `mistakes` (fingerprints, NaN where the
    mistake gives NaN) when given, else by `overflow_cause`; a warning by
    `overflow_cause` or `invalid_cause`, after what it says.
    """
    kwargs = kwargs or {}
    tolerance = TOLERANCES[function]["values"]
    call = describe_call(function, (z,), kwargs)
    got = getattr(student.activations, function)(z, **kwargs)
    check_array(
        got,
        expected,
        call=call,
        mistakes=mistakes,
        nonfinite_cause=None if mistakes else overflow_cause,
        **tolerance.isclose,
    )
    reply = student.probe(probes.activations.warnings_as_errors, function=function, args=[z], kwargs=kwargs)
    if "warning" in reply:
        warning = reply["warning"]
        cause = overflow_cause if "overflow" in warning else invalid_cause if "invalid" in warning else None
        message = (
            f"issued {warning} (run with warnings as errors: a stable {function} issues no "
            "warning for inputs up to |z| = 1e4)"
        )
        fail(message, call=call, cause=cause)
    check_array(reply["value"], expected, call=call, **tolerance.isclose)


SIGMOID_OVERFLOW = (
    "exp(-z) overflows for large negative z (1/(1+np.exp(-z)) computed everywhere): "
    "split by sign and use exp(z)/(1+exp(z)) where z < 0"
)


@graded(points=1, exercise="sigmoid")
def test_sigmoid_matches_closed_form(student):
    check_elementwise(student, "sigmoid", expit)


@graded(points=1, exercise="sigmoid")
def test_sigmoid_is_stable_for_large_inputs(student):
    z = read_only(LARGE)
    check_stable(student, "sigmoid", expit(z), z, overflow_cause=SIGMOID_OVERFLOW)


@graded(points=1, exercise="sigmoid_grad")
def test_sigmoid_grad_matches_closed_form_and_numerical_gradient(student):
    def derivative(z):
        return expit(z) * (1 - expit(z))

    check_elementwise(
        student,
        "sigmoid_grad",
        derivative,
        mistakes=lambda z: {
            "the derivative written for sigmoid's output s, s*(1-s), applied to z itself (z*(1-z)): "
            "compute s = sigmoid(z) first": z * (1 - z),
            "sigmoid(z) returned instead of its derivative": expit(z),
        },
    )
    check_numerical_gradient(student, "sigmoid_grad", expit)
    z = read_only(LARGE)
    check_stable(
        student,
        "sigmoid_grad",
        derivative(z),
        z,
        overflow_cause="exp overflows for large |z|: build sigmoid_grad from a stable sigmoid (split by sign), s*(1-s)",
        invalid_cause="inf/inf for large |z|: build sigmoid_grad from a stable sigmoid, s*(1-s)",
    )


@graded(points=1, exercise="tanh")
def test_tanh_matches_closed_form_and_is_built_from_exp(student):
    check_elementwise(student, "tanh", np.tanh)
    uses = ModuleSource(student.source("activations"), "activations.py").library_uses("tanh", "tanh")
    check(
        not uses,
        f"tanh must be built from exp, but it uses the library's tanh: {', '.join(uses)}",
        call="tanh",
        hint="(1 - exp(-2|z|)) / (1 + exp(-2|z|)), with the sign of z put back",
    )


@graded(points=1, exercise="tanh")
def test_tanh_is_stable_for_large_inputs(student):
    z = read_only(LARGE)
    check_stable(
        student,
        "tanh",
        np.tanh(z),
        z,
        overflow_cause="exp(z) or exp(-z) overflows for large |z| ((e^z - e^-z)/(e^z + e^-z) "
        "gives inf/inf): use exp(-2|z|), which is at most 1",
        invalid_cause="inf/inf or 0/0 for large |z|: use exp(-2|z|), which is at most 1",
    )


@graded(points=1, exercise="tanh_grad")
def test_tanh_grad_matches_closed_form_and_numerical_gradient(student):
    def derivative(z):
        return 1 - np.tanh(z) ** 2

    check_elementwise(
        student,
        "tanh_grad",
        derivative,
        mistakes=lambda z: {
            "tanh derivative without the square: 1 - tanh(z) instead of 1 - tanh(z)**2": 1 - np.tanh(z),
            "tanh(z)**2 instead of 1 - tanh(z)**2": np.tanh(z) ** 2,
            "the derivative written for tanh's output t, 1 - t**2, applied to z itself (1 - z**2)": 1 - z**2,
        },
    )
    check_numerical_gradient(student, "tanh_grad", np.tanh)
    z = read_only(LARGE)
    check_stable(
        student,
        "tanh_grad",
        derivative(z),
        z,
        overflow_cause="exp or cosh overflows for large |z|: build the derivative from your stable tanh",
        invalid_cause="inf/inf for large |z|: build the derivative from your stable tanh",
    )


@graded(points=1, exercise="relu")
def test_relu_matches_closed_form(student):
    check_elementwise(
        student,
        "relu",
        lambda z: np.where(z > 0, z, 0.0),
        mistakes=lambda z: {
            "min(z, 0) instead of max(z, 0)": np.minimum(z, 0.0),
        },
    )


@graded(points=1, exercise="relu_grad")
def test_relu_grad_is_zero_at_zero_and_matches_numerical_gradient(student):
    check_elementwise(
        student,
        "relu_grad",
        lambda z: (z > 0).astype(float),
        mistakes=lambda z: {
            "relu_grad is 1 at z == 0: use z > 0, not z >= 0": (z >= 0).astype(float),
            "relu(z) returned instead of its derivative": np.maximum(z, 0.0),
        },
    )
    z = read_only(AT_ZERO)
    check_array(
        student.activations.relu_grad(z),
        [0.0, 0.0, 0.0, 1.0],
        call=describe_call("relu_grad", (z,)),
        mistakes={"relu_grad is 1 at z == 0: use z > 0, not z >= 0": [0.0, 1.0, 1.0, 1.0]},
        hint="the convention: relu'(0) = 0",
        **TOLERANCES["relu_grad"]["values"].isclose,
    )
    check_numerical_gradient(student, "relu_grad", lambda z: np.maximum(z, 0.0))


def leaky_relu_oracle(alpha):
    return lambda z: np.where(z > 0, z, alpha * z)


def leaky_relu_grad_oracle(alpha):
    return lambda z: np.where(z > 0, 1.0, alpha)


ALPHA_CASES = ({}, {"alpha": 0.2}, {"alpha": 0.5})
DEFAULT_ALPHA = 0.01  # leaky_relu's default slope, from the contract


def alpha_ignored(alpha):
    return f"alpha ignored: the slope {DEFAULT_ALPHA} used where alpha={alpha} was given"


@graded(points=1, exercise="leaky_relu")
def test_leaky_relu_honours_alpha(student):
    with every_case() as cases:
        for kwargs in ALPHA_CASES:
            alpha = kwargs.get("alpha", DEFAULT_ALPHA)
            check_elementwise(
                student,
                "leaky_relu",
                leaky_relu_oracle(alpha),
                kwargs=kwargs,
                mistakes=lambda z, a=alpha: {
                    alpha_ignored(a): leaky_relu_oracle(DEFAULT_ALPHA)(z),
                    "relu instead of leaky relu (slope 0 for z <= 0)": np.maximum(z, 0.0),
                },
                cases=cases,
            )


@graded(points=1, exercise="leaky_relu_grad")
def test_leaky_relu_grad_is_alpha_at_zero_and_matches_numerical_gradient(student):
    at_one_in_zero = "leaky_relu_grad is 1 at z == 0: use z > 0, not z >= 0"
    with every_case() as cases:
        for kwargs in ALPHA_CASES:
            alpha = kwargs.get("alpha", DEFAULT_ALPHA)
            check_elementwise(
                student,
                "leaky_relu_grad",
                leaky_relu_grad_oracle(alpha),
                kwargs=kwargs,
                mistakes=lambda z, a=alpha: {
                    alpha_ignored(a): leaky_relu_grad_oracle(DEFAULT_ALPHA)(z),
                    at_one_in_zero: np.where(z >= 0, 1.0, a),
                },
                cases=cases,
            )
            z = read_only(AT_ZERO)
            with cases.case():
                check_array(
                    student.activations.leaky_relu_grad(z, **kwargs),
                    [alpha, alpha, alpha, 1.0],
                    call=describe_call("leaky_relu_grad", (z,), kwargs),
                    mistakes={at_one_in_zero: [alpha, 1.0, 1.0, 1.0]},
                    hint="the convention: the slope at z == 0 is alpha",
                    **TOLERANCES["leaky_relu_grad"]["values"].isclose,
                )
            check_numerical_gradient(student, "leaky_relu_grad", leaky_relu_oracle(alpha), kwargs, cases=cases)


@graded(points=1, exercise="binary_step")
def test_binary_step_is_one_at_zero_and_zero_below(student):
    check_elementwise(
        student,
        "binary_step",
        lambda z: (z >= 0).astype(float),
        mistakes=lambda z: {
            "binary_step is 0 at z == 0: use z >= 0, not z > 0": (z > 0).astype(float),
        },
    )
    z = read_only(AT_ZERO)
    check_array(
        student.activations.binary_step(z),
        [0.0, 1.0, 1.0, 1.0],
        call=describe_call("binary_step", (z,)),
        mistakes={"binary_step is 0 at z == 0: use z >= 0, not z > 0": [0.0, 0.0, 0.0, 1.0]},
        hint="the convention: step(0) = 1",
        **TOLERANCES["binary_step"]["values"].isclose,
    )


def softmax_mistakes(z, axis):
    """What the known softmax mistakes return for `softmax(z, axis=axis)`."""
    with np.errstate(all="ignore"):
        shifted_wrongly = np.exp(z - np.max(z, axis=-1, keepdims=True))
        return {
            "softmax normalised over the last axis whatever `axis` says": softmax(z, axis=-1),
            "softmax normalised over the wrong axis (axis 0 instead of the one asked for)": softmax(z, axis=0),
            "softmax normalised over the whole array instead of along an axis": softmax(z, axis=None),
            "the max subtracted along the last axis instead of along `axis` (the shift must be constant "
            "along the axis you normalise)": shifted_wrongly / np.sum(shifted_wrongly, axis=axis, keepdims=True),
        }


@graded(points=1, exercise="softmax")
def test_softmax_normalises_the_last_axis_by_default(student):
    with every_case() as cases:
        for z in random_inputs() + [LIST_INPUT]:
            with cases.case():
                z_array = np.asarray(z, dtype=float)
                got = student.activations.softmax(z)
                check_array(
                    got,
                    softmax(z_array, axis=-1),
                    call=describe_call("softmax", (z,)),
                    mistakes=softmax_mistakes(z_array, -1),
                    **TOLERANCES["softmax"]["values"].isclose,
                )


@graded(points=1, exercise="softmax")
def test_softmax_normalises_along_any_axis(student):
    two_d, three_d = random_inputs()[1:]
    cases = [(two_d, axis) for axis in (0, 1, -1)] + [(three_d, axis) for axis in (0, 1, 2, -1, -2)]
    with every_case() as failures:
        for z, axis in cases:
            with failures.case():
                got = student.activations.softmax(z, axis=axis)
                check_array(
                    got,
                    softmax(z, axis=axis),
                    call=describe_call("softmax", (z,), {"axis": axis}),
                    mistakes=softmax_mistakes(z, axis),
                    **TOLERANCES["softmax"]["values"].isclose,
                )


@graded(points=1, exercise="softmax")
def test_softmax_is_stable_for_large_inputs(student):
    # Row 0 overflows exp without the max subtracted; row 1 lies 2e4 below the
    # array's max, so a max taken over the whole array underflows it to 0/0.
    z = read_only([[1e4, 0.0, -1e4], [-1e4, -1e4 + 1, -1e4 + 2], [800.0, 799.0, 1.0], [0.0, 0.0, 0.0]])
    no_max = "no max subtraction: exp(z) overflows for large z; subtract the max along `axis` first"
    global_max = (
        "the max subtracted over the whole array instead of along `axis`: a slice far below it "
        "underflows to 0/0; use np.max(z, axis=axis, keepdims=True)"
    )
    with every_case() as cases:
        for array, axis in ((z, -1), (read_only(z.T), 0)):
            with np.errstate(all="ignore"):  # the fingerprints overflow on purpose
                naive = np.exp(array) / np.sum(np.exp(array), axis=axis, keepdims=True)
                shifted = np.exp(array - np.max(array))
                global_shift = shifted / np.sum(shifted, axis=axis, keepdims=True)
            with cases.case():
                check_stable(
                    student,
                    "softmax",
                    softmax(array, axis=axis),
                    array,
                    kwargs={"axis": axis},
                    mistakes={no_max: naive, global_max: global_shift},
                    overflow_cause=no_max,
                    invalid_cause=global_max,
                )
