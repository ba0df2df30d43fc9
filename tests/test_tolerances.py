"""docs/contract.md's "Tolerances" tables are grader/tolerances.py, row for row, and cover every graded function.

The tables are parsed as a reader sees them (one `### <module>` table per
course module), so a figure changed on one side only, a function graded
without an entry, or an entry left for a function no longer graded fails here.
"""

import ast
import dataclasses
import functools
import re

import pytest

from grader import tolerances
from grader.course import MODULES
from grader.engine.runner import graded_exercises
from grader.tolerances import TOLERANCES, Tolerance
from tests.helpers import ROOT

CONTRACT_PAGE = ROOT / "docs" / "contract.md"
SUITE = ROOT / "grader" / "suite"
COLUMNS = ["function", "check", "compared with", "rtol", "atol", "bound", "why"]
BOUNDS = {  # how the "bound" column writes each Tolerance field
    "relative_error": re.compile(r"relative error ≤ (\S+)"),
    "epsilon": re.compile(r"epsilon ≤ (\S+)"),
    "at_least": re.compile(r"at least (\S+)"),
    "standard_errors": re.compile(r"(\S+) standard errors"),
}


def figure(cell: str) -> float | None:
    return None if cell == "—" else float(cell)


def parse_row(cells: list[str]) -> tuple[str, str, Tolerance]:
    row = dict(zip(COLUMNS, cells, strict=True))
    bound = {}
    if row["bound"]:
        matches = {field: pattern.fullmatch(row["bound"]) for field, pattern in BOUNDS.items()}
        found = [(field, match) for field, match in matches.items() if match]
        assert len(found) == 1, f"unreadable bound {row['bound']!r} (write one of {list(BOUNDS)})"
        bound = {found[0][0]: float(found[0][1][1])}
    tolerance = Tolerance(
        compared_with=row["compared with"],
        why=row["why"],
        rtol=figure(row["rtol"]),
        atol=figure(row["atol"]),
        **bound,
    )
    return row["function"].strip("`"), row["check"], tolerance


@functools.cache
def documented_tables() -> dict[str, dict[tuple[str, str], Tolerance]]:
    """{module: {(function, check): Tolerance}} from the "## Tolerances" section of the contract page."""
    page = CONTRACT_PAGE.read_text()
    assert "\n## Tolerances\n" in page, "docs/contract.md has no '## Tolerances' section"
    section = page[page.index("\n## Tolerances\n") + 1 :]
    end = section.find("\n## ", 1)
    section = section[: end if end >= 0 else None]
    tables, module = {}, None
    for line in section.splitlines():
        if line.startswith("### "):
            module = line.removeprefix("### ").strip()
            assert module not in tables, f"two tables for {module}"
            tables[module] = {}
            continue
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().removeprefix("|").removesuffix("|").split("|")]
        if cells == COLUMNS or set(line) <= set("|-: "):
            continue  # the header and the line under it
        assert module is not None, f"a table row before any '### <module>' heading: {line}"
        function, check, tolerance = parse_row(cells)
        assert (function, check) not in tables[module], f"{function} / {check} shown twice"
        tables[module][(function, check)] = tolerance
    return tables


def test_the_contract_has_one_table_per_module_in_the_course_order():
    assert list(documented_tables()) == list(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_a_modules_table_shows_each_of_its_graded_functions(module):
    shown = {function for function, _ in documented_tables()[module]}
    graded = set(graded_exercises()[module])
    assert shown == graded, (
        f"docs/contract.md, ### {module}: missing {sorted(graded - shown)}, not graded {sorted(shown - graded)}"
    )


def test_every_graded_function_has_an_entry_in_the_code():
    graded = {exercise for names in graded_exercises().values() for exercise in names}
    assert set(TOLERANCES) == graded, (
        f"grader/tolerances.py: missing {sorted(graded - set(TOLERANCES))}, "
        f"not graded {sorted(set(TOLERANCES) - graded)}"
    )
    assert all(TOLERANCES[function] for function in TOLERANCES), "a function without a comparison"


def test_the_documented_tables_equal_the_code():
    documented = {key: tolerance for table in documented_tables().values() for key, tolerance in table.items()}
    coded = {
        (function, check): tolerance for function, checks in TOLERANCES.items() for check, tolerance in checks.items()
    }
    assert sorted(documented) == sorted(coded), "the same (function, check) rows on both sides"
    differing = [
        f"{function} / {check}: {field} is {getattr(documented[function, check], field)!r} in docs/contract.md, "
        f"{getattr(coded[function, check], field)!r} in grader/tolerances.py"
        for function, check in coded
        for field in (field.name for field in dataclasses.fields(Tolerance))
        if getattr(documented[function, check], field) != getattr(coded[function, check], field)
    ]
    assert not differing, "\n".join(differing)


def test_a_relative_error_bound_passes_every_answer_within_it():
    """Its elementwise form (rtol 2b/(1-b), atol 1e-8 b) lets through all that the bound allows, hardly more."""
    import numpy as np

    bound = tolerances.GRADIENT_BOUND
    rng = np.random.default_rng(0)
    expected = np.concatenate([rng.normal(size=1000), rng.normal(scale=1e-9, size=1000)])
    # answers exactly at the bound: |got - expected| = b (|got| + |expected|), got on either side
    for sign in (1.0, -1.0):
        floor = np.maximum(tolerances.RELATIVE_ERROR_FLOOR, 2 * np.abs(expected))
        got = expected + sign * bound * floor * (1 - 1e-9)
        error = np.abs(got - expected) / np.maximum(tolerances.RELATIVE_ERROR_FLOOR, np.abs(got) + np.abs(expected))
        within = error <= bound
        form = TOLERANCES["backward"]["gradients"].isclose
        assert np.isclose(got[within], expected[within], **form).all()
    assert form["rtol"] < 2.001 * bound and form["atol"] == pytest.approx(1e-15)


def number(node) -> float | None:
    """The value of a number written as such (`1e-7`, `-1`, `0`), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = number(node.operand)
        return None if value is None else -value
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    return None


def rtol_or_atol_literals(path) -> list[str]:
    """check_array / check_number calls in `path` whose rtol or atol is left to the default or written
    as a number there (a 0 beside a figure from grader/tolerances.py is fine: "no relative part")."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("check_array", "check_number")):
            continue
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        if None in keywords:  # **tolerance.isclose
            continue
        values = {name: keywords.get(name) for name in ("rtol", "atol")}
        numbers = {name: None if value is None else number(value) for name, value in values.items()}
        for name, value in values.items():
            other = "atol" if name == "rtol" else "rtol"
            written = numbers[name] is not None and (numbers[name] != 0 or numbers[other] is not None)
            if value is None or written:
                found.append(f"{path.name}:{node.lineno} {name}={'(default)' if value is None else ast.unparse(value)}")
    return found


@pytest.mark.parametrize(
    "path",
    sorted(SUITE.glob("test_*.py")) + sorted((SUITE.parent / "hidden").glob("test_*.py")),
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_the_suites_take_every_figure_from_grader_tolerances(path):
    literals = rtol_or_atol_literals(path)
    assert not literals, "figures not taken from grader/tolerances.py:\n  " + "\n  ".join(literals)
