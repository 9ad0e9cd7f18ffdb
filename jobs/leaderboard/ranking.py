"""Leaderboard queries: which races count, the ranking, the sides' times.

The ranking reads `jobs`; the headline is jobs/leaderboard/headline.py; the totals, the chart and
the per-repository rows (jobs/leaderboard/per_repository.py) add up the summary rows
(jobs/models/leaderboard_tables.py, read by jobs.leaderboard.figures.summary_rows), which count
the same races by the same filters and are kept in step in each race's transaction
(jobs/leaderboard/summary_in_step.py).

Which races count: completed, with a verdict the board counts (elide, standard, tie,
inconclusive; never void or not comparable), not excluded by an admin, not an operator race
(a custom command on either side), and real unless demo data is asked for (`include_demo`).

Everything here is a fixed number of queries whatever the number of races: the ranking pages
through `jobs` with the partial index jobs_ranking_idx (WHERE status = 'completed'
ORDER BY speedup DESC), the two sides' times come from one join per side (FilteredRelation on
the unique (job_id, build_type) index), and totals are one aggregate over summary rows.
"""

import datetime

from django.db import connection
from django.db.models import CharField, F, FilteredRelation, Q
from django.db.models.expressions import RawSQL

from jobs.leaderboard.speedups import plausible
from jobs.models import (
    COUNTED_VERDICTS,
    BuildResult,
    BuildType,
    Job,
    JobStatus,
    measured_ms_expression,
)
from jobs.outcomes.judging import public_race_condition
from jobs.outcomes.vocabulary import measured_ms

# status = 'completed' written into the SQL as a literal, not a bound parameter: SQLite uses
# a partial index (jobs_ranking_idx ... WHERE status = 'completed') only when it can see the
# value in the query.
COMPLETED_LITERAL = RawSQL(  # noqa: S611 (a constant of ours, no input)
    f"'{JobStatus.COMPLETED.value}'", [], output_field=CharField()
)
RANKING_INDEX = "jobs_ranking_idx"
# One repository's completed races by speedup (jobs/models/job.py).
REPOSITORY_SPEEDUP_INDEX = "jobs_repo_speedup_idx"


def using_ranking_index(queryset, index=RANKING_INDEX):
    """The rows of a sliced `jobs` query, read through jobs_ranking_idx (or `index`).

    Without ANALYZE statistics SQLite prefers the status index and sorts every completed race
    for a page of 25; INDEXED BY names the index that already holds them in order. PostgreSQL
    plans this well by itself.
    """
    if connection.vendor != "sqlite":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    sql = indexed_by(sql, index)
    if queryset._fields is not None:  # values_list()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]
    return list(queryset.model.objects.raw(sql, params))


def indexed_by(sql, index):
    """SQLite SQL of a `jobs` query that reads `jobs` through `index` (INDEXED BY)."""
    return sql.replace('FROM "jobs"', f'FROM "jobs" INDEXED BY "{index}"', 1)


def finished_races(filters=None):
    """Completed races matching the filters, whatever their verdict (void ones included)."""
    filters = filters or {}
    queryset = Job.objects.filter(
        public_race_condition(), status=COMPLETED_LITERAL, excluded_reason=""
    )
    if filters.get("q"):
        queryset = queryset.filter(repository_name__icontains=filters["q"])
    if filters.get("since"):
        queryset = queryset.filter(created_at__gte=day_start(filters["since"]))
    if filters.get("until"):
        queryset = queryset.filter(
            created_at__lt=day_start(filters["until"] + datetime.timedelta(days=1))
        )
    if filters.get("successful"):
        # A speedup exists only when both sides succeeded.
        queryset = queryset.filter(speedup__isnull=False)
    return demo_and_kind(queryset, filters)


def demo_and_kind(queryset, filters):
    """Demo data only when asked for, and the kind of race (scenario, cache) when named: one
    definition for `jobs`, the summary rows and the speedup steps, which all carry these
    columns."""
    if not filters.get("include_demo"):
        queryset = queryset.filter(is_mock=False)
    for name in ("scenario", "cache"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    return queryset


def completed_races(filters=None):
    """The races the leaderboard counts, matching its filters (see LeaderboardFilterForm)."""
    return finished_races(filters).filter(verdict__in=COUNTED_VERDICTS)


def day_start(day):
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)


def side_time(alias):
    """Milliseconds of a joined side: duration_ms, or the seed's whole seconds."""
    return measured_ms_expression(f"{alias}__")


def with_side_times(queryset):
    """Add elide_ms/standard_ms and the sides' statuses through two 1:1 joins."""
    return queryset.annotate(
        elide_side=FilteredRelation("results", condition=Q(results__build_type=BuildType.ELIDE)),
        standard_side=FilteredRelation(
            "results", condition=Q(results__build_type=BuildType.STANDARD)
        ),
    ).annotate(
        elide_ms=side_time("elide_side"),
        standard_ms=side_time("standard_side"),
        elide_status=F("elide_side__status"),
        standard_status=F("standard_side__status"),
    )


RANKING_COLUMNS = (
    "id",
    "status",
    "repository_name",
    "repository_url",
    "ref",
    "commit_sha",
    "created_at",
    "winner",
    "speedup",
    "is_mock",
    "verdict",
    "speedup_ci_low",
    "speedup_ci_high",
)


# Ranked races come in two parts, so that both read an index in order on SQLite and on
# PostgreSQL (which sort NULLs differently; an explicit NULLS LAST defeats the index):
# races with a speedup by jobs_ranking_idx, then races without one (a side failed) by
# jobs_status_created_idx.
RANKED_ORDER = ("-speedup", "-created_at", "-id")
UNRANKED_ORDER = ("-created_at", "-id")


def ranked_part(filters=None):
    """Races with a speedup, best first (the ORDER BY spelled as the index is on each database:
    PostgreSQL's jobs_ranking_idx is DESC NULLS LAST, SQLite's plain DESC)."""
    speedup = F("speedup").desc(nulls_last=True if connection.vendor == "postgresql" else None)
    return (
        completed_races(filters)
        .filter(speedup__isnull=False)
        .order_by(speedup, *RANKED_ORDER[1:])
        .only(*RANKING_COLUMNS)
    )


def unranked_part(filters=None):
    """Races without a speedup (a side failed), newest first; empty for `successful`."""
    if (filters or {}).get("successful"):
        return Job.objects.none()
    return (
        completed_races(filters)
        .filter(speedup__isnull=True)
        .order_by(*UNRANKED_ORDER)
        .only(*RANKING_COLUMNS)
    )


class Ranking:
    """The leaderboard's order as a sliceable sequence for Paginator: ranked, then unranked.

    `ranked_count` (races with a speedup) comes from the totals, so a page costs one query
    (two at the seam between the parts).
    """

    def __init__(self, filters, *, total, ranked_count):
        self.filters = filters
        self.total = total
        self.ranked_count = ranked_count

    def count(self):
        return self.total

    def __len__(self):
        return self.total

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        start, stop = index.start or 0, index.stop if index.stop is not None else self.total
        jobs = []
        if start < self.ranked_count:
            page = ranked_part(self.filters)[start : min(stop, self.ranked_count)]
            jobs += using_ranking_index(page)
        if stop > self.ranked_count:
            first = max(0, start - self.ranked_count)
            jobs += list(unranked_part(self.filters)[first : stop - self.ranked_count])
        return jobs


def ranking(filters=None):
    """Every ranked race in order (tests, small sets); pages use Ranking."""
    return list(ranked_part(filters)) + list(unranked_part(filters))


def ranking_with_times(filters=None, *, start=0, stop=None, ranked_count=None):
    """Ranked races [start:stop] with both sides' times joined in, streamed (exports).

    `ranked_count` (races with a speedup, from the totals) says where the unranked part
    begins; it is counted when not given.
    """
    if ranked_count is None:
        ranked_count = ranked_part(filters).count()
    ranked_stop = ranked_count if stop is None else min(stop, ranked_count)
    if start < ranked_stop:
        ranked = with_side_times(ranked_part(filters))[start:ranked_stop]
        yield from ranked.iterator(chunk_size=2000)
    if stop is not None and stop <= ranked_count:
        return
    unranked = with_side_times(unranked_part(filters))
    first = max(0, start - ranked_count)
    unranked = unranked[first:] if stop is None else unranked[first : stop - ranked_count]
    yield from unranked.iterator(chunk_size=2000)


def attach_side_times(jobs):
    """Set elide_ms/standard_ms/elide_status/standard_status (and `flagged`) on a page of
    jobs; one query."""
    by_id = {job.pk: job for job in jobs}
    for job in jobs:
        job.elide_ms = job.standard_ms = job.elide_status = job.standard_status = None
        job.flagged = job.speedup is not None and not plausible(job.speedup)
    rows = BuildResult.objects.filter(job_id__in=list(by_id)).values_list(
        "job_id", "build_type", "status", "duration_ms", "duration"
    )
    for job_id, build_type, status, duration_ms, duration in rows:
        job = by_id[job_id]
        setattr(job, f"{build_type}_ms", measured_ms(duration_ms, duration))
        setattr(job, f"{build_type}_status", status)
    return jobs
