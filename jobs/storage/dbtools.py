"""Monitoring and backup of the database, the seed's "Monitoring" and "Backup" sections.

`database_stats` gives the seed's "Query Database Stats" figures (total jobs, completed jobs,
total results) plus the database's size; `backup_sqlite` makes a consistent copy of a live
SQLite database with SQLite's online backup API while workers keep writing;
`refresh_planner_statistics` is the last step of every bulk load.
"""

import datetime
import os
import sqlite3
import tempfile
from pathlib import Path

from django.db import connections
from django.db.models import Count

from jobs.models import BuildResult, Job, JobStatus


class BackupError(Exception):
    """The backup could not be made; nothing was left at the destination."""


def database_stats(using="default"):
    """The seed's three figures, jobs per status, and the database size. Three queries."""
    connection = connections[using]
    per_status = dict(
        Job.objects.using(using).order_by().values_list("status").annotate(n=Count("pk"))
    )
    stats = {
        "total_jobs": sum(per_status.values()),
        "completed_jobs": per_status.get(JobStatus.COMPLETED, 0),
        "total_results": BuildResult.objects.using(using).count(),
        "jobs_by_status": {status: per_status.get(status, 0) for status in JobStatus.values},
        "engine": connection.vendor,
    }
    stats.update(database_size(using))
    return stats


BULK_LOADED_TABLES = ("jobs", "build_results", "leaderboard_summary")


def refresh_planner_statistics(using="default"):
    """Give the query planner fresh statistics after a bulk load; returns the statement run.

    Without them the planner guesses: right after 100,000 races were inserted, PostgreSQL
    took 870 ms for the recent 20 (a plan for an empty table) until autovacuum came by, and
    SQLite has no statistics at all until someone runs ANALYZE. PostgreSQL also gets VACUUM
    when not inside a transaction, which sets the visibility map that index-only scans need
    (autovacuum's steady state) and returns the space of rewritten rows.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(t) for t in BULK_LOADED_TABLES)
        statement = f"ANALYZE {tables}"
        if not connection.in_atomic_block:
            statement = f"VACUUM (ANALYZE) {tables}"
    elif connection.vendor == "sqlite":
        statement = "ANALYZE"
    else:
        return None
    with connection.cursor() as cursor:
        cursor.execute(statement)
    return statement


def database_size(using="default"):
    """The database's name (or file) and size in bytes, for SQLite and PostgreSQL."""
    connection = connections[using]
    if connection.vendor == "sqlite":
        path = Path(connection.settings_dict["NAME"])
        sizes = {
            suffix: (
                Path(f"{path}{suffix}").stat().st_size if Path(f"{path}{suffix}").exists() else 0
            )
            for suffix in ("", "-wal", "-shm")
        }
        return {
            "database": str(path),
            "size_bytes": sizes[""] + sizes["-wal"],
            "size_detail": (
                f"file {human_bytes(sizes[''])}, write-ahead log {human_bytes(sizes['-wal'])}"
            ),
        }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database(), pg_database_size(current_database())")
            name, size = cursor.fetchone()
        return {"database": name, "size_bytes": int(size), "size_detail": "pg_database_size"}
    return {
        "database": str(connection.settings_dict["NAME"]),
        "size_bytes": None,
        "size_detail": "",
    }


def human_bytes(size):
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def backup_destination(dest, now=None):
    """A directory gets a timestamped file inside it; anything else is the file itself."""
    dest = Path(dest)
    if dest.is_dir():
        stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%d-%H%M%S")
        return dest / f"build-arena-{stamp}.db"
    return dest


def backup_sqlite(source_path, dest_path, *, overwrite=False):
    """Copy a live SQLite database to `dest_path` consistently; returns the copy's details.

    sqlite3.Connection.backup in a single step reads one snapshot of the database inside one
    read transaction; in WAL mode writers carry on meanwhile and the copy holds exactly the
    transactions committed when it began. The copy is written to a temporary file in the
    destination's directory, checked (PRAGMA integrity_check), switched to a self-contained
    rollback journal, and only then renamed into place, so a failed backup leaves nothing.
    """
    source_path, dest_path = Path(source_path), Path(dest_path)
    if not source_path.is_file():
        raise BackupError(f"No database file at {source_path}.")
    if dest_path.resolve() == source_path.resolve():
        raise BackupError("The backup destination is the database itself.")
    if dest_path.exists() and not overwrite:
        raise BackupError(f"{dest_path} already exists (use --overwrite to replace it).")
    if not dest_path.parent.is_dir():
        raise BackupError(f"The directory {dest_path.parent} does not exist.")

    fd, temp_name = tempfile.mkstemp(prefix=".backup-", suffix=".db", dir=dest_path.parent)
    os.close(fd)
    try:
        source = sqlite3.connect(f"file:{source_path}?mode=rw", uri=True, timeout=30)
        target = sqlite3.connect(temp_name)
        try:
            source.backup(target)  # pages=-1: the whole database in one step, one snapshot
            check = target.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"The copy failed its integrity check: {check}")
            target.execute("PRAGMA journal_mode=DELETE")
            jobs = target.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
            results = target.execute("SELECT COUNT(*) FROM build_results").fetchone()[0]
        finally:
            target.close()
            source.close()
        os.replace(temp_name, dest_path)
    except sqlite3.Error as error:
        raise BackupError(f"SQLite could not copy {source_path}: {error}") from error
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
    return {
        "path": dest_path,
        "size_bytes": dest_path.stat().st_size,
        "jobs": jobs,
        "results": results,
    }
