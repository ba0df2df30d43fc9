"""Every limit of the grader, in one place for an instructor to change, each with the reason for its size.

Time limits were sized from the reference's own timings with a wide margin
(measured on a 2-core machine, sandboxed: the whole graded suite, public and
hidden, takes about 16 s; its slowest test 1.8 s, torch's import in the worker
included; training on digits 0.7 s and on make_moons 1.4 s). Tests that train
set their own, tighter `time_limit` (20-30 s) in `@graded`; every other call
gets `call_seconds`.

The platforms' limits (`classroom_seconds`, `gradescope_seconds`, ...) are the
defaults of the matching commands; the scripts of autograding/ pass no value
of their own, so these apply. Standard library only: the worker reads the wire's caps from here too.
"""

from __future__ import annotations

import dataclasses

KIB, MIB, GIB = 1024, 1024**2, 1024**3


@dataclasses.dataclass
class Limits:
    # -- one submission in the sandbox ---------------------------------------------------------------
    call_seconds: float = 60.0  # wall time of one call into the student's code: 30x the slowest reference test
    # Once a function (or probe) has run out of its time, its later calls get this much; and once calls
    # have used `timeouts_seconds` in all running out of time, every later call does: a submission that
    # hangs costs a few minutes of a batch's lane, not its whole time (honest code never times out).
    call_seconds_after_timeout: float = 5.0
    timeouts_seconds: float = 120.0
    submission_seconds: float = 20 * 60.0  # a whole submission, every test: 70x the reference's 16 s
    # Address space per process (PyTorch alone maps about 3.3 GB of it) and, where a memory cgroup can
    # be made (grader.engine.cgroup), memory of the whole process tree: the reference peaks at about 380 MB.
    memory_bytes: int = 4 * GIB
    processes: int = 64  # processes and threads of the worker: torch's thread pools need a few dozen
    file_bytes: int = 100 * 1000**2  # the largest file the student's code may write; the course writes none
    cpu_seconds: int = 1800  # per worker process: a backstop behind the wall-time limits
    output_bytes: int = 64 * KIB  # stdout/stderr kept for feedback; the rest is counted and dropped
    start_seconds: float = 60.0  # for the worker to start and load NumPy (under a second when idle)
    # Compute threads (BLAS, OpenMP, PyTorch) of a grading's trusted side and of its workers: the suite
    # computes on small arrays, where a second thread only spin-waits (on 2 cores it made a grading of the
    # reference 0.5 s slower, 7.3 s against 6.8 s). A batch uses more cores with more lanes (--jobs).
    threads: int = 1
    # tmpfs sizes inside the worker's namespaces: its root holds only mount points; /tmp and the
    # submission's copy take what the student's code writes, bounded so it cannot fill the disk.
    root_tmpfs_bytes: int = 64 * MIB
    tmp_tmpfs_bytes: int = 256 * MIB
    submission_tmpfs_bytes: int = 256 * MIB

    # -- the trust boundary's wire (grader.wire, grader.channel) --------------------------------------
    # The largest legitimate message is 2.1 MB (measured: every reply of the reference's whole
    # graded suite, public and hidden); these caps keep a hostile reply from exhausting the
    # trusted side's memory (parsing a message costs up to 20 times its size) with 7x room.
    wire_array_bytes: int = 12 * MIB
    wire_depth: int = 32  # nesting of lists and dicts: the course's values nest 3 deep at most
    wire_string_chars: int = 1_000_000
    message_bytes: int = 16 * MIB  # one framed message: the largest array base64-encoded, and some
    exception_message_chars: int = 2000  # of a student's exception message, kept for feedback

    # The trusted grading process of one submission (the suite, its oracles, torch): a backstop
    # behind the wire's caps. Torch maps about 3.5 GB of address space; the oracles need little more.
    trusted_memory_bytes: int = 8 * GIB

    # -- opening a submission (grader.engine.intake) -------------------------------------------------
    zip_bytes: int = 200 * MIB  # bytes really unpacked from a zip (not its declared sizes): modules are < 100 KB
    zip_entries: int = 100_000  # entries of a zip: a zipped virtual environment has some 30,000
    zip_module_files: int = 64  # files named like a course module in one zip (8 modules, 8 notebooks, copies)
    submission_file_bytes: int = 32 * MIB  # one module or notebook: a notebook with its plots is a few MB

    # -- the platforms' doors ------------------------------------------------------------------------
    classroom_seconds: float = 15 * 60.0  # a Classroom push: the workflow's step stops at 20 minutes
    gradescope_seconds: float = 480.0  # Gradescope stops everything at 600 s (its default timeout)
    gradescope_grace_seconds: float = 60.0  # for the grading process to write its result after its limit
    notebook_module_seconds: float = 600.0  # one module's suite run from a notebook check cell
    nbgrader_cell_seconds: int = 900  # nbgrader's per-cell timeout: above notebook_module_seconds
    notebook_feedback_chars: int = 4000  # of one test's feedback shown in a notebook cell


LIMITS = Limits()
