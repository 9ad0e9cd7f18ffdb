"""Per-client rate limit on job creation, shared by every web process through the database.

A fixed window counter: one row per (client, window) in `rate_limit_counters`, incremented with
an UPDATE ... SET hits = hits + 1, so several gunicorn processes (and several machines on
PostgreSQL) count together without a cache server. A client may make ARENA_JOB_RATE_LIMIT
submissions per ARENA_JOB_RATE_WINDOW seconds; the next one gets 429 with Retry-After set to
the seconds left in the window. Old windows are deleted as new ones start.
"""

import functools
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from jobs.models.ratelimit import RateLimitCounter


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    hits: int
    limit: int
    retry_after: int  # seconds until the window resets (meaningful when not allowed)


def client_address(request):
    """The client's IP address, or None; only hops added by ARENA_TRUSTED_PROXIES are believed.

    Without ARENA_CLIENT_IP_HEADER it is the connection's address. With it, the header counts
    only when the connection comes from a trusted proxy; X-Forwarded-For is then walked from
    the right, each hop appended by the trusted proxy to its right, until a hop that is not a
    trusted proxy: that is the client. Entries left of it are whatever the client sent.
    """
    address = _ip(request.META.get("REMOTE_ADDR", ""))
    header = settings.ARENA_CLIENT_IP_HEADER
    trusted = _trusted_networks(tuple(settings.ARENA_TRUSTED_PROXIES))
    if not header or not _is_trusted(address, trusted):
        return address
    meta_name = "HTTP_" + header.upper().replace("-", "_")
    for hop in reversed(request.META.get(meta_name, "").split(",")[-MAX_FORWARDED_HOPS:]):
        parsed = _ip(hop.strip())
        if parsed is None:  # garbage from a proxy: believe no more than the proxy itself
            return address
        address = parsed
        if not _is_trusted(address, trusted):
            return address
    return address


def client_key(request):
    """The client as every per-client limit counts it: its address, an IPv6 client by /64."""
    address = client_address(request)
    if address is None:
        return "unknown"
    if address.version == 6:
        # One client usually owns a whole /64.
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_ip(request):
    """client_key as one IP address (an IPv6 /64 as its first address), for django-axes."""
    key = client_key(request)
    return None if key == "unknown" else key.removesuffix("/64")


# Hops of a forwarding header looked at, at most (a client may send thousands).
MAX_FORWARDED_HOPS = 32


def _ip(text):
    """An address as ipaddress parses it (IPv4-mapped IPv6 as IPv4), or None."""
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return None
    if parsed.version == 6 and parsed.ipv4_mapped:
        return parsed.ipv4_mapped
    return parsed


@functools.lru_cache(maxsize=8)
def _trusted_networks(entries):
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _is_trusted(address, networks):
    return address is not None and any(
        address.version == network.version and address in network for network in networks
    )


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
