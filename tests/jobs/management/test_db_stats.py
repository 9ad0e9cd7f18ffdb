"""The seed's monitoring commands, run unchanged with the sqlite3 CLI, and manage.py db_stats."""

import json
import subprocess
import time

import pytest
from django.core.management import call_command

from jobs.models import BuildResult, Job
from tests.support import manage_py, require_tool

# The original schema's monitoring commands, verbatim (docs/DATABASE.md, "Monitoring" and
# "Timestamps").
QUERY_DATABASE_STATS = """SELECT
  (SELECT COUNT(*) FROM jobs) as total_jobs,
  (SELECT COUNT(*) FROM jobs WHERE status='completed') as completed_jobs,
  (SELECT COUNT(*) FROM build_results) as total_results;"""
VIEW_RECENT_JOBS = """SELECT
  id, repository_name, status, datetime(created_at, 'unixepoch')
  FROM jobs
  ORDER BY created_at DESC
  LIMIT 10;"""


def sqlite3_cli(path, sql):
    return subprocess.run(
        ["sqlite3", str(path), sql], capture_output=True, text=True, timeout=30, check=True
    ).stdout


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory):
    """build-arena.db made the README's way: migrate, then seed_mock_data (+20 random races)."""
    require_tool("sqlite3", "the seed's monitoring commands use the sqlite3 CLI")
    path = tmp_path_factory.mktemp("monitoring") / "build-arena.db"
    before = int(time.time())
    manage_py(path, "migrate", "--noinput")
    manage_py(path, "seed_mock_data", "--jobs", "20", "--seed", "11")
    return path, before, int(time.time())


def test_query_database_stats_prints_the_counts(seeded_db):
    path, _, _ = seeded_db
    assert sqlite3_cli(path, QUERY_DATABASE_STATS).strip() == "25|25|50"


def test_view_recent_jobs_prints_correct_dates(seeded_db):
    path, before, after = seeded_db
    lines = sqlite3_cli(path, VIEW_RECENT_JOBS).strip().splitlines()
    assert len(lines) == 10
    rows = [line.split("|") for line in lines]
    # Newest first: the five mock races, created one to five hours before seeding.
    assert [row[0] for row in rows[:5]] == [f"mock-job-{n}" for n in range(1, 6)]
    assert rows[0][1:3] == ["spring-projects/spring-petclinic", "completed"]
    # The dates the CLI prints are the ones Django reads from the same rows.
    django_rows = manage_py(
        path, "shell", "-v", "0", "-c",
        "from jobs.models import Job\n"
        "for job in Job.objects.order_by('-created_at')[:10]:\n"
        "    print(job.id, int(job.created_at.timestamp()), job.created_at.isoformat(' '))",
    ).strip().splitlines()  # fmt: skip
    for row, django_row in zip(rows, django_rows, strict=True):
        job_id, _stamp, iso = django_row.split(" ", 2)
        assert row[0] == job_id
        assert row[3] == iso.removesuffix("+00:00")
    newest = int(django_rows[0].split(" ")[1])
    assert before - 3600 - 5 <= newest <= after - 3600 + 5


def test_db_stats_matches_the_seed_query(seeded_db):
    path, _, _ = seeded_db
    out = manage_py(path, "db_stats")
    assert "total_jobs      25" in out
    assert "completed_jobs  25" in out
    assert "total_results   50" in out
    figures = json.loads(manage_py(path, "db_stats", "--json"))
    assert figures["size_bytes"] >= path.stat().st_size > 0
    assert figures["database"] == str(path)


@pytest.mark.django_db
def test_db_stats_on_the_configured_database(capsys):
    call_command("seed_mock_data")
    Job.objects.create(repository_url="https://github.com/a/b", repository_name="a/b")
    capsys.readouterr()
    call_command("db_stats", "--json")
    figures = json.loads(capsys.readouterr().out)
    assert figures["total_jobs"] == Job.objects.count() == 6
    assert figures["completed_jobs"] == 5
    assert figures["total_results"] == BuildResult.objects.count() == 10
    assert figures["jobs_by_status"]["queued"] == 1
    assert figures["size_bytes"] > 0
    call_command("db_stats")
    assert "database_size" in capsys.readouterr().out


def test_deleting_a_job_with_the_sqlite3_cli_removes_its_results(tmp_path):
    """The CLI runs with foreign keys off; the database's own triggers still cascade."""
    require_tool("sqlite3")
    path = tmp_path / "build-arena.db"
    manage_py(path, "migrate", "--noinput")
    manage_py(path, "seed_mock_data")
    sqlite3_cli(path, "DELETE FROM jobs WHERE id = 'mock-job-1';")
    assert sqlite3_cli(path, QUERY_DATABASE_STATS).strip() == "4|4|8"
    orphans = "SELECT COUNT(*) FROM build_results WHERE job_id NOT IN (SELECT id FROM jobs);"
    assert sqlite3_cli(path, orphans).strip() == "0"
