"""The pool's registry (workers/scheduler/registry.py): registration, heartbeats, the
maintenance switch and retirement, driven with a controlled clock."""

import pytest

from jobs.models import Job, JobStatus
from tests.workers.scheduler.pool import at, queue_job, register
from workers import scheduler
from workers.models import Worker, WorkerAssignment, WorkerStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pool_settings")]


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
    assert assignment.completed_at == at(5)
    assert assignment.outcome == scheduler.AssignmentOutcome.LOST
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


def test_retire_hands_back_open_work():
    register("w1", now=0)
    job = queue_job(created=-10)
    scheduler.claim_job("w1", now=at(1))
    scheduler.retire_worker("w1", now=at(5))
    worker = Worker.objects.get()
    assert (worker.status, worker.current_load) == (WorkerStatus.INACTIVE, 0)
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
    assert WorkerAssignment.objects.get().outcome == "interrupted"


def test_set_worker_status_errors():
    assert scheduler.set_worker_status("missing", WorkerStatus.MAINTENANCE) is None
    register("w1", now=0)
    with pytest.raises(ValueError, match="cannot set"):
        scheduler.set_worker_status("w1", WorkerStatus.INACTIVE)
    scheduler.retire_worker("w1")
    with pytest.raises(ValueError, match="inactive"):
        scheduler.set_worker_status("w1", WorkerStatus.ACTIVE)
    assert Worker.objects.get().status == WorkerStatus.INACTIVE
