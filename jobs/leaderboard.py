"""Leaderboard queries: the ranking, the totals and the speedup histogram, all in SQL.

Everything here is a fixed number of queries whatever the number of races: the ranking pages
through `jobs` with the partial index jobs_completed_speedup_idx (WHERE status = 'completed'
ORDER BY speedup DESC), the two sides' times come from one join per side (FilteredRelation on
the unique (job_id, build_type) index), and totals are one aggregate.
"""

import datetime

from django.db.models import Count, F, FilteredRelation, IntegerField, Max, Q
from django.db.models.functions import Coalesce

from jobs.models import BuildResult, BuildType, Job, JobStatus, Winner, percent_faster

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


def completed_races(filters=None):
    """Completed races matching the leaderboard's filters (see LeaderboardFilterForm)."""
    filters = filters or {}
    queryset = Job.objects.filter(status=JobStatus.COMPLETED)
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
    if filters.get("hide_mock"):
        queryset = queryset.filter(is_mock=False)
    return queryset


def _day_start(day):
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)


def side_time(alias):
    """Milliseconds of a joined side: duration_ms, or the seed's whole seconds."""
    return Coalesce(
        F(f"{alias}__duration_ms"), F(f"{alias}__duration") * 1000, output_field=IntegerField()
    )


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
    "repository_name",
    "repository_url",
    "ref",
    "commit_sha",
    "created_at",
    "winner",
    "speedup",
    "is_mock",
)


def ranking_order(filters=None):
    """Best speedup first; races without a speedup (a side failed) after them."""
    if (filters or {}).get("successful"):
        return [F("speedup").desc(), "-created_at", "-id"]
    return [F("speedup").desc(nulls_last=True), "-created_at", "-id"]


def ranking(filters=None):
    """The ranked races without their times: pages of it read the speedup index only."""
    return completed_races(filters).order_by(*ranking_order(filters)).only(*RANKING_COLUMNS)


def ranking_with_times(filters=None):
    """The ranked races with both sides' times joined in (exports stream this)."""
    return with_side_times(ranking(filters))


def attach_side_times(jobs):
    """Set elide_ms/standard_ms/elide_status/standard_status on a page of jobs; one query."""
    by_id = {job.pk: job for job in jobs}
    for job in jobs:
        job.elide_ms = job.standard_ms = job.elide_status = job.standard_status = None
    rows = BuildResult.objects.filter(job_id__in=list(by_id)).values_list(
        "job_id", "build_type", "status", "duration_ms", "duration"
    )
    for job_id, build_type, status, duration_ms, duration in rows:
        job = by_id[job_id]
        milliseconds = duration_ms if duration_ms is not None else duration * 1000
        setattr(job, f"{build_type}_ms", milliseconds)
        setattr(job, f"{build_type}_status", status)
    return jobs


def totals(filters=None):
    """Races, wins per side, ties, win rate, best and median speedup. Two queries."""
    queryset = completed_races(filters)
    bins = {
        f"bin{index}": Count("pk", filter=_bin_condition(low, high))
        for index, (low, high, _) in enumerate(SPEEDUP_BINS)
    }
    figures = queryset.aggregate(
        races=Count("pk"),
        elide_wins=Count("pk", filter=Q(winner=Winner.ELIDE)),
        standard_wins=Count("pk", filter=Q(winner=Winner.STANDARD)),
        ties=Count("pk", filter=Q(winner=Winner.TIE)),
        with_speedup=Count("speedup"),
        best_speedup=Max("speedup"),
        **bins,
    )
    figures["histogram"] = [
        {"label": label, "low": low, "high": high, "count": figures.pop(f"bin{index}")}
        for index, (low, high, label) in enumerate(SPEEDUP_BINS)
    ]
    figures["win_rate"] = figures["elide_wins"] / figures["races"] if figures["races"] else None
    figures["median_speedup"] = median_speedup(queryset, figures["with_speedup"])
    figures["median_percent_faster"] = percent_faster(figures["median_speedup"])
    figures["best_percent_faster"] = percent_faster(figures["best_speedup"])
    return figures


def _bin_condition(low, high):
    condition = Q(speedup__gte=low)
    if high is not None:
        condition &= Q(speedup__lt=high)
    return condition


def median_speedup(queryset, count):
    """The median through the speedup index: one or two rows at OFFSET count/2."""
    if not count:
        return None
    ordered = (
        queryset.filter(speedup__isnull=False).order_by("speedup").values_list("speedup", flat=True)
    )
    middle = count // 2
    if count % 2:
        return ordered[middle]
    low, high = list(ordered[middle - 1 : middle + 1])
    return (low + high) / 2
