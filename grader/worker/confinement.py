"""Confining the worker process, from inside it, before any student code runs.

Always: resource limits (address space, CPU seconds, file size, processes),
and membership of the memory cgroup the trusted side made, where it could
(see `grader.engine.cgroup`).
Where the OS allows it (Linux, as root): new mount, PID, IPC and network
namespaces, a root file system holding only the Python installation and the
system libraries (read-only), the grader's worker library (read-only) and the
submission copy, and the process drops to a user id of its own (no account, no privileges). Every process the
student's code starts then lives in the PID namespace and dies with it, and
there is no network. Without namespaces (a container without CAP_SYS_ADMIN, Docker's default) a
worker started as root still drops to a user of its own before any student
code runs; where it cannot (no CAP_SETUID, or a Python installation other
users cannot read), it refuses to run as root unless the instructor allowed
weak isolation (`--allow-weak-isolation`). Elsewhere (macOS, a grader not
run as root) the limits alone apply. `confine` says which isolation it
achieved.

Runs with the standard library only, in the fresh worker before any of the
student's code is loaded.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import stat
import sys

from grader.errors import IsolationRefused

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
FIRST_WORKER_UID = 200_000  # worker users are 200000 + a PID: above any real account, no passwd entry needed
SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/alternatives")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")


def set_limits(limits: dict):
    """Resource limits of this process and everything it starts."""
    for name, value in (
        ("RLIMIT_AS", limits["memory_bytes"]),
        ("RLIMIT_CPU", limits["cpu_seconds"]),
        ("RLIMIT_FSIZE", limits["file_bytes"]),
        ("RLIMIT_CORE", 0),
    ):
        if hasattr(resource, name) and value is not None:
            try:
                resource.setrlimit(getattr(resource, name), (value, value))
            except (ValueError, OSError):
                pass  # the platform does not enforce this one (RLIMIT_AS on macOS)


def set_process_limit(count: int):
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (count, count))
    except (ValueError, OSError, AttributeError):
        pass


def confine(config: dict, report_pid) -> tuple[str, dict]:
    """Confine this process; returns (isolation description, paths as seen from inside).

    `report_pid(pid, uid)` is called once with the global PID of the process
    that will run the student's code and, where it gets a user of its own, that
    user's id: the trusted side reads the CPU time of every process of that
    user (or, without one, of the process group).
    """
    paths = {"library": config["library"], "submission": config["submission"], "home": config["home"]}
    # Join the memory cgroup the trusted side made (grader.engine.cgroup) before anything
    # else: every process started from here on shares its one limit.
    grouped = _join(config.get("cgroup_procs"))
    tree = ", one memory limit for its whole process tree (cgroup)" if grouped else ""
    _join(config.get("cpu_procs"))  # the group the trusted side reads the CPU time of, ended processes included
    if sys.platform.startswith("linux"):
        # Die with the grader: a killed grading run leaves no worker spinning.
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    reason = ""
    if config.get("namespaces") and sys.platform.startswith("linux") and os.geteuid() == 0:
        try:
            return _enter_namespaces(config, report_pid) + tree, {
                "library": "/grader-lib",
                "submission": "/submission",
                "home": "/tmp",
            }
        except OSError as error:
            reason = f" (namespaces unavailable: {error.strerror or error})"
    weak = ""
    if sys.platform.startswith("linux") and os.geteuid() == 0:
        problem = why_no_user_of_its_own([config["library"], config["submission"]], config.get("secret_paths", []))
        if problem is None:
            worker_uid = FIRST_WORKER_UID + os.getpid()
            report_pid(os.getpid(), worker_uid)
            set_limits(config["limits"])
            _become(worker_uid, [config["home"], config["submission"]], config["limits"]["processes"])
            return f"a user of its own and resource limits, no namespaces{reason}{tree}", paths
        if not config.get("allow_weak_isolation"):
            raise IsolationRefused(refusal(problem))
        weak = f", AS ROOT (weak isolation allowed: {problem})"
    report_pid(os.getpid(), None)
    set_limits(config["limits"])
    # Without a user of its own, the process limit counts every process of the
    # person grading: allow what they already run, plus the worker's share.
    set_process_limit(_tasks_of_this_user() + config["limits"]["processes"])
    return "resource limits and its own process group" + tree + reason + weak, paths


def refusal(problem: str) -> str:
    """The one line that says why grading stops, and what to do."""
    return (
        f"refusing to run the students' code as root without namespaces ({problem}); grade as root with "
        "CAP_SYS_ADMIN (e.g. docker run --cap-add SYS_ADMIN), or as a user other than root, or pass "
        "--allow-weak-isolation to accept code that can read and write what root can"
    )


def _capabilities() -> int:
    """This process's effective capabilities, as the bit mask of /proc/self/status."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


CAP_CHOWN, CAP_SETGID, CAP_SETUID = 0, 6, 7


def why_no_user_of_its_own(paths: list[str], secret_paths: list[str] = ()) -> str | None:
    """Why this root process cannot hand the student's code to a user of its own; None when it can.

    The user needs the capabilities to be set, must be able to read the
    Python installation (imports happen after the switch) and `paths`, and
    must not be able to read `secret_paths` (the reference, the hidden tests):
    without a mount namespace it sees every file other users may read.
    """
    capabilities = _capabilities()
    for name, bit in (("CAP_SETUID", CAP_SETUID), ("CAP_SETGID", CAP_SETGID), ("CAP_CHOWN", CAP_CHOWN)):
        if not capabilities & (1 << bit):
            return f"this process lacks {name}"
    needed = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *paths}
    numpy = sys.modules.get("numpy")
    if numpy is not None and getattr(numpy, "__file__", None):
        needed.add(os.path.dirname(numpy.__file__))
    for path in sorted(needed):
        blocked = _closed_to_others(os.path.realpath(path))
        if blocked:
            return f"other users cannot enter {blocked}, which holds {path}"
    for path in secret_paths:
        if os.path.exists(path) and not _closed_to_others(os.path.realpath(path)):
            return f"other users can read {path} (chmod o-rwx it)"
    return None


def _closed_to_others(path: str) -> str | None:
    """The first folder on the way to `path` (itself included) that other users cannot enter."""
    parts = path.split(os.sep)
    for end in range(2, len(parts) + 1):
        folder = os.sep.join(parts[:end]) or os.sep
        try:
            mode = os.stat(folder).st_mode
        except OSError:
            return folder
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return folder
    return None


def _become(uid: int, writable: list[str], processes: int):
    """Hand this process (and all it starts) to user and group `uid`, with no supplementary groups."""
    for folder in writable:
        for top, directories, files in os.walk(folder):
            for name in [top] + [os.path.join(top, entry) for entry in directories + files]:
                os.chown(name, uid, uid)
    os.setgroups([])
    os.setgid(uid)
    set_process_limit(processes)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        os._exit(1)  # never run the student's code as root by accident
    # Changing credentials clears the parent-death signal: arm it again.
    _check(_libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")


def _join(procs: str | None) -> bool:
    """Move this process into the cgroup whose `cgroup.procs` file is `procs`."""
    if not procs:
        return False
    try:
        with open(procs, "w") as members:
            members.write(str(os.getpid()))
        return True
    except OSError:
        return False


def _tasks_of_this_user() -> int:
    """Threads and processes of this user, as RLIMIT_NPROC counts them (Linux); 0 elsewhere."""
    if not os.path.isdir("/proc/self/task"):
        return 0
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return count


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    return libc


def _check(result: int, what: str):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(libc, source, target, fstype, flags, data=None):
    def encode(text):
        return text.encode() if text is not None else None

    _check(libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)), f"mount {target}")


def _bind(libc, source: str, target: str, read_only: bool):
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(libc, source, target, None, MS_BIND | MS_REC)
    if read_only:
        _mount(libc, None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_REC)


def _enter_namespaces(config: dict, report_pid) -> str:
    libc, limits = _libc(), config["limits"]
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET), "unshare")
    # A user of its own for every worker, unique while this process lives: the
    # process limit then counts this worker's processes only (one submission's
    # fork bomb cannot starve another graded beside it), and the trusted side
    # can add up the CPU time of exactly this worker's processes.
    worker_uid = FIRST_WORKER_UID + os.getpid()
    child = os.fork()
    if child:
        # The outer process only waits: the child is PID 1 of the new namespace,
        # and killing it (or this process, through PDEATHSIG) ends everything in it.
        report_pid(child, worker_uid)
        signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
        _, status = os.waitpid(child, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    if os.getppid() == 1:  # the outer process died before prctl took effect
        os._exit(1)
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    root = config["root"]
    os.makedirs(root, exist_ok=True)
    _mount(libc, "tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, f"size={limits['root_tmpfs_bytes']},mode=755")
    # /tmp first: a Python installation under /tmp (a virtual environment, say) is
    # bound on top of it below, where a later /tmp mount would hide it.
    os.makedirs(root + "/tmp", exist_ok=True)
    _mount(libc, "tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={limits['tmp_tmpfs_bytes']},mode=1777")
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for path in sorted(prefixes) + [p for p in SYSTEM_PATHS if os.path.exists(p)]:
        target = root + path
        if os.path.islink(path):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if not os.path.lexists(target):
                os.symlink(os.readlink(path), target)
        elif not os.path.exists(target) or not os.listdir(target):
            _bind(libc, path, target, read_only=True)
    # The hidden tests (and a reference) can lie inside a bound prefix: the grader installed in
    # site-packages (`pip install .`, a Gradescope bundle). An empty, closed tmpfs covers them.
    for secret in config.get("secret_paths", []):
        target = root + os.path.realpath(secret)
        if os.path.isdir(target):
            _mount(libc, "tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=000")
    for device in DEVICES:
        if os.path.exists(device):
            _bind(libc, device, root + device, read_only=False)
    _bind(libc, config["library"], root + "/grader-lib", read_only=True)
    # The submission's copy lives on a size-limited tmpfs: whatever the code
    # writes there (or in /tmp) cannot fill the grading machine's disk.
    os.makedirs(root + "/submission", exist_ok=True)
    _mount(
        libc,
        "tmpfs",
        root + "/submission",
        "tmpfs",
        MS_NOSUID | MS_NODEV,
        f"size={limits['submission_tmpfs_bytes']},mode=755",
    )
    for entry in os.listdir(config["submission"]):
        target = os.path.join(root + "/submission", entry)
        with open(os.path.join(config["submission"], entry), "rb") as source, open(target, "wb") as copy:
            copy.write(source.read())
    os.makedirs(root + "/proc", exist_ok=True)
    _mount(libc, "proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV)
    os.chroot(root)
    os.chdir("/submission")
    set_limits(config["limits"])
    _become(worker_uid, ["/submission"], config["limits"]["processes"])
    return "namespaces (mount, PID, IPC, network), read-only root, a user of its own, resource limits"
