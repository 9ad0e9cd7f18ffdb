"""jobs/leaderboard/headline.py: medians found through the speedup steps equal medians of every
speedup."""

import datetime
import random

import pytest
from django.db import connection
from django.utils import timezone

from jobs.leaderboard.headline import headline, medians_from_every_speedup, medians_from_steps
from jobs.models import Job, SpeedupStepCount
from jobs.models.leaderboard_tables import EVERY_DAY
from tests.factories import make_race

pytestmark = pytest.mark.django_db

FILTER_SETS = [
    {},
    {"include_demo": True},
    {"q": "alpha"},
    {"scenario": "clean", "cache": "warm"},
    {"scenario": "noop"},
    {"cache": "cold", "include_demo": True},
]


def random_races(seed, count=90):
    rng = random.Random(seed)
    for _ in range(count):
        speedup = rng.choice(
            [
                rng.uniform(0.2, 4.0),
                # Around the plausibility bound set below (3.0025): the step [3.0, 3.005)
                # holds plausible and flagged speedups both.
                rng.choice([3.001, 3.002, 3.003, 3.004, 5.0]),
                1.5,  # ties of equal speedups across steps' edges
            ]
        )
        make_race(
            rng.choice(["alpha/one", "alpha/two", "beta/three", "gamma/four"]),
            elide_ms=10_000,
            standard_ms=round(10_000 * speedup),
            is_mock=rng.random() < 0.2,
            scenario=rng.choice(["clean", "clean", "noop"]),
            cache=rng.choice(["warm", "warm", "cold"]),
            standard_status="failure" if rng.random() < 0.05 else "success",
            # Over a few days: the steps of each day (every repository together) are kept
            # too, and a repository's median must not count them.
            created_at=timezone.now() - datetime.timedelta(days=rng.randint(0, 4)),
        )


@pytest.mark.parametrize("seed", [1, 2])
def test_medians_from_the_steps_equal_the_medians_of_every_speedup(settings, seed):
    settings.ARENA_PLAUSIBLE_SPEEDUP = 3.0025
    random_races(seed)
    assert SpeedupStepCount.objects.exclude(day=EVERY_DAY).values("day").distinct().count() > 1
    for filters in FILTER_SETS:
        from_steps, races = medians_from_steps(filters)
        assert (from_steps, races) == medians_from_every_speedup(filters), filters
        assert from_steps or not Job.objects.exists()


def test_the_headline_reads_a_few_races_per_repository_not_every_race(
    settings, django_assert_max_num_queries
):
    settings.ARENA_PLAUSIBLE_SPEEDUP = 10
    for index in range(60):
        make_race(f"many/repo{index % 3}", elide_ms=10_000, standard_ms=12_000 + index * 100)
    # One query for the steps, one for every repository's middle races (read by index).
    with django_assert_max_num_queries(2):
        statement = headline({})
    assert statement["races"] == 60 and statement["repositories"] == 3


def test_steps_that_disagree_with_the_races_still_give_the_right_headline(settings, caplog):
    settings.ARENA_PLAUSIBLE_SPEEDUP = 10
    settings.ARENA_HEADLINE_MIN_REPOSITORIES = 2
    races = [
        make_race(name, elide_ms=10_000, standard_ms=standard_ms)
        for name in ("drift/app", "drift/other")
        for standard_ms in (15_000, 20_000, 30_000)
    ]
    assert headline({})["speedup"] == 2.0
    with connection.cursor() as cursor:  # behind the application's back: no summary update
        cursor.execute("UPDATE jobs SET speedup = 2.5 WHERE id = %s", [races[1].pk])
    drifted = headline({})
    assert drifted["speedup"] == pytest.approx((2.5 * 2.0) ** 0.5, abs=1e-4)
    assert drifted["races"] == 6
    assert "rebuild_leaderboard_summary" in caplog.text
