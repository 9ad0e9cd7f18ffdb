"""Requeue: an operator puts a finished or stuck job back in the queue (the admin's action)."""

from django.db import transaction
from django.utils import timezone

from jobs.models import VERDICT_FIELDS, BuildResult, Job, JobStatus
from workers.models import Worker, WorkerAssignment
from workers.scheduler.base import AssignmentOutcome


class RequeueRefused(Exception):
    """The job cannot go back to the queue (already queued, or running on a live worker)."""


def requeue_job(job_id, *, now=None):
    """Put a finished or stuck job back in the queue. Returns the job, or None when missing.

    A stuck job is one still `running` whose worker is gone (no row, or no heartbeat for
    ARENA_WORKER_DEAD_AFTER seconds); a job running on a live worker must be cancelled first,
    so that two workers never build it at once. The old results are deleted, the worker and
    timings cleared, attempts reset, and any open assignment closed as "requeued".
    Raises RequeueRefused with the reason otherwise.
    """
    now = now or timezone.now()
    with transaction.atomic():
        job = Job.objects.filter(pk=str(job_id)).first()
        if job is None:
            return None
        if job.status == JobStatus.QUEUED:
            raise RequeueRefused(f"Job {job.pk} is already queued.")
        if job.status == JobStatus.RUNNING and (
            job.worker_id and Worker.objects.alive(now).filter(pk=job.worker_id).exists()
        ):
            raise RequeueRefused(
                f"Job {job.pk} is running on live worker {job.worker_id}; cancel it first."
            )
        updated = Job.objects.filter(pk=job.pk, status=job.status).update(
            status=JobStatus.QUEUED,
            worker_id=None,
            started_at=None,
            completed_at=None,
            attempts=0,
            error="",
            commit_sha="",
            **{**dict.fromkeys(VERDICT_FIELDS), "void_reason": ""},
        )
        if not updated:
            raise RequeueRefused(f"Job {job.pk} changed while being requeued; try again.")
        BuildResult.objects.filter(job_id=job.pk).delete()
        WorkerAssignment.objects.filter(job_id=job.pk, completed_at__isnull=True).update(
            completed_at=now, outcome=AssignmentOutcome.REQUEUED
        )
    job.refresh_from_db()
    return job
