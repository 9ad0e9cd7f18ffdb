"""Taking a queued job (least-loaded, within capacity, exactly once) and giving it back."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Max, OuterRef, Subquery
from django.db.models.lookups import LessThan
from django.utils import timezone

from jobs.models import Job, JobStatus
from workers.models import Worker, WorkerAssignment, WorkerStatus
from workers.scheduler.base import (
    AssignmentOutcome,
    claim_defer_window,
    dead_before,
    fail_running,
    lock_worker,
    requeue_running,
    retry_when_busy,
    sync_load,
)


@dataclass(frozen=True)
class Claim:
    job: Job
    assignment: WorkerAssignment
    load: int
    capacity: int


def _may_take_jobs(worker, now):
    return (
        worker.status == WorkerStatus.ACTIVE
        and worker.last_heartbeat is not None
        and worker.last_heartbeat >= dead_before(now)
        and worker.current_load < worker.capacity
    )


def _peers_with_room(worker, now):
    return (
        Worker.objects.alive(now)
        .filter(status=WorkerStatus.ACTIVE, current_load__lt=F("capacity"))
        .exclude(pk=worker.pk)
    )


def fair_queue_order(queued):
    """Priority first (suite races, priority 1, wait while any public race is queued), then
    round-robin across clients: the client whose last race started longest ago (or never)
    goes first, then the oldest job. One client's burst of submissions cannot keep the others
    waiting; jobs without a client (operators') form one client of their own."""
    last_turn = (
        Job.objects.filter(client_key=OuterRef("client_key"))
        .order_by()
        .values("client_key")
        .annotate(last=Max("started_at"))
        .values("last")
    )
    return queued.annotate(client_last_turn=Subquery(last_turn)).order_by(
        "priority", F("client_last_turn").asc(nulls_first=True), "created_at", "id"
    )


def _better_peer_exists(worker, now):
    """Should this worker leave a young job to a peer?

    A worker that cannot run Elide leaves it to any live, active peer with room that can (so
    the race is not void for want of a toolchain). Among workers alike in that, the job goes
    to the least loaded (load/capacity).
    """
    peers = _peers_with_room(worker, now)
    if not worker.runs_elide and peers.filter(runs_elide=True).exists():
        return True
    if worker.runs_elide:
        peers = peers.filter(runs_elide=True)
    # other.load / other.capacity < mine, compared without division
    return peers.filter(
        LessThan(F("current_load") * worker.capacity, F("capacity") * worker.current_load)
    ).exists()


@retry_when_busy
def claim_job(worker_id, *, now=None):
    """Take the next queued job for this worker (fair_queue_order), or return None.

    The job goes to a live worker that can run both sides (one whose toolchain probe found
    elide), the least loaded of those: a worker that sees a better peer leaves a young job
    to it (see claim_defer_window). Never two workers on one job (the job
    row is locked, FOR UPDATE SKIP LOCKED on PostgreSQL, and updated only while still
    queued), never a worker above capacity (its own row is locked and checked in the same
    transaction).
    """
    now = now or timezone.now()
    # Cheap read first: an idle worker polling an empty queue takes no write lock.
    # Uses jobs_queued_idx: WHERE status = 'queued' ORDER BY created_at, id
    if not Job.objects.filter(status=JobStatus.QUEUED).exists():
        return None
    with transaction.atomic():
        worker = lock_worker(worker_id)
        if worker is None or not _may_take_jobs(worker, now):
            return None
        job = fair_queue_order(
            Job.objects.select_for_update(skip_locked=True).filter(status=JobStatus.QUEUED)
        ).first()
        if job is None:
            return None
        if job.created_at > now - claim_defer_window() and _better_peer_exists(worker, now):
            return None
        taken = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING,
            worker_id=worker_id,
            started_at=now,
            completed_at=None,
            error="",
            attempts=F("attempts") + 1,
        )
        if not taken:
            return None
        assignment = WorkerAssignment.objects.create(job=job, worker=worker, assigned_at=now)
        sync_load(worker_id)
    job.refresh_from_db()
    return Claim(
        job=job, assignment=assignment, load=worker.current_load + 1, capacity=worker.capacity
    )


@retry_when_busy
def release_job(worker_id, job_id, outcome, *, now=None):
    """Close the worker's assignment of a job after its race returned `outcome`.

    "interrupted" puts the job back in the queue (only if it is still this worker's running
    job: a cancelled or reaped job is never overwritten). Any other outcome that left the job
    `running` is a bug in the race; the job is failed rather than left running forever.
    Returns the job's status afterwards.
    """
    now = now or timezone.now()
    with transaction.atomic():
        lock_worker(worker_id)
        WorkerAssignment.objects.filter(
            worker_id=worker_id, job_id=job_id, completed_at__isnull=True
        ).update(completed_at=now, outcome=outcome)
        mine = Job.objects.filter(pk=job_id, worker_id=worker_id, status=JobStatus.RUNNING)
        if outcome == AssignmentOutcome.INTERRUPTED:
            requeue_running(mine)
        else:
            fail_running(mine, f"the race ended ({outcome}) without recording a final status", now)
        sync_load(worker_id)
    return Job.objects.filter(pk=job_id).values_list("status", flat=True).first()


@retry_when_busy
def fail_job(worker_id, job_id, reason, *, now=None):
    """Fail this worker's running job with a reason (internal error while running it)."""
    now = now or timezone.now()
    with transaction.atomic():
        fail_running(
            Job.objects.filter(pk=job_id, worker_id=worker_id, status=JobStatus.RUNNING),
            reason,
            now,
        )
