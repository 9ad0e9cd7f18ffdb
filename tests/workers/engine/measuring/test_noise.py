"""Host noise around a run (workers/engine/measuring/noise.py): /proc/stat read right, the
build's own CPU and the worker's never counted as noise, a real neighbour's CPU always seen."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workers.engine.measuring.noise import (
    CpuCounters,
    HostNoise,
    NoiseMeter,
    parse_proc_stat,
    read_counters,
)

pytestmark = pytest.mark.host_noise

TICKS = os.sysconf("SC_CLK_TCK")
BURN = "import time\nend = time.monotonic() + float(__import__('sys').argv[1])\nwhile time.monotonic() < end: pass\n"  # noqa: E501


def test_proc_stat_busy_and_steal():
    text = "cpu  100 20 30 5000 40 5 6 7 0 0\ncpu0 50 10 15 2500 20 2 3 3 0 0\nintr 1 2 3\n"
    counters = parse_proc_stat(text)
    assert counters.busy == pytest.approx((100 + 20 + 30 + 5 + 6) / TICKS)
    assert counters.steal == pytest.approx(7 / TICKS)
    with pytest.raises(ValueError):
        parse_proc_stat("intr 1 2 3\n")


def test_the_build_and_the_worker_are_not_noise():
    """3 s of host CPU in 2 s: 1 s the build's, 0.5 s the worker's, 1.5 s the neighbours'."""
    reads = iter([CpuCounters(busy=10.0, steal=1.0), CpuCounters(busy=13.0, steal=1.2)])
    clock = iter([100.0, 102.0])
    own = iter([5.0, 5.5])
    meter = NoiseMeter(read=lambda: next(reads), clock=lambda: next(clock), own=lambda: next(own))
    noise = meter.start().finish(build_cpu_seconds=1.0)
    assert noise.other_cpu == pytest.approx(0.75) and noise.steal == pytest.approx(0.1)
    assert noise.noisy(0.10) and not HostNoise(0.05, 0, 0).noisy(0.10)
    assert set(noise.as_json()) == {"otherCpu", "steal", "load"}


def test_a_real_neighbour_is_seen_and_a_real_build_is_not():
    """One process burning a core for 1.5 s, seen by two meters over the same window: as a
    neighbour (build CPU 0) it is noise; as the build (its own CPU) it is not. It is reaped only
    after the meters finish: a reaped child's CPU would count as the worker's own."""
    read_counters()  # /proc/stat is there
    as_neighbour, as_build = NoiseMeter().start(), NoiseMeter().start()
    burner = subprocess.Popen([sys.executable, "-c", BURN, "1.5"])
    stat = Path(f"/proc/{burner.pid}/stat")
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":  # exited, not yet reaped
        time.sleep(0.05)
    fields = stat.read_text().rsplit(")", 1)[1].split()
    burner_cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    neighbour = as_neighbour.finish(build_cpu_seconds=0.0)
    build = as_build.finish(build_cpu_seconds=burner_cpu)
    burner.wait()
    assert burner_cpu > 0.3  # it did burn, even on a busy host
    elapsed_share = burner_cpu / 1.5
    assert neighbour.other_cpu >= 0.8 * elapsed_share
    assert build.other_cpu <= neighbour.other_cpu - 0.8 * elapsed_share


def test_an_unknown_build_cpu_is_unknown_noise_never_noisy():
    noise = NoiseMeter().start().finish(build_cpu_seconds=None)
    assert noise.other_cpu is None and not noise.noisy(0.0)
    assert noise.as_json()["otherCpu"] is None
