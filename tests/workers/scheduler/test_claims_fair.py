"""Fair dispatch: the claim takes turns between clients, so one client's burst of submissions
does not make everyone else wait behind it."""

import datetime

import pytest

from jobs.models import Job
from workers import scheduler

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


def queue(name, client_key, created):
    return Job.objects.create(
        repository_url=f"https://github.com/{name}",
        repository_name=name,
        client_key=client_key,
        created_at=at(created),
    )


def test_clients_take_turns_whatever_the_order_they_queued_in(settings):
    settings.ARENA_WORKER_DEAD_AFTER = 10_000
    scheduler.register_worker("w1", hostname="h", capacity=1, now=at(0))
    for index in range(3):
        queue(f"burst/r{index}", "10.0.0.1", created=index)
    queue("patient/r0", "10.0.0.2", created=10)
    queue("operator/r0", "", created=11)
    taken = []
    for step in range(5):
        now = at(100 + step)
        claim = scheduler.claim_job("w1", now=now)
        taken.append(claim.job.repository_name)
        Job.objects.filter(pk=claim.job.pk).update(status="completed", completed_at=now)
        scheduler.release_job("w1", claim.job.pk, "completed", now=now)
    assert taken == ["burst/r0", "patient/r0", "operator/r0", "burst/r1", "burst/r2"]
