"""Rebuilding the leaderboard's summary rows (jobs/models/leaderboard_tables.py) from `jobs`.

A full recount, one INSERT ... SELECT ... GROUP BY over `jobs` per level (each day, every
day) plus the speedup steps (`rebuild_summary`). Bulk loads (the seed, demo data) run it at
the end instead of keeping the rows in step race by race (jobs/leaderboard/summary_in_step.py),
and `manage.py rebuild_leaderboard_summary` runs it after anything wrote `jobs` behind
Django's back (raw SQL, a restored backup). Tests compare the kept rows with `recount()`.
"""

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

from jobs.leaderboard.speedup_steps import TABLE as STEPS_TABLE
from jobs.leaderboard.speedup_steps import day_expression, rebuild_steps
from jobs.leaderboard.speedups import SPEEDUP_BINS, bin_condition
from jobs.leaderboard.summary_in_step import JOB_COLUMNS, TABLE, counted_condition
from jobs.models import leaderboard_tables as tables
from jobs.models.job import Job
from jobs.outcomes.vocabulary import ELIDE, STANDARD, TIE


def counted_races_by_group_columns():
    """The races the summary counts, with every column of their groups."""
    return Job.objects.filter(counted_condition())


def recount():
    """The summary rows from a full recount of `jobs`: querysets of dicts, one per group, for
    each day and for every day."""
    every_day = Value(tables.EVERY_DAY, output_field=BigIntegerField())
    return [_recount_by(level) for level in (day_expression(), every_day)]


def _recount_by(day):
    measured = ExpressionWrapper(Q(speedup__isnull=False), output_field=BooleanField())
    races = counted_races_by_group_columns().annotate(summary_day=day, summary_measured=measured)
    zero = Value(0)
    bins = {
        column: Count("pk", filter=bin_condition(low, high))
        for column, (low, high, _) in zip(tables.SPEEDUP_BIN_COLUMNS, SPEEDUP_BINS, strict=True)
    }
    bound = settings.ARENA_PLAUSIBLE_SPEEDUP
    return (
        races.values("summary_day", *tables.SUMMARY_KEY[1:6], "summary_measured")
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
    columns = [
        *tables.SUMMARY_KEY,
        *tables.SUMMARY_COUNTS,
        *tables.SUMMARY_HIGHEST,
        *tables.SUMMARY_LOWEST,
    ]
    sources = ["summary_day", *tables.SUMMARY_KEY[1:6], "summary_measured"]
    sources += columns[len(tables.SUMMARY_KEY) :]
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
            for model in (tables.LeaderboardSummary, tables.SpeedupStepCount)
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
