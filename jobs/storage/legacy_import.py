"""Import the original TypeScript app's build-arena.db (Drizzle schema) into our tables.

The original's `jobs` and `build_results` tables are the seed's, plus
`build_results.container_id` (dropped: containers are gone), a `build_cache` table and a
`race_statistics` table (derived data we recompute, counted but not imported). Timestamps are
unix seconds there as here. Importing is idempotent: a job already imported is compared
field by field and updated only if the legacy row differs, so a second run changes nothing.

Status mapping (the original left rows behind when its server restarted):
- a job still `queued` or `running` becomes `failed` with an error saying so; our workers
  must not pick up or claim to run a race from another system;
- a result `pending` (or any unknown status) becomes `failure` with an error saying so;
- when the original stored several results for one side, the newest row wins.
"""

import dataclasses
import datetime
import sqlite3
from pathlib import Path

from django.db import transaction

from jobs.choices import FINISHED_JOB_STATUSES, BuildStatus, BuildType, JobStatus
from jobs.fields import from_unix_seconds
from jobs.models import (
    SEED_JOB_COLUMNS,
    VERDICT_FIELDS,
    BuildResult,
    Job,
    judge_results,
    success_ms,
)

REQUIRED_COLUMNS = {
    "jobs": set(SEED_JOB_COLUMNS),
    "build_results": {
        "id",
        "job_id",
        "build_type",
        "status",
        "duration",
        "output",
        "bell_rung",
        "created_at",
    },
}
COUNTED_TABLES = ("build_cache", "race_statistics", "workers", "worker_assignments")
JOB_FIELDS = (
    *SEED_JOB_COLUMNS[1:],  # all but the primary key
    "error",
    *VERDICT_FIELDS,
    "elide_success_ms",
    "standard_success_ms",
    "is_mock",
)
RESULT_FIELDS = ("status", "duration", "bell_rung", "created_at", "error", "tool")
BATCH_SIZE = 500
_HAS_COMPRESSED_OUTPUT = any(f.name == "output_compressed" for f in BuildResult._meta.get_fields())


class LegacyImportError(Exception):
    """The file is missing or is not a database of the original app."""


@dataclasses.dataclass
class Tally:
    """What an import did with the rows of one table."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0

    def __str__(self):
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.skipped} skipped"
        )


@dataclasses.dataclass
class ImportReport:
    jobs: Tally = dataclasses.field(default_factory=Tally)
    results: Tally = dataclasses.field(default_factory=Tally)
    legacy_tables: dict = dataclasses.field(default_factory=dict)
    notes: list = dataclasses.field(default_factory=list)


def open_legacy_database(path):
    """Open the original's database read-only after checking that it is one."""
    path = Path(path)
    if not path.is_file():
        raise LegacyImportError(f"No such file: {path}")
    with path.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise LegacyImportError(f"{path} is not a SQLite database.")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        connection.row_factory = sqlite3.Row
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    except sqlite3.DatabaseError as error:
        raise LegacyImportError(f"Cannot read {path}: {error}") from error
    for table in REQUIRED_COLUMNS:
        if table not in tables:
            connection.close()
            raise LegacyImportError(
                f"{path} is not a Build Arena database of the original app: no `{table}` table."
            )
    for table, columns in REQUIRED_COLUMNS.items():
        present = {row["name"] for row in connection.execute(f"PRAGMA table_info({table})")}
        missing = sorted(columns - present)
        if missing:
            connection.close()
            raise LegacyImportError(
                f"{path} is not a Build Arena database of the original app: `{table}` lacks "
                f"column(s) {', '.join(missing)}."
            )
    return connection, tables


def legacy_time(value):
    """Unix seconds (or milliseconds, or an ISO string) to an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
    if value > 100_000_000_000:  # milliseconds (Drizzle's timestamp_ms mode)
        value = value / 1000
    return from_unix_seconds(int(value))


def job_values(row):
    """Our column values for one legacy job row."""
    status, error = row["status"], ""
    if status in (JobStatus.QUEUED, JobStatus.RUNNING):
        status, error = (
            JobStatus.FAILED,
            f"Still {row['status']} in the original app when imported.",
        )
    elif status not in JobStatus.values:
        status, error = JobStatus.FAILED, f"Unknown status {row['status']!r} in the original app."
    url = row["repository_url"] or ""
    name = row["repository_name"] or "/".join(url.rstrip("/").removesuffix(".git").split("/")[-2:])
    return {
        "repository_url": url,
        "repository_name": name,
        "status": status,
        "created_at": legacy_time(row["created_at"]),
        "started_at": legacy_time(row["started_at"]),
        "completed_at": legacy_time(row["completed_at"]),
        "worker_id": row["worker_id"],
        "error": error,
        "is_mock": str(row["id"]).startswith("mock-"),
    }


def result_values(row):
    status, error = row["status"], ""
    if status == BuildStatus.PENDING:
        status, error = BuildStatus.FAILURE, "Did not finish in the original app."
    elif status not in (BuildStatus.SUCCESS, BuildStatus.FAILURE):
        status, error = (
            BuildStatus.FAILURE,
            f"Unknown status {row['status']!r} in the original app.",
        )
    return {
        "status": status,
        "duration": int(row["duration"] or 0),
        "bell_rung": bool(row["bell_rung"]),
        "created_at": legacy_time(row["created_at"]),
        "error": error,
        "tool": "elide" if row["build_type"] == BuildType.ELIDE else "",
        "output": row["output"],
    }


def import_legacy_database(path):
    """Import every job and build result of the original's database. Returns an ImportReport.

    One transaction: on any error nothing is written.
    """
    legacy, tables = open_legacy_database(path)
    report = ImportReport()
    try:
        for table in COUNTED_TABLES:
            if table in tables:
                report.legacy_tables[table] = legacy.execute(
                    f"SELECT COUNT(*) FROM {table}"  # noqa: S608 (fixed table names)
                ).fetchone()[0]
        with transaction.atomic():
            job_rows = legacy.execute("SELECT * FROM jobs ORDER BY created_at, id")
            while batch := job_rows.fetchmany(BATCH_SIZE):
                _import_batch(legacy, batch, report)
            known = "SELECT id FROM jobs"
            report.results.skipped += legacy.execute(
                f"SELECT COUNT(*) FROM build_results WHERE job_id NOT IN ({known})"  # noqa: S608
            ).fetchone()[0]
    finally:
        legacy.close()
    if report.results.skipped:
        report.notes.append("Results without a job, or of an unknown side, were skipped.")
    return report


def _legacy_results(legacy, job_ids):
    """{job_id: {build_type: row}}, the newest row per side; plus how many rows were dropped."""
    placeholders = ",".join("?" * len(job_ids))
    rows = legacy.execute(
        f"SELECT * FROM build_results WHERE job_id IN ({placeholders}) ORDER BY id",  # noqa: S608
        job_ids,
    ).fetchall()
    by_job, dropped = {}, 0
    for row in rows:
        if row["build_type"] not in BuildType.values:
            dropped += 1
            continue
        sides = by_job.setdefault(row["job_id"], {})
        if row["build_type"] in sides:
            dropped += 1  # an older duplicate of this side
        sides[row["build_type"]] = row
    return by_job, dropped


def _import_batch(legacy, batch, report):
    values, skipped = {}, []
    for row in batch:
        job = job_values(row)
        too_long = len(str(row["id"])) > Job._meta.pk.max_length
        if job["created_at"] is None or not job["repository_url"] or too_long:
            skipped.append(row["id"])
            continue
        values[str(row["id"])] = job
    report.jobs.skipped += len(skipped)
    legacy_results, dropped = _legacy_results(legacy, list(values))
    report.results.skipped += dropped
    if skipped:
        report.results.skipped += sum(
            len(sides) for sides in _legacy_results(legacy, skipped)[0].values()
        )

    existing_jobs = Job.objects.in_bulk(list(values))
    existing_results = {}
    for result in BuildResult.objects.filter(job_id__in=list(values)):
        existing_results[(result.job_id, result.build_type)] = result

    new_jobs, changed_jobs, new_results, changed_results = [], [], [], []
    for job_id, job_fields in values.items():
        job = existing_jobs.get(job_id) or Job(id=job_id)
        sides = {}
        for build_type, row in legacy_results.get(job_id, {}).items():
            fields = result_values(row)
            result = existing_results.get((job_id, build_type)) or BuildResult(
                job_id=job_id, build_type=build_type
            )
            is_new = result.pk is None
            if is_new or _result_differs(result, fields):
                _apply_result(result, fields)
                (new_results if is_new else changed_results).append(result)
            else:
                report.results.unchanged += 1
            sides[build_type] = result
        finished = job_fields["status"] in FINISHED_JOB_STATUSES
        completed = finished and job_fields["status"] == JobStatus.COMPLETED
        elide, standard = sides.get(BuildType.ELIDE), sides.get(BuildType.STANDARD)
        job.apply_verdict(judge_results(elide, standard) if completed else None)
        job_fields.update(job.verdict_values())
        job_fields["elide_success_ms"] = success_ms(elide) if completed else None
        job_fields["standard_success_ms"] = success_ms(standard) if completed else None
        if job.pk in existing_jobs and all(
            getattr(job, name) == value for name, value in job_fields.items()
        ):
            report.jobs.unchanged += 1
            continue
        for name, value in job_fields.items():
            setattr(job, name, value)
        (changed_jobs if job_id in existing_jobs else new_jobs).append(job)

    # The bulk writes move the races between leaderboard summary groups in the batch's
    # transaction (jobs/models/job_writes.py).
    Job.objects.bulk_create(new_jobs)
    Job.objects.bulk_update(changed_jobs, JOB_FIELDS)
    BuildResult.objects.bulk_create(new_results)
    update_fields = [*RESULT_FIELDS, "output"]
    if _HAS_COMPRESSED_OUTPUT:
        update_fields.append("output_compressed")
    BuildResult.objects.bulk_update(changed_results, update_fields)
    report.jobs.created += len(new_jobs)
    report.jobs.updated += len(changed_jobs)
    report.results.created += len(new_results)
    report.results.updated += len(changed_results)


def _result_differs(result, fields):
    current_output = getattr(result, "full_output", result.output)
    if (current_output or None) != (fields["output"] or None):
        return True
    return any(getattr(result, name) != fields[name] for name in RESULT_FIELDS)


def _apply_result(result, fields):
    for name in RESULT_FIELDS:
        setattr(result, name, fields[name])
    result.output = fields["output"]
    if _HAS_COMPRESSED_OUTPUT:
        result.output_compressed = None
