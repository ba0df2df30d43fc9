"""One memory limit for a worker and every process it starts: a memory cgroup.

RLIMIT_AS (see `grader.worker.confinement`) bounds each process's address space, so a
submission that forks could hold `processes` times `memory_bytes` and exhaust
the grading machine. Where this process may create cgroups (Linux, as root,
with cgroup v1's memory controller or a cgroup v2 tree that delegates memory)
each worker gets a group of its own whose limit covers all its processes
together, swap included: past it the kernel's OOM killer ends the largest of
them, a crash that costs one test. Elsewhere `MemoryGroup.create` gives None
and the per-process limit alone applies; results.json records which.

The trusted side creates and removes the group; the worker joins it by writing
its PID to `procs`, first thing, so everything it starts is inside.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path

PREFIX = "dlgrade-"


def _own_cgroup(controller: str) -> tuple[Path, int] | None:
    """(folder of this process's `controller` cgroup, cgroup version), or None without one we can see.

    In cgroup v2 every group counts its CPU time (`cpu.stat`), so "cpuacct"
    needs no delegation there; "memory" does.
    """
    try:
        membership = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in membership:
        _, controllers, path = line.split(":", 2)
        version = 2 if controllers == "" else 1
        if version == 1 and controller not in controllers.split(","):
            continue
        for mount in mounts:
            fields = mount.split()
            separator = fields.index("-")
            root, mount_point = fields[3], fields[4]
            fstype, options = fields[separator + 1], fields[separator + 3].split(",")
            if (fstype, version) not in (("cgroup", 1), ("cgroup2", 2)) or (version == 1 and controller not in options):
                continue
            if not (path == root or path.startswith(root.rstrip("/") + "/")):
                continue
            folder = Path(mount_point) / path[len(root.rstrip("/")) :].lstrip("/")
            if (
                version == 2
                and controller == "memory"
                and "memory" not in _read(folder / "cgroup.subtree_control").split()
            ):
                continue  # memory is not delegated below this group: no child can be limited
            if folder.is_dir():
                return folder, version
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class Group:
    """A cgroup of a worker's processes, made (and removed) by the trusted side."""

    def __init__(self, folder: Path, version: int):
        self.folder, self.version = folder, version

    @classmethod
    def _make(cls, controller: str):
        """A fresh, empty group under this process's `controller` cgroup; None where none can be made."""
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            return None
        found = _own_cgroup(controller)
        if found is None:
            return None
        parent, version = found
        _remove_stale(parent)
        group = cls(parent / f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}", version)
        try:
            group.folder.mkdir()
        except OSError:
            return None
        return group

    @property
    def procs(self) -> str:
        """The file a process writes its PID to, to join the group."""
        return str(self.folder / "cgroup.procs")

    def pids(self) -> set[int]:
        """The processes in the group now."""
        return {int(pid) for pid in _read(self.folder / "cgroup.procs").split() if pid.isdigit()}

    def kill_all(self):
        """SIGKILL every process in the group: one that left the worker's process group too."""
        for pid in _read(self.folder / "cgroup.procs").split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError, ValueError):
                pass

    def remove(self, wait: float = 2.0):
        """Kill what is left in the group and remove it (a group's processes take a moment to go)."""
        deadline = time.monotonic() + wait
        while True:
            self.kill_all()
            try:
                self.folder.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() >= deadline:
                    return  # left for _remove_stale of a later run
                time.sleep(0.02)


class MemoryGroup(Group):
    """A cgroup whose processes share one memory limit."""

    @classmethod
    def create(cls, limit_bytes: int) -> MemoryGroup | None:
        """A fresh group limited to `limit_bytes` (swap included), or None where that is not possible."""
        group = cls._make("memory")
        if group is None:
            return None
        try:
            if group.version == 1:
                (group.folder / "memory.limit_in_bytes").write_text(str(limit_bytes))
                if (group.folder / "memory.memsw.limit_in_bytes").exists():  # memory and swap together
                    (group.folder / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
            else:
                (group.folder / "memory.max").write_text(str(limit_bytes))
                if (group.folder / "memory.swap.max").exists():
                    (group.folder / "memory.swap.max").write_text("0")
        except OSError:
            group.remove()
            return None
        return group


class CpuGroup(Group):
    """A cgroup that adds up the CPU time of its processes, those that ended included.

    Reading /proc sees only live processes: a child reaped at once (SIGCHLD
    ignored) takes its CPU time with it. The kernel's count for the group
    keeps it (cgroup v1 `cpuacct.usage`, v2 `cpu.stat` usage_usec).
    """

    @classmethod
    def create(cls) -> CpuGroup | None:
        """A fresh group, or None where this process may not make one (not root, no cpuacct controller)."""
        group = cls._make("cpuacct")
        if group is None:
            return None
        if group.usage_seconds() is None:
            group.remove()
            return None
        return group

    def usage_seconds(self) -> float | None:
        """CPU seconds the group's processes used, ended ones included; None if it cannot be read."""
        if self.version == 1:
            text = _read(self.folder / "cpuacct.usage").strip()
            return int(text) / 1e9 if text.isdigit() else None
        for line in _read(self.folder / "cpu.stat").splitlines():
            name, _, value = line.partition(" ")
            if name == "usage_usec" and value.strip().isdigit():
                return int(value) / 1e6
        return None


def _remove_stale(parent: Path):
    """Remove groups left by grading runs that were killed (their creator's PID is gone)."""
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        creator = entry.name[len(PREFIX) :].split("-")[0]
        if creator.isdigit() and not Path(f"/proc/{creator}").exists():
            try:
                entry.rmdir()
            except OSError:
                pass
