"""A race has a budget (ARENA_RACE_BUDGET_SECONDS, workers/engine/racing/budget.py): over it, the
running build is killed, nothing more starts, and the race is void with the reason.

Real races through the engine in the sandbox with a budget of a few seconds; a minute's sleep
stands for a slow build. The wall-time bounds (20 s against builds of minutes) say whether the
race waited for the builds, not how fast the engine is.
"""

import threading

import pytest

from tests.support import new_marker, processes_with, timed_race
from workers.engine import EngineConfig
from workers.engine.measuring.measure import measurement_lock
from workers.engine.racing.budget import OverBudget, RaceBudget

QUICK_BUILD = "echo BUILD SUCCESS"
MINUTE_BUILD = "sleep 60.{marker}; echo BUILD SUCCESS"
OVER_BUDGET = "the race went over its budget of {budget:g} s on the host"


@pytest.fixture
def config(config):
    return config.with_changes(timeouts__kill_grace=0.5, timeouts__race_budget=4)


def test_a_slow_build_stops_at_the_budget_and_nothing_more_starts(config, repo):
    marker = new_marker()
    outcome, output, seconds = timed_race(
        config,
        repo,
        cache="cold",
        iterations=3,
        warmups=1,
        standard_cmd=["sh", "-c", QUICK_BUILD],
        elide_cmd=["sh", "-c", MINUTE_BUILD.format(marker=marker)],
    )
    assert seconds < 20, output.get("elide", "")[-2000:]
    assert marker in output["elide"]  # it was running when the budget ran out
    assert processes_with(marker) == []
    reason = OVER_BUDGET.format(budget=4)
    assert outcome.status == "completed"
    assert outcome.verdict.verdict == "void" and outcome.verdict.void_reason.startswith(reason)
    for side in ("elide", "standard"):
        result = outcome.sides[side]
        assert result.status == "failure" and result.error.startswith(reason), side
        assert f"[arena] {reason}" in output[side]
    # The standard side's warm-up ran before the budget ended; no later run started.
    assert "=== warm-up 1/1" in output["standard"]
    assert "=== run 1/3" not in output["standard"] and "=== run 1/3" not in output["elide"]


def test_parallel_builds_both_stop_at_the_budget(config, repo):
    markers = {"standard": new_marker(), "elide": new_marker()}
    outcome, output, seconds = timed_race(
        config,
        repo,
        cache="cold",
        mode="parallel",
        standard_cmd=["sh", "-c", MINUTE_BUILD.format(marker=markers["standard"])],
        elide_cmd=["sh", "-c", MINUTE_BUILD.format(marker=markers["elide"])],
    )
    assert seconds < 20, output
    assert all(processes_with(marker) == [] for marker in markers.values())
    assert outcome.verdict.verdict == "void"
    assert outcome.verdict.void_reason.startswith(OVER_BUDGET.format(budget=4))


def test_waiting_for_another_races_lock_is_not_charged(config, repo):
    """Another race holds the measurement lock for longer than the whole budget: this race
    waits, then builds within its budget and completes."""
    held, release = threading.Event(), threading.Event()

    def other_race():
        with measurement_lock(config.measure_lock_path):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=other_race)
    holder.start()
    held.wait(10)
    timer = threading.Timer(10, release.set)
    timer.start()
    try:
        outcome, output, seconds = timed_race(
            config.with_changes(timeouts__race_budget=8),
            repo,
            cache="cold",
            standard_cmd=["sh", "-c", QUICK_BUILD],
            elide_cmd=["sh", "-c", QUICK_BUILD],
        )
    finally:
        release.set()
        timer.cancel()
        holder.join()
    assert seconds > 10  # it did wait, longer than its whole budget
    assert outcome.verdict.verdict != "void", outcome.verdict.void_reason
    assert all(result.run_times_ms for result in outcome.sides.values()), output


def test_no_budget_means_no_bound(config, repo):
    outcome, _, _ = timed_race(
        config.with_changes(timeouts__race_budget=0),
        repo,
        cache="cold",
        standard_cmd=["sh", "-c", "sleep 5; " + QUICK_BUILD],
        elide_cmd=["sh", "-c", QUICK_BUILD],
    )
    assert outcome.verdict.verdict != "void", outcome.verdict.void_reason


def test_the_budget_bounds_each_timeout_and_lock_waits_move_its_deadline():
    now = [100.0]
    budget = RaceBudget(60, clock=lambda: now[0])
    assert budget.bound(900) == 900  # not started: the clone is not charged
    budget.start()
    now[0] += 50
    assert budget.bound(900) == 10 and budget.bound(5) == 5
    budget.excuse(30)  # waited for another race's lock
    assert budget.bound(900) == 40
    now[0] += 40
    with pytest.raises(OverBudget, match="budget of 60 s"):
        budget.bound(900)


def test_the_setting_reaches_the_engine(settings):
    assert EngineConfig.from_settings(settings).timeouts.race_budget == 1800
    settings.ARENA_RACE_BUDGET_SECONDS = 90
    assert EngineConfig.from_settings(settings).timeouts.race_budget == 90
