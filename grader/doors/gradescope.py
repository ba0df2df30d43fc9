"""Gradescope: the autograder bundle, and what its `run_autograder` runs.

`build_bundle` writes the zip Gradescope asks for (see ECOSYSTEM.md):

    setup.sh                   installs Python 3.11, CPU-only PyTorch, then this project
    run_autograder             executable; writes the placeholder result, then runs `run`
    placeholder_results.json   a valid results.json scoring 0: "grading did not finish"
    pyproject.toml, README.md  the project, installable with pip
    grader/                    the grader, public AND hidden tests

Both scripts come from autograding/gradescope/ in the course. The reference
package is never put in the zip.

`run` (`python -m grader.doors.gradescope run`) grades one submission with
`dlgrade grade SUBMISSION --format json`, hidden tests on, in a child process
under a time limit below Gradescope's 10 minutes. The placeholder is in place
before grading starts, so a platform timeout or a crash leaves a valid result
that says what happened, never an empty one; the real result replaces it
atomically once it exists and matches the schema.
"""

from __future__ import annotations

import argparse
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
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"placeholder": True},
        "tests": tests,
    }


def run(submission: Path, results: Path, time_limit: float = LIMITS.gradescope_seconds) -> int:
    """Grade `submission` (hidden tests on) into `results`; the placeholder first, the real result last."""
    started = time.monotonic()
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
    elif data.get("extra_data", {}).get("incomplete"):
        data["output"] += f"\n{data['extra_data']['incomplete']}"
    data["execution_time"] = round(time.monotonic() - started, 3)
    write_atomically(results, json.dumps(data, indent=2) + "\n")
    print(f"wrote {results}: {data['score']:g}/{data.get('max_score', TOTAL_POINTS):g}", flush=True)
    return 0


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
    arguments = parser.parse_args(argv)
    return run(arguments.submission.resolve(), arguments.results.resolve(), arguments.time_limit)


if __name__ == "__main__":
    sys.exit(main())
