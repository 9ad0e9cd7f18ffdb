"""Seeding 100,000 mock races, and the admin's job list on them.

    .venv/bin/python benchmarks/seed_and_admin.py [--jobs 100000] [--postgres]

Builds a fresh database (a temporary SQLite file, or with --postgres a scratch database on
the local server), times `seed_random_races`, then times admin pages as a logged-in superuser
(median of several requests, with the number of SQL queries each), and prints the figures.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_NAME = "arena_bench_seed_admin"


def configure(postgres):
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ["DEBUG"] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "buildarena.settings"
    if postgres:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/test", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_NAME}")
            admin.execute(f"CREATE DATABASE {PG_NAME}")
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/{PG_NAME}"
    else:
        os.environ.pop("DATABASE_URL", None)
        folder = tempfile.mkdtemp(prefix="arena-bench-")
        os.environ["DATABASE_PATH"] = str(Path(folder) / "build-arena.db")
    import django

    django.setup()


def timed_pages(client, urls, repeat=5):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows = []
    for label, url in urls:
        client.get(url)  # warm caches
        times = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        rows.append((label, statistics.median(times), len(queries)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    configure(args.postgres)

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from jobs.demo.mock_data import seed_random_races
    from jobs.models import Job
    from jobs.storage.dbtools import database_size, human_bytes

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    added = seed_random_races(args.jobs, seed=1)
    seconds = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    size = database_size()["size_bytes"]
    print(f"engine: {connection.vendor}")
    print(f"seed_random_races({args.jobs}): {added} races + {2 * added} results in "
          f"{seconds:.1f} s ({added / seconds:,.0f} races/s); "
          f"database {human_bytes(size)}")  # fmt: skip

    started = time.perf_counter()
    total = Job.objects.count()
    print(f"COUNT(*) of {total} jobs: {(time.perf_counter() - started) * 1000:.1f} ms")

    user = get_user_model().objects.create_superuser("bench", "bench@example.invalid", "x")
    client = Client()
    client.force_login(user)
    job = Job.objects.order_by("-created_at").first()
    urls = [
        ("job list, page 1", "/admin/jobs/job/"),
        ("job list, page 500", "/admin/jobs/job/?p=500"),
        ("job list, status=completed", "/admin/jobs/job/?status__exact=completed"),
        ("job list, date filter", "/admin/jobs/job/?created_at__gte=2000-01-01"),
        ("job list, search 'guava'", "/admin/jobs/job/?q=guava"),
        ("job list, sorted by elide time", "/admin/jobs/job/?o=5"),
        ("job change page", f"/admin/jobs/job/{job.pk}/change/"),
        ("build result list", "/admin/jobs/buildresult/"),
    ]
    print(f"{'admin page':<34}{'median ms':>10}{'queries':>9}")
    for label, ms, queries in timed_pages(client, urls):
        print(f"{label:<34}{ms:>10.1f}{queries:>9}")

    if args.postgres:
        connection.close()
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/test", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_NAME}")


if __name__ == "__main__":
    main()
