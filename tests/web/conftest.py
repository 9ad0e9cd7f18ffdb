import pytest


@pytest.fixture
def uncached(settings):
    """Every request computes its leaderboard and exports afresh: nothing cached between them."""
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    settings.ARENA_EXPORT_CACHE_SECONDS = 0
    return settings
