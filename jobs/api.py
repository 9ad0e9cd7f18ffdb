"""The JSON API: the original's paths and response shapes, plus incremental output.

Every error is a JSON object with an "error" message and a 4xx/5xx status; nothing a client
sends can produce a traceback. POST bodies must be JSON objects of at most API_MAX_BODY_BYTES.
CSRF tokens are not used (API clients hold no session; staff sessions may cancel races); a
browser POST from another site is refused by its Origin header instead (403).
"""

import io
import json
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.management import CommandError, call_command
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from jobs.live.snapshot import read_side_text
from jobs.models import BuildType, Job, percent_faster
from jobs.outcomes.labels import is_operator_race, outcome_of
from jobs.outcomes.numbers import data_number, data_numbers
from jobs.submissions.ratelimit import client_key
from jobs.submissions.services import (
    ClientLimitReached,
    QueueFull,
    RateLimited,
    cancel_job,
    get_job,
    get_recent_results,
    list_jobs,
    submit_race,
)
from jobs.submissions.validation import (
    validate_build_options,
    validate_runs,
)
from jobs.views.cancel_tokens import viewer_may_cancel

API_MAX_BODY_BYTES = 16 * 1024
MAX_LIST_LIMIT = 500
CREATE_FIELDS = {"repositoryUrl", "ref", "force", "iterations", "warmups", "cache", "scenario"}


def json_error(status, message, **extra):
    return JsonResponse({"error": message, **extra}, status=status)


def api_view(*methods):
    """Allow only `methods` (405 JSON otherwise); exempt from CSRF, checked by Origin."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = json_error(405, f"Method {request.method} not allowed.")
                response["Allow"] = ", ".join(methods)
                return response
            if request.method == "POST" and not _same_origin(request):
                return json_error(403, "Cross-site requests are not allowed.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def _same_origin(request):
    origin = request.headers.get("Origin")
    if not origin:
        return True
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    return urlsplit(origin).netloc == request.get_host()


def _iso(moment):
    return moment.isoformat() if moment else None


def result_json(result):
    return {
        "tool": result.tool or None,
        "status": result.status,
        "startTime": _iso(result.started_at or result.created_at),
        "duration": result.best_duration_ms,
        "exitCode": result.exit_code,
        "bellRung": result.bell_rung,
        "runTimesMs": result.run_times_ms or [],
        "runs": runs_json(result.phases),
        "toolVersion": result.tool_version or None,
        "finishedAt": _iso(result.finished_at),
        "error": result.error or None,
        "errorKind": result.error_kind or None,
        "artifacts": result.artifacts,
        "jdk": result.jdk or None,
        "phases": phases_json(result.phases),
    }


def runs_json(phases):
    """Every measured run with how quiet the host was: [{"ms", "noisy", "repeated",
    "hostNoise": {"otherCpu", "steal", "load"}}] (docs/ENGINE.md, "Noise"); a repeated run was
    noisy and its pair was run again, so it does not count. [] for races recorded before."""
    runs = phases.get("runs") if isinstance(phases, dict) else None
    if not isinstance(runs, list):
        return []
    keys = ("ms", "noisy", "repeated", "hostNoise")
    return [{key: run.get(key) for key in keys} for run in runs if isinstance(run, dict)]


def phases_json(phases):
    """{"clone_ms", "prepare_ms", "runs_ms", "downloads"} of a side (nulls and [] when not
    recorded); `downloads[i]` is what measured run i fetched, None where the tool does not say."""
    phases = phases if isinstance(phases, dict) else {}
    runs = phases.get("runs_ms")
    downloads = phases.get("downloads")
    return {
        "clone_ms": phases.get("clone_ms"),
        "prepare_ms": phases.get("prepare_ms"),
        "runs_ms": list(runs) if isinstance(runs, list) else [],
        "downloads": list(downloads) if isinstance(downloads, list) else [],
    }


def job_json(job):
    data = {
        "id": job.pk,
        "repositoryUrl": job.repository_url,
        "repositoryName": job.repository_name,
        "createdAt": _iso(job.created_at),
        "status": job.status,
        "ref": job.ref or None,
        "commitSha": job.commit_sha or None,
        "startedAt": _iso(job.started_at),
        "completedAt": _iso(job.completed_at),
        "workerId": job.worker_id,
        "winner": job.winner,
        "verdict": job.verdict,
        "outcome": outcome_of(job).key,
        "outcomeLabel": outcome_of(job).label(),
        "operatorRace": is_operator_race(job.standard_cmd, job.elide_cmd),
        "speedup": data_number(job.speedup),
        "speedupCi95": data_numbers(job.speedup_ci95),
        "speedupCiLevel": job.speedup_ci_level,
        "voidReason": job.void_reason or None,
        "parity": job.parity,
        "excludedReason": job.excluded_reason or None,
        "iterations": job.iterations,
        "adaptive": job.adaptive,
        "warmups": job.warmups,
        "percentFaster": data_number(percent_faster(job.speedup)),
        "error": job.error or None,
        "isMock": job.is_mock,
        "cache": job.cache,
        "scenario": job.scenario,
    }
    for build_type, key in (
        (BuildType.ELIDE, "elideResult"),
        (BuildType.STANDARD, "standardResult"),
    ):
        result = job.result_for(build_type)
        if result is not None:
            data[key] = result_json(result)
    return data


def _read_json_object(request):
    """(object, None) or (None, error response)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None, json_error(400, "Invalid Content-Length header.")
    if length > API_MAX_BODY_BYTES:
        return None, json_error(
            413, f"Request body too large (at most {API_MAX_BODY_BYTES} bytes)."
        )
    if request.content_type != "application/json":
        return None, json_error(415, "Send the request body as application/json.")
    try:
        body = request.body
    except RequestDataTooBig:
        return None, json_error(413, "Request body too large.")
    if len(body) > API_MAX_BODY_BYTES:
        return None, json_error(
            413, f"Request body too large (at most {API_MAX_BODY_BYTES} bytes)."
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[...]]]]
        return None, json_error(400, "Invalid request", details=["The body is not valid JSON."])
    if not isinstance(data, dict):
        return None, json_error(400, "Invalid request", details=["The body must be a JSON object."])
    return data, None


def _int_param(request, name, default, *, minimum, maximum):
    """(value, None) or (None, error response)."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default, None
    try:
        value = int(raw)
    except ValueError:
        return None, json_error(400, f"'{name}' must be an integer.")
    if not minimum <= value <= maximum:
        return None, json_error(400, f"'{name}' must be between {minimum} and {maximum}.")
    return value, None


@api_view("GET", "POST")
def jobs_collection(request):
    if request.method == "POST":
        return _create(request)
    limit, error = _int_param(request, "limit", 100, minimum=1, maximum=MAX_LIST_LIMIT)
    if error:
        return error
    status = request.GET.get("status") or None
    if status and status not in dict(Job._meta.get_field("status").choices):
        return json_error(400, f"Unknown status {status[:40]!r}.")
    return JsonResponse({"jobs": [job_json(job) for job in list_jobs(status=status, limit=limit)]})


def _validate_create(data):
    """(url, ref, force, options, details): details lists every problem found; options
    holds the race's runs, warm-ups, cache policy and scenario."""
    details = []
    unknown = sorted(set(data) - CREATE_FIELDS)
    if unknown:
        details.append(f"Unknown fields: {', '.join(unknown)[:200]}.")
    url = data.get("repositoryUrl")
    if not isinstance(url, str):
        details.append("repositoryUrl is required and must be a string.")
    ref = data.get("ref", "")
    if ref is None:
        ref = ""
    if not isinstance(ref, str):
        details.append("ref must be a string.")
    force = data.get("force", False)
    if not isinstance(force, bool):
        details.append("force must be true or false.")
    options = {}
    for check, names in (
        (validate_runs, ("iterations", "warmups")),
        (validate_build_options, ("cache", "scenario")),
    ):
        try:
            options.update(zip(names, check(*(data.get(name) for name in names)), strict=True))
        except ValidationError as invalid:
            details.extend(invalid.messages)
    return url, ref, force, options, details


def _create(request):
    data, error = _read_json_object(request)
    if error:
        return error
    url, ref, force, options, details = _validate_create(data)
    if details:
        return json_error(400, "Invalid request", details=details)
    try:
        submission = submit_race(
            url,
            ref=ref,
            force=force,
            client_key=client_key(request),
            **options,
        )
    except ValidationError as invalid:
        return json_error(400, "Invalid request", details=invalid.messages)
    except (RateLimited, ClientLimitReached, QueueFull) as refused:
        status = 503 if isinstance(refused, QueueFull) else 429
        response = json_error(status, str(refused))
        response["Retry-After"] = str(getattr(refused, "retry_after", 60))
        return response
    if submission.reused:
        return JsonResponse(
            {
                "jobId": submission.job.pk,
                "message": "This repository has a finished race; send force=true to race again.",
                "reused": True,
            }
        )
    return JsonResponse(
        {
            "jobId": submission.job.pk,
            "message": "Job created successfully",
            "cancelToken": submission.cancel_token,
        },
        status=201,
    )


@api_view("GET")
def recent_results(request):
    limit, error = _int_param(request, "limit", 20, minimum=1, maximum=MAX_LIST_LIMIT)
    if error:
        return error
    return JsonResponse({"jobs": [job_json(job) for job in get_recent_results(limit)]})


@api_view("GET")
def job_detail(request, job_id):
    job = get_job(job_id[:64])
    if job is None:
        return json_error(404, "Job not found")
    return JsonResponse({"job": job_json(job)})


@api_view("POST")
def job_cancel(request, job_id):
    """Cancel with the race's cancel token (X-Cancel-Token header or a cancelToken field of a
    JSON body) or as staff: 403 otherwise, 404 when the race is missing or has ended."""
    job = get_job(job_id[:64])
    if job is None:
        return json_error(404, "Job not found or already finished")
    token = request.headers.get("X-Cancel-Token")
    if token is None and request.content_type == "application/json" and request.body:
        data, error = _read_json_object(request)
        if error:
            return error
        token = data.get("cancelToken")
    if not viewer_may_cancel(request, job, token if isinstance(token, str) else None):
        return json_error(
            403, "Only the race's submitter (with its cancelToken) or staff may cancel it."
        )
    if cancel_job(job.pk) is None:
        return json_error(404, "Job not found or already finished")
    return JsonResponse({"message": "Job cancelled successfully"})


@api_view("GET")
def job_output(request, job_id):
    """A side's output from `offset` on (characters), at most MAX_CHUNK_CHARS at a time."""
    build_type = request.GET.get("build_type", "")
    if build_type not in BuildType.values:
        return json_error(400, "build_type must be 'elide' or 'standard'.")
    offset, error = _int_param(request, "offset", 0, minimum=0, maximum=2**31 - 2)
    if error:
        return error
    job = Job.objects.only("id", "status").filter(pk=job_id[:64]).first()
    if job is None:
        return json_error(404, "Job not found")
    side = read_side_text(job, build_type, offset)
    return JsonResponse(
        {
            "jobId": job.pk,
            "buildType": build_type,
            "jobStatus": job.status,
            "status": side.result.status if side.result else None,
            "offset": side.offset,
            "nextOffset": side.next_offset,
            "length": side.total_length,
            "output": side.text,
            "complete": job.is_finished and side.complete,
        }
    )


@api_view("GET")
def health(request):
    return JsonResponse({"status": "ok", "timestamp": timezone.now().isoformat()})


@api_view("POST")
def seed_mock_data(request):
    """Insert the original's 5 mock races (only when DEBUG is on; 404 otherwise)."""
    if not settings.DEBUG:
        return json_error(404, "Not found")
    report = io.StringIO()
    try:
        call_command("seed_mock_data", stdout=report)
    except CommandError as failure:
        return json_error(503, f"Seeding failed: {failure}")
    return JsonResponse(
        {"message": "Mock data seeded successfully", "details": report.getvalue().strip()},
        status=201,
    )


@api_view("GET", "POST", "PUT", "PATCH", "DELETE")
def not_found(request, rest=""):
    return json_error(404, "Not found")
