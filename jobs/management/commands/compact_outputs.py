"""Compress the logs of finished build sides that are still stored as plain text."""

from django.core.management.base import BaseCommand

from jobs.storage.dbtools import refresh_planner_statistics
from jobs.storage.outputs import compact_some


class Command(BaseCommand):
    help = "Compress finished sides' output into the compact column (safe to run any time)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=200, help="Results per transaction batch."
        )

    def handle(self, *args, batch_size, **options):
        total = 0
        while compacted := compact_some(limit=max(batch_size, 1)):
            total += compacted
        refresh_planner_statistics()
        self.stdout.write(f"Compacted {total} build result(s).")
