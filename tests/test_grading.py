"""The reference scores 100, the stubs 0, and every results file has the promised shape."""

import concurrent.futures
import threading

import jsonschema
import pytest

from grader.course import MODULE_POINTS, MODULES, TOTAL_POINTS
from grader.engine import seeds
from grader.results import formats
from tests.helpers import EXERCISES, SOLUTIONS, failures, grade, grade_many_in_process, make_submission

SEED = 20261125  # any fixed seed: hidden inputs are then the same on every run of this file
# Every grading run draws its own hidden seed, so the reference must pass on any
# of them. Seed 1928 drew a dilated kernel wider than its input, which PyTorch
# refuses: the hidden conv_size check once failed the reference there.
MANY_SEEDS = [*range(23), 1928]


@pytest.fixture(scope="module")
def reference():
    return grade(SOLUTIONS, hidden=True, seed=SEED)


@pytest.fixture(scope="module")
def stubs():
    return grade(EXERCISES, hidden=True, seed=SEED)


def test_reference_scores_100(reference):
    assert (reference.score, reference.max_score) == (TOTAL_POINTS, TOTAL_POINTS), failures(reference)


def test_every_module_is_worth_its_points(reference):
    assert {module: possible for module, (_, possible) in reference.module_scores().items()} == MODULE_POINTS


def test_every_public_test_runs_before_the_first_hidden_one(reference):
    kinds = [test.hidden for test in reference.tests]  # in the order they ran
    assert kinds == sorted(kinds) and True in kinds, "a hidden test ran before a public one"


def test_a_regrade_of_unchanged_code_draws_the_same_128_bit_seed_and_a_change_another(tmp_path):
    """Without --seed the seed comes from the course secret and the code (grader.engine.seeds)."""
    changed = make_submission(
        tmp_path / "changed", "conv_size", [("def same_padding(", "# a comment\ndef same_padding(")]
    )
    seeds = [
        grade(folder, modules=["conv_size"], hidden=True).extra["seed"] for folder in (SOLUTIONS, SOLUTIONS, changed)
    ]
    assert seeds[0] == seeds[1] and seeds[2] != seeds[0], seeds
    assert max(seeds) >= 2**64, seeds  # 128 bits: 2**-64 odds of a false failure


def test_reference_passes_every_hidden_test(reference):
    hidden = [test for test in reference.tests if test.hidden]
    assert hidden, "the hidden suite ran no test"
    assert all(test.status == "passed" for test in hidden), failures(reference)
    assert reference.extra["seed"] == SEED


def test_reference_passes_the_hidden_tests_whatever_the_seed():
    results = grade_many_in_process([(SOLUTIONS, MODULES, {"seed": seed, "public": False}) for seed in MANY_SEEDS])
    for seed, result in zip(MANY_SEEDS, results, strict=True):
        assert result.tests and all(test.hidden for test in result.tests)
        assert all(test.status == "passed" for test in result.tests), f"seed {seed}:\n{failures(result)}"


def test_the_speed_is_judged_once_and_its_hidden_recheck_reads_the_timed_losses(tmp_path):
    """A loss that loops over the examples, its hidden re-checks alone: its losses are right, so the re-check
    of the speed test passes. Judged again there, a loss near the threshold could lose the point to noise."""
    from tests.variants.softmax_loss import VARIANTS

    (slow,) = [variant for variant in VARIANTS if variant.name == "softmax_loss-vectorized-loops-over-examples"]
    folder = make_submission(tmp_path / "slow", slow.module, slow.edits)
    (result,) = grade_many_in_process([(folder, ["softmax_loss"], {"seed": 5, "public": False})], processes=1)
    status = {test.name: test.status for test in result.tests}
    assert status["test_hidden_vectorized_is_faster_than_a_loop_over_examples"] == "passed", failures(result)
    assert status["test_hidden_vectorized_has_no_python_loops"] == "failed", failures(result)  # it did grade


def test_stubs_score_0_and_every_failure_says_not_attempted(stubs):
    assert (stubs.score, stubs.max_score) == (0, TOTAL_POINTS)
    public = [test for test in stubs.tests if not test.hidden]
    unexplained = [f"{test.number} {test.name}: {test.output}" for test in public if "not attempted" not in test.output]
    assert not unexplained, "\n".join(unexplained)


def test_results_json_matches_the_gradescope_schema_with_module_tags_and_numbers(reference, stubs):
    for result in (reference, stubs):
        data = formats.gradescope(result)
        jsonschema.validate(data, formats.schema("gradescope"))
        for test in data["tests"]:
            module = test["tags"][0]
            assert module in MODULES
            assert test["number"].split(".")[0] == str(MODULES.index(module) + 1)
        assert len({test["number"] for test in data["tests"]}) == len(data["tests"])


def test_sandbox_isolation_is_recorded(reference):
    assert reference.extra["isolation"]
    assert not reference.extra["isolation"].startswith("none")


def test_in_process_mode_gives_the_same_scores():
    result = grade(SOLUTIONS, in_process=True)
    assert result.score == TOTAL_POINTS, failures(result)
    assert result.extra["isolation"].startswith("none")


def test_gradings_starting_together_on_a_fresh_course_read_one_secret(tmp_path, monkeypatch):
    """The first grading of a course makes its secret; lanes start together, and none may read it half made."""
    monkeypatch.delenv(seeds.ENVIRONMENT, raising=False)
    for attempt in range(20):
        path = tmp_path / f"secret-{attempt}"
        start = threading.Barrier(12)

        def read(path=path, start=start):
            start.wait()
            return seeds.course_secret(path=path)

        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            found = set(pool.map(lambda _: read(), range(12)))
        assert len(found) == 1 and None not in found, found
        assert found == {bytes.fromhex(path.read_text())}
        assert [entry.name for entry in tmp_path.iterdir() if entry.name.startswith(".")] == []
