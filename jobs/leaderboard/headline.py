"""The statement the leaderboard leads with: Elide's typical speedup over repositories.

Each repository counts once, by the median speedup of its counted races (so one repository
raced 200 times does not outvote 36 others); the headline is the geometric mean of those
medians, with a percentile bootstrap interval over repositories (2,000 resamples, a fixed
seed: the same races always give the same interval; above HEADLINE_NORMAL_ABOVE repositories
the normal interval of the mean log). Races without a speedup (forfeits) and races beyond
ARENA_PLAUSIBLE_SPEEDUP (flagged for review) are left out.

The medians are exact either way. Without a date filter they are found from the speedup steps
kept with the summary rows (jobs/leaderboard/speedup_steps.py): each repository's steps say
which step holds its median and at what offset, and one or two index reads of that
repository's races in that step return the value, so the cost grows with repositories, not
races. With a date filter
every matching speedup is read: a repository's steps count every day together (per day the
steps count only every repository together).

With ARENA_HEADLINE_SOURCE=suite the unfiltered headline is instead the newest Elide
version's suite results (suites/results.py, registered by the suites app when Django starts:
this app never imports it), so the number shown at a booth is current and complete.
"""

import itertools
import logging
import math
import statistics
from collections import defaultdict

from django.conf import settings
from django.db import connection
from django.db.models import F, Sum

from jobs.leaderboard.figures import step_condition
from jobs.leaderboard.ranking import (
    REPOSITORY_SPEEDUP_INDEX,
    completed_races,
    demo_and_kind,
    indexed_by,
)
from jobs.leaderboard.speedup_steps import step_of, step_start
from jobs.leaderboard.speedups import flagged_condition
from jobs.models.leaderboard_tables import EVERY_DAY, EVERY_REPOSITORY, SpeedupStepCount
from jobs.outcomes.verdict import bootstrap_interval

logger = logging.getLogger(__name__)

HEADLINE_RESAMPLES = 2000
# Above this many repositories the mean of log speedups is as good as normal (central limit),
# and its normal interval replaces the bootstrap, whose cost grows with repositories x 2,000.
HEADLINE_NORMAL_ABOVE = 200


# The suites app's headline of the newest Elide version, registered when Django starts.
_suite_headline = None
# Filters that pick some races or repositories: the suite's headline speaks of none of them.
NARROWING_FILTERS = ("q", "since", "until")


def register_suite_headline(provider):
    global _suite_headline
    _suite_headline = provider


def current_headline(filters=None):
    """The headline every page shows: from the counted races (headline), or, with
    ARENA_HEADLINE_SOURCE=suite and no narrowing filter, the newest Elide version's suite
    results, in the same shape plus "source", "suite" and "version"."""
    filters = filters or {}
    narrowed = any(filters.get(name) for name in NARROWING_FILTERS)
    if settings.ARENA_HEADLINE_SOURCE == "suite" and _suite_headline and not narrowed:
        return _suite_headline()
    return {**headline(filters), "source": "races"}


def headline(filters=None):
    """{"speedup", "ci95", "races", "repositories", "includesDemo", "reason",
    "repositoriesNeeded"} for these filters.

    A speedup is claimed only with its interval and once the counted races cover
    ARENA_HEADLINE_MIN_REPOSITORIES repositories; otherwise `speedup` and `ci95` are None and
    `reason` says what is missing (how many more repositories are needed).
    """
    filters = filters or {}
    if filters.get("since") or filters.get("until"):
        medians, races = medians_from_every_speedup(filters)
    else:
        try:
            medians, races = medians_from_steps(filters)
        except LookupError as mismatch:
            # The steps disagree with `jobs` (rows written behind the application's back):
            # the headline stays right, only slower, until the summary is rebuilt.
            logger.warning("%s; run manage.py rebuild_leaderboard_summary", mismatch)
            medians, races = medians_from_every_speedup(filters)
    logs = [math.log(value) for value in medians.values()]
    needed = max(0, settings.ARENA_HEADLINE_MIN_REPOSITORIES - len(logs))
    result = {
        "speedup": None,
        "ci95": None,
        "races": races,
        "repositories": len(logs),
        "includesDemo": bool(filters.get("include_demo")),
        "repositoriesNeeded": needed,
        "reason": "",
    }
    if needed:
        result["reason"] = _not_yet(len(logs), needed)
        return result
    if len(logs) > HEADLINE_NORMAL_ABOVE:
        margin = 1.959963984540054 * statistics.stdev(logs) / math.sqrt(len(logs))
        interval = (_mean(logs) - margin, _mean(logs) + margin)
    else:
        interval = bootstrap_interval(logs, _mean, resamples=HEADLINE_RESAMPLES, seed=len(logs))
    if interval is None:
        result["reason"] = "No interval can be drawn from these repositories yet."
        return result
    result["speedup"] = round(math.exp(_mean(logs)), 4)
    result["ci95"] = [round(math.exp(interval[0]), 4), round(math.exp(interval[1]), 4)]
    return result


def _not_yet(covered, needed):
    """Why there is no headline yet, as a sentence."""
    plural = "repository" if needed == 1 else "repositories"
    have = "repository" if covered == 1 else "repositories"
    return (
        f"No speedup claimed yet: measured races cover {covered} {have}; "
        f"{needed} more {plural} needed."
    )


def _mean(values):
    return sum(values) / len(values)


def _plausible_speedups(filters):
    return completed_races(filters).filter(speedup__isnull=False).exclude(flagged_condition())


def medians_from_every_speedup(filters):
    """({repository: median speedup}, races): every matching speedup read and sorted here."""
    rows = _plausible_speedups(filters).values_list("repository_name", "speedup")
    by_repository = defaultdict(list)
    for name, speedup in rows.iterator(chunk_size=5000):
        by_repository[name].append(speedup)
    medians = {name: statistics.median(values) for name, values in by_repository.items()}
    return medians, sum(len(values) for values in by_repository.values())


def medians_from_steps(filters):
    """({repository: median speedup}, races) from each repository's speedup steps."""
    # Each repository's steps over every day ('' is the smallest name: an index range that
    # skips every repository's steps together and the per-day ones).
    steps = SpeedupStepCount.objects.filter(repository_name__gt=EVERY_REPOSITORY, day=EVERY_DAY)
    if filters.get("q"):
        steps = steps.filter(repository_name__icontains=filters["q"])
    steps = demo_and_kind(steps, filters)
    bound = settings.ARENA_PLAUSIBLE_SPEEDUP
    rows = (
        steps.filter(step__gte=step_of(1 / bound), step__lte=step_of(bound))
        .values_list("repository_name", "step")
        .annotate(count=Sum("races"))
        .order_by("repository_name", "-step")
    )
    # Plain tuples, one repository after another, never all held at once (the ORM's per-row
    # conversions and a list of every step would cost more than the medians).
    sql, params = rows.query.sql_with_params()
    wanted, races = {}, 0  # repository -> the (repository, step, offset) of its middle race(s)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for name, group in itertools.groupby(cursor, key=lambda row: row[0]):
            # PostgreSQL's SUM over bigint is numeric: counts become ints here.
            repository_steps = [(step, int(count)) for _, step, count in group]
            slices = _plausible_slices(filters, name, repository_steps)
            total = sum(count for count, _ in slices)
            if total:
                middle = total // 2
                positions = [middle] if total % 2 else [middle - 1, middle]
                wanted[name] = [(name, *_place(name, slices, position)) for position in positions]
                races += total
    found = _read_places(filters, [place for places in wanted.values() for place in places])
    medians = {}
    for name, places in wanted.items():
        values = [found.get(place) for place in places]
        if None in values:
            raise LookupError(f"the speedup steps of {name} do not match its races")
        medians[name] = sum(values) / len(values)
    return medians, races


def _plausible_slices(filters, name, repository_steps):
    """[(races, step)], highest speedups first, leaving flagged speedups out: steps are
    compared as integers (step_of only grows with the speedup), so a step wholly beyond the
    plausibility bound is skipped without a query and only a step that holds a bound (at most
    two per repository) is counted exactly."""
    bound = settings.ARENA_PLAUSIBLE_SPEEDUP
    top, bottom = step_of(bound), step_of(1 / bound)
    slices = []
    for step, count in repository_steps:
        if step > top or step < bottom:
            continue
        if step in (top, bottom):
            in_step = step_condition(step)
            count = _plausible_speedups(filters).filter(in_step, repository_name=name).count()
        if count:
            slices.append((count, step))
    return slices


def _place(name, slices, position):
    """(step, offset within the step) of the race at `position` (0: the best)."""
    above = 0
    for count, step in slices:
        if position < above + count:
            return step, position - above
        above += count
    raise LookupError(f"the speedup steps of {name} count more races than there are")


# Stand-ins in the compiled query for the values each read fills in.
_NAME, _LOW, _HIGH = "\x00repository", -1.25e300, -2.5e300
# Reads per query: SQLite allows 500 terms in a compound SELECT.
READS_PER_QUERY = 200


def _read_places(filters, places):
    """{(repository, step, offset): speedup} for every place: the speedup at `offset` (0: the
    best) among the repository's plausible counted races in that step.

    One query for all of them (UNION ALL of one indexed LIMIT 1 OFFSET n read each, through
    jobs_repo_speedup_idx, named on SQLite, which might otherwise sort a repository's races).
    The read is built by the ORM once, with stand-ins for the values each place fills in.
    """
    if not places:
        return {}
    query = (
        _plausible_speedups(filters)
        .filter(repository_name=_NAME, speedup__gte=_LOW, speedup__lt=_HIGH)
        .order_by(F("speedup").desc())
        .values_list("speedup", flat=True)
    )
    sql, params = query.query.sql_with_params()
    if connection.vendor == "sqlite":
        sql = indexed_by(sql, REPOSITORY_SPEEDUP_INDEX)
    one_read = f"SELECT %s, q.speedup FROM ({sql} LIMIT 1 OFFSET %s) q"  # noqa: S608 (the ORM's SQL)
    slots = {
        value: [index for index, param in enumerate(params) if param == value]
        for value in (_NAME, _LOW, _HIGH)
    }
    if not all(slots.values()):
        raise RuntimeError(f"the step query lost a stand-in: {sql}")
    found = {}
    for start in range(0, len(places), READS_PER_QUERY):
        batch = places[start : start + READS_PER_QUERY]
        values = []
        for index, (name, step, offset) in enumerate(batch):
            filled = list(params)
            for stand_in, value in (
                (_NAME, name), (_LOW, step_start(step)), (_HIGH, step_start(step + 1))
            ):  # fmt: skip
                for slot in slots[stand_in]:
                    filled[slot] = value
            values += [index, *filled, offset]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join([one_read] * len(batch)), values)
            for index, speedup in cursor.fetchall():
                found[batch[index]] = speedup
    return found
