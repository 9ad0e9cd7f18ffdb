"""The poll: whether anything a race page shows has changed, and if so what is new, in one
query.

Every open race page polls once a second, so the poll reads only what is new: the database
cuts each side's output at the client's UTF-8 byte position (jobs/live/output_bytes.py says
why bytes), and the job row and both result rows come in one small query whatever the size
of the output or the number of jobs. Its state alone (`RaceState`) answers most polls with a
204; jobs/live/race_state_cache.py keeps it per process on PostgreSQL.
"""

import hashlib
from dataclasses import dataclass

from django.db import connection

from jobs.live.output_bytes import utf8_bytes_sql
from jobs.live.round_trips import model_reader, repeated_query_cursor
from jobs.live.snapshot import (
    ACTIVE_JOB_STATUSES,
    ResultProgress,
    clamp_offsets,
    sides_from_results,
)
from jobs.models import BuildResult, BuildType, Job
from jobs.outcomes.vocabulary import SIDES

# Bytes of output sent per side per poll; the rest follows on the next polls.
MAX_CHUNK_BYTES = 65_536


# Each side's new bytes from the client's byte position, cut by the database. The stored byte
# length decides first whether there is anything after the position, so a side with nothing
# new costs no read of its text. Parameters: _poll_params. One string per database (how a
# text's bytes are named differs); the rest is the same SQL on both.
def _new_bytes_sql(vendor):
    output = utf8_bytes_sql("r.output", vendor)
    return (
        "CASE WHEN r.build_type = %(elide)s AND r.output_bytes >= CAST(%(elide_start)s AS INTEGER)"
        f"  THEN SUBSTR({output}, CAST(%(elide_start)s AS INTEGER), CAST(%(limit)s AS INTEGER))"
        " WHEN r.build_type <> %(elide)s AND r.output_bytes >= CAST(%(standard_start)s AS INTEGER)"
        f"  THEN SUBSTR({output}, CAST(%(standard_start)s AS INTEGER), CAST(%(limit)s AS INTEGER))"
        " ELSE NULL END"
    )


# The poll's first step, run on every poll of every open race page: one indexed query that
# tells whether anything the page shows has changed. Plain SQL because the ORM's query
# building costs more than the query itself here; it runs unchanged on SQLite and PostgreSQL.
_STATE_COLUMNS = (
    "j.status, j.worker_id, j.commit_sha, r.build_type, r.status, r.bell_rung,"
    " r.started_at, r.duration_ms, r.tool, r.tool_version, r.phase, r.output_bytes,"
    " CASE WHEN r.output_compressed IS NULL THEN 0 ELSE 1 END"
)
_STATE_WIDTH = 13
_STATE_FROM = " FROM jobs j LEFT JOIN build_results r ON r.job_id = j.id WHERE j.id = %(job_id)s"
_STATE_SQL = "SELECT " + _STATE_COLUMNS + _STATE_FROM
# What the version covers: the race header, then each side's header (never the output).
VERSION_PARTS = ("head", *SIDES)


def _digest(value):
    return hashlib.blake2b(repr(value).encode(), digest_size=4).hexdigest()


@dataclass(frozen=True)
class RaceState:
    exists: bool
    # "<head>.<elide>.<standard>": each part changes when what that header shows changes.
    version: str = ""
    lengths: tuple = ()  # ((build_type, output bytes or None when compacted), ...)
    job_status: str = ""

    @property
    def active(self):
        """Queued or running: the page keeps polling whatever the sides say."""
        return self.job_status in ACTIVE_JOB_STATUSES

    def changed_parts(self, version):
        """The parts (head, elide, standard) that differ from a client's `version`."""
        mine, theirs = self.version.split("."), (version or "").split(".")
        if len(theirs) != len(mine):
            return set(VERSION_PARTS)
        return {part for part, a, b in zip(VERSION_PARTS, mine, theirs, strict=True) if a != b}

    def unchanged_for(self, version, offsets):
        """Nothing new for a client that has seen `version` and read up to `offsets`."""
        if not self.exists or self.changed_parts(version):
            return False
        return all(
            length is not None and offsets.get(side) == length for side, length in self.lengths
        )


def race_state(job_id):
    """The race's version and output lengths, in one indexed query."""
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL, {"job_id": str(job_id)})
        rows = cursor.fetchall()
    return _state_from_rows(rows)


def _state_from_rows(rows):
    if not rows:
        return RaceState(exists=False)
    head = rows[0][:3]
    sides = {row[3]: row[4:11] for row in rows if row[3] is not None}
    version = ".".join([_digest(head), *(_digest(sides.get(side)) for side in SIDES)])
    lengths = tuple(
        (row[3], None if row[12] else (row[11] or 0)) for row in rows if row[3] is not None
    )
    return RaceState(True, version, lengths, job_status=head[0])


# The poll: the state above, the job's header columns and each side with its output from the
# client's offsets, in one query (one round trip, which is what counts on PostgreSQL).
POLL_JOB_FIELDS = (
    "id", "repository_url", "repository_name", "status", "created_at", "started_at",
    "completed_at", "worker_id", "ref", "commit_sha", "mode", "iterations", "error",
    "is_mock", "winner", "speedup", "cache", "scenario", "verdict",
)  # fmt: skip
POLL_RESULT_FIELDS = (
    "id", "job_id", "build_type", "status", "duration", "bell_rung", "created_at",
    "duration_ms", "run_times_ms", "exit_code", "tool", "tool_version", "started_at",
    "finished_at", "error", "phase", "jdk", "phases", "error_kind",
)  # fmt: skip
# Where a poll row's result columns start (after the state's and the job's).
_RESULT_START = _STATE_WIDTH + len(POLL_JOB_FIELDS)
_POLL_SQL = {
    vendor: "SELECT "
    + _STATE_COLUMNS
    + ", "
    + ", ".join(f"j.{name}" for name in POLL_JOB_FIELDS)
    + ", "
    + ", ".join(f"r.{name}" for name in POLL_RESULT_FIELDS)
    + ", "
    + _new_bytes_sql(vendor)
    + _STATE_FROM
    for vendor in ("sqlite", "postgresql")
}


@dataclass
class PollSnapshot:
    """The poll's single query: `state` decides a 204; `read()` builds the job and both
    sides from the same rows only when there is something to send."""

    state: RaceState
    rows: list
    offsets: dict
    limit: int

    def read_output(self):
        """Both sides with their new output, without the job and result instances: for a poll
        whose headers did not change while the race is active, which sends output alone."""
        results = [
            ResultProgress(
                pk=row[_RESULT_START], build_type=row[3], status=row[4], started_at=row[6],
                phase=row[10], output_size=row[11] or 0, compacted=bool(row[12]),
                chunk=row[-1],
            )
            for row in self.rows
            if row[3] is not None  # no result row (LEFT JOIN)
        ]  # fmt: skip
        return sides_from_results(self.state.job_status, results, self.offsets, limit=self.limit)

    def read(self):
        db = connection.alias
        read_job = model_reader(Job, POLL_JOB_FIELDS, connection)
        read_result = model_reader(BuildResult, POLL_RESULT_FIELDS, connection)
        job = read_job(self.rows[0][_STATE_WIDTH:_RESULT_START], db, connection)
        results = []
        for row in self.rows:
            if row[3] is None:  # no result row (LEFT JOIN)
                continue
            result = read_result(row[_RESULT_START:-1], db, connection)
            result.output_size = row[11] or 0
            result.compacted = bool(row[12])
            result.chunk = row[-1]
            results.append(result)
        return job, sides_from_results(job.status, results, self.offsets, limit=self.limit)


def _poll_params(job_id, offsets, limit):
    """Parameters of _new_bytes_sql (1-based SUBSTR starts) and of the job id."""
    return {
        "elide": BuildType.ELIDE,
        "elide_start": offsets[BuildType.ELIDE] + 1,
        "standard_start": offsets[BuildType.STANDARD] + 1,
        "limit": limit,
        "job_id": str(job_id),
    }


def poll_snapshot(job_id, offsets, *, limit=None):
    """Everything a poll answers with, from one query: the state (to answer 204 when nothing
    changed) and the rows the job and both sides' output after `offsets` are read from."""
    offsets = clamp_offsets(offsets)
    limit = limit or MAX_CHUNK_BYTES
    params = _poll_params(job_id, offsets, limit)
    with repeated_query_cursor(connection) as cursor:
        cursor.execute(_POLL_SQL[connection.vendor], params)
        rows = cursor.fetchall()
    state = _state_from_rows([row[:_STATE_WIDTH] for row in rows])
    return PollSnapshot(state, rows, offsets, limit)
