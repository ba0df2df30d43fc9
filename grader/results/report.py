"""Human-readable reports of a grading result: the terminal table and Markdown feedback.

Both are built from the same blocks (`blocks`), made from each failed test's
structured `failure` (grader.errors.FAILURE_KINDS), never by reading its
text: one block for a module that does not import (naming the broken file and
line once, and which modules fail because they import it), one line for the
functions of a module that are not attempted yet, one block per hidden
withdrawal, one line for the tests a cut run never reached, and one block per
other failed test.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from grader.course import MODULE_POINTS
from grader.results.model import GradingResult, TestResult


@dataclass
class Block:
    """One piece of feedback: a heading, its text, and the failed tests it stands for."""

    heading: str
    text: str
    tests: list[TestResult] = field(default_factory=list)
    single: bool = False  # one failed test's own block (the others group several tests)


def _kind(test: TestResult) -> str:
    return (test.failure or {}).get("kind", "wrong")


def _points(tests: list[TestResult]) -> str:
    points = sum(test.max_score for test in tests)
    count = f"{len(tests)} test{'s' if len(tests) != 1 else ''}"
    return f"{count}, {points:g} point{'s' if points != 1 else ''}"


def blocks(result: GradingResult, *, student: bool = False) -> list[Block]:
    """The feedback of every failed test, grouped so that one mistake is told once.

    `student=True` is the version a student may read after an instructor's
    grading: hidden tests appear only as a count.
    """
    failed = [test for test in result.tests if test.status != "passed"]
    by_module: dict[str, list[TestResult]] = {}
    for test in failed:
        by_module.setdefault(test.module, []).append(test)
    broken_files = {
        (test.failure or {}).get("file", ""): test
        for test in failed
        if _kind(test) == "import" and (test.failure or {}).get("file") == f"{test.module}.py"
    }
    out: list[Block] = []
    for module, tests in by_module.items():
        public = [test for test in tests if not test.hidden or (_kind(test) == "not-run" and not student)]
        hidden = [test for test in tests if test.hidden and _kind(test) not in ("not-run", "moot")]
        imports = [test for test in public if _kind(test) == "import"]
        if imports:
            out.append(_import_block(module, imports, broken_files))
        unwritten = [test for test in public if _kind(test) == "not-attempted"]
        if unwritten:
            out.append(_not_attempted_block(module, unwritten))
        withdrawn: dict[str, list[TestResult]] = {}
        for test in public:
            if _kind(test) == "withdrawn":
                withdrawn.setdefault(test.output, []).append(test)
        for text, group in withdrawn.items():
            numbers = ", ".join(test.number for test in group)
            out.append(Block(f"{module}: {numbers} withdrawn by a hidden re-check ({_points(group)})", text, group))
        not_run = [test for test in public if _kind(test) == "not-run"]
        for test in public:
            if _kind(test) in ("wrong", "raised", "timeout", "crashed"):
                heading = f"[{test.number}] {module}: {test.name} (0/{test.max_score:g})"
                out.append(Block(heading, test.output, [test], single=True))
        if not_run:
            reason = not_run[0].output if not_run[0].output != "not run" else "the run ended before them"
            numbers = ", ".join(test.number for test in not_run)
            out.append(Block(f"{module}: not run ({_points(not_run)}): {numbers}", reason, not_run))
        if hidden and student:
            out.append(Block(f"{module}: {len(hidden)} hidden re-check(s) failed", "", []))
        elif hidden:
            lines = [f"[{test.number}] {test.name}: {test.output}" for test in hidden]
            out.append(Block(f"{module}: hidden re-checks failed ({len(hidden)})", "\n".join(lines), []))
    return out


def _import_block(module: str, tests: list[TestResult], broken_files: dict[str, TestResult]) -> Block:
    facts = tests[0].failure or {}
    file = facts.get("file", "")
    heading = f"{module}: does not import ({_points(tests)})"
    own = file == f"{module}.py" or not file
    if own or file not in broken_files:
        text = tests[0].output
        if not own:
            text = f"{module}.py imports {file}, which does not import:\n{text}"
    else:
        text = f"{module}.py imports {file}, which does not import (see {file.removesuffix('.py')} above); fix it first"
    return Block(heading, text + f"\nevery test of {module} needs it to import", tests)


def _not_attempted_block(module: str, tests: list[TestResult]) -> Block:
    names: list[str] = []
    for test in tests:
        facts = test.failure or {}
        function, file = facts.get("function") or test.exercise, facts.get("file", "")
        name = f"{function} (in {file})" if file and file != f"{module}.py" else function
        if name not in names:
            names.append(name)
    text = f"still raising NotImplementedError: {', '.join(names)}"
    return Block(f"{module}: not attempted yet ({_points(tests)})", text, tests)


STYLES = {"likely cause:": "yellow", "hint:": "cyan", "also failing": "magenta"}


def score_table(result: GradingResult, *, feedback: bool = True, width: int = 100, color: bool = False) -> str:
    """The per-module score table, then the grouped feedback of every failed test.

    `color=True` writes ANSI colours (a terminal's `--color`); the student's
    text is never read as markup.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"Score: {result.score:g}/{result.max_score:g}", title_justify="left")
    for column, justify in (("module", "left"), ("points", "right"), ("passed", "right"), ("failed", "right")):
        table.add_column(column, justify=justify)
    for module, (earned, possible) in result.module_scores().items():
        tests = [test for test in result.tests if test.module == module]
        passed = sum(test.status == "passed" for test in tests)
        style = "green" if earned == possible else "red" if earned == 0 else "yellow"
        table.add_row(module, Text(f"{earned:g}/{possible:g}", style=style), str(passed), str(len(tests) - passed))
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
        no_color=not color,
    )
    console.print(table)
    if feedback:
        for block in blocks(result):
            console.print()
            console.print(Text(block.heading, style="bold red" if block.tests else "bold"))
            if block.text:
                console.print(_styled("  " + block.text.replace("\n", "\n  ")), soft_wrap=True)
    return buffer.getvalue()


def _styled(text: str):
    from rich.text import Text

    styled = Text(text)
    for marker, style in STYLES.items():
        for match in re.finditer(rf"^\s*{re.escape(marker)}.*$", text, flags=re.MULTILINE):
            styled.stylize(style, match.start(), match.end())
    return styled


def fence(text: str) -> str:
    """A Markdown code fence that `text` cannot close: longer than any run of backticks in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def markdown(result: GradingResult, title: str = "Feedback", *, student: bool = False) -> str:
    """The feedback file a student (`student=True`: hidden tests only as a count) or a TA reads."""
    lines = [
        f"# {title}",
        "",
        f"**Score: {result.score:g}/{result.max_score:g}**",
        "",
        "| module | points | passed | failed |",
        "|---|---:|---:|---:|",
    ]
    for module, (earned, possible) in result.module_scores().items():
        tests = [test for test in result.tests if test.module == module and not (student and test.hidden)]
        passed = sum(test.status == "passed" for test in tests)
        lines.append(f"| {module} | {earned:g}/{possible:g} | {passed} | {len(tests) - passed} |")
    found = blocks(result, student=student)
    if found:
        lines += ["", "## What to fix", ""]
        for block in found:
            if block.single:
                test = block.tests[0]
                lines += [f"### {test.number} `{test.name}` ({test.module}, 0/{test.max_score:g})", ""]
            else:
                lines += [f"### {_markdown_text(block.heading)}", ""]
            if block.text:
                lines += [fence(block.text), block.text, fence(block.text)]
            lines.append("")
    missing = [module for module in MODULE_POINTS if module not in result.module_scores()]
    if missing:
        lines += ["", f"Not graded in this run: {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def _markdown_text(text: str) -> str:
    """A heading's text with Markdown's special characters escaped (test names hold underscores)."""
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", text)
