"""Registration, heartbeats, the maintenance switch and a clean exit."""

import logging
import os

from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.models import Job, JobStatus
from workers.engine.tools.toolchains import runs_elide
from workers.models import Worker, WorkerAssignment, WorkerStatus
from workers.scheduler.base import (
    LIVE_STATUSES,
    AssignmentOutcome,
    fail_running,
    foreground_reason,
    is_foreground,
    lock_worker,
    recover_jobs_of,
    requeue_running,
    retry_when_busy,
)
from workers.signals import toolchains_recorded

logger = logging.getLogger(__name__)


@retry_when_busy
def register_worker(worker_id, *, hostname, capacity=2, pid=None, now=None):
    """Create or re-activate the worker's row and clean up after its previous process.

    A worker that restarts with the same id resumes cleanly: whatever its previous process
    left running is handed back to the queue (or failed after too many attempts) exactly as if
    that process had been reaped. A worker in maintenance stays in maintenance (an operator
    lifts it with `manage.py workers --activate ID`); an inactive one becomes active.
    A `manage.py race` command (is_foreground) registers in maintenance: it heartbeats, so
    that the pool can tell when its process is gone, but never takes a queued job.
    """
    now = now or timezone.now()
    if capacity < 1:
        raise ValueError("capacity must be at least 1")
    with transaction.atomic():
        worker = lock_worker(worker_id)
        if worker is None:
            try:
                with transaction.atomic():
                    return Worker.objects.create(
                        id=worker_id,
                        hostname=hostname,
                        status=(
                            WorkerStatus.MAINTENANCE
                            if is_foreground(worker_id)
                            else WorkerStatus.ACTIVE
                        ),
                        capacity=capacity,
                        current_load=0,
                        last_heartbeat=now,
                        created_at=now,
                        updated_at=now,
                        pid=pid,
                    )
            except IntegrityError:
                worker = lock_worker(worker_id)
        recover_jobs_of(worker_id, f"worker {worker_id} restarted while running it", now)
        status = (
            WorkerStatus.MAINTENANCE
            if worker.status == WorkerStatus.MAINTENANCE or is_foreground(worker_id)
            else WorkerStatus.ACTIVE
        )
        Worker.objects.filter(pk=worker_id).update(
            hostname=hostname,
            status=status,
            capacity=capacity,
            current_load=0,
            last_heartbeat=now,
            updated_at=now,
            pid=pid,
        )
    return Worker.objects.get(pk=worker_id)


def running_elsewhere(worker_id, *, hostname, pid, now=None):
    """The live worker row that another process holds under this id, or None.

    Two processes sharing an id would steal each other's jobs on restart. A row with a fresh
    heartbeat belongs to someone else unless it is this host's and its process is gone.
    """
    now = now or timezone.now()
    worker = Worker.objects.alive(now).filter(pk=worker_id).first()
    if worker is None or (worker.hostname == hostname and worker.pid == pid):
        return None
    if worker.hostname == hostname and worker.pid:
        try:
            os.kill(worker.pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return worker
    return worker


@retry_when_busy
def heartbeat(worker_id, *, now=None):
    """Record that the worker is alive. Returns its status, or None when it was reaped.

    A reaped worker (inactive, or deleted) is not revived by its heartbeat: its races were
    handed to others, so it must stop them and register again.
    """
    now = now or timezone.now()
    updated = Worker.objects.filter(pk=worker_id, status__in=LIVE_STATUSES).update(
        last_heartbeat=now
    )
    if not updated:
        return None
    return Worker.objects.filter(pk=worker_id).values_list("status", flat=True).first()


@retry_when_busy
def set_worker_status(worker_id, status, *, now=None):
    """Put a worker in maintenance or back to active. Returns the worker, None when missing.

    Raises ValueError when activating a worker that is not running (inactive): only its own
    process can bring it back, by registering.
    """
    now = now or timezone.now()
    if status not in (WorkerStatus.ACTIVE, WorkerStatus.MAINTENANCE):
        raise ValueError(f"cannot set a worker to {status!r}")
    with transaction.atomic():
        worker = lock_worker(worker_id)
        if worker is None:
            return None
        if is_foreground(worker_id) and status == WorkerStatus.ACTIVE:
            raise ValueError(f"{worker_id} is a `manage.py race` command; it takes no jobs")
        if worker.status == WorkerStatus.INACTIVE:
            raise ValueError(
                f"worker {worker_id} is inactive (not running); start it with "
                f"`manage.py run_worker --worker-id {worker_id}`"
            )
        Worker.objects.filter(pk=worker_id).update(status=status, updated_at=now)
    return Worker.objects.get(pk=worker_id)


@retry_when_busy
def retire_worker(worker_id, *, now=None):
    """Mark the worker inactive as it exits; hand anything still open back to the queue."""
    now = now or timezone.now()
    with transaction.atomic():
        if lock_worker(worker_id) is None:
            return
        running = Job.objects.filter(worker_id=worker_id, status=JobStatus.RUNNING)
        if is_foreground(worker_id):
            fail_running(running, foreground_reason("it exited before the race ended"), now)
        else:
            requeue_running(running)
        WorkerAssignment.objects.filter(worker_id=worker_id, completed_at__isnull=True).update(
            completed_at=now, outcome=AssignmentOutcome.INTERRUPTED
        )
        Worker.objects.filter(pk=worker_id).update(
            status=WorkerStatus.INACTIVE, current_load=0, updated_at=now
        )


@retry_when_busy
def record_toolchains(worker_id, toolchains, *, now=None):
    """Store what the worker's probe found; runs_elide follows from it. Returns rows updated."""
    now = now or timezone.now()
    updated = Worker.objects.filter(pk=worker_id).update(
        toolchains=toolchains, runs_elide=runs_elide(toolchains), toolchains_probed_at=now
    )
    if updated:
        # A listener's failure (a suite that could not be queued) never fails the probe.
        sent = toolchains_recorded.send_robust(
            sender=Worker, worker_id=worker_id, toolchains=toolchains
        )
        for receiver, error in sent:
            if isinstance(error, Exception):
                logger.error("%s failed on %s's toolchains: %r", receiver, worker_id, error)
    return updated
