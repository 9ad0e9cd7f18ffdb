"""How quiet the host was during a measured run: the CPU the rest of the host used, steal time
on a virtual machine, and the load.

The measurement lock keeps other races out, not other processes. So around every measured
run the engine reads the host's CPU counters (/proc/stat) and subtracts what the build itself
used (its process tree's CPU time, counted by a cgroup of its own: cpuaccount.py) and what the
worker used (reading output, writing it to the database, the sandbox's helpers): the rest is
CPU that other processes took while the build ran, in cores on average. When the build's CPU
cannot be counted (no writable cgroup hierarchy and a PID namespace that hides the tree from
wait4), the host's noise is unknown and no run is marked noisy. A run during which the rest
exceeds ARENA_NOISE_MAX_CPU is noisy: its time says as much about the neighbours as about the
build.
"""

import os
import resource
import time
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC_STAT = "/proc/stat"


@dataclass(frozen=True)
class CpuCounters:
    """The host's CPU time since boot, in seconds, all CPUs together."""

    busy: float
    steal: float


def parse_proc_stat(text):
    """CpuCounters from the first line of /proc/stat ("cpu  user nice system idle iowait irq
    softirq steal guest guest_nice"); guest time is already inside user and nice."""
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            values = [int(value) for value in fields[1:]] + [0] * 10
            user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
            busy = user + nice + system + irq + softirq
            return CpuCounters(busy=busy / CLOCK_TICKS, steal=steal / CLOCK_TICKS)
    raise ValueError("no cpu line in /proc/stat")


def read_counters(path=PROC_STAT):
    with open(path) as handle:
        return parse_proc_stat(handle.read())


def own_cpu_seconds():
    """CPU time of this (worker) process, every thread together, and of the children it has
    reaped: the sandbox's helpers (slirp4netns, `ip` for the build's routes), which are the
    arena's own cost of a run, not the host's noise."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


@dataclass(frozen=True)
class HostNoise:
    other_cpu: float | None  # cores the rest of the host used on average (None: unknown)
    steal: float  # cores' worth of time the hypervisor gave to other guests
    load: float  # the one-minute load average at the end of the run

    def noisy(self, max_cpu):
        """More than `max_cpu` cores used by the rest of the host; never when unknown."""
        return self.other_cpu is not None and self.other_cpu > max_cpu

    def as_json(self):
        return {
            "otherCpu": None if self.other_cpu is None else round(self.other_cpu, 3),
            "steal": round(self.steal, 3),
            "load": round(self.load, 2),
        }


class NoiseMeter:
    """Started just before a measured run, finished just after it with the build's own CPU
    seconds; says how much CPU the rest of the host used meanwhile."""

    def __init__(self, *, read=read_counters, clock=time.monotonic, own=own_cpu_seconds):
        self._read, self._clock, self._own = read, clock, own
        self._start = None

    def start(self):
        self._start = (self._read(), self._clock(), self._own())
        return self

    def finish(self, build_cpu_seconds, reaped_build_seconds=0.0):
        """The HostNoise of the run: `build_cpu_seconds` the build's whole tree (None when
        unknown: then so is the noise), `reaped_build_seconds` the part of it the worker's
        own children's rusage holds too (not to be subtracted twice)."""
        counters, started, own = self._start
        now, elapsed = self._read(), max(self._clock() - started, 1e-6)
        steal = max(0.0, now.steal - counters.steal) / elapsed
        load = os.getloadavg()[0]
        if build_cpu_seconds is None:
            return HostNoise(other_cpu=None, steal=steal, load=load)
        busy = now.busy - counters.busy
        worker = max(0.0, self._own() - own - reaped_build_seconds)
        other = max(0.0, busy - build_cpu_seconds - worker) / elapsed
        return HostNoise(other_cpu=other, steal=steal, load=load)
