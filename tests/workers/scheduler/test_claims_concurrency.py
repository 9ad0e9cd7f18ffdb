"""Claims racing each other for real: many threads, each with its own database connection."""

import threading
from collections import Counter

import pytest

from jobs.models import Job, JobStatus
from tests.support import run_in_threads
from workers import scheduler
from workers.models import Worker, WorkerAssignment

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_claims_take_every_job_exactly_once_within_capacity():
    worker_ids = [f"w{i}" for i in range(4)]
    capacity = 2
    for worker_id in worker_ids:
        scheduler.register_worker(worker_id, hostname="h", capacity=capacity)
    Job.objects.bulk_create(
        Job(repository_url="https://github.com/a/b", repository_name="a/b") for _ in range(40)
    )
    claimed = []
    over_capacity = []
    lock = threading.Lock()

    def record_and_finish(worker_id, job_id):
        """Note the claim and the worker's load right after it, then end the race."""
        load = Worker.objects.get(pk=worker_id).current_load
        with lock:
            claimed.append(job_id)
            if load > capacity:
                over_capacity.append((worker_id, load))
        Job.objects.filter(pk=job_id).update(status=JobStatus.COMPLETED)
        scheduler.release_job(worker_id, job_id, "completed")

    def claim_loop(worker_id):
        """Claim until the queue is empty; a refused claim while jobs wait beats and retries."""
        while True:
            claim = scheduler.claim_job(worker_id)
            if claim is not None:
                record_and_finish(worker_id, claim.job.pk)
            elif Job.objects.filter(status=JobStatus.QUEUED).exists():
                scheduler.heartbeat(worker_id)
            else:
                return

    # Two threads per worker id: claims of one worker race each other too.
    run_in_threads([(claim_loop, worker_id) for worker_id in worker_ids * 2], timeout=60)
    assert len(claimed) == 40 and len(set(claimed)) == 40
    assert over_capacity == []
    assert set(Job.objects.values_list("attempts", flat=True)) == {1}
    per_job = Counter(WorkerAssignment.objects.values_list("job_id", flat=True))
    assert set(per_job.values()) == {1} and len(per_job) == 40
    assert set(Worker.objects.values_list("current_load", flat=True)) == {0}
