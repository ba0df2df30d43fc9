"""Human-readable reports of a grading result: the terminal table and Markdown feedback."""

from __future__ import annotations

import io
import re

from grader.course import MODULE_POINTS
from grader.results.model import GradingResult


def score_table(result: GradingResult, *, feedback: bool = True, width: int = 100) -> str:
    """The per-module score table, then the feedback of every failed test."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Score: {result.score:g}/{result.max_score:g}", title_justify="left")
    for column, justify in (("module", "left"), ("points", "right"), ("passed", "right"), ("failed", "right")):
        table.add_column(column, justify=justify)
    for module, (earned, possible) in result.module_scores().items():
        tests = [test for test in result.tests if test.module == module]
        passed = sum(test.status == "passed" for test in tests)
        table.add_row(module, f"{earned:g}/{possible:g}", str(passed), str(len(tests) - passed))
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None, highlight=False)
    console.print(table)
    if feedback:
        for test in result.tests:
            if test.status != "passed":
                console.print(f"\n[{test.number}] {test.module}: {test.name} (0/{test.max_score:g})", markup=False)
                console.print("  " + test.output.replace("\n", "\n  "), markup=False, soft_wrap=True)
    return buffer.getvalue()


def fence(text: str) -> str:
    """A Markdown code fence that `text` cannot close: longer than any run of backticks in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def markdown(result: GradingResult, title: str = "Feedback") -> str:
    """The feedback file a student (or a TA) reads."""
    lines = [
        f"# {title}",
        "",
        f"**Score: {result.score:g}/{result.max_score:g}**",
        "",
        "| module | points | passed | failed |",
        "|---|---:|---:|---:|",
    ]
    for module, (earned, possible) in result.module_scores().items():
        tests = [test for test in result.tests if test.module == module]
        passed = sum(test.status == "passed" for test in tests)
        lines.append(f"| {module} | {earned:g}/{possible:g} | {passed} | {len(tests) - passed} |")
    failed = [test for test in result.tests if test.status != "passed"]
    if failed:
        lines += ["", "## What to fix", ""]
        for test in failed:
            lines += [
                f"### {test.number} `{test.name}` ({test.module}, 0/{test.max_score:g})",
                "",
                fence(test.output),
                test.output,
                fence(test.output),
                "",
            ]
    missing = [module for module in MODULE_POINTS if module not in result.module_scores()]
    if missing:
        lines += ["", f"Not graded in this run: {', '.join(missing)}."]
    return "\n".join(lines) + "\n"
