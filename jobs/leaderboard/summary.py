"""Keeping the leaderboard's summary rows (jobs/leaderboard/summary_table.py) in step with `jobs`.

A race counts in the summary while it is completed, not excluded and has a verdict; it
belongs to the group of SUMMARY_KEY, for its day and for every day (EVERY_DAY), adds its
counts to both rows (one race, its win, its chart bin, its sides' success times), widens
their extremes (best speedup and times, last race), and adds one to its speedup steps
(jobs/leaderboard/speedup_steps.py: over every day, and on its day for every repository together).

Every write that can change that — a race recorded, a verdict stored, a requeue, an admin's
exclusion, demo flag or edit, a deletion — runs inside `kept_in_step(job_ids)`, which reads
the races' groups before and after the write and applies the difference in the same
transaction. Counts change by increments in SQL (INSERT ... ON CONFLICT DO UPDATE SET
n = n + excluded.n; UPDATE ... SET n = n - %s), so concurrent workers never lose one. When a
race leaves a group, the group's extremes are recounted from `jobs` after its row is locked
by the decrement, so a race added meanwhile is either already seen or waits for the lock.
Job.save() and Job deletions go through it (jobs/models.py); queryset updates call it.

Bulk loads (the seed, the legacy import) rebuild every row at the end instead: one
INSERT ... SELECT ... GROUP BY over `jobs` (`rebuild_summary`), also run by
`manage.py rebuild_leaderboard_summary` after anything wrote `jobs` behind Django's back.
"""

import contextlib

from django.apps import apps
from django.conf import settings
from django.db import connections, transaction
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    ExpressionWrapper,
    Max,
    Min,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from jobs.fields import to_unix_seconds
from jobs.leaderboard.speedup_steps import TABLE as STEPS_TABLE
from jobs.leaderboard.speedup_steps import (
    apply_step_changes,
    day_expression,
    rebuild_steps,
    step_keys,
)
from jobs.leaderboard.speedups import SPEEDUP_BINS, bin_condition, bin_index, plausible
from jobs.leaderboard.summary_table import (
    DAY_SECONDS,
    EVERY_DAY,
    SPEEDUP_BIN_COLUMNS,
    SUMMARY_COUNTS,
    SUMMARY_HIGHEST,
    SUMMARY_KEY,
    SUMMARY_LOWEST,
    LeaderboardSummary,
    SpeedupStepCount,
)
from jobs.outcomes.judging import public_race_condition
from jobs.outcomes.labels import is_operator_race
from jobs.outcomes.vocabulary import COMPLETED, ELIDE, STANDARD, TIE

TABLE = LeaderboardSummary._meta.db_table
# The columns of `jobs` a race's group and figures are made of.
JOB_COLUMNS = (
    "status",
    "excluded_reason",
    "verdict",
    "created_at",
    "repository_name",
    "is_mock",
    "scenario",
    "cache",
    "winner",
    "speedup",
    "elide_success_ms",
    "standard_success_ms",
    "standard_cmd",
    "elide_cmd",
)


def _jobs():
    """The races (jobs.models imports this module when a Job is saved: no import back)."""
    return apps.get_model("jobs", "Job").objects


def counts_in_summary(row):
    """Whether a race (a dict of JOB_COLUMNS) is in the summary at all: completed, judged,
    not excluded and not an operator race."""
    return (
        row["status"] == COMPLETED
        and not row["excluded_reason"]
        and bool(row["verdict"])
        and not is_operator_race(row["standard_cmd"], row["elide_cmd"])
    )


def contribution(row):
    """What one race (a dict of JOB_COLUMNS) adds, or None: ([(group key, counts, extremes)
    for its day and for every day], [its speedup step keys])."""
    if not counts_in_summary(row):
        return None
    created = to_unix_seconds(row["created_at"])
    speedup = row["speedup"]
    key = (
        created - created % DAY_SECONDS,
        row["repository_name"],
        bool(row["is_mock"]),
        row["scenario"],
        row["cache"],
        row["verdict"],
        speedup is not None,
    )
    counts = dict.fromkeys(SUMMARY_COUNTS, 0)
    counts["races"] = 1
    counts["elide_wins"] = int(row["winner"] == ELIDE)
    counts["standard_wins"] = int(row["winner"] == STANDARD)
    counts["ties"] = int(row["winner"] == TIE)
    if speedup is not None:
        counts["flagged"] = int(not plausible(speedup))
        counts[SPEEDUP_BIN_COLUMNS[bin_index(speedup)]] = 1
    for side in ("elide", "standard"):
        ms = row[f"{side}_success_ms"]
        if ms is not None:
            counts[f"{side}_success_count"] = 1
            counts[f"{side}_success_ms_total"] = ms
    extremes = {
        "best_speedup": speedup,
        "last_race": created,
        "best_elide_ms": row["elide_success_ms"],
        "best_standard_ms": row["standard_success_ms"],
    }
    every_day = (EVERY_DAY, *key[1:])
    groups = [(key, counts, extremes), (every_day, counts, extremes)]
    return groups, step_keys(row, bool(row["is_mock"]), key[0])


def _contributions(job_ids, *, lock):
    races = _jobs().filter(pk__in=list(job_ids)).order_by()
    if lock and connections[races.db].features.has_select_for_update:
        races = races.select_for_update()
    rows = races.values("id", *JOB_COLUMNS)
    return {row.pop("id"): contribution(row) for row in rows}


@contextlib.contextmanager
def kept_in_step(job_ids, *, also_after=()):
    """Run a write to these races and move them between summary groups in its transaction
    (`also_after`: races that do not exist yet, read after the write only)."""
    job_ids = [job_id for job_id in job_ids if job_id is not None]
    after_ids = [*job_ids, *(job_id for job_id in also_after if job_id is not None)]
    with transaction.atomic(savepoint=False):
        before = _contributions(job_ids, lock=True) if job_ids else {}
        yield
        after = _contributions(after_ids, lock=False) if after_ids else {}
        apply_changes(before, after)


def race_leaving(sender, instance, **kwargs):
    """pre_delete of a Job: remember what it counted (read, locked, in the delete's
    transaction)."""
    instance._summary_before = _contributions([instance.pk], lock=True)


def race_left(sender, instance, **kwargs):
    """post_delete of a Job: take it out of its summary group."""
    apply_changes(getattr(instance, "_summary_before", {}), {})


def apply_changes(before, after):
    """Subtract the races' old contributions and add their new ones (both {id: contribution})."""
    leaving, joining = [], []
    for job_id in set(before) | set(after):
        old, new = before.get(job_id), after.get(job_id)
        if old == new:
            continue
        if old is not None:
            leaving.append(old)
        if new is not None:
            joining.append(new)
    for key, counts, extremes in _grouped(joining):
        _add(key, counts, extremes)
    for key, counts, _ in _grouped(leaving):
        _subtract(key, counts)
    apply_step_changes(
        [step for _, steps in leaving for step in steps],
        [step for _, steps in joining for step in steps],
    )


def _grouped(contributions):
    groups = {}
    every_group = [group for race_groups, _ in contributions for group in race_groups]
    for key, counts, extremes in every_group:
        if key not in groups:
            groups[key] = (key, dict(counts), dict(extremes))
            continue
        _, total, widest = groups[key]
        for name, value in counts.items():
            total[name] += value
        for name in SUMMARY_HIGHEST:
            widest[name] = _extreme(max, widest[name], extremes[name])
        for name in SUMMARY_LOWEST:
            widest[name] = _extreme(min, widest[name], extremes[name])
    return sorted(groups.values(), key=lambda group: repr(group[0]))


def _extreme(choose, first, second):
    values = [value for value in (first, second) if value is not None]
    return choose(values) if values else None


def _sql_extreme(connection, function, column):
    """The larger/smaller of the stored and the new value, ignoring NULLs on both databases."""
    name = {"max": "GREATEST", "min": "LEAST"}[function]
    if connection.vendor == "sqlite":
        name = function.upper()  # SQLite's scalar MAX/MIN (NULL if any argument is NULL)
    stored, new = f"{TABLE}.{column}", f"excluded.{column}"
    return f"{name}(COALESCE({stored}, {new}), COALESCE({new}, {stored}))"


def _add(key, counts, extremes):
    connection = connections[LeaderboardSummary.objects.db]
    columns = [*SUMMARY_KEY, *SUMMARY_COUNTS, *SUMMARY_HIGHEST, *SUMMARY_LOWEST]
    values = [*key, *(counts[name] for name in SUMMARY_COUNTS)]
    values += [extremes[name] for name in (*SUMMARY_HIGHEST, *SUMMARY_LOWEST)]
    updates = [f"{name} = {TABLE}.{name} + excluded.{name}" for name in SUMMARY_COUNTS]
    updates += [f"{name} = {_sql_extreme(connection, 'max', name)}" for name in SUMMARY_HIGHEST]
    updates += [f"{name} = {_sql_extreme(connection, 'min', name)}" for name in SUMMARY_LOWEST]
    sql = (
        f"INSERT INTO {TABLE} ({', '.join(columns)}) "  # noqa: S608 (our names)
        f"VALUES ({', '.join(['%s'] * len(values))}) "
        f"ON CONFLICT ({', '.join(SUMMARY_KEY)}) DO UPDATE SET {', '.join(updates)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def _key_condition():
    return " AND ".join(f"{name} = %s" for name in SUMMARY_KEY)


def _subtract(key, counts):
    """Take races out of a group: decrement (locking the row), recount its extremes from
    `jobs`, and delete the row once no race is left in it."""
    connection = connections[LeaderboardSummary.objects.db]
    updates = ", ".join(f"{name} = {name} - %s" for name in SUMMARY_COUNTS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET {updates} WHERE {_key_condition()}",  # noqa: S608 (our names)
            [*(counts[name] for name in SUMMARY_COUNTS), *key],
        )
        cursor.execute(
            f"DELETE FROM {TABLE} WHERE {_key_condition()} AND races <= 0",  # noqa: S608
            list(key),
        )
    extremes = _races_of_group(key).aggregate(
        best_speedup=Max("speedup"),
        last_race=Max("created_at"),
        best_elide_ms=Min("elide_success_ms"),
        best_standard_ms=Min("standard_success_ms"),
    )
    LeaderboardSummary.objects.filter(**dict(zip(SUMMARY_KEY, key, strict=True))).update(**extremes)


def _races_of_group(key):
    fields = dict(zip(SUMMARY_KEY, key, strict=True))
    day = fields.pop("day")
    measured = fields.pop("measured")
    races = _jobs().filter(_counted_condition(), speedup__isnull=not measured, **fields)
    if day == EVERY_DAY:
        return races
    return races.filter(created_at__gte=day, created_at__lt=day + DAY_SECONDS)


def _counted_condition():
    return Q(status=COMPLETED, excluded_reason="", verdict__isnull=False) & public_race_condition()


def counted_races_by_group_columns():
    """The races the summary counts, with every column of their groups."""
    return _jobs().filter(_counted_condition())


def recount():
    """The summary rows from a full recount of `jobs`: querysets of dicts, one per group, for
    each day and for every day."""
    every_day = Value(EVERY_DAY, output_field=BigIntegerField())
    return [_recount_by(level) for level in (day_expression(), every_day)]


def _recount_by(day):
    measured = ExpressionWrapper(Q(speedup__isnull=False), output_field=BooleanField())
    races = counted_races_by_group_columns().annotate(summary_day=day, summary_measured=measured)
    zero = Value(0)
    bins = {
        column: Count("pk", filter=bin_condition(low, high))
        for column, (low, high, _) in zip(SPEEDUP_BIN_COLUMNS, SPEEDUP_BINS, strict=True)
    }
    bound = settings.ARENA_PLAUSIBLE_SPEEDUP
    return (
        races.values("summary_day", *SUMMARY_KEY[1:6], "summary_measured")
        .annotate(
            races=Count("pk"),
            elide_wins=Count("pk", filter=Q(winner=ELIDE)),
            standard_wins=Count("pk", filter=Q(winner=STANDARD)),
            ties=Count("pk", filter=Q(winner=TIE)),
            flagged=Count("pk", filter=Q(speedup__gt=bound) | Q(speedup__lt=1 / bound)),
            **bins,
            elide_success_count=Count("elide_success_ms"),
            elide_success_ms_total=Coalesce(Sum("elide_success_ms"), zero),
            standard_success_count=Count("standard_success_ms"),
            standard_success_ms_total=Coalesce(Sum("standard_success_ms"), zero),
            best_speedup=Max("speedup"),
            last_race=Max("created_at"),
            best_elide_ms=Min("elide_success_ms"),
            best_standard_ms=Min("standard_success_ms"),
        )
        .order_by()
    )


def rebuild_summary(using="default"):
    """Replace every summary row by a full recount, in one transaction; returns the rows.

    Safe while workers record races: on PostgreSQL the table is locked against their
    increments (SHARE ROW EXCLUSIVE) for the rebuild's few seconds, so each race is either in
    the recount or added after it; SQLite has one writer at a time anyway.
    """
    connection = connections[using]
    columns = [*SUMMARY_KEY, *SUMMARY_COUNTS, *SUMMARY_HIGHEST, *SUMMARY_LOWEST]
    sources = ["summary_day", *SUMMARY_KEY[1:6], "summary_measured"]
    sources += columns[len(SUMMARY_KEY) :]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in (TABLE, STEPS_TABLE):
                cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 (our table)
        rows = 0
        for level in recount():
            select, params = level.using(using).query.sql_with_params()
            cursor.execute(
                f"INSERT INTO {TABLE} ({', '.join(columns)}) "  # noqa: S608 (our names)
                f"SELECT {', '.join(sources)} FROM ({select}) AS recount",
                params,
            )
            rows += cursor.rowcount
        rebuild_steps(cursor, counted_races_by_group_columns().using(using))
        return rows


def recount_in_migration(apps, schema_editor):
    """A migration's RunPython: fill both tables from the races already stored.

    The recount is this module's, which writes the tables' newest shape; a migration that runs
    before a later one reshapes them (a database several migrations behind) finds a column
    missing and leaves the recount to that later one, which calls this too. A new, empty
    database has nothing to count.
    """
    connection = schema_editor.connection
    needed = {
        apps.get_model("jobs", "Job")._meta.db_table: set(JOB_COLUMNS),
        **{
            model._meta.db_table: {field.column for field in model._meta.concrete_fields}
            for model in (LeaderboardSummary, SpeedupStepCount)
        },
    }
    introspection = connection.introspection
    with connection.cursor() as cursor:
        for table, columns in needed.items():
            present = {column.name for column in introspection.get_table_description(cursor, table)}
            if not columns <= present:
                return
    if apps.get_model("jobs", "Job").objects.using(connection.alias).exists():
        rebuild_summary(using=connection.alias)
