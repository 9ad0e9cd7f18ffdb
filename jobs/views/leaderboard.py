"""The leaderboard page and its CSV/JSON export."""

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from jobs.forms import LeaderboardFilterForm
from jobs.leaderboard import ranking, totals
from jobs.statistics import chart_geometry, csv_lines, json_chunks, repository_statistics

RACES_PER_PAGE = 25


def cached_figures(filters):
    """Totals, histogram and per-repository statistics for these filters.

    They aggregate every matching race, so each web process keeps them for
    ARENA_LEADERBOARD_CACHE_SECONDS; the ranking itself is always read fresh.
    """
    seconds = settings.ARENA_LEADERBOARD_CACHE_SECONDS

    def compute():
        return {"totals": totals(filters), "repositories": repository_statistics(filters)}

    if seconds <= 0:
        return compute()
    key = "leaderboard:" + repr(sorted((k, str(v)) for k, v in filters.items()))
    figures = cache.get(key)
    if figures is None:
        figures = compute()
        cache.set(key, figures, seconds)
    return figures


@require_GET
def leaderboard(request):
    form = LeaderboardFilterForm(request.GET)
    filters = form.filters()
    figures = cached_figures(filters)
    page = Paginator(ranking(filters), RACES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "first_rank": page.start_index(),
        "totals": figures["totals"],
        "repositories": figures["repositories"],
        "chart": chart_geometry(figures["totals"]["histogram"]),
        "export_query": request.GET.copy().urlencode() if filters else "",
    }
    template = "partials/leaderboard_body.html" if request.htmx else "leaderboard.html"
    return render(request, template, context)


@require_GET
def leaderboard_csv(request):
    filters = LeaderboardFilterForm(request.GET).filters()
    response = StreamingHttpResponse(csv_lines(filters), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="leaderboard.csv"'
    return response


@require_GET
def leaderboard_json(request):
    filters = LeaderboardFilterForm(request.GET).filters()
    figures = cached_figures(filters)
    response = StreamingHttpResponse(
        json_chunks(filters, figures["totals"]), content_type="application/json"
    )
    response["Content-Disposition"] = 'inline; filename="leaderboard.json"'
    return response
