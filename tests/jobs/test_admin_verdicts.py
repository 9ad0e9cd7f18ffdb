"""The admin's verdict column, the bulk "exclude from the leaderboard with a reason" action
(through the same race_exclusions history as the change form) and each worker's toolchains."""

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.leaderboard.figures import totals
from jobs.leaderboard.headline import headline
from jobs.models import Job, RaceExclusion
from tests.factories import make_race
from workers.models import Worker

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:jobs_job_changelist"


@pytest.fixture(autouse=True)
def _fresh_figures(settings):
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0


def exclude(client, ids, **extra):
    return client.post(
        reverse(CHANGELIST),
        {"action": "exclude_from_leaderboard", "_selected_action": ids, **extra},
    )


def test_the_job_list_shows_each_races_verdict(admin_client):
    make_race("acme/fast", iterations=3)
    make_race("acme/void", elide_status="failure", elide_error_kind="infrastructure",
              elide_error="elide is not installed on worker w9")  # fmt: skip
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "column-verdict" in page
    assert "Elide wins" in page and "Void" in page  # the outcomes' one names
    filtered = admin_client.get(reverse(CHANGELIST), {"verdict__exact": "void"}).content.decode()
    assert "acme/void" in filtered and "acme/fast" not in filtered


def test_bulk_exclusion_asks_for_a_reason_then_records_one_change_per_race(admin_client):
    first, second, kept = (make_race(f"acme/r{index}") for index in range(3))
    assert totals()["races"] == 3
    ids = [first.pk, second.pk]
    asked = exclude(admin_client, ids)
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    assert "acme/r0" in asked.content.decode() and not RaceExclusion.objects.exists()
    empty = exclude(admin_client, ids, apply="1", reason="   ")
    assert empty.status_code == 200 and "This field is required" in empty.content.decode()
    assert not Job.objects.exclude(excluded_reason="").exists()

    reason = "measured on a host with a warm cache"
    done = exclude(admin_client, ids, apply="1", reason=f" {reason} ")
    assert done.status_code == 302
    assert set(Job.objects.exclude(excluded_reason="").values_list("pk", flat=True)) == set(ids)
    assert totals()["races"] == 1 and headline()["races"] == 1
    history = RaceExclusion.objects.order_by("job_id")
    assert [(h.job_id, h.excluded, h.reason, h.changed_by) for h in history] == sorted(
        (job_id, True, reason, "admin") for job_id in ids
    )
    exclude(admin_client, ids, apply="1", reason=reason)  # the same reason again: no new rows
    assert RaceExclusion.objects.count() == 2
    page = admin_client.get(reverse("race_detail", args=[first.pk])).content.decode()
    assert f"Excluded from the leaderboard: {reason}" in page
    assert Job.objects.get(pk=kept.pk).excluded_reason == ""


def test_the_worker_list_shows_each_workers_toolchains(admin_client):
    probed = {
        "java": {"ok": True, "version": "java 17.0.15"},
        "mvn": {"ok": True, "version": "mvn 3.8.7"},
        "elide": {"ok": False},
    }
    Worker.objects.create(
        id="w-tools", hostname="h", last_heartbeat=timezone.now(), toolchains=probed
    )
    page = admin_client.get(reverse("admin:workers_worker_changelist")).content.decode()
    assert "java 17.0.15" in page and "mvn 3.8.7" in page and "no elide" in page
