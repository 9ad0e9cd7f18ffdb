"""`manage.py workers`, `manage.py cancel_job` and run_worker's start-up and idle behaviour."""

import io
import re
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command

from jobs.models import Job, JobStatus
from tests.support import PROJECT_DIR
from workers import scheduler
from workers.models import Worker, WorkerStatus


def run_command(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def queue_job(**fields):
    return Job.objects.create(
        repository_url="https://github.com/acme/app", repository_name="acme/app", **fields
    )


@pytest.mark.django_db
def test_workers_lists_the_pool():
    assert "No workers have registered." in run_command("workers")
    registered = time.monotonic()
    scheduler.register_worker("alpha", hostname="host-a", capacity=3)
    scheduler.register_worker("beta", hostname="host-b")
    job = queue_job()
    scheduler.claim_job("alpha")
    Worker.objects.filter(pk="beta").update(last_heartbeat=0)
    out = run_command("workers")
    since_registered = time.monotonic() - registered
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "HOST", "STATUS", "LOAD", "HEARTBEAT", "RUNNING", "JOBS"]
    alpha = next(line for line in lines if line.startswith("alpha"))
    assert "host-a" in alpha and "active" in alpha and "1/3" in alpha and job.pk in alpha
    # The heartbeat's age in whole seconds: no more than the time since it was written.
    age = int(re.search(r"\b(\d+)s ago", alpha).group(1))
    assert 0 <= age <= since_registered
    beta = next(line for line in lines if line.startswith("beta"))
    assert "presumed dead" in beta and "0/2" in beta
    assert "1 worker(s) taking jobs" in out


@pytest.mark.django_db
def test_workers_says_when_queued_jobs_have_nobody_to_run_them():
    queue_job()
    assert "No worker is running right now" in run_command("workers")


@pytest.mark.django_db
def test_maintenance_and_activate():
    scheduler.register_worker("alpha", hostname="h")
    assert "alpha is now maintenance" in run_command("workers", "--maintenance", "alpha")
    assert Worker.objects.get().status == WorkerStatus.MAINTENANCE
    assert "alpha is now active" in run_command("workers", "--activate", "alpha")
    assert Worker.objects.get().status == WorkerStatus.ACTIVE
    with pytest.raises(CommandError, match="No worker with id 'nope'"):
        call_command("workers", "--maintenance", "nope")
    scheduler.retire_worker("alpha")
    with pytest.raises(CommandError, match="inactive"):
        call_command("workers", "--activate", "alpha")
    assert Worker.objects.get().status == WorkerStatus.INACTIVE


@pytest.mark.django_db
def test_cancel_job_command():
    queued = queue_job()
    assert f"Cancelled job {queued.pk}" in run_command("cancel_job", queued.pk)
    queued.refresh_from_db()
    assert queued.status == JobStatus.CANCELLED and queued.completed_at is not None
    with pytest.raises(CommandError, match="already cancelled"):
        call_command("cancel_job", queued.pk)
    with pytest.raises(CommandError, match="No job with id 'missing'"):
        call_command("cancel_job", "missing")
    done = queue_job(status=JobStatus.COMPLETED)
    with pytest.raises(CommandError, match="already completed"):
        call_command("cancel_job", done.pk)
    assert Job.objects.get(pk=done.pk).status == JobStatus.COMPLETED


# --- run_worker in a child process (no race needed) ------------------------------------------


FAST = {
    "ARENA_HEARTBEAT_INTERVAL": "0.2",
    "ARENA_WORKER_POLL_INTERVAL": "0.1",
    "ARENA_WORKER_DEAD_AFTER": "3",
}


@pytest.mark.django_db(transaction=True)
def test_run_worker_once_on_an_empty_queue_registers_and_exits(manage):
    result = manage("run_worker", "--once", "--worker-id", "solo", "--capacity", "3", env=FAST)
    assert result.returncode == 0, result.stderr
    assert "registered on" in result.stdout and "capacity 3" in result.stdout
    worker = Worker.objects.get(pk="solo")
    assert (worker.status, worker.capacity, worker.current_load) == (
        WorkerStatus.INACTIVE,
        3,
        0,
    )
    assert worker.hostname and worker.pid


@pytest.mark.django_db(transaction=True)
def test_run_worker_rejects_bad_options(manage):
    result = manage("run_worker", "--capacity", "0")
    assert result.returncode != 0
    assert "at least 1" in result.stderr and "Traceback" not in result.stderr
    assert not Worker.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_run_worker_refuses_an_id_alive_elsewhere(manage):
    scheduler.register_worker("taken", hostname="another-host", pid=4242)
    result = manage("run_worker", "--once", "--worker-id", "taken", env=FAST)
    assert result.returncode == 1
    assert "already running on another-host" in result.stderr
    assert Worker.objects.get().hostname == "another-host"


@pytest.mark.django_db(transaction=True)
def test_idle_worker_heartbeats_and_stops_on_sigterm(subprocess_env):
    proc = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "manage.py"), "run_worker", "--worker-id", "idle"],
        env={**subprocess_env, **FAST},
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not Worker.objects.filter(pk="idle").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        first = Worker.objects.get(pk="idle").last_heartbeat
        while Worker.objects.get(pk="idle").last_heartbeat == first:
            assert time.monotonic() < deadline, "no heartbeat"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopping: taking no new jobs" in out and "marked inactive" in out
    assert Worker.objects.get(pk="idle").status == WorkerStatus.INACTIVE
