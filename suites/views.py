"""/versions/, /regressions/, a suite run's page, their JSON and the regressions' Atom feed."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render

from suites.models import Suite, SuiteRun
from suites.results import (
    change_json,
    changes,
    version_results,
    version_table,
    version_trend_geometry,
)


def versions_page(request):
    """Each suite's results per Elide version: headlines, the table, the trend."""
    results = version_results()
    suites = []
    for suite in Suite.objects.all():
        mine = [r for r in results if r.suite == suite.name]
        versions, rows = version_table(mine)
        suites.append(
            {
                "suite": suite,
                "results": mine,
                "versions": versions,
                "rows": rows,
                "trend": version_trend_geometry(mine),
                "runs": suite.runs_of_suite.all()[:10],
            }
        )
    context = {"suites": suites, "changes": changes()[:20]}
    return render(request, "suites/versions.html", context)


def versions_api(request):
    return JsonResponse({"versions": [r.as_json() for r in version_results()]})


def regressions_page(request):
    context = {
        "changes": changes()[:200],
        "threshold": f"{settings.ARENA_REGRESSION_THRESHOLD:.0%}",
    }
    return render(request, "suites/regressions.html", context)


def regressions_api(request):
    return JsonResponse({"regressions": [change_json(c) for c in changes()[:1000]]})


def suite_run_page(request, run_id):
    """A suite run's progress: each repository's newest race and how many have finished."""
    run = get_object_or_404(SuiteRun.objects.select_related("suite"), pk=run_id)
    races = sorted(run.latest_races().values(), key=lambda race: race.repository.position)
    finished = sum(1 for race in races if race.job.is_finished)
    context = {
        "run": run,
        "races": races,
        "finished": finished,
        "changes": run.suite.changes.filter(to_job__in=[race.job_id for race in races]),
    }
    return render(request, "suites/run.html", context)
