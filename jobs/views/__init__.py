"""The pages: home, race page (live and replay), job list, leaderboard (pool: workers.views)."""

from jobs.views.home import home, validate_repository
from jobs.views.leaderboard import leaderboard, leaderboard_csv, leaderboard_json
from jobs.views.lists import job_list
from jobs.views.race import (
    race_cancel,
    race_detail,
    race_output_text,
    race_poll,
    race_replay,
)

__all__ = [
    "home",
    "job_list",
    "leaderboard",
    "leaderboard_csv",
    "leaderboard_json",
    "race_cancel",
    "race_detail",
    "race_output_text",
    "race_poll",
    "race_replay",
    "validate_repository",
]
