"""Honest states: phases as the engine reports them, failed sides without times, failures
marked in lists, styled error pages, empty states."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobs.models import BuildResult
from tests.factories import make_race, make_running_race
from workers.recording import Recorder

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_figures(settings):
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0


def side_head(html, build_type):
    start = html.index(f'id="side-head-{build_type}"')
    return html[start : html.index("</header>", start)]


def test_the_recorder_stores_phases_and_starts_the_clock_at_the_first_build():
    job = make_running_race("acme/phases")
    results = {r.build_type: r.pk for r in BuildResult.objects.filter(job=job)}
    long_ago = (timezone.now() - datetime.timedelta(minutes=5)).replace(microsecond=0)
    BuildResult.objects.filter(job=job).update(started_at=long_ago)
    recorder = Recorder(results, job.pk)
    recorder.on_state("elide", "cloning")
    recorder.on_state("standard", "cloning")
    recorder.write()
    assert set(BuildResult.objects.filter(job=job).values_list("phase", flat=True)) == {"cloning"}
    recorder.on_side_started("standard", "maven", "3.8.7")
    recorder.on_state("elide", "building (run 1/3)")
    recorder.write()
    elide = BuildResult.objects.get(pk=results["elide"])
    standard = BuildResult.objects.get(pk=results["standard"])
    assert (elide.phase, standard.phase) == ("building (run 1/3)", "ready")
    assert elide.started_at > long_ago and standard.started_at == long_ago


@pytest.mark.parametrize(
    ("phase", "shown", "clock"),
    [
        ("cloning", "Cloning…", False),
        ("preparing", "Preparing…", False),
        ("waiting for the measurement lock", "Waiting for the measurement lock", False),
        ("ready", "Waiting for its turn", False),
        ("building (run 2/3)", "Building (run 2/3)…", True),
    ],
)
def test_the_race_page_shows_the_phase_and_a_clock_only_while_building(client, phase, shown, clock):
    job = make_running_race("acme/phase")
    BuildResult.objects.filter(job=job, build_type="elide").update(phase=phase)
    head = side_head(client.get(reverse("race_detail", args=[job.pk])).content.decode(), "elide")
    assert shown in head
    assert ('class="timer"' in head) is clock


def test_a_failed_side_shows_failed_not_a_time(client):
    job = make_race("acme/broken", elide_ms=1234, standard_status="failure", standard_ms=4321)
    html = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    standard = side_head(html, "standard")
    assert "failed" in standard and "after 4.32 s" in standard
    assert '<span class="final-time">' not in standard
    assert '<span class="final-time">1.23 s</span>' in side_head(html, "elide")


def test_lists_mark_failures_and_never_show_a_failed_sides_time(client):
    make_race("acme/half", standard_status="failure", standard_ms=7777)
    make_race("acme/none", elide_status="failure", standard_status="failure")
    make_race("acme/crashed", status="failed")
    for url in (reverse("job_list"), reverse("home")):
        html = client.get(url).content.decode()
        assert "7.78 s" not in html
        # The outcomes' one names (jobs/outcomes/labels.py).
        assert "Elide wins by forfeit" in html and "Both failed" in html and ">Void<" in html


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/jobs/no-such-race/", 404, "No race with that id."),
        ("/no/such/page", 404, "There is nothing here"),
    ],
)
def test_error_pages_are_styled_with_navigation(client, path, status, text):
    response = client.get(path)
    html = response.content.decode()
    assert response.status_code == status and text in html
    assert 'href="/leaderboard/"' in html and "css/arena.css" in html


def test_forbidden_and_unavailable_pages_are_styled(client, monkeypatch):
    job = make_running_race()
    forbidden = client.get(reverse("race_cancel", args=[job.pk]))
    assert forbidden.status_code == 403 and "You may not do that" in forbidden.content.decode()
    from django.db import OperationalError

    def unavailable(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr("jobs.views.lists.Paginator.get_page", unavailable)
    busy = client.get(reverse("job_list"))
    assert busy.status_code == 503 and busy["Retry-After"]
    assert "Try again shortly" in busy.content.decode() and "css/arena.css" in busy.content.decode()


def test_server_errors_get_the_styled_500_page(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("jobs.views.lists.Paginator.get_page", broken)
    response = Client(raise_request_exception=False).get(reverse("job_list"))
    assert response.status_code == 500
    assert "Something broke on our side" in response.content.decode()


def test_empty_states_for_charts_and_tables(client):
    leaderboard = client.get(reverse("leaderboard")).content.decode()
    assert "the chart fills in as races finish" in leaderboard
    assert "No completed race matches these filters." in leaderboard
    assert "No races yet." in client.get(reverse("job_list")).content.decode()
    assert "No worker has registered yet" in client.get(reverse("worker_list")).content.decode()
    make_race("acme/one")
    leaderboard = client.get(reverse("leaderboard")).content.decode()
    assert "Speedup (standard time ÷ Elide time)" in leaderboard and "chart-legend" in leaderboard


def test_the_race_list_finds_races_by_repository_name(client):
    make_race("google/guava")
    make_race("square/okhttp", status="failed")
    html = client.get(reverse("job_list"), {"q": "GUAVA"}).content.decode()
    assert "google/guava" in html and "square/okhttp" not in html
    html = client.get(reverse("job_list"), {"q": "okhttp", "status": "completed"}).content.decode()
    assert "No race of a repository matching “okhttp” with that status." in html
    assert client.get(reverse("job_list"), {"q": "x" * 500}).status_code == 200
