"""Backup while workers race, then the README's restore steps, on a file of its own.

Real `run_worker` processes run a stream of fast races on a SQLite file; `backup_db` copies
it mid-stream. The copy passes PRAGMA integrity_check and holds every row committed before
the backup began; restored the README's way (copy over the file, delete -wal/-shm, migrate),
workers pick up where the copy left off and finish every race it held. On the PostgreSQL
pass of the suite the same drill uses pg_dump and pg_restore (docs/DATABASE.md).
"""

import shutil
import sqlite3
import subprocess
import sys
import time

import psycopg
import pytest
from django.db import connection

from tests.repos import make_git_repo
from tests.support import PROJECT_DIR, manage_py, require_tool, sqlite_env, wait_until

pytestmark = pytest.mark.slow

RECIPE = '["sh", "-c", "echo compiling; sleep 0.3; echo BUILD SUCCESS"]'
FAST_WORKERS = {
    "ARENA_HEARTBEAT_INTERVAL": "0.5",
    "ARENA_WORKER_POLL_INTERVAL": "0.2",
    "ARENA_WORKER_DEAD_AFTER": "3",
    "ARENA_WORKER_GRACE_PERIOD": "5",
    "ARENA_ALLOW_LOCAL_REPOS": "1",
}
QUEUE = f"""
import json
from django.conf import settings
from jobs.submissions.services import create_job
settings.ARENA_MAX_QUEUED_JOBS = 0
cmd = json.loads('{RECIPE}')
for _ in range({{count}}):
    print(create_job("{{repo}}", standard_cmd=cmd, elide_cmd=cmd).pk)
"""


def start_worker(db, name):
    return subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "manage.py"), "run_worker", "--worker-id", name],
        env={**sqlite_env(db), **FAST_WORKERS},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT_DIR,
    )  # fmt: skip


def stop(process):
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def query(db, sql):
    connection = sqlite3.connect(db, timeout=30)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_backup_under_load_and_restore(tmp_path):
    """SQLite on the SQLite pass of the suite, PostgreSQL (pg_dump) on the PostgreSQL pass."""
    require_tool("bwrap", "builds run in the bubblewrap sandbox")
    if connection.vendor == "postgresql":
        postgres_dump_under_load_and_restore(tmp_path)
    else:
        sqlite_backup_under_load_and_restore(tmp_path)


def sqlite_backup_under_load_and_restore(tmp_path):
    live = tmp_path / "build-arena.db"
    repo = make_git_repo(tmp_path / "repo", {"README.md": "backup drill\n"})
    manage_py(live, "migrate", "--noinput", env=FAST_WORKERS)
    manage_py(live, "shell", "-v", "0", "-c", QUEUE.format(count=16, repo=repo), env=FAST_WORKERS)
    workers = [start_worker(live, f"backup-{i}") for i in range(2)]
    try:
        assert wait_until(
            lambda: query(live, "SELECT COUNT(*) FROM jobs WHERE status = 'completed'")[0][0] >= 3,
            90,
            interval=0.2,
        ), "the workers did not complete races"
        committed = dict(query(live, "SELECT id, status FROM jobs"))
        manage_py(live, "backup_db", str(tmp_path / "backup.db"), env=FAST_WORKERS)
        finished_after = query(live, "SELECT COUNT(*) FROM jobs WHERE status = 'completed'")[0][0]
    finally:
        for worker in workers:
            stop(worker)

    backup = tmp_path / "backup.db"
    assert query(backup, "PRAGMA integrity_check") == [("ok",)]
    copied = dict(query(backup, "SELECT id, status FROM jobs"))
    assert set(committed) <= set(copied)
    for job_id, status in committed.items():
        if status == "completed":  # finished before the backup: finished in the copy too
            assert copied[job_id] == "completed"
    sides = query(
        backup,
        "SELECT j.id, COUNT(r.id) FROM jobs j LEFT JOIN build_results r ON r.job_id = j.id "
        "WHERE j.status = 'completed' GROUP BY j.id",
    )
    assert sides and all(count == 2 for _, count in sides)
    unfinished_in_copy = sum(status in ("queued", "running") for status in copied.values())
    assert unfinished_in_copy > 0, "the backup should catch the stream mid-way"
    assert finished_after >= 3

    # The README's restore: stop everything (done), copy over the file, delete -wal/-shm,
    # migrate, start the workers again.
    restored = tmp_path / "restored" / "build-arena.db"
    restored.parent.mkdir()
    shutil.copyfile(backup, restored)
    for suffix in ("-wal", "-shm"):
        restored.with_name(restored.name + suffix).unlink(missing_ok=True)
    manage_py(restored, "migrate", "--noinput", env=FAST_WORKERS)
    time.sleep(3.5)  # the copied workers' heartbeats are now stale: their races get requeued
    worker = start_worker(restored, "restored-0")
    try:
        assert wait_until(
            lambda: (
                not query(
                    restored, "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')"
                )[0][0]
            ),
            120,
            interval=0.2,
        ), query(restored, "SELECT id, status, worker_id FROM jobs")
    finally:
        stop(worker)
    outcomes = dict(query(restored, "SELECT status, COUNT(*) FROM jobs GROUP BY status"))
    assert outcomes.get("completed", 0) + outcomes.get("failed", 0) == len(copied)
    assert query(restored, "PRAGMA integrity_check") == [("ok",)]


class Postgres:
    """A scratch PostgreSQL database beside the test database, for the dump drill."""

    def __init__(self, name):
        db = connection.settings_dict
        self.name = name
        self.params = {
            "host": db["HOST"] or "127.0.0.1",
            "port": str(db["PORT"] or 5432),
            "user": db["USER"] or "postgres",
        }
        self.url = (
            f"postgres://{self.params['user']}@{self.params['host']}:{self.params['port']}/{name}"
        )

    def admin(self, sql):
        with psycopg.connect(dbname="postgres", autocommit=True, **self.params) as admin:
            admin.execute(sql)

    def create(self):
        self.drop()
        self.admin(f'CREATE DATABASE "{self.name}"')

    def drop(self):
        self.admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def env(self):
        env = sqlite_env("/nonexistent")
        env.pop("DATABASE_PATH")
        return {**env, **FAST_WORKERS, "DATABASE_URL": self.url}

    def manage(self, *args):
        return subprocess.run(
            [sys.executable, str(PROJECT_DIR / "manage.py"), *args], env=self.env(),
            capture_output=True, text=True, timeout=120, cwd=PROJECT_DIR, check=True,
        ).stdout  # fmt: skip

    def query(self, sql):
        with psycopg.connect(dbname=self.name, **self.params) as db:
            return db.execute(sql).fetchall()

    def worker(self, name):
        return subprocess.Popen(
            [sys.executable, str(PROJECT_DIR / "manage.py"), "run_worker", "--worker-id", name],
            env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=PROJECT_DIR,
        )  # fmt: skip

    def unfinished(self):
        return self.query("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")[0][0]


def postgres_dump_under_load_and_restore(tmp_path):
    """pg_dump while workers race, then pg_restore into a new database (docs/DATABASE.md)."""
    require_tool("pg_dump")
    require_tool("pg_restore")
    suffix = connection.settings_dict["NAME"].removeprefix("test_")
    live, restored = Postgres(f"backup_live_{suffix}"), Postgres(f"backup_restored_{suffix}")
    live.create()
    restored.create()
    try:
        repo = make_git_repo(tmp_path / "repo", {"README.md": "backup drill\n"})
        live.manage("migrate", "--noinput")
        live.manage("shell", "-v", "0", "-c", QUEUE.format(count=16, repo=repo))
        workers = [live.worker(f"backup-{i}") for i in range(2)]
        dump = tmp_path / "arena.dump"
        try:
            assert wait_until(
                lambda: (
                    live.query("SELECT COUNT(*) FROM jobs WHERE status = 'completed'")[0][0] >= 3
                ),
                90,
                interval=0.2,
            ), "the workers did not complete races"
            committed = dict(live.query("SELECT id, status FROM jobs"))
            subprocess.run(
                ["pg_dump", "-Fc", "-f", str(dump), "-h", live.params["host"],
                 "-p", live.params["port"], "-U", live.params["user"], live.name],
                check=True, timeout=120,
            )  # fmt: skip
        finally:
            for worker in workers:
                stop(worker)

        subprocess.run(
            ["pg_restore", "--no-owner", "-d", restored.name, "-h", restored.params["host"],
             "-p", restored.params["port"], "-U", restored.params["user"], str(dump)],
            check=True, timeout=120,
        )  # fmt: skip
        copied = dict(restored.query("SELECT id, status FROM jobs"))
        assert set(committed) <= set(copied)
        for job_id, status in committed.items():
            if status == "completed":
                assert copied[job_id] == "completed"
        sides = restored.query(
            "SELECT j.id, COUNT(r.id) FROM jobs j LEFT JOIN build_results r ON r.job_id = j.id "
            "WHERE j.status = 'completed' GROUP BY j.id"
        )
        assert sides and all(count == 2 for _, count in sides)
        assert sum(status in ("queued", "running") for status in copied.values()) > 0

        restored.manage("migrate", "--noinput")
        time.sleep(3.5)  # the dumped workers' heartbeats are stale: their races get requeued
        worker = restored.worker("restored-0")
        try:
            assert wait_until(lambda: not restored.unfinished(), 120, interval=0.2)
        finally:
            stop(worker)
        outcomes = dict(restored.query("SELECT status, COUNT(*) FROM jobs GROUP BY status"))
        assert outcomes.get("completed", 0) + outcomes.get("failed", 0) == len(copied)
    finally:
        live.drop()
        restored.drop()
