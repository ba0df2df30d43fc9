"""The sandboxed worker process: confine itself, then serve the trusted side's requests.

A worker is forked by the worker template (`grader.worker.template`), which
runs from a private copy of the worker library (this package and the modules
it imports, never the suite or the hidden tests) and has imported NumPy (and
PyTorch, where the graded modules use it) once for all its workers. `run`
confines the fresh fork (`grader.worker.confinement`), then loads the
dispatcher and answers framed requests on its request pipe until the trusted
side closes it. No student code runs before the confinement.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

# Before the confinement: inside the new root only the Python installation's own prefixes are
# bound, and NumPy may live elsewhere (a site-packages named by a .pth file); loading it first
# also keeps the first call's timing honest.
import numpy  # noqa: F401

from grader.channel import Channel
from grader.errors import IsolationRefused
from grader.worker.confinement import confine


def _move_packages(old_library: str, new_library: str):
    """Point the grader packages imported so far at the library's path inside the new root (after a chroot)."""
    for name, module in list(sys.modules.items()):
        if (name == "grader" or name.startswith("grader.")) and hasattr(module, "__path__"):
            module.__path__[:] = [entry.replace(old_library, new_library, 1) for entry in module.__path__]
    importlib.invalidate_caches()


def run(config: dict):
    """Be the worker `config` describes (`grader.engine.sandbox.Sandboxed` writes it); return when it is done."""
    channel = Channel(config["request_fd"], config["reply_fd"])
    try:
        isolation, paths = confine(config, lambda pid, uid: channel.send({"pid": pid, "uid": uid}))
    except IsolationRefused as refused:
        channel.send({"refused": str(refused)})
        return
    sys.path[:] = [paths["library"]] + [entry for entry in sys.path[1:] if entry]
    _move_packages(config["library"], paths["library"])
    os.environ["HOME"] = paths["home"]
    os.environ["TMPDIR"] = paths["home"]
    from grader.worker.dispatcher import Dispatcher

    dispatcher = Dispatcher(Path(paths["submission"]))
    channel.send({"hello": {"isolation": isolation}})
    while True:
        frame = channel.receive()
        if frame is None:
            return
        ident, request = frame
        channel.send(dispatcher.handle(request), ident)
