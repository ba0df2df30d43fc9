"""Opening a submission, once: finding its modules, unpacking a zip, exporting notebooks.

A submission is a folder holding the course modules (`activations.py`, ...),
a folder holding `exercises/` with them (a cloned student repository), a
folder of the module notebooks (`activations.ipynb`, ..., an nbgrader
submission), or a `.zip` of any of these. The modules may lie a few folders
down (`hw1/`, GitHub's archive `repo-main/exercises/`, a zipped folder
unpacked), and a folder whose only content is a `.zip` is that zip (what
Gradescope keeps of a zip uploaded as a file). `find_modules` decides which
folder is graded; `opened(path)` turns any of them into an `Opened`
submission: one folder of .py modules, ready to grade.

Only the eight module files (or notebooks' code cells) are ever used; anything
else a submission ships (a `conftest.py`, a `numpy.py`, a `sitecustomize.py`)
stays behind and is never put on a path. `private_copy` makes the package
that the worker (or the in-process backend) imports.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from grader.course import MODULES, module_files
from grader.engine import notebooks
from grader.errors import SubmissionError
from grader.limits import LIMITS

# How far below the submission's folder its modules are looked for: GitHub's archive of a student
# repository puts them at repo-main/exercises/, a zipped folder unpacked one level more.
SEARCH_DEPTH = 4
SEARCH_FOLDERS = 2000  # folders looked into at most: a submission that ships a virtual environment has thousands
# Never looked into: tools' folders and caches (folders whose name starts with "." are skipped too).
SKIPPED_FOLDERS = frozenset({"__MACOSX", "__pycache__", "node_modules", "site-packages", "venv", "env"})


def _folders(path: Path, depth: int = SEARCH_DEPTH):
    """The folders at and below `path` (breadth first, `depth` levels), never through a link, with their depth."""
    level, seen = [path], 0
    for current_depth in range(depth + 1):
        following = []
        for folder in level:
            seen += 1
            if seen > SEARCH_FOLDERS:
                return
            yield folder, current_depth
            try:
                entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
            except OSError:
                continue
            following += [
                Path(entry.path)
                for entry in entries
                if entry.is_dir(follow_symlinks=False)
                and not entry.name.startswith(".")
                and entry.name not in SKIPPED_FOLDERS
            ]
        level = following


def find_modules(path: str | Path) -> tuple[Path, str]:
    """The folder of the submission at `path` that holds its modules, and their suffix (".py" or ".ipynb").

    The shallowest folder wins; an `exercises/` counts as deep as the folder
    holding it (a student repository is graded by its exercises/, never by
    its copy of the grader), after that folder's own .py modules and before
    its notebooks. Two folders that rank the same are refused: which one the
    student meant cannot be known.
    """
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or folder; give the folder that holds your modules")
    if not path.is_dir():
        raise SubmissionError(f"{path}: not a folder; give the folder that holds your modules")
    candidates = []
    for folder, depth in _folders(path):
        in_exercises = depth > 0 and folder.name == "exercises"
        for suffix in (".py", ".ipynb"):
            if module_files(folder, suffix):
                candidates.append(((depth - in_exercises, suffix == ".ipynb", in_exercises), folder, suffix))
    if not candidates:
        raise SubmissionError(
            f"{path}: none of the course modules ({', '.join(m + '.py' for m in MODULES)}) is in it "
            "or in its exercises/ folder"
        )
    candidates.sort(key=lambda candidate: candidate[0])
    best = [candidate for candidate in candidates if candidate[0] == candidates[0][0]]
    if len(best) > 1:
        names = ", ".join(f"{folder.relative_to(path).as_posix()}/" for _, folder, _ in best[:4])
        raise SubmissionError(
            f"{path}: holds course modules in several folders ({names}); submit one copy of your modules"
        )
    return best[0][1], best[0][2]


def locate(path: str | Path) -> Path:
    """The folder holding the .py modules of the submission at `path` (itself, its exercises/, or below)."""
    folder, suffix = find_modules(path)
    if suffix != ".py":
        raise SubmissionError(
            f"{path}: none of the course modules ({', '.join(m + '.py' for m in MODULES)}) is in it "
            "or in its exercises/ folder"
        )
    return folder


def lone_zip(path: Path) -> Path | None:
    """The one .zip a folder holds when it holds nothing else (hidden files aside), else None."""
    if not path.is_dir() or path.is_symlink():
        return None
    entries = [entry for entry in path.iterdir() if not entry.name.startswith(".") and entry.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].suffix.lower() == ".zip" and not entries[0].is_symlink():
        return entries[0] if entries[0].is_file() else None
    return None


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


@dataclasses.dataclass
class Opened:
    """A submission ready to grade: the folder of its modules, and their notebooks' exports if it had notebooks."""

    folder: Path
    notebooks: dict[str, notebooks.ExportedModule] | None = None

    def in_its_terms(self, result):
        """Feedback on notebooks names cells (`forward.ipynb, cell 7, line 3`) and the cells left out."""
        if not self.notebooks:
            return
        for test in result.tests:
            test.output = notebooks.in_notebook_terms(test.output, self.notebooks)
            exported = self.notebooks.get(test.module)
            if test.status != "passed" and exported is not None:
                test.output += "".join(f"\nnote: {note}" for note in exported.notes)


@contextlib.contextmanager
def opened(path: Path, deadline: float | None = None):
    """The submission at `path` (a folder or a .zip, of modules or notebooks), ready to grade.

    A zip is unpacked before `deadline` (time.monotonic), or refused.
    """
    path = Path(path)
    inner = lone_zip(path)
    if inner is not None:
        path = inner  # a folder whose only content is a .zip (Gradescope keeps a zip uploaded as a file)
    is_zip = path.suffix.lower() == ".zip" and not path.is_dir()
    with contextlib.ExitStack() as stack:
        root = path
        if is_zip:
            if not path.is_file():
                raise SubmissionError(f"{path}: no such file; give an existing .zip or folder")
            temporary = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dlgrade-zip-")))
            extract_zip(path, temporary, deadline)
            entries = [entry for entry in temporary.iterdir() if entry.name != "__MACOSX"]
            root = entries[0] if len(entries) == 1 and entries[0].is_dir() else temporary
        try:
            submission = stack.enter_context(_modules_of(root))
        except SubmissionError as error:
            if not is_zip:
                raise
            raise SubmissionError(f"{path}: {str(error).split(': ', 1)[-1]}") from None
        yield submission


@contextlib.contextmanager
def _modules_of(path: Path):
    """The .py modules at `path`; a folder of <module>.ipynb notebooks is exported to modules first.

    Notebooks (an nbgrader submission, say) are read as data and their code
    cells written out as modules (`grader.engine.notebooks`), so they are
    graded in the sandbox like any other submission.
    """
    folder, suffix = find_modules(path)
    if suffix == ".py":
        yield Opened(folder.resolve())  # the grading process runs elsewhere: no relative paths
        return
    with tempfile.TemporaryDirectory(prefix="dlgrade-notebooks-") as temporary:
        exported = notebooks.export_modules(folder)
        notebooks.write_package(exported, Path(temporary))
        yield Opened(Path(temporary).resolve(), exported)


MODULE_FILE_NAMES = frozenset(f"{module}{suffix}" for module in MODULES for suffix in (".py", ".ipynb"))
_BROKEN_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, RuntimeError, NotImplementedError, OSError)


def extract_zip(path: Path, destination: Path, deadline: float | None = None):
    """Extract the files of a zip named like a course module, refusing what could harm the grader.

    Only `<module>.py` and `<module>.ipynb` files are extracted, wherever they
    lie in the zip (a folder, GitHub's `repo-main/exercises/`); never absolute
    paths, `..`, links. The bytes really unpacked are counted (a zip can lie
    about its sizes) and capped, as are its entries; all of it before `deadline`
    (time.monotonic). Anything wrong is a `SubmissionError` saying what to do.
    """

    def refuse(why: str):
        raise SubmissionError(f"{path}: {why}")

    try:
        archive = zipfile.ZipFile(path)
        members = archive.infolist()
    except _BROKEN_ZIP as error:
        refuse(f"not a readable zip file ({error}); re-create it with `zip -r`")
    with archive:
        if len(members) > LIMITS.zip_entries:
            refuse(f"holds {len(members)} entries, more than {LIMITS.zip_entries}; zip only your modules")
        wanted = []
        for member in members:
            name = PurePosixPath(member.filename)
            is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
            unsafe = is_link or name.is_absolute() or ".." in name.parts or "\\" in member.filename
            if not (member.is_dir() or unsafe) and name.name in MODULE_FILE_NAMES:
                wanted.append(member)
        if len(wanted) > LIMITS.zip_module_files:
            refuse(f"holds {len(wanted)} files named like course modules; zip one copy of your modules")
        unpacked = 0
        for member in wanted:
            target = destination.joinpath(*PurePosixPath(member.filename).parts)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, open(target, "wb") as copy:
                    written = 0
                    while chunk := source.read(1 << 16):
                        written += len(chunk)
                        unpacked += len(chunk)
                        if written > LIMITS.submission_file_bytes:
                            refuse(f"{member.filename} unpacks to more than "
                                   f"{LIMITS.submission_file_bytes // 1024**2} MB")  # fmt: skip
                        if unpacked > LIMITS.zip_bytes:
                            refuse(f"unpacks to more than {LIMITS.zip_bytes // 1024**2} MB")
                        if deadline is not None and time.monotonic() > deadline:
                            refuse("took longer to unpack than the time allowed for grading it")
                        copy.write(chunk)
            except SubmissionError:
                raise
            except _BROKEN_ZIP as error:
                refuse(f"{member.filename} cannot be read ({type(error).__name__}: {error}); re-create the zip")
