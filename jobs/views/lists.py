"""The job list page."""

from django.core.paginator import Paginator
from django.db.models import BooleanField, ExpressionWrapper, Prefetch
from django.views.decorators.http import require_GET

from jobs.forms import JobFilterForm
from jobs.models import BuildResult, Job
from jobs.outcomes.judging import public_race_condition
from jobs.views.partials import render_page_or_partial

# Races a page of every race list shows: the job list, the leaderboard, a repository's page.
RACES_PER_PAGE = 25
_RESULT_COLUMNS = ("job_id", "build_type", "status", "duration", "duration_ms", "bell_rung")


def with_result_times(queryset):
    """Prefetch both results with only the columns lists show (one extra query per page)."""
    return queryset.prefetch_related(
        Prefetch("results", queryset=BuildResult.objects.only(*_RESULT_COLUMNS))
    )


@require_GET
def job_list(request):
    form = JobFilterForm(request.GET)
    queryset = (
        Job.objects.order_by("-created_at", "-id")
        .defer("standard_cmd", "elide_cmd")
        .annotate(
            operator_race=ExpressionWrapper(~public_race_condition(), output_field=BooleanField())
        )
    )
    if form.is_valid():
        if form.cleaned_data["status"]:
            queryset = queryset.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["q"].strip():
            queryset = queryset.filter(repository_name__icontains=form.cleaned_data["q"].strip())
    page = Paginator(queryset, RACES_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = list(with_result_times(page.object_list))
    context = {"form": form, "page": page, "jobs": page.object_list}
    return render_page_or_partial(request, "jobs/list.html", "partials/job_table.html", context)
