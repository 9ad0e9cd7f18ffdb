"""What the race page shows: each side's state, and the output appended since an offset.

The poll endpoint runs every second for every open race page, so it reads only what is new:
the database cuts the output's UTF-8 bytes at the client's byte position (jobs/live/output_bytes.py
says why bytes), and the job row and both result rows come in one small query whatever the
size of the output or the number of jobs. The JSON API reads by characters (read_side_text).
"""

import hashlib
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Length, Substr
from django.utils import timezone

from jobs.live.output_bytes import ByteSubstr, Utf8Bytes, decode_piece, utf8_bytes_sql
from jobs.live.round_trips import model_reader, repeated_query_cursor
from jobs.live.terminal import complete_prefix_length
from jobs.models import BuildResult, BuildType, Job, JobStatus
from jobs.outcomes.labels import tool_name, tool_with_version
from jobs.outcomes.vocabulary import SIDES

# Bytes of output sent per side per poll; the rest follows on the next polls.
MAX_CHUNK_BYTES = 65_536
# Characters of output the JSON API sends per call.
MAX_CHUNK_CHARS = 65_536
# Bytes of output rendered into the page itself (the tail; the full text is a link).
PAGE_OUTPUT_BYTES = 400_000
# The units a reading's positions (offsets, lengths) are in.
BYTES, CHARACTERS = "bytes", "characters"
ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class ResultProgress:
    """What cutting a side's output needs of its result row, read straight from the poll's
    row: the poll that only carries output builds no model instance (PollSnapshot.read_output).
    """

    pk: int
    build_type: str
    status: str
    started_at: object  # the column as stored: only whether it is set matters here
    phase: str
    output_size: int  # the stored output's length in bytes
    compacted: bool
    chunk: bytes


@dataclass
class Side:
    """One terminal of the race page."""

    build_type: str
    result: BuildResult | ResultProgress | None
    job_status: str
    text: str = ""  # output from `offset` on
    # Positions in the reading's unit: UTF-8 bytes for the page and its poll, characters for
    # the JSON API.
    offset: int = 0  # where `text` starts
    next_offset: int = 0  # where the next poll starts
    total_length: int = 0
    refresh: bool = True  # whether a poll response re-sends this side's header

    @property
    def label(self):
        return "Elide" if self.build_type == BuildType.ELIDE else "Standard"

    @property
    def tool_label(self):
        if self.result and self.result.tool:
            return tool_name(self.result.tool)
        return "Elide" if self.build_type == BuildType.ELIDE else "Maven / Gradle"

    @property
    def tool_text(self):
        """The tool and its version, its name said once ("Apache Maven 3.9.6")."""
        if self.result and self.result.tool:
            return tool_with_version(self.result.tool, getattr(self.result, "tool_version", ""))
        return self.tool_label

    @property
    def state(self):
        """waiting | running | success | failure (what the panel header shows)."""
        result = self.result
        if result is None:
            return "waiting" if self.job_status in ACTIVE_JOB_STATUSES else "none"
        if result.status != "pending":
            return result.status
        if self.job_status != JobStatus.RUNNING:
            return "stopped"
        return "running" if result.started_at else "waiting"

    @property
    def phase(self):
        """What a running side is doing, in words for its header ("" when not running)."""
        if self.state != "running":
            return ""
        phase = self.result.phase
        if not phase:
            return "Building…"  # rows from before phases were recorded
        if phase == "ready":
            return "Waiting for its turn"
        return phase[0].upper() + phase[1:] + ("" if phase.startswith("waiting") else "…")

    @property
    def clock_running(self):
        """Whether the header's clock counts build time now (not while cloning, preparing,
        waiting for its turn or for the measurement lock)."""
        phase = self.result.phase if self.result else ""
        return self.state == "running" and (not phase or phase.startswith("building"))

    @property
    def elapsed_ms(self):
        result = self.result
        if result is None or result.started_at is None:
            return None
        if self.state == "running":
            return max(0, int((timezone.now() - result.started_at).total_seconds() * 1000))
        if result.duration_ms is not None or result.status != "pending":
            return result.best_duration_ms
        if result.finished_at:
            return int((result.finished_at - result.started_at).total_seconds() * 1000)
        return None

    @property
    def truncated(self):
        return self.offset > 0

    def complete_after(self, end):
        """Whether nothing more will be appended to this side once `end` has been sent."""
        return self.state not in ("running", "waiting") and end >= self.total_length

    @property
    def complete(self):
        return self.complete_after(self.next_offset)


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


_COMPACTED = Q(output_compressed__isnull=False)
_DEFERRED_OUTPUTS = ("output", "output_timing", "output_compressed", "output_timing_compressed")


def _tail_query(job_id, tail):
    """Both results with the last `tail` bytes of each side's output (the page)."""
    start = Case(
        When(output_bytes__gt=tail, then=F("output_bytes") - tail),
        default=Value(0),
        output_field=IntegerField(),
    )
    return (
        BuildResult.objects.filter(job_id=job_id)
        .defer(*_DEFERRED_OUTPUTS)
        .annotate(
            compacted=ExpressionWrapper(_COMPACTED, output_field=BooleanField()),
            output_size=F("output_bytes"),
            chunk=ByteSubstr(Utf8Bytes("output"), start + 1),
            chunk_start=start,
        )
    )


def _compacted_outputs(result_ids):
    """Full text of results whose log was compacted (finished sides only; rare on a poll)."""
    if not result_ids:
        return {}
    rows = BuildResult.objects.filter(pk__in=result_ids).only("output", "output_compressed")
    return {row.pk: row.full_output for row in rows}


def read_sides(job, *, tail):
    """Both sides of `job` with the last `tail` bytes of each side's output (the page's first
    view; its poll goes on from there). One query, and a second one for a finished side whose
    log was compacted."""
    results = list(_tail_query(job.pk, tail))
    return sides_from_results(job.status, results, clamp_offsets(None), limit=None, tail=tail)


def read_side_text(job, build_type, offset, *, limit=MAX_CHUNK_CHARS):
    """One side of `job` with at most `limit` characters of output from character `offset`
    on: the JSON API's unit, which a client counts in the text it has received."""
    offsets = clamp_offsets({build_type: offset})
    results = (
        BuildResult.objects.filter(job_id=job.pk, build_type=build_type)
        .defer(*_DEFERRED_OUTPUTS)
        .annotate(
            compacted=ExpressionWrapper(_COMPACTED, output_field=BooleanField()),
            output_size=Length("output"),
            chunk=Substr(Coalesce("output", Value("")), offsets[build_type] + 1, limit),
        )
    )
    sides = sides_from_results(job.status, list(results), offsets, limit=limit, unit=CHARACTERS)
    return next(side for side in sides if side.build_type == build_type)


def clamp_offsets(offsets):
    return {side: max(0, int((offsets or {}).get(side, 0))) for side in SIDES}


def sides_from_results(job_status, results, offsets, *, limit, tail=None, unit=BYTES):
    """The two Sides of a job in `job_status` from result rows that carry output_size,
    compacted and chunk (and chunk_start with `tail`), positions in `unit`: a chunk of UTF-8
    bytes for BYTES, of text for CHARACTERS."""
    results = {result.build_type: result for result in results}
    full_texts = _compacted_outputs([r.pk for r in results.values() if r.compacted])
    sides = []
    for build_type in SIDES:
        result = results.get(build_type)
        side = Side(build_type=build_type, result=result, job_status=job_status)
        if result is not None:
            if result.pk in full_texts:
                full = full_texts[result.pk]
                full = full.encode() if unit == BYTES else full
                side.total_length = len(full)
                start = max(0, len(full) - tail) if tail is not None else offsets[build_type]
                start = min(start, side.total_length)
                chunk = full[start:] if tail is not None else full[start : start + limit]
            else:
                side.total_length = result.output_size or 0  # NULL with a NULL output
                start = result.chunk_start if tail is not None else offsets[build_type]
                start = min(start, side.total_length)
                chunk = result.chunk or ""
            _cut(side, start, chunk, unit)
        sides.append(side)
    return sides


def _cut(side, start, chunk, unit):
    """Set the side's text from `chunk` (read from position `start`), its offset and the next
    poll's, holding back what is not whole yet: a character cut in two, an escape sequence."""
    if unit == BYTES:
        more_follows = start + len(chunk) < side.total_length
        skipped, text, used = decode_piece(chunk, more_follows=more_follows)
        start += skipped
    else:
        text, used = chunk, len(chunk)
    side.offset = start
    end = start + used
    if end < side.total_length or not side.complete_after(end):
        whole = complete_prefix_length(text)
        if whole < len(text):
            held_back = text[whole:]
            text = text[:whole]
            end -= len(held_back.encode()) if unit == BYTES else len(held_back)
    side.text = text
    side.next_offset = max(start, end)


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
