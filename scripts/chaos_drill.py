"""Chaos drill: workers race a stream of jobs while the drill SIGKILLs and restarts them.

    DEBUG=1 DATABASE_PATH=/tmp/chaos.db .venv/bin/python scripts/chaos_drill.py --migrate
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/arena_chaos \\
        .venv/bin/python scripts/chaos_drill.py --migrate --workers 3 --jobs 40 --kills 8

Jobs use a fast real recipe (a custom command on a local git repository) so each race takes
about a second. While they run the drill kills random workers with SIGKILL (no chance to
clean up), restarts them (same id, or a new one), and cancels a few jobs. It watches that no
job ever has two open assignments, then waits for the queue to drain and every assignment to
close (a killed worker's wait for the reaper), and checks the end state: every job completed,
failed with a reason, or cancelled; none queued or running; assignments of a job never
overlap; every worker's current_load equals its open assignments.

With --lock SECONDS it also holds the database's write lock that long in the middle of the
run (SQLite: BEGIN IMMEDIATE in another connection; PostgreSQL: LOCK TABLE jobs, then the
workers' connections are terminated), and checks that the API answered during and after.
Prints a JSON report; exits 1 when an invariant is broken.
"""

import argparse
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

RECIPE = ["sh", "-c", "echo compiling; sleep 0.2; echo BUILD SUCCESS"]
WORKER_SETTINGS = {
    "ARENA_HEARTBEAT_INTERVAL": "0.5",
    "ARENA_WORKER_POLL_INTERVAL": "0.2",
    "ARENA_WORKER_DEAD_AFTER": "3",
    "ARENA_WORKER_GRACE_PERIOD": "5",
    "ARENA_JOB_MAX_ATTEMPTS": "4",
    "ARENA_ALLOW_LOCAL_REPOS": "1",
    "PYTHONUNBUFFERED": "1",
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--capacity", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--cancel", type=float, default=0.1, help="Share of jobs cancelled.")
    parser.add_argument("--lock", type=float, default=0.0, help="Hold the write lock this long.")
    parser.add_argument("--timeout", type=float, default=180.0, help="Give up after seconds.")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--migrate", action="store_true", help="Migrate the database first.")
    parser.add_argument("--log-dir", default=None, help="Keep the workers' output here.")
    return parser.parse_args(argv)


def setup_django(migrate):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "buildarena.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ["ARENA_ALLOW_LOCAL_REPOS"] = "1"
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


class WorkerProcess:
    """One `manage.py run_worker` child, restartable."""

    def __init__(self, worker_id, capacity, log_dir):
        self.worker_id = worker_id
        self.capacity = capacity
        self.log_dir = log_dir
        self.process = None
        self.starts = 0

    def start(self):
        self.starts += 1
        log = open(self.log_dir / f"{self.worker_id}.log", "a")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, str(PROJECT_DIR / "manage.py"), "run_worker",
             "--worker-id", self.worker_id, "--capacity", str(self.capacity)],
            env={**os.environ, **WORKER_SETTINGS},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_DIR,
        )  # fmt: skip
        log.close()

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout=30):
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGTERM)  # the second signal stops races at once
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


def make_repository(root):
    from tests.repos import make_git_repo

    return make_git_repo(Path(root) / "chaos-repo", {"README.md": "chaos drill\n"})


def create_jobs(repo, count):
    from django.conf import settings

    from jobs.submissions.services import create_job

    settings.ARENA_MAX_QUEUED_JOBS = 0
    return [create_job(str(repo), standard_cmd=RECIPE, elide_cmd=RECIPE).pk for _ in range(count)]


def double_assignments():
    """Jobs with more than one open assignment right now (must never happen)."""
    from django.db.models import Count

    from workers.models import WorkerAssignment

    return list(
        WorkerAssignment.objects.filter(completed_at__isnull=True)
        .values("job_id")
        .annotate(open=Count("id"))
        .filter(open__gt=1)
        .values_list("job_id", flat=True)
    )


def unfinished(job_ids):
    from jobs.models import Job

    return Job.objects.filter(pk__in=job_ids, status__in=["queued", "running"]).count()


def open_assignments(job_ids):
    """Assignments not yet closed: a killed worker's stay open until a live worker reaps it."""
    from workers.models import WorkerAssignment

    return WorkerAssignment.objects.filter(job_id__in=job_ids, completed_at__isnull=True).count()


def check_end_state(job_ids):
    """Every invariant of the drill; returns a list of violations (empty when all hold)."""
    from django.db.models import Count, Q

    from jobs.models import Job
    from workers.models import Worker, WorkerAssignment

    problems = []
    jobs = Job.objects.filter(pk__in=job_ids)
    for job in jobs.filter(status__in=["queued", "running"]):
        problems.append(f"job {job.pk} still {job.status}")
    for job in jobs.filter(status="failed", error=""):
        problems.append(f"job {job.pk} failed without a reason")
    for job in jobs.filter(status="failed", error__startswith="internal error"):
        problems.append(f"job {job.pk} failed on a bug of the arena: {job.error}")
    for job in jobs.filter(status="completed").prefetch_related("results"):
        sides = {r.build_type: r.status for r in job.results.all()}
        if len(sides) != 2 or "pending" in sides.values():
            problems.append(f"completed job {job.pk} has sides {sides}")
    by_job = {}
    for assignment in WorkerAssignment.objects.filter(job_id__in=job_ids).order_by(
        "assigned_at", "id"
    ):
        by_job.setdefault(assignment.job_id, []).append(assignment)
    for job_id, assignments in by_job.items():
        for earlier, later in itertools.pairwise(assignments):
            if earlier.completed_at is None or earlier.completed_at > later.assigned_at:
                problems.append(
                    f"job {job_id} on {earlier.worker_id} and {later.worker_id} at once"
                )
        if assignments[-1].completed_at is None:
            problems.append(f"job {job_id} has an open assignment at the end")
    loads = Worker.objects.annotate(
        open=Count("assignments", filter=Q(assignments__completed_at__isnull=True))
    )
    for worker in loads:
        if worker.current_load != worker.open:
            problems.append(
                f"worker {worker.pk}: current_load {worker.current_load}, open {worker.open}"
            )
    return problems


def count_database_errors(log_dir):
    """Lines in the workers' logs that report a database error (locked, connection lost)."""
    markers = ("database is locked", "OperationalError", "terminating connection", "atabase error")
    count = 0
    for log in Path(log_dir).glob("*.log"):
        count += sum(any(m in line for m in markers) for line in log.read_text().splitlines())
    return count


def outcome_counts(job_ids):
    from django.db.models import Count

    from jobs.models import Job
    from workers.models import WorkerAssignment

    rows = Job.objects.filter(pk__in=job_ids).values("status").annotate(n=Count("pk"))
    assignments = (
        WorkerAssignment.objects.filter(job_id__in=job_ids)
        .values("outcome")
        .annotate(n=Count("pk"))
    )
    return (
        {row["status"]: row["n"] for row in rows},
        {row["outcome"] or "open": row["n"] for row in assignments},
    )


class Watcher(threading.Thread):
    """Polls for jobs with two open assignments while the drill runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_event = threading.Event()
        self.seen = set()
        self.errors = 0

    def run(self):
        from django.db import DatabaseError, connection

        while not self.stop_event.wait(0.2):
            try:
                self.seen.update(double_assignments())
            except DatabaseError:
                self.errors += 1  # the --lock phase may refuse a read or cut the connection
                connection.close()
        connection.close()


def run_drill(args):
    rng = random.Random(args.seed)  # noqa: S311 (drill schedule, not security)
    if args.lock:
        # Shorter than the lock, so that writers do hit "database is locked" and must retry.
        WORKER_SETTINGS["ARENA_SQLITE_BUSY_TIMEOUT_MS"] = "1000"
    from jobs.submissions.services import cancel_job

    # The drill's repository, and the workers' logs unless --log-dir names a place for them.
    workdir = Path(tempfile.mkdtemp(prefix="arena-chaos-"))
    # The clone runs as the build account (docs/ENGINE.md, "The clone"): it must read the repo.
    os.chmod(workdir, 0o755)  # noqa: S103 (holds only the drill's own test repository)
    log_dir = Path(args.log_dir) if args.log_dir else workdir
    log_dir.mkdir(parents=True, exist_ok=True)
    repo = make_repository(workdir)
    job_ids = create_jobs(repo, args.jobs)
    tag = f"chaos-{os.getpid()}"
    workers = [WorkerProcess(f"{tag}-{i}", args.capacity, log_dir) for i in range(args.workers)]
    for worker in workers:
        worker.start()
    watcher = Watcher()
    watcher.start()

    started = time.monotonic()
    kills, cancelled, lock_report = 0, 0, None
    to_cancel = set(rng.sample(job_ids, int(len(job_ids) * args.cancel)))
    try:
        # Run until the pool has settled: every job finished and every assignment closed
        # (a job cancelled on a worker that was then killed waits for the reaper).
        while (unfinished(job_ids) or open_assignments(job_ids)) and (
            time.monotonic() - started < args.timeout
        ):
            if kills < args.kills:
                time.sleep(rng.uniform(0.5, 2.0))
                victim = rng.choice([w for w in workers if w.alive()] or workers)
                if victim.alive():
                    victim.kill()
                    kills += 1
                    time.sleep(rng.uniform(0.2, 1.5))
                    if rng.random() < 0.3:  # sometimes it comes back under a new id
                        victim.worker_id = f"{victim.worker_id}r"
                    victim.start()
            else:
                time.sleep(0.3)
            for worker in workers:
                if not worker.alive():  # e.g. refused to start while its old row looked alive
                    worker.start()
            if to_cancel and rng.random() < 0.5:
                cancelled += cancel_job(to_cancel.pop()) is not None
            if args.lock and lock_report is None and kills >= args.kills // 2:
                from scripts.lock_drill import hold_write_lock

                lock_report = hold_write_lock(args.lock, str(repo))
                job_ids += lock_report["created_jobs"]
    finally:
        for worker in workers:
            worker.stop()
        watcher.stop_event.set()
        watcher.join()
    problems = check_end_state(job_ids)
    database_errors = count_database_errors(log_dir)
    if args.log_dir:  # nothing of the drill's own left behind: the logs are elsewhere
        shutil.rmtree(workdir, ignore_errors=True)
    problems += [f"job {job_id} had two open assignments at once" for job_id in watcher.seen]
    if lock_report:
        problems += lock_report.pop("problems", [])
    outcomes, assignments = outcome_counts(job_ids)
    from jobs.models import Job

    failed = Job.objects.filter(pk__in=job_ids, status="failed")
    return {
        "jobs": len(job_ids),
        "outcomes": outcomes,
        # Why each failed job failed, and on which attempt: a failure is a lead to follow.
        "failed_jobs": {job.pk: [job.attempts, job.error] for job in failed},
        "assignments": assignments,
        "kills": kills,
        "worker_starts": sum(w.starts for w in workers),
        "cancelled_by_drill": cancelled,
        "seconds": round(time.monotonic() - started, 1),
        "lock": lock_report,
        "watcher_read_errors": watcher.errors,
        "database_errors_in_worker_logs": database_errors,
        "logs": str(log_dir),
        "problems": problems,
    }


def main(argv=None):
    args = parse_args(argv)
    setup_django(args.migrate)
    report = run_drill(args)
    print(json.dumps(report, indent=2, default=str))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
