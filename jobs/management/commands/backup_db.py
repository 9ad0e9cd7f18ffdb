"""Copy the live SQLite database to DEST with SQLite's online backup API (safe while workers write).

DEST may be a file or a directory (the copy is then named build-arena-YYYYmmdd-HHMMSS.db).
Restore: stop the web and the workers, copy the backup over the database file, delete its
-wal and -shm files, start again (docs/DATABASE.md). PostgreSQL is backed up with pg_dump.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from jobs.storage.dbtools import BackupError, backup_destination, backup_sqlite, human_bytes


class Command(BaseCommand):
    help = "Make a consistent copy of the SQLite database while it is in use."

    def add_arguments(self, parser):
        parser.add_argument("dest", help="Backup file, or a directory for a timestamped file.")
        parser.add_argument(
            "--overwrite", action="store_true", help="Replace DEST if it is an existing file."
        )
        parser.add_argument("--database", default="default", help="Database alias.")

    def handle(self, *args, dest, overwrite, database, **options):
        connection = connections[database]
        if connection.vendor == "postgresql":
            raise CommandError(
                "backup_db copies SQLite databases. This database is PostgreSQL: back it up "
                "with pg_dump, e.g. `pg_dump -Fc -f build-arena.dump "
                f"{connection.settings_dict['NAME']}`, and restore with pg_restore."
            )
        if connection.vendor != "sqlite":
            raise CommandError(f"backup_db does not support the {connection.vendor} engine.")
        source = connection.settings_dict["NAME"]
        target = backup_destination(dest)
        try:
            copy = backup_sqlite(source, target, overwrite=overwrite)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Backed up {source} to {copy['path']} ({human_bytes(copy['size_bytes'])}, "
            f"{copy['jobs']} jobs, {copy['results']} build results)."
        )
