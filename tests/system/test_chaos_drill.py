"""The chaos drills at a small size: workers SIGKILLed mid-race, and the database stalled.

scripts/chaos_drill.py runs real `manage.py run_worker` processes against the test database
with a fast real recipe; these tests check its report and, independently, the rows it left.
"""

import json
import subprocess
import sys

import pytest
from django.db import connection
from django.db.models import Count, Q

from jobs.models import Job
from tests.support import PROJECT_DIR, require_tool
from workers.models import Worker, WorkerAssignment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def run_drill(subprocess_env, tmp_path, *args):
    require_tool("git")
    require_tool("bwrap", "builds run in the bubblewrap sandbox")
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "chaos_drill.py"),
         "--seed", "7", "--log-dir", str(tmp_path / "logs"), *args],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_DIR,
    )  # fmt: skip
    connection.close()  # the PostgreSQL lock drill cuts every connection, ours included
    assert result.stdout.strip(), result.stderr[-3000:]
    report = json.loads(result.stdout)
    logs = "\n".join(p.read_text()[-1500:] for p in (tmp_path / "logs").glob("*.log"))
    assert report["problems"] == [], logs
    assert result.returncode == 0
    return report


def assert_end_state(report):
    """The same invariants as the drill's, checked from here."""
    jobs = Job.objects.all()
    assert jobs.count() == report["jobs"]
    assert not jobs.filter(status__in=["queued", "running"]).exists()
    assert not jobs.filter(status="failed", error="").exists()
    assert not jobs.filter(status="failed", error__startswith="internal error").exists()
    for job in jobs.filter(status="completed").prefetch_related("results"):
        assert sorted(r.status != "pending" for r in job.results.all()) == [True, True]
    assert not WorkerAssignment.objects.filter(completed_at__isnull=True).exists()
    workers = Worker.objects.annotate(
        open=Count("assignments", filter=Q(assignments__completed_at__isnull=True))
    )
    assert [(w.pk, w.current_load) for w in workers] == [(w.pk, w.open) for w in workers]


def test_killed_workers_lose_no_job(subprocess_env, tmp_path):
    report = run_drill(subprocess_env, tmp_path, "--workers", "3", "--jobs", "12", "--kills", "4")
    assert report["kills"] == 4
    assert report["worker_starts"] >= 3 + 4
    assert report["outcomes"].get("completed", 0) >= 6
    assert_end_state(report)


def test_a_stalled_database_loses_no_job(subprocess_env, tmp_path):
    report = run_drill(
        subprocess_env, tmp_path,
        "--workers", "2", "--jobs", "8", "--kills", "2", "--lock", "4", "--cancel", "0",
    )  # fmt: skip
    lock = report["lock"]
    assert lock["held_seconds"] == 4
    assert {a["request"] for a in lock["answers"]} == {
        "GET /api/jobs?limit=5", "GET /api/status", "POST /api/jobs"
    }  # fmt: skip
    assert all(a["status"] in (200, 201, 503) for a in lock["answers"]), lock["answers"]
    # A stall is not the races' fault: interrupted races go back to the queue, none fails.
    assert report["outcomes"] == {"completed": report["jobs"]}, report
    assert_end_state(report)
