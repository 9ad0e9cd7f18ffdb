"""The CPU time of one command's whole process tree, counted by a cgroup of its own.

The host noise meter (noise.py) subtracts a build's own CPU from the host's. The rusage that
wait4 returns does not hold it for a sandboxed build: with its own PID namespace, the build is
reaped by bubblewrap's init, which bubblewrap never waits for, so the tree's time never reaches
the worker. A cgroup counts every process in it, whoever reaps them: the command joins a fresh
cgroup before it execs (cgroup v2 `cpu.stat`, or v1 `cpuacct`), and the cgroup's usage is read
once it has exited. Only accounting is used (no controller, no limit), so no delegation is
needed beyond a writable hierarchy, which a root worker has. Without one, `seconds()` is None.
"""

import contextlib
import os
import time
import uuid
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PREFIX = "arena-cpu-"


def _own_cgroups(text):
    """{controller or "": path} from /proc/self/cgroup ("0::/a" is v2, "2:cpuacct:/b" v1)."""
    found = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                found[controller] = parts[2]
    return found


def _bases():
    """(directory to create the cgroup in, reader) candidates, v2 first."""
    try:
        own = _own_cgroups(Path("/proc/self/cgroup").read_text())
    except OSError:
        return []
    bases = []
    if (CGROUP_ROOT / "cgroup.controllers").exists() and "" in own:
        bases.append((CGROUP_ROOT / own[""].lstrip("/"), _read_v2))
    if "cpuacct" in own and (CGROUP_ROOT / "cpuacct").is_dir():
        bases.append((CGROUP_ROOT / "cpuacct" / own["cpuacct"].lstrip("/"), _read_v1))
    return bases


def _read_v2(path):
    for line in (path / "cpu.stat").read_text().splitlines():
        name, _, value = line.partition(" ")
        if name == "usage_usec":
            return int(value) / 1e6
    return None


def _read_v1(path):
    return int((path / "cpuacct.usage").read_text()) / 1e9


class CpuAccount:
    """A cgroup counting one command's CPU: the command is started through `joining(argv)`,
    `seconds()` is read after it exited, `close()` removes the cgroup."""

    def __init__(self):
        self.path, self._read = None, None
        for base, read in _bases():
            path = base / f"{PREFIX}{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
            except OSError:
                continue
            self.path, self._read = path, read
            break

    def joining(self, argv):
        """`argv` run so that it joins the cgroup before it execs: a process moved in after it
        started may already have forked children that stay outside (bubblewrap forks its
        namespace's init before it waits to be released). Unchanged without a cgroup."""
        if self.path is None:
            return list(argv)
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.path / "cgroup.procs"),
                *argv]  # fmt: skip

    def seconds(self):
        if self.path is None:
            return None
        try:
            return self._read(self.path)
        except (OSError, ValueError):
            return None

    def close(self):
        """Remove the cgroup; it may take a moment for the last exited process to leave it."""
        if self.path is None:
            return
        path, self.path = self.path, None
        for _ in range(50):
            try:
                path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.01)


def remove_stale(bases=None):
    """Remove empty accounting cgroups a killed worker left behind (at worker start)."""
    for base, _ in bases if bases is not None else _bases():
        with contextlib.suppress(OSError):
            for entry in os.scandir(base):
                if entry.name.startswith(PREFIX) and entry.is_dir():
                    with contextlib.suppress(OSError):
                        os.rmdir(entry.path)
