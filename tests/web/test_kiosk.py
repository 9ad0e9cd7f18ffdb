"""Booth mode: the slide follows a live race, otherwise cycles by the clock; no demo data."""

import pytest
from django.urls import reverse

from jobs.views.kiosk import slide_context
from tests.factories import make_race, make_running_race

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _slides(settings):
    settings.ARENA_KIOSK_SLIDE_SECONDS = 10
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0


def test_slides_cycle_by_the_clock_without_a_live_race():
    assert [slide_context(now=t)["slide"] for t in (0, 10, 20, 30)] == [
        "headline",
        "chart",
        "recent",
        "headline",
    ]


def test_each_slide_renders_with_and_without_races(client):
    for now in (0, 10, 20):
        context = slide_context(now=now)
        assert context["slide"] in ("headline", "chart", "recent")
    assert client.get(reverse("kiosk")).status_code == 200
    make_race("acme/demo", is_mock=True)
    make_race("acme/real", elide_ms=20_000, standard_ms=50_000)
    html = client.get(reverse("kiosk_slide")).content.decode()
    assert 'class="kiosk-slide' in html
    assert slide_context(now=0)["totals"]["races"] == 1  # demo data left out
    assert [job.repository_name for job in slide_context(now=20)["races"]] == ["acme/real"]


def test_a_live_race_takes_over_the_screen(client):
    make_race("acme/done")
    job = make_running_race("acme/now", output="compiling 42 classes\n")
    html = client.get(reverse("kiosk_slide")).content.decode()
    assert 'data-slide="live"' in html and "acme/now" in html and "compiling 42 classes" in html
    job.status = "completed"
    job.save()
    assert 'data-slide="live"' not in client.get(reverse("kiosk_slide")).content.decode()
