"""The leaderboard page (its exports are in jobs/views/exports.py)."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from jobs.forms import LeaderboardFilterForm
from jobs.leaderboard.figures import totals
from jobs.leaderboard.headline import current_headline
from jobs.leaderboard.per_repository import (
    add_median_speedups,
    chart_geometry,
    repository_statistics,
)
from jobs.leaderboard.ranking import Ranking, attach_side_times
from jobs.views.lists import RACES_PER_PAGE
from jobs.views.partials import render_page_or_partial


def cached_figures(filters):
    """Totals, chart and per-repository statistics for these filters, data and HTML.

    They aggregate every matching race, so each web process keeps them (rendered) for
    ARENA_LEADERBOARD_CACHE_SECONDS; the ranking itself is always read fresh.
    """
    seconds = settings.ARENA_LEADERBOARD_CACHE_SECONDS

    def compute():
        figures = totals(filters)
        repositories = add_median_speedups(repository_statistics(filters), filters)
        statement = current_headline(filters)
        context = {
            "headline": statement,
            "totals": figures,
            "repositories": repositories,
            "chart": chart_geometry(figures["histogram"]),
        }
        return {
            "headline": statement,
            "totals": figures,
            "repositories": repositories,
            # The headline leads the page, above the filters (leaderboard.html).
            "headline_html": render_to_string("partials/leaderboard_headline.html", context),
            "figures_html": render_to_string("partials/leaderboard_figures.html", context),
            "repos_html": render_to_string("partials/leaderboard_repos.html", context),
        }

    if seconds <= 0:
        return compute()
    described = repr(sorted((k, str(v)) for k, v in filters.items()))
    key = "leaderboard:" + hashlib.sha256(described.encode()).hexdigest()[:32]
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
    counts = figures["totals"]
    races = Ranking(filters, total=counts["races"], ranked_count=counts["with_speedup"])
    page = Paginator(races, RACES_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = attach_side_times(list(page.object_list))
    context = {
        "form": form,
        "page": page,
        "first_rank": page.start_index(),
        "headline_html": mark_safe(figures["headline_html"]),  # noqa: S308 (rendered above)
        # A filter change swaps the body; the headline above the filters follows out of band.
        "headline_out_of_band": bool(request.htmx),
        "figures_html": mark_safe(figures["figures_html"]),  # noqa: S308 (rendered above)
        "repos_html": mark_safe(figures["repos_html"]),  # noqa: S308 (rendered above)
        "export_query": request.GET.copy().urlencode() if filters else "",
    }
    return render_page_or_partial(
        request, "leaderboard.html", "partials/leaderboard_body.html", context
    )
