"""The home page: start a race (with reuse of finished races), suggestions, latest races."""

import random

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from jobs.forms import RaceForm
from jobs.outcomes.sequential import FIRST_LOOK
from jobs.submissions import ratelimit
from jobs.submissions.repositories import SUGGESTED_REPOSITORIES
from jobs.submissions.services import (
    ClientLimitReached,
    QueueFull,
    RateLimited,
    expected_duration_ms,
    list_jobs,
    submit_race,
)
from jobs.submissions.validation import (
    measured_runs,
    validate_runs,
)
from jobs.views import cancel_tokens

SUGGESTION_COUNTS = {"small": 2, "medium": 2, "large": 1}
LATEST_RACES = 10


def pick_suggestions(rng=random):
    """2 small, 2 medium and 1 large repository, at random: [(size, name, url)]."""
    picks = []
    for size, count in SUGGESTION_COUNTS.items():
        for name in rng.sample(SUGGESTED_REPOSITORIES[size], count):
            picks.append((size, name, f"https://github.com/{name}"))
    return picks


def _estimate(url, ref="", iterations=None, warmups=None):
    """{"ms", "iterations", "warmups", "adaptive"} when this repository raced before, else
    None (an adaptive race's shortest: it may add runs)."""
    try:
        iterations, warmups = validate_runs(iterations, warmups)
    except ValidationError:
        return None
    runs, adaptive = measured_runs(iterations)
    # An adaptive race takes at least FIRST_LOOK runs a side: the estimate is its shortest.
    iterations = FIRST_LOOK if adaptive else runs
    milliseconds = expected_duration_ms(url, ref, iterations=iterations, warmups=warmups)
    if milliseconds is None:
        return None
    return {"ms": milliseconds, "iterations": iterations, "warmups": warmups, "adaptive": adaptive}


def _whole_number(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _render_home(request, form, *, status=200):
    url = form.data.get("repository_url") or form.initial.get("repository_url") or ""
    context = {
        "form": form,
        "estimate": _estimate(url) if url else None,
        "default_runs": settings.ARENA_DEFAULT_RUNS,
        "default_warmups": settings.ARENA_DEFAULT_WARMUPS,
        "suggestions": pick_suggestions(),
        "latest": list_jobs(limit=LATEST_RACES),
    }
    return render(request, "home.html", context, status=status)


def _refused(request, form, message, *, status, retry_after=None):
    form.add_error(None, message)
    response = _render_home(request, form, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@require_http_methods(["GET", "POST"])
def home(request):
    if request.method == "GET":
        initial = {"repository_url": request.GET.get("repository_url", "")[:500]}
        return _render_home(request, RaceForm(initial=initial))

    form = RaceForm(request.POST)
    if not form.is_valid():
        return _render_home(request, form, status=400)
    try:
        submission = submit_race(
            form.cleaned_data["repository_url"],
            ref=form.cleaned_data["ref"],
            force=form.cleaned_data["force"],
            client_key=ratelimit.client_key(request),
            iterations=form.cleaned_data["iterations"],
            warmups=form.cleaned_data["warmups"],
            cache=form.cleaned_data["cache"] or None,
            scenario=form.cleaned_data["scenario"] or None,
        )
    except ValidationError as error:
        for message in error.messages:
            form.add_error("repository_url", message)
        return _render_home(request, form, status=400)
    except (RateLimited, ClientLimitReached) as error:
        return _refused(request, form, str(error), status=429, retry_after=error.retry_after)
    except QueueFull as error:
        return _refused(request, form, str(error), status=503, retry_after=60)
    job = submission.job
    if submission.reused:
        return redirect(reverse("race_detail", kwargs={"job_id": job.pk}) + "?reused=1")
    cancel_tokens.remember(request, job.pk, submission.cancel_token)
    return redirect("race_detail", job_id=job.pk)


@require_GET
def repository_url_feedback(request):
    """Inline validation while typing (htmx): the URL field's errors, or what a race of this
    repository should take when it raced before."""
    url = request.GET.get("repository_url", "")
    form = RaceForm({"repository_url": url})
    form.is_valid()
    errors = form.errors.get("repository_url", []) if url else []
    estimate = None
    if url and not errors:
        estimate = _estimate(
            url,
            iterations=_whole_number(request.GET.get("iterations")),
            warmups=_whole_number(request.GET.get("warmups")),
        )
    # A refused URL is a 400 (the page's htmx config swaps 400 answers in).
    status = 400 if errors else 200
    return render(
        request,
        "partials/url_errors.html",
        {"errors": errors, "estimate": estimate},
        status=status,
    )
