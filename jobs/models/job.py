"""Jobs: the seed's `jobs` table, one row per race.

Every column of the seed keeps its name and meaning; the extra columns are documented on
the fields. Status values are enforced by CHECK constraints so that no writer (worker, web,
admin, raw SQL) can store a value the pages do not understand. Every write through Django
(save, delete, and the queryset's update, delete and bulk writes) keeps the leaderboard's
summary rows in step (jobs/models/job_writes.py).
"""

import uuid

from django.db import models
from django.utils import timezone

from jobs.choices import (
    FINISHED_JOB_STATUSES,
    BuildType,
    CacheMode,
    JobStatus,
    RaceMode,
    Scenario,
    Verdict,
    Winner,
    choice_column,
    one_of,
)
from jobs.fields import UnixTimestampField
from jobs.indexes import NullsLastDescIndex
from jobs.models.job_writes import JobQuerySet, kept_in_step_while_deleted, kept_in_step_while_saved
from jobs.outcomes.judging import judge_results, success_ms


def new_job_id():
    return str(uuid.uuid4())


# The seed's columns, in its order: the contract the original's tools and the legacy import read.
SEED_JOB_COLUMNS = (
    "id", "repository_url", "repository_name", "status", "created_at", "started_at",
    "completed_at", "worker_id",
)  # fmt: skip


# The job's choice columns (NULL allowed in the second set until the race is judged).
_CHOICE_COLUMNS = {"status": JobStatus, "mode": RaceMode, "cache": CacheMode, "scenario": Scenario}
_NULLABLE_CHOICE_COLUMNS = {"winner": Winner, "verdict": Verdict}


# Leaderboard totals and per-repository statistics read these columns from the index alone.
_LEADERBOARD_STATS_COLUMNS = [
    "status", "repository_name", "winner", "speedup", "created_at", "elide_success_ms",
    "standard_success_ms", "verdict", "is_mock", "excluded_reason", "id",
]  # fmt: skip


class Job(models.Model):
    # --- the seed's columns ---
    id = models.CharField(primary_key=True, max_length=64, default=new_job_id, editable=False)
    repository_url = models.TextField()
    repository_name = models.TextField()
    status = models.CharField(max_length=16, choices=JobStatus, default=JobStatus.QUEUED)
    created_at = UnixTimestampField(default=timezone.now)
    started_at = UnixTimestampField(null=True, blank=True)
    completed_at = UnixTimestampField(null=True, blank=True)
    # Plain TEXT as in the seed (no foreign key): a job's history outlives the worker row.
    worker_id = models.TextField(null=True, blank=True)  # noqa: DJ001 (seed: nullable TEXT)

    # --- extra columns ---
    ref = models.TextField(blank=True, default="", help_text="Branch, tag or commit to build.")
    commit_sha = models.TextField(blank=True, default="", help_text="Commit that was built.")
    mode = models.CharField(max_length=16, choices=RaceMode, default=RaceMode.SEQUENTIAL)
    cache = choice_column(
        CacheMode, CacheMode.WARM, 8, "Dependency cache policy: cold (downloads measured) or warm."
    )
    scenario = choice_column(
        Scenario,
        Scenario.CLEAN,
        16,
        "What is measured: a clean build, a no-op or an incremental rebuild.",
    )
    iterations = models.PositiveIntegerField(default=1)
    # Adaptive runs ("auto"): pairs are added until the verdict is clear, `iterations` at most
    # (jobs/outcomes/sequential.py); otherwise exactly `iterations` measured runs a side.
    adaptive = models.BooleanField(default=False, db_default=False)
    warmups = models.PositiveIntegerField(default=0)
    timeout_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Per-side build timeout; empty uses the default."
    )
    # Operator-only custom commands (argument lists); never settable from the public form.
    standard_cmd = models.JSONField(null=True, blank=True)
    elide_cmd = models.JSONField(null=True, blank=True)
    attempts = models.PositiveIntegerField(
        default=0, help_text="How many times a worker has taken this job."
    )
    # Queue order before fairness: 0 for public and operators' races, 1 for suite races
    # (suites/triggers.py), which are claimed only while no race of 0 is queued.
    priority = models.PositiveSmallIntegerField(
        default=0, db_default=0, help_text="Claimed in ascending order (suite races: 1)."
    )
    error = models.TextField(blank=True, default="", help_text="Why the arena could not run it.")
    is_mock = models.BooleanField(default=False, help_text="Demo data, not a real race.")
    # Who submitted it from the web (jobs.submissions.ratelimit.client_key); empty for operators'
    # jobs.
    # Bounds each client's queued+running races and orders the queue fairly across clients.
    client_key = models.CharField(max_length=200, blank=True, default="", db_default="")
    # SHA-256 of the cancel token handed to the submitter (the token itself is never stored).
    cancel_token_hash = models.CharField(
        max_length=64, blank=True, default="", db_default="", editable=False
    )
    # Derived from the two results when the race ends; stored so the leaderboard can sort
    # 100,000 races by speedup with an index instead of computing it per row.
    winner = models.CharField(max_length=16, choices=Winner, null=True, blank=True)  # noqa: DJ001
    speedup = models.FloatField(
        null=True, blank=True, help_text="standard time / elide time (2.0 = elide twice as fast)."
    )
    # Each side's time when it succeeded (NULL when it failed), also stored when the race ends,
    # so that per-repository averages read one covering index instead of joining both results.
    elide_success_ms = models.IntegerField(
        null=True, blank=True, help_text="Elide's time in ms when it succeeded."
    )
    standard_success_ms = models.IntegerField(
        null=True, blank=True, help_text="The standard build's time in ms when it succeeded."
    )
    # The engine's verdict of a finished race, stored as it returned it.
    verdict = models.CharField(max_length=16, choices=Verdict, null=True, blank=True)  # noqa: DJ001
    speedup_ci_low = models.FloatField(null=True, blank=True, help_text="95% interval, low end.")
    speedup_ci_high = models.FloatField(null=True, blank=True, help_text="95% interval, high end.")
    speedup_ci_level = models.FloatField(
        null=True, blank=True, help_text="The interval's exact coverage (0.9 with 3 runs a side)."
    )
    void_reason = models.TextField(
        blank=True, default="", db_default="", help_text="Why the race could not run."
    )
    parity = models.JSONField(
        null=True, blank=True, help_text="How far the two sides' class names differ."
    )
    excluded_reason = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="Why this race is kept off the leaderboard (empty: it counts). Every change "
        "is kept in the race's exclusion history.",
    )

    # Every write of the queryset keeps the leaderboard's summary rows in step.
    objects = JobQuerySet.as_manager()

    class Meta:
        db_table = "jobs"
        ordering = ["-created_at", "-id"]
        # Each choice column holds one of its values, whoever writes it (worker, admin, SQL).
        constraints = [
            *(
                one_of(name, values, f"jobs_{name}_valid")
                for name, values in _CHOICE_COLUMNS.items()
            ),
            *(
                one_of(name, values, f"jobs_{name}_valid", null=True)
                for name, values in _NULLABLE_CHOICE_COLUMNS.items()
            ),
            models.CheckConstraint(
                condition=models.Q(iterations__gte=1), name="jobs_iterations_positive"
            ),
        ]
        indexes = [
            # Job lists and the leaderboard: ... ORDER BY created_at DESC
            models.Index(fields=["-created_at"], name="jobs_created_at_idx"),
            # Status filters: WHERE status = %s ORDER BY created_at DESC
            models.Index(fields=["status", "-created_at"], name="jobs_status_created_idx"),
            # The claim (workers/scheduler/claims.py): the queued jobs only, so its cheap
            # "anything queued?" check and fair_queue_order read the few queued rows, never the
            # table; fair_queue_order sorts them itself (priority, the client's turn, then age).
            models.Index(
                fields=["created_at", "id"],
                name="jobs_queued_idx",
                condition=models.Q(status="queued"),
            ),
            # Recovery: WHERE worker_id = %s AND status = 'running'
            models.Index(fields=["worker_id", "status"], name="jobs_worker_status_idx"),
            # Leaderboard ranking: WHERE status = 'completed'
            #   ORDER BY speedup DESC NULLS LAST, created_at DESC, id DESC LIMIT 50
            # and the median speedup: ... AND speedup IS NOT NULL ORDER BY speedup OFFSET n/2
            NullsLastDescIndex(
                fields=["-speedup", "-created_at", "-id"],
                name="jobs_ranking_idx",
                condition=models.Q(status="completed"),
            ),
            # The headline's per-repository medians (jobs/leaderboard/headline.py): WHERE status =
            #   'completed' AND repository_name = %s AND speedup >= %s AND speedup < %s
            #   ORDER BY speedup DESC LIMIT 1 OFFSET n: one repository's races in one step.
            models.Index(
                fields=["repository_name", "-speedup"],
                name="jobs_repo_speedup_idx",
                condition=models.Q(status="completed"),
            ),
            # Leaderboard totals and per-repository statistics, read from the index alone:
            #   SELECT COUNT(id), COUNT(id) FILTER (WHERE winner = ...), MAX(speedup), ...
            #   FROM jobs WHERE status = 'completed' [GROUP BY repository_name]
            models.Index(
                # Which races count (verdict, demo data, admin exclusion) is in it too.
                fields=_LEADERBOARD_STATS_COLUMNS,
                name="jobs_leaderboard_stats_idx",
            ),
            models.Index(fields=["repository_name", "-created_at"], name="jobs_repo_created_idx"),
            # Fair dispatch: MAX(started_at) WHERE client_key = %s (the client's last turn)
            models.Index(fields=["client_key", "started_at"], name="jobs_client_started_idx"),
        ]

    def __str__(self):
        return f"{self.repository_name} ({self.status}, {self.id})"

    def save(self, *args, **kwargs):
        with kept_in_step_while_saved(self, kwargs.get("update_fields")):
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with kept_in_step_while_deleted(self):
            return super().delete(*args, **kwargs)

    @property
    def is_finished(self):
        return self.status in FINISHED_JOB_STATUSES

    def result_for(self, build_type):
        """The side's result, using prefetched results when present."""
        for result in self.results.all():
            if result.build_type == build_type:
                return result
        return None

    @property
    def elide_result(self):
        return self.result_for(BuildType.ELIDE)

    @property
    def standard_result(self):
        return self.result_for(BuildType.STANDARD)

    @property
    def speedup_ci95(self):
        if self.speedup_ci_low is None or self.speedup_ci_high is None:
            return None
        return [self.speedup_ci_low, self.speedup_ci_high]

    def apply_verdict(self, verdict):
        """Copy an engine Verdict (or None: no verdict yet) onto the VERDICT_FIELDS."""
        self.verdict = verdict.verdict if verdict else None
        self.winner = verdict.winner if verdict else None
        self.speedup = verdict.speedup if verdict else None
        interval = verdict.ci95 if verdict else None
        self.speedup_ci_low, self.speedup_ci_high = interval or (None, None)
        self.speedup_ci_level = verdict.confidence if verdict else None
        self.void_reason = verdict.void_reason if verdict else ""
        self.parity = verdict.parity if verdict else None

    def verdict_values(self):
        return {name: getattr(self, name) for name in VERDICT_FIELDS}

    def summarize(self, elide=None, standard=None):
        """Set the verdict fields and the sides' success times from the two stored results
        (demo data, imports): the engine's judge on what the rows hold. The results default
        to the job's own (prefetched or queried)."""
        elide = elide or self.elide_result
        standard = standard or self.standard_result
        self.apply_verdict(judge_results(elide, standard))
        self.elide_success_ms = success_ms(elide)
        self.standard_success_ms = success_ms(standard)
        return self.winner, self.speedup


VERDICT_FIELDS = (
    "verdict", "winner", "speedup", "speedup_ci_low", "speedup_ci_high", "speedup_ci_level",
    "void_reason", "parity",
)  # fmt: skip
