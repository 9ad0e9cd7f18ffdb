"""Helpers that keep the admin fast on large tables and its read-only displays safe.

The job list must stay quick with 100,000 jobs: the admin's paginator normally runs an exact
COUNT(*) of the filtered list on every page view, which on PostgreSQL is a full scan of the
table. CappedCountPaginator counts exactly only up to a limit and past it asks the database
for its estimate (PostgreSQL's planner), which is instant whatever the table size.
"""

import datetime
import json

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Case, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.utils.functional import cached_property
from django.utils.html import format_html

from jobs.live.terminal import strip_ansi
from jobs.models import BuildResult, BuildStatus, measured_ms_expression
from jobs.outcomes.numbers import duration_text

# Past this many matching rows the job list shows an estimate instead of an exact count.
EXACT_COUNT_LIMIT = 10_000
# The admin shows the end of a build's output; the job page has all of it.
OUTPUT_TAIL_CHARS = 50_000


class CappedCountPaginator(Paginator):
    """An exact count up to EXACT_COUNT_LIMIT rows, the database's estimate beyond it.

    The capped count is `SELECT COUNT(*) FROM (SELECT ... LIMIT n)`, bounded work whatever
    the table size. Beyond the cap PostgreSQL's planner estimate is used (EXPLAIN; no scan).
    SQLite has no estimate; its COUNT(*) walks the smallest index, a few milliseconds per
    100,000 rows (docs/BENCHMARKS.md), so there the exact count is kept.
    """

    exact_count_limit = EXACT_COUNT_LIMIT

    @cached_property
    def count(self):
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        unordered = queryset.order_by()
        capped = unordered[: self.exact_count_limit + 1].count()
        if capped <= self.exact_count_limit:
            return capped
        estimate = planner_row_estimate(unordered)
        if estimate is None:
            return unordered.count()
        return max(estimate, capped)


def planner_row_estimate(queryset):
    """PostgreSQL's estimate of how many rows `queryset` returns, or None elsewhere."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


NBSP = "\u00a0"


def format_ms(ms):
    """A measured time as every page writes it (jobs/outcomes/numbers.py): 45210 -> '45.21 s',
    78000 -> '1:18'; None -> '-' (non-breaking spaces: a duration never wraps in a list
    column)."""
    if ms is None:
        return "-"
    return duration_text(ms).replace(" ", NBSP)


def format_moment(moment):
    """A date and time on one line, to the second (no microseconds), with its zone (UTC)."""
    if moment is None:
        return "-"
    moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d") + NBSP + moment.strftime("%H:%M:%S") + NBSP + "UTC"


def output_tail_html(output):
    """A build's output for a read-only admin field: ANSI escapes stripped, escaped, in a
    scrolling <pre> (styled by static/css/admin.css: the CSP allows no inline style), which
    takes the keyboard's focus so that it scrolls without a mouse."""
    output = strip_ansi(output or "")
    hidden = max(len(output) - OUTPUT_TAIL_CHARS, 0)
    note = f"(first {hidden:,} characters not shown)\n" if hidden else ""
    return format_html(
        '<pre class="build-output" tabindex="0" role="region" aria-label="Build output">{}{}</pre>',
        note,
        output[hidden:],
    )


def mark_demo(queryset, is_mock):
    """Mark races as demo data (or as real ones); returns how many changed. The leaderboard's
    summary rows follow in the same transaction (the races' queryset update keeps them)."""
    ids = queryset.exclude(is_mock=is_mock).values_list("pk", flat=True)
    return queryset.model.objects.filter(pk__in=list(ids)).update(is_mock=is_mock)


def side_duration_ms(build_type):
    """The side's time in ms (NULL while pending) as a subquery on build_results: one index
    lookup per row the job list shows."""
    return Subquery(
        BuildResult.objects.filter(job=OuterRef("pk"), build_type=build_type)
        .order_by()
        .annotate(
            ms=Case(
                When(status=BuildStatus.PENDING, then=Value(None)),
                default=measured_ms_expression(),
                output_field=IntegerField(),
            )
        )
        .values("ms")[:1],
        output_field=IntegerField(),
    )
