"""Broken and correct-but-different variants of the reference, graded for real, hidden tests on.

Each module's variants live in tests/variants/<module>.py. A broken variant
must lose points in its own module and in no module that does not use it (one
such module is graded beside it; the suite's structure test covers the rest); its
`feedback` text must appear in one of its failures. A correct variant must
score full marks in every module graded.
"""

import importlib

import pytest

from grader.course import MODULES, dependents
from tests.helpers import failures, grade_many_in_process, make_submission

WITHDRAWN = "passes the published inputs, but not a hidden re-check"  # grader.engine.scoring
HIDDEN_SEED = 20261201  # any fixed seed: the correct variants' hidden inputs are then the same on every run
VARIANTS = [variant for module in MODULES for variant in importlib.import_module(f"tests.variants.{module}").VARIANTS]
# Broken variants that pass every public test: only the hidden re-checks can take their points.
HIDDEN_ONLY = [
    variant
    for module in MODULES
    for variant in getattr(importlib.import_module(f"tests.variants.{module}"), "HIDDEN_ONLY_VARIANTS", [])
]


def graded_modules(variant) -> list[str]:
    """The variant's module, the modules that use it, and one cheap module that does not.

    tests/test_suite_structure.py shows that no other module's checks can reach
    the variant's module; the unrelated module checks it on the running grader.
    """
    modules = dependents(variant.module)
    modules.add("activations" if "activations" not in modules else "device")
    return sorted(modules, key=MODULES.index)


@pytest.fixture(scope="module")
def graded_variants(request, tmp_path_factory):
    """Every variant graded once, in-process, by two processes (this machine has two cores).

    The variants are honest code, so the sandbox adds nothing to what these
    tests check (the suite's judgement); tests/test_grading.py and the red
    team cover the sandboxed path.
    """
    folder = tmp_path_factory.mktemp("variants")
    # Only the variants whose tests were selected (pytest -k), each once.
    selected = {
        item.callspec.params["variant"].name
        for item in request.session.items
        if hasattr(item, "callspec") and "variant" in item.callspec.params
    }
    chosen = [variant for variant in VARIANTS + HIDDEN_ONLY if variant.name in selected]
    # Every variant is graded with the hidden re-checks on: a correct one must pass them too (they
    # must not punish another honest way), and a broken one must lose no more than its public
    # checks show (a visible mistake costs the same with hidden tests on).
    jobs = [
        (
            make_submission(folder / variant.name, variant.module, variant.edits),
            graded_modules(variant),
            {"seed": HIDDEN_SEED},
        )
        for variant in chosen
    ]
    return dict(zip((variant.name for variant in chosen), grade_many_in_process(jobs), strict=True))


def test_there_are_enough_variants():
    broken = [variant for variant in VARIANTS if not variant.correct]
    correct = [variant for variant in VARIANTS if variant.correct]
    assert len(broken) >= 40 and len(correct) >= 3, (len(broken), len(correct))
    assert len({variant.name for variant in VARIANTS}) == len(VARIANTS), "variant names must be unique"


@pytest.mark.parametrize("variant", [v for v in VARIANTS if not v.correct] + HIDDEN_ONLY, ids=str)
def test_broken_variant_loses_points_only_where_it_should(variant, graded_variants):
    result = graded_variants[variant.name]
    scores = result.module_scores()
    earned, possible = scores[variant.module]
    assert earned < possible, f"{variant.name} kept every point of {variant.module}"
    for module, (earned, possible) in scores.items():
        if module not in dependents(variant.module):
            assert earned == possible, f"{variant.name} lost points in {module}:\n{failures(result)}"
    if variant.feedback:
        own = failures(result)
        assert variant.feedback in own, f"{variant.feedback!r} not in the feedback:\n{own}"
    withdrawn = [test for test in result.tests if test.output.startswith(WITHDRAWN)]
    if variant in HIDDEN_ONLY:
        assert withdrawn, "a hidden-only variant must lose its points through the hidden re-checks"
    else:
        assert not withdrawn, "a visible mistake cost more with hidden tests on:\n" + failures(result)


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.correct], ids=str)
def test_correct_variant_scores_full_marks(variant, graded_variants):
    result = graded_variants[variant.name]
    assert result.score == result.max_score, failures(result)
    assert any(test.hidden for test in result.tests), "the hidden re-checks did not run"
