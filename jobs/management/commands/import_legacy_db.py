"""Import the jobs and build results of the original TypeScript app's build-arena.db."""

from django.core.management.base import BaseCommand, CommandError

from jobs.storage.dbtools import refresh_planner_statistics
from jobs.storage.legacy_import import LegacyImportError, import_legacy_database


class Command(BaseCommand):
    help = (
        "Import every job and build result from a build-arena.db written by the original "
        "TypeScript app. Safe to run again: already imported rows are updated, not duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The original app's SQLite file (build-arena.db).")

    def handle(self, *args, path, **options):
        try:
            report = import_legacy_database(path)
        except LegacyImportError as error:
            raise CommandError(str(error)) from error
        refresh_planner_statistics()
        self.stdout.write(f"Jobs: {report.jobs}.")
        self.stdout.write(f"Build results: {report.results}.")
        for table, count in report.legacy_tables.items():
            self.stdout.write(f"Not imported: {table} ({count} rows).")
        for note in report.notes:
            self.stdout.write(note)
