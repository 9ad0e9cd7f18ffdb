"""One count: every count a page or JSON document shows equals one recount from the rows
(tests/recount.py), for random sets of races and filters."""

import datetime
import json
import re
import statistics

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.leaderboard.repository_stats import median_interval
from jobs.models import Job
from jobs.outcomes.labels import OUTCOMES
from jobs.outcomes.numbers import speedup_text
from jobs.outcomes.verdict import in_tie_band
from tests.recount import COUNTED_NAMES, judged, recount

pytestmark = pytest.mark.django_db

NOW = timezone.now()
REPOSITORIES = ("acme/one", "acme/two", "other/three", "other/four")
# (verdict, speedup, elide ms, standard ms) of each way a race can end.
SHAPES = {
    "elide_win": ("elide", 2.0, 10_000, 20_000),
    "standard_win": ("standard", 0.5, 20_000, 10_000),
    "elide_forfeit": ("elide", None, 10_000, None),
    "standard_forfeit": ("standard", None, None, 10_000),
    "tie": ("tie", 1.0, 10_000, 10_000),
    "inconclusive": ("inconclusive", 1.1, 10_000, 11_000),
    "both_failed": ("both_failed", None, None, None),
    "void": ("void", None, None, 10_000),
    "not_comparable": ("not_comparable", None, 10_000, 10_000),
}
# Which count each tile of a page shows, by the outcome's name.
TILES = {
    "elide_wins": "elide_win",
    "standard_wins": "standard_win",
    "elide_forfeits": "elide_forfeit",
    "standard_forfeits": "standard_forfeit",
    "ties": "tie",
    "inconclusive": "inconclusive",
    "both_failed": "both_failed",
}

races = st.lists(
    st.fixed_dictionaries(
        {
            "repository": st.sampled_from(REPOSITORIES),
            "shape": st.sampled_from(sorted(SHAPES)),
            "status": st.sampled_from(["completed", "completed", "completed", "cancelled"]),
            "speedup_scale": st.sampled_from([1.0, 1.5, 3.0]),
            "is_mock": st.booleans(),
            "excluded": st.integers(0, 5).map(lambda n: n == 0),
            "operator": st.integers(0, 4).map(lambda n: n == 0),
            "kind": st.sampled_from([("clean", "warm"), ("clean", "warm"), ("noop", "cold")]),
            "days_ago": st.integers(0, 6),
        }
    ),
    max_size=14,
)
filter_sets = st.sampled_from(
    [
        {},
        {"include_demo": "on"},
        {"q": "acme"},
        {"q": "three", "include_demo": "on"},
        {"scenario": "noop", "cache": "cold"},
        {"scenario": "any", "cache": "any", "include_demo": "on"},
        {"since": (NOW - datetime.timedelta(days=2)).date().isoformat()},
    ]
)


def store(race):
    verdict, speedup, elide_ms, standard_ms = SHAPES[race["shape"]]
    completed = race["status"] == "completed"
    scenario, cache = race["kind"]
    created = NOW - datetime.timedelta(days=race["days_ago"], minutes=1)
    if speedup is not None and race["shape"] in ("elide_win", "standard_win"):
        speedup = speedup ** race["speedup_scale"]
    job = Job(
        repository_url=f"https://github.com/{race['repository']}",
        repository_name=race["repository"],
        status=race["status"],
        created_at=created,
        completed_at=created + datetime.timedelta(seconds=30),
        is_mock=race["is_mock"],
        scenario=scenario,
        cache=cache,
        excluded_reason="broken runner" if race["excluded"] else "",
        standard_cmd=["sh", "-c", "true"] if race["operator"] else None,
    )
    if completed:
        job.verdict = verdict
        job.winner = verdict if verdict in ("elide", "standard", "tie") else None
        job.speedup = speedup
        job.elide_success_ms, job.standard_success_ms = elide_ms, standard_ms
    job.save()


def matching(params):
    """The races of the leaderboard's filters, picked in Python."""
    chosen = []
    for job in Job.objects.all():
        if params.get("q") and params["q"] not in job.repository_name:
            continue
        if not params.get("include_demo") and job.is_mock:
            continue
        if params.get("scenario", "clean") != "any" and job.scenario != params.get(
            "scenario", "clean"
        ):
            continue
        if params.get("cache", "warm") != "any" and job.cache != params.get("cache", "warm"):
            continue
        since = params.get("since")
        if since and job.created_at.astimezone(datetime.UTC).date().isoformat() < since:
            continue
        chosen.append(job)
    return chosen


def tiles(html):
    """{label: number} of the stat tiles on a page."""
    found = re.findall(
        r'<span class="stat-value">([^<]*)</span><span class="stat-label">([^<]*)</span>', html
    )
    return {label: value for value, label in found}


def assert_tiles_equal(html, expected):
    shown = tiles(html)
    races = expected["races"]
    assert shown[f"counted race{'' if races == 1 else 's'}"] == str(races)
    for name, key in TILES.items():
        assert shown[OUTCOMES[key].label()] == str(expected[name]), name


def assert_counts_equal(figures, expected):
    for name in (*COUNTED_NAMES, "races", "forfeits", "void", "not_comparable", "measured"):
        assert figures[name] == expected[name], name
    assert figures["win_rate"] == pytest.approx(expected["win_rate"], abs=5e-5)  # 4 decimals


@settings(max_examples=15)
@given(races=races, params=filter_sets)
def test_every_page_shows_the_count_of_one_recount(client, races, params, settings):
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    settings.ARENA_EXPORT_CACHE_SECONDS = 0
    settings.ARENA_EXPORT_RATE_LIMIT = 10**6
    settings.ARENA_KIOSK_HOLD_SECONDS = 0
    Job.objects.all().delete()
    for race in races:
        store(race)
    expected = recount(matching(params))

    document = client.get(reverse("leaderboard_json"), params)
    document = json.loads(b"".join(document.streaming_content))
    assert_counts_equal(document["totals"], expected)
    # The headline's races are the measured ones within the plausibility bound; the flagged
    # rest is said beside it: the two figures add up to the tiles' measured races.
    totals = document["totals"]
    assert document["headline"]["races"] + totals["flagged"] == totals["measured"]
    for row in document["repositories"]:
        chosen = [job for job in matching(params) if job.repository_name == row["repository_name"]]
        assert_counts_equal(row, recount(chosen))
    shown = {row["repository_name"] for row in document["repositories"]}
    of_each = {name: [job for job in matching(params) if job.repository_name == name]
               for name in REPOSITORIES}  # fmt: skip
    assert shown == {name for name, jobs in of_each.items() if recount(jobs)["races"]}

    assert_tiles_equal(client.get(reverse("leaderboard"), params).content.decode(), expected)

    if not params:
        from jobs.views.kiosk import slide_context

        booth = slide_context(now=0)
        assert booth["slide"] == "headline"
        assert_counts_equal(booth["totals"], expected)

    for name in REPOSITORIES:
        owner, repo = name.split("/")
        of_repository = [
            job for job in Job.objects.filter(repository_name=name, scenario="clean", cache="warm")
        ]
        response = client.get(reverse("repository_page", args=[owner, repo]))
        if not Job.objects.filter(repository_name=name).exists():
            assert response.status_code == 404  # a repository never raced has no page
            continue
        assert_tiles_equal(response.content.decode(), recount(of_repository))
        speedups = [
            job.speedup
            for job in of_repository
            if judged(job) and job.verdict not in ("void", "not_comparable") and job.speedup
        ]
        badge = client.get(reverse("repository_badge", args=[owner, repo])).content.decode()
        if not speedups:
            assert "no measured race yet" in badge
        else:
            median = statistics.median(speedups)
            support = f" · {len(speedups)} race{'' if len(speedups) == 1 else 's'}<"
            if len(speedups) >= 6:  # the median's interval instead of the count
                support = f" · {median_interval(speedups).low:.2f}"
            if in_tie_band(median, settings.ARENA_TIE_TOLERANCE):
                assert ">tie" + support in badge
            elif median > 1:
                assert f">{speedup_text(median)} faster{support}" in badge
            else:
                assert f">{speedup_text(1 / median)} slower · " in badge

    status = client.get("/api/status").json()
    by_status = {}
    for job in Job.objects.all():
        by_status[job.status] = by_status.get(job.status, 0) + 1
    jobs = status["checks"]["database"]["jobs"] if "checks" in status else status["database"]
    assert jobs == {"total": sum(by_status.values()), **by_status}
