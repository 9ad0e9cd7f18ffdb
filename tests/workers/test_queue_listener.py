"""Idle workers hear of a queued job at once on PostgreSQL (LISTEN/NOTIFY); SQLite polls."""

import threading

import pytest
from django.db import connection

from jobs.models import Job, JobStatus
from jobs.submissions.services import create_job
from workers.queue_listener import start_queue_listener
from workers.scheduler import requeue_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_queued_job_wakes_the_listener_at_commit_on_postgresql_only():
    wake = threading.Event()
    listener = start_queue_listener(wake, log=lambda line: None)
    if connection.vendor != "postgresql":
        # No notifications in SQLite: workers find new jobs by polling.
        assert listener is None
        return
    try:
        assert listener.listening.wait(10)
        wake.wait(2)  # the wake-up every (re)connection gives
        wake.clear()

        Job.objects.create(repository_url="u", repository_name="r", status=JobStatus.RUNNING)
        assert not wake.wait(1.5), "a job that was not queued woke the workers"

        job = create_job("https://github.com/acme/app")
        assert wake.wait(5), "a new job did not wake the workers"
        wake.clear()

        Job.objects.filter(pk=job.pk).update(status=JobStatus.COMPLETED)
        assert not wake.wait(1.5)
        requeue_job(job.pk)
        assert wake.wait(5), "a requeued job did not wake the workers"
    finally:
        listener.stop()
    assert not listener.thread.is_alive()


def test_a_notification_is_sent_only_when_the_transaction_commits():
    from django.db import transaction

    wake = threading.Event()
    listener = start_queue_listener(wake, log=lambda line: None)
    if listener is None:
        assert connection.vendor == "sqlite"
        return
    try:
        assert listener.listening.wait(10)
        wake.wait(2)
        wake.clear()
        with transaction.atomic():
            create_job("https://github.com/acme/app")
            assert not wake.wait(1.0), "notified before the job was committed"
        assert wake.wait(5)
    finally:
        listener.stop()
