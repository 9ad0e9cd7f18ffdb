"""The `rate_limit_counters` table: job submissions per client per time window, counted by
jobs/submissions/ratelimit.py for every web process through the database."""

from django.db import models


class RateLimitCounter(models.Model):
    """Job submissions per client per time window, shared by all web
    processes through the database."""

    key = models.CharField(max_length=200, help_text="The client, e.g. jobs:203.0.113.7.")
    window_start = models.BigIntegerField(help_text="Unix seconds when the window began.")
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "rate_limit_counters"
        constraints = [
            # The counter's UPDATE: WHERE key = %s AND window_start = %s
            models.UniqueConstraint(
                fields=["key", "window_start"], name="rate_limit_one_per_window"
            )
        ]
        indexes = [
            # Cleanup: DELETE ... WHERE window_start < %s
            models.Index(fields=["window_start"], name="rate_limit_window_idx"),
        ]

    def __str__(self):
        return f"{self.key} {self.window_start}: {self.hits}"
