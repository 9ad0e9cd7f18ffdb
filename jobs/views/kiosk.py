"""Booth mode (/kiosk/): a screen nobody touches. It follows a live race while one runs,
holds that race's verdict for ARENA_KIOSK_HOLD_SECONDS once it ends (a void race is no result
and is not held), and otherwise cycles through the headline, the speedup chart and the latest
results. The site's address and a QR code to it stay on screen (jobs/showcase/site_qr.py).

The page swaps one server-rendered slide every ARENA_KIOSK_POLL_SECONDS (htmx, no other
JavaScript), replacing the previous slide's nodes, so it can run for days without growing.
Which slide shows is decided by the clock (ARENA_KIOSK_SLIDE_SECONDS each), so a reload (or
the no-JavaScript refresh) carries on the cycle.
"""

import datetime
import time

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from jobs.forms import DEFAULT_LEADERBOARD_FILTERS
from jobs.leaderboard.per_repository import chart_geometry
from jobs.live.snapshot import PAGE_OUTPUT_BYTES, read_sides
from jobs.models import Job, JobStatus
from jobs.outcomes.labels import outcome_of, tags_of, tool_name
from jobs.outcomes.vocabulary import VOID
from jobs.showcase.site_qr import qr_svg
from jobs.submissions.services import get_recent_results
from jobs.views.leaderboard import cached_figures

SLIDES = ("headline", "chart", "recent")
RECENT_RACES = 6
TAIL_LINES = 8
CLOCK_SKEW_SECONDS = 5
HOLD_CANDIDATES = 20


def live_race():
    """The running race that started last, or None."""
    return (
        Job.objects.filter(status=JobStatus.RUNNING)
        .order_by("-started_at", "-id")
        .only("id", "repository_name", "ref", "status", "mode", "iterations", "started_at")
        .first()
    )


def held_race(now):
    """The real race that finished within the last ARENA_KIOSK_HOLD_SECONDS, unless void."""
    hold = settings.ARENA_KIOSK_HOLD_SECONDS
    if hold <= 0:
        return None
    # Until a few seconds ahead of `now`: a worker's clock may run slightly ahead of this one.
    since, until = (
        datetime.datetime.fromtimestamp(moment, tz=datetime.UTC)
        for moment in (now - hold, now + CLOCK_SKEW_SECONDS)
    )
    # The newest completed races by jobs_status_created_idx (this runs on every poll of the
    # booth, and completed_at has no index); the one that ended last within the hold wins.
    newest = Job.objects.filter(status=JobStatus.COMPLETED).order_by("-created_at")
    ended = [
        race
        for race in newest[:HOLD_CANDIDATES]
        if not race.is_mock and race.completed_at and since <= race.completed_at <= until
    ]
    race = max(ended, key=lambda race: race.completed_at, default=None)
    if race is None or outcome_of(race).key == VOID:
        return None
    return race


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
    held = held_race(now)
    if held is not None:
        context.update(slide="result", job=held, standard_tool=_standard_tool(held))
        return context
    slide = SLIDES[int(now // max(settings.ARENA_KIOSK_SLIDE_SECONDS, 1)) % len(SLIDES)]
    context["slide"] = slide
    if slide == "recent":
        # A booth shows real races only, never demo data.
        recent = get_recent_results(RECENT_RACES * 5)
        # Results only: never demo data, void or not comparable races, operator or excluded
        # races (jobs/outcomes/labels.py).
        context["races"] = [
            job
            for job in recent
            if not job.is_mock and outcome_of(job).counted and not tags_of(job)
        ][:RECENT_RACES]
    else:
        # The leaderboard's default: warm, clean races; demo data left out.
        figures = cached_figures(DEFAULT_LEADERBOARD_FILTERS)
        totals = figures["totals"]
        context["totals"] = totals
        context["headline"] = figures["headline"]
        if slide == "chart":
            context["chart"] = chart_geometry(totals["histogram"], width=800, height=300)
    return context


def _standard_tool(job):
    result = job.results.filter(build_type="standard").only("tool").first()
    return tool_name(result.tool if result else "")


@require_GET
def kiosk(request):
    context = slide_context()
    site_url = request.build_absolute_uri("/")
    context["site_address"] = site_url.split("://", 1)[-1].rstrip("/")
    context["site_qr"] = qr_svg(site_url)
    return render(request, "kiosk/page.html", context)


@require_GET
def kiosk_slide(request):
    return render(request, "kiosk/slide.html", slide_context())
