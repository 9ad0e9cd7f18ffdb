"""Workers and their assignments: the `workers` and `worker_assignments` tables of the seed.

The database is the only coordination point between the web and the workers, so these rows
are the truth about who runs what: `current_load` counts open assignments, and a worker whose
`last_heartbeat` is too old is presumed dead (see workers/scheduler/).
"""

import datetime

from django.conf import settings
from django.contrib import admin
from django.db import models
from django.utils import timezone

from jobs.fields import UnixTimestampField
from jobs.models import Job

# Worker ids of `manage.py race` commands ("race@<host>:<pid>"). Such a race may run an
# operator's custom commands, so the pool never runs it again: when the command's process is
# gone, its job fails with the reason instead of going back to the queue (workers/scheduler/).
FOREGROUND_PREFIX = "race@"


def is_foreground(worker_id):
    """Whether this id belongs to a `manage.py race` command, not to a pool worker."""
    return bool(worker_id) and worker_id.startswith(FOREGROUND_PREFIX)


class WorkerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    MAINTENANCE = "maintenance", "Maintenance"


class WorkerQuerySet(models.QuerySet):
    def pool(self):
        """The pool's workers, without the rows of `manage.py race` commands (race@<host>:<pid>),
        which take no queued job and are not workers that can be dead."""
        return self.exclude(id__startswith=FOREGROUND_PREFIX)

    def alive(self, now=None):
        """Active or in maintenance, with a heartbeat newer than ARENA_WORKER_DEAD_AFTER."""
        now = now or timezone.now()
        fresh_since = now - datetime.timedelta(seconds=settings.ARENA_WORKER_DEAD_AFTER)
        return self.filter(
            status__in=[WorkerStatus.ACTIVE, WorkerStatus.MAINTENANCE],
            last_heartbeat__gte=fresh_since,
        )


class Worker(models.Model):
    id = models.CharField(primary_key=True, max_length=128)
    hostname = models.TextField()
    status = models.CharField(max_length=16, choices=WorkerStatus, default=WorkerStatus.ACTIVE)
    capacity = models.IntegerField(default=2, db_default=2, help_text="Max concurrent races.")
    current_load = models.IntegerField(default=0, db_default=0, help_text="Races running now.")
    last_heartbeat = UnixTimestampField(null=True, blank=True)
    created_at = UnixTimestampField(default=timezone.now)
    updated_at = UnixTimestampField(default=timezone.now)

    # --- extra columns ---
    pid = models.IntegerField(null=True, blank=True, help_text="Process id on its host.")
    # What the worker found when it last probed its host (workers/engine/tools/toolchains.py):
    # {"java": {...}, "jdks": [...], "mvn": {...}, "gradle": {...}, "elide": {...}}.
    toolchains = models.JSONField(null=True, blank=True, default=dict)
    toolchains_probed_at = UnixTimestampField(null=True, blank=True)
    # Whether the last probe found a working elide: the scheduler prefers such workers.
    runs_elide = models.BooleanField(default=False, db_default=False)
    # The host's noise floor from the worker's last calibration (workers/noise_floor.py):
    # {"spread": 0.021, "pairs": 5, "ratios": [...]}; NULL until the first one finished.
    noise_floor = models.JSONField(null=True, blank=True)
    calibrated_at = UnixTimestampField(null=True, blank=True)

    objects = WorkerQuerySet.as_manager()

    class Meta:
        db_table = "workers"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=WorkerStatus.values), name="workers_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(capacity__gte=1), name="workers_capacity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(current_load__gte=0), name="workers_load_not_negative"
            ),
        ]
        indexes = [
            # Reaping and assignment: WHERE status = 'active' AND last_heartbeat < %s
            models.Index(fields=["status", "last_heartbeat"], name="workers_status_heartbeat_idx"),
        ]

    def __str__(self):
        return f"{self.id} on {self.hostname} ({self.status}, {self.current_load}/{self.capacity})"

    @property
    def is_command_line(self):
        """The row of a `manage.py race` command, not a worker of the pool."""
        return is_foreground(self.id)

    @property
    @admin.display(description="Toolchains")
    def toolchain_summary(self):
        from workers.engine.tools.toolchains import summary

        return summary(self.toolchains)


class WorkerAssignment(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="assignments")
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="assignments")
    assigned_at = UnixTimestampField(default=timezone.now)
    completed_at = UnixTimestampField(null=True, blank=True)

    # --- extra columns ---
    outcome = models.TextField(
        blank=True, default="", help_text="How the assignment ended: finished, cancelled, lost..."
    )

    class Meta:
        db_table = "worker_assignments"
        ordering = ["-assigned_at", "-id"]
        indexes = [
            # A worker's open assignments: WHERE worker_id = %s AND completed_at IS NULL
            models.Index(
                fields=["worker"],
                name="assignments_open_idx",
                condition=models.Q(completed_at__isnull=True),
            ),
        ]

    def __str__(self):
        state = "open" if self.completed_at is None else self.outcome or "closed"
        return f"job {self.job_id} on {self.worker_id} ({state})"
