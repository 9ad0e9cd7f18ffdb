"""Dead workers, recovery and cleanup (workers/scheduler/recovery.py), driven with a
controlled clock."""

import pytest

from jobs.models import BuildResult, BuildStatus, Job, JobStatus
from tests.workers.scheduler.pool import at, queue_job, register
from workers import scheduler
from workers.models import Worker, WorkerAssignment, WorkerStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pool_settings")]


def test_fresh_workers_are_left_alone():
    register("w1", now=0)
    result = scheduler.reap_dead_workers(now=at(30))
    assert result.reaped == [] and Worker.objects.get().status == WorkerStatus.ACTIVE


def test_dead_worker_is_reaped_and_its_job_requeued_once_then_failed():
    register("w1", now=0)
    job = queue_job(created=-10)
    scheduler.claim_job("w1", now=at(1))
    BuildResult.objects.create(job=job, build_type="elide", output="partial")

    result = scheduler.reap_dead_workers(now=at(31))
    assert result.reaped == ["w1"] and result.requeued == [job.pk] and result.failed == []
    worker = Worker.objects.get(pk="w1")
    assert (worker.status, worker.current_load, worker.updated_at) == (
        WorkerStatus.INACTIVE,
        0,
        at(31),
    )
    assignment = WorkerAssignment.objects.get()
    assert (assignment.completed_at, assignment.outcome) == (at(31), "lost")
    job.refresh_from_db()
    assert (job.status, job.worker_id, job.attempts) == (JobStatus.QUEUED, None, 1)

    # A second worker takes it and dies too: this time the job fails with the reason.
    register("w2", now=40)
    assert scheduler.claim_job("w2", now=at(40)).job.attempts == 2
    result = scheduler.maintain_pool(now=at(100))
    assert result.reaped == ["w2"] and result.failed == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.completed_at == at(100)
    assert "worker w2 stopped responding (no heartbeat for 60 s)" in job.error
    assert "attempt 2 of 2" in job.error
    result = BuildResult.objects.get()
    assert result.status == BuildStatus.FAILURE and result.output == "partial"


def test_reaping_twice_changes_nothing():
    register("w1", now=0)
    queue_job(created=-10)
    scheduler.claim_job("w1", now=at(1))
    assert scheduler.reap_dead_workers(now=at(31)).reaped == ["w1"]
    again = scheduler.reap_dead_workers(now=at(32))
    assert again.reaped == [] and again.requeued == []


def test_dead_worker_in_maintenance_is_reaped_too():
    register("w1", now=0)
    scheduler.set_worker_status("w1", WorkerStatus.MAINTENANCE)
    assert scheduler.reap_dead_workers(now=at(31)).reaped == ["w1"]


def test_running_job_of_a_missing_worker_is_recovered():
    job = queue_job(created=-10, status=JobStatus.RUNNING, worker_id="vanished", attempts=1)
    assert scheduler.reap_dead_workers(now=at(1)).requeued == [job.pk]
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED


def test_inactive_workers_are_deleted_after_retention_with_job_history_kept():
    register("old", now=0)
    register("recent", now=0)
    job = queue_job(created=-10)
    scheduler.claim_job("old", now=at(1))
    scheduler.reap_dead_workers(now=at(31))  # both inactive at t=31
    scheduler.heartbeat("recent", now=at(31))  # ignored: it was reaped
    Worker.objects.filter(pk="recent").update(updated_at=at(3000))
    assert scheduler.delete_retired_workers(now=at(31 + 3600)) == 0
    assert scheduler.delete_retired_workers(now=at(32 + 3600)) == 1
    assert list(Worker.objects.values_list("pk", flat=True)) == ["recent"]
    job.refresh_from_db()
    assert job.attempts == 1 and Job.objects.filter(pk=job.pk).exists()
    scheduler.claim_job("recent", now=at(4000))  # inactive: takes nothing
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
