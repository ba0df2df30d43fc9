"""Grading many submissions: in parallel, with progress, resumable after any interruption.

Each submission's files go to `OUT/<id>/` (`results.json`, `feedback.md` for
the student, `feedback-instructor.md` with every hidden test named, and
`junit.xml` when asked), written atomically: a file exists whole or not at
all. `results.json` records what its grade rests on (`extra_data`: the
grader's version, the options that change a score, a hash of the
submission's files); a rerun into the same OUT grades every submission whose
record differs and skips only the ones graded already from the same files
with the same options (`force` regrades all, `regrade` the ids it names). So
re-running the same command after Ctrl-C, a SIGKILL or a reboot grades only
what is left. `grades.csv` and `summary.md` (and `junit.xml`, every
submission a testsuite, when asked) are rebuilt at the end from the
`results.json` of every submission of the run.

Ctrl-C stops the gradings in flight within seconds (`grader.system.RUNNING`),
writes the class's files for what is done, and raises KeyboardInterrupt. No
grading process outlives this one, however it ends (`grader.system`).
"""

from __future__ import annotations

import collections
import concurrent.futures
import difflib
import hashlib
import hmac
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import grader
from grader.course import MODULES, module_files
from grader.engine import intake, runner, seeds
from grader.engine.lanes import Lanes
from grader.errors import SubmissionError, UsageError
from grader.limits import LIMITS
from grader.results import formats, report
from grader.results.model import GradingResult, load, save
from grader.system import RUNNING, write_atomically

# The batch's own files in OUT (a submission of one of these names gets another id):
BATCH_FILES = ("grades.csv", "summary.md", "junit.xml", "report.html", "similarity.csv", "canvas.csv")
GRADED = ("graded", "incomplete")  # gradebook statuses of a submission that has a result


@dataclass
class Job:
    identifier: str
    path: Path


MAX_IDENTIFIER_CHARS = 100  # well under any file system's 255 bytes for a name, with room for "-N"


def identifiers(paths: list[Path]) -> list[Job]:
    """One id per submission: its folder or zip name, made unique and safe as a folder name.

    Where names repeat, the parent folder's name goes first: nbgrader's
    submitted/<student>/<assignment> folders become <student>-<assignment>.
    A name that is already safe keeps it; the others (`alice!`, a name that
    is too long) are made safe and, where that collides with any other id
    (compared without case, as macOS and Windows do), numbered: `alice_-2`.
    """
    resolved = [Path(path).resolve() for path in paths]
    names = [path.name.removesuffix(".zip") for path in resolved]
    repeated = {name for name, count in collections.Counter(names).items() if count > 1}
    wanted = [
        f"{full.parent.name}-{name}" if name in repeated else name for full, name in zip(resolved, names, strict=True)
    ]
    safe = [_safe_name(name) for name in wanted]
    taken = {name.lower() for name in BATCH_FILES}  # a submission called grades.csv gets grades.csv-2
    chosen: list[str | None] = [None] * len(paths)
    # Names that needed no change first: an honest student's id never depends on another's folder name.
    for index in sorted(range(len(paths)), key=lambda index: safe[index] != wanted[index]):
        candidate, number = safe[index], 1
        while candidate.lower() in taken:
            number += 1
            candidate = f"{safe[index]}-{number}"
        taken.add(candidate.lower())
        chosen[index] = candidate
    return [Job(identifier, Path(path)) for identifier, path in zip(chosen, paths, strict=True)]


def _safe_name(name: str) -> str:
    """`name` as a folder name that is safe everywhere: letters, digits, `.`, `_`, `-`; no leading dot."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:MAX_IDENTIFIER_CHARS].lstrip(".")
    return safe or "submission"


# -- what a grade rests on, recorded in results.json ------------------------------------------------


def grading_options(
    modules=None,
    hidden=False,
    seed=None,
    in_process=False,
    allow_weak_isolation=False,
    time_limit: float = LIMITS.submission_seconds,
) -> dict:
    """The options of `grader.engine.runner.grade` that can change a score, as results.json records them.

    The hidden tests' seed is the one given, or else where it comes from: the
    course secret (named by a fingerprint, never the secret: a new secret
    draws new inputs) mixed with the submission's files, whose hash is
    recorded beside it; or a random draw, where there is no secret.
    """
    if not hidden:
        seed_source = None
    elif seed is not None:
        seed_source = seed
    else:
        try:
            secret = seeds.course_secret()
        except ValueError as error:  # DLGRADE_COURSE_SECRET malformed: the instructor's to fix
            raise UsageError(str(error)) from None
        fingerprint = secret and hmac.new(secret, b"dlgrade: the secret's fingerprint", "sha256").hexdigest()[:16]
        seed_source = f"course secret {fingerprint}, and the files" if secret else "random"
    return {
        "modules": list(modules or MODULES),
        "hidden": bool(hidden),
        "seed": seed_source,
        "time_limit": float(time_limit),
        "in_process": bool(in_process),
        "allow_weak_isolation": bool(allow_weak_isolation),
    }


def files_hash(path: Path) -> str | None:
    """SHA-256 of what `path` submits, read without opening it: a zip's bytes, else its module files.

    The module files are the modules where `grader.engine.intake.find_modules`
    finds them (.py files, else notebooks). None where there are none (grading will
    say why).
    """
    path = Path(path)
    digest = hashlib.sha256()
    try:
        if path.is_dir():
            try:
                folder, suffix = intake.find_modules(path)
                files = module_files(folder, suffix)
            except SubmissionError:
                files = {}
        else:
            files = {"": path} if path.is_file() else {}
        if not files:
            return None
        for file in sorted(files.values()):
            with open(file, "rb") as stream:  # in chunks: a student's file may be of any size
                digest.update(f"{file.name}\0{os.fstat(stream.fileno()).st_size}\0".encode())  # unambiguous
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
    except OSError:
        return None
    return f"sha256:{digest.hexdigest()}"


def record(path: Path, options: dict) -> dict:
    """What results.json's `extra_data` says the grade of the submission at `path` rests on."""
    return {"grader_version": grader.__version__, "options": grading_options(**options), "files": files_hash(path)}


def why_regrade(results_file: Path, wanted: dict) -> str | None:
    """Why the submission whose result is `results_file` must be graded under `wanted`; None: it need not."""
    if not results_file.is_file():
        return "not graded yet"
    try:
        extra = load(results_file).extra
    except (OSError, ValueError, KeyError, TypeError):
        return "its results.json cannot be read"
    if "options" not in extra or "files" not in extra:
        return "graded before results.json recorded its files and options"
    if extra.get("grader_version") != wanted["grader_version"]:
        return f"graded by dlgrade {extra.get('grader_version')}, this is {wanted['grader_version']}"
    if wanted["files"] is None or extra["files"] != wanted["files"]:
        return "its files changed"
    changed = [name for name, value in wanted["options"].items() if extra["options"].get(name) != value]
    if changed:
        return f"graded with other options ({', '.join(changed)})"
    return None


# -- writing ------------------------------------------------------------------------------------


def write_submission_files(folder: Path, result: GradingResult, identifier: str, junit: bool):
    """The submission's files, results.json last: its presence means "done"."""
    if junit:
        write_atomically(folder / "junit.xml", formats.junit(result, identifier))
    else:
        (folder / "junit.xml").unlink(missing_ok=True)  # a regrade's files never mix with an older grading's
    title = f"Feedback for {identifier}"
    write_atomically(folder / "feedback-instructor.md", report.markdown(result, title))
    write_atomically(folder / "feedback.md", report.markdown(result, title, student=True))
    _draw_pictures(folder, result)
    save(result, folder / "results.json")


def _draw_pictures(folder: Path, result: GradingResult):
    """The course's pictures of the student's trained nets, for feedback.html (grader.results.pictures)."""
    from grader.results import pictures

    drawn = folder / pictures.FOLDER
    if drawn.is_dir():
        shutil.rmtree(drawn)  # a regrade's pictures never mix with an older grading's
    if result.extra.get("pictures"):
        pictures.write(result, drawn)


def _complete_files(folder: Path, result: GradingResult, identifier: str, junit: bool):
    """For a submission skipped: write what an earlier run, asked less, left out (`junit.xml`, say)."""
    title = f"Feedback for {identifier}"
    wanted = {
        "feedback-instructor.md": lambda: report.markdown(result, title),
        "feedback.md": lambda: report.markdown(result, title, student=True),
    }
    if junit:
        wanted["junit.xml"] = lambda: formats.junit(result, identifier)
    for name, text in wanted.items():
        if not (folder / name).is_file():
            write_atomically(folder / name, text())


def class_junit(results: dict[str, GradingResult | None], problems: dict[str, str]) -> str:
    """One JUnit document for the class: a testsuite per submission (one with an error where it has no result)."""
    suites = ElementTree.Element("testsuites", name="dlgrade")
    for identifier, result in results.items():
        if result is not None:
            suites.extend(ElementTree.fromstring(formats.junit(result, identifier)))
            continue
        suite = ElementTree.SubElement(suites, "testsuite", name=identifier, tests="1", failures="0", errors="1")
        case = ElementTree.SubElement(suite, "testcase", classname=identifier, name="grading")
        ElementTree.SubElement(case, "error", message=problems.get(identifier, "not graded"))
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


# -- the batch --------------------------------------------------------------------------------


def grade_batch(
    paths: list[Path],
    out: Path,
    *,
    jobs: int = 1,
    junit: bool = False,
    progress: bool = True,
    opened: dict | None = None,
    force: bool = False,
    regrade: list[str] | tuple[str, ...] = (),
    cluster=None,
    **options,
) -> list[dict]:
    """Grade every submission of `paths` not graded yet, just so, into `out`; return the gradebook rows.

    `options` go to `grader.engine.runner.grade`. A submission is skipped
    where its results.json records the same grader version, options and
    files (`why_regrade`), unless `force` or its id is in `regrade`.
    `opened` maps a path of `paths` to the submission the caller opened
    already (`grader.engine.intake.opened`), so it is not opened a second
    time. With `cluster` (`grader.engine.cluster.Cluster`) each submission is
    graded by a task on a Dask worker, `jobs` of them at once, and its files
    written here as for a local grading. On Ctrl-C: the gradings in flight are stopped, the class's files
    written for what is done, and KeyboardInterrupt raised.
    """
    opened = opened or {}
    out.mkdir(parents=True, exist_ok=True)
    all_jobs = identifiers(paths)
    known = [job.identifier for job in all_jobs]
    for identifier in regrade:
        if identifier not in known:
            close = difflib.get_close_matches(identifier, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"--regrade {identifier}: no submission of this run has that id{hint}")
    records = {job.identifier: record(job.path, options) for job in all_jobs}
    reasons: dict[str, str] = {}
    for job in all_jobs:
        if force:
            reasons[job.identifier] = "--force"
        elif job.identifier in regrade:
            reasons[job.identifier] = "--regrade"
        else:
            reason = why_regrade(out / job.identifier / "results.json", records[job.identifier])
            if reason is not None:
                reasons[job.identifier] = reason
    pending = [job for job in all_jobs if job.identifier in reasons]
    _tell_plan(all_jobs, reasons)
    problems: dict[str, str] = {}
    started = time.monotonic()

    graded: dict[str, GradingResult] = {}
    # One lane per parallel grading: torch, the suite and the worker template load once per lane.
    lanes = Lanes(runner.pytest_environment(LIMITS.threads), options.get("modules")) if cluster is None else None

    # A submission's files (its pictures take ~0.4 s to draw) are written by one thread of their own
    # while the lanes grade the next submissions.
    writer = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    writes: dict[str, concurrent.futures.Future] = {}

    def write(job: Job, result: GradingResult):
        write_submission_files(out / job.identifier, result, job.identifier, junit)
        graded[job.identifier] = result

    def work(job: Job):
        if cluster is not None:
            result = cluster.grade(opened.get(job.path, job.path), options)
        else:
            with lanes.lane() as lane:
                result = runner.grade(opened.get(job.path, job.path), lane=lane, **options)
        result.extra.update(records[job.identifier], id=job.identifier)
        writes[job.identifier] = writer.submit(write, job, result)

    def collect(job: Job, future: concurrent.futures.Future):
        try:
            future.result()
        except SubmissionError as error:
            problems[job.identifier] = f"invalid: {error}"
        except (KeyboardInterrupt, concurrent.futures.CancelledError):
            problems[job.identifier] = "interrupted"
        except Exception as error:  # noqa: BLE001 -- one submission never stops the batch
            problems[job.identifier] = f"error: {error}"

    bar = _Progress(len(all_jobs), len(all_jobs) - len(pending), enabled=progress)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
    futures: dict[concurrent.futures.Future, Job] = {}
    interrupted = False
    try:
        futures = {pool.submit(work, job): job for job in pending}
        for future in concurrent.futures.as_completed(futures):
            collect(futures[future], future)
            bar.advance(failed=futures[future].identifier in problems)
        pool.shutdown()
    except KeyboardInterrupt:
        interrupted = True
        bar.close()
        for future in futures:
            future.cancel()
        print("interrupted: stopping the gradings in flight (Ctrl-C again: at once) ...", file=sys.stderr)
        RUNNING.stop()
        _shut_down(pool)
        RUNNING.reopen()
        for future, job in futures.items():
            if job.identifier not in problems:
                collect(job, future)
    finally:
        if lanes is not None:
            lanes.close()
        writer.shutdown()  # every submission graded is written, interrupted or not
    for job in pending:
        if job.identifier in writes and job.identifier not in problems:
            collect(job, writes[job.identifier])
    bar.close()
    rows, results = [], {}
    for job in all_jobs:
        results_file = out / job.identifier / "results.json"
        result = graded.get(job.identifier)
        if result is None and job.identifier not in problems and results_file.is_file():
            result = load(results_file)
            _complete_files(out / job.identifier, result, job.identifier, junit)
        results[job.identifier] = result
        if result is not None:
            status = "incomplete" if result.extra.get("incomplete") else "graded"
            rows.append(formats.gradebook_row(job.identifier, result, status))
        else:
            rows.append(formats.gradebook_row(job.identifier, None, problems.get(job.identifier, "not graded")))
    gradebook, summary_file, junit_file = (out / name for name in BATCH_FILES[:3])
    write_atomically(gradebook, formats.gradebook_csv(rows))
    write_atomically(out / "canvas.csv", formats.canvas_csv(rows))  # the same totals, as Canvas imports them
    write_atomically(summary_file, summary(rows, time.monotonic() - started))
    if junit:
        write_atomically(junit_file, class_junit(results, problems))
    for identifier, problem in problems.items():
        if problem != "interrupted":
            print(f"{identifier}: {problem}", file=sys.stderr)
    if interrupted:
        done = sum(row["status"] in GRADED for row in rows)
        print(
            f"interrupted: {done}/{len(rows)} submissions graded; grades.csv and summary.md in {out} "
            "list what is done. To finish, run the same command again: it grades only the rest.",
            file=sys.stderr,
        )
        raise KeyboardInterrupt
    return rows


def _tell_plan(all_jobs: list[Job], reasons: dict[str, str]):
    """One line on stderr per reason a submission graded before is graded again, and one for the skipped."""
    by_reason: dict[str, list[str]] = {}
    for identifier, reason in reasons.items():
        by_reason.setdefault(reason, []).append(identifier)
    by_reason.pop("not graded yet", None)
    for reason, identifiers in by_reason.items():
        named = ", ".join(identifiers[:10]) + (f" and {len(identifiers) - 10} more" if len(identifiers) > 10 else "")
        print(f"regrading {named}: {reason}", file=sys.stderr)
    skipped = len(all_jobs) - len(reasons)
    if skipped:
        print(
            f"skipping {skipped} graded already from the same files with the same options (--force regrades them)",
            file=sys.stderr,
        )


def _shut_down(pool: concurrent.futures.ThreadPoolExecutor):
    """Wait for the pool's threads, their gradings stopped; a further Ctrl-C kills what is left at once."""
    while True:
        try:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        except KeyboardInterrupt:
            RUNNING.stop(grace=0)


def summary(rows: list[dict], seconds: float) -> str:
    graded = [row for row in rows if row.get("total") not in (None, "")]
    totals = sorted(float(row["total"]) for row in graded)
    lines = [
        "# Grading summary",
        "",
        f"- submissions: {len(rows)}",
        f"- graded: {len(graded)}",
        f"- not graded: {len(rows) - len(graded)}",
        f"- time of this run: {seconds:.1f} s",
    ]
    if totals:
        middle = (
            totals[len(totals) // 2]
            if len(totals) % 2
            else (totals[len(totals) // 2 - 1] + totals[len(totals) // 2]) / 2
        )
        lines += [
            f"- mean score: {sum(totals) / len(totals):.2f}",
            f"- median score: {middle:g}",
            f"- lowest / highest: {totals[0]:g} / {totals[-1]:g}",
        ]
    problems = [row for row in rows if row["status"] not in ("graded",)]
    if problems:
        lines += ["", "## Needs a look", ""] + [f"- {row['id']}: {row['status']}" for row in problems]
    return "\n".join(lines) + "\n"


class _Progress:
    """done/total, failures and ETA on stderr (a rich progress bar)."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.failed = 0
        self._progress = None
        if not enabled or total == 0:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task = self._progress.add_task("grading", total=total, completed=done, failed=0)
        self._progress.start()

    def advance(self, failed: bool):
        self.failed += failed
        if self._progress is not None:
            self._progress.update(self._task, advance=1, failed=self.failed)

    def close(self):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
