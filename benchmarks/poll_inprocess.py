"""The live poll against the trivial view in-process: CPU per call through Django's WSGI
handler (every middleware, no HTTP server, no network), to see where a poll's time goes.

Builds a fresh database (a temporary SQLite file, or the PostgreSQL database named by
--postgres, created afresh and dropped at the end), seeds a few races plus one running race
with 60 KB of output per side (as benchmarks/web_bench.py does), then calls, round by round:
GET /health, the poll with nothing new (204, the page's own poll URL) and the poll with 1 KB
new per side. Each round's ratio is the trivial view's CPU per call over the endpoint's; the
median over rounds is printed. On PostgreSQL, the CPU the database server's backend spent per
call is printed beside it (read from /proc: the server runs on this machine), and the poll
with nothing new is measured twice: answered from the race state the process keeps
(jobs/live/race_state_cache.py; its listener thread runs, and its CPU counts) and with
ARENA_POLL_STATE_CACHE off, interleaved in the same rounds. --profile adds a cProfile listing
per endpoint.

    .venv/bin/python benchmarks/poll_inprocess.py [--postgres postgres://.../arena_poll_inproc]
"""

import argparse
import cProfile
import io
import os
import pstats
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def setup_django(args, tmp):
    os.environ.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS="127.0.0.1",
        ARENA_MANIFEST_STATIC="0",
        LOG_LEVEL="WARNING",
        DATABASE_PATH=str(Path(tmp) / "bench.db"),
        DJANGO_SETTINGS_MODULE="buildarena.settings",
    )
    os.environ.pop("DATABASE_URL", None)
    if args.postgres:
        sys.path.insert(0, str(PROJECT_DIR / "benchmarks"))
        from web_bench import recreate_postgres_database

        recreate_postgres_database(args.postgres)
        os.environ["DATABASE_URL"] = args.postgres
    sys.path.insert(0, str(PROJECT_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_mock_data", "--jobs", str(args.jobs), "--seed", "1", verbosity=0)


def live_race():
    """A running race with 60 KB of Maven-like output per side: its id and output length in
    bytes (the poll's positions)."""
    from tests.factories import make_running_race

    output = "[INFO] Compiling 42 source files to /workspace/target/classes\n" * 1000
    return make_running_race("bench/live", output=output).pk, len(output.encode())


def caller():
    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()

    def call(path, query="", htmx=False):
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
        }
        if htmx:
            environ["HTTP_HX_REQUEST"] = "true"
        status = []
        body = b"".join(app(environ, lambda line, headers: status.append(line)))
        return int(status[0].split()[0]), body

    return call


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="", help="Use (and recreate) this database URL.")
    parser.add_argument("--jobs", type=int, default=1000, help="Races seeded first.")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200, help="Calls per endpoint per round.")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arena-poll-bench-") as tmp:
        setup_django(args, tmp)
        job_id, length = live_race()
        call = caller()
        page = call(f"/jobs/{job_id}/")[1].decode()
        url = re.search(r'hx-get="([^"]+/poll\?[^"]+)"', page).group(1).replace("&amp;", "&")
        path, query = url.split("?", 1)
        behind = f"elide={length - 1000}&standard={length - 1000}"
        endpoints = {
            "trivial view (GET /health)": ("/health", "", False, 200),
            "poll, nothing new (204)": (path, query, True, 204),
            "poll, 1 KB new per side": (
                path,
                re.sub(r"elide=\d+&standard=\d+", behind, query),
                True,
                200,
            ),
        }
        if args.postgres:
            endpoints[UNCACHED_204] = (path, query, True, 204)
            wait_for_the_state_listener(call, path, query)
        for label, (path, query, htmx, expected) in endpoints.items():
            status = endpoint_call(call, label, path, query, htmx)[0]
            if status != expected:
                raise SystemExit(f"{label}: HTTP {status}, expected {expected}")
        cpu = {label: [] for label in endpoints}
        server_cpu = {label: [] for label in endpoints}
        server = database_server_clock()
        for _ in range(args.rounds):
            for label, (path, query, htmx, _) in endpoints.items():
                set_state_cache(label)
                started, server_started = time.process_time(), server()
                for _ in range(args.calls):
                    call(path, query, htmx)
                cpu[label].append((time.process_time() - started) * 1000 / args.calls)
                server_cpu[label].append((server() - server_started) * 1000 / args.calls)
        trivial = cpu["trivial view (GET /health)"]
        print(
            f"{'PostgreSQL' if args.postgres else 'SQLite'}, in-process, {args.rounds} rounds of "
            f"{args.calls} calls each"
        )
        header = f"{'endpoint':30} {'CPU ms/call':>12} {'vs trivial':>11}"
        print(f"{header} {'DB server CPU ms/call':>22}")
        for label, times in cpu.items():
            ratio = statistics.median(t / c for t, c in zip(trivial, times, strict=True))
            database = f"{statistics.median(server_cpu[label]):.3f}" if args.postgres else "-"
            print(f"{label:30} {statistics.median(times):12.3f} {ratio:11.2f} {database:>22}")
        if args.postgres:
            from jobs.live import race_state_cache

            cache = race_state_cache.process_cache()
            print(f"race states kept: {len(cache)}, listener listening: {cache.listening}")
            race_state_cache.shutdown()  # its connection would keep the database from a drop
        if args.profile:
            for label, (path, query, htmx, _) in endpoints.items():
                set_state_cache(label)
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(args.calls):
                    call(path, query, htmx)
                profile.disable()
                report = io.StringIO()
                pstats.Stats(profile, stream=report).sort_stats("tottime").print_stats(25)
                print(f"--- {label}\n{report.getvalue()}")
        from django.db import connections

        connections.close_all()
    if args.postgres:
        drop_postgres_database(args.postgres)


UNCACHED_204 = "poll, nothing new, uncached"


def set_state_cache(label):
    """The kept race states on, except for the endpoint measured without them."""
    from django.conf import settings

    settings.ARENA_POLL_STATE_CACHE = label != UNCACHED_204


def endpoint_call(call, label, path, query, htmx):
    set_state_cache(label)
    return call(path, query, htmx)


def wait_for_the_state_listener(call, path, query):
    """PostgreSQL: the first poll starts the listener; measure once it listens (and the next
    poll has kept the race's state)."""
    from jobs.live import race_state_cache

    call(path, query, True)
    cache = race_state_cache.process_cache()
    deadline = time.monotonic() + 10
    while not cache.listening:
        if time.monotonic() > deadline:
            raise SystemExit("the race state listener did not start listening within 10 s")
        time.sleep(0.05)
    call(path, query, True)


def database_server_clock():
    """Seconds of CPU the PostgreSQL backend serving this process has used (its /proc entry:
    the server runs on this machine), or 0 on SQLite, whose work is in the process itself."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return lambda: 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    ticks = os.sysconf("SC_CLK_TCK")

    def clock():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    return clock


def drop_postgres_database(url):
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {parts.path.lstrip('/')}")


if __name__ == "__main__":
    main()
