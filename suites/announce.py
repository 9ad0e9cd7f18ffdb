"""What a completed suite run changed: each repository's race compared with its race under the
previous Elide version (suites/regressions.py), kept as VersionChange rows (in the transaction
that completes the run) and mailed once after it.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.choices import BuildStatus, BuildType, JobStatus, Verdict
from jobs.models import Job
from suites.models import SuiteRun, SuiteRunStatus, VersionChange
from suites.regressions import compare
from suites.versions import version_number

logger = logging.getLogger(__name__)
MEASURED_VERDICTS = (Verdict.ELIDE, Verdict.STANDARD, Verdict.TIE, Verdict.INCONCLUSIVE)


def side_run_times(job):
    """(standard run times, elide run times) of a race both sides built, else None."""
    if job.status != JobStatus.COMPLETED or job.verdict not in MEASURED_VERDICTS:
        return None
    sides = {result.build_type: result for result in job.results.all()}
    standard, elide = sides.get(BuildType.STANDARD), sides.get(BuildType.ELIDE)
    if any(side is None or side.status != BuildStatus.SUCCESS for side in (standard, elide)):
        return None
    return list(standard.run_times_ms or []), list(elide.run_times_ms or [])


def raced_elide_version(job, run):
    """The Elide version a race ran with (its elide result's tool version), else the run's."""
    for result in job.results.all():
        if result.build_type == BuildType.ELIDE and (found := version_number(result.tool_version)):
            return found
    return (run.versions or {}).get("elide", "")


def final_races(run):
    """{repository id: (job, elide version)} of a run's newest attempts."""
    jobs = {race.job_id: race for race in run.latest_races().values()}
    # One query for both sides of every race.
    loaded = Job.objects.filter(pk__in=jobs).prefetch_related("results")
    return {jobs[job.pk].repository_id: (job, raced_elide_version(job, run)) for job in loaded}


def previous_race(run, repository_id, version):
    """The newest measured race of the repository in an earlier completed run of the suite
    under another Elide version: (job, version) or None."""
    earlier = SuiteRun.objects.filter(
        suite=run.suite, status=SuiteRunStatus.COMPLETED, completed_at__lte=run.completed_at
    ).exclude(pk=run.pk)
    for other in earlier.order_by("-completed_at", "-id"):
        found = final_races(other).get(repository_id)
        if found and found[1] != version and side_run_times(found[0]):
            return found
    return None


def find_changes(run):
    """The VersionChange rows of a completed run (created once; found again on a second call)."""
    changes = []
    for repository_id, (job, version) in final_races(run).items():
        new_runs = side_run_times(job)
        previous = new_runs and previous_race(run, repository_id, version)
        if not previous:
            continue
        old_job, old_version = previous
        change = compare(
            side_run_times(old_job), new_runs, threshold=settings.ARENA_REGRESSION_THRESHOLD
        )
        if change is None or change.kind is None:
            continue
        try:
            with transaction.atomic():
                row, _ = VersionChange.objects.get_or_create(
                    suite=run.suite,
                    repository_name=job.repository_name,
                    tool="elide",
                    from_version=old_version,
                    to_version=version,
                    defaults=dict(
                        kind=change.kind,
                        change=change.change,
                        ci_low=change.ci95[0],
                        ci_high=change.ci95[1],
                        from_job=old_job,
                        to_job=job,
                    ),
                )
        except IntegrityError:  # found by another worker completing at the same moment
            row = VersionChange.objects.get(
                suite=run.suite,
                repository_name=job.repository_name,
                tool="elide",
                from_version=old_version,
                to_version=version,
            )
        changes.append(row)
    return changes


def mail_changes(run, changes):
    """Mail the changes not mailed yet to ARENA_ALERT_EMAILS (each is mailed once)."""
    fresh = [
        change
        for change in changes
        if VersionChange.objects.filter(pk=change.pk, announced_at__isnull=True).update(
            announced_at=timezone.now()
        )
    ]
    if fresh and settings.ARENA_ALERT_EMAILS:
        try:
            send_mail(
                subject=mail_subject(run, fresh),
                message=mail_body(run, fresh),
                from_email=None,
                recipient_list=settings.ARENA_ALERT_EMAILS,
            )
        except OSError as error:
            logger.error("could not mail the changes of suite run %s: %r", run.pk, error)
    return changes


def change_sentence(change):
    """ "o/r: 23.0% slower under elide 1.1.0 than 1.0.0 (95% CI 15.0% to 30.0% slower)"."""
    word = "slower" if change.kind == "regression" else "faster"
    low, high = sorted(abs(x) * 100 for x in (change.ci_low, change.ci_high))
    return (
        f"{change.repository_name}: speedup {change.change * 100:+.1f}% under {change.tool} "
        f"{change.to_version} against {change.from_version} ({word}; 95% CI {low:.1f}% to "
        f"{high:.1f}%)"
    )


def mail_subject(run, changes):
    regressions = sum(1 for change in changes if change.kind == "regression")
    return (
        f"[Build Arena] suite {run.suite.name}: {regressions} regression(s), "
        f"{len(changes) - regressions} improvement(s)"
    )


def mail_body(run, changes):
    lines = [f"Suite {run.suite.name}, run {run.pk} ({run.versions_key}):", ""]
    lines += [change_sentence(change) for change in changes]
    return "\n".join(lines) + "\n"
