"""Leaderboard export at 100,000 races: peak Python memory and time per page.

Builds a SQLite database in a temporary directory (migrate, then N completed races copied
from one template row by a single INSERT ... SELECT), and streams /leaderboard.json and
/leaderboard.csv through Django's test client in this process, tracing allocations with
tracemalloc. Before paging, one request streamed every race (35 MB of JSON at 100,000 races).

    .venv/bin/python benchmarks/export_memory.py [--jobs 100000]
"""

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

SEED_SQL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s)
INSERT INTO jobs ({columns}) SELECT {values} FROM n, jobs t WHERE t.id = %s
"""
COPY = {
    "id": "'race-' || n.i",
    "repository_name": "'bulk/r' || (n.i %% 300)",
    "created_at": "t.created_at - n.i",
    "speedup": "CASE WHEN n.i %% 10 = 0 THEN NULL ELSE 0.5 + (n.i %% 97) / 20.0 END",
    "winner": "CASE WHEN n.i %% 97 <= 10 THEN 'standard' ELSE 'elide' END",
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="arena-export-")
    os.environ.update(DEBUG="1", DATABASE_PATH=str(Path(folder) / "bench.db"))
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "buildarena.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from jobs.models import Job

    call_command("migrate", verbosity=0)
    template = Job.objects.create(
        repository_url="https://github.com/bulk/t", repository_name="bulk/t", status="completed"
    )
    columns = [field.column for field in Job._meta.concrete_fields]
    values = [COPY.get(column, f"t.{column}") for column in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            SEED_SQL.format(columns=", ".join(columns), values=", ".join(values)),
            [args.jobs - 1, template.pk],
        )
    settings.ALLOWED_HOSTS = ["*"]
    settings.ARENA_EXPORT_RATE_LIMIT = 0
    settings.ARENA_EXPORT_CACHE_SECONDS = 0
    client = Client()
    print(f"{args.jobs} races")
    print("| request | bytes | peak traced memory | time |")
    print("| --- | --- | --- | --- |")
    for path in (
        "/leaderboard.json",
        "/leaderboard.csv",
        "/leaderboard.json?limit=10000&page=10",
        "/leaderboard.csv?limit=10000&page=10",
    ):
        b"".join(client.get(path).streaming_content)  # warm: figures cached per process
        started = time.perf_counter()
        size = sum(len(chunk) for chunk in client.get(path).streaming_content)
        elapsed = time.perf_counter() - started
        tracemalloc.start()  # a second request, traced (tracing slows it down several times)
        sum(len(chunk) for chunk in client.get(path).streaming_content)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"| `{path}` | {size:,} | {peak / 2**20:.1f} MiB | {elapsed * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
