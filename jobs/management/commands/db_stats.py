"""Print the seed's "Query Database Stats" figures plus the database size (SQLite or PostgreSQL)."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from jobs.storage.dbtools import database_stats, human_bytes


class Command(BaseCommand):
    help = (
        "Print total_jobs, completed_jobs and total_results (the seed's monitoring query), "
        "jobs per status and the database size."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument("--database", default="default", help="Database alias.")

    def handle(self, *args, **options):
        try:
            stats = database_stats(options["database"])
        except DatabaseError as error:
            raise CommandError(
                f"Could not read the Build Arena tables ({str(error).splitlines()[0]}). "
                "Is the database migrated? Run `manage.py migrate`."
            ) from error
        if options["json"]:
            self.stdout.write(json.dumps(stats, sort_keys=True))
            return
        rows = [
            ("total_jobs", stats["total_jobs"]),
            ("completed_jobs", stats["completed_jobs"]),
            ("total_results", stats["total_results"]),
        ]
        rows += [(f"jobs_{status}", n) for status, n in stats["jobs_by_status"].items()]
        width = max(len(name) for name, _ in rows) + 2
        for name, value in rows:
            self.stdout.write(f"{name:<{width}}{value}")
        self.stdout.write(
            f"{'database_size':<{width}}{human_bytes(stats['size_bytes'])} "
            f"({stats['size_bytes']} bytes; {stats['size_detail']})"
        )
        self.stdout.write(f"{'database':<{width}}{stats['engine']}: {stats['database']}")
