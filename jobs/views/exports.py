"""/leaderboard.csv and /leaderboard.json: paged, streamed, cached and rate limited.

A page holds ARENA_EXPORT_PAGE_ROWS races unless ?limit= asks for up to ARENA_EXPORT_MAX_ROWS;
?page=N walks on, and the Link header (rel="next") and X-Total-Count say where and how far.
Rows are streamed from a database cursor, so memory stays bounded by the page, not the
leaderboard. Each process keeps a rendered page for ARENA_EXPORT_CACHE_SECONDS, and each client
may ask ARENA_EXPORT_RATE_LIMIT times per ARENA_EXPORT_RATE_WINDOW seconds (429 beyond).
"""

import hashlib
import math

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from jobs.forms import LeaderboardFilterForm
from jobs.leaderboard.per_repository import csv_lines, json_chunks
from jobs.submissions import ratelimit
from jobs.views.leaderboard import cached_figures

# A rendered page is cached only below this size (a 10,000-row JSON page is about 4 MB).
CACHE_MAX_BYTES = 8 * 1024 * 1024
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
DISPOSITIONS = {"csv": "attachment", "json": "inline"}


class BadParameter(ValueError):
    pass


def _positive_int(request, name, default, maximum):
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or not 1 <= int(raw) <= maximum:
        raise BadParameter(f"'{name}' must be a whole number from 1 to {maximum}.")
    return int(raw)


def _page_window(request):
    """(page, limit) from the query string, or BadParameter."""
    limit = _positive_int(
        request, "limit", settings.ARENA_EXPORT_PAGE_ROWS, settings.ARENA_EXPORT_MAX_ROWS
    )
    page = _positive_int(request, "page", 1, 10**9)
    return page, limit


def _caching(chunks, key, seconds):
    """Pass chunks through, keeping them for the cache while they stay under CACHE_MAX_BYTES."""
    kept, size = ([], 0) if seconds > 0 else (None, 0)
    for chunk in chunks:
        data = chunk.encode()
        if kept is not None:
            size += len(data)
            if size <= CACHE_MAX_BYTES:
                kept.append(data)
            else:
                kept = None
        yield data
    if kept is not None:
        cache.set(key, b"".join(kept), seconds)


def _page_link(request, page, limit):
    query = request.GET.copy()
    query["page"] = str(page)
    query["limit"] = str(limit)
    return request.build_absolute_uri(request.path + "?" + query.urlencode())


def export(request, kind):
    filters = LeaderboardFilterForm(request.GET).filters()
    try:
        page, limit = _page_window(request)
    except BadParameter as bad:
        return HttpResponse(str(bad), status=400, content_type="text/plain; charset=utf-8")
    allowed = ratelimit.hit(
        "export:" + ratelimit.client_key(request),
        limit=settings.ARENA_EXPORT_RATE_LIMIT,
        window=settings.ARENA_EXPORT_RATE_WINDOW,
    )
    if not allowed.allowed:
        response = HttpResponse(
            f"Too many exports; try again in {allowed.retry_after} s.",
            status=429,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(allowed.retry_after)
        return response

    figures = cached_figures(filters)
    total = figures["totals"]["races"]
    pages = max(1, math.ceil(total / limit))
    start = (page - 1) * limit
    window = {
        "start": start,
        "stop": start + limit,
        "ranked_count": figures["totals"]["with_speedup"],
    }
    described = repr(sorted((k, str(v)) for k, v in filters.items())).encode()
    key = f"export:{kind}:{hashlib.sha256(described).hexdigest()}:{page}:{limit}"
    body = cache.get(key)
    if body is None:
        if kind == "csv":
            chunks = csv_lines(filters, **window)
        else:
            description = {"number": page, "size": limit, "pages": pages, "total": total}
            chunks = json_chunks(
                filters,
                figures["totals"],
                figures["repositories"],
                figures["headline"],
                page=description,
                **window,
            )
        seconds = settings.ARENA_EXPORT_CACHE_SECONDS
        response = StreamingHttpResponse(_caching(chunks, key, seconds))
    else:
        response = HttpResponse(body)
    response["Content-Type"] = CONTENT_TYPES[kind]
    response["Content-Disposition"] = f'{DISPOSITIONS[kind]}; filename="leaderboard.{kind}"'
    response["X-Total-Count"] = str(total)
    if page < pages:
        response["Link"] = f'<{_page_link(request, page + 1, limit)}>; rel="next"'
    return response


@require_GET
def leaderboard_csv(request):
    return export(request, "csv")


@require_GET
def leaderboard_json(request):
    return export(request, "json")
