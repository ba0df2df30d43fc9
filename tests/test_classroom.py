"""GitHub Classroom: the workflows' shape, and the grading step's result for every kind of submission."""

import base64
import json
import re
import shlex
import shutil
import subprocess
import sys
import time

import jsonschema
import pytest
import yaml

from grader.course import MODULE_IMPORTS, MODULE_POINTS, MODULES, TOTAL_POINTS
from grader.limits import LIMITS
from grader.results import formats
from grader.results.model import load
from tests.helpers import EXERCISES, ROOT, SOLUTIONS, make_submission

WORKFLOWS = ROOT / "autograding" / "github-classroom"
CPU_TORCH = "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
COMMAND_GRADER = "classroom-resources/autograding-command-grader@v1"
# The half-done submission: these modules from the reference, the rest stubs.
# Each imports only modules in the set (forward uses activations), so each
# earns all its points and nothing else earns any.
DONE = ("activations", "forward", "conv_size")


def load_workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict):
    return workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1 reads the key `on` as True


def check_classroom_header(workflow: dict) -> list[dict]:
    """The names, triggers, permissions, job and guard Classroom needs; returns the job's steps."""
    assert workflow["name"] == "Autograding Tests"
    assert set(triggers(workflow)) == {"push", "workflow_dispatch", "repository_dispatch"}
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    assert list(workflow["jobs"]) == ["run-autograding-tests"]
    job = workflow["jobs"]["run-autograding-tests"]
    assert job["runs-on"] == "ubuntu-latest"
    assert job["if"] == "github.actor != 'github-classroom[bot]'"
    steps = job["steps"]
    assert steps[0]["uses"] == "actions/checkout@v4"
    assert steps[1]["uses"] == "actions/setup-python@v5"
    assert str(steps[1]["with"]["python-version"]) == "3.11" and steps[1]["with"]["cache"] == "pip"
    assert steps[-1]["uses"] == REPORTER
    return steps


def time_limit_of(command: str) -> float:
    """The command's --time-limit, or `dlgrade classroom`'s default (grader/limits.py)."""
    found = re.search(r"--time-limit\s+(\d+)", command)
    return float(found.group(1)) if found else LIMITS.classroom_seconds


@pytest.fixture(scope="module")
def workflow():
    return load_workflow("classroom.yml")


def grading_step(workflow) -> dict:
    return next(step for step in workflow["jobs"]["run-autograding-tests"]["steps"] if step.get("id") == "dlgrade")


def test_workflow_has_classroom_names_triggers_permissions_and_steps(workflow):
    steps = check_classroom_header(workflow)
    assert [step.get("uses") for step in steps] == [
        "actions/checkout@v4",
        "actions/setup-python@v5",
        None,
        None,
        REPORTER,
    ]
    install = steps[2]["run"]
    assert CPU_TORCH in install and "pip install -e ." in install
    assert install.index(CPU_TORCH) < install.index("pip install -e .")
    grading = steps[3]
    assert grading is grading_step(workflow)
    assert shlex.split(grading["run"])[:2] == ["dlgrade", "classroom"]
    # The grader stops itself, and reports, before the step's own limit could kill it silently.
    assert time_limit_of(grading["run"]) + 60 <= grading["timeout-minutes"] * 60
    assert steps[4]["env"] == {"DLGRADE_RESULTS": "${{ steps.dlgrade.outputs.result }}"}
    assert steps[4]["with"] == {"runners": "dlgrade"}


def run_grading_step(workflow, submission, tmp_path, *extra, github_output=True):
    """The workflow's grading command, run here (`python -m grader` for `dlgrade`) on `submission`.

    `submission=None` runs the command exactly as the workflow has it, in the
    repository `tmp_path` (its default submission is ./exercises).
    """
    command = shlex.split(grading_step(workflow)["run"])
    output = tmp_path / "github_output"
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    if github_output:
        environment["GITHUB_OUTPUT"] = str(output)
    where = [] if submission is None else ["--submission", str(submission)]
    completed = subprocess.run(
        [sys.executable, "-m", "grader", *command[1:], *where, *map(str, extra)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr
    text = output.read_text() if github_output else completed.stdout
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("result="), text[:500]
    data = json.loads(base64.b64decode(lines[0].removeprefix("result="), validate=True))
    jsonschema.validate(data, formats.schema("classroom"))
    return data, completed


def total(data) -> float:
    return round(sum(test["score"] for test in data["tests"]), 6)


@pytest.fixture(scope="module")
def reference_step(workflow, tmp_path_factory):
    return run_grading_step(workflow, SOLUTIONS, tmp_path_factory.mktemp("reference"))


def test_reference_reports_100_with_one_entry_per_point(reference_step):
    data, completed = reference_step
    assert (data["version"], data["status"], data["max_score"], total(data)) == (1, "pass", TOTAL_POINTS, TOTAL_POINTS)
    assert all(test["status"] == "pass" for test in data["tests"])
    # Weights as entries of one point each: a 2-point test is two entries, so the reporter's count of
    # passed entries and its sum of scores are the same number (ECOSYSTEM.md).
    assert len(data["tests"]) == TOTAL_POINTS and {test["score"] for test in data["tests"]} == {1}
    assert any(test["name"].endswith("(point 2 of 2)") for test in data["tests"])
    assert len({test["name"].split(" (point")[0] for test in data["tests"]}) > len(MODULES)
    assert "Score: 100/100" in completed.stderr  # the table is in the log, not in $GITHUB_OUTPUT


def test_stubs_in_a_student_repository_report_0_of_100(workflow, tmp_path):
    make_submission(tmp_path / "exercises", base=EXERCISES)
    data, _ = run_grading_step(workflow, None, tmp_path)
    assert (data["status"], data["max_score"], total(data)) == ("fail", TOTAL_POINTS, 0)
    assert all(test["status"] == "fail" for test in data["tests"])


def test_half_done_submission_reports_the_points_of_its_finished_modules(workflow, tmp_path):
    assert all(set(MODULE_IMPORTS[module]) <= set(DONE) for module in DONE)
    folder = make_submission(tmp_path / "half", base=EXERCISES)
    for module in DONE:
        shutil.copyfile(SOLUTIONS / f"{module}.py", folder / f"{module}.py")
    data, _ = run_grading_step(workflow, folder, tmp_path)
    expected = sum(MODULE_POINTS[module] for module in DONE)  # 14 + 12 + 10
    assert (data["status"], data["max_score"], total(data)) == ("fail", TOTAL_POINTS, expected)
    for test in data["tests"]:
        module = test["name"].split(" ", 1)[1].split(":", 1)[0]
        assert (test["status"] == "pass") == (module in DONE), test


def test_a_run_killed_by_its_time_limit_still_reports_a_tests_array(workflow, tmp_path):
    folder = make_submission(
        tmp_path / "loops",
        "activations",
        [
            (
                "    z = np.asarray(z, dtype=float)\n    result = np.empty_like(z)",
                "    while True:\n        pass\n    z = np.asarray(z, dtype=float)\n    result = np.empty_like(z)",
            )
        ],
    )
    started = time.monotonic()
    data, _ = run_grading_step(workflow, folder, tmp_path, "--time-limit", 5)
    assert time.monotonic() - started < 60
    assert data["status"] == "error" and data["max_score"] == TOTAL_POINTS and data["tests"]
    assert total(data) == 0


def test_a_time_limit_too_short_for_any_test_says_so(workflow, tmp_path):
    data, _ = run_grading_step(workflow, SOLUTIONS, tmp_path, "--time-limit", 1)
    (entry,) = data["tests"]
    assert data["status"] == entry["status"] == "error" and data["max_score"] == TOTAL_POINTS
    assert "ran out of its time limit (1 s)" in entry["message"] and "--time-limit" in entry["message"]


def test_nothing_to_grade_still_reports_and_without_github_output_prints_the_result(workflow, tmp_path):
    (tmp_path / "empty").mkdir()
    data, completed = run_grading_step(workflow, tmp_path / "empty", tmp_path, github_output=False)
    assert data == formats.classroom_error(data["tests"][0]["message"], TOTAL_POINTS)
    assert "none of the course modules" in data["tests"][0]["message"]
    assert not (tmp_path / "github_output").exists()


@pytest.fixture(scope="module")
def per_module_workflow():
    return load_workflow("classroom-per-module.yml")


def test_per_module_workflow_has_one_command_grader_per_module_summing_to_100(per_module_workflow):
    steps = check_classroom_header(per_module_workflow)
    graders = steps[2:-1]
    assert [step["uses"] for step in graders] == [COMMAND_GRADER] * len(MODULES)
    assert [step["with"]["test-name"] for step in graders] == list(MODULES)
    assert [step["with"]["max-score"] for step in graders] == [MODULE_POINTS[module] for module in MODULES]
    assert sum(step["with"]["max-score"] for step in graders) == TOTAL_POINTS
    for step, module in zip(graders, MODULES, strict=True):
        settings = step["with"]
        assert CPU_TORCH in settings["setup-command"] and "pip install -e ." in settings["setup-command"]
        assert f"--modules {module} " in settings["command"] and "--no-hidden" in settings["command"]
        assert time_limit_of(settings["command"]) + 60 <= settings["timeout"] * 60
        assert re.fullmatch(r"[a-z0-9]+", step["id"])  # the reporter's runner ids
    reporter = steps[-1]
    assert reporter["with"]["runners"].split(",") == [step["id"] for step in graders]
    assert reporter["env"] == {
        f"{step['id'].upper()}_RESULTS": f"${{{{ steps.{step['id']}.outputs.result }}}}" for step in graders
    }


def test_per_module_command_passes_only_with_full_marks(per_module_workflow, tmp_path):
    step = next(
        step
        for step in per_module_workflow["jobs"]["run-autograding-tests"]["steps"]
        if step.get("with", {}).get("test-name") == "activations"
    )
    tools = tmp_path / "bin"  # `dlgrade` and `python` as the runner's PATH would give them
    tools.mkdir()
    for name, target in (("dlgrade", f'"{sys.executable}" -m grader'), ("python", f'"{sys.executable}"')):
        (tools / name).write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        (tools / name).chmod(0o755)
    codes = {}
    for name, base in (("reference", SOLUTIONS), ("stubs", EXERCISES)):
        repository = tmp_path / name
        make_submission(repository / "exercises", base=base)
        completed = subprocess.run(
            ["/bin/sh", "-c", step["with"]["command"]],
            cwd=repository,
            capture_output=True,
            text=True,
            env={"PATH": f"{tools}:/usr/bin:/bin", "HOME": str(tmp_path)},
            timeout=300,
        )
        codes[name] = completed.returncode
    assert codes == {"reference": 0, "stubs": 1}


# ----------------------------------------------------------------------------- as the runner hands it on

# Classroom's reporter (classroom-resources/autograding-grading-reporter, src/main.js and friends), its
# arithmetic redone in Python: it reads env <RUNNER>_RESULTS for each runner, base64-decodes it, logs
# passed entries / entries x 100 (console-results.js), and posts the sum of the entries' scores over
# the sum of max_score (notify-classroom.js). It runs as a process of its own with that environment,
# so a result over the operating system's limit for one environment string fails here as it does there.
REPORTER_ARITHMETIC = """
import base64, json, os, sys
runners = [runner.strip() for runner in sys.argv[1].split(",")]
results = [json.loads(base64.b64decode(os.environ[runner.upper() + "_RESULTS"])) for runner in runners]
passed = sum(test["status"] == "pass" for result in results for test in result["tests"])
entries = sum(len(result["tests"]) for result in results)
print(json.dumps({
    "points": sum(test["score"] for result in results for test in result["tests"]),
    "max_score": sum(result["max_score"] for result in results),
    "logged": round(passed / entries * 100, 2),
}))
"""


def step_outputs(github_output: str) -> dict:
    """The step's outputs as the runner reads $GITHUB_OUTPUT: `name=value` lines and `name<<DELIMITER` blocks."""
    outputs, lines = {}, iter(github_output.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            outputs[name] = "\n".join(iter(lambda: next(lines), delimiter))
        elif line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def run_reporter(workflow, outputs: dict) -> dict:
    """The reporter step as the runner starts it: its `env:` with the step outputs filled in."""
    step = check_classroom_header(workflow)[-1]
    environment = {"PATH": "/usr/bin:/bin"}
    for name, value in step["env"].items():
        expression = re.fullmatch(r"\$\{\{ steps\.(\w+)\.outputs\.(\w+) \}\}", value)
        assert expression and expression.group(1) == "dlgrade", value
        environment[name] = outputs[expression.group(2)]
    completed = subprocess.run(
        [sys.executable, "-c", REPORTER_ARITHMETIC, step["with"]["runners"]],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )  # an environment string over the limit fails here: OSError, "Argument list too long"
    return json.loads(completed.stdout)


def long_feedback_stub(text: str) -> str:
    """A stub whose every function raises with a long message (a class's longest feedback, and more)."""
    return text.replace("raise NotImplementedError(", 'raise ValueError("what went wrong, at length; " * 200 + ')


@pytest.mark.slow
def test_a_result_of_any_size_reaches_the_reporter_and_adds_up_to_the_kit_total(workflow, tmp_path):
    repository = tmp_path / "repository"
    folder = make_submission(repository / "exercises", base=EXERCISES)
    for module in MODULES:
        source = SOLUTIONS if module in DONE else EXERCISES
        (folder / f"{module}.py").write_text(long_feedback_stub((source / f"{module}.py").read_text()))
    summary = tmp_path / "step_summary.md"
    summary.write_text("")
    command = shlex.split(grading_step(workflow)["run"])
    completed = subprocess.run(
        [sys.executable, "-m", "grader", *command[1:]],
        cwd=repository,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(tmp_path / "github_output"),
            "GITHUB_STEP_SUMMARY": str(summary),
            "RUNNER_TEMP": str(tmp_path / "runner_temp"),
        },
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr
    expected = sum(MODULE_POINTS[module] for module in DONE)  # the kit's total: 14 + 12 + 10

    # The whole result, every message whole, is more than 300 KB: kept in the runner's temporary folder...
    whole = load(tmp_path / "runner_temp" / "dlgrade" / "results.json")
    assert len(formats.classroom_base64(formats.classroom(whole))) > 300_000 and whole.score == expected
    # ...and its feedback is in the job summary the student sees.
    feedback = summary.read_text()
    assert f"**Score: {expected}/{TOTAL_POINTS}**" in feedback
    assert feedback.count("what went wrong, at length") > 1000

    # The result goes on through the reporter's environment, under the system's limit, and adds up.
    outputs = step_outputs((tmp_path / "github_output").read_text())
    assert len(outputs["result"]) <= 128 * 1024
    data = json.loads(base64.b64decode(outputs["result"]))
    jsonschema.validate(data, formats.schema("classroom"))
    assert all(test["message"] for test in data["tests"] if test["status"] != "pass")
    assert run_reporter(workflow, outputs) == {"points": expected, "max_score": TOTAL_POINTS, "logged": expected}

    # Annotations: the score as a notice, then each mistake on the module it is in.
    commands = [line for line in completed.stdout.splitlines() if line.startswith("::")]
    assert commands[0] == f"::notice title=dlgrade%3A public tests::Points {expected}/{TOTAL_POINTS}"
    errors = [line for line in commands if line.startswith("::error ")]
    assert 1 <= len(errors) <= 9 and all("\n" not in line for line in errors)
    assert all(re.match(r"::error title=[^:]+,file=exercises/\w+\.py(,line=\d+)?::.", line) for line in errors)


def test_the_reporter_adds_per_point_entries_to_the_kit_total_for_any_mix_of_results():
    from grader.results.model import GradingResult, TestResult

    points = [1, 2, 3, 1, 2]
    tests = [
        TestResult(f"test_{index}", f"1.{index}", "activations", "relu", value * (index % 2), value,
                   "passed" if index % 2 else "failed", "" if index % 2 else "wrong\n" * 1000)
        for index, value in enumerate(points)
    ]  # fmt: skip
    result = GradingResult(tests)
    data = formats.classroom(result, message_chars=50)
    assert data["max_score"] == sum(points) and len(data["tests"]) == sum(points)
    passed = [test for test in data["tests"] if test["status"] == "pass"]
    assert sum(test["score"] for test in data["tests"]) == len(passed) == result.score
    assert all(0 < len(test["message"]) <= 50 for test in data["tests"] if test["status"] == "fail")
