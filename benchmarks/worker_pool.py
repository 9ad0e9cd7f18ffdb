"""Worker pool benchmark: dispatch latency, throughput, and the database cost of live output.

    flock /tmp/arena-bench.lock .venv/bin/python benchmarks/worker_pool.py --engine sqlite
    flock /tmp/arena-bench.lock .venv/bin/python benchmarks/worker_pool.py --engine postgres

On a fresh database (a file under /tmp, or the PostgreSQL database `arena_bench_workers`,
dropped and created afresh) with a local git repository and real `run_worker` processes:

1. dispatch latency: idle workers, one job at a time; the time from create_job's commit to
   the job being seen `running` (the benchmark polls every 2 ms), p50/p95/max; on
   PostgreSQL the workers are woken by NOTIFY, on SQLite they poll (--only-dispatch stops
   here);
2. throughput: --jobs races with a trivial recipe (`true` on both sides) queued at once
   through 4 workers of capacity 2; races per second from the first claim to the last
   assignment closed (clone, two sandboxed builds and all the bookkeeping included);
3. output appends: one race in this process (claimed like a worker would, run with
   workers.recording.run_job) whose two sides print a line every few milliseconds; every SQL
   statement of every connection is counted (connection_created + execute_wrapper), and the
   writes to build_results are reported per second of race;
4. the scheduler alone: 1,000 claim/finish/release cycles from 4 threads, no builds.
"""

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--samples", type=int, default=40, help="Dispatch latency samples.")
    parser.add_argument("--jobs", type=int, default=100, help="Races for the throughput run.")
    parser.add_argument("--poll", type=float, default=0.5, help="ARENA_WORKER_POLL_INTERVAL.")
    parser.add_argument(
        "--only-dispatch", action="store_true", help="Measure the dispatch latency only."
    )
    parser.add_argument("--sqlite-path", default="/tmp/arena-bench-workers/bench.db")  # noqa: S108
    parser.add_argument(
        "--postgres-url", default="postgres://postgres@127.0.0.1:5432/arena_bench_workers"
    )
    return parser.parse_args()


def configure(args):
    """Point Django (and the worker processes) at a fresh benchmark database."""
    os.environ.update(
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="buildarena.settings",
        ARENA_ALLOW_LOCAL_REPOS="1",
        ARENA_MAX_QUEUED_JOBS="0",
        ARENA_WORKER_POLL_INTERVAL=str(args.poll),
        LOG_LEVEL="WARNING",
    )
    if args.engine == "sqlite":
        os.environ.pop("DATABASE_URL", None)
        path = Path(args.sqlite_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_PATH"] = str(path)
    else:
        import psycopg

        name = args.postgres_url.rsplit("/", 1)[1]
        admin_url = args.postgres_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = args.postgres_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_workers(count, capacity, log_dir):
    procs = []
    for i in range(count):
        log = open(log_dir / f"bench-w{i}.log", "w")  # noqa: SIM115 (lives as long as the worker)
        procs.append(
            subprocess.Popen(
                [sys.executable, str(PROJECT_DIR / "manage.py"), "run_worker"]  # noqa: RUF005
                + ["--worker-id", f"bench-w{i}", "--capacity", str(capacity)],
                cwd=PROJECT_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    from workers.models import Worker

    deadline = time.monotonic() + 60
    while Worker.objects.alive().filter(status="active").count() < count:
        if time.monotonic() > deadline:
            raise SystemExit("workers did not register within 60 s")
        time.sleep(0.05)
    return procs


def stop_workers(procs):
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=60)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def idle(job_ids):
    from workers.models import WorkerAssignment

    return not WorkerAssignment.objects.filter(
        job_id__in=job_ids, completed_at__isnull=True
    ).exists()


def measure_dispatch(repo, samples):
    from django.conf import settings

    from jobs.models import Job, JobStatus
    from jobs.submissions.services import create_job

    latencies = []
    poll = settings.ARENA_WORKER_POLL_INTERVAL
    for _ in range(samples):
        # Submissions arrive at random moments relative to the workers' polling.
        time.sleep(random.uniform(0, 2 * poll))  # noqa: S311
        created = time.perf_counter()
        job = create_job(str(repo), standard_cmd=["true"], elide_cmd=["true"])
        while Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).exists():
            time.sleep(0.002)
        latencies.append((time.perf_counter() - created) * 1000)
        while not (
            Job.objects.filter(pk=job.pk).exclude(status=JobStatus.RUNNING).exists()
            and idle([job.pk])
        ):
            time.sleep(0.01)
    return latencies


def measure_throughput(repo, count):
    from django.db import transaction

    from jobs.models import Job, JobStatus
    from jobs.submissions.services import create_job

    with transaction.atomic():
        ids = [
            create_job(str(repo), standard_cmd=["true"], elide_cmd=["true"]).pk
            for _ in range(count)
        ]
    started = time.perf_counter()
    while Job.objects.filter(pk__in=ids, status=JobStatus.QUEUED).count() == count:
        time.sleep(0.005)
    first_claim = time.perf_counter()
    while Job.objects.filter(pk__in=ids, status__in=["queued", "running"]).exists() or not idle(
        ids
    ):
        time.sleep(0.02)
    finished = time.perf_counter()
    statuses = Counter(Job.objects.filter(pk__in=ids).values_list("status", flat=True))
    return count / (finished - first_claim), finished - started, statuses


def measure_claims(count, threads=4):
    """The pool's own cost: claim + finish + release cycles, no builds, `threads` workers."""
    from django.db import connection

    from jobs.models import Job, JobStatus
    from workers import scheduler

    Job.objects.bulk_create(
        Job(repository_url="https://github.com/bench/claims", repository_name="bench/claims")
        for _ in range(count)
    )
    for i in range(threads):
        scheduler.register_worker(f"bench-claims-{i}", hostname="bench", capacity=2)

    def loop(worker_id):
        try:
            while True:
                claim = scheduler.claim_job(worker_id)
                if claim is None:
                    if not Job.objects.filter(status=JobStatus.QUEUED).exists():
                        return
                    continue
                Job.objects.filter(pk=claim.job.pk).update(status=JobStatus.COMPLETED)
                scheduler.release_job(worker_id, claim.job.pk, "completed")
        finally:
            connection.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=loop, args=(f"bench-claims-{i}",)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return count / (time.perf_counter() - started)


class StatementCounter:
    """Counts SQL statements of every connection opened while installed."""

    def __init__(self):
        self.counts = Counter()
        self.lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        verb = sql.lstrip().split(" ", 1)[0].upper()
        table = "build_results" if "build_results" in sql else "other"
        with self.lock:
            self.counts[(verb, table)] += 1
        return execute(sql, params, many, context)

    def install(self):
        from django.db.backends.signals import connection_created

        def attach(sender, connection, **kwargs):
            connection.execute_wrappers.append(self)

        connection_created.connect(attach, weak=False)
        from django.db import connections

        connections.close_all()  # reconnect so the wrapper is attached here too


def measure_appends(repo, lines=1500, delay="0.002"):
    from jobs.models import BuildResult
    from jobs.submissions.services import create_job
    from workers import scheduler
    from workers.recording import run_job

    script = f'i=0; while [ $i -lt {lines} ]; do echo "[INFO] line $i of a busy build"; ' + (
        f'i=$((i+1)); sleep {delay}; done; echo "BUILD SUCCESS"'
    )
    job = create_job(str(repo), standard_cmd=["sh", "-c", script], elide_cmd=["sh", "-c", script])
    scheduler.register_worker("bench-appends", hostname="bench", capacity=1)
    for _ in range(100):
        claim = scheduler.claim_job("bench-appends")
        if claim:
            break
        time.sleep(0.1)
    counter = StatementCounter()
    counter.install()
    started = time.perf_counter()
    outcome = run_job(job.pk, stop=threading.Event())
    elapsed = time.perf_counter() - started
    scheduler.release_job("bench-appends", job.pk, outcome)
    output_chars = sum(len(r.full_output) for r in BuildResult.objects.filter(job_id=job.pk))
    return outcome, elapsed, counter.counts, output_chars


def main():
    args = parse_args()
    begun = time.perf_counter()
    configure(args)
    print(f"[{time.perf_counter() - begun:.1f} s] database ready", file=sys.stderr)
    from django.db import connection

    from tests.repos import make_git_repo

    with tempfile.TemporaryDirectory(prefix="arena-bench-workers-") as tmp:
        tmp = Path(tmp)
        repo = make_git_repo(tmp / "app", {"README.md": "benchmark repository\n"})
        print(f"engine: {connection.vendor}; poll interval {args.poll} s; 2 cores")

        procs = start_workers(2, 2, tmp)
        print(f"[{time.perf_counter() - begun:.1f} s] workers up", file=sys.stderr)
        try:
            latencies = measure_dispatch(repo, args.samples)
        finally:
            stop_workers(procs)
        print(
            f"dispatch latency, 2 idle workers, {len(latencies)} jobs: "
            f"p50 {statistics.median(latencies):.0f} ms, p95 {percentile(latencies, 0.95):.0f} ms,"
            f" max {max(latencies):.0f} ms"
        )

        print(f"[{time.perf_counter() - begun:.1f} s] dispatch measured", file=sys.stderr)
        if args.only_dispatch:
            return
        procs = start_workers(4, 2, tmp)
        print(f"[{time.perf_counter() - begun:.1f} s] workers up", file=sys.stderr)
        try:
            rate, wall, statuses = measure_throughput(repo, args.jobs)
        finally:
            stop_workers(procs)
        print(
            f"throughput, 4 workers x capacity 2, {args.jobs} trivial races: {rate:.2f} races/s"
            f" ({wall:.1f} s from queueing to the last release; {dict(statuses)})"
        )

        print(f"[{time.perf_counter() - begun:.1f} s] throughput measured", file=sys.stderr)
        claims = measure_claims(1000)
        print(
            f"scheduler alone (claim, finish, release; 4 threads, no builds): {claims:.0f} races/s"
        )
        outcome, elapsed, counts, chars = measure_appends(repo)
        writes = sum(n for (verb, table), n in counts.items() if table == "build_results")
        updates = counts[("UPDATE", "build_results")]
        total = sum(counts.values())
        print(
            f"output appends, one race ({outcome}), {elapsed:.1f} s, {chars} characters of output:"
            f" {updates} UPDATEs of build_results = {updates / elapsed:.1f}/s per running race;"
            f" {writes} statements on build_results, {total} statements in all"
            f" ({total / elapsed:.1f}/s)"
        )
        for (verb, table), n in sorted(counts.items()):
            print(f"    {verb:<10} {table:<14} {n}")


if __name__ == "__main__":
    main()
