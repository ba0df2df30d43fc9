"""dlgrade: the deep-learning exercise kit's grader.

The packages follow the trust boundary (docs/architecture.md):

- `grader.worker`: the untrusted side, run beside the student's code in the sandboxed worker;
- `grader.engine`: the trusted side that grades a submission and decides its score;
- `grader.results`: the result model and its formats;
- `grader.doors`: GitHub Classroom, Gradescope, nbgrader and the student release;
- `grader.cli`: the `dlgrade` command line, on top of everything.

Shared by both sides: `course` (the course's facts), `limits` (every limit),
`errors` (every exception), `wire` (plain data on the wire), `channel` (its
framing); trusted only: `system` (process groups, atomic files). The graded
tests are `grader/suite/` (public) and `grader/hidden/`.
"""


def __getattr__(name: str):
    """`grader.__version__`: the installed distribution's version, read on first use (the worker never asks)."""
    if name != "__version__":
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("dlgrade")
    except PackageNotFoundError:
        value = "0+unknown"  # a copy of the package that was never installed
    globals()["__version__"] = value
    return value
