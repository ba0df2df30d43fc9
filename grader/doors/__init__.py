"""The ways into a course: each platform's door onto the one grading path (`grader.engine.runner`).

- `release`: the student repository (no solutions, no hidden tests);
- `classroom`: GitHub Classroom's grading step;
- `gradescope`: the autograder bundle and what its `run_autograder` runs;
- `nbgrader_course`: the exercises as an nbgrader course;
- `jupyter`: the checks a notebook runs in its kernel (`from grader.doors.jupyter import check`).
"""
