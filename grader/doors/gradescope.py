"""Gradescope: the autograder bundle, and what its `run_autograder` runs.

`build_bundle` writes the zip Gradescope asks for (see ECOSYSTEM.md):

    setup.sh                   installs Python 3.11, CPU-only PyTorch, then this project
    run_autograder             executable; writes the placeholder result, then runs `run`
    placeholder_results.json   a valid results.json scoring 0: "grading did not finish"
    pyproject.toml, README.md  the project, installable with pip
    grader/                    the grader, public AND hidden tests
    samples/                   the stubs in every upload layout, for Gradescope's "Test Autograder"

Both scripts come from autograding/gradescope/ in the course. The reference
package is never put in the zip (nor in the samples, which are the stubs).

`run` (`python -m grader.doors.gradescope run`) grades one submission with
`dlgrade grade SUBMISSION --format json`, hidden tests on, in a child process
under a time limit below Gradescope's 10 minutes: every upload layout
`dlgrade grade` takes (`grader.engine.intake`: files, a folder, nested
folders, GitHub's archive, notebooks, a zip Gradescope kept as a file). The
placeholder is in place before grading starts, so a platform timeout or a
crash leaves a valid result that says what happened, never an empty one; the
real result replaces it atomically once it exists and matches the schema.
Its top-level `output` is the kit's Markdown feedback for the student
(`output_format: "md"`, hidden tests only as a count), `extra_data.student`
names who submitted (from `/autograder/submission_metadata.json`) and
`leaderboard` carries the score, for an assignment that shows one.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
import zipfile
from pathlib import Path

from grader.course import MODULE_POINTS, MODULES, TOTAL_POINTS, module_index
from grader.engine import sandbox, seeds
from grader.errors import IsolationRefused, UsageError
from grader.limits import LIMITS
from grader.system import atomic_output, run_in_own_group, write_atomically

TEMPLATES = Path("autograding") / "gradescope"
SCRIPTS = ("setup.sh", "run_autograder")  # executable, at the zip's root
PLACEHOLDER = "placeholder_results.json"
GRADER_EXCLUDED_PARTS = {"__pycache__"}
SAMPLES = "samples"
METADATA = Path("/autograder/submission_metadata.json")
# Gradescope shows `output` on the submission's page; a class's longest feedback is a few tens of KB.
FEEDBACK_CHARS = 200_000


def build_bundle(out_zip: Path, course: Path):
    """Write Gradescope's autograder zip for the course at `course`."""
    out_zip, course = Path(out_zip), Path(course)
    needed = [course / "grader", course / "pyproject.toml", *(course / TEMPLATES / name for name in SCRIPTS)]
    missing = [path for path in needed if not path.exists()]
    if missing:
        raise UsageError(
            f"{course}: has no {missing[0].relative_to(course)}; give the course repository with --course DIR"
        )
    if out_zip.is_dir():
        raise UsageError(f"{out_zip}: is a folder; give the path of the .zip to write")
    with atomic_output(out_zip) as temporary:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in SCRIPTS:
                add_file(archive, name, (course / TEMPLATES / name).read_bytes(), executable=True)
            add_file(
                archive,
                PLACEHOLDER,
                json.dumps(
                    placeholder_result("Grading did not finish (it was stopped, or crashed before writing a result)."),
                    indent=2,
                ).encode(),
            )
            add_file(archive, "pyproject.toml", (course / "pyproject.toml").read_bytes())
            readme = course / TEMPLATES / "README.md"
            add_file(archive, "README.md", readme.read_bytes() if readme.is_file() else b"# dlgrade autograder\n")
            # The course's secret rides with the hidden tests, so a regrade on Gradescope is the same grade.
            secret = seeds.course_secret(path=course / "grader" / "hidden" / seeds.SECRET_FILE.name)
            if secret is not None:
                add_file(archive, f"grader/hidden/{seeds.SECRET_FILE.name}", secret.hex().encode() + b"\n")
            for name, data in sample_submissions(course / "exercises").items():
                add_file(archive, f"{SAMPLES}/{name}", data)
            for path in sorted((course / "grader").rglob("*")):
                relative = path.relative_to(course)
                if (
                    path.name != seeds.SECRET_FILE.name
                    and path.is_file()
                    and not GRADER_EXCLUDED_PARTS.intersection(relative.parts)
                    and not any(part.startswith(".") for part in relative.parts)
                    and path.suffix not in (".pyc", ".pyo")
                ):
                    add_file(archive, relative.as_posix(), path.read_bytes())


def add_file(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False):
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o755 if executable else 0o644) | 0o100000) << 16  # a regular file with its mode
    archive.writestr(info, data)


SAMPLES_README = """\
# Sample submissions

Upload each zip with Gradescope's "Test Autograder" (the stubs of `exercises/`,
laid out as students upload them). Each must come back graded: 0/100 with
every module's tests failing as "not attempted yet". A result that says
"could not be graded" means the layout was not recognised. For a 100/100
check, zip your own `solutions/` the same way (never part of this bundle).

| sample | layout |
|---|---|
{rows}
"""
SAMPLE_LAYOUTS = {
    "files.zip": ("the module files at the zip's root", "{module}"),
    "folder.zip": ("a zipped folder", "my-work/{module}"),
    "nested-folders.zip": ("folders in folders", "homework/deep-learning/{module}"),
    "github-archive.zip": ('GitHub\'s "Download ZIP" of a student repository', "dl-exercises-main/exercises/{module}"),
    "repository.zip": ("a repository's top folder (as Gradescope's GitHub upload gives it)", "exercises/{module}"),
}


def sample_submissions(exercises: Path) -> dict[str, bytes]:
    """The stubs in every upload layout, as zips named for their layout, and a README that lists them."""
    samples = {}
    modules = {
        module: (exercises / f"{module}.py").read_bytes()
        for module in MODULES
        if (exercises / f"{module}.py").is_file()
    }
    if not modules:
        return {}
    for name, (_, pattern) in SAMPLE_LAYOUTS.items():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for module, data in modules.items():
                add_file(archive, pattern.format(module=f"{module}.py"), data)
            if name == "github-archive.zip":
                add_file(archive, "dl-exercises-main/README.md", b"# Deep-learning exercises\n")
        samples[name] = buffer.getvalue()
    rows = "\n".join(f"| `{name}` | {description} |" for name, (description, _) in SAMPLE_LAYOUTS.items())
    samples["README.md"] = SAMPLES_README.format(rows=rows).encode()
    return samples


def placeholder_result(message: str) -> dict:
    """A valid results.json worth 0: one failed entry per module saying `message`."""
    tests = [
        {
            "name": f"{module}: not graded",
            "number": f"{module_index(module)}.0",
            "score": 0,
            "max_score": MODULE_POINTS[module],
            "status": "failed",
            "output": message,
            "tags": [module],
            "visibility": "visible",
        }
        for module in MODULES
    ]
    return {
        "score": 0,
        "max_score": TOTAL_POINTS,
        "execution_time": 0,
        "output": message,
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"placeholder": True},
        "tests": tests,
    }


def run(
    submission: Path,
    results: Path,
    time_limit: float = LIMITS.gradescope_seconds,
    metadata: Path = METADATA,
    modules: list[str] | None = None,
) -> int:
    """Grade `submission` (hidden tests on) into `results`; the placeholder first, the real result last.

    `metadata` is Gradescope's submission_metadata.json (who submitted);
    `modules` narrows the grading (the project's tests; Gradescope grades all).
    """
    started = time.monotonic()
    student = submitted_by(metadata)
    write_atomically(
        results,
        json.dumps(
            placeholder_result(
                "Grading did not finish in the time Gradescope allows, or it crashed; ask your instructor."
            ),
            indent=2,
        ),
    )
    try:
        sandbox.preflight()
    except IsolationRefused as refused:
        print(f"dlgrade: {refused}", flush=True)  # run_autograder's stdout: instructors only
        message = "The autograder cannot sandbox student code on this machine; your instructor has the log."
        write_atomically(results, json.dumps(placeholder_result(message), indent=2) + "\n")
        return 0
    command = [
        sys.executable,
        "-m",
        "grader",
        "grade",
        str(submission),
        "--format",
        "json",
        "--time-limit",
        f"{time_limit:g}",
        *(["--modules", *modules] if modules else []),
    ]
    print("running:", " ".join(command), flush=True)
    # Run beside this grader, so that `python -m grader` is this copy (the bundle's, hidden tests included).
    completed = run_in_own_group(
        command, time_limit + LIMITS.gradescope_grace_seconds, text=True, cwd=Path(__file__).resolve().parents[2]
    )
    code, output, log = completed.returncode, completed.stdout, completed.stderr
    if completed.timed_out:
        log += f"\nkilled after {time_limit + LIMITS.gradescope_grace_seconds:g} s"
    print(log, flush=True)  # run_autograder's stdout: instructors only (stdout_visibility hidden)
    data = parsed_result(output) if code == 0 else None
    if data is None:
        if code == 2:  # a usage error: nothing in the submission to grade
            problem = log.strip().splitlines()[-1].removeprefix("dlgrade: ") if log.strip() else "no modules"
            message = (
                f"Your submission could not be graded: {problem}. Upload your module files "
                f"({', '.join(module + '.py' for module in MODULES)}), or your repository with its "
                "exercises/ folder."
            )
        elif code == 0:
            message = "The grader graded nothing (an empty or invalid result); your instructor has the log."
        else:
            message = f"The grader could not finish (exit code {code}); your instructor has the log."
        data = placeholder_result(message)
    else:
        data = with_feedback(data)
    if student:
        data["extra_data"]["student"] = student
    data["execution_time"] = round(time.monotonic() - started, 3)
    write_atomically(results, json.dumps(data, indent=2) + "\n")
    print(f"wrote {results}: {data['score']:g}/{data.get('max_score', TOTAL_POINTS):g}", flush=True)
    return 0


def with_feedback(data: dict) -> dict:
    """The graded result as Gradescope shows it: the kit's Markdown feedback on top, the score on a leaderboard."""
    from grader.results import report
    from grader.results.model import GradingResult

    result = GradingResult.from_json(data)
    feedback = report.markdown(result, "Feedback", student=True)
    incomplete = data.get("extra_data", {}).get("incomplete")
    if incomplete:
        feedback = f"**{incomplete}**\n\n{feedback}"
    if len(feedback) > FEEDBACK_CHARS:
        feedback = feedback[:FEEDBACK_CHARS] + "\n\n*(feedback cut here; every test's own output is below)*\n"
    data["output"] = feedback
    data["output_format"] = "md"
    data["leaderboard"] = [{"name": "Points", "value": data["score"], "order": "desc"}]
    return data


def submitted_by(metadata: Path) -> dict | None:
    """Who submitted, from Gradescope's submission_metadata.json: `{"users": [...], "submission_id", ...}`.

    None where the file is missing or unreadable (a run outside Gradescope):
    a grade never depends on it.
    """
    try:
        data = json.loads(Path(metadata).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    users = data.get("users") if isinstance(data.get("users"), list) else []
    student = {
        "users": [
            {key: user[key] for key in ("name", "email", "id", "sid") if key in user}
            for user in users
            if isinstance(user, dict)
        ],
        "names": [user["name"] for user in users if isinstance(user, dict) and isinstance(user.get("name"), str)],
    }
    assignment = data.get("assignment") if isinstance(data.get("assignment"), dict) else {}
    for key, value in (
        ("submission_id", data.get("id")),
        ("submitted_at", data.get("created_at")),
        ("submission_method", data.get("submission_method")),
        ("assignment", assignment.get("title")),
    ):
        if value is not None:
            student[key] = value
    return student


def parsed_result(output: str) -> dict | None:
    """The results.json `dlgrade grade --format json` printed, if it is valid and graded something."""
    import jsonschema

    from grader.results.formats import schema

    try:
        data = json.loads(output)
        jsonschema.validate(data, schema("gradescope"))
    except (ValueError, jsonschema.ValidationError) as error:
        print(f"unusable result: {str(error).splitlines()[0]}", flush=True)
        return None
    return data if data["tests"] else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.doors.gradescope", description="Gradescope's run_autograder: grade one submission."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("run", help="grade a submission into results.json")
    grade.add_argument("--submission", type=Path, default=Path("/autograder/submission"))
    grade.add_argument("--results", type=Path, default=Path("/autograder/results/results.json"))
    grade.add_argument(
        "--time-limit",
        type=float,
        default=LIMITS.gradescope_seconds,
        metavar="S",
        help=f"seconds for grading (default {LIMITS.gradescope_seconds:g})",
    )
    grade.add_argument("--metadata", type=Path, default=METADATA, help="Gradescope's submission_metadata.json")
    grade.add_argument("--modules", nargs="+", metavar="MODULE", help="grade only these modules (tests)")
    arguments = parser.parse_args(argv)
    return run(
        arguments.submission.resolve(),
        arguments.results.resolve(),
        arguments.time_limit,
        metadata=arguments.metadata,
        modules=arguments.modules,
    )


if __name__ == "__main__":
    sys.exit(main())
