"""When a suite is raced, and how a suite run moves on until it is complete.

- New versions: a worker's probe (workers.signals.toolchains_recorded) that reports an Elide,
  Maven or JDK version set no run of a suite has used starts one run of each enabled suite.
  The unique (suite, versions_key) row decides: however many workers report the same versions
  at once, one insert wins and the others change nothing.
- On demand (`manage.py suite run NAME`, the admin's action) and on schedule
  (ARENA_SUITE_INTERVAL seconds after the suite's last run, off by default).
- Progress (each worker's housekeeping, workers.signals.pool_maintained): a repository whose
  race ended void or inconclusive is raced again, up to ARENA_SUITE_RETRIES more times; once
  every repository has its final race the run completes and its changes against the previous
  version are found and announced (suites/announce.py).
"""

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.choices import FINISHED_JOB_STATUSES, JobStatus, Verdict
from jobs.models import Job
from jobs.submissions.validation import validate_repository
from suites.announce import find_changes, mail_changes
from suites.models import Suite, SuiteRace, SuiteRun, SuiteRunStatus
from suites.versions import versions_key, versions_of

# Queued below public races (jobs.models.Job.priority: lower runs first).
SUITE_PRIORITY = 1
RETRY_VERDICTS = (Verdict.VOID, Verdict.INCONCLUSIVE)


def on_toolchains_recorded(sender, worker_id, toolchains, **kwargs):
    """Start a run of every enabled suite for versions none of its runs has used."""
    versions = versions_of(toolchains)
    if versions is None:
        return []
    return [
        run
        for suite in Suite.objects.filter(enabled=True)
        if (run := start_run(suite, versions=versions, key=versions_key(versions)))
    ]


def start_run(suite, *, versions, key, trigger="version", now=None):
    """Queue one race per repository of `suite` for a new run, or None when a run with this
    key exists already (nothing is written then)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            run = SuiteRun.objects.create(
                suite=suite, versions=versions, versions_key=key, trigger=trigger, created_at=now
            )
            for repository in suite.repositories.all():
                queue_race(run, repository, attempt=1, now=now)
    except IntegrityError:
        return None
    return run


def run_now(suite, *, now=None):
    """A run an operator asked for: always a new one."""
    now = now or timezone.now()
    return start_run(suite, versions={}, key=f"demand:{now.isoformat()}", trigger="demand", now=now)


def queue_race(run, repository, *, attempt, now=None):
    """A race of one repository for `run`: an ordinary job, queued below public races."""
    suite = run.suite
    url, name, ref = validate_repository(repository.url, repository.ref)
    job = Job(
        repository_url=url,
        repository_name=name,
        ref=ref,
        iterations=suite.runs or settings.ARENA_DEFAULT_RUNS,
        warmups=suite.warmups,
        cache=suite.cache,
        scenario=suite.scenario,
        priority=SUITE_PRIORITY,
        client_key=f"suite:{suite.name}",
        created_at=now or timezone.now(),
    )
    job.full_clean(exclude=["id"], validate_constraints=False)
    job.save()
    return SuiteRace.objects.create(run=run, repository=repository, job=job, attempt=attempt)


def advance_runs(now=None):
    """Move every running suite run on; returns the runs completed by this call."""
    completed = []
    for run in SuiteRun.objects.filter(status=SuiteRunStatus.RUNNING).select_related("suite"):
        if advance(run, now=now):
            completed.append(run)
    return completed


def needs_retry(job):
    return job.status == JobStatus.FAILED or (
        job.status == JobStatus.COMPLETED and job.verdict in RETRY_VERDICTS
    )


def advance(run, *, now=None):
    """Retry what needs it, then complete the run if every repository has its final race.
    Safe when several workers call it at once: retries are unique per attempt and the run
    completes by a conditional UPDATE, so only one caller completes and announces it."""
    now = now or timezone.now()
    settled = True
    for race in run.latest_races().values():
        job = race.job
        if job.status not in FINISHED_JOB_STATUSES:
            settled = False
        elif needs_retry(job) and race.attempt <= settings.ARENA_SUITE_RETRIES:
            settled = False
            try:
                with transaction.atomic():
                    queue_race(run, race.repository, attempt=race.attempt + 1, now=now)
            except IntegrityError:
                pass  # another worker queued this retry
    if not settled:
        return False
    # A completed run has its changes: both are written in one transaction; the mail follows.
    with transaction.atomic():
        done = SuiteRun.objects.filter(pk=run.pk, status=SuiteRunStatus.RUNNING).update(
            status=SuiteRunStatus.COMPLETED, completed_at=now
        )
        if done:
            run.refresh_from_db()
            changes = find_changes(run)
    if done:
        mail_changes(run, changes)
    return bool(done)


def start_scheduled_runs(now=None):
    """Runs due by ARENA_SUITE_INTERVAL (0: never). Keyed by the interval's slot, so workers
    housekeeping at once start it once."""
    interval = settings.ARENA_SUITE_INTERVAL
    if interval <= 0:
        return []
    now = now or timezone.now()
    slot = int(now.timestamp()) // interval
    started = []
    for suite in Suite.objects.filter(enabled=True):
        last = suite.runs_of_suite.order_by("-created_at").values_list("created_at", flat=True)
        newest = last.first()
        if newest and now - newest < datetime.timedelta(seconds=interval):
            continue
        if run := start_run(
            suite, versions={}, key=f"schedule:{slot}", trigger="schedule", now=now
        ):
            started.append(run)
    return started


def on_pool_maintained(sender, **kwargs):
    start_scheduled_runs()
    advance_runs()
