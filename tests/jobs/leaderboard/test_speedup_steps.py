"""A step's index range holds exactly the speedups whose step arithmetic gives that step."""

import math

from hypothesis import given
from hypothesis import strategies as st

from jobs.leaderboard.speedup_steps import step_of, step_start


@given(
    st.one_of(st.floats(0.01, 500, allow_nan=False), st.integers(1, 100_000).map(lambda n: n / 200))
)
def test_every_speedup_lies_in_its_steps_range(speedup):
    step = step_of(speedup)
    assert step_start(step) <= speedup < step_start(step + 1)


def test_a_step_starts_where_rounding_puts_it_not_at_step_over_200():
    # 0.29 * 200 is 57.99999999999999 in floats: step 57, although 0.29 == 58 / 200.
    assert step_of(0.29) == 57
    assert step_start(58) > 0.29 and step_start(58) == math.nextafter(0.29, math.inf)
