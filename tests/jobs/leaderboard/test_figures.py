"""Totals, chart and per-repository figures come from the summary rows and give the answer a
plain count over the races gives, for every filter."""

import datetime
import random
import statistics

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs.leaderboard.figures import totals
from jobs.leaderboard.per_repository import repository_statistics
from jobs.leaderboard.speedups import SPEEDUP_BINS
from jobs.models import Job, RaceExclusion
from tests.factories import make_race
from tests.recount import is_public, recount

pytestmark = pytest.mark.django_db

NOW = timezone.now()
KINDS = ("scenario", "cache")
FILTERS = [
    {},
    {"include_demo": True},
    {"successful": True},
    {"q": "ACME"},
    {"since": (NOW - datetime.timedelta(days=3)).date()},
    {"until": (NOW - datetime.timedelta(days=4)).date(), "include_demo": True},
    {"q": "two", "successful": True, "include_demo": True},
    {"scenario": "noop", "include_demo": True},
    {"cache": "cold", "scenario": "clean"},
    # Dates: the median from the steps of each day in range.
    {
        "since": (NOW - datetime.timedelta(days=7)).date(),
        "until": (NOW - datetime.timedelta(days=2)).date(),
        "include_demo": True,
    },
    {"since": (NOW - datetime.timedelta(days=8)).date(), "scenario": "clean", "cache": "warm"},
    {  # a range with no races
        "since": (NOW - datetime.timedelta(days=400)).date(),
        "until": (NOW - datetime.timedelta(days=300)).date(),
        "include_demo": True,
    },
    # A name and dates: the chart's bins, read among every repository's races or one's.
    {"since": (NOW - datetime.timedelta(days=5)).date(), "q": "acme"},
    {"since": (NOW - datetime.timedelta(days=8)).date(), "q": "TWO", "include_demo": True},
    {"until": (NOW - datetime.timedelta(days=1)).date(), "q": "three"},
]
DATED = FILTERS[4]


@pytest.fixture
def varied_races(settings):
    """Races of three repositories over ten days: wins, ties, forfeits, demo data, a void,
    a not comparable, an excluded and an implausible race."""
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    rng = random.Random(14)
    for number in range(40):
        make_race(
            ("acme/one", "acme/two", "other/three")[number % 3],
            elide_ms=rng.randint(5_000, 90_000),
            standard_ms=rng.choice([rng.randint(5_000, 90_000), 600_000]),
            elide_status="failure" if number % 9 == 0 else "success",
            created_at=NOW - datetime.timedelta(days=number % 10, hours=number),
            is_mock=number % 7 == 0,
            scenario=("clean", "noop", "incremental")[number % 3 if number % 2 else 0],
            cache="cold" if number % 5 == 0 else "warm",
        )
    jobs = list(Job.objects.order_by("pk"))
    for job, verdict in ((jobs[1], "void"), (jobs[2], "not_comparable")):
        job.verdict, job.winner, job.speedup = verdict, None, None
        job.save()
    RaceExclusion.objects.exclude_races(
        Job.objects.filter(pk=jobs[3].pk), "broken runner", "tester"
    )
    # Measured wins (3 runs a side: one run names no winner), both sides failing, and an
    # operator race (never counted).
    make_race("acme/one", elide_ms=80_000, standard_ms=20_000, created_at=NOW, iterations=3)
    make_race("acme/two", elide_ms=20_000, standard_ms=50_000, created_at=NOW, iterations=3)
    make_race(
        "acme/two",
        elide_status="failure",
        standard_status="failure",
        created_at=NOW - datetime.timedelta(days=2),
    )
    make_race("other/three", standard_cmd=["true"], created_at=NOW - datetime.timedelta(days=3))


def matching(filters):
    """The races the leaderboard counts under `filters`, any verdict, picked in Python."""
    races = []
    for job in Job.objects.filter(status="completed", excluded_reason=""):
        if job.verdict is None or not is_public(job):
            continue
        if filters.get("q") and filters["q"].lower() not in job.repository_name.lower():
            continue
        day = job.created_at.astimezone(datetime.UTC).date()
        if filters.get("since") and day < filters["since"]:
            continue
        if filters.get("until") and day > filters["until"]:
            continue
        if filters.get("successful") and job.speedup is None:
            continue
        if not filters.get("include_demo") and job.is_mock:
            continue
        if any(filters.get(name) and getattr(job, name) != filters[name] for name in KINDS):
            continue
        races.append(job)
    return races


def expected_totals(filters, bound):
    races = matching(filters)
    counted = [job for job in races if job.verdict not in ("void", "not_comparable")]
    speedups = sorted(job.speedup for job in counted if job.speedup is not None)
    return {
        **recount(races),
        "with_speedup": len(speedups),
        "flagged": sum(not 1 / bound <= value <= bound for value in speedups),
        "best_speedup": max(speedups, default=None),
        "median_speedup": statistics.median(speedups) if speedups else None,
        "histogram": [
            sum(low <= value and (high is None or value < high) for value in speedups)
            for low, high, _ in SPEEDUP_BINS
        ],
    }


def expected_repositories(filters):
    rows = {}
    for job in matching(filters):
        rows.setdefault(job.repository_name, []).append(job)
    result = []
    for name, every in rows.items():
        jobs = [job for job in every if job.verdict not in ("void", "not_comparable")]
        if not jobs:
            continue
        measured = [job for job in jobs if job.speedup is not None]
        row = {"repository_name": name, **recount(every), "with_speedup": len(measured)}
        for side in ("elide", "standard"):
            times = [getattr(job, f"{side}_success_ms") for job in jobs]
            times = [ms for ms in times if ms is not None]
            row[f"avg_{side}_ms"] = round(sum(times) / len(times)) if times else None
            row[f"best_{side}_ms"] = min(times, default=None)
        row["best_speedup"] = max((job.speedup for job in measured), default=None)
        row["last_race"] = max(job.created_at for job in jobs)
        result.append(row)
    return sorted(result, key=lambda row: (-row["races"], row["repository_name"]))


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_totals_and_chart_equal_a_count_over_the_races(varied_races, filters, settings):
    figures = totals(filters)
    expected = expected_totals(filters, settings.ARENA_PLAUSIBLE_SPEEDUP)
    assert [item["count"] for item in figures["histogram"]] == expected.pop("histogram")
    median = expected.pop("median_speedup")
    assert figures["median_speedup"] == pytest.approx(median)
    assert {name: figures[name] for name in expected} == pytest.approx(expected)


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_repository_figures_equal_a_count_over_the_races(varied_races, filters):
    assert rounded(repository_statistics(filters)) == rounded(expected_repositories(filters))


def rounded(rows):
    """Floats to 9 places (SQL sums and Python sums may differ in the last bits)."""
    return [
        {
            name: round(value, 9) if isinstance(value, float) else value
            for name, value in row.items()
        }
        for row in rows
    ]


def test_the_fixture_covers_what_the_figures_distinguish(varied_races):
    counted = totals({"include_demo": True})
    assert counted["void"] == 1 and counted["not_comparable"] == 1
    assert counted["flagged"] >= 1 and counted["forfeits"] >= 1
    assert counted["elide_wins"] and counted["standard_wins"] and counted["both_failed"]
    assert counted["standard_forfeits"] and Job.objects.filter(standard_cmd__isnull=False)
    assert totals()["races"] < counted["races"]
    narrowed = totals({"cache": "cold", "scenario": "clean"})["races"]
    assert 0 < narrowed < totals()["races"]
    assert 0 < totals({"scenario": "noop", "include_demo": True})["races"] < counted["races"]


def test_figures_read_summary_rows_not_the_races(varied_races):
    with CaptureQueriesContext(connection) as queries:
        repository_statistics({"include_demo": True})
    assert len(queries) == 2
    for query in queries:
        assert "leaderboard_summary" in query["sql"] and '"jobs"' not in query["sql"]

    with CaptureQueriesContext(connection) as queries:
        figures = totals({"include_demo": True})
    first, steps, *median = [query["sql"] for query in queries]
    assert "leaderboard_summary" in first and '"jobs"' not in first
    assert "leaderboard_speedup_steps" in steps and '"jobs"' not in steps
    # The median: one row (or two) read within the 1/200-wide step that holds it.
    assert len(median) == 2 - figures["with_speedup"] % 2
    for sql in median:
        assert "LIMIT 1" in sql and '"speedup" >=' in sql and '"speedup" <' in sql

    # By name: the steps of the matching repositories.
    with CaptureQueriesContext(connection) as queries:
        figures = totals({"include_demo": True, "q": "acme"})
    first, steps, *median = [query["sql"] for query in queries]
    assert "leaderboard_summary" in first and '"jobs"' not in first
    assert "leaderboard_speedup_steps" in steps and "LIKE" in steps
    assert len(median) == 2 - figures["with_speedup"] % 2

    # By date: the steps of the days in range, every repository together.
    with CaptureQueriesContext(connection) as queries:
        figures = totals({**DATED, "include_demo": True})
    first, steps, *median = [query["sql"] for query in queries]
    assert "leaderboard_summary" in first and '"jobs"' not in first
    assert "leaderboard_speedup_steps" in steps and '"day" >=' in steps
    assert "LIKE" not in steps and '"jobs"' not in steps
    assert len(median) == 2 - figures["with_speedup"] % 2
    for sql in median:
        assert "LIMIT 1" in sql and '"speedup" >=' in sql and '"created_at" >=' in sql

    # By name and date: no steps of their own; within the chart bin, among the races of the
    # one repository the name picks when it picks one.
    for q, one_repository in (("acme", False), ("two", True)):
        with CaptureQueriesContext(connection) as queries:
            figures = totals({**DATED, "include_demo": True, "q": q})
        first, names, *median = [query["sql"] for query in queries]
        assert "leaderboard_summary" in first and '"jobs"' not in first
        assert "leaderboard_summary" in names and "DISTINCT" in names
        assert len(median) == 2 - figures["with_speedup"] % 2
        for sql in median:
            assert "LIMIT 1" in sql and "leaderboard_speedup_steps" not in sql
            assert ("\"repository_name\" = 'acme/two'" in sql) == one_repository


def test_dated_filters_pick_races_on_some_days_only(varied_races):
    """The date filters above narrow the races (and one matches none), so a median from the
    wrong days' steps would differ from the plain median."""
    every = len(matching({"include_demo": True}))
    dated = [filters for filters in FILTERS if "since" in filters or "until" in filters]
    counts = [len(matching({**filters, "include_demo": True})) for filters in dated]
    assert 0 in counts and all(count < every for count in counts)
    assert sum(count > 0 for count in counts) >= len(dated) - 1
