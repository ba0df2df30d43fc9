"""The untrusted side: code that runs beside the student's, in the sandboxed worker process.

- `main`: the worker process's main loop (confine, then serve requests);
- `confinement`: resource limits, namespaces, a user of its own;
- `dispatcher`: loads the submission and runs one request;
- `probes`: grader code run beside the student's live objects.

Everything here can be replaced by a submission written to cheat: it runs in
the same process as the student's code. So nothing here decides a verdict,
and nothing the worker reports about itself is worth a point; the trusted
side (`grader.engine`) recomputes what it scores. This package imports only
the standard library, NumPy (and, in probes, PyTorch), and the modules of
`grader` that both sides share (`course`, `limits`, `errors`, `wire`,
`channel`); the sandbox copies exactly those into the worker.
"""
