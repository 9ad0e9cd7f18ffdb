"""The pages: home, race page (live and replay), job list, leaderboard (pool: workers.views)."""

from jobs.views.exports import leaderboard_csv, leaderboard_json
from jobs.views.home import home, repository_url_feedback
from jobs.views.kiosk import kiosk, kiosk_slide
from jobs.views.leaderboard import leaderboard
from jobs.views.lists import job_list
from jobs.views.race import (
    race_cancel,
    race_detail,
    race_output_text,
    race_poll,
    race_replay,
)
from jobs.views.repository import race_card, repository_badge, repository_page

__all__ = [
    "home",
    "job_list",
    "kiosk",
    "kiosk_slide",
    "leaderboard",
    "leaderboard_csv",
    "leaderboard_json",
    "race_cancel",
    "race_card",
    "race_detail",
    "race_output_text",
    "race_poll",
    "race_replay",
    "repository_badge",
    "repository_page",
    "repository_url_feedback",
]
