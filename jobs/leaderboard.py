"""Leaderboard queries: the headline, the ranking, the totals and the speedup histogram.

Every leaderboard figure is computed here (and per-repository rows in jobs/statistics.py from
the same `completed_races`), so a later summary table has one module to feed from.

Which races count: completed, with a verdict the board counts (elide, standard, tie,
inconclusive; never void or not comparable), not excluded by an admin, and real unless
demo data is asked for (`include_demo`). The headline also leaves out races whose speedup
is beyond ARENA_PLAUSIBLE_SPEEDUP (flagged for review) and races without a speedup.

Everything here is a fixed number of queries whatever the number of races: the ranking pages
through `jobs` with the partial index jobs_ranking_idx (WHERE status = 'completed'
ORDER BY speedup DESC), the two sides' times come from one join per side (FilteredRelation on
the unique (job_id, build_type) index), and totals are one aggregate.
"""

import datetime
import math
import statistics
from collections import defaultdict

from django.conf import settings
from django.db import connection
from django.db.models import CharField, Count, F, FilteredRelation, Max, Q
from django.db.models.expressions import RawSQL

from jobs.models import (
    COUNTED_VERDICTS,
    BuildResult,
    BuildType,
    Job,
    JobStatus,
    Verdict,
    Winner,
    measured_ms_expression,
    percent_faster,
)
from jobs.verdict import bootstrap_interval
from jobs.vocabulary import measured_ms

HEADLINE_RESAMPLES = 2000
# Above this many repositories the mean of log speedups is as good as normal (central limit),
# and its normal interval replaces the bootstrap, whose cost grows with repositories x 2,000.
HEADLINE_NORMAL_ABOVE = 200

# Histogram bins of the speedup chart: (lower bound inclusive, upper bound exclusive, label).
SPEEDUP_BINS = (
    (0.0, 0.8, "<0.8\u00d7"),
    (0.8, 0.95, "0.8\u20130.95"),
    (0.95, 1.05, "\u22481\u00d7"),
    (1.05, 1.25, "1.05\u20131.25"),
    (1.25, 1.5, "1.25\u20131.5"),
    (1.5, 2.0, "1.5\u20132\u00d7"),
    (2.0, 3.0, "2\u20133\u00d7"),
    (3.0, 5.0, "3\u20135\u00d7"),
    (5.0, None, "\u22655\u00d7"),
)


# status = 'completed' written into the SQL as a literal, not a bound parameter: SQLite uses
# a partial index (jobs_ranking_idx ... WHERE status = 'completed') only when it can see the
# value in the query.
COMPLETED_LITERAL = RawSQL(  # noqa: S611 (a constant of ours, no input)
    f"'{JobStatus.COMPLETED.value}'", [], output_field=CharField()
)
RANKING_INDEX = "jobs_ranking_idx"


def using_ranking_index(queryset):
    """The rows of a sliced `jobs` query, read through jobs_ranking_idx.

    Without ANALYZE statistics SQLite prefers the status index and sorts every completed race
    for a page of 25; INDEXED BY names the index that already holds them in order. PostgreSQL
    plans this well by itself.
    """
    if connection.vendor != "sqlite":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    sql = sql.replace('FROM "jobs"', f'FROM "jobs" INDEXED BY "{RANKING_INDEX}"', 1)
    if queryset._fields is not None:  # values_list()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]
    return list(queryset.model.objects.raw(sql, params))


def finished_races(filters=None):
    """Completed races matching the filters, whatever their verdict (void ones included)."""
    filters = filters or {}
    queryset = Job.objects.filter(status=COMPLETED_LITERAL, excluded_reason="")
    if filters.get("q"):
        queryset = queryset.filter(repository_name__icontains=filters["q"])
    if filters.get("since"):
        queryset = queryset.filter(created_at__gte=_day_start(filters["since"]))
    if filters.get("until"):
        queryset = queryset.filter(
            created_at__lt=_day_start(filters["until"] + datetime.timedelta(days=1))
        )
    if filters.get("successful"):
        # A speedup exists only when both sides succeeded.
        queryset = queryset.filter(speedup__isnull=False)
    if not filters.get("include_demo"):
        queryset = queryset.filter(is_mock=False)
    for name in ("scenario", "cache"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    return queryset


def completed_races(filters=None):
    """The races the leaderboard counts, matching its filters (see LeaderboardFilterForm)."""
    return finished_races(filters).filter(verdict__in=COUNTED_VERDICTS)


def plausible(speedup):
    bound = settings.ARENA_PLAUSIBLE_SPEEDUP
    return 1 / bound <= speedup <= bound


def flagged_condition():
    """Races beyond the plausibility bound: kept on the board, marked, off the headline."""
    bound = settings.ARENA_PLAUSIBLE_SPEEDUP
    return Q(speedup__gt=bound) | Q(speedup__lt=1 / bound)


def _mean(values):
    return sum(values) / len(values)


def headline(filters=None):
    """{"speedup", "ci95", "races", "repositories", "includesDemo"}: the statement the board
    leads with.

    Each repository counts once, by the median speedup of its races (so one repository raced
    200 times does not outvote 36 others); the headline is the geometric mean of those
    medians, with a percentile bootstrap interval over repositories (2,000 resamples, a fixed
    seed: the same races always give the same interval; above HEADLINE_NORMAL_ABOVE
    repositories the normal interval of the mean log). Races without a speedup (forfeits) and
    races beyond the plausibility bound are left out.
    """
    rows = (
        completed_races(filters)
        .filter(speedup__isnull=False)
        .exclude(flagged_condition())
        .values_list("repository_name", "speedup")
    )
    by_repository = defaultdict(list)
    for name, speedup in rows.iterator(chunk_size=5000):
        by_repository[name].append(speedup)
    logs = [math.log(statistics.median(values)) for values in by_repository.values()]
    result = {
        "speedup": None,
        "ci95": None,
        "races": sum(len(values) for values in by_repository.values()),
        "repositories": len(logs),
        "includesDemo": bool((filters or {}).get("include_demo")),
    }
    if not logs:
        return result
    result["speedup"] = round(math.exp(_mean(logs)), 4)
    if len(logs) > HEADLINE_NORMAL_ABOVE:
        margin = 1.959963984540054 * statistics.stdev(logs) / math.sqrt(len(logs))
        interval = (_mean(logs) - margin, _mean(logs) + margin)
    else:
        interval = bootstrap_interval(logs, _mean, resamples=HEADLINE_RESAMPLES, seed=len(logs))
    if interval is not None:
        result["ci95"] = [round(math.exp(interval[0]), 4), round(math.exp(interval[1]), 4)]
    return result


def _day_start(day):
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


def totals(filters=None):
    """Races, wins per side, ties, win rate, best and median speedup, and what was left out.
    Three queries.

    The win rate counts races that both sides built (a forfeit, where one side's build
    failed, is a win but not a measurement), never void or not comparable ones.
    """
    queryset = completed_races(filters)
    bins = {
        f"bin{index}": Count("pk", filter=_bin_condition(low, high))
        for index, (low, high, _) in enumerate(SPEEDUP_BINS)
    }
    figures = queryset.aggregate(
        **win_counts(),
        with_speedup=Count("speedup"),
        flagged=Count("pk", filter=flagged_condition()),
        best_speedup=Max("speedup"),
        **bins,
    )
    left_out = (
        finished_races(filters)
        .exclude(verdict__in=COUNTED_VERDICTS)
        .aggregate(
            void=Count("pk", filter=Q(verdict=Verdict.VOID)),
            not_comparable=Count("pk", filter=Q(verdict=Verdict.NOT_COMPARABLE)),
        )
    )
    figures.update(left_out)
    figures["histogram"] = [
        {"label": label, "low": low, "high": high, "count": figures.pop(f"bin{index}")}
        for index, (low, high, label) in enumerate(SPEEDUP_BINS)
    ]
    figures["win_rate"] = win_rate(figures)
    figures["forfeits"] = figures["races"] - figures["measured"]
    del figures["elide_measured_wins"]
    figures["median_speedup"] = median_speedup(queryset, figures["with_speedup"])
    figures["median_percent_faster"] = percent_faster(figures["median_speedup"])
    figures["best_percent_faster"] = percent_faster(figures["best_speedup"])
    return figures


def win_counts():
    """Races, wins per side, ties and inconclusive races as aggregates, for the totals and
    for each repository (COUNT ... FILTER over jobs_leaderboard_stats_idx); `measured` and
    `elide_measured_wins` count only races both sides built (those with a speedup)."""
    return {
        "races": Count("pk"),
        "elide_wins": Count("pk", filter=Q(winner=Winner.ELIDE)),
        "standard_wins": Count("pk", filter=Q(winner=Winner.STANDARD)),
        "ties": Count("pk", filter=Q(winner=Winner.TIE)),
        "inconclusive": Count("pk", filter=Q(verdict=Verdict.INCONCLUSIVE)),
        "measured": Count("speedup"),
        "elide_measured_wins": Count("pk", filter=Q(winner=Winner.ELIDE, speedup__isnull=False)),
    }


def win_rate(figures):
    """Elide's share of the measured races (a forfeit, where one side's build failed, is a
    win but not a measurement; void races are never counted). None when there are none."""
    measured = figures["measured"]
    return figures["elide_measured_wins"] / measured if measured else None


def _bin_condition(low, high):
    condition = Q(speedup__gte=low)
    if high is not None:
        condition &= Q(speedup__lt=high)
    return condition


def median_speedup(queryset, count):
    """The median through the speedup index: one or two rows at OFFSET count/2.

    Read in the index's own order (as ranked_part): the middle rows are the same from either
    end, and PostgreSQL cannot walk a DESC NULLS LAST index for an ascending ORDER BY.
    """
    if not count:
        return None
    speedup = F("speedup").desc(nulls_last=True if connection.vendor == "postgresql" else None)
    ordered = (
        queryset.filter(speedup__isnull=False).order_by(speedup).values_list("speedup", flat=True)
    )
    middle = count // 2
    if count % 2:
        return using_ranking_index(ordered[middle : middle + 1])[0]
    low, high = using_ranking_index(ordered[middle - 1 : middle + 1])
    return (low + high) / 2
