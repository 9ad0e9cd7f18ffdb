"""The job list and the worker pool pages."""

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.utils import timezone
from django.views.decorators.http import require_GET

from jobs.forms import JobFilterForm
from jobs.models import BuildResult, Job
from jobs.views.partials import render_page_or_partial
from workers.models import Worker
from workers.scheduler import pool_health

JOBS_PER_PAGE = 25
_RESULT_COLUMNS = ("job_id", "build_type", "status", "duration", "duration_ms", "bell_rung")


def with_result_times(queryset):
    """Prefetch both results with only the columns lists show (one extra query per page)."""
    return queryset.prefetch_related(
        Prefetch("results", queryset=BuildResult.objects.only(*_RESULT_COLUMNS))
    )


@require_GET
def job_list(request):
    form = JobFilterForm(request.GET)
    queryset = Job.objects.order_by("-created_at", "-id").defer("standard_cmd", "elide_cmd")
    if form.is_valid():
        if form.cleaned_data["status"]:
            queryset = queryset.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["q"].strip():
            queryset = queryset.filter(repository_name__icontains=form.cleaned_data["q"].strip())
    page = Paginator(queryset, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = list(with_result_times(page.object_list))
    context = {"form": form, "page": page, "jobs": page.object_list}
    return render_page_or_partial(request, "jobs/list.html", "partials/job_table.html", context)


@require_GET
def worker_list(request):
    now = timezone.now()
    alive_ids = set(Worker.objects.alive(now).values_list("id", flat=True))
    workers = list(Worker.objects.order_by("id"))
    for worker in workers:
        worker.is_alive = worker.pk in alive_ids
    context = {
        "workers": workers,
        "alive_count": sum(1 for worker in workers if worker.is_alive),
        "pool": pool_health(now=now),
        "dead_after": settings.ARENA_WORKER_DEAD_AFTER,
    }
    return render_page_or_partial(request, "workers.html", "partials/worker_table.html", context)
