"""The WorkerLoop class's unit methods, in-process, with races held open on demand.

`HeldRun` stands in for workers.recording.run_job so that a test can look at a worker while
a race is in flight and decide when it ends; it writes the job row the way run_job does
(conditional UPDATE while the job is still running). The real run_job with real processes is
exercised in tests/system/test_worker_processes.py.
"""

import signal
import threading
import time

import pytest
from django.db import connection

from jobs.models import Job, JobStatus
from jobs.submissions.services import cancel_job
from tests.support import wait_until
from workers import scheduler
from workers.models import Worker, WorkerAssignment, WorkerStatus
from workers.worker import WorkerLoop

pytestmark = pytest.mark.django_db(transaction=True)


class HeldRun:
    """run_job stand-in: blocks until `finish(job_id)` or the stop event, like a real race."""

    def __init__(self, error=None):
        self.started = {}
        self.finish_events = {}
        self.error = error
        self.lock = threading.Lock()

    def __call__(self, job_id, *, stop=None, log=None):
        with self.lock:
            finish = self.finish_events.setdefault(job_id, threading.Event())
            self.started[job_id] = threading.Event()
        self.started[job_id].set()
        try:
            if self.error:
                raise self.error
            while not finish.is_set():
                if stop.wait(0.02):
                    return "interrupted"
                status = Job.objects.filter(pk=job_id).values_list("status", flat=True).first()
                if status == JobStatus.CANCELLED:
                    return "cancelled"
            log("both sides finished")
            Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
                status=JobStatus.COMPLETED
            )
            return "completed"
        finally:
            connection.close()

    def wait_started(self, job_id, timeout=5):
        deadline = time.monotonic() + timeout
        while job_id not in self.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.started[job_id].wait(timeout)

    def finish(self, job_id):
        with self.lock:
            self.finish_events.setdefault(job_id, threading.Event()).set()


@pytest.fixture
def worker_settings(settings):
    settings.ARENA_HEARTBEAT_INTERVAL = 3600  # tests call beat() themselves
    settings.ARENA_WORKER_POLL_INTERVAL = 0.05
    settings.ARENA_WORKER_GRACE_PERIOD = 60
    settings.ARENA_WORKER_DEAD_AFTER = 30
    return settings


def make_worker(run, lines=None, **kwargs):
    kwargs.setdefault("capacity", 2)
    write = lines.append if lines is not None else (lambda line: None)
    worker = WorkerLoop("w1", hostname="test-host", run_job=run, write=write, **kwargs)
    worker.start()
    return worker


def queue_jobs(count):
    jobs = [
        Job.objects.create(repository_url="https://github.com/a/b", repository_name="a/b")
        for _ in range(count)
    ]
    return [job.pk for job in jobs]


def row():
    return Worker.objects.get(pk="w1")


def running_one_race():
    """A registered worker whose one race is held open; its run() will not register again."""
    run = HeldRun()
    worker = make_worker(run)
    (job_id,) = queue_jobs(1)
    assert worker.tick()
    run.wait_started(job_id)
    worker.start = lambda: None
    return worker, run, job_id


def test_claims_up_to_capacity_and_load_follows_running_races(worker_settings):
    run = HeldRun()
    lines = []
    worker = make_worker(run, lines)
    queue_jobs(3)
    assert worker.tick() is True
    assert worker.tick() is True
    assert worker.tick() is False  # full
    assert worker.running == 2 and row().current_load == 2
    running = set(Job.objects.filter(status=JobStatus.RUNNING).values_list("pk", flat=True))
    assert len(running) == 2

    done = sorted(running)[0]
    run.wait_started(done)
    run.finish(done)
    assert wait_until(lambda: worker.running == 1)
    assert row().current_load == 1
    assignment = WorkerAssignment.objects.get(job_id=done)
    assert assignment.outcome == "completed" and assignment.completed_at is not None
    assert Job.objects.get(pk=done).status == JobStatus.COMPLETED
    assert worker.tick() is True  # room again: takes the third job
    assert row().current_load == 2
    assert any("took job" in line and "load 1/2" in line for line in lines)
    assert any(f"job {done}: both sides finished" in line for line in lines)

    worker.stop_races()
    assert wait_until(lambda: worker.running == 0)
    assert row().current_load == 0
    assert Job.objects.filter(status=JobStatus.QUEUED).count() == 2


def test_first_signal_drains_then_exits_zero_inactive(worker_settings):
    worker, run, job_id = running_one_race()
    queue_jobs(1)

    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("status", worker.run()))
    worker.handle_signal(signal.SIGTERM)
    thread.start()
    assert wait_until(lambda: row().status == WorkerStatus.MAINTENANCE)
    time.sleep(0.2)
    assert thread.is_alive()  # still waiting for the race
    assert Job.objects.filter(status=JobStatus.QUEUED).count() == 1  # took nothing new
    run.finish(job_id)
    thread.join(5)
    assert result == {"status": 0}
    assert row().status == WorkerStatus.INACTIVE and row().current_load == 0
    assert Job.objects.get(pk=job_id).status == JobStatus.COMPLETED


def test_grace_period_over_stops_and_requeues(worker_settings):
    worker_settings.ARENA_WORKER_GRACE_PERIOD = 0.2
    worker, _, job_id = running_one_race()
    worker.handle_signal(signal.SIGINT)
    assert worker.run() == 0
    job = Job.objects.get(pk=job_id)
    assert (job.status, job.worker_id, job.attempts) == (JobStatus.QUEUED, None, 1)
    assert WorkerAssignment.objects.get().outcome == "interrupted"
    assert row().status == WorkerStatus.INACTIVE


def test_second_signal_stops_at_once(worker_settings):
    worker, _, job_id = running_one_race()
    worker.handle_signal(signal.SIGTERM)
    worker.handle_signal(signal.SIGTERM)
    started = time.monotonic()
    assert worker.run() == 128 + signal.SIGTERM
    assert time.monotonic() - started < 5
    assert Job.objects.get(pk=job_id).status == JobStatus.QUEUED
    assert row().status == WorkerStatus.INACTIVE and row().current_load == 0


def test_cancelled_race_is_released_and_stays_cancelled(worker_settings):
    worker, _, job_id = running_one_race()
    cancel_job(job_id)
    assert wait_until(lambda: worker.running == 0)
    assert Job.objects.get(pk=job_id).status == JobStatus.CANCELLED
    assert WorkerAssignment.objects.get().outcome == "cancelled"
    assert row().current_load == 0


def test_a_crashing_race_fails_its_job_with_the_reason(worker_settings):
    worker = make_worker(HeldRun(error=RuntimeError("disk on fire")))
    (job_id,) = queue_jobs(1)
    worker.tick()
    assert wait_until(lambda: worker.running == 0)
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.FAILED and "disk on fire" in job.error
    assert WorkerAssignment.objects.get().outcome == "error"
    assert row().current_load == 0


def test_maintenance_is_seen_at_the_next_heartbeat(worker_settings):
    worker = make_worker(HeldRun())
    queue_jobs(1)
    scheduler.set_worker_status("w1", WorkerStatus.MAINTENANCE)
    worker.beat()
    assert worker.in_maintenance and worker.tick() is False
    scheduler.set_worker_status("w1", WorkerStatus.ACTIVE)
    worker.beat()
    assert worker.tick() is True
    worker.stop_races()
    assert wait_until(lambda: worker.running == 0)


def test_max_jobs_and_once(worker_settings):
    run = HeldRun()
    worker = make_worker(run, max_jobs=1)
    for job_id in queue_jobs(2):
        run.finish(job_id)
    worker.start = lambda: None
    assert worker.run() == 0
    assert worker.taken == 1
    assert Job.objects.filter(status=JobStatus.QUEUED).count() == 1

    run = HeldRun()
    worker = make_worker(run, once=True)
    worker.start = lambda: None
    for job_id in Job.objects.filter(status=JobStatus.QUEUED).values_list("pk", flat=True):
        run.finish(job_id)
    assert worker.run() == 0
    assert not Job.objects.filter(status=JobStatus.QUEUED).exists()


def test_a_worker_reaped_while_alive_stops_its_copies_and_rejoins(worker_settings):
    run = HeldRun()
    lines = []
    worker = make_worker(run, lines)
    (job_id,) = queue_jobs(1)
    worker.tick()
    run.wait_started(job_id)
    # The machine froze for a minute: the pool gave up on this worker.
    Worker.objects.filter(pk="w1").update(last_heartbeat=0)
    scheduler.reap_dead_workers()
    assert Job.objects.get(pk=job_id).status == JobStatus.QUEUED
    worker.beat()
    assert worker.running == 0 and row().status == WorkerStatus.ACTIVE
    assert any("marked inactive by the pool" in line for line in lines)
    job = Job.objects.get(pk=job_id)
    assert (job.status, job.worker_id) == (JobStatus.QUEUED, None)  # left for the queue
    assert worker.tick() is True  # and it may take it again
    assert Job.objects.get(pk=job_id).attempts == 2
    worker.stop_races()
    assert wait_until(lambda: worker.running == 0)


def test_housekeeping_reaps_other_dead_workers(worker_settings):
    lines = []
    worker = make_worker(HeldRun(), lines)
    scheduler.register_worker("gone", hostname="elsewhere")
    Worker.objects.filter(pk="gone").update(last_heartbeat=0)
    worker.beat()
    assert Worker.objects.get(pk="gone").status == WorkerStatus.INACTIVE
    assert any("worker gone stopped responding" in line for line in lines)


def test_after_its_own_heartbeat_was_held_up_a_worker_reaps_nobody_for_a_while(
    worker_settings,
):
    """A database stall holds every worker's heartbeat up. The first to get through must not
    take the others, whose heartbeats land a moment later, for dead."""
    now = [1000.0]
    lines = []
    worker = make_worker(HeldRun(), lines, clock=lambda: now[0])
    scheduler.register_worker("other", hostname="elsewhere")
    Worker.objects.filter(pk="other").update(last_heartbeat=0)  # stale by the database's clock
    now[0] += 31  # ARENA_WORKER_DEAD_AFTER is 30: this worker's own heartbeat was held up
    worker.beat()
    assert Worker.objects.get(pk="other").status == WorkerStatus.ACTIVE
    assert any("heartbeat was held up 31 s" in line for line in lines)
    now[0] += 29
    worker.beat()
    assert Worker.objects.get(pk="other").status == WorkerStatus.ACTIVE
    now[0] += 2  # a full ARENA_WORKER_DEAD_AFTER since: a worker still silent is dead
    worker.beat()
    assert Worker.objects.get(pk="other").status == WorkerStatus.INACTIVE
    assert sum("held up" in line for line in lines) == 1


def test_a_real_race_through_the_worker(worker_settings, allow_local_repos, tmp_path):
    """The same unit methods with the real run_job and a fast real recipe."""
    from jobs.models import BuildResult, BuildStatus
    from jobs.submissions.services import create_job
    from tests.repos import make_git_repo

    repo = make_git_repo(tmp_path / "app", {"README.md": "hello\n"})
    build = ["sh", "-c", "echo compiling; sleep 0.3; echo BUILD SUCCESS"]
    job = create_job(str(repo), standard_cmd=build, elide_cmd=build)
    lines = []
    worker = WorkerLoop("w1", hostname="test-host", capacity=1, write=lines.append)
    worker.start()
    assert worker.tick() is True
    assert row().current_load == 1
    assert wait_until(lambda: worker.running == 0, timeout=60)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.worker_id == "w1"
    assert WorkerAssignment.objects.get().outcome == "completed"
    assert row().current_load == 0
    results = list(BuildResult.objects.filter(job=job))
    assert len(results) == 2 and all(r.status == BuildStatus.SUCCESS for r in results)
    assert all("compiling" in r.full_output for r in results)
    assert any("standard finished" in line for line in lines)
    assert any(f"job {job.pk} finished (completed)" in line for line in lines)


def test_toolchains_are_probed_at_start_and_again_when_due(worker_settings):
    worker_settings.ARENA_TOOLCHAIN_PROBE_INTERVAL = 300
    now = [1000.0]
    probes = []

    def probe():
        probes.append(now[0])
        return {"elide": {"ok": len(probes) > 1, "version": "Elide 1.0"}}

    def finished_probe():
        """The probe runs in its own thread: wait for it, then let the loop store it."""
        worker.probe_thread.join(5)
        return worker.probe_toolchains()

    lines = []
    worker = make_worker(HeldRun(), lines, probe=probe, clock=lambda: now[0])
    assert finished_probe() == {"elide": {"ok": False, "version": "Elide 1.0"}}
    assert probes == [1000.0] and row().runs_elide is False
    assert row().toolchains == {"elide": {"ok": False, "version": "Elide 1.0"}}
    assert any("toolchains:" in line and "no elide" in line for line in lines)
    now[0] += 299
    assert worker.probe_toolchains() is None and worker.probe_thread is None
    assert probes == [1000.0]
    now[0] += 2
    worker.tick()  # starts the next probe
    assert finished_probe() is not None
    assert probes == [1000.0, 1301.0] and row().runs_elide is True
