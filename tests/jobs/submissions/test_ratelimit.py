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


def test_client_key_believes_only_hops_added_by_trusted_proxies(rf, settings):
    forwarded = "1.2.3.4, 6.6.6.6, 5.6.7.8, 10.0.0.2"
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    settings.ARENA_TRUSTED_PROXIES = ["10.0.0.0/24"]
    settings.ARENA_CLIENT_IP_HEADER = ""
    assert ratelimit.client_key(request) == "10.0.0.1"
    settings.ARENA_CLIENT_IP_HEADER = "X-Forwarded-For"
    # From the right: 10.0.0.2 is a trusted proxy's hop, 5.6.7.8 the first one that is not.
    assert ratelimit.client_key(request) == "5.6.7.8"
    # A connection from elsewhere is the client, whatever header it sends.
    direct = rf.get("/", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="5.6.7.8")
    assert ratelimit.client_key(direct) == "198.51.100.9"
    settings.ARENA_TRUSTED_PROXIES = []
    assert ratelimit.client_key(request) == "10.0.0.1"


@pytest.mark.parametrize(
    ("forwarded", "key"),
    [
        ("", "127.0.0.1"),  # no hop: the proxy itself
        ("garbage", "127.0.0.1"),
        ("5.6.7.8, garbage", "127.0.0.1"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::1, 127.0.0.1", "::/64"),  # every hop trusted: the leftmost
        ("9.9.9.9, " * 5000 + "5.6.7.8", "5.6.7.8"),
    ],
)
def test_client_key_from_odd_forwarding_headers(rf, settings, forwarded, key):
    settings.ARENA_TRUSTED_PROXIES = ["127.0.0.1", "::1"]
    settings.ARENA_CLIENT_IP_HEADER = "X-Forwarded-For"
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert ratelimit.client_key(request) == key


def test_ipv6_clients_are_grouped_by_64(rf, settings):
    settings.ARENA_CLIENT_IP_HEADER = ""
    keys = {
        ratelimit.client_key(rf.get("/", REMOTE_ADDR=address))
        for address in ("2001:db8::1", "2001:db8::ffff:1", "2001:db8:0:0:1234:5678:9abc:def0")
    }
    assert keys == {"2001:db8::/64"}
    assert ratelimit.client_ip(rf.get("/", REMOTE_ADDR="2001:db8::1")) == "2001:db8::"
    assert ratelimit.client_key(rf.get("/", REMOTE_ADDR="2001:db8:0:1::1")) == "2001:db8:0:1::/64"


@pytest.mark.django_db(transaction=True)
def test_rate_limit_is_shared_between_processes(manage):
    """Two other processes (as two gunicorn workers would) and this one count together."""
    script = (
        "from jobs.submissions import ratelimit; "
        "print(ratelimit.hit('jobs:192.0.2.1', limit=3, window=3600, now=1_800_000_100).hits)"
    )
    counts = [manage("shell", "-v", "0", "-c", script, check=True).stdout.split()[-1] for _ in "ab"]
    assert counts == ["1", "2"]
    third = ratelimit.hit("jobs:192.0.2.1", limit=3, window=3600, now=1_800_000_200)
    fourth = ratelimit.hit("jobs:192.0.2.1", limit=3, window=3600, now=1_800_000_300)
    assert (third.allowed, fourth.allowed) == (True, False)
    assert fourth.retry_after == 3300  # the window began at 1_800_000_000
