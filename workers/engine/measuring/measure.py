"""Measurement: statistics over runs, CPUs and the host lock.

The speedup, its interval and the verdict are computed in jobs/outcomes/verdict.py only.

The host-wide measurement lock (flock on ARENA_MEASURE_LOCK) is held around every measured
build run, so measured runs of different races on the same host never overlap: a 2-core
machine running two builds at once would report a speedup that comes from scheduling. Anyone
who can open the lock file can flock it and stall every race, so it lives in a directory only
the arena's user can enter (mode 0700) and is itself mode 0600.
"""

import fcntl
import os
import stat
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class Cancelled(Exception):
    """The race was cancelled while waiting."""


@dataclass(frozen=True)
class RunStats:
    runs: int
    median_ms: float
    mean_ms: float
    stdev_ms: float
    min_ms: int
    max_ms: int

    @property
    def spread_ms(self):
        return self.max_ms - self.min_ms


def run_stats(times_ms):
    """Median, mean, standard deviation, min and max of a side's measured runs (or None)."""
    if not times_ms:
        return None
    times = [int(t) for t in times_ms]
    return RunStats(
        runs=len(times),
        median_ms=float(statistics.median(times)),
        mean_ms=statistics.fmean(times),
        stdev_ms=statistics.stdev(times) if len(times) > 1 else 0.0,
        min_ms=min(times),
        max_ms=max(times),
    )


def split_cpus(cpus=None):
    """Two disjoint, equal-sized CPU sets from the CPUs this process may use, or (None, None).

    With a single CPU there is nothing to split: parallel builds then share it (and the
    arena says so in each side's output).
    """
    available = sorted(cpus if cpus is not None else os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    half = len(available) // 2
    return available[:half], available[half : 2 * half]


def build_cpus(configured=(), available=None):
    """The fixed CPU set every sequential measured build of this host runs on (taskset), so
    both sides always run on the same CPUs: ARENA_BUILD_CPUS when set (each CPU must be one
    this process may use), else every CPU but the lowest when the host has more than two
    (left to the worker and the database), else all of them."""
    available = sorted(available if available is not None else os.sched_getaffinity(0))
    if configured:
        unknown = sorted(set(configured) - set(available))
        if unknown:
            raise ValueError(
                f"ARENA_BUILD_CPUS names CPUs this worker may not use: {unknown} "
                f"(it may use {available})"
            )
        return sorted(set(configured))
    return available[1:] if len(available) > 2 else available


@contextmanager
def measurement_lock(path, cancel=None, poll=0.1, on_wait=None):
    """Hold the host-wide measurement lock; waiting stays cancellable (raises Cancelled)."""
    fd = open_private_lock(path)
    try:
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if cancel is not None and cancel.is_set():
                    raise Cancelled() from None
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                time.sleep(poll)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class LockError(OSError):
    """The lock's directory is not private to the arena's user."""


def open_private_lock(path):
    """Open (creating) the lock file in a directory owned by this user with mode 0700."""
    path = Path(path)
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise LockError(
            f"the measurement lock's directory {directory} must be a directory owned by "
            f"uid {os.geteuid()}; refusing to use it"
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise LockError(
            f"the measurement lock's directory {directory} is open to other users "
            f"(mode {stat.S_IMODE(info.st_mode):o}); it must be mode 0700"
        )
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    return fd
