"""Shared pieces of the scheduler: outcomes, busy retries, load bookkeeping, job recovery."""

import datetime
import functools
import logging
import time

from django.conf import settings
from django.db import OperationalError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from jobs.models import BuildResult, BuildStatus, ErrorKind, Job, JobStatus, Verdict
from jobs.outcomes import vocabulary
from workers.models import (  # noqa: F401 (the scheduler's names for race commands)
    FOREGROUND_PREFIX,
    Worker,
    WorkerAssignment,
    WorkerStatus,
    is_foreground,
)

logger = logging.getLogger(__name__)


class AssignmentOutcome:
    """How an assignment ended (worker_assignments.outcome)."""

    COMPLETED = vocabulary.COMPLETED  # run_job's own results: the job row says the rest
    FAILED = vocabulary.FAILED
    CANCELLED = vocabulary.CANCELLED
    INTERRUPTED = (
        vocabulary.INTERRUPTED
    )  # the worker stopped the race; the job went back to the queue
    ERROR = "error"  # run_job raised: the job is failed with the error
    LOST = "lost"  # the worker died (no heartbeat) or restarted while running it
    REQUEUED = "requeued"  # an operator put the job back in the queue (requeue.py)


LIVE_STATUSES = (WorkerStatus.ACTIVE, WorkerStatus.MAINTENANCE)


def foreground_reason(reason):
    return (
        f"the `manage.py race` command running it is gone ({reason}); "
        "a foreground race is never rerun by the pool"
    )


BUSY_RETRIES = 5


def retry_when_busy(func):
    """Retry a transaction that failed on a lock (SQLite busy, PostgreSQL deadlock)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(BUSY_RETRIES):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                message = str(exc).lower()
                retriable = "locked" in message or "deadlock" in message or "busy" in message
                if not retriable or attempt == BUSY_RETRIES - 1:
                    raise
                logger.warning("%s: %s; retrying", func.__name__, exc)
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    return wrapper


def dead_before(now):
    """Heartbeats older than this mean the worker is presumed dead."""
    return now - datetime.timedelta(seconds=settings.ARENA_WORKER_DEAD_AFTER)


def claim_defer_window():
    """How long a new job may wait for a less-loaded worker to take it.

    Compared with created_at, which is rounded down to the second, so a job may look up to a
    second older than it is: 2 s + 4 poll intervals (4 s by default) gives every idle worker
    at least a second and several polls to look at the queue, while a worker that is alive
    but not polling holds a job back for seconds, not forever.
    """
    return datetime.timedelta(seconds=2 + 4 * settings.ARENA_WORKER_POLL_INTERVAL)


def sync_load(worker_id):
    """current_load = the worker's open assignments, in one UPDATE (never drifts)."""
    open_count = (
        WorkerAssignment.objects.filter(worker_id=OuterRef("pk"), completed_at__isnull=True)
        .order_by()
        .values("worker_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    Worker.objects.filter(pk=worker_id).update(current_load=Coalesce(Subquery(open_count), 0))


def lock_worker(worker_id):
    """The worker row, locked on PostgreSQL (SQLite's IMMEDIATE transaction already is)."""
    return Worker.objects.select_for_update().filter(pk=worker_id).first()


def requeue_running(jobs):
    """Put running jobs back in the queue (their attempt counter keeps counting)."""
    return jobs.update(
        status=JobStatus.QUEUED, worker_id=None, started_at=None, completed_at=None, error=""
    )


def fail_running(jobs, reason, now):
    """Fail running jobs with a reason; their unfinished sides fail with it too."""
    job_ids = list(jobs.values_list("pk", flat=True))
    if not job_ids:
        return 0
    failed = jobs.update(
        status=JobStatus.FAILED,
        error=reason,
        completed_at=now,
        verdict=Verdict.VOID,
        void_reason=reason,
    )
    BuildResult.objects.filter(job_id__in=job_ids, status=BuildStatus.PENDING).update(
        status=BuildStatus.FAILURE,
        error=reason,
        error_kind=ErrorKind.INFRASTRUCTURE,
        finished_at=now,
    )
    return failed


def recover_jobs_of(worker_id, reason, now):
    """Close a gone process's assignments; requeue its running jobs, or fail them at the limit.

    Returns (requeued ids, failed ids). Call inside a transaction holding the worker row.
    """
    WorkerAssignment.objects.filter(worker_id=worker_id, completed_at__isnull=True).update(
        completed_at=now, outcome=AssignmentOutcome.LOST
    )
    return recover_running(Job.objects.filter(worker_id=worker_id), reason, now)


def recover_running(jobs, reason, now):
    running = jobs.filter(status=JobStatus.RUNNING)
    foreground = running.filter(worker_id__startswith=FOREGROUND_PREFIX)
    foreground_ids = list(foreground.values_list("pk", flat=True))
    if foreground_ids:
        fail_running(foreground, foreground_reason(reason), now)
        running = running.exclude(pk__in=foreground_ids)
    limit = settings.ARENA_JOB_MAX_ATTEMPTS
    retry = running.filter(attempts__lt=limit)
    give_up = running.filter(attempts__gte=limit)
    requeued = list(retry.values_list("pk", flat=True))
    failed = list(give_up.values_list("pk", flat=True))
    for job_id, attempts in give_up.values_list("pk", "attempts"):
        fail_running(
            Job.objects.filter(pk=job_id, status=JobStatus.RUNNING),
            f"{reason} (attempt {attempts} of {limit}); not retried again",
            now,
        )
    requeue_running(Job.objects.filter(pk__in=requeued, status=JobStatus.RUNNING))
    return requeued, failed + foreground_ids
