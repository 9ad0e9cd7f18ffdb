"""Suite races finished the way the recorder finishes them: both sides' rows with their runs,
the verdict judged from them (jobs/outcomes/judging.py) and stored with Job.apply_verdict."""

import random

from django.utils import timezone

from jobs.models import BuildResult, Job, JobStatus
from jobs.outcomes.judging import judge_results
from suites.models import SuiteRace


def finish(job, *, standard_ms, elide_ms, elide_version="1.0.0", elide_status="success"):
    now = timezone.now()
    for side, runs, status, tool, version in (
        ("standard", standard_ms, "success", "maven", "Apache Maven 3.9.9"),
        ("elide", elide_ms, elide_status, "elide", f"Elide {elide_version}"),
    ):
        BuildResult.objects.create(
            job=job, build_type=side, status=status, run_times_ms=list(runs),
            duration_ms=sorted(runs)[len(runs) // 2], duration=1, bell_rung=True,
            exit_code=0 if status == "success" else 1, tool=tool, tool_version=version,
            artifact_files=1, artifact_classes=3, started_at=now,
        )  # fmt: skip
    job.refresh_from_db()
    job.apply_verdict(judge_results(job.elide_result, job.standard_result))
    job.status = JobStatus.COMPLETED
    job.completed_at = now
    job.save()
    return job


def simulated_runs(rng, seconds, runs=5, noise=0.02):
    return [round(seconds * 1000 * rng.lognormvariate(0, noise)) for _ in range(runs)]


def finish_queued_suite_races(*, elide_version, elide_seconds, standard_seconds=10.0, seed=0):
    """Finish every queued suite race: `elide_seconds` maps a repository name to Elide's time
    (standard takes `standard_seconds`); returns the jobs finished."""
    rng = random.Random(seed)
    finished = []
    for race in SuiteRace.objects.filter(job__status=JobStatus.QUEUED).select_related("job"):
        job = race.job
        finish(
            job,
            standard_ms=simulated_runs(rng, standard_seconds),
            elide_ms=simulated_runs(rng, elide_seconds[job.repository_name]),
            elide_version=elide_version,
        )
        finished.append(job)
    return finished


def suite_jobs():
    return Job.objects.filter(suite_race__isnull=False)
