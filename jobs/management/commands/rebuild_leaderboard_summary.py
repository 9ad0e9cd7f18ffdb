"""Rebuild the leaderboard's summary rows from a full recount of the races."""

import time

from django.core.management.base import BaseCommand

from jobs.leaderboard.summary_rebuild import rebuild_summary
from jobs.storage.dbtools import refresh_planner_statistics


class Command(BaseCommand):
    help = (
        "Replace the leaderboard's summary rows (totals, chart, per-repository figures) by a "
        "full recount of the races, in one transaction; safe while workers record races. "
        "Run it after anything wrote the jobs table behind the application's back (raw SQL, "
        "a restored backup) or after changing ARENA_PLAUSIBLE_SPEEDUP."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        rows = rebuild_summary()
        refresh_planner_statistics()
        self.stdout.write(
            f"Leaderboard summary rebuilt: {rows} row(s) in {time.monotonic() - started:.1f} s."
        )
