"""The leaderboard's figures from its summary rows: totals, the speedup chart's counts and the
median (per-repository rows are in jobs/leaderboard/per_repository.py).

They add up rows of `leaderboard_summary` (jobs/leaderboard/summary_in_step.py keeps them in the
same transaction as every race they count) instead of scanning `jobs`: a few thousand rows
whatever the number of races. `summary_rows` applies the leaderboard's filters to them as
jobs.leaderboard.ranking.finished_races applies them to races. The median is the one figure read
from
`jobs`, through the speedup index, one or two rows within a slice the counts point at: a
1/200-wide step of the speedup steps (jobs/leaderboard/speedup_steps.py), over every day or added
up over
the days asked for.
"""

import datetime
import functools

from django.db import connection
from django.db.models import F, Max, Q, Sum

from jobs.leaderboard.ranking import (
    RANKING_INDEX,
    REPOSITORY_SPEEDUP_INDEX,
    completed_races,
    day_start,
    demo_and_kind,
    using_ranking_index,
)
from jobs.leaderboard.speedup_steps import step_start
from jobs.leaderboard.speedups import SPEEDUP_BINS, bin_condition
from jobs.models import COUNTED_VERDICTS, LeaderboardSummary, SpeedupStepCount, percent_faster
from jobs.models.leaderboard_tables import EVERY_DAY, EVERY_REPOSITORY, SPEEDUP_BIN_COLUMNS
from jobs.outcomes.labels import (
    COUNTED_OUTCOMES,
    ELIDE_FORFEIT,
    ELIDE_WIN,
    STANDARD_FORFEIT,
    STANDARD_WIN,
    empty_tally,
    judged_outcome,
)
from jobs.outcomes.vocabulary import BOTH_FAILED, INCONCLUSIVE, NOT_COMPARABLE, TIE, VOID


def totals(filters=None):
    """Races by outcome, win rate, best and median speedup, and what was left out.

    One GROUP BY over the summary rows (jobs/leaderboard/summary_in_step.py) plus the median
    (median_speedup). The rows are keyed by (verdict, measured), the two values that decide a
    race's outcome (jobs/outcomes/labels.py): every count of every page comes from here or
    from `outcome_counts` on the same rows.

    Wins are measured wins; forfeits (one side's build failed) are counted apart, and so are
    both sides failing. The win rate counts measured races only, never void or not comparable
    ones.
    """
    columns = ("flagged", *SPEEDUP_BIN_COLUMNS)
    groups = (
        summary_rows(filters)
        .values("verdict", "measured")
        .annotate(
            **prefixed(races=Sum("races"), **{name: Sum(name) for name in columns}),
            top=Max("best_speedup"),
        )
        .order_by()
    )
    figures = dict.fromkeys(columns, 0)
    tally = new_tally()
    best = None
    for group in groups:
        group = unprefixed(group)
        add_to_tally(tally, group)
        if group["verdict"] not in COUNTED_VERDICTS:
            continue
        for name in columns:
            figures[name] += group[name]
        if group["top"] is not None:
            best = max(best or 0, group["top"])
    figures.update(outcome_figures(tally))
    figures["best_speedup"] = best
    figures["histogram"] = [
        {"label": label, "low": low, "high": high, "count": figures.pop(column)}
        for column, (low, high, label) in zip(SPEEDUP_BIN_COLUMNS, SPEEDUP_BINS, strict=True)
    ]
    figures["median_speedup"] = median_speedup(filters, figures["histogram"])
    figures["median_percent_faster"] = percent_faster(figures["median_speedup"])
    figures["best_percent_faster"] = percent_faster(figures["best_speedup"])
    return figures


MEASURED = "measured"


def add_to_tally(tally, group):
    """Add a group of races ({"verdict", "measured", "races"}, a summary row's key and count)
    to a tally by outcome, and its counted races with a speedup to tally[MEASURED]."""
    tally[judged_outcome(group["verdict"], group["measured"])] += group["races"]
    if group["measured"] and group["verdict"] in COUNTED_VERDICTS:
        tally[MEASURED] += group["races"]


def new_tally():
    return {**empty_tally(), MEASURED: 0}


def outcome_figures(tally):
    """The counts every page shows, from races per outcome (new_tally, add_to_tally): the
    one definition of races, wins, forfeits, measured races and the win rate."""
    races = sum(tally[key] for key in COUNTED_OUTCOMES)
    measured = tally[MEASURED]
    return {
        "races": races,
        "elide_wins": tally[ELIDE_WIN],
        "standard_wins": tally[STANDARD_WIN],
        "elide_forfeits": tally[ELIDE_FORFEIT],
        "standard_forfeits": tally[STANDARD_FORFEIT],
        "forfeits": tally[ELIDE_FORFEIT] + tally[STANDARD_FORFEIT],
        "ties": tally[TIE],
        "inconclusive": tally[INCONCLUSIVE],
        "both_failed": tally[BOTH_FAILED],
        "void": tally[VOID],
        "not_comparable": tally[NOT_COMPARABLE],
        "measured": measured,
        "with_speedup": measured,
        "win_rate": tally[ELIDE_WIN] / measured if measured else None,
    }


# Aggregates over summary rows are named apart from the columns they add up (Django refuses
# an aggregate named like a column): prefixed() names them, unprefixed() names them back.
SUM_PREFIX = "sum_"


def prefixed(**aggregates):
    return {SUM_PREFIX + name: aggregate for name, aggregate in aggregates.items()}


def unprefixed(row):
    return {name.removeprefix(SUM_PREFIX): value for name, value in row.items()}


def summary_rows(filters=None):
    """The summary rows of the races matching the leaderboard's filters (any verdict): per
    day when dates are asked for, else the rows that count every day together."""
    filters = filters or {}
    rows = LeaderboardSummary.objects.all()
    if filters.get("q"):
        rows = rows.filter(repository_name__icontains=filters["q"])
    if filters.get("since") or filters.get("until"):
        rows = rows_of_days(rows, filters)
    else:
        rows = rows.filter(day=EVERY_DAY)
    if filters.get("successful"):
        rows = rows.filter(measured=True)
    return demo_and_kind(rows, filters)


def rows_of_days(rows, filters):
    """The per-day rows (summary rows or speedup steps) of the days since/until pick."""
    rows = rows.filter(day__gt=EVERY_DAY)
    if filters.get("since"):
        rows = rows.filter(day__gte=day_start(filters["since"]))
    if filters.get("until"):
        rows = rows.filter(day__lt=day_start(filters["until"] + datetime.timedelta(days=1)))
    return rows


def median_speedup(filters, histogram):
    """The median speedup of the counted races: the middle one or two.

    Each is read through the speedup index within one slice of speedups, which the counts say
    holds it and at what offset (speedup_slices): mostly a 1/200-wide step of the finer
    histogram (jobs/leaderboard/speedup_steps.py), a chart bin for a name and dates together.
    There, when
    the name picks one repository, the read walks that repository's races in the bin
    (jobs_repo_speedup_idx) rather than every repository's.
    """
    count = sum(item["count"] for item in histogram)
    if not count:
        return None
    slices = speedup_slices(filters, histogram)
    dated = filters and (filters.get("since") or filters.get("until"))
    repository = the_one_repository(filters["q"]) if dated and filters.get("q") else None
    middle = count // 2
    positions = [middle] if count % 2 else [middle - 1, middle]
    values = [nth_speedup_from_top(filters, slices, at, repository) for at in positions]
    return None if None in values else sum(values) / len(values)


def the_one_repository(q):
    """The name of the one repository whose name contains `q` among the counted races (their
    summary rows), or None when there are several or none."""
    names = LeaderboardSummary.objects.filter(day=EVERY_DAY, repository_name__icontains=q)
    names = list(names.values_list("repository_name", flat=True).distinct().order_by()[:2])
    return names[0] if len(names) == 1 else None


def speedup_slices(filters, histogram):
    """[(races, a function returning the condition on jobs)], highest speedups first, covering
    every counted speedup (a step's exact bounds cost a few float steps each: made only for
    the one or two slices read).

    Steps over every day, of every repository or of the repositories the name picks; with
    dates, the steps of every repository on the days in range added up (~26,000 rows for a
    month at a million races over 90 days, from an index that holds their counts). A name
    and dates together have no steps of their own (steps per repository per day would
    multiply the table by the repositories): the slices are the chart's bins, exact too but
    wider, so the median's read walks more of the index (median_speedup).
    """
    filters = filters or {}
    dated = filters.get("since") or filters.get("until")
    if dated and filters.get("q"):
        return [
            (item["count"], functools.partial(bin_condition, item["low"], item["high"]))
            for item in reversed(histogram)
        ]
    if filters.get("q"):
        steps = SpeedupStepCount.objects.filter(
            day=EVERY_DAY, repository_name__gt=EVERY_REPOSITORY
        ).filter(repository_name__icontains=filters["q"])
    else:
        steps = SpeedupStepCount.objects.filter(repository_name=EVERY_REPOSITORY)
        steps = rows_of_days(steps, filters) if dated else steps.filter(day=EVERY_DAY)
    steps = demo_and_kind(steps, filters)
    rows = steps.values_list("step").annotate(count=Sum("races")).order_by("-step")
    return [(count, functools.partial(step_condition, step)) for step, count in rows]


def step_condition(step):
    """Races of one step: an index range, exact (speedup_steps.step_start)."""
    return Q(speedup__gte=step_start(step), speedup__lt=step_start(step + 1))


def nth_speedup_from_top(filters, slices, position, repository=None):
    """The speedup at `position` (0: the best) among the counted races with a speedup
    (`repository`: the one repository the filters pick, when known)."""
    above = 0
    for count, condition in slices:
        if position < above + count:
            return _speedup_at(filters, condition(), position - above, repository)
        above += count
    return None


def _speedup_at(filters, condition, offset, repository=None):
    races = completed_races(filters).filter(condition)
    if repository is None:
        # Read in the index's own order (as ranked_part): PostgreSQL cannot walk a DESC NULLS
        # LAST index for an ascending ORDER BY.
        nulls_last = True if connection.vendor == "postgresql" else None
        speedup, index = F("speedup").desc(nulls_last=nulls_last), RANKING_INDEX
    else:
        races = races.filter(repository_name=repository)
        speedup, index = F("speedup").desc(), REPOSITORY_SPEEDUP_INDEX
    ordered = races.order_by(speedup).values_list("speedup", flat=True)
    found = using_ranking_index(ordered[offset : offset + 1], index)
    return found[0] if found else None
