"""The limits a submission is graded under, in one place for an instructor to change.

Sized from the reference's own timings with a wide margin (measured on a
2-core machine, sandboxed: the whole graded suite, public and hidden, takes
about 16 s; its slowest test 1.8 s, torch's import in the worker included;
training on digits 0.7 s and on make_moons 1.4 s). Tests that train set their
own, tighter `time_limit` (20-30 s) in `@graded`; every other call gets
`call_seconds`.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Limits:
    call_seconds: float = 60.0  # wall time of one call into the student's code (30x the slowest reference test)
    submission_seconds: float = 20 * 60.0  # wall time of a whole submission, every test included
    # Address space per process (PyTorch alone maps about 3.3 GB of it) and, where a memory cgroup can
    # be made (grader.cgroup), memory of the whole process tree: the reference peaks at about 380 MB.
    memory_bytes: int = 4 * 1024**3
    processes: int = 64  # processes and threads of the worker
    file_bytes: int = 100 * 1000**2  # the largest file the student's code may write
    cpu_seconds: int = 1800  # per worker process: a backstop behind the wall-time limits
    output_bytes: int = 64 * 1024  # stdout/stderr kept for feedback; the rest is counted and dropped
    start_seconds: float = 60.0  # for the worker to start and load NumPy
    threads: int = 2  # BLAS/OpenMP threads in the worker


LIMITS = Limits()
