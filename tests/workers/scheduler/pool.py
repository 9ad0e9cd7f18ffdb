"""A pool driven with a controlled clock, for the scheduler rule tests: no builds, no sleeps."""

import datetime

from jobs.models import Job
from workers import scheduler

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)


def at(seconds):
    """The moment `seconds` after T0 (negative: before it)."""
    return T0 + datetime.timedelta(seconds=seconds)


def queue_job(created=0, **fields):
    return Job.objects.create(
        repository_url="https://github.com/acme/app",
        repository_name="acme/app",
        created_at=at(created),
        **fields,
    )


def register(worker_id, capacity=2, now=0, **kwargs):
    return scheduler.register_worker(
        worker_id, hostname="host-" + worker_id, capacity=capacity, now=at(now), **kwargs
    )
