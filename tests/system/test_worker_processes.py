"""Real `manage.py run_worker` processes running real races (fast shell recipes) on the test DB.

Short heartbeat, poll and dead-worker thresholds come in through the environment, so that
recovery after a SIGKILL takes seconds, not minutes.
"""

import contextlib
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q

from jobs.models import BuildResult, BuildStatus, Job, JobStatus
from jobs.submissions.services import create_job
from tests.repos import make_git_repo
from tests.support import PROJECT_DIR, new_marker, processes_with, wait_until
from workers.models import Worker, WorkerAssignment, WorkerStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAST = {
    "ARENA_HEARTBEAT_INTERVAL": "0.2",
    "ARENA_WORKER_POLL_INTERVAL": "0.1",
    "ARENA_WORKER_DEAD_AFTER": "3",
    # No toolchain probe: its JVMs would compete with the races these tests time.
    "ARENA_TOOLCHAIN_PROBE_INTERVAL": "0",
}


def recipe(seconds, marker=None):
    """A build that prints, takes `seconds` (a unique marker lets tests find its processes)."""
    sleep = f"{seconds}.{marker}" if marker else str(seconds)
    return ["sh", "-c", f"echo compiling; sleep {sleep}; echo BUILD SUCCESS"]


def wait_for(predicate, timeout, what):
    waited = wait_until(predicate, timeout, interval=0.05)
    assert waited, f"timed out after {timeout} s waiting for {what}"


def job_status(job_id):
    return Job.objects.filter(pk=job_id).values_list("status", flat=True).first()


def settled(job_id, status):
    """The job reached `status` and its worker has closed the assignment (load released)."""
    return (
        job_status(job_id) == status
        and not WorkerAssignment.objects.filter(job_id=job_id, completed_at__isnull=True).exists()
    )


class WorkerProcess:
    def __init__(self, env, log_dir, worker_id, *args):
        self.worker_id = worker_id
        self.asked_to_stop = False
        self.log_path = log_dir / f"{worker_id}-{uuid.uuid4().hex[:6]}.log"
        self.log_file = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(PROJECT_DIR / "manage.py"),
                "run_worker",
                "--worker-id",
                worker_id,
                *args,
            ],
            env=env,
            cwd=PROJECT_DIR,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )

    @property
    def output(self):
        return self.log_path.read_text()

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def ask_to_stop(self):
        """One SIGTERM, as an operator stops a worker (a second would stop its races now)."""
        if self.proc.poll() is None and not self.asked_to_stop:
            self.proc.send_signal(signal.SIGTERM)
            self.asked_to_stop = True

    def drain(self, timeout=60):
        """Stop as an operator would: the worker finishes the unit of work it is in, so what
        that unit prints (a mail after a suite run completes) is in the log."""
        self.ask_to_stop()
        if self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)
        self.stop()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log_file.close()


@pytest.fixture
def repo(tmp_path):
    return make_git_repo(tmp_path / "app", {"README.md": "a repository\n"})


@pytest.fixture
def start_worker(subprocess_env, tmp_path):
    started = []

    def start(worker_id, *args, env=None, wait_alive=True):
        worker = WorkerProcess(
            {**subprocess_env, **FAST, **(env or {})}, tmp_path, worker_id, *args
        )
        started.append(worker)
        if wait_alive:
            wait_for(
                lambda: Worker.objects.filter(
                    pk=worker_id, status__in=["active", "maintenance"], pid=worker.proc.pid
                ).exists(),
                30,
                f"worker {worker_id} to register",
            )
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def queue(repo, allow_local_repos):
    def add(standard, elide=None):
        return create_job(str(repo), standard_cmd=standard, elide_cmd=elide or standard).pk

    return add


class LoadSampler(threading.Thread):
    """Samples the pool every few milliseconds from a connection of its own."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopped = threading.Event()
        self.max_load = defaultdict(int)
        self.max_open = defaultdict(int)
        self.capacity = {}

    def run(self):
        try:
            while not self.stopped.wait(0.02):
                for worker_id, load, capacity, open_count in Worker.objects.annotate(
                    open=Count("assignments", filter=Q(assignments__completed_at__isnull=True))
                ).values_list("pk", "current_load", "capacity", "open"):
                    self.capacity[worker_id] = capacity
                    self.max_load[worker_id] = max(self.max_load[worker_id], load)
                    self.max_open[worker_id] = max(self.max_open[worker_id], open_count)
        finally:
            connection.close()


def test_many_jobs_on_several_workers_run_once_within_capacity_least_loaded(start_worker, queue):
    workers = [start_worker(f"w{i}", "--capacity", "3") for i in range(3)]
    sampler = LoadSampler()
    sampler.start()
    try:
        # Least-loaded: 6 long races on 3 idle workers of capacity 3 go 2/2/2, where a
        # greedy worker would take 3 and leave another idle.
        with transaction.atomic():
            first = [queue(recipe(1.5)) for _ in range(6)]
        wait_for(
            lambda: Job.objects.filter(pk__in=first, status=JobStatus.RUNNING).count() == 6,
            30,
            "six races running",
        )
        running = Counter(Job.objects.filter(pk__in=first).values_list("worker_id", flat=True))
        assert sorted(running.values()) == [2, 2, 2], running

        more = [queue(recipe(0.1)) for _ in range(12)]
        everything = first + more
        wait_for(
            lambda: (
                Job.objects.filter(pk__in=everything, status=JobStatus.COMPLETED).count()
                == len(everything)
                and not WorkerAssignment.objects.filter(completed_at__isnull=True).exists()
            ),
            90,
            "all races completed",
        )
    finally:
        sampler.stopped.set()
        sampler.join(5)

    for job in Job.objects.filter(pk__in=everything):
        assert job.attempts == 1 and job.worker_id in {"w0", "w1", "w2"}
    per_job = Counter(WorkerAssignment.objects.values_list("job_id", flat=True))
    assert per_job == Counter({job_id: 1 for job_id in everything})
    assert set(WorkerAssignment.objects.values_list("outcome", flat=True)) == {"completed"}
    results = BuildResult.objects.filter(job_id__in=everything)
    assert results.count() == 2 * len(everything)
    assert all(r.status == BuildStatus.SUCCESS for r in results)
    assert all("BUILD SUCCESS" in r.full_output for r in results)
    for worker_id, capacity in sampler.capacity.items():
        assert sampler.max_load[worker_id] <= capacity
        assert sampler.max_open[worker_id] <= capacity
    assert max(sampler.max_load.values()) >= 2  # the sampler did see races running
    assert set(Worker.objects.values_list("current_load", flat=True)) == {0}
    for worker in workers:
        assert "took job" in worker.output


def test_sigterm_lets_the_running_race_finish_then_exits_zero(start_worker, queue):
    worker = start_worker("w1")
    job_id = queue(recipe(1.5))
    wait_for(lambda: job_status(job_id) == JobStatus.RUNNING, 20, "the race to start")
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.wait(60) == 0, worker.output
    assert job_status(job_id) == JobStatus.COMPLETED
    row = Worker.objects.get(pk="w1")
    assert (row.status, row.current_load) == (WorkerStatus.INACTIVE, 0)
    assert "stopping: taking no new jobs" in worker.output


def test_sigterm_past_the_grace_period_requeues_and_kills_the_builds(start_worker, queue):
    marker = new_marker()
    worker = start_worker("w1", env={"ARENA_WORKER_GRACE_PERIOD": "0.5"})
    job_id = queue(recipe(30, marker))
    wait_for(lambda: processes_with(marker), 20, "the build to start")
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0, worker.output
    job = Job.objects.get(pk=job_id)
    assert (job.status, job.worker_id, job.attempts) == (JobStatus.QUEUED, None, 1)
    wait_for(lambda: not processes_with(marker), 5, "the build's processes to be gone")
    assert Worker.objects.get(pk="w1").status == WorkerStatus.INACTIVE
    assert WorkerAssignment.objects.get().outcome == "interrupted"


def test_second_signal_kills_the_builds_and_exits_at_once(start_worker, queue):
    marker = new_marker()
    worker = start_worker("w1")
    job_id = queue(recipe(30, marker))
    wait_for(lambda: processes_with(marker), 20, "the build to start")
    worker.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    worker.proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert worker.wait(20) == 128 + signal.SIGTERM, worker.output
    assert time.monotonic() - started < 10
    wait_for(lambda: not processes_with(marker), 5, "the build's processes to be gone")
    assert job_status(job_id) == JobStatus.QUEUED
    assert Worker.objects.get(pk="w1").status == WorkerStatus.INACTIVE


def killed_mid_race(start_worker, queue, worker_id):
    """Start a worker, let it take a 2 s race, SIGKILL it while the race runs; the job's id."""
    worker = start_worker(worker_id)
    job_id = queue(recipe(2))
    wait_for(lambda: job_status(job_id) == JobStatus.RUNNING, 20, "the race to start")
    worker.proc.send_signal(signal.SIGKILL)
    worker.wait(10)
    return job_id


def test_sigkill_mid_race_another_worker_reaps_and_completes_it(start_worker, queue):
    job_id = killed_mid_race(start_worker, queue, "doomed")
    rescuer = start_worker("rescuer")
    wait_for(lambda: settled(job_id, JobStatus.COMPLETED), 40, "the race to complete")
    job = Job.objects.get(pk=job_id)
    assert (job.worker_id, job.attempts) == ("rescuer", 2)
    assert Worker.objects.get(pk="doomed").status == WorkerStatus.INACTIVE
    outcomes = dict(WorkerAssignment.objects.values_list("worker_id", "outcome"))
    assert outcomes == {"doomed": "lost", "rescuer": "completed"}
    assert "worker doomed stopped responding" in rescuer.output


def test_a_job_whose_worker_dies_twice_fails_with_the_reason(start_worker, queue):
    job_id = queue(recipe(8))
    for worker_id in ("first", "second"):
        worker = start_worker(worker_id)
        wait_for(
            lambda wid=worker_id: Job.objects.filter(
                pk=job_id, status=JobStatus.RUNNING, worker_id=wid
            ).exists(),
            40,
            f"{worker_id} to take the race",
        )
        worker.proc.send_signal(signal.SIGKILL)
        worker.wait(10)
    start_worker("third")
    wait_for(lambda: job_status(job_id) == JobStatus.FAILED, 40, "the race to fail")
    job = Job.objects.get(pk=job_id)
    assert job.attempts == 2
    assert "worker second stopped responding" in job.error and "attempt 2 of 2" in job.error
    assert not WorkerAssignment.objects.filter(worker_id="third").exists()


def test_restart_with_the_same_id_resumes_cleanly(start_worker, queue):
    job_id = killed_mid_race(start_worker, queue, "w1")
    start_worker("w1")  # long before the dead-worker threshold
    wait_for(lambda: settled(job_id, JobStatus.COMPLETED), 30, "the race to complete")
    assert Job.objects.get(pk=job_id).attempts == 2
    outcomes = sorted(WorkerAssignment.objects.values_list("outcome", flat=True))
    assert outcomes == ["completed", "lost"]


def test_cancel_queued_and_running_jobs(start_worker, queue, manage):
    marker = new_marker()
    start_worker("w1", "--capacity", "1")
    running = queue(["sh", "-c", f"echo partial output; sleep 30.{marker}"])
    wait_for(lambda: processes_with(marker), 20, "the build to start")
    queued = queue(recipe(0.1))
    time.sleep(0.3)
    assert job_status(queued) == JobStatus.QUEUED  # capacity 1: it waits

    result = manage("cancel_job", queued)
    assert result.returncode == 0 and "Cancelled job" in result.stdout
    assert job_status(queued) == JobStatus.CANCELLED

    assert manage("cancel_job", running).returncode == 0
    cancelled_at = time.monotonic()  # the row says cancelled from here on
    wait_for(lambda: not processes_with(marker), 5, "the builds to be killed")
    wait_for(lambda: Worker.objects.get(pk="w1").current_load == 0, 5, "the assignment to close")
    assert time.monotonic() - cancelled_at < 5
    assert job_status(running) == JobStatus.CANCELLED
    assert WorkerAssignment.objects.get(job_id=running).outcome == "cancelled"
    outputs = "".join(r.full_output for r in BuildResult.objects.filter(job_id=running))
    assert "partial output" in outputs
    time.sleep(0.5)
    assert job_status(queued) == JobStatus.CANCELLED
    assert not WorkerAssignment.objects.filter(job_id=queued).exists()


def test_maintenance_finishes_running_races_and_takes_no_new_ones(start_worker, queue, manage):
    worker = start_worker("w1")
    first = queue(recipe(1))
    wait_for(lambda: job_status(first) == JobStatus.RUNNING, 20, "the race to start")
    assert manage("workers", "--maintenance", "w1").returncode == 0
    second = queue(recipe(0.1))
    wait_for(lambda: job_status(first) == JobStatus.COMPLETED, 30, "the race to finish")
    time.sleep(1.0)  # many polls and heartbeats
    assert job_status(second) == JobStatus.QUEUED
    row = Worker.objects.get(pk="w1")
    assert row.status == WorkerStatus.MAINTENANCE and worker.proc.poll() is None
    assert manage("workers", "--activate", "w1").returncode == 0
    wait_for(lambda: job_status(second) == JobStatus.COMPLETED, 30, "the second race")


def test_the_web_sees_output_grow_while_a_race_runs(start_worker, queue):
    start_worker("w1")
    lines = "for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; sleep 0.2; done; echo BUILD SUCCESS"
    job_id = queue(["sh", "-c", lines])
    seen = []
    pending_seen = False
    deadline = time.monotonic() + 60
    while job_status(job_id) != JobStatus.COMPLETED and time.monotonic() < deadline:
        rows = list(BuildResult.objects.filter(job_id=job_id).values_list("status", "output"))
        if rows and job_status(job_id) == JobStatus.RUNNING:
            pending_seen = pending_seen or any(s == BuildStatus.PENDING for s, _ in rows)
            size = sum(len(output or "") for _, output in rows)
            if not seen or size > seen[-1]:
                seen.append(size)
        time.sleep(0.05)
    assert job_status(job_id) == JobStatus.COMPLETED
    assert pending_seen
    assert len(seen) >= 4, seen  # grew several times while running, not once at the end
