"""Hidden checks of forward.py on inputs drawn from the run's seed (0 points; see grader.engine.scoring).

Each test draws afresh the kind of input of the public tests it names in
`rechecks` and checks the same property with the public tests' own checks
(grader.suite.test_forward), so a failure withdraws those tests only. Every
array handed to the student's code is read-only, as in the public checks.
"""

from grader.engine.feedback import check_array
from grader.engine.scoring import graded
from grader.suite.test_forward import (
    check_contract_shapes_and_zero_biases,
    check_dense_applies_the_given_activation,
    check_dense_is_affine,
    check_global_rng_left_alone,
    check_neuron_applies_sigmoid_by_default,
    check_neuron_applies_the_given_activation,
    check_perceptron_fires_at_the_threshold,
    check_perceptron_fires_from_the_threshold_up,
    check_predict,
    check_reproducible_per_seed,
    check_rows_sum_to_one,
    check_scaled_by_fan_in,
    forward_probabilities,
    network,
    read_only,
)
from grader.tolerances import TOLERANCES


def sizes(rng, count, low=2, high=8):
    return tuple(int(n) for n in rng.integers(low, high + 1, size=count))


def sizes_with_a_one(rng, count, low=2, high=8):
    """`sizes`, one of them (drawn) 1: a batch of one example, one feature or one unit, where a
    squeeze or a reshape that guesses a dimension goes wrong."""
    drawn = list(sizes(rng, count, low, high))
    drawn[int(rng.integers(count))] = 1
    return tuple(drawn)


def layer_problems(rng):
    """(X, W, b) for dense: the first with one of N, D, H equal to 1, the second of drawn sizes 2 to 8."""
    problems = []
    for N, D, H in (sizes_with_a_one(rng, 3), sizes(rng, 3)):
        problems.append(tuple(read_only(rng.normal(size=shape)) for shape in ((N, D), (D, H), (1, H))))
    return problems


def random_params(rng, D, H, C):
    """Nonzero biases, as in the public checks, so a dropped bias shows."""
    return {
        "W1": read_only(rng.normal(size=(D, H))),
        "b1": read_only(rng.normal(size=(1, H))),
        "W2": read_only(rng.normal(size=(H, C))),
        "b2": read_only(rng.normal(size=(1, C))),
    }


def neuron_inputs(rng, count):
    """`count` (x, w, b), the first of one feature (D = 1), the others of 2 to 8."""
    cases = []
    for index in range(count):
        (D,) = (1,) if index == 0 else sizes(rng, 1)
        cases.append((read_only(rng.normal(size=D)), read_only(rng.normal(size=D)), float(rng.normal())))
    return cases


@graded(points=0, exercise="neuron", rechecks=("test_neuron_applies_sigmoid_by_default",))
def test_hidden_neuron_applies_sigmoid_by_default(student, hidden_rng):
    """Random vectors x, w of 2 to 8 entries and a random bias b.

    The first pair has a single entry (D = 1) on every seed.
    """
    check_neuron_applies_sigmoid_by_default(student, neuron_inputs(hidden_rng, 4))


@graded(points=0, exercise="neuron", rechecks=("test_neuron_applies_the_given_activation",))
def test_hidden_neuron_applies_the_given_activation(student, hidden_rng):
    """Random vectors x, w of 2 to 8 entries and a random bias b, with the grader's cube and relu.

    The first pair has a single entry (D = 1) on every seed.
    """
    check_neuron_applies_the_given_activation(student, neuron_inputs(hidden_rng, 4))


@graded(points=0, exercise="perceptron", rechecks=("test_perceptron_fires_at_the_threshold",))
def test_hidden_perceptron_fires_from_the_threshold_up(student, hidden_rng):
    """Random vectors x, w of 2 to 8 entries and a random bias b.

    The first pair has a single entry (D = 1) on every seed.
    """
    check_perceptron_fires_from_the_threshold_up(student, neuron_inputs(hidden_rng, 6))


@graded(points=0, exercise="perceptron", rechecks=("test_perceptron_fires_at_the_threshold",))
def test_hidden_perceptron_fires_at_the_threshold(student, hidden_rng):
    """Small whole numbers x, w and a bias b that put w . x + b exactly at 0, and just below it."""
    at_threshold, just_below = [], []
    for _ in range(3):
        (D,) = sizes(hidden_rng, 1)
        x = read_only(hidden_rng.integers(-4, 5, size=D))
        w = read_only(hidden_rng.integers(-4, 5, size=D))
        total = float(w @ x)  # a small whole number: exact in floating point, whatever the order of the sum
        at_threshold.append((x, w, -total))
        just_below.append((x, w, -total - 1e-9))  # w . x + b = -1e-9 (to rounding of ~1e-14): must not fire
    check_perceptron_fires_at_the_threshold(student, at_threshold)
    check_perceptron_fires_from_the_threshold_up(student, just_below)


@graded(points=0, exercise="dense", rechecks=("test_dense_without_activation_is_affine_for_both_bias_shapes",))
def test_hidden_dense_without_activation_is_affine_for_both_bias_shapes(student, hidden_rng):
    """A random batch X, weights W and bias b of random sizes (2 to 8), b of both shapes.

    On every seed one problem has one of N, D, H equal to 1.
    """
    for X, W, b in layer_problems(hidden_rng):
        check_dense_is_affine(student, X, W, b)


@graded(points=0, exercise="dense", rechecks=("test_dense_applies_the_given_activation",))
def test_hidden_dense_applies_the_given_activation(student, hidden_rng):
    """A random batch X, weights W and bias b of random sizes (2 to 8), with the grader's cube and relu.

    On every seed one problem has one of N, D, H equal to 1.
    """
    for X, W, b in layer_problems(hidden_rng):
        check_dense_applies_the_given_activation(student, X, W, b)


@graded(points=0, exercise="init_params", rechecks=("test_init_params_has_the_contract_shapes_and_zero_biases",))
def test_hidden_init_params_has_the_contract_shapes_and_zero_biases(student, hidden_rng):
    """Random layer sizes D, H, C (2 to 11), with the default seed and a random one."""
    first, second = sizes(hidden_rng, 3, 2, 11), sizes(hidden_rng, 3, 2, 11)
    check_contract_shapes_and_zero_biases(student, ((first, {}), (second, {"seed": int(hidden_rng.integers(2**31))})))


@graded(points=0, exercise="init_params", rechecks=("test_init_params_scales_weights_by_fan_in",))
def test_hidden_init_params_scales_weights_by_fan_in(student, hidden_rng):
    """Random layer sizes with tens of thousands of weights, fan_in unlike fan_out, and a random seed."""
    # As the public SCALE_SIZES: fan_in and fan_out at least 2 apart (as factors) in both layers,
    # and at least 150 * 600 = 90 000 entries in W1, 600 * 30 = 18 000 in W2.
    layer_sizes = tuple(int(hidden_rng.integers(low, high + 1)) for low, high in ((150, 250), (600, 900), (30, 60)))
    check_scaled_by_fan_in(student, layer_sizes, int(hidden_rng.integers(2**31)))


@graded(points=0, exercise="init_params", rechecks=("test_init_params_is_reproducible_per_seed",))
def test_hidden_init_params_is_reproducible_per_seed(student, hidden_rng):
    """Random layer sizes D, H, C (2 to 11) and two random different seeds."""
    seeds = hidden_rng.choice(2**31, size=2, replace=False)
    check_reproducible_per_seed(student, sizes(hidden_rng, 3, 2, 11), seeds=tuple(int(seed) for seed in seeds))


@graded(points=0, exercise="init_params", rechecks=("test_init_params_leaves_the_global_rng_alone",))
def test_hidden_init_params_leaves_the_global_rng_alone(student, hidden_rng):
    """Random layer sizes D, H, C (2 to 11), a random seed and a random seed of the global generator."""
    layer_sizes, seed = sizes(hidden_rng, 3, 2, 11), int(hidden_rng.integers(2**31))
    check_global_rng_left_alone(student, layer_sizes, seed=seed, global_seed=int(hidden_rng.integers(2**32)))


@graded(points=0, exercise="forward", rechecks=("test_forward_matches_numpy_oracle",))
def test_hidden_forward_matches_numpy_oracle(student, hidden_rng):
    """A random network and batch of random sizes N, D, H, C (2 to 8), scores of order 1.

    On every seed a batch of one example (N = 1) too.
    """
    # A batch of one example first (a softmax over the wrong axis, or a squeeze, shows there), then any.
    for N, D, H, C in ((1, *sizes(hidden_rng, 3)), sizes(hidden_rng, 4)):
        params, X = random_params(hidden_rng, D, H, C), read_only(hidden_rng.normal(size=(N, D)))
        probs, call = forward_probabilities(student, params, X)
        check_array(probs, network(params, X), call=call, **TOLERANCES["forward"]["probabilities"].isclose)


@graded(points=0, exercise="forward", rechecks=("test_forward_rows_sum_to_one_even_for_large_scores",))
def test_hidden_forward_rows_sum_to_one_even_for_large_scores(student, hidden_rng):
    """A random network and batch of random sizes N, D, H, C (2 to 8), scores in the hundreds to thousands."""
    N, D, H, C = sizes(hidden_rng, 4)
    params = random_params(hidden_rng, D, H, C)
    params["W2"] = read_only(float(hidden_rng.uniform(300, 1000)) * params["W2"])  # as the public check's 500
    check_rows_sum_to_one(student, params, read_only(hidden_rng.normal(size=(N, D))))


@graded(points=0, exercise="predict", rechecks=("test_predict_returns_the_argmax_class_per_row",))
def test_hidden_predict_returns_the_argmax_class_per_row(student, hidden_rng):
    """A random network of random sizes D, H, C (2 to 8) and a batch of 20 to 40 examples."""
    D, H, C = sizes(hidden_rng, 3)
    params = random_params(hidden_rng, D, H, C)
    check_predict(student, params, read_only(hidden_rng.normal(size=(int(hidden_rng.integers(20, 41)), D))))
