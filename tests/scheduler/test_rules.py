"""The pool's rules (workers/scheduler/) driven with a controlled clock: no builds, no sleeps."""

import datetime

import pytest
from django.utils import timezone

from jobs.models import BuildResult, BuildStatus, Job, JobStatus
from workers import scheduler
from workers.models import Worker, WorkerAssignment, WorkerStatus

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)


def at(seconds):
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


@pytest.fixture(autouse=True)
def pool_settings(settings):
    settings.ARENA_WORKER_DEAD_AFTER = 30
    settings.ARENA_WORKER_POLL_INTERVAL = 0.5
    settings.ARENA_JOB_MAX_ATTEMPTS = 2
    settings.ARENA_WORKER_RETENTION = 3600
    return settings


pytestmark = pytest.mark.django_db


# --- registration and heartbeats ---------------------------------------------------------------


def test_register_creates_an_active_row():
    worker = register("w1", capacity=3, now=5, pid=1234)
    assert worker.status == WorkerStatus.ACTIVE
    assert (worker.hostname, worker.capacity, worker.current_load, worker.pid) == (
        "host-w1",
        3,
        0,
        1234,
    )
    assert worker.last_heartbeat == worker.created_at == worker.updated_at == at(5)


def test_register_again_reactivates_and_keeps_created_at():
    register("w1", now=0)
    Worker.objects.filter(pk="w1").update(status=WorkerStatus.INACTIVE)
    worker = scheduler.register_worker("w1", hostname="new-host", capacity=4, now=at(100))
    assert worker.status == WorkerStatus.ACTIVE
    assert (worker.hostname, worker.capacity) == ("new-host", 4)
    assert worker.created_at == at(0) and worker.updated_at == at(100)


def test_register_keeps_maintenance():
    register("w1")
    scheduler.set_worker_status("w1", WorkerStatus.MAINTENANCE)
    assert register("w1", now=10).status == WorkerStatus.MAINTENANCE


def test_restart_with_same_id_hands_back_what_the_old_process_ran():
    register("w1", now=0)
    job = queue_job()
    assert scheduler.claim_job("w1", now=at(1)).job.pk == job.pk
    # The process died and came back before anyone reaped it.
    worker = register("w1", now=5)
    job.refresh_from_db()
    assert worker.current_load == 0
    assert job.status == JobStatus.QUEUED and job.worker_id is None and job.attempts == 1
    assignment = WorkerAssignment.objects.get(job=job)
    assert assignment.completed_at == at(5) and assignment.outcome == scheduler.Outcome.LOST
    # ...and can take it again.
    assert scheduler.claim_job("w1", now=at(6)).job.attempts == 2


def test_register_rejects_zero_capacity():
    with pytest.raises(ValueError, match="capacity"):
        register("w1", capacity=0)
    assert not Worker.objects.exists()


def test_heartbeat_updates_and_reports_status():
    register("w1", now=0)
    assert scheduler.heartbeat("w1", now=at(7)) == WorkerStatus.ACTIVE
    assert Worker.objects.get(pk="w1").last_heartbeat == at(7)
    scheduler.set_worker_status("w1", WorkerStatus.MAINTENANCE)
    assert scheduler.heartbeat("w1", now=at(8)) == WorkerStatus.MAINTENANCE


def test_heartbeat_never_revives_a_reaped_worker():
    register("w1", now=0)
    scheduler.reap_dead_workers(now=at(31))
    assert scheduler.heartbeat("w1", now=at(32)) is None
    assert Worker.objects.get(pk="w1").status == WorkerStatus.INACTIVE
    assert scheduler.heartbeat("missing", now=at(32)) is None


def test_running_elsewhere_detects_a_live_duplicate():
    register("w1", now=0, pid=1)  # pid 1 exists on every host (init)
    now = at(1)
    assert scheduler.running_elsewhere("w1", hostname="other", pid=99, now=now).pk == "w1"
    assert scheduler.running_elsewhere("w1", hostname="host-w1", pid=1, now=now) is None
    # Same host, a process id that does not exist: the old process is gone, take over.
    Worker.objects.filter(pk="w1").update(pid=2**22 + 12345)
    assert scheduler.running_elsewhere("w1", hostname="host-w1", pid=5, now=now) is None
    # A dead row is no obstacle either.
    assert scheduler.running_elsewhere("w1", hostname="other", pid=5, now=at(100)) is None


# --- claims ---------------------------------------------------------------------------------------


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


# --- releases -------------------------------------------------------------------------------------


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
    from jobs.services import cancel_job

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


# --- dead workers, recovery and cleanup -------------------------------------------------------


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


def test_retire_hands_back_open_work():
    register("w1", now=0)
    job = queue_job(created=-10)
    scheduler.claim_job("w1", now=at(1))
    scheduler.retire_worker("w1", now=at(5))
    worker = Worker.objects.get()
    assert (worker.status, worker.current_load) == (WorkerStatus.INACTIVE, 0)
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
    assert WorkerAssignment.objects.get().outcome == "interrupted"


# --- maintenance switch, health ------------------------------------------------------------------


def test_set_worker_status_errors():
    assert scheduler.set_worker_status("missing", WorkerStatus.MAINTENANCE) is None
    register("w1", now=0)
    with pytest.raises(ValueError, match="cannot set"):
        scheduler.set_worker_status("w1", WorkerStatus.INACTIVE)
    scheduler.retire_worker("w1")
    with pytest.raises(ValueError, match="inactive"):
        scheduler.set_worker_status("w1", WorkerStatus.ACTIVE)
    assert Worker.objects.get().status == WorkerStatus.INACTIVE


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


# --- queue overflow (jobs.services) ---------------------------------------------------------------


def test_queue_overflow_refuses_and_writes_nothing(settings, allow_local_repos, tmp_path):
    from jobs.services import QueueFull, create_job

    settings.ARENA_MAX_QUEUED_JOBS = 2
    create_job("https://github.com/acme/one")
    create_job("https://github.com/acme/two")
    with pytest.raises(QueueFull, match="queue is full"):
        create_job("https://github.com/acme/three")
    assert Job.objects.count() == 2
    # Running jobs do not count against the queue.
    scheduler.register_worker("w1", hostname="h")
    assert scheduler.claim_job("w1", now=timezone.now())
    assert create_job("https://github.com/acme/three").status == JobStatus.QUEUED


# --- toolchains -------------------------------------------------------------------------------

WITH_ELIDE = {"elide": {"ok": True, "version": "Elide 1.0"}, "mvn": {"ok": True}}
WITHOUT_ELIDE = {"elide": {"ok": False, "error": "elide not found on PATH"}, "mvn": {"ok": True}}


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
