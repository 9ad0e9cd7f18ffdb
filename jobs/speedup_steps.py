"""The finer speedup histogram behind the median (jobs/summary_table.py SpeedupStepCount).

Each counted race with a speedup adds one to its step, floor(speedup * SPEEDUP_STEPS), for
its repository and for every repository together (EVERY_REPOSITORY), its demo flag, scenario
and cache. jobs/summary.py moves races between steps in the same
transaction as the summary rows (increments in SQL, like them) and rebuilds the steps with
them. The median is then found by adding up a few hundred steps and reading, through the
speedup index, only the races of the one step that holds it (jobs/leaderboard.py).
"""

import collections
import math

from django.db import connections
from django.db.models import Count, F, IntegerField, Q, Value
from django.db.models.functions import Cast, Floor

from jobs.summary_table import (
    EVERY_REPOSITORY,
    SPEEDUP_STEP_KEY,
    SPEEDUP_STEPS,
    SpeedupStepCount,
)
from jobs.vocabulary import COUNTED_VERDICTS

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


def step_keys(row, is_mock):
    """The steps a counted race adds one to: its repository's and every repository's
    (repository_name, is_mock, scenario, cache, step); none without a speedup or a verdict the
    board counts."""
    if row["speedup"] is None or row["verdict"] not in COUNTED_VERDICTS:
        return []
    rest = (is_mock, row["scenario"], row["cache"], step_of(row["speedup"]))
    names = {row["repository_name"], EVERY_REPOSITORY}
    return [(name, *rest) for name in sorted(names)]


def apply_step_changes(leaving, joining):
    """Move races between steps: `leaving` and `joining` are lists of step keys."""
    change = collections.Counter(joining)
    change.subtract(leaving)
    connection = connections[SpeedupStepCount.objects.db]
    key_condition = " AND ".join(f"{name} = %s" for name in SPEEDUP_STEP_KEY)
    with connection.cursor() as cursor:
        for key, delta in sorted(change.items()):
            if delta > 0:
                cursor.execute(
                    f"INSERT INTO {TABLE} ({', '.join(SPEEDUP_STEP_KEY)}, races) "  # noqa: S608
                    f"VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT ({', '.join(SPEEDUP_STEP_KEY)}) "
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


def recount_steps(counted_races):
    """The steps from a full recount of `counted_races` (a queryset of jobs): per repository,
    then for every repository; querysets of dicts (step_repository: the repository_name)."""
    with_speedup = counted_races.filter(
        Q(verdict__in=COUNTED_VERDICTS), speedup__isnull=False
    ).annotate(step=step_expression())
    levels = (F("repository_name"), Value(EVERY_REPOSITORY))
    return [
        with_speedup.annotate(step_repository=level)
        .values("step_repository", *SPEEDUP_STEP_KEY[1:])
        .annotate(races=Count("pk"))
        .order_by()
        for level in levels
    ]


def rebuild_steps(cursor, counted_races):
    """Replace every step by a full recount (inside the caller's transaction)."""
    columns = ", ".join([*SPEEDUP_STEP_KEY, "races"])
    sources = ", ".join(["step_repository", *SPEEDUP_STEP_KEY[1:], "races"])
    cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 (our table)
    for recount in recount_steps(counted_races):
        select, params = recount.query.sql_with_params()
        cursor.execute(
            f"INSERT INTO {TABLE} ({columns}) SELECT {sources} FROM ({select}) AS recount",  # noqa: S608
            params,
        )
