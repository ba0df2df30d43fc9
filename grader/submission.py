"""Finding a submission's modules and making the private copy that gets graded.

A submission is a folder holding the course modules (`activations.py`, ...),
or a folder holding `exercises/` with them (a cloned student repository);
`dlgrade grade` also takes a folder of module notebooks (see grader.runner).
Only the eight module files are ever copied; anything else a submission ships
(a `conftest.py`, a `numpy.py`, a `sitecustomize.py`) stays behind and is never
put on a path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.course import MODULES


class SubmissionError(ValueError):
    """A path that cannot be graded; the message says why and what to do."""


def module_files(folder: Path, suffix: str = ".py") -> dict[str, Path]:
    """The course modules present in `folder` as regular files, by module name.

    A symbolic link is not a module: it could point anywhere the grader can
    read (the reference solution, say). `suffix=".ipynb"` finds notebooks.
    """
    files = {}
    for name in MODULES:
        path = Path(folder) / f"{name}{suffix}"
        if not path.is_symlink() and path.is_file():
            files[name] = path
    return files


def locate(path: str | Path) -> Path:
    """The folder holding the modules of the submission at `path`."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or folder; give the folder that holds your modules")
    if not path.is_dir():
        raise SubmissionError(f"{path}: not a folder; give the folder that holds your modules")
    for candidate in (path, path / "exercises"):
        if candidate != path and candidate.is_symlink():
            continue  # a student repository's exercises/ must be its own folder, not a link elsewhere
        if module_files(candidate):
            return candidate
    raise SubmissionError(
        f"{path}: none of the course modules ({', '.join(m + '.py' for m in MODULES)}) is in it "
        "or in its exercises/ folder")


def private_copy(source: Path, destination: Path) -> list[str]:
    """Copy the course modules of `source` into `destination` as a package.

    The package's `__init__.py` is written empty: the submission's own one is
    not run. Returns the names of the modules copied.
    """
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "__init__.py").write_text("")
    files = module_files(source)
    for name, file in files.items():
        shutil.copyfile(file, destination / f"{name}.py", follow_symlinks=False)
    return sorted(files, key=MODULES.index)
