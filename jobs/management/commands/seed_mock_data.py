"""Insert demo races: the original's five mock jobs, and optionally N random realistic races."""

import time

from django.core.management.base import BaseCommand, CommandError

from jobs.demo.mock_data import MOCK_RACES, seed_original_mock_jobs, seed_random_races
from jobs.storage.dbtools import refresh_planner_statistics


class Command(BaseCommand):
    help = (
        "Insert the original's 5 mock races (mock-job-1..5) if missing; with --jobs N also "
        "N random completed races (is_mock=True) for demos and benchmarks."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--jobs", type=int, default=0, help="Also add this many random completed races."
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="Random seed, for reproducible races."
        )
        parser.add_argument(
            "--batch-size", type=int, default=10000, help="Races per bulk-load transaction."
        )

    def handle(self, *args, jobs, seed, batch_size, **options):
        if jobs < 0:
            raise CommandError("--jobs must be zero or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        added = seed_original_mock_jobs()
        self.stdout.write(f"Mock races: {added} added, {len(MOCK_RACES) - added} already present.")
        if not jobs:
            refresh_planner_statistics()
            return
        started = time.monotonic()

        def progress(done, inserted):
            if options["verbosity"] > 1:
                self.stdout.write(f"  {done}/{jobs} generated, {inserted} inserted")

        inserted = seed_random_races(jobs, seed=seed, batch_size=batch_size, progress=progress)
        refresh_planner_statistics()
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Random races: {inserted} added ({jobs - inserted} already present) "
            f"in {elapsed:.1f} s."
        )
