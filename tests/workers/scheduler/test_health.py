"""Pool health (workers/scheduler/health.py): what the status API and the race page say about
the pool."""

import pytest

from tests.workers.scheduler.pool import at, queue_job, register
from workers import scheduler
from workers.models import WorkerStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pool_settings")]


def test_pool_health_says_when_nobody_will_take_jobs():
    queue_job(created=-10)
    health = scheduler.pool_health(now=at(0))
    assert not health.has_live_workers and health.queued == 1
    assert "No worker is running" in health.waiting_message
    assert scheduler.no_live_workers(now=at(0))

    register("w1", capacity=3, now=0)
    scheduler.set_worker_status("w1", WorkerStatus.MAINTENANCE)
    health = scheduler.pool_health(now=at(1))
    assert (health.alive, health.accepting) == (1, 0)
    assert "maintenance" in health.waiting_message
    assert scheduler.no_live_workers(now=at(1))

    scheduler.set_worker_status("w1", WorkerStatus.ACTIVE)
    scheduler.claim_job("w1", now=at(1))
    health = scheduler.pool_health(now=at(1))
    assert (health.accepting, health.capacity, health.load, health.queued) == (1, 3, 1, 0)
    assert health.waiting_message == "" and not scheduler.no_live_workers(now=at(1))
    # Thirty seconds without a heartbeat and the worker no longer counts.
    assert scheduler.no_live_workers(now=at(31))


def test_pool_health_query_count(django_assert_num_queries):
    register("w1", now=0)
    with django_assert_num_queries(2):
        scheduler.pool_health(now=at(1))


def test_describe_pool_lists_running_jobs_and_heartbeat_age():
    register("w1", now=0)
    register("w2", now=0)
    job = queue_job(created=-10)
    scheduler.claim_job("w1", now=at(0))
    scheduler.heartbeat("w2", now=at(10))
    rows = {w.pk: w for w in scheduler.describe_pool(now=at(40))}
    assert rows["w1"].running_job_ids == [job.pk] and rows["w1"].heartbeat_age == 40
    assert rows["w1"].presumed_dead and not rows["w2"].presumed_dead
