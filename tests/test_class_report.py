"""The class report (report.html, feedback.html) and the similarity of submissions (similarity.csv).

The class in tests/classes/ is hand-written: ada, ben, cleo and dev wrote
activations.py each their own way (ada and ben kept the stub's docstrings,
cleo and dev did not; cleo and dev made known mistakes), eve copied ben's
with the variables renamed, the functions reordered and the layout changed,
gus's does not import. finn (no folder there) hands in the stubs untouched.
Every one of them leaves the other modules stubs.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader import cli
from grader.course import MODULES
from grader.results import class_report, model, similarity
from grader.results.model import GradingResult, save
from tests.helpers import EXERCISES, ROOT

CLASS = Path(__file__).parent / "classes"
STUDENTS = ("ada", "ben", "cleo", "dev", "eve", "finn", "gus")
HONEST = ("ada", "ben", "cleo", "dev")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def hand_in(folder: Path, student: str) -> Path:
    """A student's submission: the stubs, with their own activations.py where they wrote one."""
    folder.mkdir(parents=True)
    for module in EXERCISES.glob("*.py"):
        if module.name != "__init__.py":
            shutil.copyfile(module, folder / module.name)
    written = CLASS / student / "activations.py"
    if written.is_file():
        shutil.copyfile(written, folder / "activations.py")
    return folder


def similarity_rows(out: Path) -> list[dict]:
    with (out / "similarity.csv").open(newline="") as file:
        return list(csv.DictReader(file))


class Page(HTMLParser):
    """What a test needs of a page: elements by id, each table's rows of cell texts, the links, the CSP."""

    def __init__(self, text: str):
        super().__init__()
        self.elements: dict[str, tuple[str, dict]] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.links: list[str] = []
        self.policy = ""
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        if "id" in attributes:
            self.elements[attributes["id"]] = (tag, attributes)
        if tag == "table":
            self._table = attributes.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "a":
            self.links.append(attributes.get("href", ""))
        elif tag == "meta" and attributes.get("http-equiv") == "Content-Security-Policy":
            self.policy = attributes["content"]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None


def chromium(*arguments: str) -> subprocess.CompletedProcess:
    # --no-sandbox: CI runs as root, where Chromium's own sandbox refuses to start
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def pixels_like(image, colour: str, tolerance: float = 0.03) -> int:
    """How many pixels of `image` (an RGB(A) float array) have the colour `#rrggbb`."""
    import numpy as np

    wanted = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((np.abs(image[..., :3] - wanted) <= tolerance).all(axis=-1).sum())


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The class graded for real by `dlgrade grade --out` (in-process, public tests, activations only)."""
    root = tmp_path_factory.mktemp("class")
    paths = [hand_in(root / "submissions" / student, student) for student in STUDENTS]
    out = root / "out"
    command = [sys.executable, "-m", "grader", "grade", *map(str, paths), "--out", str(out)]
    command += ["--modules", "activations", "--in-process", "--no-hidden", "--quiet"]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "class report:" in completed.stdout, completed.stdout + completed.stderr
    return out


def test_the_report_of_a_graded_class_shows_its_charts_and_tables_in_chromium(graded_class):
    if CHROMIUM is None and os.environ.get("CI") != "true":
        pytest.skip("chromium is not installed (.ci/run installs it in CI)")
    assert CHROMIUM, "chromium is needed in CI: .ci/run installs it"
    report = graded_class / "report.html"
    dumped = chromium("--dump-dom", report.as_uri())
    assert dumped.returncode == 0 and "<body" in dumped.stdout, dumped.stderr[-2000:]
    page = Page(dumped.stdout)

    for chart in ("score-histogram", "module-spread", "pass-rates"):
        tag, attributes = page.elements.get(chart, ("", {}))
        assert tag == "img" and attributes["src"].startswith("data:image/png;base64,"), chart

    mistakes = page.tables["mistakes"][1:]
    assert [row[0] for row in mistakes] == sorted((row[0] for row in mistakes), reverse=True)  # most common first
    by_cause = {row[3]: row for row in mistakes}
    relu = by_cause["relu_grad is 1 at z == 0: use z > 0, not z >= 0"]
    assert relu[0] == "2" and relu[4] == "cleo, dev", relu
    assert any("tanh derivative without the square" in cause and row[4] == "cleo" for cause, row in by_cause.items())
    assert any("whole array" in cause and row[4] == "ben, eve" for cause, row in by_cause.items())

    tests = page.tables["tests"][1:]
    assert tests[0][0] == "1.14 test_softmax_is_stable_for_large_inputs" and tests[0][2] == "2/7"  # ada and cleo
    problems = page.tables["problem-list"][1:]
    assert [row[:3] for row in problems] == [["gus", "import failure", "activations.py, line 1"]]
    assert "No module named 'nump'" in problems[0][3]

    students = {row[0]: row for row in page.tables["student-list"][1:]}
    assert set(students) == set(STUDENTS)
    assert students["ada"][1] == "14/14" and "import failure" in students["gus"][-1]
    assert "similar" in students["ben"][-1] and "similar" in students["eve"][-1]
    assert not any("similar" in students[student][-1] for student in ("ada", "cleo", "dev", "finn", "gus"))
    assert {f"{student}/feedback.html" for student in STUDENTS} <= set(page.links)
    for student in STUDENTS:
        feedback = Page((graded_class / student / "feedback.html").read_text())
        assert "Feedback for" in (graded_class / student / "feedback.html").read_text(), student
        assert "../report.html" in feedback.links

    # The page as a person sees it: the charts are drawn (their colours are on the screen).
    import matplotlib.image

    screenshot = graded_class / "report.png"
    shot = chromium(f"--screenshot={screenshot}", "--window-size=1280,3000", report.as_uri())
    assert shot.returncode == 0 and screenshot.is_file(), shot.stderr[-2000:]
    image = matplotlib.image.imread(screenshot)
    assert pixels_like(image, "#1f77b4") > 500  # the histogram's bars
    assert pixels_like(image, "#2ca02c") > 500 and pixels_like(image, "#d62728") > 100  # pass rates, high and low


def test_the_copy_is_the_top_pair_and_flagged_and_honest_work_and_stubs_are_not(graded_class):
    rows = similarity_rows(graded_class)
    activations = [row for row in rows if row["module"] == "activations"]
    assert (activations[0]["id_a"], activations[0]["id_b"]) == ("ben", "eve")
    assert float(activations[0]["similarity"]) > similarity.THRESHOLD
    pairs = {(row["id_a"], row["id_b"]): float(row["similarity"]) for row in activations}
    assert len(pairs) == len(STUDENTS) * (len(STUDENTS) - 1) // 2  # every pair compared
    honest = {pair: score for pair, score in pairs.items() if pair != ("ben", "eve") and "finn" not in pair}
    assert max(honest.values()) < similarity.THRESHOLD, honest
    assert all(score == 0 for pair, score in pairs.items() if "finn" in pair)  # finn's untouched stubs
    assert {row["module"] for row in rows} == {"activations"}  # the module graded
    assert [float(row["similarity"]) for row in rows] == sorted(
        (float(row["similarity"]) for row in rows), reverse=True
    )

    page = Page((graded_class / "report.html").read_text())
    text = (graded_class / "report.html").read_text()
    assert text.count('class="flagged-pair"') == 1 and "activations: ben and eve" in text
    assert page.tables["similar-pairs"][1][:3] == [
        f"{float(activations[0]['similarity']):.2f}",
        "activations",
        "ben, eve above 0.7",
    ]


def result(tests: list[model.TestResult], **extra) -> GradingResult:
    return GradingResult(tests=tests, extra={"isolation": "sandbox (namespaces, cgroup)", **extra})


def make_test(
    number: str, status: str = "passed", output: str = "", failure: dict | None = None, **fields
) -> model.TestResult:
    values = dict(name=f"test_{number.replace('.', '_')}", module="activations", exercise="relu", score=0.0)
    values.update(fields)
    values.setdefault("max_score", 1.0)
    if status == "passed":
        values["score"] = values["max_score"]
    return model.TestResult(number=number, status=status, output=output, failure=failure, **values)


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def write_class(out: Path, results: dict[str, GradingResult]):
    for identifier, graded in results.items():
        save(graded, out / identifier / "results.json")


def test_hidden_rechecks_timeouts_imports_and_weak_isolation_are_listed_and_student_text_is_escaped(tmp_path):
    write_class(
        tmp_path,
        {
            "withdrawn": result(
                [make_test("1.1", "failed", "passed the public inputs only", {"kind": "withdrawn"}, max_score=2.0)]
            ),
            "slow": result(
                [make_test("1.1"), make_test("1.2", "failed", f"time limit {HOSTILE}", {"kind": "timeout"})]
            ),
            "broken": result(
                [
                    make_test(
                        "1.1", "failed", f"does not import: {HOSTILE}", {"kind": "import", "file": "a.py", "line": 3}
                    ),
                    make_test(
                        "1.2", "failed", f"does not import: {HOSTILE}", {"kind": "import", "file": "a.py", "line": 3}
                    ),
                ]
            ),
            "root": result(
                [make_test("1.1")], isolation="user of its own: NO, AS ROOT (allowed by --allow-weak-isolation)"
            ),
            "named": result(
                [
                    make_test(
                        "1.1", "failed", HOSTILE, {"kind": "wrong", "function": HOSTILE, "cause": f"cause {HOSTILE}"}
                    )
                ]
            ),
        },
    )
    class_report.write_class_report(tmp_path)
    text = (tmp_path / "report.html").read_text()
    page = Page(text)
    assert page.tables["withdrawn"][1:] == [["withdrawn", "2", "1.1 test_1_1"]]
    problems = {(row[0], row[1], row[2]) for row in page.tables["problem-list"][1:]}
    assert problems == {("slow", "time limit", "1.2 test_1_2"), ("broken", "import failure", "a.py, line 3")}
    assert page.tables["mistakes"][1][3] == f"cause {HOSTILE}"  # shown as text
    assert "weaker isolation" in {row[0]: row for row in page.tables["student-list"][1:]}["root"][-1]
    assert "1 of 5 ran with less than the sandbox's full isolation" in text and ": root." in text
    # Student text is text: no tag of theirs survives in the report or their feedback page.
    for html_file in [tmp_path / "report.html", *tmp_path.glob("*/feedback.html")]:
        written = html_file.read_text()
        assert "<script" not in written and "<img src=x" not in written, html_file
    assert "&lt;script&gt;" in (tmp_path / "named" / "feedback.html").read_text()
    assert page.policy == class_report.CONTENT_SECURITY_POLICY  # and no script would run anyway


def test_similarity_sees_through_renaming_and_reordering_and_ignores_the_stubs(tmp_path):
    for student in STUDENTS:
        hand_in(tmp_path / student / similarity.SOURCES_FOLDER, student)
    pairs = similarity.compare(tmp_path, ["activations", "conv_size"])
    flagged = [(pair.module, pair.id_a, pair.id_b) for pair in pairs if pair.similarity > similarity.THRESHOLD]
    assert flagged == [("activations", "ben", "eve")]
    copy = pairs[0]
    assert min(copy.fraction_a, copy.fraction_b) > 0.9
    assert "highlight-red" in copy.code_a + copy.code_b and "&lt;" in copy.code_a  # copydetect's escaped HTML
    assert all(pair.similarity == 0 for pair in pairs if pair.module == "conv_size" or "finn" in (pair.id_a, pair.id_b))
    honest = [pair for pair in pairs if pair.module == "activations" and {pair.id_a, pair.id_b} <= set(HONEST)]
    assert len(honest) == 6 and all(pair.similarity < 0.5 for pair in honest)


def test_the_sources_of_a_zip_are_kept_as_its_modules(tmp_path):
    from grader.engine import batch, intake

    folder = hand_in(tmp_path / "ada", "ada")
    shutil.make_archive(str(tmp_path / "ada"), "zip", folder)
    (tmp_path / "out").mkdir()
    jobs = batch.identifiers([tmp_path / "ada.zip", tmp_path / "missing"])
    assert similarity.keep_sources(jobs, tmp_path / "out", intake.opened) == ["ada"]
    kept = tmp_path / "out" / "ada" / similarity.SOURCES_FOLDER
    assert (kept / "activations.py").read_bytes() == (CLASS / "ada" / "activations.py").read_bytes()
    assert sorted(path.name for path in kept.iterdir()) == sorted(f"{module}.py" for module in MODULES)


def test_report_needs_a_graded_out(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "no graded submission" in capsys.readouterr().err


def test_a_failing_report_loses_no_grade(tmp_path, monkeypatch, capsys):
    from grader.engine import batch

    def grade_batch(paths, out, **options):
        (out / "grades.csv").parent.mkdir(parents=True, exist_ok=True)
        (out / "grades.csv").write_text("id,total,status\nada,14,graded\n")
        return [{"id": "ada", "total": 14, "status": "graded"}]

    def broken(*arguments, **options):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(batch, "grade_batch", grade_batch)
    monkeypatch.setattr(class_report, "write_after_grading", broken)
    submission = hand_in(tmp_path / "ada", "ada")
    code = cli.main(["grade", str(submission), "--out", str(tmp_path / "out"), "--in-process", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0 and "graded 1/1" in captured.out
    assert "class report failed (RuntimeError: no fonts)" in captured.err
    assert (tmp_path / "out" / "grades.csv").is_file()


def test_a_results_file_without_failures_still_reports(tmp_path):
    """Results written before tests carried their structured failure: no mistakes named, nothing breaks."""
    data = result([make_test("1.1"), make_test("1.2", "failed", "wrong")]).to_json()
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "results.json").write_text(json.dumps(data))
    class_report.write_class_report(tmp_path)
    page = Page((tmp_path / "report.html").read_text())
    assert page.tables["mistakes"][1:] == [["No named mistakes."]]
    assert page.tables["student-list"][1][:2] == ["old", "1/2"]
