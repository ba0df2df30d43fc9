"""`dlgrade release`: the student repository holds no solution, no hidden test, and works as shipped."""

import ast
import functools
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from grader.cli import UsageError, main
from grader.course import MODULE_POINTS, MODULES
from grader.doors.release import write_release
from tests.helpers import ROOT

# Statements of the reference that are public by design: idioms the grader
# uses too, formulas the docstrings and the SPEC state, and fixes the feedback
# names. Every other statement of the reference, from MINIMUM_LENGTH
# characters on, must not appear anywhere in the release.
PUBLIC_STATEMENTS = {
    "num_examples = X.shape[0]",  # the probes' own idiom
    "rng = np.random.default_rng(seed)",  # the suite's and the probes' idiom
    "optimizer.zero_grad()",  # named by the training feedback's hint
    "model.train(was_training)",  # named by evaluate's feedback
    "x = np.array(x0, dtype=float)",  # named by gradient_descent's feedback
    "torch.cuda.manual_seed_all(seed)",  # named by seed_everything's feedback
    "stride = kernel_size",  # pool_output_size's rule for stride=None, in the SPEC and the feedback
    "extent = dilation * (kernel_size - 1) + 1",  # the conv formula the stub's docstring states
    "weights = out_channels * in_channels * kernel_height * kernel_width",  # the parameter count's formula
    "return np.maximum(np.asarray(z, dtype=float), 0.0)",  # relu, which the forward probe applies
    # relative_error: the SPEC's formula, which the suite uses to compare gradients
    "return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))",
}
MINIMUM_LENGTH = 20  # shorter statements (`return loss`, `x = x - step`) say nothing of a solution


def normalised(text: str) -> str:
    return " ".join(text.split())


@functools.lru_cache
def solution_statements(course: Path) -> dict[str, str]:
    """Every simple statement in a function body of the reference: normalised text -> where it is.

    Statements that occur in the module's stub too (helpers the stub provides,
    formulas its docstrings state) are public by design and left out.
    """
    statements = {}
    for path in sorted((course / "solutions").glob("*.py")):
        source = path.read_text()
        stub = course / "exercises" / path.name
        stub_text = normalised(stub.read_text()) if stub.is_file() else ""
        for function in ast.walk(ast.parse(source)):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = function.body[1:] if ast.get_docstring(function) is not None else function.body
            for statement in (node for top in body for node in ast.walk(top)):
                if not isinstance(statement, ast.stmt) or hasattr(statement, "body"):
                    continue  # compound statements: their simple statements are checked one by one
                text = normalised(ast.get_source_segment(source, statement))
                if len(text) >= MINIMUM_LENGTH and text not in PUBLIC_STATEMENTS and text not in stub_text:
                    statements[text] = f"solutions/{path.name}:{statement.lineno} ({function.name})"
    return statements


@functools.lru_cache
def hidden_test_names(course: Path) -> set[str]:
    return {
        node.name
        for path in (course / "grader" / "hidden").glob("test_*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def leaks(release: Path, course: Path = ROOT) -> list[str]:
    """Everything in `release` that gives away the reference or the hidden tests, one line each."""
    statements = solution_statements(course)
    hidden_names = re.compile(r"\b(" + "|".join(sorted(hidden_test_names(course)) or ["(?!)"]) + r")\b")
    found = []
    for path in sorted(release.rglob("*")):
        relative = path.relative_to(release)
        if {"solutions", "hidden"}.intersection(relative.parts) or relative.name == "__pycache__":
            found.append(f"{relative}: a path the release must not have")
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        flat = normalised(text)
        found += [
            f"{relative}: reference statement from {where}: {statement}"
            for statement, where in statements.items()
            if statement in flat
        ]
        found += [f"{relative}: hidden test name {match}" for match in sorted(set(hidden_names.findall(text)))]
        if text.count("hidden_rng") > (
            text.count("def hidden_rng(") if relative.as_posix() == "grader/engine/fixtures.py" else 0
        ):
            found.append(f"{relative}: uses hidden_rng, the hidden tests' secret-seeded inputs")
        if path.suffix == ".py":
            for node in ast.walk(ast.parse(text)):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                found += [f"{relative}: imports {name}" for name in names if name.split(".")[0] == "solutions"]
    return found


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release") / "student-repo"
    write_release(folder, ROOT)
    return folder


@pytest.fixture(scope="module")
def release_leaks(release):
    return leaks(release)


def test_release_has_the_student_layout(release):
    assert (release / ".github" / "workflows" / "classroom.yml").read_text() == (
        ROOT / "autograding" / "github-classroom" / "classroom.yml"
    ).read_text()
    assert (release / "pyproject.toml").read_text() == (ROOT / "pyproject.toml").read_text()
    assert sorted(path.name for path in (release / "exercises").glob("*.py")) == sorted(
        ["__init__.py", *(f"{module}.py" for module in MODULES)]
    )
    for module in MODULES:
        assert (release / "exercises" / f"{module}.py").read_text() == (ROOT / "exercises" / f"{module}.py").read_text()
        assert (release / "grader" / "suite" / f"test_{module}.py").is_file()
    assert not (release / "solutions").exists() and not (release / "grader" / "hidden").exists()
    assert not (release / "tests").exists()


def test_release_leaks_no_solution_hidden_test_or_seed(release_leaks):
    assert solution_statements(ROOT), "the scan found no statement of the reference to look for"
    assert hidden_test_names(ROOT), "the scan found no hidden test name to look for"
    assert not release_leaks, "the release gives away:\n" + "\n".join(release_leaks)


@pytest.mark.parametrize("plant", ["solution body", "hidden test", "hidden_rng", "solutions folder", "import"])
def test_the_leak_scan_finds_what_is_planted(release, release_leaks, tmp_path, plant):
    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    name = sorted(hidden_test_names(ROOT))[0]
    statement = max(solution_statements(ROOT), key=len)  # a long, distinctive statement
    if plant == "solution body":
        with open(copy / "exercises" / "activations.py", "a") as stream:
            stream.write(f"\n\ndef helper(W, X, y, reg, z, a, b):\n    {statement}\n")
        expected = "reference statement"
    elif plant == "hidden test":
        (copy / "grader" / "suite" / "test_extra.py").write_text(f"def {name}(student):\n    pass\n")
        expected = f"hidden test name {name}"
    elif plant == "hidden_rng":
        (copy / "grader" / "suite" / "test_extra.py").write_text("def test_x(student, hidden_rng):\n    pass\n")
        expected = "uses hidden_rng"
    elif plant == "solutions folder":
        shutil.copytree(ROOT / "exercises", copy / "solutions")
        expected = "a path the release must not have"
    else:
        (copy / "grader" / "suite" / "test_extra.py").write_text("from solutions import activations\n")
        expected = "imports solutions"
    planted = set(leaks(copy)) - set(release_leaks)
    assert any(expected in line for line in planted), planted


def test_readme_lists_every_module_with_its_points_and_says_hidden_tests_exist(release):
    readme = (release / "README.md").read_text()
    for module, points in MODULE_POINTS.items():
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{module}` |"))
        assert f"| {points} |" in row, row
    assert "pip install -e ." in readme and "dlgrade check activations" in readme
    minimum = re.search(r'requires-python = ">=([0-9.]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert f"Python {minimum} or newer" in readme
    assert "Hidden tests exist" in readme and "solution" not in readme.lower()


def test_release_refuses_a_non_empty_folder_and_a_course_without_exercises(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    (tmp_path / "course").mkdir()
    with pytest.raises(UsageError, match="not an empty folder"):
        write_release(tmp_path / "taken", ROOT)
    with pytest.raises(UsageError, match="no exercises/"):
        write_release(tmp_path / "new", tmp_path / "course")
    assert main(["release", str(tmp_path / "taken"), "--course", str(ROOT)]) == 2
    assert main(["release", str(tmp_path / "new"), "--course", str(tmp_path / "course")]) == 2
    assert capsys.readouterr().err.count("\n") == 2
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine" and not (tmp_path / "new").exists()
    assert sorted(tmp_path.iterdir()) == [tmp_path / "course", tmp_path / "taken"]  # nothing half-written


def test_release_fills_an_existing_empty_folder(tmp_path):
    (tmp_path / "repo").mkdir()
    write_release(tmp_path / "repo", ROOT)
    assert (tmp_path / "repo" / "README.md").is_file() and (tmp_path / "repo" / "exercises").is_dir()
    assert [path.name for path in tmp_path.iterdir()] == ["repo"]


def test_release_installs_and_runs_dlgrade_check_in_a_fresh_virtual_environment(release, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    # The venv sees this interpreter's packages (torch and the rest, not reinstalled)
    # through a .pth file; .pth files there are not run, so this project's own
    # editable install stays invisible and the release's grader is the one found.
    site_packages = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    parent = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "parent_site_packages.pth").write_text("\n".join(sorted(parent)) + "\n")
    environment = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-e", release],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    located = subprocess.run(
        [python, "-c", "import grader; print(grader.__file__)"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
    )
    assert Path(located.stdout.strip()).resolve() == (release / "grader" / "__init__.py").resolve(), located
    checked = subprocess.run(
        [venv / "bin" / "dlgrade", "check", "activations"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=release,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    table = checked.stdout
    assert "activations" in table and "0/14" in table and "not attempted" in table, table
