"""The form and the API refuse runs and warm-ups that cannot fit the race budget at the
repository's last known pace (jobs/submissions/budget.py); what fits is accepted."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import BuildResult, Job
from tests.factories import make_race

pytestmark = pytest.mark.django_db

SLOW = "https://github.com/acme/slow"
# Its last race: 400 s + 200 s a build, 60 s + 60 s to prepare. 4 builds: 2,520 s > 1,800 s.
REFUSED = (
    "A race of acme/slow with 3 runs and 1 warm-up would take about 42 min on the arena (its "
    "last race: 10 min a build for both sides, 2 min to prepare); a race may take at most "
    "30 min: choose at most 1 run with 1 warm-up."
)


@pytest.fixture(autouse=True)
def _budget(settings):
    settings.ARENA_RACE_BUDGET_SECONDS = 1800
    settings.ARENA_JOB_RATE_LIMIT = 0
    settings.ARENA_MAX_JOBS_PER_CLIENT = 0


@pytest.fixture
def slow_repository():
    job = make_race("acme/slow", standard_ms=400_000, elide_ms=200_000)
    BuildResult.objects.filter(job=job).update(phases={"prepare_ms": 60_000, "runs_ms": []})
    return job


def api(client, url, **fields):
    body = {"repositoryUrl": url, "force": True, **fields}
    return client.post("/api/jobs", json.dumps(body), content_type="application/json")


def test_the_api_refuses_what_cannot_fit_with_a_400_and_a_message(client, slow_repository):
    refused = api(client, SLOW, iterations=3, warmups=1)
    assert refused.status_code == 400
    assert refused.json() == {"error": "Invalid request", "details": [REFUSED]}
    assert Job.objects.count() == 1  # nothing written
    assert api(client, SLOW, iterations=1, warmups=1).status_code == 201
    assert api(client, SLOW, iterations=2, warmups=0).status_code == 201


def test_the_form_refuses_it_with_an_error_on_the_page(client, slow_repository):
    data = {"repository_url": SLOW, "force": "on", "iterations": "3", "warmups": "1"}
    page = client.post(reverse("home"), data)
    assert page.status_code == 400
    assert REFUSED.replace("'", "&#x27;") in page.content.decode()
    assert Job.objects.count() == 1
    accepted = client.post(reverse("home"), {**data, "iterations": "1"})
    assert accepted.status_code == 302


def test_builds_slower_than_the_budget_cannot_race_at_all(client, settings, slow_repository):
    settings.ARENA_RACE_BUDGET_SECONDS = 500
    refused = api(client, SLOW, iterations=1, warmups=0)
    assert refused.status_code == 400
    assert refused.json()["details"][0].endswith(
        "even one run does not fit, so it cannot race here."
    )


def test_no_history_or_no_budget_refuses_nothing(client, settings, slow_repository):
    assert api(client, "https://github.com/acme/new", iterations=10, warmups=3).status_code == 201
    settings.ARENA_RACE_BUDGET_SECONDS = 0
    assert api(client, SLOW, iterations=10, warmups=3).status_code == 201


def test_the_newest_race_with_measured_runs_sets_the_pace(client, slow_repository):
    """A newer race without measured runs (it failed early) is passed over; demo data never
    counts."""
    # Timestamps are whole seconds: each race gets its own, newer than the fixture's.
    later = [timezone.now() + datetime.timedelta(minutes=minutes) for minutes in (1, 2, 3)]
    make_race("acme/slow", standard_ms=1_000, elide_ms=1_000, is_mock=True, created_at=later[0])
    early = make_race(
        "acme/slow", standard_status="failure", elide_status="failure", created_at=later[1]
    )
    BuildResult.objects.filter(job=early).update(run_times_ms=[])
    assert api(client, SLOW, iterations=3, warmups=1).json()["details"] == [REFUSED]
    make_race("acme/slow", standard_ms=100_000, elide_ms=50_000, created_at=later[2])
    assert api(client, SLOW, iterations=3, warmups=1).status_code == 201
