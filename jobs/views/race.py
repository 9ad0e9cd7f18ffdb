"""The race page, its poll endpoint, cancellation, raw output and replay data."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseStopPolling

from jobs.forms import RaceForm
from jobs.live import pool, race_state_cache
from jobs.live.poll import poll_snapshot, race_state
from jobs.live.poll_markup import STOPPED_POLLER, output_only_response_html, poll_query
from jobs.live.replay import replay_data
from jobs.live.snapshot import PAGE_OUTPUT_BYTES, read_sides
from jobs.models import (
    SEED_JOB_COLUMNS,
    VERDICT_FIELDS,
    BuildResult,
    BuildType,
    Job,
    JobStatus,
)
from jobs.outcomes.vocabulary import SIDES
from jobs.showcase.share_card import card_headline
from jobs.submissions.services import cancel_job
from jobs.views import cancel_tokens

# Columns the race page header needs; the operator commands stay out of every page.
_JOB_COLUMNS = (
    *SEED_JOB_COLUMNS,
    "ref",
    "commit_sha",
    "mode",
    "cache",
    "scenario",
    "iterations",
    "error",
    "is_mock",
    *VERDICT_FIELDS,
    "cancel_token_hash",
    "excluded_reason",
    "warmups",
)


# Offsets beyond any output, within a 32-bit integer (PostgreSQL's SUBSTRING takes int4).
MAX_OFFSET = 2**31 - 2


# Whether either side ran an operator's command, without the commands themselves
# (jobs.outcomes.labels.tags_of reads it: the page labels an operator race).
_OPERATOR_RACE = "(standard_cmd IS NOT NULL OR elide_cmd IS NOT NULL) AS operator_race"
_JOB_SQL = f"SELECT {', '.join(_JOB_COLUMNS)}, {_OPERATOR_RACE} FROM jobs WHERE id = %s"  # noqa: S608 (constants)


def _job_or_404(job_id):
    """The race's job row (plain SQL: this runs on every poll that has news)."""
    jobs = list(Job.objects.raw(_JOB_SQL, [str(job_id)[:64]]))
    if not jobs:
        raise Http404("No race with that id.")
    return jobs[0]


def _pool_message(job):
    """Why a queued race does not start (no live worker), or ""."""
    if job.status != JobStatus.QUEUED:
        return ""
    return pool.waiting_message()


def _offsets(request):
    offsets = {}
    for side in SIDES:
        try:
            offsets[side] = min(max(0, int(request.GET.get(side, 0))), MAX_OFFSET)
        except ValueError:
            offsets[side] = 0
    return offsets


def _at(values, index):
    return values[index] if index < len(values) else None


def counted_noise(phases):
    """The other processes' CPU (cores) during each run that counts, None where unknown."""
    runs = phases.get("runs") if isinstance(phases, dict) else None
    if not isinstance(runs, list):
        return []
    return [
        (run.get("hostNoise") or {}).get("otherCpu")
        for run in runs
        if isinstance(run, dict) and not run.get("repeated")
    ]


def repeated_runs(phases):
    """How many runs of a side were run again because the host was busy."""
    runs = phases.get("runs") if isinstance(phases, dict) else None
    if not isinstance(runs, list):
        return 0
    return sum(1 for run in runs if isinstance(run, dict) and run.get("repeated"))


def _race_context(job, sides, *, poll_url, version=""):
    by_type = {side.build_type: side for side in sides}
    polling = not (job.is_finished and all(side.complete for side in sides))
    runs, repeated = [], 0
    if job.iterations > 1 and all(side.result for side in sides):
        elide, standard = by_type[BuildType.ELIDE].result, by_type[BuildType.STANDARD].result
        elide_runs, standard_runs = elide.run_times_ms or [], standard.run_times_ms or []
        elide_noise, standard_noise = counted_noise(elide.phases), counted_noise(standard.phases)
        count = max(len(elide_runs), len(standard_runs))
        runs = [
            (
                index + 1,
                _at(elide_runs, index),
                _at(standard_runs, index),
                _at(elide_noise, index),
                _at(standard_noise, index),
            )
            for index in range(count)
        ]
        repeated = repeated_runs(standard.phases)
    return {
        **_noise_floor_context(job, polling),
        "job": job,
        "sides": sides,
        "elide": by_type[BuildType.ELIDE],
        "standard": by_type[BuildType.STANDARD],
        "polling": polling,
        "poll_url": poll_url,
        "poll_query": poll_query(sides, version),
        "runs": runs,
        "repeated_pairs": repeated,
        # A race that never ran (cancelled or refused before any output) has nothing to replay.
        "replayable": any(side.total_length for side in sides),
    }


def _noise_floor_context(job, polling):
    """The floor of the host that measured a finished race, and whether the race's speedup
    lies within it (a query only for a measured race that ran on a worker)."""
    floor = None
    if not polling and job.speedup and job.worker_id:
        floor = pool.noise_floor(job.worker_id)
    return {"noise_floor": floor, "within_noise_floor": bool(floor and floor.covers(job.speedup))}


@require_GET
def race_detail(request, job_id):
    job = _job_or_404(job_id)
    state = race_state(job.pk)
    sides = read_sides(job, tail=PAGE_OUTPUT_BYTES)
    poll_url = reverse("race_poll", args=[job.pk])
    context = _race_context(job, sides, poll_url=poll_url, version=state.version)
    context["pool_message"] = _pool_message(job)
    context["may_cancel"] = cancel_tokens.viewer_may_cancel(request, job)
    context["share_headline"] = card_headline(
        job, context["elide"].result, context["standard"].result
    )[0]
    context["share_image"] = request.build_absolute_uri(reverse("race_card", args=[job.pk]))
    if request.GET.get("reused"):
        context["reused"] = True
        context["again_form"] = RaceForm(
            initial={"repository_url": job.repository_url, "ref": job.ref, "force": True}
        )
    return render(request, "jobs/race.html", context)


@require_GET
def race_poll(request, job_id):
    """New output since the client's offsets, and the state of both sides.

    One query at most (jobs.live.poll.poll_snapshot); none for a 204 when this process keeps the
    race's state (jobs.live.race_state_cache, PostgreSQL). Answers 204 (htmx: nothing to swap, keep
    polling) when nothing changed since the client's version and offsets, the common case;
    only the new output and the next poller, without a template or model instances, when
    output grew and no header changed while the race runs (the next most common); and 286
    (htmx: stop polling) once the race has ended and all output has been sent.
    """
    offsets = _offsets(request)
    seen_version = request.GET.get("v", "")
    job_key = str(job_id)[:64]
    kept = race_state_cache.reading(job_key)  # PostgreSQL: a live race's state kept by NOTIFY
    if kept.state is not None and kept.state.unchanged_for(seen_version, offsets):
        return HttpResponse(status=204)
    snapshot = poll_snapshot(job_key, offsets)
    state = snapshot.state
    kept.keep(state)
    if not state.exists:
        if request.htmx:  # the race was deleted while its page was open: stop polling
            return HttpResponseStopPolling(STOPPED_POLLER)
        raise Http404("No race with that id.")
    if state.unchanged_for(seen_version, offsets):
        return HttpResponse(status=204)
    # Headers are sent only when they changed (or the race ended); output when it grew. The
    # next poll goes where this one came (the route matched this race).
    changed = state.changed_parts(seen_version)
    if not changed and state.active:
        sides = snapshot.read_output()
        return HttpResponse(output_only_response_html(request.path, sides, state.version))
    job, sides = snapshot.read()
    context = _race_context(job, sides, poll_url=request.path, version=state.version)
    context["pool_message"] = _pool_message(job)
    context["refresh_head"] = "head" in changed or not context["polling"]
    for side in sides:
        side.refresh = side.build_type in changed or not context["polling"]
    html = render_to_string("partials/race_poll.html", context, request=request)
    if context["polling"]:
        return HttpResponse(html)
    return HttpResponseStopPolling(html)


@require_http_methods(["GET", "POST"])
def race_cancel(request, job_id):
    """GET asks for confirmation (a page, so it works without JavaScript); POST cancels.

    Only the submitter (the cancel token in their session) and staff may cancel: 403 otherwise.
    """
    job = _job_or_404(job_id)
    if not cancel_tokens.viewer_may_cancel(request, job):
        raise PermissionDenied("Only whoever started this race, or staff, may cancel it.")
    if request.method == "GET":
        if job.is_finished:
            return redirect("race_detail", job_id=job.pk)
        return render(request, "jobs/cancel_confirm.html", {"job": job})
    if cancel_job(job.pk) is None:
        messages.info(request, "This race had already ended.")
    else:
        messages.success(
            request, "Race cancelled. The output recorded until then is kept in the terminals."
        )
    return redirect("race_detail", job_id=job.pk)


@require_GET
def race_output_text(request, job_id, build_type):
    """A side's whole log as plain text (the page shows only its tail)."""
    if build_type not in BuildType.values:
        raise Http404("Unknown side.")
    result = (
        BuildResult.objects.filter(job_id=str(job_id)[:64], build_type=build_type)
        .only("output", "output_compressed")
        .first()
    )
    if result is None:
        raise Http404("No output for that side.")
    response = HttpResponse(result.full_output, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{build_type}-{job_id}.log"'
    return response


@require_GET
def race_replay(request, job_id):
    """Both sides' output cut at the recorded moments, rendered safe, for static/js/race.js."""
    job = _job_or_404(job_id)
    if not job.is_finished:
        return JsonResponse({"error": "The race has not ended yet."}, status=409)
    return JsonResponse(replay_data(job))
