import pytest


@pytest.fixture
def uncached(settings):
    """Every request computes its leaderboard and exports afresh: nothing cached between them."""
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    settings.ARENA_EXPORT_CACHE_SECONDS = 0
    return settings


@pytest.fixture
def no_limits(uncached, settings):
    """Pages free of the submission and export rate limits, nothing cached."""
    settings.ARENA_JOB_RATE_LIMIT = 0
    settings.ARENA_EXPORT_RATE_LIMIT = 0
    return settings
