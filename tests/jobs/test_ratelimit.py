"""The submission rate limit's counters (jobs/submissions/ratelimit.py): windows on a controlled
clock, the
client's key, one count shared by every web process."""

import pytest

from jobs.models import RateLimitCounter
from jobs.submissions import ratelimit

pytestmark = pytest.mark.django_db


def test_rate_limit_windows_with_a_controlled_clock(settings):
    start = 1_800_000_000  # a window boundary for a 600 s window
    results = [ratelimit.hit("k", limit=2, window=600, now=start + 10 * i) for i in range(3)]
    assert [r.allowed for r in results] == [True, True, False]
    assert results[2].retry_after == 600 - 20
    # The next window starts afresh and deletes windows that no longer matter.
    later = ratelimit.hit("k", limit=2, window=600, now=start + 600)
    assert later.allowed and later.hits == 1
    assert list(RateLimitCounter.objects.values_list("window_start", flat=True)) == [start + 600]


def test_client_key_uses_the_last_proxy_hop_only_when_configured(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 5.6.7.8")
    settings.ARENA_CLIENT_IP_HEADER = ""
    assert ratelimit.client_key(request) == "10.0.0.1"
    settings.ARENA_CLIENT_IP_HEADER = "X-Forwarded-For"
    assert ratelimit.client_key(request) == "5.6.7.8"
    v6 = rf.get("/", REMOTE_ADDR="2001:db8::1")
    settings.ARENA_CLIENT_IP_HEADER = ""
    assert ratelimit.client_key(v6) == "2001:db8::/64"


@pytest.mark.django_db(transaction=True)
def test_rate_limit_is_shared_between_processes(manage):
    """Two other processes (as two gunicorn workers would) and this one count together."""
    script = (
        "from jobs import ratelimit; "
        "print(ratelimit.hit('jobs:192.0.2.1', limit=3, window=3600, now=1_800_000_100).hits)"
    )
    counts = [manage("shell", "-v", "0", "-c", script, check=True).stdout.split()[-1] for _ in "ab"]
    assert counts == ["1", "2"]
    third = ratelimit.hit("jobs:192.0.2.1", limit=3, window=3600, now=1_800_000_200)
    fourth = ratelimit.hit("jobs:192.0.2.1", limit=3, window=3600, now=1_800_000_300)
    assert (third.allowed, fourth.allowed) == (True, False)
    assert fourth.retry_after == 3300  # the window began at 1_800_000_000
