"""Keeping the leaderboard's summary rows (jobs/models/leaderboard_tables.py) in step with `jobs`.

A race counts in the summary while it is completed, not excluded and has a verdict; it
belongs to the group of SUMMARY_KEY, for its day and for every day (EVERY_DAY), adds its
counts to both rows (one race, its win, its chart bin, its sides' success times), widens
their extremes (best speedup and times, last race), and adds one to its speedup steps
(jobs/leaderboard/speedup_steps.py: over every day, and on its day for every repository together).

Every write of `jobs` through Django runs inside `kept_in_step` (jobs/models/job_writes.py:
Job.save and delete, the queryset's update, delete and bulk writes), which reads the rows of
the races the write changes (locked) before it, takes their rows after it from the writer
(the values written) or reads them back, and applies the difference in the same transaction.
Nested writes are counted once: the outermost `kept_in_step` of a race reads it, the writes
within it leave that race to it. Counts change by increments in SQL
(INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n; UPDATE ... SET n = n - %s), so
concurrent workers never lose one. When a race leaves a group, the group's extremes are
recounted from `jobs` after its row is locked by the decrement, so a race added meanwhile is
either already seen or waits for the lock.

`races` is the Job model's plain queryset, passed in by the write path: this module reads
`jobs` through it and never imports the model whose writes call it. Bulk loads and writes
behind Django's back are recounted by jobs/leaderboard/summary_rebuild.py.
"""

import contextlib
import threading

from django.db import connections, transaction
from django.db.models import Max, Min, Q

from jobs.fields import to_unix_seconds
from jobs.leaderboard.speedup_steps import apply_step_changes, step_keys
from jobs.leaderboard.speedups import bin_index, plausible
from jobs.models.leaderboard_tables import (
    DAY_SECONDS,
    EVERY_DAY,
    SPEEDUP_BIN_COLUMNS,
    SUMMARY_COUNTS,
    SUMMARY_HIGHEST,
    SUMMARY_KEY,
    SUMMARY_LOWEST,
    LeaderboardSummary,
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

# The fields whose change can move a race between groups (its primary key too).
_MOVING_FIELDS = frozenset((*JOB_COLUMNS, "id", "pk"))


def moves_races(fields):
    """Whether writing these fields (names, or a dict of them) can change the summary."""
    return not _MOVING_FIELDS.isdisjoint(fields)


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


def rows_of(written, *, lock):
    """{primary key: its JOB_COLUMNS} of the races of a queryset (locked: read for update, in
    primary key order, so that two writes of the same races wait rather than deadlock)."""
    written = written.order_by("pk")
    if lock and connections[written.db].features.has_select_for_update:
        written = written.select_for_update()
    return {row.pop("id"): row for row in written.values("id", *JOB_COLUMNS)}


# The races each thread's open kept_in_step blocks already read (by primary key).
_in_step = threading.local()


class WriteInStep:
    """The races one write changes: `before`, their rows as the write began ({primary key:
    JOB_COLUMNS}, read and locked). A writer that knows their rows after the write sets
    `after` (same shape); otherwise they are read again once it is done."""

    def __init__(self, before):
        self.before = before
        self.after = None


@contextlib.contextmanager
def kept_in_step(races, written=None, *, new_rows=None):
    """Run a write and move the races it changes between summary groups in its transaction.

    `races`: the Job model's plain queryset (read after the write, and where the groups'
    extremes are recounted from); `written`: a queryset of the stored races the write changes
    (read and locked before it); `new_rows`: {primary key: JOB_COLUMNS} of the races it
    inserts. Yields a WriteInStep. A race already read by an enclosing kept_in_step is left to
    it, so nested writes count each race once.
    """
    covered = _in_step.__dict__.setdefault("job_ids", set())
    with transaction.atomic(using=races.db, savepoint=False):
        write = WriteInStep(rows_of(written, lock=True) if written is not None else {})
        before = {pk: row for pk, row in write.before.items() if str(pk) not in covered}
        new_rows = {pk: row for pk, row in (new_rows or {}).items() if str(pk) not in covered}
        mine = {str(pk) for pk in (*before, *new_rows)}
        covered |= mine
        try:
            yield write
        finally:
            covered -= mine
        after = write.after
        if after is None:
            after = rows_of(races.filter(pk__in=list(before)), lock=False) if before else {}
        # What an enclosing kept_in_step reads (now `covered` again) is left to it.
        after = {pk: row for pk, row in {**after, **new_rows}.items() if str(pk) not in covered}
        if before or after:
            apply_changes(
                races,
                {pk: contribution(row) for pk, row in before.items()},
                {pk: contribution(row) for pk, row in after.items()},
            )


def apply_changes(races, before, after):
    """Subtract the races' old contributions and add their new ones (both {id: contribution});
    `races` is where the groups' extremes are recounted from."""
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
        _subtract(races, key, counts)
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


def _subtract(races, key, counts):
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
    extremes = races_of_group(races, key).aggregate(
        best_speedup=Max("speedup"),
        last_race=Max("created_at"),
        best_elide_ms=Min("elide_success_ms"),
        best_standard_ms=Min("standard_success_ms"),
    )
    LeaderboardSummary.objects.filter(**dict(zip(SUMMARY_KEY, key, strict=True))).update(**extremes)


def races_of_group(races, key):
    """The counted races among `races` that make up one group (a SUMMARY_KEY tuple)."""
    fields = dict(zip(SUMMARY_KEY, key, strict=True))
    day = fields.pop("day")
    measured = fields.pop("measured")
    races = races.filter(counted_condition(), speedup__isnull=not measured, **fields)
    if day == EVERY_DAY:
        return races
    return races.filter(created_at__gte=day, created_at__lt=day + DAY_SECONDS)


def counted_condition():
    """The races the summary counts, as a filter (counts_in_summary in SQL)."""
    return Q(status=COMPLETED, excluded_reason="", verdict__isnull=False) & public_race_condition()
