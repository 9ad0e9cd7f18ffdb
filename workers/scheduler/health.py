"""What the pages, the API and `manage.py workers` show about the pool."""

from dataclasses import dataclass

from django.utils import timezone

from jobs.models import Job, JobStatus
from workers.models import Worker, WorkerStatus
from workers.scheduler.base import (
    LIVE_STATUSES,
    dead_before,
)


@dataclass(frozen=True)
class PoolHealth:
    alive: int  # workers with a fresh heartbeat (active or in maintenance)
    accepting: int  # alive, active workers (they will take queued jobs)
    capacity: int  # total capacity of the accepting workers
    load: int  # races they run now
    queued: int  # jobs waiting

    @property
    def has_live_workers(self):
        return self.accepting > 0

    @property
    def waiting_message(self):
        """Why queued jobs will not start, or "" when a worker will take them."""
        if self.accepting:
            return ""
        if self.alive:
            return "Every worker is in maintenance: queued races start when one is activated."
        return "No worker is running right now: queued races start when a worker comes online."


def pool_health(*, now=None):
    """Numbers for the pages, the API and /api/status. Two queries."""
    now = now or timezone.now()
    alive = list(Worker.objects.pool().alive(now).values_list("status", "capacity", "current_load"))
    accepting = [row for row in alive if row[0] == WorkerStatus.ACTIVE]
    return PoolHealth(
        alive=len(alive),
        accepting=len(accepting),
        capacity=sum(row[1] for row in accepting),
        load=sum(row[2] for row in accepting),
        queued=Job.objects.filter(status=JobStatus.QUEUED).count(),
    )


def no_live_workers(*, now=None):
    """True when no live, active worker would take a queued job."""
    now = now or timezone.now()
    return not Worker.objects.pool().alive(now).filter(status=WorkerStatus.ACTIVE).exists()


def describe_pool(*, now=None):
    """Every worker with its heartbeat age and running job ids, for `manage.py workers`."""
    now = now or timezone.now()
    workers = list(Worker.objects.order_by("id"))
    running = {}
    for worker_id, job_id in Job.objects.filter(status=JobStatus.RUNNING).values_list(
        "worker_id", "pk"
    ):
        running.setdefault(worker_id, []).append(job_id)
    stale = dead_before(now)
    for worker in workers:
        worker.heartbeat_age = (
            None
            if worker.last_heartbeat is None
            else max(0, int((now - worker.last_heartbeat).total_seconds()))
        )
        worker.presumed_dead = worker.status in LIVE_STATUSES and (
            worker.last_heartbeat is None or worker.last_heartbeat < stale
        )
        worker.running_job_ids = sorted(running.get(worker.id, []))
    return workers
