"""Admin sign-in is throttled per account and client (django-axes, buildarena/settings.py).

Through the admin's own login form: after ARENA_LOGIN_FAILURE_LIMIT wrong passwords the pair
(account, client) is locked out, the right password included, with a page that says so; the
client is counted as the rate limits count it (trusted proxies only, IPv6 by /64).
"""

import datetime

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def operator():
    return get_user_model().objects.create_superuser("operator", "op@example.com", PASSWORD)


def sign_in(address, password, username="operator", **headers):
    """A fresh browser at `address` posting the admin login form; returns (response, signed in)."""
    browser = Client(REMOTE_ADDR=address)
    response = browser.post(LOGIN, {"username": username, "password": password}, **headers)
    return response, "_auth_user_id" in browser.session


def test_wrong_passwords_lock_the_account_for_that_client(operator, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    statuses = [sign_in("203.0.113.5", f"guess-{n}")[0].status_code for n in range(4)]
    assert statuses == [200, 200, 200, 200]  # the login page again, with its error
    fifth, _ = sign_in("203.0.113.5", "guess-5")
    assert fifth.status_code == 429
    page = fifth.content.decode()
    assert "Sign-in locked" in page and "After 5 wrong passwords" in page
    assert "locked for 15 minutes" in page
    # Now even the right password is refused from that client.
    right, signed_in = sign_in("203.0.113.5", PASSWORD)
    assert right.status_code == 429 and not signed_in
    # Another client signs in to that account; the locked client may use other accounts.
    assert sign_in("198.51.100.7", PASSWORD)[1]
    assert sign_in("203.0.113.5", "x", username="someone-else")[0].status_code == 200


def test_the_lockout_ends_after_the_cool_off(operator):
    for n in range(5):
        sign_in("203.0.113.5", f"guess-{n}")
    assert sign_in("203.0.113.5", PASSWORD)[0].status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    response, signed_in = sign_in("203.0.113.5", PASSWORD)
    assert response.status_code == 302 and signed_in


def test_forged_headers_and_other_addresses_of_a_64_stay_locked(operator, settings):
    settings.ARENA_CLIENT_IP_HEADER = "X-Forwarded-For"
    settings.ARENA_TRUSTED_PROXIES = ["127.0.0.1"]
    for n in range(5):
        response, _ = sign_in(
            f"2001:db8:7:7::{n + 1}", f"guess-{n}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}"
        )
    assert response.status_code == 429
    assert sign_in("2001:db8:7:7:abcd::1", PASSWORD)[0].status_code == 429
    assert sign_in("2001:db8:7:8::1", PASSWORD)[1]  # another /64 is another client
