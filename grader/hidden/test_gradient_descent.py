"""Hidden checks of gradient_descent.py on inputs drawn from the run's seed (0 points; see grader.engine.scoring)."""

from grader.engine.feedback import check_array, describe_call
from grader.engine.scoring import graded


@graded(points=0, exercise="sgd_step")
def test_hidden_sgd_step(student, hidden_rng):
    shapes = {"W1": (3, 4), "b1": (1, 4), "W2": (4, 2)}
    params = {key: hidden_rng.normal(size=shape) for key, shape in shapes.items()}
    grads = {key: hidden_rng.normal(size=shape) for key, shape in shapes.items()}
    rate = float(hidden_rng.uniform(0.01, 1))
    got = student.gradient_descent.sgd_step(params, grads, rate)
    for key in shapes:
        value = got.get(key) if isinstance(got, dict) else None
        check_array(
            value, params[key] - rate * grads[key], call=describe_call("sgd_step", (params, grads, rate)) + f"[{key!r}]"
        )
