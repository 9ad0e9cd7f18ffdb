"""Suites, their repositories, their runs (one per set of toolchain versions) and the races
and regressions of each run: tables beside the seed's four.

A suite's races are ordinary rows of `jobs` (queued below public races, see
`jobs.models.Job.priority`); `suite_races` marks which run each belongs to.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from jobs.choices import CacheMode, Scenario, choice_column, one_of
from jobs.fields import UnixTimestampField
from jobs.models import Job
from jobs.submissions.validation import validate_repository


class Suite(models.Model):
    name = models.SlugField(max_length=64, unique=True)
    description = models.TextField(blank=True, default="")
    # Measured runs a side (0: adaptive, "auto", once races support it) and warm-ups.
    runs = models.PositiveIntegerField(default=3)
    warmups = models.PositiveIntegerField(default=1)
    cache = choice_column(CacheMode, CacheMode.WARM, 8, "Dependency cache policy of its races.")
    scenario = choice_column(Scenario, Scenario.CLEAN, 16, "What its races measure.")
    enabled = models.BooleanField(
        default=True, help_text="Raced on new toolchain versions and on schedule."
    )
    created_at = UnixTimestampField(default=timezone.now)

    class Meta:
        db_table = "suites"
        ordering = ["name"]
        constraints = [
            one_of("cache", CacheMode, "suites_cache_valid"),
            one_of("scenario", Scenario, "suites_scenario_valid"),
            models.CheckConstraint(condition=models.Q(runs__lte=10), name="suites_runs_at_most_10"),
            models.CheckConstraint(
                condition=models.Q(warmups__lte=3), name="suites_warmups_at_most_3"
            ),
        ]

    def __str__(self):
        return self.name


class SuiteRepository(models.Model):
    suite = models.ForeignKey(Suite, on_delete=models.CASCADE, related_name="repositories")
    url = models.TextField()
    ref = models.TextField(blank=True, default="")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "suite_repositories"
        ordering = ["suite", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["suite", "url", "ref"], name="suite_repositories_unique"
            )
        ]

    def __str__(self):
        return f"{self.url}@{self.ref}" if self.ref else self.url

    def clean(self):
        """The URL and ref as a public submission takes them (normalised), or a form error."""
        try:
            self.url, _, self.ref = validate_repository(self.url, self.ref)
        except ValidationError as error:
            raise ValidationError({"url": error.messages}) from None


class SuiteRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"


class SuiteRun(models.Model):
    """The suite raced once for one set of toolchain versions.

    `versions_key` ("elide=1.0.0;java=17.0.15;mvn=3.9.9", or "demand:<time>" for a run an
    operator asked for) is unique per suite: however many workers report the same versions at
    once, the insert of one row decides that the suite runs once for them.
    """

    suite = models.ForeignKey(Suite, on_delete=models.CASCADE, related_name="runs_of_suite")
    versions = models.JSONField(default=dict, help_text="The versions that caused this run.")
    versions_key = models.TextField()
    trigger = models.CharField(max_length=16, help_text="version, demand or schedule.")
    status = models.CharField(max_length=16, choices=SuiteRunStatus, default=SuiteRunStatus.RUNNING)
    created_at = UnixTimestampField(default=timezone.now)
    completed_at = UnixTimestampField(null=True, blank=True)

    class Meta:
        db_table = "suite_runs"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["suite", "versions_key"], name="suite_runs_once"),
            one_of("status", SuiteRunStatus, "suite_runs_status_valid"),
        ]

    def __str__(self):
        return f"{self.suite.name} #{self.pk} ({self.versions_key})"

    def latest_races(self):
        """{repository id: its newest SuiteRace} (the attempt that stands for it)."""
        latest = {}
        for race in self.races.select_related("job", "repository").order_by(
            "repository_id", "attempt"
        ):
            latest[race.repository_id] = race
        return latest


class SuiteRace(models.Model):
    """One race of a suite run: a repository's attempt (re-raced when void or inconclusive)."""

    run = models.ForeignKey(SuiteRun, on_delete=models.CASCADE, related_name="races")
    repository = models.ForeignKey(SuiteRepository, on_delete=models.CASCADE, related_name="+")
    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="suite_race")
    attempt = models.PositiveIntegerField(default=1)

    class Meta:
        db_table = "suite_races"
        ordering = ["run", "repository", "attempt"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "repository", "attempt"], name="suite_races_one_per_attempt"
            )
        ]

    def __str__(self):
        return f"{self.repository} in run {self.run_id}, attempt {self.attempt}"


class ChangeKind(models.TextChoices):
    REGRESSION = "regression", "Regression"
    IMPROVEMENT = "improvement", "Improvement"


class VersionChange(models.Model):
    """A repository whose speedup changed between two toolchain versions (suites/regressions.py).

    Written once per (suite, repository, tool, from, to); `announced_at` is set when it was
    mailed, so each is mailed once.
    """

    suite = models.ForeignKey(Suite, on_delete=models.CASCADE, related_name="changes")
    repository_name = models.TextField()
    tool = models.CharField(max_length=16, default="elide")
    from_version = models.TextField()
    to_version = models.TextField()
    kind = models.CharField(max_length=16, choices=ChangeKind)
    change = models.FloatField(help_text="Relative change of the speedup (-0.23: 23% lower).")
    ci_low = models.FloatField()
    ci_high = models.FloatField()
    from_job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    to_job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    found_at = UnixTimestampField(default=timezone.now)
    announced_at = UnixTimestampField(null=True, blank=True)

    class Meta:
        db_table = "suite_version_changes"
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["suite", "repository_name", "tool", "from_version", "to_version"],
                name="suite_version_changes_once",
            ),
            one_of("kind", ChangeKind, "suite_version_changes_kind_valid"),
        ]

    def __str__(self):
        return (
            f"{self.repository_name}: {self.kind} {self.change:+.0%} "
            f"({self.from_version} -> {self.to_version})"
        )
