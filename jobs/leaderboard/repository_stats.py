"""One repository's figures: its races, median speedup with a confidence interval, the trend
of its speedups over time (SVG geometry) and the toolchain versions it was raced with.

The figures speak of one kind of race at a time (cache policy and scenario, default warm and
clean: what a submission races unless told otherwise): a no-op rebuild's speedup or a cold
build's says something else than a clean build's, and a median over a mix would say nothing.

The interval is distribution-free: for the median of n speedups, the 95% interval runs from
the j-th to the (n+1-j)-th smallest, j chosen from the binomial distribution (the classic
order-statistic interval), so it assumes nothing about how speedups are spread.
"""

import math
from dataclasses import dataclass

from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Q

from jobs.leaderboard.figures import add_to_tally, new_tally, outcome_figures
from jobs.models import (
    COUNTED_VERDICTS,
    BuildResult,
    BuildStatus,
    CacheMode,
    Job,
    JobStatus,
    Scenario,
)
from jobs.outcomes.judging import public_race_condition

MIN_RACES_FOR_INTERVAL = 6  # below that even the widest order statistics cover < 95%
TREND_POINTS = 200  # the newest races drawn in the trend chart


@dataclass(frozen=True)
class RaceKind:
    """A cache policy and a scenario: the races whose speedups may be pooled."""

    cache: str = CacheMode.WARM.value
    scenario: str = Scenario.CLEAN.value

    @property
    def label(self):
        return f"{self.cache} cache, {self.scenario}"

    def races_of(self, name):
        return Job.objects.filter(repository_name=name, cache=self.cache, scenario=self.scenario)


def race_kinds(name):
    """[(RaceKind, races)] this repository was raced with, the default kind first."""
    rows = (
        Job.objects.filter(repository_name=name)
        .values_list("cache", "scenario")
        .annotate(races=Count("pk"))
        .order_by("cache", "scenario")
    )
    kinds = [(RaceKind(cache, scenario), races) for cache, scenario, races in rows]
    return sorted(kinds, key=lambda pair: pair[0] != RaceKind())


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float


def median(values):
    ordered = sorted(values)
    count = len(ordered)
    if not count:
        return None
    middle = count // 2
    return ordered[middle] if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def median_interval(values, confidence=0.95):
    """The order-statistic interval of the median, or None with fewer than 6 values."""
    ordered = sorted(values)
    count = len(ordered)
    if count < MIN_RACES_FOR_INTERVAL:
        return None
    # Largest j with P(Binomial(n, 1/2) < j) <= (1 - confidence) / 2.
    tail = (1 - confidence) / 2
    cumulative, j = 0.0, 0
    while True:
        cumulative += math.comb(count, j) / 2**count
        if cumulative > tail:
            break
        j += 1
    j = max(j, 1)
    achieved = 1 - 2 * sum(math.comb(count, i) for i in range(j)) / 2**count
    return Interval(ordered[j - 1], ordered[count - j], round(achieved, 3))


def repository_summary(name, kind=RaceKind()):
    """One kind of race of a repository: races by outcome (figures.outcome_figures, as the
    leaderboard counts them), races not counted and why, the median speedup and its interval,
    the best speedup."""
    races = kind.races_of(name)
    tally = new_tally()
    judged = judged_races(races).values("verdict", "measured").annotate(races=Count("pk"))
    for group in judged.order_by():
        add_to_tally(tally, group)
    counts = outcome_figures(tally)
    counts.update(
        races.aggregate(
            all_races=Count("pk"),
            completed=Count("pk", filter=Q(status=JobStatus.COMPLETED)),
            failed=Count("pk", filter=Q(status=JobStatus.FAILED)),
            cancelled=Count("pk", filter=Q(status=JobStatus.CANCELLED)),
            excluded=Count("pk", filter=Q(status=JobStatus.COMPLETED) & ~Q(excluded_reason="")),
            operator_races=Count("pk", filter=~public_race_condition()),
            last_race=Max("created_at"),
        )
    )
    # Only races the leaderboard counts have a speedup worth a median: never a void or not
    # comparable race, never one an admin excluded, never an operator race.
    speedups = list(
        counted_races(races).filter(speedup__isnull=False).values_list("speedup", flat=True)
    )
    counts["median_speedup"] = median(speedups)
    counts["interval"] = median_interval(speedups)
    counts["best_speedup"] = max(speedups, default=None)
    counts["demo_only"] = counts["all_races"] > 0 and not races.filter(is_mock=False).exists()
    return counts


def judged_races(races):
    """The completed, judged, public races among `races` that no admin excluded (counted or
    void or not comparable), with `measured` (whether it has a speedup)."""
    return races.filter(
        public_race_condition(),
        status=JobStatus.COMPLETED,
        verdict__isnull=False,
        excluded_reason="",
    ).annotate(measured=ExpressionWrapper(Q(speedup__isnull=False), output_field=BooleanField()))


def counted_races(races):
    """The races among `races` that the leaderboard counts (jobs/outcomes/labels.py)."""
    return judged_races(races).filter(verdict__in=COUNTED_VERDICTS)


def toolchains(name):
    """[(tool, version, races, last seen)] of this repository's finished sides, newest first."""
    rows = (
        BuildResult.objects.filter(job__repository_name=name)
        .exclude(status=BuildStatus.PENDING)
        .exclude(tool="")
        .values("tool", "tool_version")
        .annotate(races=Count("job_id", distinct=True), last_seen=Max("job__created_at"))
        .order_by("-last_seen", "tool")
    )
    return list(rows)


def trend_geometry(name, kind=RaceKind(), *, width=640, height=240, padding=44, left=64):
    """Speedup of the newest completed races in order, as SVG coordinates (a template draws
    them).

    The y axis is logarithmic around 1x (twice as fast and twice as slow are equally far from
    the line of equal times); counted races where a side failed have no speedup and are
    marked in a lane of their own below the axis, never on a speedup line.
    Void, not comparable and excluded races are not drawn: they measured nothing comparable.
    """
    rows = list(
        counted_races(kind.races_of(name))
        .order_by("-created_at", "-id")
        .values_list("id", "created_at", "speedup")[:TREND_POINTS]
    )[::-1]
    if not rows:
        return None
    measured = [speedup for _, _, speedup in rows if speedup]
    top = max([2.0, *measured])
    bottom = min([0.5, *measured])
    log_top, log_bottom = math.log(top), math.log(bottom)
    plot_left, plot_right = left, width - padding / 2
    plot_top, plot_bottom = padding / 2, height - padding - 20  # 20: the failed races' lane

    def y_of(speedup):
        share = (math.log(speedup) - log_bottom) / (log_top - log_bottom)
        return round(plot_bottom - share * (plot_bottom - plot_top), 1)

    first, last = rows[0][1], rows[-1][1]
    step = (plot_right - plot_left - 16) / max(len(rows) - 1, 1)

    def x_of(index):
        # Races in order, evenly spaced: bursts of races on one day stay readable.
        if len(rows) == 1:
            return round((plot_left + plot_right) / 2, 1)
        return round(plot_left + 8 + index * step, 1)

    points, failed = [], []
    for index, (job_id, created_at, speedup) in enumerate(rows):
        if speedup:
            points.append(
                {
                    "id": job_id,
                    "x": x_of(index),
                    "y": y_of(speedup),
                    "speedup": speedup,
                    "date": created_at,
                    "side": _side(speedup),
                }
            )
        else:
            failed.append({"id": job_id, "x": x_of(index), "date": created_at})
    ticks = [
        {"value": value, "y": y_of(value), "label": f"{value:g}\u00d7"}
        for value in (0.5, 1, 1.5, 2, 3, 5, 10)
        if bottom <= value <= top
    ]
    return {
        "width": width,
        "height": height,
        "left": plot_left,
        "right": plot_right,
        "top": plot_top,
        "bottom": plot_bottom,
        "even_y": y_of(1),
        "points": points,
        "line": " ".join(f"{point['x']},{point['y']}" for point in points),
        "failed": failed,
        "ticks": ticks,
        "first": first,
        "last": last,
        "failed_y": plot_bottom + 16,
        "x_title_y": height - 8,
        "y_title_x": 14,
        "y_title_y": (plot_top + plot_bottom) / 2,
    }


def _side(speedup):
    if speedup >= 1.05:
        return "elide"
    if speedup <= 0.95:
        return "standard"
    return "tie"
