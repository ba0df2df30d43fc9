"""The repository a student receives: the stubs, the public grader, the Classroom workflow, a README.

    OUT_DIR/
      README.md                          install, `dlgrade check`, the modules and their points
      pyproject.toml                     the course's own: `pip install -e .` gives `dlgrade`
      exercises/                         the stubs, as in the course
      grader/                            the grader with the public tests only
      .github/workflows/classroom.yml    GitHub Classroom's grading workflow
      .gitignore

What never ships: the reference package, `grader/hidden/` (hidden tests and
anything beside them), caches. The whole tree is built in a temporary folder
next to OUT_DIR and moved into place at the end, so a failed release leaves
no half-written repository behind.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import tempfile
from pathlib import Path

from grader.course import MODULE_IMPORTS, MODULE_POINTS, MODULES, TOTAL_POINTS
from grader.errors import UsageError

WORKFLOW = Path("autograding") / "github-classroom" / "classroom.yml"
# Left out of the released grader: the hidden tests and whatever a build or a
# run leaves behind.
GRADER_EXCLUDED = ("hidden", "__pycache__", "*.pyc", "*.pyo", ".*")
EXERCISES_EXCLUDED = ("__pycache__", "*.pyc", "*.pyo", ".*")
GITIGNORE = "__pycache__/\n*.py[co]\n*.egg-info/\n.venv/\nbuild/\n"


def write_release(out_dir: Path, course: Path):
    """Write the student repository of the course at `course` into `out_dir` (absent or empty)."""
    out_dir, course = Path(out_dir).resolve(), Path(course)
    check_inputs(out_dir, course)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        shutil.copytree(
            course / "exercises", building / "exercises", ignore=shutil.ignore_patterns(*EXERCISES_EXCLUDED)
        )
        shutil.copytree(course / "grader", building / "grader", ignore=shutil.ignore_patterns(*GRADER_EXCLUDED))
        (building / ".github" / "workflows").mkdir(parents=True)
        shutil.copyfile(course / WORKFLOW, building / ".github" / "workflows" / "classroom.yml")
        shutil.copyfile(course / "pyproject.toml", building / "pyproject.toml")
        readme = student_readme(course / "exercises", python_requirement(course / "pyproject.toml"))
        (building / "README.md").write_text(readme, encoding="utf-8")
        (building / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        os.chmod(building, 0o755)
        if out_dir.exists():  # empty, as checked (perhaps the current folder): fill it
            for entry in building.iterdir():
                os.replace(entry, out_dir / entry.name)
            building.rmdir()
        else:
            os.replace(building, out_dir)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def check_inputs(out_dir: Path, course: Path):
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UsageError(f"{out_dir}: exists and is not an empty folder; give a new folder for the release")
    if not (course / "exercises").is_dir():
        raise UsageError(f"{course}: has no exercises/ folder; give the course repository with --course DIR")
    missing = [name for name in ("grader", "pyproject.toml", str(WORKFLOW)) if not (course / name).exists()]
    if missing:
        raise UsageError(f"{course}: has no {missing[0]}; give the course repository with --course DIR")
    stubs = [module for module in MODULES if not (course / "exercises" / f"{module}.py").is_file()]
    if stubs:
        raise UsageError(f"{course / 'exercises'}: has no {stubs[0]}.py; every module of the course needs its stub")


def module_summary(stub: Path) -> str:
    """The first line of a stub module's docstring: what the module asks, in one line."""
    docstring = ast.get_docstring(ast.parse(stub.read_text(encoding="utf-8"))) or ""
    return docstring.strip().splitlines()[0].rstrip(".") if docstring.strip() else ""


def python_requirement(pyproject: Path) -> str:
    """ "Python 3.10 or newer", from the project's `requires-python`."""
    found = re.search(r'^requires-python\s*=\s*">=\s*([0-9.]+)"', pyproject.read_text(encoding="utf-8"), re.MULTILINE)
    return f"Python {found.group(1)} or newer" if found else "Python 3"


def student_readme(exercises: Path, python: str = "Python 3") -> str:
    rows = []
    for module in MODULES:
        uses = ", ".join(f"`{name}`" for name in MODULE_IMPORTS[module]) or "-"
        rows.append(f"| `{module}` | {MODULE_POINTS[module]} | {module_summary(exercises / f'{module}.py')} | {uses} |")
    table = "\n".join(rows)
    return f"""# Deep-learning exercises

Fill in the functions of `exercises/`: every function that raises
`NotImplementedError` is yours to write. Each docstring gives the formula, the
shapes of every input and output, and a hint. `dlgrade check` grades your work
on your machine with the same public tests the course uses, and tells you what
to fix.

## Install (once)

With {python}:

```
python -m venv .venv
source .venv/bin/activate            # on Windows: .venv\\Scripts\\activate
pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu
pip install -e .
```

The first `pip install` gets the CPU-only PyTorch wheels (much smaller than the
default ones; no exercise needs a GPU). Skip it if PyTorch is installed already.

## Check your work

From the repository's top folder:

```
dlgrade check                  # every module
dlgrade check activations      # one module (or several: dlgrade check forward backprop)
```

`dlgrade check` prints a table of points per module, then the feedback of
every failed test: what was called, what was expected, what came back and a
hint. A function you have not written yet shows as "not attempted yet".

## The modules

| module | points | what it asks | uses |
|---|---:|---|---|
{table}

Total: {TOTAL_POINTS} points. Work through the modules in this order: a module
uses the ones named in its last column, so a mistake there can cost points in
both.

## How points work

- Every graded test checks one function and is worth a few points. A test that
  passes earns its points; a failure, a crash or a time-out earns 0. There is no
  partial credit inside a test.
- Your code runs in a separate, limited process: a function that loops forever
  or crashes costs that test only.
- **Hidden tests exist.** When your work is graded, the instructor also runs
  hidden tests: the same checks on fresh inputs drawn at random at grading time.
  They are worth 0 points themselves, but when one fails, the public points of
  that function are withdrawn. Code that only works for the published inputs
  (a table of expected answers, say) earns nothing; correct code loses nothing.
  So your grade is at most what `dlgrade check` shows.
- With GitHub Classroom, every push runs the public tests (the workflow in
  `.github/workflows/classroom.yml`) and shows that score. Your grade is the
  instructor's own run over your `exercises/` folder, so changing `grader/` or
  the workflow changes nothing but what you see.
"""
