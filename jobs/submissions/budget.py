"""Whether a public race fits the race budget (ARENA_RACE_BUDGET_SECONDS), judged from the
repository's last known build times.

The engine stops a race that goes over its budget and voids it (workers/engine/racing/budget.py);
refusing at submission what cannot fit spares the queue a race that can only end void. The
estimate is the sequential race's time on the host: per side, its prepare step plus every
warm-up and run at the pace of its slowest measured run in the repository's newest real race.
A repository that never raced is not refused (the engine's budget still holds).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

from jobs.models import BuildResult, Job, JobStatus

# Newest races of a repository looked at for build times (the newest with any measured run).
RACES_LOOKED_AT = 5


@dataclass(frozen=True)
class BuildTimes:
    """A repository's last known times in seconds, both sides added: prepare and one build."""

    prepare_s: float
    build_s: float
    job_id: str

    def race_s(self, builds):
        return self.prepare_s + builds * self.build_s


def last_build_times(repository_name):
    """BuildTimes from the newest real, completed race of the repository with a measured run;
    None when it has none."""
    job_ids = list(
        Job.objects.filter(
            repository_name=repository_name, is_mock=False, status=JobStatus.COMPLETED
        )
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)[:RACES_LOOKED_AT]
    )
    results = BuildResult.objects.filter(job_id__in=job_ids).values_list(
        "job_id", "run_times_ms", "phases"
    )
    by_job = {}
    for job_id, runs, phases in results:
        runs = [ms for ms in runs or () if isinstance(ms, int | float) and ms >= 0]
        prepare = (phases or {}).get("prepare_ms") if isinstance(phases, dict) else None
        prepare = prepare if isinstance(prepare, int | float) and prepare >= 0 else 0
        if runs:
            totals = by_job.setdefault(job_id, [0.0, 0.0])
            totals[0] += prepare / 1000
            totals[1] += max(runs) / 1000
    for job_id in job_ids:
        if job_id in by_job:
            prepare_s, build_s = by_job[job_id]
            return BuildTimes(prepare_s, build_s, job_id)
    return None


def check_race_budget(repository_name, *, iterations, warmups):
    """Raise ValidationError (a sentence for the person choosing runs) when a race of this
    many runs and warm-ups cannot fit the budget at the repository's last known pace."""
    budget = settings.ARENA_RACE_BUDGET_SECONDS
    if not budget:
        return
    times = last_build_times(repository_name)
    if times is None or times.race_s(iterations + warmups) <= budget:
        return
    fitting = int((budget - times.prepare_s) // times.build_s) if times.build_s else 0
    runs_left = fitting - warmups
    if runs_left >= 1:
        choice = f"choose at most {_count(runs_left, 'run')} with {_count(warmups, 'warm-up')}"
    elif fitting >= 1:
        choice = f"choose at most {_count(fitting, 'run')} and no warm-ups"
    else:
        choice = "even one run does not fit, so it cannot race here"
    raise ValidationError(
        f"A race of {repository_name} with {_count(iterations, 'run')} and "
        f"{_count(warmups, 'warm-up')} would take about "
        f"{_duration(times.race_s(iterations + warmups))} on the arena (its last race: "
        f"{_duration(times.build_s)} a build for both sides, {_duration(times.prepare_s)} to "
        f"prepare); a race may take at most {_duration(budget)}: {choice}.",
        code="over_budget",
    )


def _count(number, noun):
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _duration(seconds):
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
