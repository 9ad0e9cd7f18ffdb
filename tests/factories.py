"""Races made directly in the database for the tests of pages, API, leaderboard and admin."""

import datetime

from django.utils import timezone

from jobs.models import BuildResult, Job
from workers.models import WorkerAssignment


def make_race(
    name="acme/widgets",
    *,
    elide_ms=30_000,
    standard_ms=60_000,
    status="completed",
    elide_status="success",
    standard_status="success",
    created_at=None,
    is_mock=False,
    output="",
    timing="",
    iterations=1,
    elide_error_kind=None,
    elide_error="",
    **job_fields,
):
    """A race with both results; winner and speedup set as the engine sets them."""
    created_at = created_at or timezone.now()
    job = Job.objects.create(
        repository_url=f"https://github.com/{name}",
        repository_name=name,
        status=status,
        created_at=created_at,
        started_at=created_at,
        completed_at=created_at + datetime.timedelta(seconds=90) if status != "running" else None,
        is_mock=is_mock,
        iterations=iterations,
        **job_fields,
    )
    sides = (("elide", elide_ms, elide_status), ("standard", standard_ms, standard_status))
    for build_type, ms, side_status in sides:
        BuildResult.objects.create(
            job=job,
            build_type=build_type,
            status=side_status,
            duration=ms // 1000,
            duration_ms=ms if side_status != "pending" else None,
            run_times_ms=[ms - 100, ms, ms + 100] if iterations > 1 else [ms],
            bell_rung=side_status != "pending",
            exit_code=0 if side_status == "success" else 1 if side_status == "failure" else None,
            tool="elide" if build_type == "elide" else "maven",
            tool_version="1.0.0" if build_type == "elide" else "3.8.7",
            started_at=created_at,
            output=output,
            output_timing=timing,
            error_kind=elide_error_kind if build_type == "elide" else None,
            error=elide_error if build_type == "elide" else "",
        )
    if status == "completed":
        job.refresh_from_db()
        job.summarize()
        job.save()
    return job


def make_running_race(name="acme/live", output=""):
    job = Job.objects.create(
        repository_url=f"https://github.com/{name}",
        repository_name=name,
        status="running",
        started_at=timezone.now(),
        worker_id="worker-1",
    )
    for build_type in ("elide", "standard"):
        BuildResult.objects.create(
            job=job,
            build_type=build_type,
            status="pending",
            started_at=timezone.now(),
            output=output,
        )
    return job


def make_numbered_race(n=0, *, status="completed", worker=None, output="[INFO] BUILD SUCCESS"):
    """Race number `n` (id job-000n), created n minutes ago, optionally assigned to `worker`."""
    now = timezone.now()
    job = Job.objects.create(
        id=f"job-{n:04d}",
        repository_url=f"https://github.com/owner/repo{n}",
        repository_name=f"owner/repo{n}",
        status=status,
        created_at=now - datetime.timedelta(minutes=n),
        started_at=now - datetime.timedelta(minutes=n) if status != "queued" else None,
        worker_id=worker.pk if worker else None,
        iterations=3,
    )
    if status in ("completed", "running"):
        BuildResult.objects.create(
            job=job, build_type="standard", status="success", duration=78, duration_ms=78_000,
            run_times_ms=[77_900, 78_000, 78_100], output=output, bell_rung=True,
        )  # fmt: skip
        BuildResult.objects.create(
            job=job,
            build_type="elide",
            status="success" if status == "completed" else "pending",
            duration=45,
            duration_ms=45_000,
            run_times_ms=[44_900, 45_000, 45_100],
            output="🔔 BUILD COMPLETE 🔔",
        )
        job.refresh_from_db()
        if status == "completed":
            job.summarize()
            job.save()
    if worker:
        WorkerAssignment.objects.create(job=job, worker=worker)
    return job
