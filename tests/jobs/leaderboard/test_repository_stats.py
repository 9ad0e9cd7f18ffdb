"""Chart geometry: a race without a speedup is never drawn on a speedup line."""

import pytest

from jobs.leaderboard.repository_stats import trend_geometry
from tests.factories import make_race

pytestmark = pytest.mark.django_db


def test_races_where_a_side_failed_have_a_lane_of_their_own_below_the_axis():
    make_race("acme/trend", elide_ms=20_000, iterations=3)
    make_race("acme/trend", elide_ms=40_000, iterations=3)
    make_race("acme/trend", standard_status="failure", iterations=3)  # a forfeit: no speedup
    trend = trend_geometry("acme/trend")
    assert len(trend["points"]) == 2 and len(trend["failed"]) == 1
    assert trend["failed_y"] > trend["bottom"]  # below the axis, not on the 0.5x line
    assert trend["failed_y"] < trend["x_title_y"] - 12  # and clear of the axis title
    assert trend["failed_y"] not in [tick["y"] for tick in trend["ticks"]]
