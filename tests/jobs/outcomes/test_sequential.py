"""Adaptive runs (jobs/outcomes/sequential.py): decided early when the difference is clear,
an honest interval however the stopping went, never more false winners than fixed runs."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.outcomes.sequential import FIRST_LOOK, look, looks_allowed
from jobs.outcomes.vocabulary import ELIDE, INCONCLUSIVE, STANDARD, TIE

TRIALS = 300


def adaptive(rng, true, noise, max_runs=10):
    standard, elide = [], []
    while True:
        standard.append(10_000 * true * rng.lognormvariate(0, noise))
        elide.append(10_000 * rng.lognormvariate(0, noise))
        if len(standard) >= FIRST_LOOK:
            found = look(standard, elide, max_runs=max_runs, tie_tolerance=0.01)
            if found.decided:
                return found


def test_a_clear_difference_is_decided_at_the_first_look():
    found = look([2000, 2010, 1990], [1000, 1005, 995], max_runs=10, tie_tolerance=0.01)
    assert found.verdict == ELIDE and found.runs == 3
    assert found.interval[0] < found.speedup < found.interval[1]
    assert found.confidence == pytest.approx(1 - 0.05 / looks_allowed(10))
    slower = look([1000, 1005, 995], [2000, 2010, 1990], max_runs=10, tie_tolerance=0.01)
    assert slower.verdict == STANDARD


def test_undecided_until_the_last_look_then_inconclusive():
    noisy = ([1000, 1300, 900], [1100, 950, 1250])
    assert look(*noisy, max_runs=10, tie_tolerance=0.01).verdict is None
    assert look(*noisy, max_runs=3, tie_tolerance=0.01).verdict == INCONCLUSIVE


def test_identical_steady_sides_tie():
    assert look([1000] * 4, [1000] * 4, max_runs=10, tie_tolerance=0.01).verdict == TIE


def test_fewer_than_three_runs_are_refused():
    with pytest.raises(ValueError, match="after 3 runs"):
        look([1000, 1000], [900, 900], max_runs=10, tie_tolerance=0.01)


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    true=st.sampled_from([1.0, 1.05, 1.2, 1.5]),
    noise=st.floats(0.01, 0.12),
)
def test_the_interval_covers_under_optional_stopping(seed, true, noise):
    rng = random.Random(seed)
    covered = 0
    for _ in range(TRIALS):
        found = adaptive(rng, true, noise)
        covered += found.interval[0] <= true <= found.interval[1]
    # At least 95% (a binomial's three standard deviations below it at 300 trials: 91%).
    assert covered >= 0.91 * TRIALS


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), noise=st.floats(0.01, 0.12))
def test_an_a_a_race_rarely_names_a_winner(seed, noise):
    rng = random.Random(seed)
    winners = sum(adaptive(rng, 1.0, noise).verdict in (ELIDE, STANDARD) for _ in range(TRIALS))
    assert winners <= 0.05 * TRIALS + 3 * (0.05 * 0.95 * TRIALS) ** 0.5


def test_a_true_1_2x_on_a_quiet_host_needs_few_runs():
    rng = random.Random(11)
    runs = [adaptive(rng, 1.2, 0.03).runs for _ in range(TRIALS)]
    assert sum(runs) / len(runs) <= 6
