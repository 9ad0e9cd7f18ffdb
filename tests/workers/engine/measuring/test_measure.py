"""Measurement: statistics, CPU split, the host lock, run order, A/A."""

import fcntl
import os
import threading
import time

import pytest

from tests.toolchains import with_jar
from workers.engine import RaceListener, RaceSpec, run_race
from workers.engine.measuring.measure import (
    Cancelled,
    build_cpus,
    measurement_lock,
    open_private_lock,
    run_stats,
    split_cpus,
)


def busy(loops):
    """A CPU-bound command with no sleeping: its time is the CPU it gets."""
    loop = f"i=0; while [ $i -lt {loops} ]; do i=$((i+1)); done; echo BUILD SUCCESS"
    return ["sh", "-c", with_jar(loop)]


def cpu_list(text):
    """The CPUs of a kernel list such as "0-2,5"."""
    cpus = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


class Collect(RaceListener):
    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def on_state(self, side, state):
        with self.lock:
            self.events.append((time.monotonic(), side, state))

    def on_output(self, side, text, elapsed_ms):
        with self.lock:
            self.events.append((time.monotonic(), side, text))


def test_run_stats():
    stats = run_stats([100, 300, 200, 250])
    assert stats.runs == 4
    assert stats.median_ms == 225 and stats.min_ms == 100 and stats.max_ms == 300
    assert stats.spread_ms == 200
    assert stats.mean_ms == 212.5
    assert stats.stdev_ms == pytest.approx(85.39, abs=0.01)
    assert run_stats([]) is None
    assert run_stats([42]).stdev_ms == 0


def test_split_cpus_gives_disjoint_halves():
    assert split_cpus([0, 1]) == ([0], [1])
    assert split_cpus([0, 1, 2, 3, 4]) == ([0, 1], [2, 3])
    assert split_cpus([3]) == (None, None)


def test_measurement_lock_is_exclusive_and_waiting_is_cancellable(tmp_path):
    path = tmp_path / "locks" / "lock"
    holder = open_private_lock(path)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another race measuring on this host
    cancel = threading.Event()
    waited = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled), measurement_lock(path, cancel=cancel, on_wait=waited.set):
        pytest.fail("must not get the lock while it is held")
    assert waited.is_set() and time.monotonic() - started < 2
    fcntl.flock(holder, fcntl.LOCK_UN)
    with measurement_lock(path):
        # Held now: another open file description cannot take it.
        other = os.open(path, os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(other)
    os.close(holder)


def test_race_waits_for_the_lock_and_cancel_while_waiting(config, repo):
    holder = open_private_lock(config.measure_lock_path)
    fcntl.flock(holder, fcntl.LOCK_EX)
    cancel = threading.Event()
    listener = Collect()
    threading.Timer(1.0, cancel.set).start()
    spec = RaceSpec(str(repo), standard_cmd=["true"], elide_cmd=["true"])
    outcome = run_race(spec, config, listener, cancel)
    os.close(holder)
    assert outcome.status == "cancelled"
    states = [state for _, _, state in listener.events]
    assert "waiting for the measurement lock" in states
    assert not any(state.startswith("building") for state in states)


def test_sequential_mode_alternates_which_side_goes_first(config, repo):
    listener = Collect()
    spec = RaceSpec(str(repo), iterations=3, warmups=1, standard_cmd=["true"], elide_cmd=["true"])
    outcome = run_race(spec, config, listener)
    assert outcome.status == "completed"
    starts = [side for _, side, state in listener.events if str(state).startswith("building")]
    assert starts == ["standard", "elide", "elide", "standard", "standard", "elide", "elide",
                      "standard"]  # fmt: skip
    for result in outcome.sides.values():
        assert len(result.run_times_ms) == 3  # the warm-up is not measured
        assert result.duration_ms == sorted(result.run_times_ms)[1]


def test_parallel_mode_runs_both_at_once_on_disjoint_cpus(config, repo):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs")
    show = ["sh", "-c", "grep Cpus_allowed_list /proc/self/status; sleep 0.5"]
    listener = Collect()
    spec = RaceSpec(str(repo), mode="parallel", standard_cmd=show, elide_cmd=show)
    outcome = run_race(spec, config, listener)
    assert outcome.status == "completed"
    cpus = {}
    for _, side, text in listener.events:
        for line in str(text).splitlines():
            if line.startswith("Cpus_allowed_list"):
                cpus[side] = cpu_list(line.split(":")[1].strip())
    low, high = split_cpus()
    assert cpus == {"standard": set(low), "elide": set(high)}
    # Both ran at the same time: the whole race took about one build, not two.
    standard, elide = outcome.sides["standard"], outcome.sides["elide"]
    assert 450 <= standard.duration_ms < 1500 and 450 <= elide.duration_ms < 1500


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_a_recipe_raced_against_itself_comes_out_even(config, repo, mode):
    """A/A at small scale: 5 iterations of a CPU-bound, sleep-free command (~0.1 s).

    The tight bound (median ratio 1.00 ± 0.05 over 5+ races) is checked by
    benchmarks/engine_measure.py on a quiet machine. A unit test may share the machine with
    other work that takes no measurement lock (and a virtual machine's CPU may be taken away
    for a moment), which adds noise to single runs; so it checks the fastest runs (which that
    noise can only lengthen) within 1.25x and the medians within 1.5x (parallel mode: 1.5x and
    2x). A systematic difference in how the two sides are timed would break these bounds in
    every race, noise seldom twice in a row: up to three races are run, and one must hold.
    """
    spec = RaceSpec(
        str(repo), mode=mode, iterations=5, warmups=1,
        standard_cmd=busy(150_000), elide_cmd=busy(150_000),
    )  # fmt: skip
    # A pinned side cannot escape foreign work on its CPU, hence the wider parallel bounds.
    fastest, median = (1.25, 1.5) if mode == "sequential" else (1.5, 2.0)
    seen = []
    for _ in range(3):
        outcome = run_race(spec, config)
        assert outcome.status == "completed"
        standard, elide = outcome.sides["standard"].stats, outcome.sides["elide"].stats
        ratios = (standard.min_ms / elide.min_ms, outcome.speedup)
        seen.append((ratios, outcome.sides))
        if 1 / fastest <= ratios[0] <= fastest and 1 / median <= ratios[1] <= median:
            break
    else:
        raise AssertionError(f"no race came out even (fastest-run, median ratios): {seen}")


def test_twice_the_time_comes_out_as_a_speedup_of_two(config, repo):
    """Waiting (not CPU work), so that other load on the machine cannot bend the ratio; the
    CPU-bound A/B check (2.0 ± 0.1) is benchmarks/engine_measure.py."""
    spec = RaceSpec(
        str(repo), iterations=3,
        standard_cmd=["sh", "-c", with_jar("sleep 0.6; echo BUILD SUCCESS")],
        elide_cmd=["sh", "-c", with_jar("sleep 0.3; echo BUILD SUCCESS")],
    )  # fmt: skip
    outcome = run_race(spec, config)
    assert outcome.status == "completed"
    assert 1.7 <= outcome.speedup <= 2.1, outcome.sides
    low, high = outcome.verdict.ci95
    assert 1 < low <= outcome.speedup <= high < 2.3
    assert outcome.verdict.verdict == "elide"


def test_build_cpus_leave_one_core_on_bigger_hosts_and_check_the_setting():

    assert build_cpus(available=[0, 1]) == [0, 1]
    assert build_cpus(available=[0, 1, 2, 3]) == [1, 2, 3]
    assert build_cpus((3, 2), available=[0, 1, 2, 3]) == [2, 3]
    with pytest.raises(ValueError, match="may not use: \\[9\\]"):
        build_cpus((9,), available=[0, 1])
