"""requeue_job: an operator puts a finished or stuck job back in the queue."""

import datetime

import pytest
from django.utils import timezone

from jobs.models import BuildResult, Job
from workers import scheduler
from workers.models import Worker


@pytest.mark.django_db
def test_requeue_job_rules():
    worker = Worker.objects.create(id="w", hostname="h", last_heartbeat=timezone.now())
    job = Job.objects.create(repository_url="u", repository_name="n")
    with pytest.raises(scheduler.RequeueRefused, match="already queued"):
        scheduler.requeue_job(job.pk)
    Job.objects.filter(pk=job.pk).update(status="running", worker_id="w", attempts=2)
    BuildResult.objects.create(job=job, build_type="elide")
    with pytest.raises(scheduler.RequeueRefused, match="cancel it first"):
        scheduler.requeue_job(job.pk)
    later = timezone.now() + datetime.timedelta(hours=1)  # the worker's heartbeat is stale
    requeued = scheduler.requeue_job(job.pk, now=later)
    assert (requeued.status, requeued.worker_id, requeued.attempts) == ("queued", None, 0)
    assert not requeued.results.exists()
    assert scheduler.requeue_job("missing") is None
    assert Worker.objects.get(pk=worker.pk).current_load == 0
