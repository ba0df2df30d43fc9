"""Grade many submissions in one process, in-process: the variant tests' fast path.

    python -m tests.grade_many JOBS.json

JOBS.json is a list of {"submission": DIR, "modules": [...], "results": PATH},
each optionally with "seed" (the hidden tests' seed, which turns them on) and
"public": false (the hidden tests alone). Several of these processes may share
one JOBS.json: each grades the jobs it claims first, in order.
Each job is one pytest session over the graded suite with `--in-process`,
all in this one process, so PyTorch, SciPy and scikit-learn are imported
once rather than once per submission. It is for the project's own tests of
the suite's judgement on honest variants of the reference, not for grading
untrusted code (that is `dlgrade grade`, sandboxed).
"""

import json
import os
import sys
from pathlib import Path

import pytest

from grader.engine import runner


def claimed(jobs_file: Path, index: int) -> bool:
    """Whether this process takes job `index`: the first to create its claim file does."""
    try:
        os.close(os.open(jobs_file.with_name(f"{jobs_file.name}.{index}.claimed"), os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def main(jobs_file: str):
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    jobs_file = Path(jobs_file)
    for index, job in enumerate(json.loads(jobs_file.read_text())):
        if not claimed(jobs_file, index):
            continue
        seed = job.get("seed")
        arguments = runner.pytest_arguments(
            Path(job["submission"]),
            job["modules"],
            hidden=seed is not None,
            seed=seed,
            in_process=True,
            results=Path(job["results"]),
            terminal=False,
        )
        if not job.get("public", True):
            arguments = [argument for argument in arguments if not argument.startswith(str(runner.SUITE))]
        pytest.main(arguments)


if __name__ == "__main__":
    main(sys.argv[1])
