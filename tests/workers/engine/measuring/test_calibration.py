"""A worker's noise floor (workers/engine/measuring/calibration.py): the real Java workload
raced against itself, the spread of its ratios, and a busy host's floor wider than a quiet one's."""

import contextlib
import shutil

import pytest

from tests.support import require_tool
from workers.engine.measuring.calibration import calibrate, spread_of, within


def test_spread_is_the_largest_distance_from_even():
    assert spread_of([1.0, 1.0]) == 0
    assert spread_of([1.02, 0.97, 1.01]) == pytest.approx(1 / 0.97 - 1)


def test_a_speedup_is_within_the_floor_on_the_same_log_scale_either_side_of_even():
    assert within(1.021, 0.021) and within(1 / 1.021, 0.021) and within(1.0, 0.0)
    assert not within(1.022, 0.021) and not within(1 / 1.022, 0.021)


def test_the_java_workload_races_itself_under_the_lock():
    require_tool("java", "the calibration workload is a Java program")
    held = []

    @contextlib.contextmanager
    def lock():
        held.append("taken")
        yield
        held.append("released")

    floor = calibrate(shutil.which("java"), pairs=2, rounds=5_000_000, lock=lock)
    assert held == ["taken", "released"]
    assert floor.pairs == 2 and len(floor.ratios) == 2
    assert all(0.2 < ratio < 5 for ratio in floor.ratios)
    assert floor.spread == pytest.approx(spread_of(floor.ratios))
    assert set(floor.as_json()) == {"spread", "pairs", "ratios"}


def test_a_missing_java_is_an_error():
    with pytest.raises(OSError):
        calibrate("/nonexistent/java", pairs=1, rounds=1)
