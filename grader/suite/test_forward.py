"""Graded checks of forward.py (12 points).

Oracles: NumPy and SciPy closed forms only (checking this module never
imports torch): np.tanh and a max-subtracted softmax for the network. Every
array handed to the student's code is read-only, so modifying an input in
place fails loudly. `forward`'s cache is the student's own design (their
backward reads it), so no check looks inside it: a probe sends back only the
probabilities.
"""

import numpy as np
from scipy import special

import grader.worker.probes.forward  # noqa: F401 -- loads probes.forward
from grader.engine.feedback import check, check_array, check_number, describe, describe_call, every_case, fail
from grader.engine.scoring import graded
from grader.tolerances import TOLERANCES
from grader.worker import probes

RNG_SEED = 2024  # any fixed seed: inputs are random but the same on every run
PARAM_KEYS = ("W1", "b1", "W2", "b2")
# Distinct sizes, so a transposed matrix or a swapped size shows in the shape.
D, H, C, N = 3, 5, 4, 6


def read_only(array):
    array = np.array(array, dtype=float)
    array.flags.writeable = False
    return array


def random_neuron_inputs():
    """(x, w, b) triples with D = 5: read-only arrays and a float bias, plus one as lists."""
    rng = np.random.default_rng(RNG_SEED)
    cases = [(read_only(rng.normal(size=5)), read_only(rng.normal(size=5)), float(rng.normal())) for _ in range(4)]
    x, w, b = cases[0]
    return cases + [(x.tolist(), w.tolist(), b)]


def random_params(scale=1.0, seed=RNG_SEED):
    """Parameters of a (D, H, C) network from the grader's own generator; biases nonzero so a dropped bias shows."""
    rng = np.random.default_rng(seed)
    shapes = {"W1": (D, H), "b1": (1, H), "W2": (H, C), "b2": (1, C)}
    return {key: read_only(scale * rng.normal(size=shape)) for key, shape in shapes.items()}


def random_batch(rows=N, seed=RNG_SEED + 1):
    return read_only(np.random.default_rng(seed).normal(size=(rows, D)))


def network(params, X, hidden=np.tanh, axis=1, with_softmax=True, b1=True, b2=True):
    """The oracle: X -> hidden(X W1 + b1) -> softmax(. W2 + b2) along `axis`; the keywords make its mistakes."""
    a1 = hidden(X @ params["W1"] + (params["b1"] if b1 else 0.0))
    scores = a1 @ params["W2"] + (params["b2"] if b2 else 0.0)
    if not with_softmax:
        return scores
    shifted = np.exp(scores - np.max(scores, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def network_mistakes(params, X):
    return {
        "sigmoid instead of tanh in the hidden layer": network(params, X, hidden=special.expit),
        "relu instead of tanh in the hidden layer": network(params, X, hidden=lambda z: np.maximum(z, 0.0)),
        "no activation in the hidden layer (tanh missing)": network(params, X, hidden=lambda z: z),
        "softmax over axis 0 (the examples) instead of along each row (the classes)": network(params, X, axis=0),
        "the scores returned without the softmax": network(params, X, with_softmax=False),
        "b1 not added": network(params, X, b1=False),
        "b2 not added": network(params, X, b2=False),
    }


def forward_probabilities(student, params, X):
    """The probs of the student's `forward(params, X)`, after checking it returned a pair."""
    call = describe_call("forward", (params, X))
    reply = student.probe(probes.forward.forward_probabilities, params=params, X=X)
    if reply["probs"] is None:
        length = f" of length {reply['length']}" if reply["length"] is not None else ""
        fail(
            f"expected a pair (probs, cache); got a {reply['type']}{length}",
            call=call,
            hint="end forward with `return probs, cache`",
        )
    return reply["probs"], call


def check_neuron_applies_sigmoid_by_default(student, cases):
    """`neuron(x, w, b)` is sigmoid(w . x + b) for every (x, w, b) in `cases`."""
    with every_case() as failures:
        for x, w, b in cases:
            with failures.case():
                pre_activation = np.dot(w, x) + b
                check_number(
                    student.forward.neuron(x, w, b),
                    special.expit(pre_activation),
                    call=describe_call("neuron", (x, w, b)),
                    mistakes={
                        "no activation applied: w . x + b returned": pre_activation,
                        "the bias b not added": special.expit(np.dot(w, x)),
                    },
                    **TOLERANCES["neuron"]["values"].isclose,
                )


@graded(points=1, exercise="neuron")
def test_neuron_applies_sigmoid_by_default(student):
    check_neuron_applies_sigmoid_by_default(student, random_neuron_inputs())


def check_neuron_applies_the_given_activation(student, cases):
    """`neuron(x, w, b, activation=...)` applies the grader's cube, then relu, alternately, over `cases`."""
    with every_case() as failures:
        for (x, w, b), name in zip(cases, ["cube", "relu"] * len(cases), strict=False):
            with failures.case():
                pre_activation = np.dot(w, x) + b
                expected = probes.forward.ACTIVATIONS[name](pre_activation)
                got = student.probe(probes.forward.neuron_with_activation, x=x, w=w, b=b, activation=name)
                check_number(
                    got,
                    expected,
                    call=describe_call("neuron", (x, w, b), {"activation": name}),
                    mistakes={
                        "`activation` ignored: sigmoid applied whatever activation is given": special.expit(
                            pre_activation
                        ),
                        "`activation` ignored: w . x + b returned": pre_activation,
                    },
                    **TOLERANCES["neuron"]["values"].isclose,
                )


@graded(points=1, exercise="neuron")
def test_neuron_applies_the_given_activation(student):
    check_neuron_applies_the_given_activation(student, random_neuron_inputs()[:4])  # the four array inputs


def check_perceptron_fires_at_the_threshold(student, at_threshold):
    """`perceptron(x, w, b)` is 1 for every (x, w, b) in `at_threshold`, where w . x + b is exactly 0."""
    with every_case() as failures:
        for x, w, b in at_threshold:
            with failures.case():
                check_number(
                    student.forward.perceptron(x, w, b),
                    1,
                    kind=int,
                    call=describe_call("perceptron", (x, w, b)),
                    mistakes={"> instead of >=: the perceptron must fire when w . x + b is exactly 0": 0},
                    **TOLERANCES["perceptron"]["values"].isclose,
                )


def check_perceptron_fires_from_the_threshold_up(student, cases):
    """`perceptron(x, w, b)` is 1 exactly where w . x + b >= 0, for every (x, w, b) in `cases`."""
    with every_case() as failures:
        for x, w, b in cases:
            with failures.case():
                expected = 1 if np.dot(w, x) + b >= 0 else 0
                check_number(
                    student.forward.perceptron(x, w, b),
                    expected,
                    kind=int,
                    call=describe_call("perceptron", (x, w, b)),
                    mistakes={"the comparison flipped (fires below the threshold)": 1 - expected},
                    **TOLERANCES["perceptron"]["values"].isclose,
                )


@graded(points=1, exercise="perceptron")
def test_perceptron_fires_at_the_threshold(student):
    # Sums of exact binary fractions: w . x + b is exactly 0.0 in floating point.
    check_perceptron_fires_at_the_threshold(
        student, [([1.0, 2.0], [0.5, -0.25], 0.0), ([2.0, 1.0, 4.0], [1.0, 1.0, -0.25], -2.0)]
    )
    just_below = ([1.0, 2.0], [0.5, -0.25], -1e-12)  # w . x + b = -1e-12 < 0: must not fire
    check_perceptron_fires_from_the_threshold_up(student, random_neuron_inputs() + [just_below])


def check_dense_is_affine(student, X, W, row_bias):
    """`dense(X, W, b)` and `dense(X, W, b, activation=None)` are X @ W + b, for b of shapes (H,) and (1, H)."""
    with every_case() as cases:
        for b in (read_only(row_bias[0]), row_bias):  # shapes (H,) and (1, H)
            for kwargs in ({}, {"activation": None}):
                with cases.case():
                    check_array(
                        student.forward.dense(X, W, b, **kwargs),
                        X @ W + b,
                        call=describe_call("dense", (X, W, b), kwargs),
                        mistakes={"the bias b not added": X @ W},
                        **TOLERANCES["dense"]["values"].isclose,
                    )


@graded(points=1, exercise="dense")
def test_dense_without_activation_is_affine_for_both_bias_shapes(student):
    params, X = random_params(), random_batch()
    check_dense_is_affine(student, X, params["W1"], params["b1"])


def check_dense_applies_the_given_activation(student, X, W, row_bias):
    """`dense(X, W, b, activation=...)` applies the grader's cube and relu after adding b, of both shapes."""
    with every_case() as cases:
        for b, name in ((read_only(row_bias[0]), "cube"), (row_bias, "relu"), (row_bias, "cube")):
            with cases.case():
                pre_activation = X @ W + b
                got = student.probe(probes.forward.dense_with_activation, X=X, W=W, b=b, activation=name)
                check_array(
                    got,
                    probes.forward.ACTIVATIONS[name](pre_activation),
                    call=describe_call("dense", (X, W, b), {"activation": name}),
                    mistakes={
                        "`activation` ignored: X @ W + b returned": pre_activation,
                        "the bias b not added": probes.forward.ACTIVATIONS[name](X @ W),
                        "the activation applied before adding b": probes.forward.ACTIVATIONS[name](X @ W) + b,
                    },
                    **TOLERANCES["dense"]["values"].isclose,
                )


@graded(points=1, exercise="dense")
def test_dense_applies_the_given_activation(student):
    params, X = random_params(), random_batch()
    check_dense_applies_the_given_activation(student, X, params["W1"], params["b1"])


def check_shape(got, shape, *, call, what, hint=None):
    """`got` is a float ndarray of exactly `shape`."""
    check(
        isinstance(got, np.ndarray) and got.dtype.kind == "f",
        f"expected {what} to be a float array of shape {shape}; got {describe(got)}",
        call=call,
        hint=hint,
    )
    check(got.shape == shape, f"expected {what} of shape {shape}; got shape {got.shape}", call=call, hint=hint)


def check_params_dict(params, call):
    check(
        isinstance(params, dict) and all(key in params for key in PARAM_KEYS),
        f"expected a dict with keys {', '.join(PARAM_KEYS)}; got {describe(params)}",
        call=call,
    )


def check_contract_shapes_and_zero_biases(student, cases):
    """`init_params(*sizes, **kwargs)` has W1 (D, H), W2 (H, C) and zero biases (1, H), (1, C), for every case."""
    for sizes, kwargs in cases:
        input_dim, hidden_dim, output_dim = sizes
        call = describe_call("init_params", sizes, kwargs)
        params = student.forward.init_params(*sizes, **kwargs)
        check_params_dict(params, call)
        for key, shape in (("W1", (input_dim, hidden_dim)), ("W2", (hidden_dim, output_dim))):
            check_shape(
                params[key],
                shape,
                call=call,
                what=key,
                hint=f"{key} maps its layer's inputs (rows) to its outputs (columns)",
            )
        for key, width in (("b1", hidden_dim), ("b2", output_dim)):
            check_array(
                params[key],
                np.zeros((1, width)),
                call=f"{call}[{key!r}]",
                hint="biases start at zero, as row vectors of shape (1, H) and (1, C)",
                **TOLERANCES["init_params"]["shapes and biases"].isclose,
            )


@graded(points=1, exercise="init_params")
def test_init_params_has_the_contract_shapes_and_zero_biases(student):
    check_contract_shapes_and_zero_biases(student, (((D, H, C), {}), ((2, 7, 3), {"seed": 1})))


# Sizes with fan_in != fan_out and many weights, so the spread is measured
# precisely: W1 (200, 800) has 160 000 entries, W2 (800, 50) 40 000.
SCALE_SIZES = (200, 800, 50)
SCALE_SEED = 3
# A correct N(0, 1) draw lands outside 6 standard errors with probability about 2e-9.
SIGMAS = TOLERANCES["init_params"]["weight scale"].standard_errors


def check_scaled_by_fan_in(student, sizes, seed):
    """`init_params(*sizes, seed=seed)`'s weights have mean 0 and spread 1/sqrt(fan_in), to SIGMAS standard errors."""
    input_dim, hidden_dim, output_dim = sizes
    call = describe_call("init_params", sizes, {"seed": seed})
    params = student.forward.init_params(*sizes, seed=seed)
    check_params_dict(params, call)
    for key, fan_in, fan_out in (("W1", input_dim, hidden_dim), ("W2", hidden_dim, output_dim)):
        check_shape(params[key], (fan_in, fan_out), call=call, what=key)
        standardised = params[key] * np.sqrt(fan_in)  # N(0, 1) entries when the scale is 1/sqrt(fan_in)
        count = standardised.size
        what = f"{call}[{key!r}] * sqrt({fan_in})"
        # The sample mean of n N(0, 1) draws has standard error 1/sqrt(n).
        check_number(
            float(np.mean(standardised)),
            0.0,
            rtol=0,
            atol=SIGMAS / np.sqrt(count),
            call=f"the mean of {what}",
            hint="draw the weights from a normal distribution centred at 0 (standard_normal)",
        )
        # The sample standard deviation of n N(0, 1) draws has standard error about 1/sqrt(2n)
        # (relative to the true one, so a mistake's scale is recognised as precisely).
        check_number(
            float(np.std(standardised)),
            1.0,
            rtol=SIGMAS / np.sqrt(2 * count),
            atol=0,
            call=f"the standard deviation of {what}",
            hint=f"divide N(0, 1) draws by sqrt(fan_in), here sqrt({fan_in})",
            mistakes={
                "weights scaled by 1/sqrt(fan_out) instead of 1/sqrt(fan_in)": np.sqrt(fan_in / fan_out),
                "weights not scaled (plain N(0, 1) draws)": np.sqrt(fan_in),
                "weights scaled by 1/fan_in instead of 1/sqrt(fan_in)": 1 / np.sqrt(fan_in),
                "weights scaled by a fixed 0.01 instead of 1/sqrt(fan_in)": 0.01 * np.sqrt(fan_in),
                "He scaling sqrt(2/fan_in) instead of 1/sqrt(fan_in)": np.sqrt(2.0),
                "Glorot scaling sqrt(2/(fan_in + fan_out)) instead of 1/sqrt(fan_in)": np.sqrt(
                    2 * fan_in / (fan_in + fan_out)
                ),
                "uniform draws in [-1, 1) instead of normal ones": 1 / np.sqrt(3),
            },
        )


@graded(points=1, exercise="init_params")
def test_init_params_scales_weights_by_fan_in(student):
    check_scaled_by_fan_in(student, SCALE_SIZES, SCALE_SEED)


def check_reproducible_per_seed(student, sizes, seeds):
    """`init_params(*sizes)` with the default seed and with seeds[0] gives the same arrays twice; seeds[1] others."""
    for kwargs in ({}, {"seed": seeds[0]}):
        call = describe_call("init_params", sizes, kwargs)
        first, second = student.forward.init_params(*sizes, **kwargs), student.forward.init_params(*sizes, **kwargs)
        check_params_dict(first, call)
        check_params_dict(second, call)
        for key in PARAM_KEYS:
            check_array(
                second[key],
                first[key],
                call=f"{call}[{key!r}], called twice",
                hint="the same seed must give the same arrays: draw from np.random.default_rng(seed)",
                **TOLERANCES["init_params"]["shapes and biases"].isclose,
            )
    first = student.forward.init_params(*sizes, seed=seeds[0])
    other = student.forward.init_params(*sizes, seed=seeds[1])
    call = describe_call("init_params", sizes, {"seed": seeds[1]})
    check_params_dict(other, call)
    check(
        not np.array_equal(first["W1"], other["W1"]),
        f"seed={seeds[0]} and seed={seeds[1]} gave the same W1: another seed must give other weights",
        call=call,
        hint="seed your generator with the `seed` argument, not a fixed number",
    )


@graded(points=1, exercise="init_params")
def test_init_params_is_reproducible_per_seed(student):
    check_reproducible_per_seed(student, (D, H, C), seeds=(7, 8))


def global_draws(global_seed, count=4):
    """What np.random.random() draws `count` times after np.random.seed(global_seed)."""
    return np.random.RandomState(global_seed).random_sample(count)


def check_global_rng_left_alone(student, sizes, seed, global_seed):
    """init_params between seeding the global generator and drawing from it: the draws must be the seed's.

    The draws are compared here, with what the seed alone gives, so nothing
    the student's process says about its own state is taken on trust.
    """
    draws = student.probe(
        probes.forward.global_draws_after_init_params,
        nn_input_dim=sizes[0],
        nn_hdim=sizes[1],
        nn_output_dim=sizes[2],
        seed=seed,
        global_seed=global_seed,
    )
    call = describe_call("init_params", sizes, {"seed": seed})
    unchanged = isinstance(draws, np.ndarray) and bool(np.array_equal(draws, global_draws(global_seed)))
    check(
        unchanged,
        "NumPy's global random state changed during the call: init_params must not reseed or draw "
        "from np.random (np.random.seed, np.random.randn) -- other code relies on that state",
        call=call,
        hint="use a generator of your own: rng = np.random.default_rng(seed); rng.standard_normal(shape)",
    )


@graded(points=1, exercise="init_params")
def test_init_params_leaves_the_global_rng_alone(student):
    check_global_rng_left_alone(student, (D, H, C), seed=5, global_seed=RNG_SEED)


@graded(points=1, exercise="forward")
def test_forward_matches_numpy_oracle(student):
    params, X = random_params(), random_batch()
    with every_case() as cases:
        for inputs in (X, X.tolist()):
            with cases.case():
                probs, call = forward_probabilities(student, params, inputs)
                check_array(
                    probs,
                    network(params, X),
                    call=call,
                    mistakes=network_mistakes(params, X),
                    **TOLERANCES["forward"]["probabilities"].isclose,
                )


def check_rows_sum_to_one(student, params, X):
    """`forward(params, X)`'s probabilities match the oracle's and each row sums to 1 (scores in the thousands)."""
    probs, call = forward_probabilities(student, params, X)
    with np.errstate(all="ignore"):  # the fingerprint overflows on purpose
        scores = network(params, X, with_softmax=False)
        unstable = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
        shifted = np.exp(scores - np.max(scores))
        global_shift = shifted / np.sum(shifted, axis=1, keepdims=True)
    check_array(
        probs,
        network(params, X),
        call=call,
        mistakes={
            "softmax without the max subtracted: exp overflows for large scores": unstable,
            "softmax subtracting the max of the whole array, not of each row: rows far below "
            "it underflow to 0/0": global_shift,
        },
        **TOLERANCES["forward"]["probabilities"].isclose,
    )
    # Each row sums C (a few) terms rounded to float64 (relative error 2**-53 each):
    # atol 1e-12 is far above that rounding and far below any real mistake.
    check_array(
        np.sum(probs, axis=1),
        np.ones(X.shape[0]),
        call=f"the row sums of {call}",
        hint="normalise along axis 1, the classes",
        **TOLERANCES["forward"]["row sums"].isclose,
    )


@graded(points=1, exercise="forward")
def test_forward_rows_sum_to_one_even_for_large_scores(student):
    # W2 entries of size ~500 and |a1| <= 1 give scores in the thousands: exp
    # overflows (above ~709.78) unless the softmax subtracts each row's max.
    params = random_params()
    params["W2"] = read_only(500.0 * params["W2"])
    check_rows_sum_to_one(student, params, random_batch(rows=20))


def check_predict(student, params, X):
    """`predict(params, X)` is the oracle's argmax class of every row, as an int array."""
    probs = network(params, X)
    call = describe_call("predict", (params, X))
    got = student.forward.predict(params, X)
    if isinstance(got, np.ndarray) and got.shape == probs.shape:
        fail(
            f"expected class indices of shape ({X.shape[0]},); got an array shaped like the probabilities "
            f"{probs.shape}: predict returned the probabilities",
            call=call,
            hint="np.argmax(probs, axis=1) gives each row's class",
        )
    check_array(
        got,
        np.argmax(probs, axis=1),
        kinds="iu",
        call=call,
        mistakes={
            "argmax over axis 0 (the examples) instead of along each row": np.argmax(probs, axis=0),
            "argmin instead of argmax": np.argmin(probs, axis=1),
        },
        hint="np.argmax(probs, axis=1) gives an int array of each row's class",
        **TOLERANCES["predict"]["classes"].isclose,
    )


@graded(points=1, exercise="predict")
def test_predict_returns_the_argmax_class_per_row(student):
    check_predict(student, random_params(seed=RNG_SEED + 2), random_batch(rows=30))
