"""Grading many submissions: in parallel, with progress, resumable after any interruption.

Each submission's files go to `OUT/<id>/` (`results.json`, `feedback.md`, and
`junit.xml` when asked), written atomically: a file exists whole or not at
all. A submission whose `results.json` exists is skipped on the next run, so
re-running the same command after Ctrl-C, a SIGKILL or a reboot grades only
what is left. `grades.csv` and `summary.md` are rebuilt from every
`results.json` under OUT at the end.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from grader.engine import runner
from grader.errors import SubmissionError
from grader.results import formats, report
from grader.results.model import GradingResult, load, save
from grader.system import write_atomically

BATCH_FILES = ("grades.csv", "summary.md")  # the batch's own files in OUT


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


def write_submission_files(folder: Path, result: GradingResult, identifier: str, junit: bool):
    if junit:
        write_atomically(folder / "junit.xml", formats.junit(result, identifier))
    write_atomically(folder / "feedback.md", report.markdown(result, f"Feedback for {identifier}"))
    save(result, folder / "results.json")  # last: its presence means "done"


def grade_batch(
    paths: list[Path],
    out: Path,
    *,
    jobs: int = 1,
    junit: bool = False,
    progress: bool = True,
    opened: dict | None = None,
    **options,
) -> list[dict]:
    """Grade every submission not graded yet into `out`; return the gradebook rows.

    `opened` maps a path of `paths` to the submission the caller opened already
    (`grader.engine.intake.opened`), so it is not opened a second time.
    """
    opened = opened or {}
    out.mkdir(parents=True, exist_ok=True)
    all_jobs = identifiers(paths)
    pending = [job for job in all_jobs if not (out / job.identifier / "results.json").is_file()]
    problems: dict[str, str] = {}
    started = time.monotonic()

    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))  # each parallel grading gets its share of cores

    graded: dict[str, GradingResult] = {}

    def work(job: Job):
        result = runner.grade(opened.get(job.path, job.path), threads=threads, **options)
        result.extra["id"] = job.identifier
        write_submission_files(out / job.identifier, result, job.identifier, junit)
        graded[job.identifier] = result

    bar = _Progress(len(all_jobs), len(all_jobs) - len(pending), enabled=progress)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(work, job): job for job in pending}
        try:
            for future in concurrent.futures.as_completed(futures):
                job = futures[future]
                try:
                    future.result()
                except SubmissionError as error:
                    problems[job.identifier] = f"invalid: {error}"
                except Exception as error:  # noqa: BLE001 -- one submission never stops the batch
                    problems[job.identifier] = f"error: {error}"
                bar.advance(failed=job.identifier in problems)
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            bar.close()
            print(f"interrupted: results so far are in {out}; run the same command again to finish", file=sys.stderr)
            raise
    bar.close()
    rows = []
    for job in all_jobs:
        results_file = out / job.identifier / "results.json"
        result = graded.get(job.identifier) or (load(results_file) if results_file.is_file() else None)
        if result is not None:
            rows.append(
                formats.gradebook_row(
                    job.identifier, result, "incomplete" if result.extra.get("incomplete") else "graded"
                )
            )
        else:
            rows.append(formats.gradebook_row(job.identifier, None, problems.get(job.identifier, "not graded")))
    gradebook, summary_file = (out / name for name in BATCH_FILES)
    write_atomically(gradebook, formats.gradebook_csv(rows))
    write_atomically(summary_file, summary(rows, time.monotonic() - started))
    for identifier, problem in problems.items():
        print(f"{identifier}: {problem}", file=sys.stderr)
    return rows


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
