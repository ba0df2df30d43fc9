"""Hidden checks of gradient_descent.py on inputs drawn from the run's seed (0 points; see grader.engine.scoring).

The public checks' own helpers and oracles, on fresh sizes, rates and data;
train_two_layer_net is replayed here, pass by pass, from the submission's own
initial parameters with the grader's forward and gradient.
"""

import numpy as np
from scipy import special

from grader.engine.feedback import check, check_array, check_equal, describe_call
from grader.engine.scoring import graded
from grader.suite.test_gradient_descent import (
    TRAINING_SECONDS,
    check_sgd_result,
    closed_form_trajectory,
    minibatch_order,
    net_scores,
    train,
)
from grader.worker.probes import gradient_descent as descent_probes


@graded(points=0, exercise="gradient_descent")
def test_hidden_gradient_descent(student, hidden_rng):
    shape = tuple(int(n) for n in hidden_rng.integers(1, 5, size=hidden_rng.integers(1, 3)))
    curvature, x0 = hidden_rng.uniform(0.1, 2.0, size=shape), hidden_rng.normal(size=shape)
    learning_rate, num_steps = float(hidden_rng.uniform(0.01, 0.5)), int(hidden_rng.integers(1, 30))
    report = student.probe(
        descent_probes.gradient_descent_on_a_quadratic,
        curvature=curvature,
        x0=x0,
        learning_rate=learning_rate,
        num_steps=num_steps,
    )
    call = describe_call("gradient_descent", ("grad_fn", x0), {"learning_rate": learning_rate, "num_steps": num_steps})
    result = report["result"]
    check(isinstance(result, tuple) and len(result) == 2, "wrong result", call=call)
    x_final, history = result
    expected = closed_form_trajectory(curvature, x0, learning_rate, num_steps)
    check_array(x_final, expected[-1], call=call, rtol=1e-10, atol=0.0)
    check(isinstance(history, list) and len(history) == num_steps + 1, "wrong result", call=call)
    check_array(np.stack(history), expected, call=call, rtol=1e-10, atol=0.0)  # NaN: x0's own memory (the probe)
    check_array(report["x0_after"], x0, call=call, rtol=0.0, atol=0.0)


@graded(points=0, exercise="sgd_step")
def test_hidden_sgd_step(student, hidden_rng):
    shapes = {"W1": (3, 4), "b1": (1, 4), "W2": (4, 2)}
    params = {key: hidden_rng.normal(size=shape) for key, shape in shapes.items()}
    grads = {key: hidden_rng.normal(size=shape) for key, shape in shapes.items()}
    rate = float(hidden_rng.uniform(0.01, 1))
    call = describe_call("sgd_step", (params, grads, rate))
    for array in (*params.values(), *grads.values()):
        array.flags.writeable = False
    check_sgd_result(student.gradient_descent.sgd_step(params, grads, rate), params, grads, rate, call)
    report = student.probe(descent_probes.sgd_step_and_its_inputs, params=params, grads=grads, learning_rate=rate)
    check_sgd_result(report["result"], params, grads, rate, call)  # NaN: params' own dict or arrays (the probe)
    for key in shapes:
        check_array(report["params_after"][key], params[key], call=call, rtol=0.0, atol=0.0)
        check_array(report["grads_after"][key], grads[key], call=call, rtol=0.0, atol=0.0)


@graded(points=0, exercise="iterate_minibatches")
def test_hidden_iterate_minibatches(student, hidden_rng):
    num_examples, batch_size = int(hidden_rng.integers(2, 60)), int(hidden_rng.integers(1, 16))
    seed = int(hidden_rng.integers(0, 2**31))
    sizes_expected = [batch_size] * (num_examples // batch_size) + [num_examples % batch_size] * bool(
        num_examples % batch_size
    )
    order, sizes, call = minibatch_order(student, num_examples, batch_size, shuffle=False)
    check_equal(sizes, sizes_expected, call=call, what="batch sizes")
    check_equal(order, list(range(num_examples)), call=call, what="order")
    first, sizes, call = minibatch_order(student, num_examples, batch_size, seed=seed)
    check_equal(sizes, sizes_expected, call=call, what="batch sizes")
    check_equal(sorted(first), list(range(num_examples)), call=call, what="examples")
    again, _, call = minibatch_order(student, num_examples, batch_size, shuffle=True, seed=seed)
    check_equal(again, first, call=call, what="order")
    if num_examples >= 20:  # two seeds give one order with probability 1/20! at most
        other, _, call = minibatch_order(student, num_examples, batch_size, seed=seed + 1)
        check(other != first and first != list(range(num_examples)), "wrong result", call=call)


def replayed_training(params, X, y, num_passes, learning_rate, reg_lambda):
    """Full-batch gradient descent from `params` with the grader's loss and gradient.

    Returns (final params, the loss before the first pass and after each pass).
    """
    params = {key: np.array(value, dtype=float) for key, value in params.items()}
    N = len(y)

    def loss(params):
        data = -np.mean(special.log_softmax(net_scores(params, X), axis=1)[np.arange(N), y])
        return data + reg_lambda / 2 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))

    losses = [loss(params)]
    for _ in range(num_passes):
        hidden = np.tanh(X @ params["W1"] + params["b1"])
        dscores = special.softmax(hidden @ params["W2"] + params["b2"], axis=1)
        dscores[np.arange(N), y] -= 1
        dscores /= N
        dhidden = (dscores @ params["W2"].T) * (1 - hidden**2)
        grads = {
            "W2": hidden.T @ dscores + reg_lambda * params["W2"],
            "b2": dscores.sum(axis=0, keepdims=True),
            "W1": X.T @ dhidden + reg_lambda * params["W1"],
            "b1": dhidden.sum(axis=0, keepdims=True),
        }
        params = {key: params[key] - learning_rate * grads[key] for key in params}
        losses.append(loss(params))
    return params, np.array(losses)


@graded(points=0, exercise="train_two_layer_net", time_limit=TRAINING_SECONDS)
def test_hidden_train_two_layer_net(student, hidden_rng):
    num_examples, num_features = int(hidden_rng.integers(20, 60)), int(hidden_rng.integers(2, 5))
    num_classes, nn_hdim = int(hidden_rng.integers(2, 4)), int(hidden_rng.integers(2, 6))
    X = hidden_rng.normal(size=(num_examples, num_features))
    y = np.concatenate([np.arange(num_classes), hidden_rng.integers(0, num_classes, size=num_examples - num_classes)])
    options = {
        "num_passes": int(hidden_rng.integers(3, 12)),
        "learning_rate": float(hidden_rng.uniform(0.05, 0.5)),
        "reg_lambda": float(hidden_rng.uniform(0, 0.01)),
        "seed": int(hidden_rng.integers(0, 2**31)),
    }
    params, history, call = train(student, X, y, nn_hdim, **options)
    start = student.forward.init_params(num_features, nn_hdim, num_classes, seed=options["seed"])
    expected, losses = replayed_training(
        start, X, y, options["num_passes"], options["learning_rate"], options["reg_lambda"]
    )
    for key in expected:
        check_array(params[key], expected[key], call=call, rtol=1e-7, atol=1e-10)
    # One loss per pass, recorded before or after that pass's update.
    check_equal(len(history), options["num_passes"], call=call, what="len(loss_history)")
    before, after = np.allclose(history, losses[:-1], rtol=1e-7), np.allclose(history, losses[1:], rtol=1e-7)
    check(before or after, "wrong result", call=call)
