"""/api/status: the health of the database, of the worker pool and of its toolchains.

Routed by workers/urls.py ahead of the jobs app's API routes (the pool is this app's to report).
"""

from django.db import DatabaseError
from django.db.models import Count
from django.http import JsonResponse
from django.utils import timezone

from jobs.api import _iso, api_view
from jobs.models import Job
from workers.models import Worker
from workers.scheduler import pool_health


@api_view("GET")
def service_status(request):
    """Per-component health: database (counts, latest jobs) and workers. 503 unless all ok."""
    checks = {}
    try:
        counts = dict(
            Job.objects.order_by()
            .values_list("status")
            .annotate(count=Count("pk"))
            .values_list("status", "count")
        )
        recent = [
            {
                "id": j.pk,
                "repositoryName": j.repository_name,
                "status": j.status,
                "createdAt": _iso(j.created_at),
            }
            for j in Job.objects.only("id", "repository_name", "status", "created_at")[:5]
        ]
        checks["database"] = {
            "status": "healthy",
            "jobs": {"total": sum(counts.values()), **counts},
            "recentJobs": recent,
        }
        pool = pool_health()
        checks["workers"] = {
            "status": "healthy" if pool.has_live_workers else "unhealthy",
            "alive": pool.alive,
            "accepting": pool.accepting,
            "capacity": pool.capacity,
            "load": pool.load,
            "queued": pool.queued,
            "total": Worker.objects.pool().count(),
            "message": pool.waiting_message or None,
        }
        checks["toolchains"] = toolchain_check()
    except DatabaseError as failure:
        checks["database"] = {"status": "unhealthy", "message": str(failure)[:300]}
        checks.setdefault("workers", {"status": "unknown"})
    healthy = all(check["status"] == "healthy" for check in checks.values())
    broken = any(check["status"] == "unhealthy" for check in checks.values())
    return JsonResponse(
        {
            "status": "healthy" if healthy else "unhealthy" if broken else "degraded",
            "timestamp": timezone.now().isoformat(),
            "checks": checks,
        },
        status=200 if healthy else 503,
    )


def toolchain_check():
    """Degraded when no live worker can run an Elide side: races would all come out void."""
    live = list(
        Worker.objects.pool()
        .alive()
        .values(
            "id", "runs_elide", "toolchains", "toolchains_probed_at", "noise_floor", "calibrated_at"
        )
    )
    with_elide = [row["id"] for row in live if row["runs_elide"]]
    check = {
        "status": "healthy" if with_elide else "degraded",
        "elideWorkers": with_elide,
        "workers": {
            row["id"]: {
                "runsElide": row["runs_elide"],
                "probedAt": _iso(row["toolchains_probed_at"]),
                "toolchains": row["toolchains"],
                "noiseFloor": _noise_floor(row),
            }
            for row in live
        },
    }
    if not with_elide:
        check["message"] = "No live worker can run an Elide side: races will be void."
    return check


def _noise_floor(row):
    """The worker's last calibration (workers/noise_floor.py), null until one has finished."""
    if not row["noise_floor"]:
        return None
    return {**row["noise_floor"], "calibratedAt": _iso(row["calibrated_at"])}
