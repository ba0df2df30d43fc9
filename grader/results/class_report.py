"""The class report: `OUT/report.html`, one self-contained page about a graded class.

Written by `dlgrade report OUT` and at the end of `dlgrade grade --out OUT`
from the `OUT/<id>/results.json` of the class (the ids in `grades.csv`, else
every one under OUT): the score histogram, each module's
spread, each test's pass rate, the named mistakes across the class, who lost
points to hidden re-checks, who had import failures, timeouts, crashes or
weaker isolation, the pairs of similar submissions (`grader.results.similarity`)
and a row per student linking to `OUT/<id>/feedback.html` (their
`feedback.md` as HTML). `summary.md` stays the text version.

The page opens offline: charts are PNGs inside it, the style is inline, and
it has no script at all. Everything a student wrote (code, outputs, exception
messages) is escaped by the template, and the page's Content-Security-Policy
allows no script and no request, should anything slip through.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import functools
import io
import statistics
import time
from collections import defaultdict
from pathlib import Path

from grader.course import MODULE_POINTS, MODULES
from grader.results import pictures, report, similarity
from grader.results.model import GradingResult, TestResult, load
from grader.system import write_atomically

REPORT_FILE = "report.html"
FEEDBACK_FILE = "feedback.html"
# No script, no fetch of anything: images only from data: URLs, style only inline.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
SHOWN_PAIRS = 10  # the similarity table: every pair above the threshold, and at least the 10 most similar ...
MOST_PAIRS = 500  # ... but at most 500 (every pair is in similarity.csv)
SHOWN_SIDE_BY_SIDE = 50  # the most similar pairs above the threshold shown with their code (keeps the page small)


@dataclasses.dataclass
class Student:
    identifier: str
    result: GradingResult


def failure(test: TestResult) -> dict:
    """The test's structured failure (kind, function, cause, file, line), or {} (passed, or older results)."""
    return test.failure or {}


def weak_isolation(result: GradingResult) -> bool:
    """Whether the code ran with less than the sandbox's full isolation (in-process, or as root)."""
    isolation = str(result.extra.get("isolation", ""))
    return "AS ROOT" in isolation or isolation.startswith("none") or bool(result.extra.get("weak_isolation_allowed"))


def load_class(out: Path) -> list[Student]:
    """The graded submissions of the class, by id: those of `grades.csv` (the last run), else all under `out`."""
    listed = [identifier for identifier, _ in gradebook(out)]
    folders = [out / identifier for identifier in listed] if listed else sorted(out.iterdir())
    return [
        Student(folder.name, load(folder / "results.json"))
        for folder in sorted(folders)
        if (folder / "results.json").is_file()
    ]


def gradebook(out: Path) -> list[tuple[str, str]]:
    """(id, status) of every row of `out/grades.csv`; [] where there is none."""
    file = out / "grades.csv"
    if not file.is_file():
        return []
    with file.open(newline="") as opened:
        return [(row["id"], row["status"]) for row in csv.DictReader(opened)]


def write_after_grading(jobs, out: Path, opened, threshold: float = similarity.THRESHOLD) -> Path:
    """What `dlgrade grade --out` does last: keep the submissions' sources (`similarity.keep_sources`), report."""
    similarity.keep_sources(jobs, out, opened)
    started = time.monotonic()
    report_file = write_class_report(out, threshold=threshold)
    print(f"class report: {report_file} ({time.monotonic() - started:.1f} s)")
    return report_file


def write_class_report(out: Path, threshold: float = similarity.THRESHOLD, stubs: Path = similarity.STUBS) -> Path:
    """Write `out/report.html`, `out/similarity.csv` and every `out/<id>/feedback.html`; return the report's path."""
    students = load_class(out)
    for student in students:
        write_atomically(out / student.identifier / FEEDBACK_FILE, feedback_html(out, student))
    modules = [module for module in MODULES if any(module in s.result.module_scores() for s in students)]
    pairs = similarity.compare(out, modules, threshold=threshold, stubs=stubs)
    similarity.write_csv(pairs, out)
    ungraded = [(identifier, status) for identifier, status in gradebook(out) if status not in ("graded", "incomplete")]
    page = render(students, pairs, threshold, ungraded, stubs_found=stubs.is_dir())
    write_atomically(out / REPORT_FILE, page)
    return out / REPORT_FILE


def feedback_html(out: Path, student: Student) -> str:
    """The student's `feedback.md` as an HTML page."""
    markdown_file = out / student.identifier / "feedback.md"
    text = (
        markdown_file.read_text(errors="replace")
        if markdown_file.is_file()
        else report.markdown(student.result, f"Feedback for {student.identifier}")
    )
    body = _markdown().render(text)
    page = _environment().from_string(FEEDBACK_TEMPLATE)
    return page.render(
        title=f"Feedback for {student.identifier}",
        body=body,
        pictures=_pictures_of(out / student.identifier),
        policy=CONTENT_SECURITY_POLICY,
    )


def _pictures_of(folder: Path) -> list[tuple[str, str]]:
    """(caption, data URL) of each picture the batch drew for this student (grader.results.pictures)."""
    shown = []
    for name, file in pictures.FILES.items():
        path = folder / pictures.FOLDER / file
        if path.is_file() and not path.is_symlink():
            encoded = base64.b64encode(path.read_bytes()).decode()
            shown.append((pictures.CAPTIONS[name], f"data:image/png;base64,{encoded}"))
    return shown


@functools.cache
def _markdown():
    """CommonMark with tables, and raw HTML off: a student's text in feedback.md stays text."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


# What the report shows, worked out from the results -------------------------------------------------------------


def module_rows(students: list[Student]) -> list[dict]:
    """Per module: points possible, mean, median, spread, lowest, highest, how many at full marks and at 0."""
    rows = []
    for module in MODULES:
        scores = [s.result.module_scores()[module] for s in students if module in s.result.module_scores()]
        if not scores:
            continue
        earned = [score for score, _ in scores]
        possible = max(possible for _, possible in scores)
        rows.append(
            {
                "module": module,
                "possible": possible,
                "students": len(earned),
                "mean": statistics.fmean(earned),
                "median": statistics.median(earned),
                "stdev": statistics.pstdev(earned),
                "lowest": min(earned),
                "highest": max(earned),
                "full": sum(score >= possible for score in earned),
                "zero": sum(score == 0 for score in earned),
            }
        )
    return rows


def test_rows(students: list[Student]) -> list[dict]:
    """Per test: how many students ran it, passed it, had not attempted it; least passed first."""
    by_number: dict[str, dict] = {}
    for student in students:
        for test in student.result.tests:
            row = by_number.setdefault(
                test.number,
                {"number": test.number, "name": test.name, "module": test.module, "hidden": test.hidden, "ran": 0},
            )
            row["ran"] += 1
            row["passed"] = row.get("passed", 0) + (test.status == "passed")
            row["not_attempted"] = row.get("not_attempted", 0) + (failure(test).get("kind") == "not-attempted")
    rows = list(by_number.values())
    for row in rows:
        row["rate"] = row["passed"] / row["ran"]
    rows.sort(key=lambda row: (row["rate"], _number_key(row["number"])))
    return rows


def _number_key(number: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in number.split("."))


def mistake_rows(students: list[Student]) -> list[dict]:
    """Each named mistake with the students who made it (a student counts once), most common first."""
    who: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for student in students:
        for test in student.result.tests:
            cause = failure(test).get("cause")
            if cause:
                who[(test.module, failure(test).get("function") or test.exercise, cause)].add(student.identifier)
    rows = [
        {"module": module, "function": function, "cause": cause, "students": sorted(ids)}
        for (module, function, cause), ids in who.items()
    ]
    rows.sort(key=lambda row: (-len(row["students"]), MODULES.index(row["module"]), row["function"], row["cause"]))
    return rows


def withdrawn_rows(students: list[Student]) -> list[dict]:
    """The students whose public tests passed but were withdrawn by a failing hidden re-check."""
    rows = []
    for student in students:
        tests = [test for test in student.result.tests if failure(test).get("kind") == "withdrawn"]
        if tests:
            rows.append(
                {
                    "id": student.identifier,
                    "tests": [f"{test.number} {test.name}" for test in tests],
                    "points": sum(test.max_score - test.score for test in tests),
                }
            )
    rows.sort(key=lambda row: (-row["points"], row["id"]))
    return rows


PROBLEM_KINDS = {"import": "import failure", "timeout": "time limit", "crashed": "crashed"}


def problem_rows(students: list[Student], ungraded: list[tuple[str, str]]) -> list[dict]:
    """Import failures (one per module), timeouts and crashes (one per test), cut-short runs, ungraded submissions."""
    rows = []
    for student in students:
        seen = set()
        for test in student.result.tests:
            facts = failure(test)
            kind = facts.get("kind")
            key = (kind, test.module if kind == "import" else test.number)
            if kind not in PROBLEM_KINDS or key in seen:
                continue
            seen.add(key)
            if kind == "import":
                where = str(facts.get("file") or f"{test.module}.py")
                where += f", line {facts['line']}" if facts.get("line") else ""
            else:
                where = f"{test.number} {test.name}"
            first_line = (test.output.strip().splitlines() or [""])[0]
            rows.append({"id": student.identifier, "what": PROBLEM_KINDS[kind], "where": where, "detail": first_line})
        if student.result.extra.get("incomplete"):
            rows.append(
                {"id": student.identifier, "what": "incomplete", "where": "", "detail": "the run was cut short"}
            )
    rows += [{"id": identifier, "what": "not graded", "where": "", "detail": why} for identifier, why in ungraded]
    return rows


def student_rows(students: list[Student], modules: list[str], flagged: set[str]) -> list[dict]:
    rows = []
    for student in students:
        scores = student.result.module_scores()
        kinds = {failure(test).get("kind") for test in student.result.tests}
        flags = [PROBLEM_KINDS[kind] for kind in PROBLEM_KINDS if kind in kinds]
        flags += ["hidden re-check"] * ("withdrawn" in kinds)
        flags += ["incomplete"] * bool(student.result.extra.get("incomplete"))
        flags += ["weaker isolation"] * weak_isolation(student.result)
        flags += ["similar"] * (student.identifier in flagged)
        rows.append(
            {
                "id": student.identifier,
                "score": student.result.score,
                "max_score": student.result.max_score,
                "modules": [scores.get(module) for module in modules],
                "flags": flags,
            }
        )
    return rows


# Charts ------------------------------------------------------------------------------------------------------


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # a figure of its own: no pyplot, no global state, no window

    return Figure(figsize=(width, height), layout="constrained")


def score_histogram(students: list[Student]) -> str:
    """The class's total scores, one bar per 5% of the points possible."""
    totals = [s.result.score for s in students]
    possible = max((s.result.max_score for s in students), default=0) or 1
    figure = _figure(7, 3)
    axes = figure.add_subplot()
    bins = [possible * step / 20 for step in range(21)]
    axes.hist(totals, bins=bins, color="#1f77b4", edgecolor="white")
    axes.set_xlim(0, possible)
    axes.set_xlabel(f"total score (of {possible:g})")
    axes.set_ylabel("students")
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _png(figure)


def module_box_plot(students: list[Student], rows: list[dict]) -> str:
    """Each module's scores as a percentage of its points: median, quartiles, range."""
    figure = _figure(7, 3)
    axes = figure.add_subplot()
    scores = [s.result.module_scores() for s in students]
    data = [
        [100 * score[row["module"]][0] / (row["possible"] or 1) for score in scores if row["module"] in score]
        for row in rows
    ]
    axes.boxplot(data, tick_labels=[row["module"] for row in rows], showmeans=True)
    axes.set_ylim(-5, 105)
    axes.set_ylabel("% of the module's points")
    return _png(figure)


def pass_rate_chart(rows: list[dict]) -> str:
    """One bar per test, its pass rate; least passed at the top, red below half."""
    import matplotlib

    ordered = list(reversed(rows))  # barh draws from the bottom up
    figure = _figure(8, 0.6 + 0.22 * len(rows))
    axes = figure.add_subplot()
    with matplotlib.rc_context({"text.parse_math": False}):
        labels = [f"{row['number']} {row['name']}" + (" (hidden)" if row["hidden"] else "") for row in ordered]
        axes.barh(
            range(len(ordered)),
            [100 * row["rate"] for row in ordered],
            color=["#d62728" if row["rate"] < 0.5 else "#2ca02c" for row in ordered],
        )
        axes.set_yticks(range(len(ordered)), labels, fontsize=7)
        axes.set_ylim(-0.6, len(ordered) - 0.4)
        axes.set_xlim(0, 100)
        axes.set_xlabel("% of students passing")
        return _png(figure)


# The page ----------------------------------------------------------------------------------------------------


def render(
    students: list[Student],
    pairs: list[similarity.Pair],
    threshold: float,
    ungraded: list[tuple[str, str]],
    stubs_found: bool = True,
) -> str:
    modules = module_rows(students)
    tests = test_rows(students)
    flagged_pairs = [pair for pair in pairs if pair.similarity > threshold]
    flagged_ids = {identifier for pair in flagged_pairs for identifier in (pair.id_a, pair.id_b)}
    totals = [s.result.score for s in students]
    isolated = [s for s in students if weak_isolation(s.result)]
    context = {
        "policy": CONTENT_SECURITY_POLICY,
        "students": student_rows(students, [row["module"] for row in modules], flagged_ids),
        "count": len(students),
        "ungraded": len(ungraded),
        "mean": statistics.fmean(totals) if totals else None,
        "median": statistics.median(totals) if totals else None,
        "lowest": min(totals, default=None),
        "highest": max(totals, default=None),
        "max_score": max((s.result.max_score for s in students), default=0),
        "course_points": sum(MODULE_POINTS[row["module"]] for row in modules),
        "histogram": score_histogram(students) if students else "",
        "modules": modules,
        "module_names": [row["module"] for row in modules],
        "box_plot": module_box_plot(students, modules) if modules else "",
        "tests": tests,
        "pass_rates": pass_rate_chart(tests) if tests else "",
        "hardest": tests[0] if tests else None,
        "hardest_attempted": min(
            (row for row in tests if row["ran"] > row["not_attempted"]),
            key=lambda row: row["passed"] / (row["ran"] - row["not_attempted"]),
            default=None,
        ),
        "never_failed": [row for row in tests if row["rate"] == 1],
        "mistakes": mistake_rows(students),
        "withdrawn": withdrawn_rows(students),
        "problems": problem_rows(students, ungraded),
        "isolation": sorted({str(s.result.extra.get("isolation", "")) for s in isolated}),
        "isolated": [s.identifier for s in isolated],
        "threshold": threshold,
        "compared": len(pairs),
        "flagged": flagged_pairs[:SHOWN_SIDE_BY_SIDE],
        "flagged_count": len(flagged_pairs),
        "top_pairs": pairs[: min(max(SHOWN_PAIRS, len(flagged_pairs)), MOST_PAIRS)],
        "stubs_found": stubs_found,
        "feedback_file": FEEDBACK_FILE,
    }
    return _environment().from_string(REPORT_TEMPLATE).render(**context)


@functools.cache
def _environment():
    import jinja2

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    environment.filters["points"] = lambda value: "" if value is None else f"{value:g}"
    environment.filters["fixed"] = lambda value: "" if value is None else f"{value:.2f}"
    environment.filters["percent"] = lambda value: f"{100 * value:.0f}%"
    return environment


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 75em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
img { max-width: 100%; }
.flag { background: #fde2e1; border-radius: 0.3em; padding: 0 0.3em; margin-right: 0.2em; white-space: nowrap; }
.note { color: #555; }
.side-by-side { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.side-by-side pre { background: #f8f8f8; border: 1px solid #ddd; padding: 0.5em; overflow-x: auto; font-size: 0.8em;
  line-height: 1.4; max-height: 40em; overflow-y: auto; }
.highlight-red { background: #ffd6d6; }
.highlight-green { background: #d6f5d6; }
"""

REPORT_TEMPLATE = (
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ policy }}">
<title>Class report</title>
<style>"""
    + STYLE
    + """</style>
</head>
<body>
<h1>Class report</h1>
<p>{{ count }} submission(s) graded{% if ungraded %}, {{ ungraded }} not graded (see <a href="#problems">problems</a>){%
endif %}; modules: {{ module_names | join(", ") or "none" }} ({{ course_points }} points).
{% if mean is not none %}Mean {{ mean | fixed }}, median {{ median | points }}, lowest {{ lowest | points }},
highest {{ highest | points }} of {{ max_score | points }}.{% endif %}
The text version is <a href="summary.md">summary.md</a>, the gradebook <a href="grades.csv">grades.csv</a>.</p>

<h2 id="scores">Scores</h2>
{% if histogram %}<img id="score-histogram" alt="histogram of the total scores"
 src="data:image/png;base64,{{ histogram }}">{% else %}<p>No results.</p>{% endif %}

<h2 id="modules-section">Modules</h2>
{% if box_plot %}<img id="module-spread" alt="box plot of each module's scores"
 src="data:image/png;base64,{{ box_plot }}">{% endif %}
<table id="modules">
<tr><th>module</th><th>points</th><th>students</th><th>mean</th><th>median</th><th>std. dev.</th><th>lowest</th>
<th>highest</th><th>full marks</th><th>zero</th></tr>
{% for row in modules %}<tr><td>{{ row.module }}</td><td class="number">{{ row.possible | points }}</td>
<td class="number">{{ row.students }}</td><td class="number">{{ row.mean | fixed }}</td>
<td class="number">{{ row.median | points }}</td><td class="number">{{ row.stdev | fixed }}</td>
<td class="number">{{ row.lowest | points }}</td><td class="number">{{ row.highest | points }}</td>
<td class="number">{{ row.full }}</td><td class="number">{{ row.zero }}</td></tr>
{% endfor %}</table>

<h2 id="tests-section">Tests</h2>
{% if hardest %}<p id="failed-most">Failed most: <b>{{ hardest.number }} {{ hardest.name }}</b> ({{ hardest.module
}}), passed by {{ hardest.passed }} of {{ hardest.ran }}{{ " (%d had not attempted it)" % hardest.not_attempted if
hardest.not_attempted }}.
{% if hardest_attempted and hardest_attempted is not sameas hardest %}Of those who attempted it, the most failed:
<b>{{ hardest_attempted.number }} {{ hardest_attempted.name }}</b> ({{ hardest_attempted.module }}), passed by {{
hardest_attempted.passed }} of {{ hardest_attempted.ran - hardest_attempted.not_attempted }}.{% endif %}
{% if never_failed %}Never failed: {% for row in never_failed %}{{ row.number }} {{ row.name }}{{ ", " if not loop.last
}}{% endfor %}.{% else %}Every test failed for someone.{% endif %}</p>{% endif %}
{% if pass_rates %}<img id="pass-rates" alt="pass rate of each test" src="data:image/png;base64,{{ pass_rates }}">{%
endif %}
<table id="tests">
<tr><th>test</th><th>module</th><th>passed</th><th>pass rate</th><th>not attempted</th></tr>
{% for row in tests %}<tr><td>{{ row.number }} {{ row.name }}{{ " (hidden)" if row.hidden }}</td>
<td>{{ row.module }}</td>
<td class="number">{{ row.passed }}/{{ row.ran }}</td><td class="number">{{ row.rate | percent }}</td>
<td class="number">{{ row.not_attempted }}</td></tr>
{% endfor %}</table>

<h2 id="mistakes-section">Named mistakes</h2>
<p class="note">Known mistakes the tests recognised, most common first (a student counts once per mistake).</p>
<table id="mistakes">
<tr><th>students</th><th>module</th><th>function</th><th>mistake</th><th>who</th></tr>
{% for row in mistakes %}<tr><td class="number">{{ row.students | length }}</td><td>{{ row.module }}</td>
<td>{{ row.function }}</td><td>{{ row.cause }}</td><td>{{ row.students | join(", ") }}</td></tr>
{% else %}<tr><td colspan="5">No named mistakes.</td></tr>
{% endfor %}</table>

<h2 id="withdrawn-section">Points lost to hidden re-checks</h2>
<p class="note">Public tests that passed, withdrawn because a hidden re-check on fresh inputs failed.</p>
<table id="withdrawn">
<tr><th>student</th><th>points lost</th><th>tests withdrawn</th></tr>
{% for row in withdrawn %}<tr><td>{{ row.id }}</td><td class="number">{{ row.points | points }}</td>
<td>{{ row.tests | join("; ") }}</td></tr>
{% else %}<tr><td colspan="3">Nobody.</td></tr>
{% endfor %}</table>

<h2 id="problems">Import failures, time limits, crashes</h2>
<table id="problem-list">
<tr><th>student</th><th>what</th><th>where</th><th>detail</th></tr>
{% for row in problems %}<tr><td>{{ row.id }}</td><td>{{ row.what }}</td><td>{{ row.where }}</td>
<td><code>{{ row.detail }}</code></td></tr>
{% else %}<tr><td colspan="4">None.</td></tr>
{% endfor %}</table>

<h2 id="isolation">Weaker isolation</h2>
{% if isolated %}<p>{{ isolated | length }} of {{ count }} ran with less than the sandbox's full isolation
({{ isolation | join("; ") }}): {{ isolated | join(", ") }}.</p>
{% else %}<p>Every submission ran in the full sandbox.</p>{% endif %}

<h2 id="similarity">Similar submissions</h2>
<p class="note">{{ compared }} pairs compared module by module with copydetect (identifiers, layout and order of
functions ignored{{ ", the starter code excluded" if stubs_found else "; the starter code was NOT found and is not
excluded" }}); every score is in <a href="similarity.csv">similarity.csv</a>. A pair above {{ threshold }} is shown
below: a lead to read, not a verdict.</p>
<table id="similar-pairs">
<tr><th>similarity</th><th>module</th><th>students</th></tr>
{% for pair in top_pairs %}<tr><td class="number">{{ pair.similarity | fixed }}</td><td>{{ pair.module }}</td>
<td>{{ pair.id_a }}, {{ pair.id_b }}{% if pair.similarity > threshold %} <span class="flag">above {{ threshold
}}</span>{% endif %}</td></tr>
{% else %}<tr><td colspan="3">Fewer than two submissions to compare.</td></tr>
{% endfor %}</table>
{% if flagged_count > flagged | length %}<p>{{ flagged_count }} pairs are above {{ threshold }}; the {{ flagged | length
}} most similar are shown with their code, every one is in <a href="similarity.csv">similarity.csv</a>.</p>{% endif %}
{% for pair in flagged %}<section class="flagged-pair">
<h3>{{ pair.module }}: {{ pair.id_a }} and {{ pair.id_b }}, similarity {{ pair.similarity | fixed }}</h3>
<p>{{ pair.fraction_a | percent }} of {{ pair.id_a }}'s code is found in {{ pair.id_b }}'s,
{{ pair.fraction_b | percent }} of {{ pair.id_b }}'s in {{ pair.id_a }}'s.</p>
<div class="side-by-side"><div><b>{{ pair.id_a }}</b><pre>{{ pair.code_a | safe }}</pre></div>
<div><b>{{ pair.id_b }}</b><pre>{{ pair.code_b | safe }}</pre></div></div>
</section>
{% endfor %}

<h2 id="students">Students</h2>
<table id="student-list">
<tr><th>student</th><th>total</th>{% for module in module_names %}<th>{{ module }}</th>{% endfor %}<th>flags</th></tr>
{% for row in students %}<tr><td><a href="{{ row.id | urlencode }}/{{ feedback_file }}">{{ row.id }}</a></td>
<td class="number">{{ row.score | points }}/{{ row.max_score | points }}</td>
{% for score in row.modules %}<td class="number">{{ score[0] | points if score else "" }}</td>{% endfor %}
<td>{% for flag in row.flags %}<span class="flag">{{ flag }}</span>{% endfor %}</td></tr>
{% endfor %}</table>
</body>
</html>
"""
)

FEEDBACK_TEMPLATE = (
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ policy }}">
<title>{{ title }}</title>
<style>"""
    + STYLE
    + """ pre { background: #f8f8f8; border: 1px solid #ddd; padding: 0.5em; white-space: pre-wrap; }</style>
</head>
<body>
<p><a href="../report.html">class report</a></p>
{{ body | safe }}
{% if pictures %}<h2>Your trained nets</h2>
{% for caption, source in pictures %}<figure><img src="{{ source }}" alt="{{ caption }}" style="max-width: 100%">
<figcaption>{{ caption }}</figcaption></figure>
{% endfor %}{% endif %}
</body>
</html>
"""
)
