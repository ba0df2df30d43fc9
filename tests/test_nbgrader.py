"""The nbgrader course: the real nbgrader grades the notebooks as `dlgrade grade` grades their code.

Needs the `nbgrader` extra (`pip install -e '.[nbgrader]'`); without it every
test here fails, never skips. The end-to-end test generates the course,
releases it with `nbgrader generate_assignment`, autogrades three students
(complete, untouched stubs, half done) with `nbgrader autograde`, exports the
gradebook and compares every notebook's points with `dlgrade grade` of the
same submitted notebook folders (sandboxed), hidden tests included with the
course's seed.
"""

from __future__ import annotations

import ast
import concurrent.futures
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from grader.course import MODULE_IMPORTS, MODULE_POINTS, MODULES
from grader.doors import jupyter, nbgrader_course
from grader.engine import notebooks, runner
from grader.limits import LIMITS
from tests.helpers import ROOT, SOLUTIONS

try:
    import nbformat
    from nbgrader.api import Gradebook
except ImportError as error:  # reported by the fixture below: these tests must fail, not skip
    MISSING = f"{error}"
else:
    MISSING = ""

ASSIGNMENT = nbgrader_course.ASSIGNMENT
SEED = 20261125  # any fixed seed: the hidden inputs are then the same on every run
GRADED = [module for module in MODULES if (runner.SUITE / f"test_{module}.py").is_file()]
# Which modules each student completes (solution cells filled from the source notebooks).
STUDENTS = {"full": MODULES, "empty": (), "half": ("activations", "conv_size", "softmax_loss")}
NBGRADER_TIME_LIMIT = 900  # seconds for one nbgrader command


@pytest.fixture(scope="module", autouse=True)
def nbgrader_installed():
    if MISSING:
        pytest.fail(
            f"nbgrader is not installed ({MISSING}); install the extra: pip install -e '.[nbgrader]'", pytrace=False
        )


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return nbgrader_course_copy(tmp_path_factory.mktemp("course"))


def nbgrader_course_copy(folder: Path) -> Path:
    nbgrader_course.write_course(folder, ROOT, seed=SEED)
    return folder


def nbgrader_environment() -> dict:
    """This interpreter's environment without the grader's own variables (the course config sets them)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DLGRADE_")}
    # nbgrader's kernels are `python3`; jupyter_client runs a kernelspec's "python" as this interpreter.
    environment["PATH"] = str(Path(sys.executable).parent) + os.pathsep + environment.get("PATH", "")
    return environment


def run_nbgrader(course: Path, *arguments: str) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        [sys.executable, "-m", "nbgrader", *arguments],
        cwd=course,
        env=nbgrader_environment(),
        capture_output=True,
        text=True,
        timeout=NBGRADER_TIME_LIMIT,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, f"nbgrader {' '.join(arguments)} failed:\n{completed.stderr[-4000:]}"
    return completed


def cells(path: Path, role=None):
    """The cells of the notebook at `path`, or those whose nbgrader metadata has `role` true."""
    notebook_node = nbformat.read(str(path), as_version=4)
    return [cell for cell in notebook_node.cells if role is None or cell.metadata.get("nbgrader", {}).get(role)]


def solution_regions(source: str) -> list[str]:
    regions, current = [], None
    for line in source.split("\n"):
        if "### BEGIN SOLUTION" in line:
            current = []
        elif "### END SOLUTION" in line:
            regions.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return regions


def top_level(source: str) -> tuple[set[str], set[tuple]]:
    """A module's top-level definitions and its relative imports."""
    tree = ast.parse(source)
    names = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    imports = {
        (node.module, tuple((alias.name, alias.asname) for alias in node.names))
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level
    }
    return names, imports


# ----------------------------------------------------------------------------- the generated course


def test_each_module_is_a_notebook_worth_its_points(course):
    source = course / "source" / ASSIGNMENT
    assert sorted(path.name for path in source.iterdir()) == sorted(f"{module}.ipynb" for module in MODULES), (
        "source/ must hold the notebooks only: generate_assignment copies any other file into the release"
    )
    for module in MODULES:
        path = source / f"{module}.ipynb"
        nbformat.validate(nbformat.read(str(path), as_version=4))
        tests = cells(path, "grade")
        assert all(
            cell.metadata["nbgrader"]["locked"] and not cell.metadata["nbgrader"]["solution"] for cell in tests
        ), f"{module}: test cells must be locked"
        expected = MODULE_POINTS[module] if module in GRADED else 0
        assert sum(cell.metadata["nbgrader"]["points"] for cell in tests) == expected, module
        assert all(cell.metadata["nbgrader"]["points"] > 0 for cell in tests), f"{module}: a 0-point test cell"
        for cell in cells(path, "solution"):
            assert cell.source.count("### BEGIN SOLUTION") == cell.source.count("### END SOLUTION") >= 1, cell.source
            header = cell.source.split("### BEGIN SOLUTION")[0]
            assert '"""' in header, f"{module}: the docstring must stay outside the solution region"
        setup = [cell for cell in cells(path) if cell.get("id") == nbgrader_course.SETUP_ID]
        if any(
            isinstance(node, (ast.Import, ast.ImportFrom))
            for node in ast.parse((SOLUTIONS / f"{module}.py").read_text()).body
        ):
            assert setup and setup[0].metadata["nbgrader"]["locked"], f"{module}: no locked setup cell"


def test_notebooks_export_back_to_the_solution_modules(course, tmp_path):
    modules = notebooks.write_package(notebooks.export_modules(course / "source" / ASSIGNMENT), tmp_path / "package")
    assert modules == list(MODULES)
    for module in MODULES:
        exported = top_level((tmp_path / "package" / f"{module}.py").read_text())
        assert exported == top_level((SOLUTIONS / f"{module}.py").read_text()), module
        assert {imported for imported, _ in exported[1]} == set(MODULE_IMPORTS[module]), module


def test_dlgrade_grade_takes_a_folder_or_zip_of_notebooks_and_grades_it_sandboxed(course, tmp_path):
    source = course / "source" / ASSIGNMENT
    folder = tmp_path / "alice" / ASSIGNMENT
    folder.mkdir(parents=True)
    shutil.copy(source / "activations.ipynb", folder)
    broken = json.loads((source / "conv_size.ipynb").read_text())
    number, cell = next(
        (number, cell)
        for number, cell in enumerate(broken["cells"], start=1)
        if cell["metadata"].get("nbgrader", {}).get("solution")
    )
    cell["source"] = "raise RuntimeError('broken on purpose')\n" + "".join(cell["source"])
    broken["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "source": "def scratch(:\n    pass",
            "outputs": [],
            "execution_count": None,
        }
    )  # a student's own cell, not valid Python
    (folder / "conv_size.ipynb").write_text(json.dumps(broken))
    (folder / "forward.ipynb").symlink_to(source / "forward.ipynb")  # a link could reach the instructor's files
    (folder / "backprop.ipynb").write_text("{not json")
    graded = ["activations", "conv_size", "forward", "backprop"]
    result = runner.grade(folder, modules=graded)
    assert not result.extra["isolation"].startswith("none")
    points = {module: MODULE_POINTS[module] for module in graded}
    assert result.module_scores() == {
        **{module: (0.0, points[module]) for module in graded},
        "activations": (points["activations"],) * 2,
    }
    feedback = {module: [test.output for test in result.tests if test.module == module] for module in graded}
    assert "backprop.ipynb is not a readable notebook" in feedback["backprop"][0], feedback["backprop"][0]
    # In the notebook's terms: cells, not lines of an exported module, and the cells left out.
    assert f"conv_size.ipynb, cell {number}, line 1" in feedback["conv_size"][0], feedback["conv_size"][0]
    for output in feedback["conv_size"]:
        assert f"note: conv_size.ipynb, cell {len(broken['cells'])} is not valid Python" in output, output

    archive = tmp_path / "alice.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(source / "conv_size.ipynb", f"{ASSIGNMENT}/conv_size.ipynb")
    assert runner.grade(archive, modules=["conv_size"]).score == MODULE_POINTS["conv_size"]


def test_config_protects_submissions_and_hidden_tests(course, tmp_path, monkeypatch):
    code = (
        "import json, sys; from traitlets.config.loader import PyFileConfigLoader; "
        "c = PyFileConfigLoader('nbgrader_config.py', path=sys.argv[1]).load_config(); "
        "import os; print(json.dumps({'exclude': c.Autograde.exclude_overwriting, "
        "'ignore': c.CourseDirectory.ignore, 'hook': c.Autograde.pre_convert_hook, "
        "'seed': os.environ.get('DLGRADE_HIDDEN_SEED'), 'timeout': c.Execute.timeout, "
        "'course_id': c.CourseDirectory.course_id, "
        "'feedback': [p.__name__ for p in c.GenerateFeedback.preprocessors]}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, str(course)],
        env=nbgrader_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    config = json.loads(completed.stdout)
    assert set(config["exclude"][ASSIGNMENT]) == {f"{module}.py" for module in MODULES}
    assert "*.py" in config["ignore"]
    assert config["hook"] == "grader.doors.jupyter.share_submission_folder"
    assert config["seed"] == str(SEED) and config["timeout"] >= LIMITS.notebook_module_seconds
    assert "ClearHiddenTests" in config["feedback"]
    assert config["course_id"] == nbgrader_course.default_course_id(course) and config["course_id"]
    # Regenerating the course keeps its seed (the suite's collection is left out: not what is tested here).
    shutil.copyfile(course / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    monkeypatch.setattr(
        nbgrader_course,
        "collect_exercises",
        lambda solutions, modules: {module: nbgrader_course.ModulePlan() for module in modules},
    )
    nbgrader_course.write_course(tmp_path, ROOT)
    assert nbgrader_course.existing_seed(tmp_path / "nbgrader_config.py") == SEED
    assert nbgrader_course.existing_course_id(tmp_path / "nbgrader_config.py") == config["course_id"]


# ----------------------------------------------------------------------------- notebook -> module


def code_cell(source: str, **nbgrader_metadata):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader_metadata:
        cell.metadata["nbgrader"] = nbgrader_metadata
    return cell


def test_export_keeps_module_code_and_drops_the_rest():
    node = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# forward"),
            code_cell(
                "import numpy as np\nfrom grader.doors.jupyter import load_sibling\n\n"
                'sig, softmax = load_sibling("activations", "sigmoid", "softmax")',
                locked=True,
            ),
            code_cell('def dense(X, W, b):\n    return X @ W + b\n\ncheck("forward", "dense")', solution=True),
            code_cell('from grader.doors.jupyter import check\ncheck("forward", "dense")', grade=True, locked=True),
            code_cell(
                "%matplotlib inline\nimport math\nprint(dense(1, 2, 3))\nmodel = train_for_an_hour()\n\n"
                "def helper():\n    return math.pi"
            ),
            code_cell("def broken(:\n    pass", solution=True),
        ]
    )
    exported = notebooks.export_notebook(node, "forward")
    namespace = {}
    code = exported.text.replace("from .activations import sigmoid as sig, softmax", "sig = softmax = None")
    assert "from .activations import sigmoid as sig, softmax" in exported.text
    exec(compile(code, "forward.py", "exec"), namespace)  # no check call, magic, print or training runs
    assert {"dense", "helper", "np", "math"} <= set(namespace) and "model" not in namespace
    assert "grader.doors.jupyter" not in exported.text and "def broken" in exported.text
    (note,) = exported.notes
    assert note.startswith("forward.ipynb, cell 6 is not valid Python (SyntaxError at its line 1") and note.endswith(
        "so it was left out"
    ), note
    # Line numbers in feedback point into the notebook's cells.
    line = exported.text.split("\n").index("    return X @ W + b") + 1
    text = notebooks.in_notebook_terms(f"dense raised (forward.py, line {line})", {"forward": exported})
    assert text == "dense raised (forward.ipynb, cell 3, line 2)"


def test_check_grades_the_saved_notebooks_once_and_quietly(course, tmp_path, monkeypatch, capsys):
    shutil.copyfile(course / "source" / ASSIGNMENT / "activations.ipynb", tmp_path / "activations.ipynb")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(jupyter.SEED_VARIABLE, raising=False)
    monkeypatch.delenv(jupyter.FOLDER_VARIABLE, raising=False)
    runs = []
    grade = runner.grade
    monkeypatch.setattr(
        runner, "grade", lambda *arguments, **options: runs.append(options) or grade(*arguments, **options)
    )
    monkeypatch.setattr(jupyter, "_state", jupyter._Exports())
    jupyter.check("activations", "softmax")
    jupyter.check("activations", "sigmoid")
    assert len(runs) == 1 and not runs[0]["hidden"] and runs[0]["in_process"]
    output = capsys.readouterr()
    assert output.out == "softmax: 3 checks passed (3 points)\nsigmoid: 2 checks passed (2 points)\n"
    assert output.err == ""
    with pytest.raises(AssertionError, match="no forward.ipynb"):
        jupyter.check("forward", "dense")
    # A notebook whose sibling is missing fails its checks (its module cannot import), without crashing.
    (tmp_path / "activations.ipynb").unlink()
    shutil.copyfile(course / "source" / ASSIGNMENT / "forward.ipynb", tmp_path / "forward.ipynb")
    with pytest.raises(AssertionError, match="does not import: ModuleNotFoundError .*No module named 'activations'"):
        jupyter.check("forward", "dense")
    assert capsys.readouterr().err == ""


def test_a_kernel_removes_the_exports_that_ended_kernels_left(course, tmp_path, monkeypatch):
    # nbgrader ends its kernels at once (SIGKILL): each left the student's exported code in /tmp.
    ended = subprocess.Popen([sys.executable, "-c", ""])
    ended.wait()
    stale = tmp_path / f"{jupyter.EXPORTS_PREFIX}{ended.pid}-k3x9"
    stale.mkdir()
    (stale / "activations.py").write_text("")
    running = tmp_path / f"{jupyter.EXPORTS_PREFIX}1-k3x9"  # a kernel alive (PID 1 always is)
    running.mkdir()
    intake = tmp_path / f"{jupyter.EXPORTS_PREFIX}k3x9"  # dlgrade grade's own, named without a PID
    intake.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    shutil.copyfile(course / "source" / ASSIGNMENT / "activations.ipynb", tmp_path / "activations.ipynb")
    _, destination, _ = jupyter._Exports().package(tmp_path)
    assert destination.parent.name.startswith(f"{jupyter.EXPORTS_PREFIX}{os.getpid()}-")
    assert not stale.exists() and running.is_dir() and intake.is_dir()


# ----------------------------------------------------------------------------- nbgrader end to end


def make_submissions(course: Path):
    """submitted/<student>/<assignment>/: release notebooks with some modules' solution cells filled in."""
    release, source = course / "release" / ASSIGNMENT, course / "source" / ASSIGNMENT
    for student, completed_modules in STUDENTS.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for module in MODULES:
            node = nbformat.read(str(release / f"{module}.ipynb"), as_version=4)
            if module in completed_modules:
                answers = {
                    cell.metadata["nbgrader"]["grade_id"]: cell.source
                    for cell in cells(source / f"{module}.ipynb", "solution")
                }
                for cell in node.cells:
                    if cell.metadata.get("nbgrader", {}).get("solution"):
                        cell.source = "\n".join(
                            line
                            for line in answers[cell.metadata["nbgrader"]["grade_id"]].split("\n")
                            if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
                        )
            nbformat.write(node, str(folder / f"{module}.ipynb"))


def dlgrade_scores(course: Path, student: str) -> dict[str, tuple[float, float]]:
    """`dlgrade grade` of the student's submitted notebook folder, in the sandbox."""
    result = runner.grade(course / "submitted" / student / ASSIGNMENT, modules=GRADED, hidden=True, seed=SEED)
    assert not result.extra["isolation"].startswith("none")
    return result.module_scores()


def nbgrader_scores(course: Path, student: str) -> dict[str, tuple[float, float]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            module: (
                gradebook.find_submission_notebook(module, ASSIGNMENT, student).score,
                gradebook.find_submission_notebook(module, ASSIGNMENT, student).max_score,
            )
            for module in MODULES
        }


@pytest.mark.slow
def test_nbgrader_autograde_scores_what_dlgrade_scores(course, tmp_path):
    course = Path(shutil.copytree(course, tmp_path / "course"))
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")

    release = course / "release" / ASSIGNMENT
    assert sorted(path.suffix for path in release.iterdir()) == [".ipynb"] * len(MODULES)
    for module in MODULES:
        text = (release / f"{module}.ipynb").read_text()
        for leak in ("BEGIN HIDDEN TESTS", "hidden=True", str(SEED), "### BEGIN SOLUTION"):
            assert leak not in text, f"release/{module}.ipynb shows {leak!r}"
        released = {
            cell.metadata["nbgrader"]["grade_id"]: cell.source
            for cell in cells(release / f"{module}.ipynb")
            if "nbgrader" in cell.metadata
        }
        for cell in cells(course / "source" / ASSIGNMENT / f"{module}.ipynb", "solution"):
            stub = released[cell.metadata["nbgrader"]["grade_id"]]
            assert stub.startswith(cell.source.split("### BEGIN SOLUTION")[0]), "the signature and docstring stay"
            assert all(region not in stub for region in solution_regions(cell.source)), "a solution is released"

    # Published to the exchange, as the instructor does on a JupyterHub, and fetched by a student.
    exchange = tmp_path / "exchange"
    run_nbgrader(course, "release_assignment", ASSIGNMENT, f"--Exchange.root={exchange}")
    course_id = nbgrader_course.existing_course_id(course / "nbgrader_config.py")
    outbound = exchange / course_id / "outbound" / ASSIGNMENT
    assert sorted(path.name for path in outbound.iterdir()) == sorted(path.name for path in release.iterdir())
    for path in outbound.iterdir():
        assert path.read_bytes() == (release / path.name).read_bytes(), path.name
    student_home = tmp_path / "student-home"
    student_home.mkdir()
    run_nbgrader(student_home, "fetch_assignment", ASSIGNMENT, f"--course={course_id}", f"--Exchange.root={exchange}")
    assert sorted(path.name for path in (student_home / ASSIGNMENT).glob("*.ipynb")) == sorted(
        f"{module}.ipynb" for module in MODULES
    )

    make_submissions(course)
    # One course copy per student, graded in parallel (each has its own gradebook), while dlgrade grades
    # the same submitted notebook folders in its sandbox.
    copies = {}
    for student in STUDENTS:
        copies[student] = Path(
            shutil.copytree(
                course,
                tmp_path / f"course-{student}",
                ignore=shutil.ignore_patterns(*[name for name in STUDENTS if name != student]),
            )
        )
    with concurrent.futures.ThreadPoolExecutor(max_workers=2 * len(STUDENTS)) as pool:
        expected = {student: pool.submit(dlgrade_scores, course, student) for student in STUDENTS}
        graded = {student: pool.submit(run_nbgrader, copy, "autograde", ASSIGNMENT) for student, copy in copies.items()}
        for future in graded.values():
            future.result()
        expected = {student: future.result() for student, future in expected.items()}

    for student, copy in copies.items():
        got = nbgrader_scores(copy, student)
        wanted = {module: expected[student].get(module, (0.0, 0.0)) for module in MODULES}
        assert got == wanted, f"{student}: nbgrader {got} != dlgrade {wanted}"
        full = {
            module: (
                MODULE_POINTS[module] if module in STUDENTS[student] and module in GRADED else 0.0,
                MODULE_POINTS[module] if module in GRADED else 0.0,
            )
            for module in MODULES
        }
        assert got == full, f"{student}: {got}"

        run_nbgrader(copy, "export", "--to", "grades.csv")
        with open(copy / "grades.csv", newline="") as stream:
            (row,) = [row for row in csv.DictReader(stream) if row["student_id"] == student]
        assert float(row["score"]) == sum(score for score, _ in wanted.values())
        assert float(row["max_score"]) == sum(possible for _, possible in wanted.values())

    # Feedback goes back to students: no hidden test code and no seed in it.
    half = copies["half"]
    run_nbgrader(half, "generate_feedback", ASSIGNMENT)
    for page in (half / "feedback" / "half" / ASSIGNMENT).glob("*.html"):
        text = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in text and str(SEED) not in text, page.name


def test_the_student_package_from_dlgrade_release_runs_the_notebook_checks(course, tmp_path):
    """What a JupyterHub's students get: `dlgrade release`'s grader, without hidden tests or solutions."""
    from grader.doors import release

    package = tmp_path / "student-package"
    release.write_release(package, ROOT)
    assert not (package / "grader" / "hidden").exists() and not (package / "solutions").exists()
    work = tmp_path / "work"
    work.mkdir()
    notebook = course / "source" / ASSIGNMENT / "conv_size.ipynb"  # answered: its solution cells are filled in
    shutil.copyfile(notebook, work / "conv_size.ipynb")
    # The check cells as released: without their hidden tests (generate_assignment removes them).
    checks = [cell.source.split("### BEGIN HIDDEN TESTS")[0] for cell in cells(notebook, "grade")]
    code = "import sys; sys.path.insert(0, sys.argv[1]); import grader; print(grader.__file__)\n" + "\n".join(checks)
    completed = subprocess.run(
        [sys.executable, "-c", code, str(package)],
        cwd=work,
        env=nbgrader_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    assert lines[0] == str(package / "grader" / "__init__.py")  # the release's grader, not the course's
    assert len(lines) == 1 + len(checks) and all("passed" in line for line in lines[1:]), completed.stdout
