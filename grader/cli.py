"""`dlgrade`: the command line of the kit.

    dlgrade check [MODULE ...] [--submission DIR]     students: grade ./exercises, show feedback
    dlgrade grade SUBMISSION ... --out DIR [--jobs N]  instructors: grade a class, write results
    dlgrade grade SUBMISSION --format json             one submission's results.json on stdout
    dlgrade report OUT                                 the class report of a graded OUT: OUT/report.html
    dlgrade verify [--course DIR]                      the reference scores 100, the stubs 0
    dlgrade release OUT_DIR                            the repository students receive
    dlgrade classroom                                  GitHub Classroom's grading step
    dlgrade gradescope-bundle OUT.zip                  Gradescope's autograder zip
    dlgrade nbgrader-course OUT_DIR                    the exercises as an nbgrader course

`grade` into an OUT graded before regrades only the submissions whose files,
options or grader version changed (`--force`: all; `--regrade ID ...`: those).

Exit codes: 0 done (for `grade`: every submission graded, a run cut short by
its time limit included); 1 `grade`: some submission was invalid or its
grading failed, `verify`: a wrong score; 2 bad input (a missing path, a
folder without modules, an unreadable zip, an unknown module, a time limit
that is not positive), with one line on stderr; 130 interrupted (Ctrl-C:
`grade` has written grades.csv and summary.md for what is done; run the same
command again to finish). `dlgrade --version` prints the version.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grader.course import MODULES, TOTAL_POINTS
from grader.errors import UsageError
from grader.limits import LIMITS

FORMATS = ("files", "json", "classroom", "junit", "markdown", "csv")


def parse_modules(names: list[str] | None) -> list[str] | None:
    if not names:
        return None
    unknown = [name for name in names if name not in MODULES]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], MODULES, n=1)
        suggestion = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown module {unknown[0]!r}{suggestion}; the modules are: {', '.join(MODULES)}")
    return [module for module in MODULES if module in names]


def command_check(arguments) -> int:
    """Grade the student's own work with the public tests, pytest running in this process."""
    import os
    import shutil

    modules = parse_modules(arguments.modules)
    if not arguments.in_process:
        from grader.course import uses_torch
        from grader.engine.sandbox import worker_template

        worker_template(torch=uses_torch(modules))  # it boots while pytest loads and collects the tests

    from grader.engine import runner
    from grader.results import report

    functions = parse_functions(arguments.functions, modules)
    color = arguments.color == "always" or (
        arguments.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    )
    progress = Progress(sys.stderr)
    try:
        result = runner.grade(
            Path(arguments.submission or Path.cwd() / "exercises"),
            modules=modules,
            in_process=arguments.in_process,
            fresh_process=False,
            allow_weak_isolation=True,  # a student's own check: no grade rests on it
            exercises=functions,
            first=arguments.first,
            progress=progress,
        )
    finally:
        progress.clear()
    not_run = [test for test in result.tests if (test.failure or {}).get("kind") == "not-run"]
    if arguments.first:
        result.tests = [test for test in result.tests if test not in not_run]
    width = arguments.width or (shutil.get_terminal_size((100, 24)).columns if sys.stdout.isatty() else 100)
    print(report.score_table(result, width=width, color=color))
    if arguments.first and not_run:
        print(f"note: stopped at the first failing test (--first); {len(not_run)} tests did not run")
    print(
        "note: these are the public tests. Your instructor's grade also runs hidden re-checks of the same "
        "kinds of input, drawn afresh: a test whose published inputs pass but whose fresh ones fail loses "
        "its points, so make each function right for every valid input."
    )
    if arguments.plots:
        from grader.results import pictures

        written, missing = pictures.write(result, Path(arguments.plots))
        if written:
            print(f"pictures in {arguments.plots}: {', '.join(path.name for path in written)}")
        for what in missing:
            print(f"not drawn: no trained net from {what} (graded in this run, and passing its training check)")
    isolation = result.extra.get("isolation", "")
    if isolation.startswith("none"):
        print("note: --in-process ran your code inside the grader, without isolation")
    elif "AS ROOT" in isolation:
        print("note: your code ran as root, without a sandbox of its own (fine for checking your own work)")
    return 0


class Progress:
    """`checking activations  5/26`: one line on a terminal, rewritten in place; a line per module elsewhere."""

    def __init__(self, stream):
        self.stream, self.module, self.shown = stream, None, False
        self.terminal = stream.isatty()

    def __call__(self, done: int, total: int, module: str | None):
        if module is None:
            return
        if self.terminal:
            self.stream.write(f"\r\x1b[Kchecking {module}  {done}/{total} tests")
            self.shown = True
        elif module != self.module:
            self.stream.write(f"checking {module} ...\n")
        self.stream.flush()
        self.module = module

    def clear(self):
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def parse_functions(names: list[str], modules: list[str] | None) -> tuple[str, ...]:
    """`-k` names: each must be a function some test checks (in the modules asked for)."""
    import difflib

    if not names:
        return ()
    from grader.engine.runner import graded_exercises

    known = [name for found in graded_exercises(modules=modules or MODULES).values() for name in found]
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            suggestion = f"; did you mean {close[0]!r}?" if close else f"; the functions are: {', '.join(known)}"
            raise UsageError(f"no test checks a function called {name!r}" + suggestion)
    return tuple(names)


def command_grade(arguments) -> int:
    """Grade submissions: one printed (`--format`), or a class into `--out`; 0 all graded, else 1."""
    import math

    from grader.engine import batch, intake, runner, sandbox
    from grader.results import formats, report

    if not (math.isfinite(arguments.time_limit) and arguments.time_limit > 0):
        raise UsageError(f"--time-limit must be a positive number of seconds, not {arguments.time_limit:g}")
    modules = parse_modules(arguments.modules)
    paths = [Path(path) for path in arguments.submissions]
    missing = [path for path in paths if not path.exists()]
    if missing:
        raise UsageError(f"{missing[0]}: no such file or folder")
    options = dict(
        modules=modules,
        hidden=not arguments.no_hidden,
        seed=arguments.seed,
        in_process=arguments.in_process,
        allow_weak_isolation=arguments.allow_weak_isolation,
        time_limit=arguments.time_limit,
    )
    if not arguments.in_process:
        sandbox.preflight(allow_weak_isolation=arguments.allow_weak_isolation)  # before any submission
    junit_batch = arguments.format == "junit" and arguments.out  # junit.xml per submission and for the class
    if arguments.format != "files" and not junit_batch:
        if len(paths) != 1:
            raise UsageError(
                f"--format {arguments.format} prints one submission's result; give exactly one "
                "submission, or use --out DIR for a batch"
            )
        result = runner.grade(paths[0], **options)
        identifier = batch.identifiers(paths)[0].identifier
        result.extra.update(batch.record(paths[0], options), id=identifier)
        if arguments.out:
            batch.write_submission_files(Path(arguments.out) / identifier, result, identifier, junit=True)
        text = {
            "json": lambda: json.dumps(formats.gradescope(result), indent=2),
            "classroom": lambda: formats.classroom_base64(formats.classroom(result)),
            "junit": lambda: formats.junit(result).rstrip("\n"),
            "markdown": lambda: report.markdown(result).rstrip("\n"),
            "csv": lambda: formats.gradebook_csv([formats.gradebook_row(identifier, result)]).rstrip("\n"),
        }[arguments.format]()
        print(text)
        return 0
    if not arguments.out:
        raise UsageError("give --out DIR for the result files (or --format json to print one result)")
    batch_options = dict(
        jobs=arguments.jobs or 1,
        junit=arguments.format == "junit",
        progress=not arguments.quiet,
        force=arguments.force,
        regrade=arguments.regrade,
        **options,
    )
    cluster = None
    if arguments.scheduler:
        from grader.engine.cluster import Cluster

        cluster = Cluster(arguments.scheduler)
        if arguments.jobs is None:
            batch_options["jobs"] = cluster.threads  # as many gradings at once as the workers have threads
    try:
        if len(paths) == 1:
            # A single bad submission is a usage error, not a gradebook row: open it here, once.
            with intake.opened(paths[0]) as submission:
                rows = batch.grade_batch(
                    paths, Path(arguments.out), opened={paths[0]: submission}, cluster=cluster, **batch_options
                )
        else:
            rows = batch.grade_batch(paths, Path(arguments.out), cluster=cluster, **batch_options)
    finally:
        if cluster is not None:
            cluster.close()
    graded = sum(row["status"] in batch.GRADED for row in rows)
    print(f"graded {graded}/{len(rows)} submissions; gradebook: {Path(arguments.out) / 'grades.csv'}")
    try:
        from grader.results import class_report

        class_report.write_after_grading(batch.identifiers(paths), Path(arguments.out), intake.opened)
    except Exception as error:  # noqa: BLE001 -- the grades are written; a failed report must not hide them
        print(
            f"dlgrade: the class report failed ({type(error).__name__}: {error}); the grades are written, "
            f"`dlgrade report {arguments.out}` tries again",
            file=sys.stderr,
        )
    return 0 if graded == len(rows) else 1


def command_report(arguments) -> int:
    """The class report of a graded OUT: report.html, similarity.csv, each student's feedback.html."""
    from grader.results import class_report

    out = Path(arguments.out)
    if not (out.is_dir() and any(out.glob("*/results.json"))):
        raise UsageError(f"{out}: no graded submission (OUT/<id>/results.json) in it; give the --out of dlgrade grade")
    threshold = {} if arguments.threshold is None else {"threshold": arguments.threshold}
    report_file = class_report.write_class_report(out, **threshold)
    print(f"class report: {report_file}")
    return 0


def command_verify(arguments) -> int:
    from grader.engine import runner

    course = Path(arguments.course)
    expectations = (("solutions", TOTAL_POINTS), ("exercises", 0))
    for name, _ in expectations:
        if not (course / name).is_dir():
            raise UsageError(
                f"{course / name}: no such folder; run verify in the course repository (or give --course DIR)"
            )
    failures = 0
    for name, expected in expectations:
        result = runner.grade(
            course / name,
            hidden=True,
            seed=arguments.seed,
            in_process=arguments.in_process,
            allow_weak_isolation=arguments.allow_weak_isolation,
        )
        good = result.score == expected and result.max_score == TOTAL_POINTS
        failures += not good
        print(
            f"{name}: {result.score:g}/{result.max_score:g} (expected {expected}) "
            f"{'ok' if good else 'WRONG'}  [{result.execution_time:.1f} s, seed {result.extra.get('seed')}]"
        )
        if not good:
            wrong = [test for test in result.tests if (test.status == "passed") != bool(expected)]
            for test in wrong[:20]:
                print(
                    f"  {test.number} {test.name}: {test.status}  {test.output.splitlines()[0] if test.output else ''}"
                )
    return 1 if failures else 0


def command_release(arguments) -> int:
    from grader.doors import release

    release.write_release(Path(arguments.out_dir), course=Path(arguments.course))
    print(f"student repository written to {arguments.out_dir}")
    return 0


def command_classroom(arguments) -> int:
    from grader.doors import classroom

    return classroom.grading_step(Path(arguments.submission), time_limit=arguments.time_limit)


def command_gradescope_bundle(arguments) -> int:
    from grader.doors import gradescope

    gradescope.build_bundle(Path(arguments.out_zip), course=Path(arguments.course))
    print(f"Gradescope autograder bundle written to {arguments.out_zip}")
    return 0


def command_nbgrader_course(arguments) -> int:
    from grader.doors import nbgrader_course

    nbgrader_course.write_course(Path(arguments.out_dir), course=Path(arguments.course))
    print(f"nbgrader course written to {arguments.out_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlgrade", description="Grade the deep-learning course's exercises.")
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="grade your exercises with the public tests and show feedback")
    check.add_argument("modules", nargs="*", metavar="MODULE", help=f"modules to check ({', '.join(MODULES)})")
    check.add_argument("--submission", metavar="DIR", help="folder with your modules (default: ./exercises)")
    check.add_argument("--in-process", action="store_true", help="run your code inside the grader (not isolated)")
    check.add_argument(
        "-k",
        dest="functions",
        action="append",
        default=[],
        metavar="FUNCTION",
        help="check only the tests of this function (e.g. -k softmax); repeatable",
    )
    check.add_argument("--first", action="store_true", help="stop at the first failing test and show only it")
    check.add_argument(
        "--plots",
        metavar="DIR",
        help="draw the course's pictures of your trained nets into DIR (decision boundary, loss, conv filters)",
    )
    check.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output: auto (on a terminal, unless NO_COLOR is set), always or never",
    )
    check.add_argument("--width", type=int, default=None, help=argparse.SUPPRESS)
    check.set_defaults(handler=command_check)

    grade = commands.add_parser("grade", help="grade submissions (folders or .zip files) into --out")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION")
    grade.add_argument("--out", metavar="DIR", help="folder for results.json, feedback.md, grades.csv")
    grade.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="submissions graded in parallel, each on one core (default 1; up to the cores you can spare; "
        "with --scheduler, the cluster's threads)",
    )
    grade.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on a Dask cluster: its scheduler's address, e.g. tcp://HOST:8786 (pip install 'dlgrade[cluster]')",
    )
    grade.add_argument(
        "--format",
        choices=FORMATS,
        default="files",
        help="files (default) writes into --out; junit with --out also writes junit.xml per submission and "
        "for the class; the others print one submission's result",
    )
    grade.add_argument("--modules", nargs="+", metavar="MODULE", help="grade only these modules")
    grade.add_argument(
        "--seed", type=int, help="seed of the hidden tests (default: from the course secret and the code; recorded)"
    )
    grade.add_argument("--no-hidden", action="store_true", help="public tests only")
    grade.add_argument("--in-process", action="store_true", help="no sandbox (NOT isolated; for debugging)")
    grade.add_argument(
        "--allow-weak-isolation",
        action="store_true",
        help="where the sandbox can neither use namespaces nor a user of its own, run the code as root "
        "anyway (recorded in results.json)",
    )
    grade.add_argument(
        "--time-limit",
        type=float,
        default=LIMITS.submission_seconds,
        metavar="S",
        help=f"seconds for one whole submission (default {LIMITS.submission_seconds:g}; "
        "see grader/limits.py for the others)",
    )
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.add_argument(
        "--force",
        action="store_true",
        help="regrade every submission (by default one graded already from the same files with the same "
        "options and grader version is skipped)",
    )
    grade.add_argument(
        "--regrade", nargs="+", default=[], metavar="ID", help="regrade these submissions (their ids in --out)"
    )
    grade.set_defaults(handler=command_grade)

    report = commands.add_parser("report", help="write OUT/report.html, the class report of a graded OUT")
    report.add_argument("out", metavar="OUT", help="the --out folder of `dlgrade grade`")
    report.add_argument(
        "--threshold",
        type=float,
        metavar="X",
        help="similarity (0 to 1) above which two submissions are shown side by side (default 0.7, "
        "see grader/results/similarity.py)",
    )
    report.set_defaults(handler=command_report)

    verify = commands.add_parser("verify", help="check that solutions/ scores 100 and exercises/ scores 0")
    verify.add_argument("--course", default=".", metavar="DIR", help="the course repository (default: .)")
    verify.add_argument("--seed", type=int, help="seed of the hidden tests")
    verify.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    verify.add_argument("--allow-weak-isolation", action="store_true", help="as for grade")
    verify.set_defaults(handler=command_verify)

    release = commands.add_parser("release", help="write the repository students receive (no solutions)")
    release.add_argument("out_dir", metavar="OUT_DIR")
    release.add_argument("--course", default=".", metavar="DIR", help="the course repository (default: .)")
    release.set_defaults(handler=command_release)

    classroom = commands.add_parser(
        "classroom", help="GitHub Classroom grading step: writes result= to $GITHUB_OUTPUT, always with a tests array"
    )
    classroom.add_argument("--submission", default="exercises", metavar="DIR")
    classroom.add_argument(
        "--time-limit",
        type=float,
        default=LIMITS.classroom_seconds,
        metavar="S",
        help=f"seconds for grading (default {LIMITS.classroom_seconds:g})",
    )
    classroom.set_defaults(handler=command_classroom)

    bundle = commands.add_parser("gradescope-bundle", help="build the Gradescope autograder zip")
    bundle.add_argument("out_zip", metavar="OUT.zip")
    bundle.add_argument("--course", default=".", metavar="DIR", help="the course repository (default: .)")
    bundle.set_defaults(handler=command_gradescope_bundle)

    notebooks = commands.add_parser("nbgrader-course", help="write an nbgrader course of the eight exercises")
    notebooks.add_argument("out_dir", metavar="OUT_DIR")
    notebooks.add_argument("--course", default=".", metavar="DIR", help="the course repository (default: .)")
    notebooks.set_defaults(handler=command_nbgrader_course)
    return parser


class _Version(argparse.Action):
    """`--version`: argparse's own action, but the version is read only when asked (it costs 50 ms)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="print the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        import grader

        print(f"dlgrade {grader.__version__}")
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if (getattr(arguments, "jobs", None) or 1) < 1 or getattr(arguments, "jobs", None) == 0:
        parser.exit(2, "dlgrade: --jobs must be 1 or more\n")
    try:
        return arguments.handler(arguments)
    except UsageError as error:
        print(f"dlgrade: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
