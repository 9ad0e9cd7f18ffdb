"""Web throughput with 100,000 races: leaderboard, race page and output poll vs a trivial view.

Builds a SQLite database in a temporary directory (migrate + seed_mock_data --jobs N), adds one
running race with 60 KB of output, starts gunicorn on 127.0.0.1 and drives each endpoint with
several client processes for a fixed time. The trivial view is GET /health (a JsonResponse
through the same middleware) measured in the same run on the same server: the ratio of each
endpoint's requests per second to it is the figure that matters. On a shared machine, where
requests per second follow everyone else's load, the server's CPU time per request (gunicorn
workers' user + system time over the requests served) gives the same ratio without the noise.

    flock /tmp/arena-bench.lock .venv/bin/python benchmarks/web_bench.py [--jobs 100000]
    ... benchmarks/web_bench.py --postgres postgres://postgres@127.0.0.1:5432/arena_web_bench

With --postgres the database named in the URL is dropped and created afresh on that server.
"""

import argparse
import http.client
import multiprocessing
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent


def recreate_postgres_database(url):
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"unexpected database name {name!r}")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env, *args):
    subprocess.run(
        [sys.executable, str(PROJECT_DIR / "manage.py"), *args],
        env=env,
        cwd=PROJECT_DIR,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def shell_output(env, script):
    """What `manage.py shell -c SCRIPT` prints, run against the benchmark's database."""
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "manage.py"), "shell", "-v", "0", "-c", script],
        env=env,
        cwd=PROJECT_DIR,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def prepare_database(env, jobs):
    started = time.monotonic()
    manage(env, "migrate", "--noinput")
    # Measured right after the seed, which refreshes the planner's statistics itself.
    manage(env, "seed_mock_data", "--jobs", str(jobs), "--seed", "1")
    print(f"database: {jobs} races seeded in {time.monotonic() - started:.0f} s")
    script = """
from django.utils import timezone
from jobs.models import BuildResult, Job
job = Job.objects.create(repository_url="https://github.com/bench/live",
    repository_name="bench/live", status="running", started_at=timezone.now(), worker_id="w")
line = "[INFO] Compiling 42 source files to /workspace/target/classes\\n"
for side in ("elide", "standard"):
    BuildResult.objects.create(job=job, build_type=side, status="pending",
        started_at=timezone.now(), output=line * 1000)
finished = Job.objects.filter(status="completed").order_by("-speedup").first()
print(job.pk, len(line.encode()) * 1000, finished.pk)
"""
    out = shell_output(env, script).strip().splitlines()[-1].split()
    return out[0], int(out[1]), out[2]


def cold_figures_ms(env):
    script = """
import time
from jobs.views.leaderboard import cached_figures
from django.conf import settings
settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
times = []
for _ in range(3):
    t = time.perf_counter(); cached_figures({}); times.append((time.perf_counter() - t) * 1000)
print(min(times))
"""
    return float(shell_output(env, script).split()[-1])


def client(port, path, duration, queue):
    """Sequential requests for `duration` seconds; reports latencies in ms."""
    latencies = []
    end = time.monotonic() + duration
    while time.monotonic() < end:
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers={"HX-Request": "true"} if "/poll" in path else {})
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status not in (200, 204, 286):
            queue.put(f"{path}: HTTP {response.status}")
            return
        latencies.append((time.perf_counter() - started) * 1000)
    queue.put(latencies)


def server_cpu_seconds(server_pid):
    """CPU time (user + system) used so far by gunicorn's worker processes.

    On a shared machine requests per second follow the load of everything else; the CPU
    time the server spends per request does not, so it is reported too.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    total = 0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def measure(port, path, duration, clients, server_pid=None):
    cpu_before = server_cpu_seconds(server_pid) if server_pid else None
    queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=client, args=(port, path, duration, queue))
        for _ in range(clients)
    ]
    for proc in procs:
        proc.start()
    latencies, errors = [], []
    for _ in procs:
        result = queue.get()
        if isinstance(result, str):
            errors.append(result)
        else:
            latencies.extend(result)
    for proc in procs:
        proc.join()
    if errors:
        raise SystemExit(errors[0])
    latencies.sort()
    cpu = server_cpu_seconds(server_pid) - cpu_before if server_pid else 0.0
    return {
        "rps": len(latencies) / duration,
        "p50": statistics.median(latencies),
        "p95": latencies[int(len(latencies) * 0.95) - 1],
        "cpu_ms": cpu * 1000 / max(len(latencies), 1),
    }


def poll_url(port, live_id):
    """The poll URL the race page itself gives (offsets at the end and the state version)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", f"/jobs/{live_id}/")
    page = conn.getresponse().read().decode()
    conn.close()
    return re.search(r'hx-get="([^"]+/poll\?[^"]+)"', page).group(1).replace("&amp;", "&")


def wait_for_server(port, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=9.0, help="Seconds per endpoint.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds through the endpoints.")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes.")
    parser.add_argument("--postgres", default="", help="Use (and recreate) this database URL.")
    parser.add_argument(
        "--only-polls", action="store_true", help="The trivial view and the polls only."
    )
    args = parser.parse_args()
    if args.postgres:
        recreate_postgres_database(args.postgres)

    with tempfile.TemporaryDirectory(prefix="arena-web-bench-") as tmp:
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            "DATABASE_PATH": str(Path(tmp) / "bench.db"),
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "ARENA_MANIFEST_STATIC": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
        if args.postgres:
            env["DATABASE_URL"] = args.postgres
        live_id, output_bytes, finished_id = prepare_database(env, args.jobs)
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "buildarena.wsgi",
            ],
            env=env,
            cwd=PROJECT_DIR,
        )
        try:
            wait_for_server(port)
            unchanged_poll = poll_url(port, live_id)
            endpoints = [
                ("trivial view (GET /health)", "/health"),
                ("leaderboard, page 1", "/leaderboard/"),
                ("leaderboard, page 200", "/leaderboard/?page=200"),
                ("race page (finished race)", f"/jobs/{finished_id}/"),
                ("race page (running, 2x60 KB output)", f"/jobs/{live_id}/"),
                ("output poll (running, nothing new: 204)", unchanged_poll),
                (
                    # As the page polls: its version (headers unchanged), 1 KB behind per side.
                    "output poll (running, 1 KB new per side)",
                    re.sub(
                        r"elide=\d+&standard=\d+",
                        f"elide={output_bytes - 1000}&standard={output_bytes - 1000}",
                        unchanged_poll,
                    ),
                ),
                (  # the API counts characters: as many as bytes in this ASCII output
                    "API output (JSON, nothing new)",
                    f"/api/jobs/{live_id}/output?build_type=elide&offset={output_bytes}",
                ),
            ]
            if args.only_polls:
                endpoints = [e for e in endpoints if e[1] == "/health" or "poll" in e[1]]
            for _, path in endpoints:  # warm caches and connections
                measure(port, path, 0.5, 1)
            print(
                f"{'PostgreSQL' if args.postgres else 'SQLite'}: gunicorn {args.workers} workers, "
                f"{args.clients} client processes, {args.duration:.0f} s per endpoint "
                f"in {args.rounds} rounds, "
                f"{args.jobs} races"
            )
            print(
                f"{'endpoint':45} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'vs trivial':>10}"
                f" {'server CPU ms/req':>18} {'CPU vs trivial':>15}"
            )
            # Rounds through all endpoints, so that load from elsewhere on the machine falls on
            # every endpoint alike; each figure is the median over the rounds, and the ratio
            # is taken within each round (endpoint vs the trivial view just before it).
            rounds = {label: [] for label, _ in endpoints}
            for _ in range(args.rounds):
                for label, path in endpoints:
                    rounds[label].append(
                        measure(port, path, args.duration / args.rounds, args.clients, server.pid)
                    )
            for label, _ in endpoints:
                results = rounds[label]
                trivial = rounds[endpoints[0][0]]
                ratios = [r["rps"] / t["rps"] for r, t in zip(results, trivial, strict=True)]
                # Throughput ratio from server CPU: trivial's CPU per request over this one's.
                cpu_ratios = [
                    t["cpu_ms"] / r["cpu_ms"] if r["cpu_ms"] else 0.0
                    for r, t in zip(results, trivial, strict=True)
                ]
                print(
                    f"{label:45} {statistics.median(r['rps'] for r in results):8.0f}"
                    f" {statistics.median(r['p50'] for r in results):8.1f}"
                    f" {statistics.median(r['p95'] for r in results):8.1f}"
                    f" {statistics.median(ratios):10.2f}"
                    f" {statistics.median(r['cpu_ms'] for r in results):18.3f}"
                    f" {statistics.median(cpu_ratios):15.2f}"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"leaderboard figures computed cold (uncached): {cold_figures_ms(env):.0f} ms")


if __name__ == "__main__":
    main()
