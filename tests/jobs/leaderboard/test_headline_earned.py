"""A headline only when earned: no speedup claimed until counted races cover
ARENA_HEADLINE_MIN_REPOSITORIES repositories (operator races never count), and then always
with its interval."""

import json

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from jobs.views.kiosk import slide_context
from tests.factories import make_race

pytestmark = pytest.mark.django_db


def claim(client):
    document = client.get(reverse("leaderboard_json"))
    return json.loads(b"".join(document.streaming_content))["headline"]


@pytest.fixture(autouse=True)
def _fresh_figures(settings):
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    settings.ARENA_EXPORT_CACHE_SECONDS = 0
    settings.ARENA_KIOSK_HOLD_SECONDS = 0
    assert settings.ARENA_HEADLINE_MIN_REPOSITORIES == 3  # the default


def test_one_two_and_three_repositories(client):
    # Operator races of many repositories, with big speedups: they never earn a headline.
    for index in range(4):
        make_race(f"operator/r{index}", elide_ms=1_000, standard_ms=9_000, iterations=3,
                  elide_cmd=["sh", "-c", "true"])  # fmt: skip
    expectations = [(1, 2), (2, 1)]
    for repositories, needed in expectations:
        make_race(f"real/r{repositories}", elide_ms=10_000, standard_ms=20_000, iterations=3)
        headline = claim(client)
        assert headline["speedup"] is None and headline["ci95"] is None
        assert headline["repositories"] == repositories
        assert headline["repositoriesNeeded"] == needed
        more = "repository" if needed == 1 else "repositories"
        assert f"{needed} more {more} needed" in headline["reason"]
        page = client.get(reverse("leaderboard")).content.decode()
        assert headline["reason"] in page and "Elide builds" not in page
        booth = slide_context(now=0)  # the headline slide
        assert booth["headline"]["speedup"] is None
        slide = render_to_string("kiosk/slide.html", booth)
        assert headline["reason"] in slide and "faster" not in slide

    make_race("real/r3", elide_ms=10_000, standard_ms=15_000, iterations=3)
    headline = claim(client)
    assert headline["repositories"] == 3 and headline["repositoriesNeeded"] == 0
    assert headline["reason"] == "" and headline["speedup"] > 1
    low, high = headline["ci95"]
    assert low <= headline["speedup"] <= high
    page = client.get(reverse("leaderboard")).content.decode()
    assert "Elide builds" in page and f"(95% CI {low:.2f}\u00d7\u2013{high:.2f}\u00d7)" in page
    assert slide_context(now=0)["headline"] == headline


def test_the_minimum_is_a_setting(client, settings):
    settings.ARENA_HEADLINE_MIN_REPOSITORIES = 2
    make_race("real/one", elide_ms=10_000, standard_ms=20_000, iterations=3)
    assert claim(client)["speedup"] is None
    make_race("real/two", elide_ms=10_000, standard_ms=20_000, iterations=3)
    headline = claim(client)
    assert headline["speedup"] == pytest.approx(2.0, rel=0.02) and headline["ci95"]


def test_an_operator_race_is_labelled_and_never_counted(client):
    job = make_race("operator/custom", elide_ms=1_000, standard_ms=9_000, iterations=3,
                    standard_cmd=["sh", "-c", "mvn -q package"])  # fmt: skip
    page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert "Operator race: Run with an operator" in page
    listing = client.get(reverse("job_list")).content.decode()
    assert ">Operator race<" in listing.split("operator/custom")[1].split("</tr>")[0]
    assert client.get(f"/api/jobs/{job.pk}").json()["job"]["operatorRace"] is True
    document = client.get(reverse("leaderboard_json"))
    document = json.loads(b"".join(document.streaming_content))
    assert document["totals"]["races"] == 0 and document["races"] == []
    badge = client.get(reverse("repository_badge", args=["operator", "custom"])).content
    assert b"no measured race yet" in badge
