"""Claims and releases (workers/scheduler/claims.py), driven with a controlled clock: oldest
first, within capacity, least loaded and elide-capable workers first."""

import pytest

from jobs.models import BuildResult, BuildStatus, Job, JobStatus
from tests.workers.scheduler.pool import at, queue_job, register
from workers import scheduler
from workers.models import Worker, WorkerAssignment, WorkerStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pool_settings")]

WITH_ELIDE = {"elide": {"ok": True, "version": "Elide 1.0"}, "mvn": {"ok": True}}
WITHOUT_ELIDE = {"elide": {"ok": False, "error": "elide not found on PATH"}, "mvn": {"ok": True}}


def test_claim_takes_the_oldest_job_and_records_it():
    register("w1", now=0)
    newer = queue_job(created=-5)
    older = queue_job(created=-10)
    claim = scheduler.claim_job("w1", now=at(1))
    assert claim.job.pk == older.pk
    job = Job.objects.get(pk=older.pk)
    assert job.status == JobStatus.RUNNING
    assert (job.worker_id, job.started_at, job.attempts) == ("w1", at(1), 1)
    assignment = WorkerAssignment.objects.get()
    assert (assignment.job_id, assignment.worker_id) == (older.pk, "w1")
    assert assignment.assigned_at == at(1) and assignment.completed_at is None
    assert Worker.objects.get(pk="w1").current_load == 1
    assert Job.objects.get(pk=newer.pk).status == JobStatus.QUEUED


def test_claim_never_exceeds_capacity():
    register("w1", capacity=2, now=0)
    for created in range(3):
        queue_job(created=-10 - created)
    assert scheduler.claim_job("w1", now=at(1))
    assert scheduler.claim_job("w1", now=at(1))
    assert scheduler.claim_job("w1", now=at(1)) is None
    assert Worker.objects.get(pk="w1").current_load == 2
    assert Job.objects.filter(status=JobStatus.QUEUED).count() == 1


def test_claim_skips_unqueued_jobs_and_empty_queue():
    register("w1", now=0)
    assert scheduler.claim_job("w1", now=at(1)) is None
    queue_job(created=-10, status=JobStatus.CANCELLED)
    queue_job(created=-10, status=JobStatus.COMPLETED)
    assert scheduler.claim_job("w1", now=at(1)) is None


def test_worker_in_maintenance_takes_nothing():
    register("w1", now=0)
    queue_job(created=-10)
    scheduler.set_worker_status("w1", WorkerStatus.MAINTENANCE)
    assert scheduler.claim_job("w1", now=at(1)) is None
    scheduler.set_worker_status("w1", WorkerStatus.ACTIVE)
    assert scheduler.claim_job("w1", now=at(1)) is not None


def test_worker_with_stale_heartbeat_takes_nothing():
    register("w1", now=0)
    queue_job(created=-10)
    assert scheduler.claim_job("w1", now=at(31)) is None
    assert scheduler.heartbeat("w1", now=at(31))
    assert scheduler.claim_job("w1", now=at(31)) is not None


def test_unknown_worker_takes_nothing():
    queue_job(created=-10)
    assert scheduler.claim_job("nobody", now=at(1)) is None


def test_a_young_job_waits_for_the_least_loaded_worker():
    register("busy", capacity=2, now=0)
    register("idle", capacity=2, now=0)
    queue_job(created=-100)
    assert scheduler.claim_job("busy", now=at(0)) is not None  # tie: anyone may take it
    queue_job(created=0)
    # busy is at 1/2, idle at 0/2: busy leaves the new job to idle.
    assert scheduler.claim_job("busy", now=at(0)) is None
    assert scheduler.claim_job("idle", now=at(0)) is not None


def test_least_loaded_compares_load_over_capacity():
    register("big", capacity=4, now=0)
    register("small", capacity=2, now=0)
    for _ in range(2):
        queue_job(created=-100)
    scheduler.claim_job("big", now=at(0))
    scheduler.claim_job("small", now=at(0))
    queue_job(created=0)
    # big is at 1/4 = 0.25, small at 1/2 = 0.5: small defers, big takes it.
    assert scheduler.claim_job("small", now=at(0)) is None
    assert scheduler.claim_job("big", now=at(0)) is not None


def test_least_loaded_ignores_dead_full_and_maintenance_peers():
    register("me", capacity=2, now=100)
    queue_job(created=0)
    scheduler.claim_job("me", now=at(100))
    register("dead", capacity=2, now=0)  # heartbeat 100 s old
    register("paused", capacity=2, now=100)
    scheduler.set_worker_status("paused", WorkerStatus.MAINTENANCE)
    register("full", capacity=1, now=100)
    queue_job(created=0)
    scheduler.claim_job("full", now=at(100))
    queue_job(created=100)
    assert scheduler.claim_job("me", now=at(100)) is not None


def test_a_job_left_waiting_goes_to_any_worker_with_room():
    register("busy", capacity=2, now=0)
    register("slow", capacity=2, now=0)
    queue_job(created=-100)
    scheduler.claim_job("busy", now=at(0))
    queue_job(created=0)
    window = scheduler.claim_defer_window().total_seconds()
    assert scheduler.claim_job("busy", now=at(window - 1)) is None
    scheduler.heartbeat("slow", now=at(window + 1))
    # "slow" has not polled for the whole window: the job is not held back for it.
    assert scheduler.claim_job("busy", now=at(window + 1)) is not None


def test_release_closes_the_assignment_and_frees_capacity():
    register("w1", capacity=1, now=0)
    job = queue_job(created=-10)
    scheduler.claim_job("w1", now=at(1))
    Job.objects.filter(pk=job.pk).update(status=JobStatus.COMPLETED)
    assert scheduler.release_job("w1", job.pk, "completed", now=at(9)) == JobStatus.COMPLETED
    assignment = WorkerAssignment.objects.get()
    assert (assignment.completed_at, assignment.outcome) == (at(9), "completed")
    assert Worker.objects.get(pk="w1").current_load == 0


def test_release_of_an_interrupted_race_requeues_it():
    register("w1", now=0)
    job = queue_job(created=-10)
    scheduler.claim_job("w1", now=at(1))
    assert scheduler.release_job("w1", job.pk, "interrupted", now=at(3)) == JobStatus.QUEUED
    job.refresh_from_db()
    assert (job.worker_id, job.started_at, job.attempts) == (None, None, 1)
    assert WorkerAssignment.objects.get().outcome == "interrupted"


def test_release_never_overwrites_a_cancelled_job():
    from jobs.submissions.services import cancel_job

    register("w1", now=0)
    job = queue_job(created=-10)
    scheduler.claim_job("w1", now=at(1))
    cancel_job(job.pk)
    assert scheduler.release_job("w1", job.pk, "interrupted", now=at(3)) == JobStatus.CANCELLED
    assert scheduler.release_job("w1", job.pk, "completed", now=at(3)) == JobStatus.CANCELLED
    assert Worker.objects.get(pk="w1").current_load == 0


def test_release_fails_a_race_that_left_its_job_running():
    register("w1", now=0)
    job = queue_job(created=-10)
    scheduler.claim_job("w1", now=at(1))
    BuildResult.objects.create(job=job, build_type="elide")
    assert scheduler.release_job("w1", job.pk, "completed", now=at(3)) == JobStatus.FAILED
    job.refresh_from_db()
    assert "without recording a final status" in job.error
    assert job.completed_at == at(3)
    assert BuildResult.objects.get().status == BuildStatus.FAILURE


def test_fail_job_records_the_reason():
    register("w1", now=0)
    job = queue_job(created=-10)
    scheduler.claim_job("w1", now=at(1))
    scheduler.fail_job("w1", job.pk, "internal error: boom", now=at(2))
    job.refresh_from_db()
    assert (job.status, job.error) == (JobStatus.FAILED, "internal error: boom")


def test_a_worker_with_elide_is_preferred_over_one_without():
    register("plain", capacity=2, now=0)
    register("elide", capacity=2, now=0)
    scheduler.record_toolchains("plain", WITHOUT_ELIDE, now=at(0))
    scheduler.record_toolchains("elide", WITH_ELIDE, now=at(0))
    assert Worker.objects.get(pk="elide").runs_elide is True
    assert Worker.objects.get(pk="plain").runs_elide is False
    queue_job(created=0)
    # Idle and equally loaded: the worker without elide leaves the job to the one with it.
    assert scheduler.claim_job("plain", now=at(0)) is None
    assert scheduler.claim_job("elide", now=at(0)).job.worker_id == "elide"
    # The elide worker, now busier, still does not defer to a less-loaded worker without elide.
    queue_job(created=0)
    assert scheduler.claim_job("elide", now=at(0)) is not None


def test_without_an_elide_worker_the_race_still_runs_after_the_window():
    register("plain", capacity=2, now=0)
    register("elide-but-full", capacity=1, now=0)
    scheduler.record_toolchains("plain", WITHOUT_ELIDE, now=at(0))
    scheduler.record_toolchains("elide-but-full", WITH_ELIDE, now=at(0))
    queue_job(created=-100)
    assert scheduler.claim_job("elide-but-full", now=at(0)) is not None
    queue_job(created=0)
    # The only elide worker is full: nothing to wait for, the plain worker takes it.
    assert scheduler.claim_job("plain", now=at(0)) is not None
