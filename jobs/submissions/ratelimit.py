"""Per-client rate limit on job creation, shared by every web process through the database.

A fixed window counter: one row per (client, window) in `rate_limit_counters`, incremented with
an UPDATE ... SET hits = hits + 1, so several gunicorn processes (and several machines on
PostgreSQL) count together without a cache server. A client may make ARENA_JOB_RATE_LIMIT
submissions per ARENA_JOB_RATE_WINDOW seconds; the next one gets 429 with Retry-After set to
the seconds left in the window. Old windows are deleted as new ones start.
"""

import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F


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


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    hits: int
    limit: int
    retry_after: int  # seconds until the window resets (meaningful when not allowed)


def client_key(request):
    """The client's address: REMOTE_ADDR, or the last hop of ARENA_CLIENT_IP_HEADER.

    Only the address appended by our own proxy (the last one in X-Forwarded-For) is trusted;
    earlier entries are whatever the client chose to send.
    """
    address = request.META.get("REMOTE_ADDR", "")
    header = settings.ARENA_CLIENT_IP_HEADER
    if header:
        meta_name = "HTTP_" + header.upper().replace("-", "_")
        forwarded = [part.strip() for part in request.META.get(meta_name, "").split(",")]
        if forwarded and forwarded[-1]:
            address = forwarded[-1]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if parsed.version == 6:
        # One client usually owns a whole /64.
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def hit(key, *, limit=None, window=None, now=None):
    """Count one job creation by `key` and say whether it is allowed."""
    limit = settings.ARENA_JOB_RATE_LIMIT if limit is None else limit
    window = settings.ARENA_JOB_RATE_WINDOW if window is None else window
    if not limit or limit <= 0:
        return RateLimitResult(True, 0, 0, 0)
    now = time.time() if now is None else now
    window_start = int(now) // window * window
    key = key[:200]
    with transaction.atomic():
        counters = RateLimitCounter.objects.filter(key=key, window_start=window_start)
        if not counters.update(hits=F("hits") + 1):
            try:
                with transaction.atomic():
                    RateLimitCounter.objects.create(key=key, window_start=window_start, hits=1)
                # A new window began: forget windows that can no longer matter.
                RateLimitCounter.objects.filter(window_start__lt=window_start).delete()
            except IntegrityError:
                counters.update(hits=F("hits") + 1)
        hits = counters.values_list("hits", flat=True).get()
    retry_after = max(1, math.ceil(window_start + window - now))
    return RateLimitResult(hits <= limit, hits, limit, retry_after)
