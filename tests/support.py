"""Helpers the tests share: the project's directory, tools a test needs, waiting, child processes.

Kept out of conftest.py so that test modules import them like any other module.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from workers.engine.racing.race import RaceListener, RaceSpec, run_race

PROJECT_DIR = Path(__file__).resolve().parent.parent


def require_tool(path_or_name, why=""):
    """Skip (fail under ARENA_STRICT_TESTS) when a tool the test needs is missing."""
    if shutil.which(path_or_name) is None and not Path(path_or_name).exists():
        pytest.skip(f"{path_or_name} is not installed{': ' + why if why else ''}")


LOCAL_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"


def require_local_postgres():
    """Skip (fail under ARENA_STRICT_TESTS) when the local PostgreSQL that `bin/ensure-postgres`
    sets up is not listening: tests that probe it run on SQLite runs too."""
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
    except OSError as error:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432 ({error}); run bin/ensure-postgres as root")
    return LOCAL_POSTGRES_URL


def wait_until(predicate, timeout=5, interval=0.02):
    """Poll `predicate` until it is true or `timeout` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def run_in_threads(calls, timeout=60):
    """Run every `(function, *args)` of `calls` at once, each in a thread with its own database
    connection (closed when it ends); fail with the first exception a thread raised (it would
    otherwise be lost with the thread) or when one is still running after `timeout` seconds."""
    from django.db import connection

    errors = []

    def run(function, *args):
        try:
            function(*args)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    assert not any(thread.is_alive() for thread in threads), f"still running after {timeout} s"


def sqlite_env(path):
    """A child process on its own SQLite file, whatever database the tests use."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("DATABASE_URL", None)
    env.update(DATABASE_PATH=str(path), DEBUG="1", DJANGO_SETTINGS_MODULE="buildarena.settings")
    return env


def manage_py(path, *args, env=None):
    """Run `manage.py ARGS` on the SQLite file `path` (plus `env`); its standard output."""
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "manage.py"), *args],
        env={**sqlite_env(path), **(env or {})}, capture_output=True, text=True, timeout=120,
        cwd=PROJECT_DIR, check=True,
    ).stdout  # fmt: skip


def searchable(path):
    """Make `path` and its parent searchable (o+x, not listable) by the build account."""
    for directory in (path, path.parent):
        if directory.stat().st_uid == os.geteuid():
            directory.chmod(directory.stat().st_mode | 0o001)
    return path


def hear_everything_committed(cache):
    """Wait until the race state listener feeding `cache` (jobs/live/race_state_cache.py) has heard
    every notification committed so far: PostgreSQL delivers them in commit order, so once a
    marker sent now is heard, so is everything before it."""
    import uuid

    from django.db import connection

    from jobs.live.race_state_cache import CHANNEL

    marker = f"marker-{uuid.uuid4()}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, marker])
    assert wait_until(lambda: cache.last_heard(marker) is not None), "the listener is deaf"


def new_marker():
    """Digits in a sleep's fraction (`sleep 60.000123456`) that find its process in /proc."""
    return f"000{uuid.uuid4().int % 10**9:09d}"


def processes_with(marker):
    """The pids of live processes whose command line holds `marker`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if marker.encode() in cmdline.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


class OutputListener(RaceListener):
    """A race listener that keeps each side's whole output."""

    def __init__(self):
        self.output = {"standard": "", "elide": ""}

    def on_output(self, side, text, elapsed_ms):
        self.output[side] += text


def timed_race(config, repo, **spec):
    """(outcome, each side's whole output, wall-clock seconds) of one race of `repo`."""
    listener = OutputListener()
    started = time.monotonic()
    outcome = run_race(RaceSpec(str(repo), **spec), config, listener)
    return outcome, listener.output, time.monotonic() - started
