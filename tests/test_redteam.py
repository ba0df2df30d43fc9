"""The red team: every malicious submission of tests/redteam/attacks.py, graded for real.

Each attack and its honest base (the same code without the attack) are graded
the way an instructor grades a class: sandboxed, hidden tests on with a fixed
seed, through `grader.engine.batch` into one output folder, two batches at a time, beside the
reference solution. Then:

- an attack scores no more than its base, and the grader returned a complete
  result for it (every test of its modules, passed or failed) within its time;
- nothing outside the grader's own folders changed: decoy results files, the
  submission folders, result files in /tmp, and no forged text anywhere in the
  output folder, a few seconds after the last grading (daemons had time);
- the reference scored full marks while the attacks were graded beside it,
  and `dlgrade grade` over every submission lists every one of them.

An attack that exploits a weakness the grader still has is a strict xfail
whose reason names it: it starts failing (XPASS) the day the weakness is
fixed, so the marker can go. The sandbox's own limits (processes, memory,
disk) are checked directly on `grader.engine.sandbox.Sandboxed` at the end.
"""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader.course import MODULES, TOTAL_POINTS
from grader.engine import batch, scoring
from grader.engine.feedback import Mismatch, check_equal, describe_call
from grader.engine.sandbox import Sandboxed
from grader.engine.student import Student, TimeLimitExceeded, WorkerCrashed, exception_from_report
from grader.limits import LIMITS
from grader.results.model import GradingResult, load
from tests.helpers import ROOT, SOLUTIONS, failures, make_submission, memory_groups_work
from tests.redteam.attacks import (
    ATTACK_CLASSES,
    ATTACKS,
    ECHO,
    FORGED,
    MORE_CLASSES,
    REPLY_FD,
    Places,
    build_attack,
    build_base,
)

SEED = 1  # the hidden tests' seed, the same for every submission
BASE_TIME_LIMIT = 180.0  # seconds for an honest base's whole grading
DAEMON_SECONDS = 3.0  # how long to wait after the last grading for a daemon to strike
SUITE = ROOT / "grader" / "suite"
# The reference is graded on every module whose suite exists (all eight once the course is complete).
REFERENCE_MODULES = [module for module in MODULES if (SUITE / f"test_{module}.py").is_file()]
REFERENCE_TIME_LIMIT = 900.0
# Rough seconds to grade a module here, to start the long gradings first (the training
# attacks of gradient_descent also wait out its 20 s limit).
BATCH_SIZE = 4  # submissions graded one after another by one batch's lane
SECONDS_TO_GRADE = {"activations": 5, "forward": 5, "gradient_descent": 35, "softmax_loss": 15}
# Result-file places an attack aims at on the grading machine itself.
HOST_FILES = [
    Path(path)
    for path in (
        "/tmp/results.json",
        "/tmp/grades.csv",
        "/results.json",
        "/grades.csv",
        "/autograder/results/results.json",
    )
]


def sandbox_isolation() -> str:
    """What isolation the sandbox achieves here (namespaces need root on Linux)."""
    backend = Sandboxed(SOLUTIONS)
    student = Student(backend)
    try:
        student.activations.relu([1.0])
        return backend.isolation or ""
    finally:
        student.close()


def fingerprint(folder: Path) -> dict:
    """Every file under `folder` (links not followed) -> a digest of its content."""
    prints = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_symlink():
            prints[str(path)] = "link:" + os.readlink(path)
        elif path.is_file():
            prints[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return prints


def host_files_state() -> dict:
    return {str(path): (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None for path in HOST_FILES}


@dataclasses.dataclass
class Campaign:
    """Everything graded once for this module's tests."""

    root: Path
    out: Path
    namespaces: bool
    isolation: str
    paths: dict  # id -> submission folder
    rows: dict  # id -> the gradebook row grade_batch returned
    before: dict  # folder -> its fingerprint before grading (watched decoys, submissions)
    host_before: dict
    seconds: float

    def watch(self, identifier: str) -> Path:
        return self.root / "watch" / identifier

    def unchanged(self, folder: Path) -> bool:
        return fingerprint(folder) == self.before[folder]

    def result(self, identifier: str) -> GradingResult:
        path = self.out / identifier / "results.json"
        assert path.is_file(), f"{identifier} has no results.json; its row: {self.rows.get(identifier)}"
        return load(path)


def plan(attacks) -> tuple[list, list]:
    """(batches graded two at a time, batches graded alone), each (ids, modules, time limit).

    The submissions graded on the same modules with the same time limit make
    one batch, as an instructor's class does: its lanes load torch, the suite
    and the worker template once for all of them.
    """
    batches, alone, seen = {}, [], set()
    for attack in attacks:
        base = attack.base
        if base.name not in seen:
            seen.add(base.name)
            batches.setdefault((base.modules_to_grade, BASE_TIME_LIMIT), []).append(base.name)
        if attack.solo:
            alone.append(([attack.name], attack.modules_to_grade, attack.time_limit))
        else:
            batches.setdefault((attack.modules_to_grade, attack.time_limit), []).append(attack.name)
    # A few submissions per batch, so that two batches at a time keep both cores busy while one waits
    # out a stalling attack's limit; longest first, so that the two threads finish together.
    grouped = [
        (names[start : start + BATCH_SIZE], modules, limit)
        for (modules, limit), names in batches.items()
        for start in range(0, len(names), BATCH_SIZE)
    ]
    grouped.sort(key=lambda batch: -len(batch[0]) * sum(SECONDS_TO_GRADE.get(module, 10) for module in batch[1]))
    return grouped, alone


@pytest.fixture(scope="module")
def campaign():
    started = time.monotonic()
    isolation = sandbox_isolation()
    namespaces = isolation.startswith("namespaces")
    root = Path(tempfile.mkdtemp(prefix="dlgrade-redteam-"))
    out, submissions = root / "out", root / "submissions"
    attacks = [attack for attack in ATTACKS if namespaces or not attack.needs_namespaces]
    paths = {}
    builds = [(attack.base.name, build_base, attack.base) for attack in attacks]
    builds += [(attack.name, build_attack, attack) for attack in attacks]
    for identifier, build, what in builds:
        if identifier in paths:
            continue
        watch = root / "watch" / identifier
        watch.mkdir(parents=True)
        # Decoys: result files an attack would love to overwrite.
        (watch / "results.json").write_text(json.dumps({"score": 0.0, "max_score": 100.0, "tests": []}))
        (watch / "grades.csv").write_text("id,total,status\nsomeone,12,graded\n")
        paths[identifier] = build(what, submissions / identifier, Places(watch=watch, root=root))
    paths["reference"] = make_submission(submissions / "reference")
    before = {
        folder: fingerprint(folder)
        for identifier in paths
        for folder in (submissions / identifier, root / "watch" / identifier)
    }
    host_before = host_files_state()
    rows = {}

    def grade(identifiers, modules, time_limit):
        for row in batch.grade_batch(
            [paths[identifier] for identifier in identifiers],
            out,
            jobs=1,
            progress=False,
            modules=list(modules),
            hidden=True,
            seed=SEED,
            time_limit=time_limit,
        ):
            rows[row["id"]] = row

    batches, alone = plan(attacks)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as beside:
        reference = beside.submit(grade, ["reference"], REFERENCE_MODULES, REFERENCE_TIME_LIMIT)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda job: grade(*job), batches))
        reference.result()
    for job in alone:  # bombs that exhaust what every sandboxed worker shares
        grade(*job)
    time.sleep(DAEMON_SECONDS)
    yield Campaign(
        root=root,
        out=out,
        namespaces=namespaces,
        isolation=isolation,
        paths=paths,
        rows=rows,
        before=before,
        host_before=host_before,
        seconds=time.monotonic() - started,
    )
    shutil.rmtree(root, ignore_errors=True)


def known_weakness(attack):
    """A strict xfail for an attack that exploits a weakness the grader still has."""
    if attack.weakness:
        return [pytest.mark.xfail(strict=True, reason=f"known weakness: {attack.weakness}")]
    return []


def assert_complete(result: GradingResult, expected: GradingResult, what: str):
    """Every test `expected` has, in order, each passed or failed, and no sign of an unfinished run."""
    assert [test.name for test in result.tests] == [test.name for test in expected.tests], (
        f"{what}: the tests differ from the honest base's"
    )
    assert all(test.status in ("passed", "failed") for test in result.tests), what
    assert not any(test.output.startswith("not run") for test in result.tests), f"{what}:\n{failures(result)}"
    assert "incomplete" not in result.extra, f"{what}: {result.extra['incomplete']}"


def test_the_catalogue_covers_every_attack_class():
    kinds = {attack.kind for attack in ATTACKS}
    assert set(ATTACK_CLASSES) <= kinds, f"no attack of class {sorted(set(ATTACK_CLASSES) - kinds)}"
    assert kinds <= set(ATTACK_CLASSES) | set(MORE_CLASSES), sorted(kinds - set(ATTACK_CLASSES))
    assert len(ATTACKS) >= 16
    names = [attack.name for attack in ATTACKS] + [attack.base.name for attack in ATTACKS]
    assert len({attack.name for attack in ATTACKS}) == len(ATTACKS), "attack names must be unique"
    assert "reference" not in names


@pytest.mark.parametrize(
    "attack", [pytest.param(attack, marks=known_weakness(attack), id=attack.name) for attack in ATTACKS]
)
def test_attack_scores_no_more_than_its_honest_base(attack, campaign):
    if attack.needs_namespaces and not campaign.namespaces:
        pytest.skip(f"only the namespace sandbox stops this attack; here: {campaign.isolation}")
    base = campaign.result(attack.base.name)
    attacked = campaign.result(attack.name)
    assert_complete(base, base, f"the honest base {attack.base.name}")
    assert base.score < base.max_score, f"the honest base {attack.base.name} must lose points"
    assert_complete(attacked, base, attack.name)
    assert attacked.execution_time < attack.time_limit
    assert attacked.score <= base.score, (
        f"{attack.name} scored {attacked.score:g}, its honest base {base.score:g}:\n{failures(attacked)}"
    )
    for test in attacked.tests:
        assert FORGED not in test.output, f"{test.name}: {test.output}"
        if test.hidden:
            assert ECHO not in test.output, f"hidden feedback echoes the student's text: {test.output}"
    assert attacked.extra.get("seed") == SEED
    if attack.writes_files:
        assert campaign.unchanged(campaign.watch(attack.name)), f"{attack.name} wrote beside its decoys"
        assert campaign.unchanged(campaign.root / "submissions" / attack.name), f"{attack.name} changed its folder"
        written = campaign.out / attack.name
        assert not any(FORGED in path.read_text(errors="replace") for path in written.iterdir() if path.is_file())


def test_no_attack_changed_a_file_outside_the_graders_folders(campaign):
    """The decoys and submissions of every attack but the known weaknesses', /tmp's result files, the output."""
    weak = {attack.name for attack in ATTACKS if known_weakness(attack)}
    changed = [str(folder) for folder in campaign.before if folder.name not in weak and not campaign.unchanged(folder)]
    assert not changed, f"changed during grading: {changed}"
    assert host_files_state() == campaign.host_before, "a result file on the grading machine changed"
    forged = [
        str(path) for path in campaign.out.rglob("*") if path.is_file() and FORGED in path.read_text(errors="replace")
    ]
    assert not forged, f"forged results in the output folder: {forged}"
    assert {path.name for path in campaign.out.iterdir()} == set(campaign.rows) | {
        "grades.csv",
        "summary.md",
        "canvas.csv",
    }


def test_the_stalling_attack_really_stalls_the_reply_and_is_cut_at_the_call_limit(campaign):
    """The attack finds the reply pipe (as any code in the worker can) and stalls it mid-message."""
    result = campaign.result("reply-pipe-stalled-mid-message")
    outputs = [test.output for test in result.tests if test.exercise == "train_two_layer_net" and not test.hidden]
    assert outputs and all("did not finish in" in output for output in outputs), outputs


def test_the_reference_scores_full_marks_beside_the_attacks(campaign):
    reference = campaign.result("reference")
    assert reference.score == reference.max_score, failures(reference)
    if len(REFERENCE_MODULES) == len(MODULES):
        assert reference.score == TOTAL_POINTS
    assert "incomplete" not in reference.extra


def test_the_gradebook_and_the_class_report_hold_every_submission(campaign):
    """Every attack's row, graded, in one gradebook; `dlgrade report` over them all, nothing forged in it.

    (A rerun of `dlgrade grade` with other options than each attack's regrades it, by design: the
    campaign's rows are the batch's own.)
    """
    from grader.cli import main
    from grader.results import formats
    from grader.system import write_atomically

    rows = campaign.rows
    assert set(rows) == set(campaign.paths), set(campaign.paths) ^ set(rows)
    reference = rows["reference"]
    assert reference["status"] == "graded" and reference["total"] == reference["max_total"], reference
    if len(REFERENCE_MODULES) == len(MODULES):
        assert float(reference["total"]) == TOTAL_POINTS
    weak = {attack.name for attack in ATTACKS if known_weakness(attack)}
    for identifier, row in rows.items():
        assert row["total"] != "", f"{identifier} has no total: {row}"
        if identifier not in weak:
            assert row["status"] == "graded", row
    write_atomically(campaign.out / "grades.csv", formats.gradebook_csv(list(rows.values())))
    assert FORGED not in (campaign.out / "grades.csv").read_text()
    assert main(["report", str(campaign.out)]) == 0
    page = (campaign.out / "report.html").read_text()
    assert all(f">{identifier}<" in page for identifier in rows), "a submission is missing from the report"
    assert FORGED not in page and "<script" not in page.lower()


# -- feedback of hidden tests ----------------------------------------------------------

HIDDEN_INPUT = "[0.53771, -1.23456, 2.71828]"  # what a hidden test handed the student's code


@pytest.mark.parametrize(
    "report",
    [
        {
            "type": "ValueError",
            "builtin": "ValueError",
            "message": f"{ECHO} {HIDDEN_INPUT}",
            "phase": "call",
            "where": "activations.py, line 3",
            "trace": f'  File "activations.py", line 3\n    {HIDDEN_INPUT}',
        },
        {
            "type": "Exception",
            "builtin": "Exception",
            "message": f"{ECHO}{HIDDEN_INPUT}",
            "phase": "import",
            "where": "",
            "trace": "",
        },
        {  # the input in the exception's type name, and a forged "built-in" from a replaced dispatcher
            "type": "Leak_0_53771",
            "builtin": "Leak_0_53771",
            "message": "",
            "phase": "call",
            "where": "",
            "trace": "",
        },
        {"type": "Leak_0_53771", "builtin": "ValueError", "message": "", "phase": "call", "where": "", "trace": ""},
    ],
    ids=["raised-in-call", "raised-at-import", "type-name-and-forged-builtin", "type-name"],
)
def test_hidden_feedback_never_shows_what_the_students_code_said(report):
    error = exception_from_report(report, "your `relu_grad(float64 array of shape (3,))`")
    text = scoring.feedback_text(error, hidden=True)
    assert ECHO not in text and "0.53771" not in text and "53771" not in text, text


def test_hidden_feedback_never_shows_a_crashing_calls_last_output():
    error = WorkerCrashed(
        f"your `relu_grad(1.5)` ended the process running your code (it exited with status 0 "
        f"in the middle of the call (os._exit or a crash); its last output: {ECHO}{HIDDEN_INPUT}"
    )
    text = scoring.feedback_text(error, hidden=True)
    assert ECHO not in text and "0.53771" not in text, text


def test_hidden_feedback_never_shows_the_hidden_inputs():
    arguments, options = (37, 5), {"stride": 3, "padding": 2, "dilation": 1}  # as drawn by a hidden test
    try:
        check_equal(13, 12, call=describe_call("conv_output_size", arguments, options), what="size")
    except Mismatch as error:
        text = scoring.feedback_text(error, hidden=True)
    assert "37" not in text and "stride=3" not in text, text


# -- limits every sandboxed worker shares -----------------------------------------------

needs_namespaces = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and os.geteuid() == 0),
    reason="checks the namespace sandbox, which needs root on Linux",
)

HOLD_PROCESSES = '''
import os


def hold_processes():
    """Fork until refused; the children exit, and stay as zombies nobody reaps."""
    count = 0
    while True:
        try:
            child = os.fork()
        except OSError:
            return count
        if child == 0:
            os._exit(0)
        count += 1
'''
MATRIX_PRODUCT = """
import numpy as np


def matrix_product():
    a = np.ones((400, 400))
    return float((a @ a).sum())
"""


def submission_of(folder: Path, code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "activations.py").write_text(code)
    return folder


@needs_namespaces
def test_a_fork_bomb_costs_a_submission_graded_beside_it_nothing(tmp_path):
    bomb = Student(Sandboxed(submission_of(tmp_path / "bomb", HOLD_PROCESSES)))
    victim = Student(Sandboxed(submission_of(tmp_path / "victim", MATRIX_PRODUCT)))
    try:
        assert bomb.activations.hold_processes() > 0
        with victim.limited_to(10):
            try:
                assert victim.activations.matrix_product() == 400.0**3
            except TimeLimitExceeded as error:
                pytest.fail(f"the bystander's call failed: {error}")
    finally:
        bomb.close()
        victim.close()


HOLD_MEMORY = '''
import os
import select
import time

import numpy as np


def hold_memory(children, megabytes):
    """Children that each touch `megabytes` of memory; how many hold theirs at the same moment."""
    ready_read, ready_write = os.pipe()
    pids = []
    for _ in range(children):
        pid = os.fork()
        if pid == 0:
            try:
                block = np.ones(megabytes * (1 << 20) // 8)
                os.write(ready_write, b"1")
                time.sleep(30)
            finally:
                os._exit(0)
        pids.append(pid)
    os.close(ready_write)
    ready, dead, deadline = 0, set(), time.monotonic() + 40
    while ready + len(dead) < children and time.monotonic() < deadline:
        if select.select([ready_read], [], [], 0.1)[0]:
            ready += len(os.read(ready_read, children))
        dead |= {pid for pid in pids if pid not in dead and os.waitpid(pid, os.WNOHANG)[0]}
    time.sleep(0.5)  # any limit has acted by now
    alive = [pid for pid in pids if pid not in dead and not os.waitpid(pid, os.WNOHANG)[0]]
    for pid in alive:
        os.kill(pid, 9)
    return len(alive)
'''


@needs_namespaces
@pytest.mark.xfail(
    not memory_groups_work(),
    strict=True,
    reason="known weakness where no memory cgroup can be made (not root, or cgroup v2 without "
    "memory delegated): RLIMIT_AS bounds each process, not the worker's process tree, so with 64 "
    "processes a submission can hold 64 x memory_bytes (256 GB by default)",
)
def test_the_worker_and_its_children_share_one_memory_limit(tmp_path):
    limits = dataclasses.replace(LIMITS, memory_bytes=1024**3)
    backend = Sandboxed(submission_of(tmp_path / "hog", HOLD_MEMORY), limits=limits)
    student = Student(backend)
    try:
        with student.limited_to(60):
            held = student.activations.hold_memory(4, 400)
        assert "cgroup" in backend.isolation
        group = backend._memory_group.folder
    finally:
        student.close()
    assert held * 400 * 1024**2 <= limits.memory_bytes, f"{held} children held 400 MB each at once"
    assert not group.exists(), "the worker's cgroup outlived it"


FILL_DISK = '''
import os


def fill_disk(megabytes_per_file, files):
    """Write `files` files of `megabytes_per_file` into the working folder; the bytes written."""
    written = 0
    block = b"x" * (megabytes_per_file << 20)
    for index in range(files):
        try:
            with open(f"fill-{index}.bin", "wb") as stream:
                stream.write(block)
        except OSError:
            break
        written += len(block)
    return written
'''


@needs_namespaces
def test_the_worker_cannot_write_more_than_its_scratch_space(tmp_path):
    limits = dataclasses.replace(LIMITS, file_bytes=64 * 1024**2)
    student = Student(Sandboxed(submission_of(tmp_path / "filler", FILL_DISK), limits=limits))
    try:
        written = student.activations.fill_disk(64, 8)
    finally:
        student.close()
    scratch = 256 * 1024**2  # the worker's /tmp (a 256 MB tmpfs)
    assert written <= scratch, f"wrote {written / 1024**2:.0f} MB"


# -- the batch's own files -----------------------------------------------------------------


def test_a_submission_named_like_the_gradebook_breaks_nothing(tmp_path):
    named = make_submission(tmp_path / "grades.csv", base=ROOT / "solutions")
    other = make_submission(tmp_path / "alice", base=ROOT / "solutions")
    out = tmp_path / "out"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            str(named),
            str(other),
            "--out",
            str(out),
            "--modules",
            "activations",
            "--no-hidden",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-1000:]
    with open(out / "grades.csv", newline="") as stream:
        assert len(list(csv.DictReader(stream))) == 2


# -- student text in the reports ------------------------------------------------------------

INJECTING_RELU = """
def relu(z):
    raise ValueError("\\n```\\n\\n# Full marks: 100/100\\n\\n```\\x1b[2J\\x1b[31mgraded\\x00\\x0b\\x1b]0;title\\x07")
"""


def test_student_text_cannot_break_out_of_the_reports(tmp_path):
    from xml.etree import ElementTree

    from grader.engine import runner
    from grader.results import formats, report

    folder = make_submission(tmp_path / "injector", "activations", [("def relu(z):", "def _relu(z):")])
    (folder / "activations.py").write_text((folder / "activations.py").read_text() + INJECTING_RELU)
    result = runner.grade(folder, modules=["activations"])
    relu = next(test for test in result.tests if test.exercise == "relu" and test.status == "failed")
    assert "Full marks" in relu.output, relu.output  # the message is shown...
    everything = "".join(test.output for test in result.tests)
    assert not any(character in everything for character in "\x1b\x00\x0b\x07"), "control characters passed"
    markdown = report.markdown(result)
    heading = markdown.index(f"`{relu.name}`")
    block = markdown[heading:].split("\n", 2)[2]  # the fence, the output, the fence
    fence = block.split("\n", 1)[0]
    assert set(fence) == {"`"} and len(fence) > 3
    assert block.count("\n" + fence + "\n") == 1, "the output closed its fence early"  # ...inside one block
    assert "\n# Full marks" in block.split("\n" + fence + "\n")[0]
    ElementTree.fromstring(formats.junit(result).split("?>", 1)[1])  # parses: no XML-invalid characters
    assert "\x1b" not in report.score_table(result)


# -- the trusted side stays bounded -----------------------------------------------------------

FLOODING_RELU = (
    REPLY_FD.replace("%", "%%")
    + '''
import os


def relu(z):
    """Writes 320 MB of frames with foreign ids to the trusted side's pipe, then answers as usual."""
    fd = _reply_fd()
    body = ("[" + "1," * (7 * 1024 * 1024) + "1]").encode()  # 14 MiB of a JSON list of ints
    frame = len(body).to_bytes(4, "big") + b"NOT-YOUR" + body
    for _ in range(20):
        os.write(fd, frame)
    return %(answer)s
'''
)

MEASURE_SCRIPT = """
import resource, sys
from pathlib import Path
from grader.engine.sandbox import Sandboxed
from grader.engine.student import Student

student = Student(Sandboxed(Path(sys.argv[1])))
try:
    print(repr(student.activations.relu(0)))
finally:
    student.close()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)  # MiB
"""


def peak_of_a_call(folder: Path) -> tuple[str, int]:
    completed = subprocess.run([sys.executable, "-c", MEASURE_SCRIPT, str(folder)], capture_output=True, text=True,
                               timeout=300, cwd=ROOT)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    answer, peak = completed.stdout.strip().splitlines()[-2:]
    return answer, int(peak)


def test_a_flood_of_foreign_frames_is_skipped_unread(tmp_path):
    flood, plain = tmp_path / "flood", tmp_path / "plain"
    for folder, code in ((flood, FLOODING_RELU % {"answer": "41"}), (plain, "def relu(z):\n    return 41\n")):
        folder.mkdir()
        (folder / "activations.py").write_text(code)
    answer, flooded_peak = peak_of_a_call(flood)
    _, plain_peak = peak_of_a_call(plain)
    assert answer == "41", "the real reply after the flood was lost"
    # Parsing one 14 MiB frame of ints alone takes over 300 MiB; all twenty, gigabytes.
    assert flooded_peak <= plain_peak + 32, f"{flooded_peak} MiB against {plain_peak} MiB without the flood"


def test_a_frame_over_the_cap_is_refused_unread(tmp_path):
    folder = tmp_path / "huge"
    folder.mkdir()
    oversized = FLOODING_RELU.replace("7 * 1024 * 1024", "9 * 1024 * 1024") % {"answer": "41"}  # 18 MiB
    (folder / "activations.py").write_text(oversized)
    student = Student(Sandboxed(folder))
    try:
        with pytest.raises(WorkerCrashed, match="broke the grader's protocol"):
            student.activations.relu(0)
    finally:
        student.close()
