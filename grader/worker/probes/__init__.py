"""Probes: grader code that runs beside the student's live objects.

A test that needs a model, a data loader or an optimizer cannot hold the
student's object (it lives on the untrusted side of the boundary). It asks for
a probe instead:

    shape = student.probe(probes.cnn.logits_shape, image_size=8)

`student.probe(function, **kwargs)` runs `function(submission, **kwargs)`
where the submission is loaded (in the sandboxed worker, or in-process) and
sends back its return value, which must be plain data (numbers, strings,
lists, dicts, tuples, NumPy arrays). `submission.cnn` is the student's
`cnn` module. Probes hold no verdicts: they compute and report; the test
on the trusted side compares with its oracle and decides. Labels and expected
values stay on the trusted side: pass a probe the inputs only.

Probe modules are named after the course module they serve and import only
what that module's checks need (no torch in a NumPy module's probes).
"""
