"""backup_db: a consistent copy while another process writes; restore; clear errors."""

import os
import sqlite3
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.support import PROJECT_DIR, manage_py, sqlite_env

# A worker-like writer: one job and its two results per transaction, as fast as it can.
WRITER = """
import os, time
from django.db import transaction
from jobs.models import BuildResult, Job
n = 0
while not os.path.exists(os.environ["STOP_FILE"]):
    with transaction.atomic():
        job = Job.objects.create(repository_url="https://github.com/a/b", repository_name="a/b")
        BuildResult.objects.create(job=job, build_type="elide", output="x" * 2000)
        BuildResult.objects.create(job=job, build_type="standard", output="y" * 2000)
    n += 1
    if n == 50:
        print("writing", flush=True)
print("wrote", n, flush=True)
"""


def backup_counts(path):
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert (
            db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        )  # one self-contained file
        jobs = db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        # Consistent: every job has both results (they were written in one transaction).
        incomplete = db.execute(
            "SELECT COUNT(*) FROM jobs WHERE (SELECT COUNT(*) FROM build_results r"
            " WHERE r.job_id = jobs.id) != 2"
        ).fetchone()[0]
        results = db.execute("SELECT COUNT(*) FROM build_results").fetchone()[0]
    finally:
        db.close()
    return jobs, results, incomplete


def test_backup_while_another_process_writes(tmp_path):
    live = tmp_path / "build-arena.db"
    manage_py(live, "migrate", "--noinput")
    stop_file = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "manage.py"), "shell", "-v", "0", "-c", WRITER],
        env={**sqlite_env(live), "STOP_FILE": str(stop_file)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT_DIR,
    )  # fmt: skip
    try:
        assert writer.stdout.readline().strip() == "writing"
        copies = []
        for n in range(3):
            dest = tmp_path / f"copy-{n}.db"
            out = manage_py(live, "backup_db", str(dest))
            assert f"to {dest}" in out
            copies.append(backup_counts(dest))
            time.sleep(0.2)
    finally:
        stop_file.touch()
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    written = int(out.split()[-1])
    for jobs, results, incomplete in copies:
        assert incomplete == 0 and results == 2 * jobs
        assert 50 <= jobs <= written
    assert copies[0][0] < copies[-1][0]  # the writer kept going during the backups

    # Restore: the copy replaces the database file (and its -wal/-shm are removed).
    restored = tmp_path / "restored" / "build-arena.db"
    restored.parent.mkdir()
    restored.write_bytes((tmp_path / "copy-2.db").read_bytes())
    assert f"total_jobs      {copies[2][0]}" in manage_py(restored, "db_stats")


def test_backup_destinations_and_errors(tmp_path):
    live = tmp_path / "build-arena.db"
    manage_py(live, "migrate", "--noinput")
    manage_py(live, "seed_mock_data")
    backups = tmp_path / "backups"
    backups.mkdir()
    manage_py(live, "backup_db", str(backups))
    (made,) = backups.iterdir()
    assert made.name.startswith("build-arena-") and made.suffix == ".db"
    assert backup_counts(made)[:2] == (5, 10)

    def fails(*args):
        result = subprocess.run(
            [sys.executable, str(PROJECT_DIR / "manage.py"), "backup_db", *args],
            env=sqlite_env(live), capture_output=True, text=True, cwd=PROJECT_DIR, timeout=60,
        )  # fmt: skip
        assert result.returncode != 0 and "Traceback" not in result.stderr
        return result.stderr

    before = made.read_bytes()
    assert "already exists" in fails(str(made))
    assert made.read_bytes() == before
    assert "does not exist" in fails(str(tmp_path / "missing" / "x.db"))
    assert "is the database itself" in fails(str(live), "--overwrite")
    manage_py(live, "backup_db", str(made), "--overwrite")
    assert sorted(os.listdir(backups)) == [made.name]  # no temporary file left behind


@pytest.mark.django_db(transaction=True)
def test_backup_of_the_configured_database(tmp_path, capsys):
    call_command("seed_mock_data")
    dest = tmp_path / "copy.db"
    if connection.vendor == "postgresql":
        with pytest.raises(CommandError, match="pg_dump"):
            call_command("backup_db", str(dest))
        assert not dest.exists()
    else:
        call_command("backup_db", str(dest))
        assert backup_counts(dest)[:2] == (5, 10)
