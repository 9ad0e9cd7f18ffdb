"""A repository's page, its badge and a race's share card."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import BadRequest, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from jobs.leaderboard.repository_stats import (
    RaceKind,
    race_kinds,
    repository_summary,
    toolchains,
    trend_geometry,
)
from jobs.models import Job, JobStatus
from jobs.outcomes.labels import ELIDE_COLOUR, NEUTRAL_COLOUR, OUTCOMES, STANDARD_COLOUR
from jobs.outcomes.numbers import interval_text, speedup_text
from jobs.outcomes.verdict import Tolerances, in_tie_band
from jobs.outcomes.vocabulary import TIE
from jobs.showcase.share_card import race_card_png, text_width
from jobs.submissions.services import get_job
from jobs.submissions.validation import validate_build_options
from jobs.views.lists import RACES_PER_PAGE, with_result_times

BADGE_MAX_AGE = 300  # seconds: a badge on a README follows new races within minutes
CARD_MAX_AGE = 86400  # a finished race's card never changes


def repository_name_or_404(owner, name):
    full = f"{owner}/{name}"
    if len(full) > 201 or not Job.objects.filter(repository_name=full).exists():
        raise Http404("No race of that repository yet.")
    return full


def requested_kind(request):
    """The race kind named by ?cache=&scenario= (warm and clean when absent); 400 otherwise."""
    try:
        return RaceKind(
            *validate_build_options(request.GET.get("cache"), request.GET.get("scenario"))
        )
    except ValidationError as invalid:
        raise BadRequest(" ".join(invalid.messages)) from None


@require_GET
def repository_page(request, owner, name):
    full = repository_name_or_404(owner, name)
    kind = requested_kind(request)
    races = kind.races_of(full).order_by("-created_at", "-id")
    page = Paginator(races.defer("standard_cmd", "elide_cmd"), RACES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    page.object_list = list(with_result_times(page.object_list))
    latest = races.filter(status=JobStatus.COMPLETED).only("id").first()
    context = {
        "repository_name": full,
        "owner": owner,
        "name": name,
        "repository_url": Job.objects.filter(repository_name=full)
        .values_list("repository_url", flat=True)
        .first(),
        "kind": kind,
        "kinds": race_kinds(full),
        "summary": repository_summary(full, kind),
        "trend": trend_geometry(full, kind),
        "toolchains": toolchains(full),
        "page": page,
        "jobs": page.object_list,
        "share_image": (
            request.build_absolute_uri(reverse("race_card", args=[latest.pk])) if latest else ""
        ),
    }
    return render(request, "jobs/repository.html", context)


def badge_message(summary):
    """(message, colour) of the badge: the median speedup of the measured races, named by the
    verdict's tie band, with its 95% interval once there is one (else how many races it is
    of), in the outcome colours of jobs/outcomes/labels.py."""
    speedup = summary["median_speedup"]
    if speedup is None:
        return ("no measured race yet", NEUTRAL_COLOUR)
    tie = in_tie_band(speedup, Tolerances.from_settings(settings).tie)
    # Slower reads as the standard side's speedup over Elide, and so does its interval.
    inverted = speedup < 1 and not tie
    interval = summary["interval"]
    if interval is None:
        count = summary["measured"]
        support = f"{count} race{'' if count == 1 else 's'}"
    elif inverted:
        support = interval_text(1 / interval.high, 1 / interval.low)
    else:
        support = interval_text(interval.low, interval.high)
    if tie:
        return (f"{OUTCOMES[TIE].label().lower()} · {support}", OUTCOMES[TIE].colour)
    if inverted:
        return (f"{speedup_text(1 / speedup)} slower · {support}", STANDARD_COLOUR)
    return (f"{speedup_text(speedup)} faster · {support}", ELIDE_COLOUR)


@require_GET
def repository_badge(request, owner, name):
    """A shields.io-style SVG badge, "Elide | 1.70x faster · 1.50-1.90x": the median of the
    measured races of one kind (?cache=&scenario=, warm and clean by default), worded by
    badge_message."""
    full = f"{owner}/{name}"[:201]
    summary = repository_summary(full, requested_kind(request))
    message, colour = badge_message(summary)
    label = "Elide"
    label_width = round(text_width(label)) + 12
    message_width = round(text_width(message)) + 12
    context = {
        "label": label,
        "message": message,
        "colour": colour,
        "label_width": label_width,
        "message_width": message_width,
        "width": label_width + message_width,
        "label_x": label_width / 2,
        "message_x": label_width + message_width / 2,
        "title": f"{full}: Elide {message}",
    }
    svg = render_to_string("partials/badge.svg", context)
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    patch_cache_control(response, public=True, max_age=BADGE_MAX_AGE)
    response["ETag"] = '"' + hashlib.sha256(svg.encode()).hexdigest()[:32] + '"'
    # An SVG opened directly must not run anything, whatever text it carries.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@require_GET
def race_card(request, job_id):
    """The race's 1200x630 PNG share card."""
    job = get_job(job_id)
    if job is None:
        raise Http404("No race with that id.")
    finished_at = int(job.completed_at.timestamp()) if job.completed_at else 0
    key = f"race-card:{job.pk}:{job.status}:{finished_at}"
    png = cache.get(key) if job.is_finished else None
    if png is None:
        png = race_card_png(job)
        if job.is_finished:
            cache.set(key, png, CARD_MAX_AGE)
    response = HttpResponse(png, content_type="image/png")
    if job.is_finished:
        patch_cache_control(response, public=True, max_age=CARD_MAX_AGE)
    else:
        patch_cache_control(response, public=True, max_age=30)
    return response
