"""Isolation fails closed: without namespaces the worker gets a user of its own, or grading refuses.

Docker's default capability set has no CAP_SYS_ADMIN, so the worker's
namespaces cannot be made there; `capsh --drop=cap_sys_admin` gives this
machine the same limits. A worker must then never run the student's code as
root unless the instructor asks for it with `--allow-weak-isolation`; and as
a user of its own, without a mount namespace, it sees every file other users
may read, so grading also refuses while the reference or the hidden tests
are among them.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path

import pytest

from grader.worker.confinement import _closed_to_others
from tests.helpers import EXERCISES, ROOT

CAPSH = shutil.which("capsh")
GRADE_STUBS = [sys.executable, "-m", "grader", "grade", str(EXERCISES), "--format", "json", "--modules",
               "activations", "--no-hidden"]  # fmt: skip

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or CAPSH is None, reason="needs root and capsh")


def without_cap_sys_admin(command: list[str], temporary: Path) -> subprocess.CompletedProcess:
    """`command` under capsh, its temporary files (the worker's library among them) in `temporary`."""
    temporary.mkdir(mode=0o755)
    script = " ".join(f"'{part}'" for part in command)
    return subprocess.run([CAPSH, "--drop=cap_sys_admin", "--", "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "TMPDIR": str(temporary)})  # fmt: skip


def root_workers(temporary: Path) -> list[int]:
    """Processes of uid 0 running a worker whose library lies in `temporary`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and entry.stat().st_uid == 0
                and str(temporary).encode() in (entry / "cmdline").read_bytes()
            ):
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def test_without_cap_sys_admin_the_stubs_score_0_as_their_own_user_or_grading_refuses(tmp_path):
    os.chmod(tmp_path, 0o755)
    completed = without_cap_sys_admin(GRADE_STUBS, tmp_path / "tmp")
    if completed.returncode == 2:
        assert completed.stderr.count("\n") == 1, completed.stderr
        assert "refusing to run the students' code as root" in completed.stderr
        assert "--allow-weak-isolation" in completed.stderr and completed.stdout == ""
    else:
        assert completed.returncode == 0, completed.stderr
        result = json.loads(completed.stdout)
        assert result["score"] == 0 and result["extra_data"]["isolation"].startswith("a user of its own")
    assert root_workers(tmp_path) == []


def test_weak_isolation_is_only_ever_what_the_instructor_asked_for_and_says_so(tmp_path):
    os.chmod(tmp_path, 0o755)
    completed = without_cap_sys_admin([*GRADE_STUBS, "--allow-weak-isolation"], tmp_path / "tmp")
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["score"] == 0
    assert result["extra_data"]["weak_isolation_allowed"] is True
    isolation = result["extra_data"]["isolation"]
    assert "namespaces unavailable" in isolation
    assert isolation.startswith("a user of its own") or "AS ROOT (weak isolation allowed:" in isolation


def test_a_folder_closed_to_other_users_is_named(open_folder):
    closed = open_folder / "closed"
    (closed / "inside").mkdir(parents=True)
    os.chmod(closed, 0o700)
    assert _closed_to_others(str(closed / "inside")) == str(closed)
    os.chmod(closed, 0o755)
    assert _closed_to_others(str(closed / "inside")) is None


PROBE_MODULE = textwrap.dedent("""
    import os, time

    def sigmoid(z):
        def readable(path):
            try:
                open(path, "rb").close()
                return True
            except OSError:
                return False
        return [os.getuid(), os.getgid(), os.getgroups(), readable("/etc/shadow"), readable(%(hidden)r)]

    def tanh(z):
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(600)
            os._exit(0)
        return "daemon started"
""")

# Grades through a Sandboxed backend without namespaces, as root, and reports what the worker could do.
FALLBACK_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from grader.engine.sandbox import Sandboxed
    from grader.engine.student import Student

    def processes_of(uid):  # running ones: a zombie waiting for init to reap it runs nothing
        found = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and os.stat("/proc/" + entry).st_uid == uid:
                    state = open("/proc/" + entry + "/stat").read().rsplit(")", 1)[1].split()[0]
                    found += [] if state == "Z" else [entry + ":" + state]
            except OSError:
                pass
        return found

    if sys.argv[2] == "no cgroup":  # as where no cgroup can be made: the daemon must die by its user alone
        import grader.engine.sandbox
        grader.engine.sandbox.MemoryGroup.create = staticmethod(lambda limit_bytes: None)
    backend = Sandboxed(Path(sys.argv[1]), namespaces=False)
    student = Student(backend)
    uid, gid, groups, shadow, hidden = student.activations.sigmoid(0)
    daemon = student.activations.tanh(0)
    time.sleep(0.5)
    before, isolation = len(processes_of(uid)), backend.isolation
    student.close()
    time.sleep(0.5)
    print(json.dumps(dict(uid=uid, gid=gid, groups=groups, shadow=shadow, hidden=hidden, daemon=daemon,
                          isolation=isolation, before=before, after=processes_of(uid))))
""")


@pytest.fixture
def open_folder():
    """A temporary folder other users may enter (pytest's own tmp_path lies in a folder only root may)."""
    folder = Path(tempfile.mkdtemp(prefix="dlgrade-open-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def readable_course(tmp_path):
    """(python, course): the system's Python 3.11 (readable by every user) seeing this one's packages,
    and a copy of the grader whose hidden tests only root may read."""
    system_python = Path("/usr/bin/python3.11")
    if not system_python.exists():
        pytest.fail("no /usr/bin/python3.11 to build a Python installation other users can read")
    folder = Path(tempfile.mkdtemp(prefix="dlgrade-readable-"))
    os.chmod(folder, 0o755)
    try:
        course = folder / "course"
        shutil.copytree(ROOT / "grader", course / "grader", ignore=shutil.ignore_patterns("__pycache__"))
        os.chmod(course / "grader" / "hidden", 0o700)
        subprocess.run([system_python, "-m", "venv", "--without-pip", folder / "venv"], check=True)
        python = folder / "venv" / "bin" / "python"
        site_packages = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                            capture_output=True, text=True, check=True).stdout.strip())  # fmt: skip
        parents = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], str(course)}
        (site_packages / "parent_site_packages.pth").write_text("\n".join(sorted(parents)) + "\n")
        yield python, course
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_fallback(python: Path, course: Path, tmp_path: Path, cgroup: bool = True) -> subprocess.CompletedProcess:
    submission = tmp_path / "submission"
    submission.mkdir()
    hidden = course / "grader" / "hidden" / "test_activations.py"
    (submission / "activations.py").write_text(PROBE_MODULE % {"hidden": str(hidden)})
    os.chmod(tmp_path, 0o755)
    os.chmod(submission, 0o755)
    command = [python, "-c", FALLBACK_SCRIPT, str(submission), "cgroup" if cgroup else "no cgroup"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)


@pytest.mark.parametrize("cgroup", [True, False], ids=["with a cgroup", "without a cgroup"])
def test_without_namespaces_the_worker_runs_as_a_user_of_its_own_and_its_daemons_die(readable_course, tmp_path,
                                                                                      cgroup):  # fmt: skip
    python, course = readable_course
    closed = [path for path in (sysconfig.get_paths()["purelib"], str(course)) if _closed_to_others(path)]
    completed = run_fallback(python, course, tmp_path, cgroup)
    if closed:  # this checkout's packages lie where other users cannot read them: refuse, never run as root
        assert completed.returncode != 0 and "refusing to run the students' code as root" in completed.stderr
        return
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["isolation"].startswith("a user of its own"), report
    assert report["uid"] >= 200_000 and report["gid"] == report["uid"] and report["groups"] == []
    assert report["shadow"] is False and report["hidden"] is False, "the worker reads what only root may"
    assert report["daemon"] == "daemon started" and report["before"] >= 2, report
    assert report["after"] == [], "a process of the worker's user outlived it"


def test_without_namespaces_readable_hidden_tests_make_grading_refuse(readable_course, tmp_path):
    python, course = readable_course
    os.chmod(course / "grader" / "hidden", 0o755)
    completed = run_fallback(python, course, tmp_path)
    assert completed.returncode != 0
    assert "refusing to run the students' code as root" in completed.stderr
    assert "other users can read" in completed.stderr or "other users cannot enter" in completed.stderr
