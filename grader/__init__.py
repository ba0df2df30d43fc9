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
