"""The job API used by views, the JSON API, the admin and management commands.

The Python counterpart of the original's DbJobManager: create_job, get_job, list_jobs and
get_recent_results, each running a fixed number of queries whatever the number of rows.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError
from django.db.models import Exists, OuterRef
from django.utils import timezone

from jobs.live.round_trips import JobsWithSides, insert_job_within_limit
from jobs.models import (
    COUNTED_VERDICTS,
    FINISHED_JOB_STATUSES,
    BuildResult,
    BuildStatus,
    BuildType,
    Job,
    JobStatus,
)
from jobs.outcomes.sequential import FIRST_LOOK
from jobs.submissions import ratelimit
from jobs.submissions.budget import check_race_budget
from jobs.submissions.validation import (
    measured_runs,
    validate_build_options,
    validate_repository,
    validate_runs,
)


class QueueFull(Exception):
    """More jobs are queued than ARENA_MAX_QUEUED_JOBS allows."""

    def __init__(self, limit):
        self.limit = limit
        super().__init__(
            f"The race queue is full ({limit} races waiting). Please try again in a few minutes."
        )


class ClientLimitReached(Exception):
    """This client already has ARENA_MAX_JOBS_PER_CLIENT races queued or running."""

    def __init__(self, limit):
        self.limit = limit
        self.retry_after = 60
        super().__init__(
            f"You already have {limit} races queued or running; "
            "wait for one to finish before starting another."
        )


class RateLimited(Exception):
    """This client started ARENA_JOB_RATE_LIMIT races within the current window."""

    def __init__(self, retry_after):
        self.retry_after = retry_after
        super().__init__(f"Too many races started from your address; try again in {retry_after} s.")


def create_job(repository_url, *, ref="", client_key="", **extra):
    """Validate and queue a race. Raises ValidationError, QueueFull or ClientLimitReached;
    writes nothing then.

    `client_key` names the submitting web client: it may have at most
    ARENA_MAX_JOBS_PER_CLIENT races queued or running. `extra` takes the operator-only fields
    (mode, iterations, warmups, timeout_seconds, standard_cmd, elide_cmd, cancel_token_hash);
    public entry points must not pass them through from users.
    """
    url, name, ref = validate_repository(repository_url, ref)
    job = Job(repository_url=url, repository_name=name, ref=ref, client_key=client_key, **extra)
    # The CHECK constraints are left to the database: Django's validate_constraints runs one
    # query per constraint, which would more than double the cost of a submission.
    job.full_clean(exclude=["id"], validate_constraints=False)
    # One statement, no transaction of its own (jobs/live/round_trips.py).
    limit = settings.ARENA_MAX_QUEUED_JOBS
    per_client = settings.ARENA_MAX_JOBS_PER_CLIENT
    try:
        # The client's own limit is read just before the insert (one indexed count).
        if client_key and per_client and _active_races_of(client_key) >= per_client:
            raise ClientLimitReached(per_client)
        inserted = insert_job_within_limit(job, limit)
    except IntegrityError as error:
        raise _constraint_error(error) from None
    if not inserted:
        raise QueueFull(limit)
    return job


def _active_races_of(client_key):
    # Filters on status first (jobs_status_created_idx): queued+running rows are few.
    return Job.objects.filter(
        status__in=(JobStatus.QUEUED, JobStatus.RUNNING), client_key=client_key
    ).count()


@dataclass(frozen=True)
class Submission:
    """What submit_race did: `job` is new (with its `cancel_token`) or reused (token None)."""

    job: Job
    reused: bool
    cancel_token: str | None


def submit_race(
    repository_url,
    *,
    ref="",
    force=False,
    client_key,
    iterations=None,
    warmups=None,
    cache=None,
    scenario=None,
):
    """The one way the public starts a race (the form and POST /api/jobs).

    In order: validate (runs 1-10 or "auto", and warm-ups 0-3: validate_runs; cache and scenario:
    validate_build_options; None for the defaults); unless `force`, reuse the newest real,
    comparable race of the repository, ref, cache and scenario that the leaderboard counts
    (reusable_races: never demo data, never void or excluded); refuse runs and warm-ups that
    cannot fit the race budget at the repository's last known pace (check_race_budget); count the
    submission against the client's rate limit; create the job with a fresh cancel token,
    within the global queue limit and the client's own limit (create_job: one statement).
    Raises ValidationError, RateLimited, QueueFull or ClientLimitReached; nothing is written
    then except the rate-limit count.
    """
    url, name, ref = validate_repository(repository_url, ref)
    iterations, warmups = validate_runs(iterations, warmups)
    cache, scenario = validate_build_options(cache, scenario)
    if not force:
        finished = find_finished_race(url, ref, cache=cache, scenario=scenario)
        if finished is not None:
            return Submission(job=finished, reused=True, cancel_token=None)
    runs, adaptive = measured_runs(iterations)
    # An adaptive race runs at least FIRST_LOOK pairs and stops adding them at the budget.
    check_race_budget(name, iterations=FIRST_LOOK if adaptive else runs, warmups=warmups)
    allowed = ratelimit.hit("jobs:" + client_key)
    if not allowed.allowed:
        raise RateLimited(allowed.retry_after)
    token = secrets.token_urlsafe(24)
    options = {
        "iterations": runs,
        "adaptive": adaptive,
        "warmups": warmups,
        "cache": cache,
        "scenario": scenario,
    }
    job = create_job(
        url, ref=ref, client_key=client_key, cancel_token_hash=hash_cancel_token(token), **options
    )
    return Submission(job=job, reused=False, cancel_token=token)


def hash_cancel_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def may_cancel(job, token, *, staff=False):
    """Staff may cancel any race; anyone else needs the token handed out when it was created."""
    if staff:
        return True
    if not isinstance(token, str) or not token or not job.cancel_token_hash or len(token) > 200:
        return False
    return hmac.compare_digest(hash_cancel_token(token), job.cancel_token_hash)


def _constraint_error(error):
    """A ValidationError naming the CHECK constraint the database refused (as full_clean)."""
    message = f"The job was refused by the database: {error}"
    for constraint in Job._meta.constraints:
        if constraint.name in str(error):
            message = f"Constraint \u201c{constraint.name}\u201d is violated."
    return ValidationError({NON_FIELD_ERRORS: [ValidationError(message, code="constraint")]})


def storable_job_id(job_id):
    """The id as text, or None when no job can have it (too long, or a NUL character,
    which PostgreSQL refuses in text): callers answer "not found" without asking."""
    job_id = str(job_id)
    if not job_id or len(job_id) > 64 or "\x00" in job_id:
        return None
    return job_id


def get_job(job_id, *, with_output=False):
    """The job with both results attached, or None. One query (jobs/live/round_trips.py)."""
    job_id = storable_job_id(job_id)
    if job_id is None:
        return None
    jobs = _job_by_id(job_id, with_output=with_output)
    return jobs[0] if jobs else None


_job_by_id = JobsWithSides(lambda job_id: Job.objects.filter(pk=job_id))
_newest_jobs = JobsWithSides(lambda: Job.objects.order_by("-created_at", "-id"))
_newest_jobs_with_status = JobsWithSides(
    lambda status: Job.objects.filter(status=status).order_by("-created_at", "-id")
)


def list_jobs(*, status=None, limit=100):
    """Newest jobs first with their results (output deferred). One query."""
    if status:
        return _newest_jobs_with_status(status, limit=limit)
    return _newest_jobs(limit=limit)


def get_recent_results(limit=20):
    """Completed races that have both results, newest first. One query.

    Walks jobs_status_created_idx newest first and probes each side through the
    (job, build_type) unique index, so it reads about `limit` jobs, not every completed one.
    """
    return _completed_with_both_sides(limit=limit)


def _completed_with_both_sides_queryset():
    finished = BuildResult.objects.filter(job=OuterRef("pk")).exclude(status=BuildStatus.PENDING)
    return (
        Job.objects.filter(status=JobStatus.COMPLETED)
        .filter(
            Exists(finished.filter(build_type=BuildType.ELIDE)),
            Exists(finished.filter(build_type=BuildType.STANDARD)),
        )
        .order_by("-created_at", "-id")
    )


_completed_with_both_sides = JobsWithSides(_completed_with_both_sides_queryset)


def reusable_races(url, ref, **options):
    """Real (never demo), completed, comparable races of this repository and ref (and
    `cache`/`scenario` when given) that the leaderboard counts (a verdict it counts, not
    excluded by an admin)."""
    return Job.objects.filter(
        repository_url=url,
        ref=ref,
        status=JobStatus.COMPLETED,
        is_mock=False,
        verdict__in=COUNTED_VERDICTS,
        excluded_reason="",
        **options,
    ).order_by("-created_at", "-id")


def find_finished_race(repository_url, ref="", **options):
    """The newest race that a submission of this repository (and ref, cache, scenario) may
    show instead of building again: see reusable_races."""
    url, _, ref = validate_repository(repository_url, ref)
    return reusable_races(url, ref, **options).first()


def expected_duration_ms(repository_url, ref="", *, iterations, warmups):
    """How long a race of this repository should take, from its last real race's per-run
    times of both sides (sequential: every run of both sides, warm-ups included); None when
    it has not raced before. Never raises: a bad URL has no estimate."""
    try:
        url, _, ref = validate_repository(repository_url, ref)
    except ValidationError:
        return None
    last = (
        Job.objects.filter(
            repository_url=url,
            ref=ref,
            status=JobStatus.COMPLETED,
            is_mock=False,
            elide_success_ms__isnull=False,
            standard_success_ms__isnull=False,
        )
        .order_by("-created_at", "-id")
        .values("elide_success_ms", "standard_success_ms")
        .first()
    )
    if last is None:
        return None
    return (iterations + warmups) * (last["elide_success_ms"] + last["standard_success_ms"])


def cancel_job(job_id):
    """Cancel a queued or running job. Returns the job, or None when missing or finished.

    A queued job leaves the queue at once. A running job turns `cancelled` here; its worker
    notices within a second or two, kills both builds and keeps their partial output.
    """
    job_id = storable_job_id(job_id)
    if job_id is None:
        return None
    now = timezone.now()
    updated = (
        Job.objects.filter(pk=job_id)
        .exclude(status__in=FINISHED_JOB_STATUSES)
        .update(status=JobStatus.CANCELLED, completed_at=now)
    )
    if not updated:
        return None
    return Job.objects.get(pk=job_id)
