"""Dead workers: reaping, recovering their jobs, deleting old rows."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jobs.models import Job, JobStatus
from workers.models import Worker, WorkerStatus
from workers.scheduler.base import (
    LIVE_STATUSES,
    dead_before,
    lock_worker,
    recover_jobs_of,
    recover_running,
    retry_when_busy,
)


@dataclass
class Maintenance:
    reaped: list  # ids of workers marked inactive
    requeued: list  # job ids handed back to the queue
    failed: list  # job ids failed after their last attempt
    deleted: int  # inactive worker rows removed after the retention period


@retry_when_busy
def _reap_one(worker_id, now):
    with transaction.atomic():
        worker = lock_worker(worker_id)
        stale = dead_before(now)
        if (
            worker is None
            or worker.status not in LIVE_STATUSES
            or (worker.last_heartbeat or worker.updated_at) >= stale
        ):
            return None  # someone else reaped it, or it came back
        age = int((now - (worker.last_heartbeat or worker.updated_at)).total_seconds())
        reason = f"worker {worker_id} stopped responding (no heartbeat for {age} s)"
        requeued, failed = recover_jobs_of(worker_id, reason, now)
        Worker.objects.filter(pk=worker_id).update(
            status=WorkerStatus.INACTIVE, current_load=0, updated_at=now
        )
        return requeued, failed


@retry_when_busy
def _recover_orphans(now):
    """Running jobs whose worker row is inactive or gone (never left running forever)."""
    live_ids = Worker.objects.filter(status__in=LIVE_STATUSES).values("pk")
    orphans = Job.objects.filter(status=JobStatus.RUNNING).exclude(worker_id__in=live_ids)
    # Read first: every worker runs this at every heartbeat, and on SQLite a transaction
    # takes the write lock even when there is nothing to write.
    if not orphans.exists():
        return [], []
    with transaction.atomic():
        return recover_running(orphans, "its worker is gone", now)


def reap_dead_workers(*, now=None):
    """Mark workers without a fresh heartbeat inactive and recover their jobs."""
    now = now or timezone.now()
    stale = dead_before(now)
    # Uses workers_status_heartbeat_idx: WHERE status IN (...) AND last_heartbeat < %s
    candidates = Worker.objects.filter(status__in=LIVE_STATUSES).filter(
        Q(last_heartbeat__lt=stale) | Q(last_heartbeat__isnull=True, updated_at__lt=stale)
    )
    result = _nothing_done()
    for worker_id in candidates.values_list("pk", flat=True):
        recovered = _reap_one(worker_id, now)
        if recovered is not None:
            result.reaped.append(worker_id)
            result.requeued += recovered[0]
            result.failed += recovered[1]
    return _with_orphans_recovered(result, now)


def _nothing_done():
    return Maintenance(reaped=[], requeued=[], failed=[], deleted=0)


def _with_orphans_recovered(result, now):
    requeued, failed = _recover_orphans(now)
    result.requeued += requeued
    result.failed += failed
    return result


@retry_when_busy
def delete_retired_workers(*, now=None):
    """Delete workers inactive for longer than ARENA_WORKER_RETENTION; jobs keep worker_id."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.ARENA_WORKER_RETENTION)
    retired = Worker.objects.filter(status=WorkerStatus.INACTIVE, updated_at__lt=cutoff)
    if not retired.exists():  # read first, as above
        return 0
    _, per_model = retired.delete()
    return per_model.get(Worker._meta.label, 0)


def maintain_pool(*, now=None, reap=True):
    """The housekeeping every live worker runs with its heartbeat: reap (unless the worker's
    own heartbeat was just held up: WorkerLoop.note_own_stall), then clean up."""
    if reap:
        result = reap_dead_workers(now=now)
    else:  # a worker's orphaned races are still recovered: that worker is known gone
        result = _with_orphans_recovered(_nothing_done(), now or timezone.now())
    result.deleted = delete_retired_workers(now=now)
    return result
