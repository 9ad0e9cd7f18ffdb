"""Database benchmark: the seed's performance table at 1k, 10k and 100k races.

    flock /tmp/arena-bench.lock .venv/bin/python benchmarks/db_bench.py --engine sqlite
    flock /tmp/arena-bench.lock .venv/bin/python benchmarks/db_bench.py --engine postgres

For each size it grows a dedicated database (a file under /tmp, or the PostgreSQL database
`arena_bench`, dropped and created afresh) to that many races and measures: job insert
(create_job), select by id (get_job), get_recent_results(20) with both results, the
leaderboard's figures from its summary rows (totals and chart, per-repository rows; also
filtered to one repository and to 30 days), and the database size per 1,000 completed
races, each finished side carrying --log-kb KB of realistic Maven/Gradle output stored
compacted. It prints the query
plans of the hot queries and flags full table scans. Figures go to stdout as a table.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sizes", default="1000,10000,100000", help="Comma-separated races.")
    parser.add_argument("--log-kb", type=int, default=32, help="Output per finished side.")
    parser.add_argument("--populate", choices=["own", "seed"], default="own")
    parser.add_argument("--samples", type=int, default=300, help="Samples per point query.")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="Time the workload this many times at each size; figures are medians of rounds.",
    )
    parser.add_argument("--sqlite-path", default="/tmp/arena-bench/bench.db")  # noqa: S108
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/arena_bench")
    parser.add_argument("--plans", action="store_true", help="Print every query plan in full.")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Time the database the last run left (no loading); its size is the last --sizes.",
    )
    parser.add_argument(
        "--plans-only",
        action="store_true",
        help="Keep the database as the last run left it; print the hot queries' plans only.",
    )
    return parser.parse_args()


def configure(args):
    """Point Django at the benchmark database before it loads the settings."""
    # DEBUG off: with it on, Django logs every query (on SQLite rendering each one's
    # parameters with an extra query), which would be timed too.
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("ARENA_REQUIRE_SECRET_KEY", "0")
    os.environ["DJANGO_SETTINGS_MODULE"] = "buildarena.settings"
    if args.engine == "sqlite":
        os.environ.pop("DATABASE_URL", None)
        path = Path(args.sqlite_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            if not (args.plans_only or args.reuse):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_PATH"] = str(path)
    else:
        import psycopg

        url = args.postgres_url
        name = url.rsplit("/", 1)[1]
        admin_url = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            if not (args.plans_only or args.reuse):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def timed(function, samples, between=None):
    """Milliseconds of each call (after two warm-up calls); `between` runs untimed after each."""
    for _ in range(2):
        function()
    durations = []
    for _ in range(samples):
        start = time.perf_counter()
        function()
        durations.append((time.perf_counter() - start) * 1000)
        if between is not None:
            between()
    return durations


def summary(durations):
    ordered = sorted(durations)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(int(len(ordered) * 0.95), len(ordered) - 1)],
    }


def database_size_bytes():
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            return pages * cursor.fetchone()[0]
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT pg_total_relation_size('jobs') + pg_total_relation_size('build_results')"
        )
        return cursor.fetchone()[0]


def analyze():
    from django.db import connection

    with connection.cursor() as cursor:
        # PostgreSQL: VACUUM sets the visibility map (autovacuum's steady state), without
        # which no index-only scan is possible on freshly inserted rows.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def grow_to(size, current, args):
    """Add races until the database holds `size`; returns (completed added, seconds)."""
    from django.core.management import call_command

    from benchmarks.populate import populate
    from jobs.models import Job

    start, cpu_start = time.monotonic(), time.process_time()
    if args.populate == "seed":
        # Timed right after the seed, which refreshes the planner's statistics itself (its
        # logs are short plain text: nothing to compact, no manual ANALYZE).
        call_command("seed_mock_data", "--jobs", str(size - current), "--seed", str(size))
        added = None
    else:
        added = populate(size - current, log_kb=args.log_kb, seed=size, compact=True)
        analyze()
    elapsed = time.monotonic() - start
    # This process's CPU time (Python, the driver; not the database server's): on a shared
    # machine the wall time mostly says how busy the others were.
    print(f"populated in {elapsed:.1f} s wall, {time.process_time() - cpu_start:.1f} s CPU of "
          f"this process, load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    if added is None:
        added = Job.objects.filter(status="completed").count()
    return added, elapsed


def vacuum():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM FULL" if connection.vendor == "postgresql" else "VACUUM")


def measure_log_storage(args, races=1000):
    """Size of `races` completed races with --log-kb KB per side, before and after compaction."""
    from django.core.management import call_command

    from benchmarks.populate import populate
    from jobs.models import Job

    populate(races, log_kb=args.log_kb, compact=False, seed=1, completed_only=True)
    vacuum()
    plain = database_size_bytes()
    start = time.monotonic()
    call_command("compact_outputs", stdout=open(os.devnull, "w"))  # noqa: SIM115
    seconds = time.monotonic() - start
    vacuum()
    compact = database_size_bytes()
    per_thousand = 1000 / races / 1024 / 1024
    print(f"\n== log storage: {races} completed races, {args.log_kb} KB per side ==")
    print(f"plain text: {plain * per_thousand:.2f} MB per 1,000 completed races")
    print(f"compacted:  {compact * per_thousand:.2f} MB per 1,000 completed races "
          f"(compact_outputs took {seconds:.1f} s)", flush=True)  # fmt: skip
    Job.objects.all().delete()
    vacuum()
    return plain * per_thousand, compact * per_thousand


def measure(args):
    from django.db import connection

    from benchmarks import queries
    from jobs.models import Job, LeaderboardSummary, SpeedupStepCount

    # No queue limit is set here: the races each insert queues are taken out again between
    # samples (untimed), so every submission meets the queue as an idle pool leaves it, under
    # the configured limit.
    rows = []
    current = 0
    for size in [int(s) for s in args.sizes.split(",")]:
        seconds = 0.0 if args.reuse else grow_to(size, current, args)[1]
        current = size
        completed = Job.objects.filter(status="completed").count()
        total = Job.objects.count()
        print(f"\n== {connection.vendor}: {total} jobs ({completed} completed), "
              f"populated in {seconds:.1f} s, load average {os.getloadavg()[0]:.2f} ==",
              flush=True)  # fmt: skip
        print(f"summary rows: {LeaderboardSummary.objects.count()}, "
              f"speedup steps: {SpeedupStepCount.objects.count()}", flush=True)  # fmt: skip
        figures = {"jobs": total, "completed": completed}
        rounds = []
        for number in range(1, args.rounds + 1):
            timings = {}
            for name, function, samples in queries.workload(args.samples):
                timings[name] = summary(timed(function, samples, queries.cleanup))
                print(f"{name:24} p50 {timings[name]['p50']:8.3f} ms   "
                      f"p95 {timings[name]['p95']:8.3f} ms", flush=True)  # fmt: skip
            queries.cleanup()
            ratios = service_ratios(timings)
            print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
            print(f"round {number}: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
            rounds.append((timings, ratios))
        figures.update(median_of_rounds(rounds))
        size_bytes = database_size_bytes()
        per_thousand = size_bytes / max(total, 1) * 1000 / 1024 / 1024
        figures["size_mb"] = size_bytes / 1024 / 1024
        figures["mb_per_1000"] = per_thousand
        print(f"database size {figures['size_mb']:.1f} MB = {per_thousand:.2f} MB per 1,000 "
              f"races (every finished side {args.log_kb} KB, compacted)", flush=True)  # fmt: skip
        scans = queries.print_plans(verbose=args.plans)
        figures["full_scans"] = scans
        rows.append(figures)
    return rows


SERVICE_FLOORS = {
    "create_job / INSERT": ("insert (create_job)", "insert (one INSERT)"),
    "get_job / pk select": ("select by id (get_job)", "select by id (pk only)"),
}


def service_ratios(timings):
    """Each service's p50 over the p50 of the single query it wraps, from the same round."""
    return {
        label: timings[service]["p50"] / timings[floor]["p50"]
        for label, (service, floor) in SERVICE_FLOORS.items()
    }


def median_of_rounds(rounds):
    figures = {}
    for name in rounds[0][0]:
        figures[name] = {
            key: statistics.median(timings[name][key] for timings, _ in rounds)
            for key in ("p50", "p95")
        }
    figures["ratios"] = {
        label: statistics.median(ratios[label] for _, ratios in rounds) for label in SERVICE_FLOORS
    }
    if len(rounds) > 1:
        print("medians of rounds: "
              + ", ".join(f"{k} {v:.2f}x" for k, v in figures["ratios"].items()))  # fmt: skip
    return figures


def print_table(rows, engine):
    names = [k for k in rows[0] if isinstance(rows[0][k], dict) and k != "ratios"]
    print(f"\n| {engine} | " + " | ".join(f"{r['jobs']:,} jobs" for r in rows) + " |")
    print("| --- |" + " --- |" * len(rows))
    for name in names:
        cells = " | ".join(f"{r[name]['p50']:.2f} ms (p95 {r[name]['p95']:.2f})" for r in rows)
        print(f"| {name} p50 | {cells} |")
    for label in SERVICE_FLOORS:
        print(f"| {label} (p50 ratio) | "
              + " | ".join(f"{r['ratios'][label]:.2f}x" for r in rows) + " |")  # fmt: skip
    print("| MB per 1,000 races | "
          + " | ".join(f"{r['mb_per_1000']:.2f}" for r in rows) + " |")  # fmt: skip
    print("| full scans in hot queries | "
          + " | ".join(", ".join(r["full_scans"]) or "none" for r in rows) + " |")  # fmt: skip


def main():
    args = parse_args()
    configure(args)
    if args.plans_only:
        from benchmarks import queries
        from jobs.models import Job

        print(f"== query plans with {Job.objects.count():,} jobs ==")
        for _name, function, _samples in queries.workload(1):
            function()
        queries.cleanup()
        queries.print_plans(verbose=True)
        return
    if args.log_kb and not args.reuse:
        measure_log_storage(args)
    rows = measure(args)
    print_table(rows, args.engine)


if __name__ == "__main__":
    main()
