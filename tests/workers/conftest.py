import pytest


@pytest.fixture
def pool_settings(settings):
    """The pool's timing the rule tests count on: dead after 30 s, two attempts, an hour kept."""
    settings.ARENA_WORKER_DEAD_AFTER = 30
    settings.ARENA_WORKER_POLL_INTERVAL = 0.5
    settings.ARENA_JOB_MAX_ATTEMPTS = 2
    settings.ARENA_WORKER_RETENTION = 3600
    return settings
