"""Graded checks of backprop.py (16 points).

Oracles: the loss in closed form (scipy's log_softmax), PyTorch autograd in
float64 for the gradients (imported inside that test only, so the other checks
never wait for torch), and the exact derivative of a known function for the
gradient check. `backward` and `numerical_gradient` are reached through probes
(grader/probes/backprop.py): one needs the student's own forward cache, the
other a callable. Parameters always have nonzero biases, so regularising a
bias shows.
"""

import numpy as np
from scipy import special

from grader.engine.feedback import (
    check,
    check_array,
    check_equal,
    check_number,
    describe,
    describe_call,
    every_case,
    fail,
)
from grader.engine.scoring import graded
from grader.tolerances import CENTRAL_DIFFERENCE_STEP, TOLERANCES
from grader.worker.probes import backprop as backprop_probes

RNG_SEED = 2024  # any fixed seed: inputs are random but the same on every run
# (N examples, D features, H hidden, C classes): all different, so a transposed
# gradient has the wrong shape; and a second, smaller net.
NET_SIZES = [(10, 4, 5, 3), (7, 2, 3, 2)]
REG_LAMBDA = 0.1
PARAM_NAMES = ("W1", "b1", "W2", "b2")


def random_problem(num_examples, num_features, num_hidden, num_classes, seed=RNG_SEED):
    """Params (nonzero biases), inputs X and labels y, all float64 / int64."""
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.normal(size=(num_features, num_hidden)),
        "b1": rng.normal(size=(1, num_hidden)),
        "W2": rng.normal(size=(num_hidden, num_classes)),
        "b2": rng.normal(size=(1, num_classes)),
    }
    X = rng.normal(size=(num_examples, num_features))
    y = rng.integers(num_classes, size=num_examples)
    return params, X, y


def cross_entropy_oracle(params, X, y):
    """Mean cross-entropy of the net X -> tanh(X W1 + b1) -> softmax(. W2 + b2), in closed form."""
    scores = np.tanh(X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
    return -np.mean(special.log_softmax(scores, axis=1)[np.arange(len(y)), y])


def squared_norm(*arrays):
    return sum(float(np.sum(array**2)) for array in arrays)


def describe_backward(params, X, y, reg_lambda):
    passed = "" if reg_lambda is None else f", reg_lambda={reg_lambda!r}"
    return (
        f"backward(params, cache, {describe(X)}, {describe(y)}{passed}) "
        f"after probs, cache = forward(params, X), with params W1 {params['W1'].shape}, b1 "
        f"{params['b1'].shape}, W2 {params['W2'].shape}, b2 {params['b2'].shape}"
    )


def autograd_gradients(
    params, X, y, reg_lambda, *, reduction="mean", regularise_biases=False, tanh_derivative_without_square=False
):
    """The gradient of the loss by PyTorch autograd in float64, or of a known mistake's loss."""
    import torch
    import torch.nn.functional as F

    tensors = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in params.items()}
    inputs = torch.tensor(X, dtype=torch.float64)
    pre_activation = inputs @ tensors["W1"] + tensors["b1"]
    hidden = torch.tanh(pre_activation)
    if tanh_derivative_without_square:
        # Forward value tanh(z1), but d hidden / d z1 = 1 - tanh(z1): the mistake's backward.
        hidden = hidden.detach() + (pre_activation - pre_activation.detach()) * (1 - hidden.detach())
    scores = hidden @ tensors["W2"] + tensors["b2"]
    objective = F.cross_entropy(scores, torch.tensor(y, dtype=torch.int64), reduction=reduction)
    decayed = ("W1", "W2", "b1", "b2") if regularise_biases else ("W1", "W2")
    objective = objective + reg_lambda / 2 * sum((tensors[name] ** 2).sum() for name in decayed)
    objective.backward()
    return {name: tensor.grad.numpy() for name, tensor in tensors.items()}


def gradient_mistakes(params, X, y, reg_lambda):
    """For each parameter, {sentence naming a mistake: the gradient that mistake gives}."""
    correct = autograd_gradients(params, X, y, reg_lambda)
    summed = autograd_gradients(params, X, y, reg_lambda, reduction="sum")
    no_weight_decay = autograd_gradients(params, X, y, 0.0)
    decayed_biases = autograd_gradients(params, X, y, reg_lambda, regularise_biases=True)
    wrong_tanh = autograd_gradients(params, X, y, reg_lambda, tanh_derivative_without_square=True)
    mistakes = {}
    for name in PARAM_NAMES:
        found = {
            "the gradient is not divided by N (the loss is a mean over the examples, so dscores "
            "= (probs - onehot(y)) / N)": summed[name],
            "the tanh derivative lacks the square: it is 1 - a1**2, not 1 - a1": wrong_tanh[name],
            f"d{name} transposed (shapes: dW = input.T @ dout, shaped like W)": correct[name].T,
            f"d{name} lost its leading axis (sum with keepdims=True so it stays shaped like {name})": correct[
                name
            ].reshape(-1),
        }
        if reg_lambda:
            if name[0] == "W":
                found[f"the regularisation gradient is missing: add reg_lambda * {name} to d{name}"] = no_weight_decay[
                    name
                ]
                found[
                    "the regularisation gradient is doubled: d/dW of reg_lambda/2 * sum(W**2) is "
                    "reg_lambda * W, not 2 * reg_lambda * W"
                ] = correct[name] + reg_lambda * params[name]
            else:
                found[
                    "the bias is regularised: weight decay applies to W1 and W2 only, so d"
                    f"{name} gets no reg_lambda * {name}"
                ] = decayed_biases[name]
        mistakes[name] = found
    return correct, mistakes


def run_backward(student, params, X, y, reg_lambda):
    report = student.probe(
        backprop_probes.backward_on_your_forward_cache, params=params, X=X, y=y, reg_lambda=reg_lambda
    )
    grads = report["grads"]
    call = describe_backward(params, X, y, reg_lambda)
    check(
        isinstance(grads, dict),
        f"expected a dict of gradients keyed like params; got {type(grads).__name__}",
        call=call,
    )
    check_equal(
        sorted(grads),
        sorted(PARAM_NAMES),
        call=call,
        what="keys",
        mistakes={"gradients keyed 'dW1', 'db1', ... instead of like params": ["dW1", "dW2", "db1", "db2"]},
        hint="key the gradients like params ('W1', 'b1', 'W2', 'b2') so sgd_step can pair them",
    )
    return report, call


def check_mean_cross_entropy(student, params, X, y):
    """`loss(params, X, y)`, reg_lambda left at its default, is the mean cross-entropy."""
    expected = cross_entropy_oracle(params, X, y)
    got = student.backprop.loss(params, X, y)
    check_number(
        got,
        expected,
        call=describe_call("loss", (params, X, y)),
        mistakes={
            "summed cross-entropy instead of the mean over the N examples": len(y) * expected,
            "log10 instead of the natural log (np.log)": expected / np.log(10),
        },
        **TOLERANCES["loss"]["values"].isclose,
    )


@graded(points=2, exercise="loss")
def test_loss_is_mean_cross_entropy(student):
    with every_case() as cases:
        for sizes in NET_SIZES:
            with cases.case():
                check_mean_cross_entropy(student, *random_problem(*sizes))


def check_weight_decay_on_weights_only(student, params, X, y, reg_lambda):
    """`loss(params, X, y, reg_lambda=...)` is the mean cross-entropy plus reg_lambda/2 * (sum(W1**2) + sum(W2**2))."""
    data_loss = cross_entropy_oracle(params, X, y)
    weights, biases = squared_norm(params["W1"], params["W2"]), squared_norm(params["b1"], params["b2"])
    expected = data_loss + reg_lambda / 2 * weights
    got = student.backprop.loss(params, X, y, reg_lambda=reg_lambda)
    check_number(
        got,
        expected,
        call=describe_call("loss", (params, X, y), {"reg_lambda": reg_lambda}),
        mistakes={
            "the biases are regularised too: weight decay is reg_lambda/2 * (sum(W1**2) + "
            "sum(W2**2)), never the biases": expected + reg_lambda / 2 * biases,
            "weight decay without the 1/2: it is reg_lambda/2 * sum(W**2)": data_loss + reg_lambda * weights,
            "the regularisation term is missing (reg_lambda was ignored)": data_loss,
            "summed cross-entropy instead of the mean over the N examples": len(y) * data_loss
            + reg_lambda / 2 * weights,
        },
        **TOLERANCES["loss"]["values"].isclose,
    )


@graded(points=2, exercise="loss")
def test_loss_adds_weight_decay_on_weights_only(student):
    with every_case() as cases:
        for sizes in NET_SIZES:
            with cases.case():
                check_weight_decay_on_weights_only(student, *random_problem(*sizes), REG_LAMBDA)


def check_gradients_match_autograd(student, params, X, y, reg_lambda, hint=None):
    """backward's gradients on the student's own forward cache are autograd's (reg_lambda None: its default, 0.0)."""
    expected, mistakes = gradient_mistakes(params, X, y, 0.0 if reg_lambda is None else reg_lambda)
    report, call = run_backward(student, params, X, y, reg_lambda)
    for name in PARAM_NAMES:
        check_array(
            report["grads"][name],
            expected[name],
            call=f"{call}, gradient {name!r}",
            mistakes=mistakes[name],
            hint=hint,
            # relative error <= 1e-7 (CS231n), in its elementwise form
            **TOLERANCES["backward"]["gradients"].isclose,
        )


@graded(points=3, exercise="backward")
def test_backward_matches_autograd(student):
    with every_case() as cases:
        for sizes in NET_SIZES:
            with cases.case():
                check_gradients_match_autograd(
                    student,
                    *random_problem(*sizes),
                    None,  # the default, reg_lambda=0.0
                    hint="compare with numerical_gradient on a tiny net to find the first wrong step",
                )


@graded(points=2, exercise="backward")
def test_backward_with_weight_decay_matches_autograd(student):
    with every_case() as cases:
        for sizes in NET_SIZES:
            with cases.case():
                check_gradients_match_autograd(student, *random_problem(*sizes), REG_LAMBDA)


def check_gradients_shaped_like_params(student, params, X, y, reg_lambda):
    """backward returns one NumPy array per parameter, shaped like it."""
    report, call = run_backward(student, params, X, y, reg_lambda)
    for name in PARAM_NAMES:
        got = report["grads"][name]
        check(
            isinstance(got, np.ndarray),
            f"gradient {name!r}: expected a NumPy array; got {type(got).__name__}",
            call=call,
        )
        check_equal(
            got.shape,
            params[name].shape,
            call=call,
            what=f"shape of gradient {name!r}",
            mistakes={
                f"d{name} transposed (dW = input.T @ dout is shaped like W)": params[name].shape[::-1],
                f"d{name} lost its leading axis (np.sum(..., axis=0, keepdims=True))": (params[name].size,),
            },
        )


@graded(points=1, exercise="backward")
def test_backward_gradients_are_shaped_like_params(student):
    with every_case() as cases:
        for sizes in NET_SIZES:
            with cases.case():
                check_gradients_shaped_like_params(student, *random_problem(*sizes), REG_LAMBDA)


def check_cache_and_inputs_unchanged(report, params, X, y, call):
    """backward twice on one cache gave the same gradients, and params, X and y are what was sent."""
    first, again = report["grads"], report["grads_again"]
    for name in PARAM_NAMES:
        check_array(
            again.get(name) if isinstance(again, dict) else again,
            first[name],
            call=call + f", called a second time on the same cache, [{name!r}]",
            **TOLERANCES["backward"]["second call"].isclose,
            hint="backward changed the cache that forward returned, so probs in it no longer hold the "
            "probabilities: dscores = probs.copy() before dscores[np.arange(N), y] -= 1 (dscores = probs "
            "makes a second name for the same array)",
        )
    params_after, X_after, y_after = report["inputs_after"]
    for name, before, after in [(f"params[{key!r}]", params[key], params_after[key]) for key in params] + [
        ("X", X, X_after),
        ("y", y, y_after),
    ]:
        check(
            isinstance(after, np.ndarray) and after.shape == before.shape and bool(np.array_equal(after, before)),
            f"backward changed {name} in place",
            call=call,
            hint="build new arrays for the gradients; never write into the inputs",
        )


@graded(points=1, exercise="backward")
def test_backward_leaves_cache_and_inputs_unchanged(student):
    params, X, y = random_problem(*NET_SIZES[0])
    report, call = run_backward(student, params, X, y, REG_LAMBDA)
    check_cache_and_inputs_unchanged(report, params, X, y, call)


def known_function_gradient(x):
    """d/dx of f(x) = sum(sin(x)) + sum(x)**2 / 2, the probe's function: cos(x) + sum(x)."""
    return np.cos(x) + np.sum(x)


def gradient_check_mistakes(x, h):
    """What the probe's f gives under known numerical-gradient mistakes, in closed form."""
    total = np.sum(x)
    return {
        # (f(x + h e_i) - f(x)) / h: sin part (sin(x+h) - sin(x))/h, quadratic part ((S+h)^2 - S^2)/(2h) = S + h/2
        "a one-sided difference (f(x+h) - f(x)) / h; use the central difference (f(x+h) - f(x-h)) / (2h)": (
            np.sin(x + h) - np.sin(x)
        )
        / h
        + total
        + h / 2,
        # dividing by h instead of 2h doubles the central difference cos(x) sin(h)/h + S
        "divided by h instead of 2h": 2 * (np.cos(x) * np.sin(h) / h + total),
        # every entry moved together: sum_j cos(x_j) sin(h)/h + n*S in every entry
        "all entries of x perturbed at once; perturb one entry at a time": np.full(
            x.shape, np.sum(np.cos(x)) * np.sin(h) / h + x.size * total
        ),
        "x was copied before perturbing it, so f (which reads x) never saw the change; change x in place": np.zeros(
            x.shape
        ),
        # entries before the i-th (in C order) left at x - h: sum(x) is short by i*h when entry i is measured
        "x is not restored after each entry, so later entries are measured at a shifted x": np.cos(x) * np.sin(h) / h
        + total
        - h * np.arange(x.size).reshape(x.shape),
    }


FUNCTION = "with f() = sum(sin(x)) + sum(x)**2 / 2 reading x"


def check_numerical_gradient_values(student, x, h):
    """numerical_gradient of the probe's known f at x: with h=None (the default, 1e-5) close to the
    derivative; with a given h, exactly the central difference cos(x) sin(h)/h + sum(x)."""
    tolerance = TOLERANCES["numerical_gradient"]["values"]
    if h is None:
        report = student.probe(backprop_probes.numerical_gradient_of_a_known_function, x=x)
        # Central differences with h = 1e-5: truncation h^2/6 * |f'''| < 2e-11, rounding about
        # 2 ulp(|f| ~ 20) / 2h ~ 2e-10; a one-sided difference is off by h/2 * |f''| ~ 5e-6.
        check_array(
            report["grad"],
            known_function_gradient(x),
            call=f"numerical_gradient(f, {describe(x)}) {FUNCTION}",
            mistakes=gradient_check_mistakes(x, CENTRAL_DIFFERENCE_STEP),
            **tolerance.isclose,
        )
        return
    # With a given h the central difference is exactly cos(x) sin(h)/h + sum(x) (the quadratic
    # part has no truncation error), about h**2/6 * |cos(x)| away from the derivative.
    report = student.probe(backprop_probes.numerical_gradient_of_a_known_function, x=x, h=h)
    check_array(
        report["grad"],
        np.cos(x) * np.sin(h) / h + np.sum(x),
        call=f"numerical_gradient(f, {describe(x)}, h={h}) {FUNCTION}",
        mistakes={
            "the h argument is ignored (a fixed step is used instead)": known_function_gradient(x),
            **gradient_check_mistakes(x, h),
        },
        **tolerance.isclose,
    )


@graded(points=2, exercise="numerical_gradient")
def test_numerical_gradient_matches_known_derivative(student):
    rng = np.random.default_rng(RNG_SEED)
    # x of any shape, as the contract says: a matrix, and a 3-D array (which a loop over rows and columns misses).
    with every_case() as cases:
        for x in (rng.normal(size=(3, 4)), rng.normal(size=(2, 3, 2))):
            for h in (None, 0.01):  # 0.01: up to 0.01**2/6 = 1.7e-5 from the derivative
                with cases.case():
                    check_numerical_gradient_values(student, x, h)


def check_x_restored_exactly(student, x):
    """After numerical_gradient(f, x), x holds exactly the values it was given."""
    report = student.probe(backprop_probes.numerical_gradient_of_a_known_function, x=x)
    call = f"numerical_gradient(f, {describe(x)}), then x"
    check_array(
        report["x_after"],
        x,
        call=call,
        mistakes={
            "x restored by arithmetic (x[i] += h, then -= h), which rounds: save the original "
            "value and assign it back": x,
            "x left at x - h: assign the saved original value back after each entry": x - 1e-5,
            "x left at x + h: assign the saved original value back after each entry": x + 1e-5,
        },
        hint="original = x[i]; ...; x[i] = original, after each entry",
        **TOLERANCES["numerical_gradient"]["x afterwards"].isclose,
    )


@graded(points=1, exercise="numerical_gradient")
def test_numerical_gradient_restores_x_exactly(student):
    check_x_restored_exactly(student, np.random.default_rng(RNG_SEED + 1).normal(size=(2, 3, 2)))


def relative_error_formula(a, b):
    """CS231n's relative error max(|a-b| / max(1e-8, |a|+|b|)), and what its known mistakes give."""
    a_array, b_array = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    difference = np.abs(a_array - b_array)
    expected = np.max(difference / np.maximum(1e-8, np.abs(a_array) + np.abs(b_array)))
    mistakes = {
        "no 1e-8 floor in the denominator: max(1e-8, |a| + |b|)": np.max(
            difference / (np.abs(a_array) + np.abs(b_array))
        ),
        "the mean instead of the max over entries": np.mean(
            difference / np.maximum(1e-8, np.abs(a_array) + np.abs(b_array))
        ),
        "the denominator lacks |b|: it is max(1e-8, |a| + |b|)": np.max(difference / np.maximum(1e-8, np.abs(a_array))),
    }
    return expected, mistakes


def check_relative_error(student, a, b):
    """relative_error(a, b) is CS231n's formula."""
    expected, mistakes = relative_error_formula(a, b)
    check_number(
        student.backprop.relative_error(a, b),
        expected,
        call=describe_call("relative_error", (a, b)),
        mistakes=mistakes,
        **TOLERANCES["relative_error"]["values"].isclose,
    )


@graded(points=1, exercise="relative_error")
def test_relative_error_matches_cs231n_formula(student):
    rng = np.random.default_rng(RNG_SEED)
    cases = [
        (rng.normal(size=(3, 4)), rng.normal(size=(3, 4))),
        (1.0, 1.1),  # scalars: |1 - 1.1| / 2.1
        # |a|+|b| = 2e-10 is below the floor: 2e-10 / 1e-8 = 0.02 (without the floor it would be 1.0)
        (np.array([1e-10, 1.0]), np.array([-1e-10, 1.0])),
    ]
    with every_case() as failures:
        for a, b in cases:
            with failures.case():
                check_relative_error(student, a, b)


def check_relative_error_of_zeros(student, shape):
    """relative_error of two zero arrays of `shape` is 0.0, not nan."""
    zeros = np.zeros(shape)
    got = student.backprop.relative_error(zeros, zeros.copy())
    call = describe_call("relative_error", (zeros, zeros))
    if isinstance(got, (float, np.floating)) and np.isnan(got):
        fail(
            "expected 0.0; got nan (0/0)",
            call=call,
            hint="the denominator is max(1e-8, |a| + |b|), which is never 0",
        )
    # |0 - 0| / max(1e-8, 0) = 0 / 1e-8 = 0.0
    check_number(got, 0.0, call=call, **TOLERANCES["relative_error"]["of zeros"].isclose)


@graded(points=1, exercise="relative_error")
def test_relative_error_of_zeros_is_zero(student):
    with every_case() as cases:
        for shape in [(3,), (2, 3)]:
            with cases.case():
                check_relative_error_of_zeros(student, shape)
