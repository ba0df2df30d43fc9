"""The trusted side: grading one submission, or a class of them.

- `intake`: opens a submission once (folder, repository, zip, notebooks);
- `runner`: the one path from a submission to its result (runs the suite under pytest);
- `fixtures`: the suite's pytest plugin (the `student` fixture, time limits, hidden seeds);
- `backends`, `sandbox`, `cgroup`: where the submission's code runs, and how it is confined;
- `student`: the suite's handle on a submission (plain data in, plain data out);
- `feedback`: checks that fail with feedback written for a student;
- `static`: how a function is built (loops, library calls), followed through its helpers;
- `scoring`: where a score is decided;
- `batch`: many submissions in parallel, resumable;
- `notebooks`: notebooks exported to modules.

Nothing here imports the submission (the in-process backend aside, which says
it is not isolated) or `solutions/`; expected values come from independent
oracles in the suite.
"""
