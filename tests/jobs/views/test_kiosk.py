"""Booth mode: the slide follows a live race, holds its verdict once it ends (never a void
race's), otherwise cycles by the clock; no demo data; the site's address and QR code."""

import datetime
import re
import time

import pytest
import segno
from django.urls import reverse

from jobs.models import Job
from jobs.views.kiosk import slide_context
from tests.factories import make_race, make_running_race

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _slides(settings):
    settings.ARENA_KIOSK_SLIDE_SECONDS = 10
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    settings.ARENA_KIOSK_HOLD_SECONDS = 0  # the hold has tests of its own, below


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


def _finish(job, seconds_ago):
    finished = datetime.datetime.fromtimestamp(time.time() - seconds_ago, tz=datetime.UTC)
    Job.objects.filter(pk=job.pk).update(completed_at=finished)


def test_a_finished_race_keeps_the_screen_for_the_hold_then_the_slides_resume(client, settings):
    settings.ARENA_KIOSK_HOLD_SECONDS = 20
    job = make_race("acme/just-done", elide_ms=20_000, standard_ms=50_000)
    _finish(job, seconds_ago=5)
    html = client.get(reverse("kiosk_slide")).content.decode()
    assert 'data-slide="result"' in html and "acme/just-done" in html
    assert "2.50" in html  # the verdict's speedup, held on screen
    assert slide_context(now=time.time() + 16)["slide"] != "result"  # 21 s after it ended
    settings.ARENA_KIOSK_HOLD_SECONDS = 0
    assert slide_context()["slide"] != "result"


def test_a_void_race_is_never_held_nor_listed_as_a_result(client, settings):
    settings.ARENA_KIOSK_HOLD_SECONDS = 20
    void = make_race(
        "acme/void",
        elide_status="failure",
        elide_error_kind="infrastructure",
        elide_error="elide is not installed on this worker",
    )
    _finish(void, seconds_ago=2)
    assert Job.objects.get(pk=void.pk).verdict == "void"
    assert slide_context()["slide"] != "result"
    assert slide_context(now=20)["races"] == []  # the latest results leave it out


def test_the_booth_shows_the_site_address_and_a_qr_code_to_it(client, settings):
    settings.ALLOWED_HOSTS = ["arena.example.com"]
    html = client.get(reverse("kiosk"), HTTP_HOST="arena.example.com").content.decode()
    assert "arena.example.com" in html
    svg = re.search(r'<div class="kiosk-qr"[^>]*>(<svg.*?</svg>)</div>', html, re.S).group(1)
    assert "style" not in svg and "script" not in svg  # the CSP allows neither inline
    expected = segno.make("http://arena.example.com/", error="m", micro=False)
    assert svg.split("</title>")[1] == expected.svg_inline(
        scale=1, border=2, dark="#000", light="#fff", omitsize=True, svgclass="qr-code",
        lineclass=None, title="x",
    ).split("</title>")[1]  # fmt: skip
