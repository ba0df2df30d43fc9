"""Notebooks as modules: the export that lets a folder of notebooks be graded like .py modules.

`export_modules` turns each <module>.ipynb into the text of <module>.py: its
code cells in order, nbgrader's test cells and markdown dropped, from cells a
student added only imports, functions and classes, `load_sibling` lines turned
back into relative imports; replaced lines keep their count, so that feedback
can name cells (`in_notebook_terms`). Notebooks are read as JSON, never
executed. Used by `grader.engine.intake` (grading submitted notebooks in the
sandbox) and by the in-notebook checks of `grader.doors.jupyter`.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import module_files
from grader.limits import LIMITS

KERNEL_MODULE = "grader.doors.jupyter"  # what a notebook imports `check` and `load_sibling` from


# ----------------------------------------------------------------------------- notebook -> module


@dataclass
class ExportedModule:
    """One notebook as a module: its text, and where each of its lines came from."""

    text: str
    origins: list[tuple[int, int] | None] = field(default_factory=list)  # line -> (cell number, line in cell)
    notes: list[str] = field(default_factory=list)  # cells left out, for the student


def is_test_cell(cell) -> bool:
    """An nbgrader autograder test cell (graded, not a solution): never part of the module."""
    metadata = cell.get("metadata", {}).get("nbgrader", {})
    return bool(metadata.get("grade")) and not metadata.get("solution")


def is_course_cell(cell) -> bool:
    """A cell the course wrote (solution, setup or provided code), exported whole.

    Cells a student adds carry no nbgrader metadata: of those only imports,
    functions and classes are exported, so experiments (prints, plots, a
    training run) do not run when the grader imports the module.
    """
    metadata = cell.get("metadata", {}).get("nbgrader", {})
    return bool(metadata.get("solution") or metadata.get("locked"))


def python_source(source: str) -> str:
    """A cell's text as Python: IPython syntax (%magic, !shell) in the form IPython runs it."""
    try:
        ast.parse(source)
        return source
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 -- left as is, reported as not valid Python
        return source


def sibling_import(statement: ast.stmt) -> str | None:
    """`a, c = load_sibling("m", "a", "b")` as `from .m import a, b as c`; None for other statements."""
    if not (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.value, ast.Call)
        and not statement.value.keywords
    ):
        return None
    function = statement.value.func
    name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
    arguments = statement.value.args
    if (
        name != "load_sibling"
        or not arguments
        or not all(isinstance(argument, ast.Constant) and isinstance(argument.value, str) for argument in arguments)
    ):
        return None
    module, *names = (argument.value for argument in arguments)
    target = statement.targets[0]
    targets = [target] if isinstance(target, ast.Name) or not names else getattr(target, "elts", None)
    if not module.isidentifier() or targets is None or not all(isinstance(t, ast.Name) for t in targets):
        return None
    if not names:
        return f"from . import {module} as {targets[0].id}" if len(targets) == 1 else None
    if len(targets) != len(names):
        return None
    aliases = [name if name == t.id else f"{name} as {t.id}" for name, t in zip(names, targets, strict=True)]
    return f"from .{module} import {', '.join(aliases)}"


DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def is_grader_statement(statement: ast.stmt) -> bool:
    """`from grader.doors.jupyter import ...`, a `check(...)` call, or IPython magic: not module code."""
    if isinstance(statement, ast.ImportFrom) and statement.module == KERNEL_MODULE:
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        function = statement.value.func
        if isinstance(function, ast.Name) and function.id == "check":
            return True
    # %magic and !shell lines, as IPython rewrites them (a function that calls get_ipython() stays)
    return not isinstance(statement, DEFINITIONS) and any(
        isinstance(node, ast.Name) and node.id == "get_ipython" for node in ast.walk(statement)
    )


def export_cell(source: str, whole: bool) -> tuple[list[str], str | None]:
    """A code cell's lines for the module and a note when the cell is left out.

    Replaced statements keep their line count, so a line of the module maps
    to a line of the cell (the feedback names cells, not module lines).
    """
    source = python_source(source)
    lines = source.split("\n")
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:  # also a null byte, absurd nesting
        commented = [f"# {line}" if line.strip() else line for line in lines]
        why = (
            f"SyntaxError at its line {error.lineno}: {error.msg}"
            if isinstance(error, SyntaxError)
            else type(error).__name__
        )
        return commented, f"is not valid Python ({why}), so it was left out"
    for statement in reversed(tree.body):  # from the end, so the positions of earlier statements hold
        replacement = sibling_import(statement)
        if replacement is None and (
            is_grader_statement(statement) or not (whole or isinstance(statement, DEFINITIONS))
        ):
            replacement = ""
        if replacement is None:
            continue
        first, last = statement.lineno, statement.end_lineno
        start, end = statement.col_offset, statement.end_col_offset
        prefix, suffix = lines[first - 1][:start], lines[last - 1][end:]
        if not replacement and (prefix.strip() or suffix.strip()):
            replacement = "pass"  # `import numpy; print(x)` -> `import numpy; pass`
        lines[first - 1 : last] = [prefix + replacement + suffix] + [""] * (last - first)
    return lines, None


def export_notebook(notebook, name: str) -> ExportedModule:
    """The module `name` made of the code cells of `notebook` (nbformat 4, as plain data or a NotebookNode)."""
    exported = ExportedModule(text="", origins=[None, None])
    output = [f"# {name}.py: the code cells of {name}.ipynb, in order (exported by dlgrade)", ""]
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "code" or is_test_cell(cell):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if not source.strip():
            continue
        lines, note = export_cell(source, whole=is_course_cell(cell))
        if note:
            exported.notes.append(f"{name}.ipynb, cell {number} {note}")
        output.append(f"# [cell {number}]")
        exported.origins.append(None)
        output += lines
        exported.origins += [(number, index) for index in range(1, len(lines) + 1)]
        output.append("")
        exported.origins.append(None)
    exported.text = "\n".join(output) + "\n"
    return exported


def read_notebook(path: Path) -> dict | None:
    """The notebook at `path` as plain data, or None when it is missing, too large or not a well-formed
    nbformat 4 notebook (cells, their sources and metadata of the types nbformat gives them).

    Read as JSON, not with nbformat: `dlgrade grade` reads submitted notebooks
    on the trusted side, where nbformat (an optional extra) may be missing, and
    Jupyter and nbgrader have written nbformat 4 for a decade. Its size is
    checked before it is read, and every field the export uses before it is used.
    """
    try:
        if Path(path).stat().st_size > LIMITS.submission_file_bytes:
            return None
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return None
    if not (isinstance(notebook, dict) and notebook.get("nbformat") == 4 and isinstance(notebook.get("cells"), list)):
        return None
    return notebook if all(_well_formed(cell) for cell in notebook["cells"]) else None


def _well_formed(cell) -> bool:
    if not (isinstance(cell, dict) and isinstance(cell.get("cell_type", ""), str)):
        return False
    source, metadata = cell.get("source", ""), cell.get("metadata", {})
    if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(line, str) for line in source))):
        return False
    return isinstance(metadata, dict) and isinstance(metadata.get("nbgrader", {}), dict)


def export_modules(folder: Path) -> dict[str, ExportedModule]:
    """Every course module whose notebook is in `folder`, exported; unreadable notebooks as notes."""
    modules = {}
    for name, path in module_files(folder, ".ipynb").items():  # never a link: it could reach the reference
        notebook = read_notebook(path)
        if notebook is None:
            modules[name] = ExportedModule(
                text=f"raise ImportError('{name}.ipynb is not a readable notebook')\n",
                notes=[
                    f"{name}.ipynb could not be read as a notebook (not nbformat 4 JSON of the usual shape, "
                    f"or larger than {LIMITS.submission_file_bytes // 1024**2} MB); open and save it in Jupyter"
                ],
            )
            continue
        modules[name] = export_notebook(notebook, name)
    return modules


def write_package(modules: dict[str, ExportedModule], destination: Path) -> list[str]:
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "__init__.py").write_text("")
    for name, module in modules.items():
        (destination / f"{name}.py").write_text(module.text, encoding="utf-8")
    return list(modules)


def in_notebook_terms(text: str, modules: dict[str, ExportedModule]) -> str:
    """`forward.py, line 57` in feedback as `forward.ipynb, cell 7, line 3`."""

    def replace(match):
        name, quote, line = match.group(1), match.group(2), int(match.group(3))
        origins = modules[name].origins if name in modules else []
        origin = origins[line - 1] if 0 < line <= len(origins) else None
        if origin is None:
            return match.group(0)
        return f"{name}.ipynb{quote}, cell {origin[0]}, line {origin[1]}"

    return re.sub(r"\b(\w+)\.py(\"?), line (\d+)", replace, text)
