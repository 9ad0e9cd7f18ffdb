"""The finer speedup histogram behind the median (jobs/models/leaderboard_tables.py
SpeedupStepCount).

Each counted race with a speedup adds one to its step, floor(speedup * SPEEDUP_STEPS), with
its demo flag, scenario and cache, in three rows: over every day (`day` = EVERY_DAY) for its
repository and for every repository together (EVERY_REPOSITORY), and for its own UTC day for
every repository together. Not per repository per day: that would multiply the rows by the
number of repositories for the one filter (a name and dates together) that the chart bins
answer well enough. jobs/leaderboard/summary_in_step.py moves races between steps in the same
transaction as the summary rows (increments in SQL, like them), and
jobs/leaderboard/summary_rebuild.py rebuilds the steps with them.

The median is then found by adding up a few hundred steps (for a range of days, the days'
steps: ~900 a day at 11,000 races a day, read from leaderboard_steps_races_idx alone) and
reading, through the speedup index, only the races of the one step that holds it
(jobs/leaderboard/figures.py, jobs/leaderboard/headline.py).
"""

import collections
import math

from django.db import connections
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, IntegerField, Q, Value
from django.db.models.functions import Cast, Floor

from jobs.models.leaderboard_tables import (
    DAY_SECONDS,
    EVERY_DAY,
    EVERY_REPOSITORY,
    SPEEDUP_STEP_KEY,
    SPEEDUP_STEPS,
    SpeedupStepCount,
)
from jobs.outcomes.vocabulary import COUNTED_VERDICTS

TABLE = SpeedupStepCount._meta.db_table


def step_of(speedup):
    """The step of a speedup: the same arithmetic as step_expression() in SQL."""
    return math.floor(speedup * SPEEDUP_STEPS)


def step_start(step):
    """The smallest float whose step is `step` or more: floor(speedup * 200) only grows with
    the speedup, so the races of a step are exactly step_start(step) <= speedup <
    step_start(step + 1), an index range (floats compare the same in Python, SQLite and
    PostgreSQL)."""
    value = step / SPEEDUP_STEPS
    while step_of(value) >= step:
        value = math.nextafter(value, -math.inf)
    while step_of(value) < step:
        value = math.nextafter(value, math.inf)
    return value


def step_expression():
    return Cast(Floor(F("speedup") * SPEEDUP_STEPS), IntegerField())


def day_expression():
    """Midnight UTC of a race's creation in SQL (created_at is unix seconds), as its `day`."""
    return ExpressionWrapper(
        F("created_at") - F("created_at") % DAY_SECONDS, output_field=BigIntegerField()
    )


def step_keys(row, is_mock, day):
    """The steps a counted race created on `day` (midnight UTC, unix seconds) adds one to, as
    SPEEDUP_STEP_KEY tuples: its repository's and every repository's over every day, and every
    repository's on its day; none without a speedup or a verdict the board counts."""
    if row["speedup"] is None or row["verdict"] not in COUNTED_VERDICTS:
        return []
    rest = (is_mock, row["scenario"], row["cache"], step_of(row["speedup"]))
    names = {row["repository_name"], EVERY_REPOSITORY}
    over_every_day = [(name, EVERY_DAY, *rest) for name in sorted(names)]
    return [*over_every_day, (EVERY_REPOSITORY, day, *rest)]


def apply_step_changes(leaving, joining):
    """Move races between steps: `leaving` and `joining` are lists of step keys."""
    change = collections.Counter(joining)
    change.subtract(leaving)
    connection = connections[SpeedupStepCount.objects.db]
    key_condition = " AND ".join(f"{name} = %s" for name in SPEEDUP_STEP_KEY)
    key_columns = ", ".join(SPEEDUP_STEP_KEY)
    placeholders = ", ".join(["%s"] * (len(SPEEDUP_STEP_KEY) + 1))
    with connection.cursor() as cursor:
        for key, delta in sorted(change.items()):
            if delta > 0:
                cursor.execute(
                    f"INSERT INTO {TABLE} ({key_columns}, races) VALUES ({placeholders}) "  # noqa: S608
                    f"ON CONFLICT ({key_columns}) "
                    f"DO UPDATE SET races = {TABLE}.races + excluded.races",
                    [*key, delta],
                )
            elif delta < 0:
                cursor.execute(
                    f"UPDATE {TABLE} SET races = races + %s WHERE {key_condition}",  # noqa: S608
                    [delta, *key],
                )
                cursor.execute(
                    f"DELETE FROM {TABLE} WHERE {key_condition} AND races <= 0",  # noqa: S608
                    list(key),
                )


# What recount_steps names the key's first two columns (annotations cannot be named like them).
RECOUNT_KEY = ("step_repository", "step_day", *SPEEDUP_STEP_KEY[2:])


def recount_steps(counted_races):
    """The steps from a full recount of `counted_races` (a queryset of jobs): per repository
    and for every repository over every day, then for every repository per day; querysets of
    dicts of RECOUNT_KEY and races, in SPEEDUP_STEP_KEY's order."""
    with_speedup = counted_races.filter(
        Q(verdict__in=COUNTED_VERDICTS), speedup__isnull=False
    ).annotate(step=step_expression())
    every_day = Value(EVERY_DAY, output_field=BigIntegerField())
    levels = (
        (F("repository_name"), every_day),
        (Value(EVERY_REPOSITORY), every_day),
        (Value(EVERY_REPOSITORY), day_expression()),
    )
    return [
        with_speedup.annotate(step_repository=repository, step_day=day)
        .values(*RECOUNT_KEY)
        .annotate(races=Count("pk"))
        .order_by()
        for repository, day in levels
    ]


def rebuild_steps(cursor, counted_races):
    """Replace every step by a full recount (inside the caller's transaction)."""
    columns = ", ".join([*SPEEDUP_STEP_KEY, "races"])
    sources = ", ".join([*RECOUNT_KEY, "races"])
    cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 (our table)
    for recount in recount_steps(counted_races):
        select, params = recount.query.sql_with_params()
        cursor.execute(
            f"INSERT INTO {TABLE} ({columns}) SELECT {sources} FROM ({select}) AS recount",  # noqa: S608
            params,
        )
