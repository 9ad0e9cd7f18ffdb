"""ARENA_HEADLINE_SOURCE=suite: the leaderboard, its JSON and the booth lead with the newest
Elide version's suite results; filters that narrow the races fall back to the races."""

import json

import pytest
from django.urls import reverse

from jobs.views.kiosk import slide_context
from suites import triggers
from suites.models import SuiteRun
from tests.factories import make_race
from tests.suites.conftest import toolchains
from tests.suites.races import finish_queued_suite_races
from workers import scheduler

pytestmark = pytest.mark.django_db(transaction=True)
SPEEDS = {"acme/small": 5.0, "acme/medium": 4.0, "acme/large": 6.0}


def race_version(version, seconds):
    scheduler.register_worker("w1", hostname="host")
    scheduler.record_toolchains("w1", toolchains(version))
    finish_queued_suite_races(elide_version=version, elide_seconds=seconds)
    triggers.advance(SuiteRun.objects.order_by("-id").first())


def leaderboard_headline(client, **query):
    body = client.get(reverse("leaderboard_json"), query)
    content = b"".join(body.streaming_content) if body.streaming else body.content
    return json.loads(content)["headline"]


def test_the_newest_versions_suite_leads_when_asked(suite, client, settings):
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = settings.ARENA_EXPORT_CACHE_SECONDS = 0
    for name in ("other/a", "other/b", "other/c"):
        make_race(name, elide_ms=10_000, standard_ms=11_000)  # public races: about 1.1x
    race_version("1.0.0", SPEEDS)
    race_version("1.1.0", {name: seconds / 2 for name, seconds in SPEEDS.items()})
    assert leaderboard_headline(client)["source"] == "races"

    settings.ARENA_HEADLINE_SOURCE = "suite"
    headline = leaderboard_headline(client)
    assert (headline["source"], headline["suite"], headline["version"]) == (
        "suite",
        "core",
        "1.1.0",
    )
    assert headline["speedup"] == pytest.approx(4.06, rel=0.03)  # 10 s against 2.5, 2, 3 s
    assert headline["ci95"][0] <= headline["speedup"] <= headline["ci95"][1]
    page = client.get(reverse("leaderboard")).content.decode()
    assert "from the suite run of Elide 1.1.0" in page
    booth = slide_context(now=0.0)  # the first slide: the headline
    assert booth["slide"] == "headline"
    assert booth["headline"]["version"] == "1.1.0"
    # A filter that narrows the races speaks of those races, not of the suite.
    assert leaderboard_headline(client, q="other")["source"] == "races"


def test_a_suite_short_of_repositories_claims_nothing(suite, client, settings):
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = settings.ARENA_EXPORT_CACHE_SECONDS = 0
    settings.ARENA_HEADLINE_SOURCE = "suite"
    assert "No suite has been raced yet" in leaderboard_headline(client)["reason"]
    settings.ARENA_HEADLINE_MIN_REPOSITORIES = 4
    race_version("1.0.0", SPEEDS)
    headline = leaderboard_headline(client)
    assert headline["speedup"] is None and headline["repositoriesNeeded"] == 1
    assert "1 more needed" in headline["reason"]
