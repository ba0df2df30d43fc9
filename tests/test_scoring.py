"""The scoring rule for hidden re-checks (grader.engine.scoring), on results built by hand.

A failing hidden test withdraws the points of the public tests it names, only
where they passed; one that never ran (the run was cut) withdraws nothing.
The graded runs of tests/test_variants.py and tests/test_redteam.py show the
rule on real submissions.
"""

import time
import types

import pytest

from grader.engine.scoring import ScoringPlugin
from grader.results import model, report
from tests.helpers import failures, grade, make_submission


def plugin_with(*tests, rechecks=None, ran=None):
    """A scoring plugin holding `tests` (TestResults) as if pytest had collected and run them."""
    plugin = ScoringPlugin(types.SimpleNamespace(stash={}, getoption=lambda name: None))
    for test in tests:
        plugin.results[test.name] = test
        plugin.order.append(test.name)
        if test.hidden:
            plugin.rechecks[test.name] = tuple((rechecks or {}).get(test.name, ()))
            plugin.kinds[test.name] = "Random arrays with exact zeros"
    plugin.ran = set(test.name for test in tests) if ran is None else set(ran)
    return plugin


def public(name, status="passed", exercise="relu"):
    return model.TestResult(name, "1.1", "activations", exercise, 1.0 if status == "passed" else 0.0, 1.0, status)


def hidden(name, status="failed", exercise="relu"):
    return model.TestResult(name, "1.9", "activations", exercise, 0.0, 0.0, status, hidden=True)


def scores(result):
    return {test.name: test.score for test in result.tests}


def test_a_failing_hidden_test_withdraws_only_the_passed_public_tests_it_names():
    plugin = plugin_with(
        public("values"),
        public("at_zero", status="failed"),
        public("large"),
        public("other", exercise="sigmoid"),
        hidden("fresh_values"),
        rechecks={"fresh_values": ("values", "at_zero")},
    )
    result = plugin.result()
    assert scores(result) == {"values": 0.0, "at_zero": 0.0, "large": 1.0, "other": 1.0, "fresh_values": 0.0}
    withdrawn = next(test for test in result.tests if test.name == "values")
    assert withdrawn.output.startswith("passes the published inputs, but not a hidden re-check on fresh inputs")
    assert "random arrays with exact zeros" in withdrawn.output and "1.9" in withdrawn.output
    assert next(test for test in result.tests if test.name == "at_zero").output == ""  # its own failure stays


def test_a_hidden_test_naming_none_withdraws_its_whole_exercise():
    result = plugin_with(public("values"), public("other", exercise="sigmoid"), hidden("fresh")).result()
    assert scores(result) == {"values": 0.0, "other": 1.0, "fresh": 0.0}


def test_a_hidden_test_that_never_ran_withdraws_nothing():
    plugin = plugin_with(public("values"), hidden("fresh", status="failed"), rechecks={"fresh": ("values",)}, ran=[])
    assert scores(plugin.result())["values"] == 1.0


def test_a_passing_hidden_test_withdraws_nothing():
    plugin = plugin_with(public("values"), hidden("fresh", status="passed"), rechecks={"fresh": ("values",)})
    assert scores(plugin.result())["values"] == 1.0


def test_a_hidden_test_is_not_run_only_where_every_public_test_it_rechecks_ran_and_failed():
    def runs(plugin, name):
        try:
            plugin.pytest_runtest_setup(types.SimpleNamespace(nodeid=name))
        except pytest.skip.Exception:
            return False
        return True

    failed = public("values", status="failed")
    failed.failure = {"kind": "wrong"}
    never_ran = public("large", status="failed")
    never_ran.failure = {"kind": "not-run"}
    plugin = plugin_with(
        failed,
        public("at_zero"),
        never_ran,
        hidden("moot"),
        hidden("one_passed"),
        hidden("one_never_ran"),
        hidden("alone"),
        rechecks={
            "moot": ("values",),
            "one_passed": ("values", "at_zero"),
            "one_never_ran": ("large",),
            "alone": ("x",),
        },
    )
    assert [runs(plugin, name) for name in ("moot", "one_passed", "one_never_ran", "alone")] == [
        False,
        True,
        True,
        True,
    ]
    assert plugin.moot == {"moot": "1.1"}


def test_a_broken_function_is_not_retrained_by_hidden_rechecks_that_could_withdraw_nothing(tmp_path):
    """train_two_layer_net that never updates fails its public training tests; their hidden re-checks do not
    run (each would train three more times), and every other hidden re-check still does."""
    folder = make_submission(
        tmp_path / "s", "gradient_descent", [("            params = sgd_step(params, grads, learning_rate)\n", "")]
    )
    result = grade(folder, ["gradient_descent"], hidden=True, seed=7)
    hidden = {test.name: test for test in result.tests if test.hidden}
    moot = [name for name, test in hidden.items() if (test.failure or {}).get("kind") == "moot"]
    assert sorted(moot) == [
        "test_hidden_train_two_layer_net_beats_logistic_regression_on_moons",
        "test_hidden_train_two_layer_net_records_one_decreasing_loss_per_pass",
    ], failures(result)
    assert all(test.status == "passed" for name, test in hidden.items() if name not in moot), failures(result)
    assert all(hidden[name].output.startswith("left out: the public tests it re-checks (4.") for name in moot)
    instructors = report.markdown(result, student=False)
    assert "hidden re-checks failed" not in instructors and "not run" not in instructors, instructors
    assert result.score == result.max_score - 3  # the two training tests' points, nothing more


def test_a_mismatch_at_an_expected_zero_reports_the_contracts_relative_error():
    """|got - expected| / max(1e-8, |got| + |expected|): 1 here, never 1e+300 from dividing by a floor."""
    import numpy as np
    import pytest

    from grader.engine.feedback import check_array
    from grader.errors import Mismatch

    with pytest.raises(Mismatch) as raised:
        check_array(np.array([0.5, 2.0]), np.array([0.0, 2.0]), call="f(x)")
    message = str(raised.value)
    assert "max relative error 1 as relative_error measures it" in message, message
    assert "e+" not in message, message


def test_an_unchanged_submission_graded_twice_without_a_seed_gets_the_same_seed_and_score(tmp_path, monkeypatch):
    """The seed derives from the course secret and the modules' bytes (grader.engine.seeds)."""
    from tests.helpers import grade, make_submission

    monkeypatch.setenv("DLGRADE_COURSE_SECRET", "ab" * 32)
    folder = make_submission(tmp_path / "alice", "activations", [BOUNDARY_RELU])
    first, second = (grade(folder, modules=["activations"], hidden=True, in_process=True) for _ in range(2))
    assert first.extra["seed"] == second.extra["seed"]
    assert [test.score for test in first.tests] == [test.score for test in second.tests]
    (folder / "activations.py").write_text((folder / "activations.py").read_text() + "\n# changed\n")
    changed = grade(folder, modules=["activations"], hidden=True, in_process=True)
    assert changed.extra["seed"] != first.extra["seed"]  # any change draws new hidden inputs
    monkeypatch.setenv("DLGRADE_COURSE_SECRET", "cd" * 32)
    other_course = grade(folder, modules=["activations"], hidden=True, in_process=True)
    assert other_course.extra["seed"] != changed.extra["seed"]


# Right on the published inputs; at an exact zero of an array (which only the hidden inputs hold)
# it never returns, so the run is cut by its total time while that hidden test is running.
HANGS_AT_ARRAY_ZEROS = (
    "def relu(z):\n",
    "def relu(z):\n"
    "    if isinstance(z, np.ndarray) and np.any(z == 0):\n"
    "        import time\n"
    "\n"
    "        time.sleep(10_000)\n",
)
BOUNDARY_RELU = (
    "def relu(z):\n",
    "def relu(z):\n    z = np.asarray(z, dtype=float)\n    return np.where(z >= 1e-3, z, 0.0)\n",
)


def test_a_run_cut_by_its_total_time_keeps_the_points_earned_and_says_what_did_not_run(tmp_path):
    from tests.helpers import SOLUTIONS, grade, make_submission

    folder = make_submission(tmp_path / "slow", "activations", [HANGS_AT_ARRAY_ZEROS])
    # The yardstick: the reference's own grading of the same tests, now, on this machine. The limit
    # leaves the public tests several times what they need, and stays below one call's limit (60 s).
    started = time.monotonic()
    grade(SOLUTIONS, modules=["activations"], hidden=True, seed=20261201)
    limit = round(min(50.0, 8.0 + 4 * (time.monotonic() - started)))
    result = grade(folder, modules=["activations"], hidden=True, seed=20261201, time_limit=limit)
    public = [test for test in result.tests if not test.hidden]
    assert all(test.status == "passed" for test in public), [test.output for test in public if test.output]
    assert result.score == 14
    assert f"ran out of its total time ({limit} s)" in result.extra["incomplete"]
    relu = next(test for test in result.tests if test.hidden and test.exercise == "relu")
    assert relu.output.startswith("not run: grading this submission ran out of its total time")
    assert (relu.failure or {}).get("kind") == "not-run"
