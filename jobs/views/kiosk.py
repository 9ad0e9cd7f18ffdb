"""Booth mode (/kiosk/): a screen nobody touches. It follows a live race while one runs and
otherwise cycles through the headline, the speedup chart and the latest results.

The page swaps one server-rendered slide every ARENA_KIOSK_POLL_SECONDS (htmx, no other
JavaScript), replacing the previous slide's nodes, so it can run for days without growing.
Which slide shows is decided by the clock (ARENA_KIOSK_SLIDE_SECONDS each), so a reload (or
the no-JavaScript refresh) carries on the cycle.
"""

import time

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from jobs.forms import DEFAULT_LEADERBOARD_FILTERS
from jobs.leaderboard.per_repository import chart_geometry
from jobs.live.snapshot import PAGE_OUTPUT_BYTES, read_sides
from jobs.models import Job, JobStatus
from jobs.submissions.services import get_recent_results
from jobs.views.leaderboard import cached_figures

SLIDES = ("headline", "chart", "recent")
RECENT_RACES = 6
TAIL_LINES = 8


def live_race():
    """The running race that started last, or None."""
    return (
        Job.objects.filter(status=JobStatus.RUNNING)
        .order_by("-started_at", "-id")
        .only("id", "repository_name", "ref", "status", "mode", "iterations", "started_at")
        .first()
    )


def slide_context(now=None):
    now = time.time() if now is None else now
    context = {"poll_seconds": settings.ARENA_KIOSK_POLL_SECONDS}
    race = live_race()
    if race is not None:
        sides = read_sides(race, tail=PAGE_OUTPUT_BYTES // 50)
        for side in sides:
            side.tail_lines = side.text.splitlines()[-TAIL_LINES:]
        context.update(slide="live", job=race, sides=sides)
        return context
    slide = SLIDES[int(now // max(settings.ARENA_KIOSK_SLIDE_SECONDS, 1)) % len(SLIDES)]
    context["slide"] = slide
    if slide == "recent":
        # A booth shows real races only, never demo data.
        recent = get_recent_results(RECENT_RACES * 5)
        context["races"] = [job for job in recent if not job.is_mock][:RECENT_RACES]
    else:
        # The leaderboard's default: warm, clean races; demo data left out.
        figures = cached_figures(DEFAULT_LEADERBOARD_FILTERS)
        totals = figures["totals"]
        context["totals"] = totals
        context["headline"] = figures["headline"]
        if slide == "chart":
            context["chart"] = chart_geometry(totals["histogram"], width=800, height=300)
    return context


@require_GET
def kiosk(request):
    return render(request, "kiosk/page.html", slide_context())


@require_GET
def kiosk_slide(request):
    return render(request, "kiosk/slide.html", slide_context())
