"""Every model of the `jobs` app, one module per table group, re-exported here because the
whole project imports them (and the column values and derived figures that go with them)
from `jobs.models`."""

from jobs.choices import (
    COUNTED_VERDICTS,
    FINISHED_JOB_STATUSES,
    BuildStatus,
    BuildType,
    CacheMode,
    ErrorKind,
    JobStatus,
    RaceMode,
    Scenario,
    Verdict,
    Winner,
)
from jobs.models.job import SEED_JOB_COLUMNS, VERDICT_FIELDS, Job, new_job_id
from jobs.models.leaderboard_tables import LeaderboardSummary, RaceKindColumns, SpeedupStepCount
from jobs.models.ratelimit import RateLimitCounter
from jobs.models.results import BuildResult, RaceExclusion
from jobs.outcomes.judging import judge_results, measured_ms_expression, percent_faster, success_ms

__all__ = [
    "COUNTED_VERDICTS", "FINISHED_JOB_STATUSES", "SEED_JOB_COLUMNS", "VERDICT_FIELDS",
    "BuildResult", "BuildStatus", "BuildType", "CacheMode", "ErrorKind", "Job", "JobStatus",
    "LeaderboardSummary", "RaceExclusion", "RaceKindColumns", "RaceMode", "RateLimitCounter",
    "Scenario", "SpeedupStepCount", "Verdict", "Winner", "judge_results",
    "measured_ms_expression", "new_job_id", "percent_faster", "success_ms",
]  # fmt: skip
