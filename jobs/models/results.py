"""Build results and exclusion history: the seed's `build_results` table and `race_exclusions`.

A side's row holds what the worker measured and its log; the race's verdict is stored on the
job (jobs/models/job.py), so these rows never enter the leaderboard's summary rows.
"""

from django.db import models, transaction
from django.utils import timezone

from jobs.choices import BuildStatus, BuildType, ErrorKind, one_of
from jobs.fields import UnixTimestampField
from jobs.live.output_bytes import OctetLength
from jobs.models.job import Job
from jobs.outcomes import vocabulary
from jobs.storage.compression import joined_text, joined_timing


class BuildResult(models.Model):
    # --- the seed's columns ---
    # No index of its own: build_results_one_per_side (job_id, build_type) serves every lookup
    # by job_id, so a second index would only cost space and insert time.
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="results", db_index=False)
    build_type = models.CharField(max_length=16, choices=BuildType)
    status = models.CharField(max_length=16, choices=BuildStatus, default=BuildStatus.PENDING)
    duration = models.IntegerField(default=0, help_text="Whole seconds, as in the seed.")
    output = models.TextField(null=True, blank=True)  # noqa: DJ001 (seed: nullable TEXT)
    bell_rung = models.BooleanField(default=False, db_default=False)
    created_at = UnixTimestampField(default=timezone.now)

    # --- extra columns ---
    duration_ms = models.IntegerField(
        null=True, blank=True, help_text="Median measured time in milliseconds; decides the race."
    )
    run_times_ms = models.JSONField(
        default=list, blank=True, help_text="Every measured run's time in milliseconds."
    )
    exit_code = models.IntegerField(null=True, blank=True)
    tool = models.CharField(
        max_length=32, blank=True, default="", help_text="elide, maven or gradle."
    )
    tool_version = models.TextField(blank=True, default="")
    started_at = UnixTimestampField(null=True, blank=True)
    finished_at = UnixTimestampField(null=True, blank=True)
    # Replay timing: one line "<character offset> <elapsed ms>" per appended chunk of output.
    output_timing = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="", help_text="Why the side failed, if known.")
    # What the side is doing while pending, as the engine reports it: "cloning", "preparing",
    # "ready" (prepared, waiting for its turn), "waiting for the measurement lock",
    # "building (run 2/3)"... Empty for rows written before phases were recorded.
    phase = models.CharField(max_length=80, blank=True, default="", db_default="")
    # A failure's kind: the side could not run (infrastructure) or its build failed (build).
    error_kind = models.CharField(max_length=16, choices=ErrorKind, null=True, blank=True)  # noqa: DJ001
    # The jars the side produced (NULL: not looked for, e.g. it failed before the end).
    artifact_files = models.IntegerField(null=True, blank=True)
    artifact_bytes = models.BigIntegerField(null=True, blank=True)
    artifact_classes = models.IntegerField(null=True, blank=True)
    jdk = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="The JDK the side built with: major version (home).",
    )
    # {"clone_ms": int, "prepare_ms": int, "runs_ms": [int, ...], "downloads": [int|None, ...]}:
    # the race's clone, the side's unmeasured prepare phase (cache warming, initial build), its
    # measured runs and the artifacts each of them downloaded
    # (workers/engine/measuring/downloads.py).
    phases = models.JSONField(default=dict, blank=True, null=True)
    # A finished side's log, LZMA-compressed (jobs/storage/compression.py; jobs/storage/outputs.py
    # compacts):
    # `output` is then NULL and `output_timing` empty, so 100,000 races fit in a small
    # database. Read the log through `full_output` / `full_output_timing` (both forms).
    output_compressed = models.BinaryField(null=True, blank=True, editable=False)
    output_timing_compressed = models.BinaryField(null=True, blank=True, editable=False)
    # UTF-8 bytes in `output` (NULL with it), computed by the database whenever a row is
    # written, whatever writes it (the worker's SQL append, compaction, an import, raw SQL).
    # The live poll's positions are bytes (jobs/live/output_bytes.py); it reads this instead of the
    # text's length, which on every poll would read both sides' whole text only to answer
    # "nothing new".
    output_bytes = models.GeneratedField(
        expression=OctetLength("output"), output_field=models.IntegerField(), db_persist=True
    )

    class Meta:
        db_table = "build_results"
        ordering = ["job_id", "build_type"]
        constraints = [
            one_of("build_type", BuildType, "build_results_build_type_valid"),
            one_of("status", BuildStatus, "build_results_status_valid"),
            models.UniqueConstraint(
                fields=["job", "build_type"], name="build_results_one_per_side"
            ),
            one_of("error_kind", ErrorKind, "build_results_error_kind_valid", null=True),
        ]

    def __str__(self):
        return f"{self.build_type} {self.status} for job {self.job_id}"

    @property
    def is_pending(self):
        return self.status == BuildStatus.PENDING

    @property
    def succeeded(self):
        return self.status == BuildStatus.SUCCESS

    @property
    def full_output(self):
        """The side's whole log, compacted or not (text appended after compaction included)."""
        return joined_text(self.output_compressed, self.output)

    @property
    def full_output_timing(self):
        """The replay timing lines, compacted or not."""
        return joined_timing(self.output_timing_compressed, self.output_timing)

    @property
    def artifacts(self):
        if self.artifact_files is None:
            return None
        return {
            "files": self.artifact_files,
            "bytes": self.artifact_bytes,
            "classes": self.artifact_classes,
        }

    @property
    def best_duration_ms(self):
        """Milliseconds when measured, else the seed's whole seconds."""
        return vocabulary.measured_ms(self.duration_ms, self.duration)


class RaceExclusionManager(models.Manager):
    def exclude_races(self, races, reason, changed_by):
        """Take `races` (a Job queryset) off the leaderboard with `reason`, one row each (as an
        edit of the reason in the admin's change form records it). Races already excluded for
        the same reason are left as they were. Returns how many changed."""
        with transaction.atomic(using=self.db):
            ids = list(races.exclude(excluded_reason=reason).values_list("pk", flat=True))
            Job.objects.filter(pk__in=ids).update(excluded_reason=reason)
            self.bulk_create(
                self.model(job_id=job_id, excluded=True, reason=reason, changed_by=changed_by)
                for job_id in ids
            )
        return len(ids)


class RaceExclusion(models.Model):
    """One change of a race's place on the leaderboard: excluded (with why) or restored.

    Written whenever an admin sets or clears `jobs.excluded_reason`, so the history of who
    kept which race off the board, and why, survives later edits.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="exclusions")
    excluded = models.BooleanField(help_text="True: taken off the leaderboard; False: restored.")
    reason = models.TextField(blank=True, default="")
    changed_by = models.TextField(blank=True, default="", help_text="Who made the change.")
    changed_at = UnixTimestampField(default=timezone.now)

    objects = RaceExclusionManager()

    class Meta:
        db_table = "race_exclusions"
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        action = "excluded" if self.excluded else "restored"
        return f"{self.job_id} {action} by {self.changed_by or 'unknown'}"
