"""Races started by `manage.py race` are never taken over by the pool; a dead command's race
fails with the reason instead of going back to the queue."""

import datetime
import os
import signal
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from jobs.models import BuildResult, BuildStatus, Job, JobStatus
from tests.repos import make_git_repo, maven_project_files
from tests.support import PROJECT_DIR, require_tool
from workers import scheduler
from workers.models import Worker, WorkerStatus

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


def foreground_job(worker_id, **fields):
    return Job.objects.create(
        repository_url="https://github.com/acme/app",
        repository_name="acme/app",
        status=JobStatus.RUNNING,
        worker_id=worker_id,
        attempts=1,
        created_at=at(0),
        started_at=at(0),
        standard_cmd=["./deploy-something"],
        **fields,
    )


@pytest.fixture(autouse=True)
def pool_settings(settings):
    settings.ARENA_WORKER_DEAD_AFTER = 30
    settings.ARENA_JOB_MAX_ATTEMPTS = 2
    return settings


@pytest.mark.django_db
def test_a_dead_race_command_fails_its_job_and_the_pool_never_reruns_it():
    scheduler.register_worker("pool-1", hostname="h1", now=at(0))
    command = scheduler.register_worker("race@h2:4242", hostname="h2", capacity=1, now=at(0))
    assert command.status == WorkerStatus.MAINTENANCE
    job = foreground_job("race@h2:4242")
    BuildResult.objects.create(job=job, build_type="standard", output="half a build")

    # While the command beats, the pool leaves its race alone and never claims it.
    scheduler.heartbeat("pool-1", now=at(25))
    scheduler.heartbeat("race@h2:4242", now=at(25))
    assert scheduler.maintain_pool(now=at(40)).failed == []
    assert scheduler.claim_job("pool-1", now=at(40)) is None

    scheduler.heartbeat("pool-1", now=at(60))
    result = scheduler.maintain_pool(now=at(60))
    assert result.reaped == ["race@h2:4242"]
    assert (result.requeued, result.failed) == ([], [job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.worker_id == "race@h2:4242"
    assert "the `manage.py race` command running it is gone" in job.error
    assert "stopped responding (no heartbeat for 35 s)" in job.error
    side = BuildResult.objects.get()
    assert side.status == BuildStatus.FAILURE and side.output == "half a build"
    assert scheduler.claim_job("pool-1", now=at(61)) is None


@pytest.mark.django_db
def test_a_race_command_without_a_worker_row_is_failed_not_requeued():
    job = foreground_job("race@old-host")
    result = scheduler.reap_dead_workers(now=at(1))
    assert (result.requeued, result.failed) == ([], [job.pk])
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED


@pytest.mark.django_db
def test_a_race_command_that_exits_early_fails_its_job_and_cannot_be_activated():
    scheduler.register_worker("race@h:7", hostname="h", capacity=1, now=at(0))
    job = foreground_job("race@h:7")
    with pytest.raises(ValueError, match="takes no jobs"):
        scheduler.set_worker_status("race@h:7", WorkerStatus.ACTIVE)
    scheduler.retire_worker("race@h:7", now=at(5))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "exited before the race ended" in job.error


@pytest.mark.django_db(transaction=True)
def test_run_worker_refuses_a_race_command_id(manage):
    done = manage("run_worker", "--worker-id", "race@somewhere", "--once")
    assert done.returncode != 0 and "belong to `manage.py race` commands" in done.stderr
    assert not Worker.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_killed_race_command_is_noticed_and_its_job_failed(subprocess_env, tmp_path):
    require_tool("bwrap", "builds run in the sandbox")
    repo = make_git_repo(tmp_path / "hello-maven", maven_project_files())
    env = {
        **subprocess_env,
        "ARENA_WORKSPACE_ROOT": str(tmp_path / "workspaces"),
        "ARENA_HEARTBEAT_INTERVAL": "0.3",
    }
    argv = [sys.executable, str(PROJECT_DIR / "manage.py"), "race", str(repo),
            "--standard-cmd", "sleep 60", "--elide-cmd", "sleep 60"]  # fmt: skip
    command = subprocess.Popen(
        argv, env=env, cwd=PROJECT_DIR, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not BuildResult.objects.filter(status=BuildStatus.PENDING).exists():
            assert command.poll() is None, command.stderr.read().decode()
            assert time.monotonic() < deadline, "the race never started building"
            time.sleep(0.1)
        job = Job.objects.get()
        worker = Worker.objects.get(pk=job.worker_id)
        assert job.worker_id.startswith("race@") and worker.pid == command.pid
        assert worker.status == WorkerStatus.MAINTENANCE
        beat = worker.last_heartbeat
        time.sleep(1.5)
        assert Worker.objects.get(pk=job.worker_id).last_heartbeat > beat  # it beats
    finally:
        os.killpg(command.pid, signal.SIGKILL)
        command.wait(timeout=30)

    later = timezone.now() + datetime.timedelta(seconds=31)
    result = scheduler.maintain_pool(now=later)
    assert result.failed == [job.pk] and result.requeued == []
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "the `manage.py race` command running it is gone" in job.error
