"""What the race page says about the worker pool, supplied by the workers app.

The apps depend one way: workers imports jobs, never the reverse (tests/test_architecture.py
checks it). A queued race's page still says when no worker will take it: the workers app
registers that answer here when Django starts (workers/apps.py). So does a finished race's
page show the noise floor of the host that measured it.
"""

from django.core.exceptions import ImproperlyConfigured

_waiting_message = None
_noise_floor = None


def register_waiting_message(provider):
    """`provider()` returns why queued races do not start now, or "" when a worker will."""
    global _waiting_message
    _waiting_message = provider


def register_noise_floor(provider):
    """`provider(worker_id)` returns that worker's last noise floor (with `percent`,
    `summary` and `covers(speedup)`), or None when it has none."""
    global _noise_floor
    _noise_floor = provider


def noise_floor(worker_id):
    """The noise floor of the host whose worker is `worker_id`, or None."""
    if _noise_floor is None:
        raise ImproperlyConfigured("The workers app is not installed: no host measured races.")
    return _noise_floor(worker_id)


def waiting_message():
    """Why queued races do not start now (no live, active worker), or ""."""
    if _waiting_message is None:
        raise ImproperlyConfigured("The workers app is not installed: nothing runs the queue.")
    return _waiting_message()
