"""The regression rule (suites/regressions.py) on simulated run times: few false alarms when
nothing changed, a real drop found, and Student's t where it is known."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.outcomes.student import t_quantile
from suites.regressions import IMPROVEMENT, REGRESSION, compare

THRESHOLD = 0.05
TRIALS = 200


def race(rng, speedup, *, runs, noise):
    standard = [10_000 * speedup * rng.lognormvariate(0, noise) for _ in range(runs)]
    elide = [10_000 * rng.lognormvariate(0, noise) for _ in range(runs)]
    return standard, elide


@pytest.mark.parametrize(
    ("df", "expected"), [(1, 12.706), (2, 4.303), (5, 2.571), (10, 2.228), (1000, 1.962)]
)
def test_t_quantiles_match_the_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-3)


@settings(max_examples=8, deadline=None, derandomize=True)  # statistical: fixed draws
@given(
    seed=st.integers(0, 2**32 - 1),
    speedup=st.floats(0.5, 4.0),
    noise=st.floats(0.01, 0.15),
    runs=st.integers(3, 8),
)
def test_false_alarms_at_most_5_percent_when_nothing_changed(seed, speedup, noise, runs):
    rng = random.Random(seed)
    alarms = sum(
        compare(
            race(rng, speedup, runs=runs, noise=noise),
            race(rng, speedup, runs=runs, noise=noise),
            threshold=THRESHOLD,
        ).kind
        is not None
        for _ in range(TRIALS)
    )
    # 5% of 200 is 10; three standard deviations of the binomial at that rate allow 19.
    assert alarms <= 19


@settings(max_examples=8, deadline=None, derandomize=True)  # statistical: fixed draws
@given(seed=st.integers(0, 2**32 - 1), speedup=st.floats(0.5, 4.0), noise=st.floats(0.01, 0.05))
def test_a_20_percent_drop_is_found_nine_times_in_ten_with_5_runs(seed, speedup, noise):
    rng = random.Random(seed)
    found = sum(
        compare(
            race(rng, speedup, runs=5, noise=noise),
            race(rng, speedup * 0.8, runs=5, noise=noise),
            threshold=THRESHOLD,
        ).kind
        == REGRESSION
        for _ in range(TRIALS)
    )
    assert found >= 0.9 * TRIALS


def test_a_gain_is_an_improvement_and_a_small_change_nothing():
    rng = random.Random(7)
    gain = compare(race(rng, 1.5, runs=5, noise=0.01), race(rng, 2.0, runs=5, noise=0.01),
                   threshold=THRESHOLD)  # fmt: skip
    assert gain.kind == IMPROVEMENT and gain.change == pytest.approx(1 / 3, abs=0.03)
    small = compare(race(rng, 2.0, runs=5, noise=0.001), race(rng, 1.94, runs=5, noise=0.001),
                    threshold=THRESHOLD)  # fmt: skip
    assert small.ci95[1] < 0 and small.kind is None  # real, but below the 5% threshold


def test_no_interval_from_a_single_run():
    assert compare(([1000], [900, 950]), ([1000, 990], [700, 720]), threshold=THRESHOLD) is None
