"""What the race page says about the worker pool, supplied by the workers app.

The apps depend one way: workers imports jobs, never the reverse (tests/test_architecture.py
checks it). A queued race's page still says when no worker will take it: the workers app
registers that answer here when Django starts (workers/apps.py).
"""

from django.core.exceptions import ImproperlyConfigured

_waiting_message = None


def register_waiting_message(provider):
    """`provider()` returns why queued races do not start now, or "" when a worker will."""
    global _waiting_message
    _waiting_message = provider


def waiting_message():
    """Why queued races do not start now (no live, active worker), or ""."""
    if _waiting_message is None:
        raise ImproperlyConfigured("The workers app is not installed: nothing runs the queue.")
    return _waiting_message()
