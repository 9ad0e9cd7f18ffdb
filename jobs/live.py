"""What the race page shows: each side's state, and the output appended since an offset.

The poll endpoint runs every second for every open race page, so it reads only what is new:
the database cuts the output at the client's offset (SUBSTR), and the job row and both result
rows come in one small query whatever the size of the output or the number of jobs.
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
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone

from jobs.models import BuildResult, BuildType, Job, JobStatus
from jobs.round_trips import model_reader, repeated_query_cursor
from jobs.terminal import complete_prefix_length
from jobs.vocabulary import SIDES

# Characters of output sent per side per poll; the rest follows on the next polls.
MAX_CHUNK_CHARS = 65_536
# Characters of output rendered into the page itself (the tail; the full text is a link).
PAGE_OUTPUT_CHARS = 400_000
ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
TOOL_NAMES = {"maven": "Maven", "gradle": "Gradle", "elide": "Elide", "custom": "Custom command"}


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
    output_length: int
    compacted: bool
    chunk: str


@dataclass
class Side:
    """One terminal of the race page."""

    build_type: str
    result: BuildResult | ResultProgress | None
    job_status: str
    text: str = ""  # output from `offset` on
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
            return TOOL_NAMES.get(self.result.tool, self.result.tool)
        return "Elide" if self.build_type == BuildType.ELIDE else "Maven / Gradle"

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


# Each side's output from the client's offset, cut by the database. The stored length decides
# first whether there is anything after the offset, so a side with nothing new costs no read
# of its text (on SQLite, SUBSTR reads the whole value to count characters up to the offset).
# Parameters: _chunk_params. Plain SQL, the same on SQLite and PostgreSQL.
_NEW_TEXT_SQL = (
    "CASE WHEN r.build_type = %(elide)s AND r.output_length >= CAST(%(elide_start)s AS INTEGER)"
    "  THEN SUBSTR(r.output, CAST(%(elide_start)s AS INTEGER), CAST(%(limit)s AS INTEGER))"
    " WHEN r.build_type <> %(elide)s AND r.output_length >= CAST(%(standard_start)s AS INTEGER)"
    "  THEN SUBSTR(r.output, CAST(%(standard_start)s AS INTEGER), CAST(%(limit)s AS INTEGER))"
    " ELSE '' END"
)


_CHUNK_COLUMNS = (
    "id, job_id, build_type, status, duration, bell_rung, created_at, duration_ms,"
    " run_times_ms, exit_code, tool, tool_version, started_at, finished_at, error, phase,"
    " jdk, phases, output_length, "
    + _NEW_TEXT_SQL
    + " AS chunk, CASE WHEN output_compressed IS NULL THEN 0 ELSE 1 END AS compacted"
)
_CHUNK_FROM = " FROM build_results r WHERE job_id = %(job_id)s"
_CHUNK_SQL = "SELECT " + _CHUNK_COLUMNS + _CHUNK_FROM


def _chunk_query(job_id, offsets, limit):
    """Both results with each side's output from its offset: plain SQL, because building
    this query through the ORM cost more than running it."""
    return BuildResult.objects.raw(_CHUNK_SQL, _chunk_params(job_id, offsets, limit))


def _tail_query(job_id, tail):
    """Both results with the last `tail` characters of each side's output (the page)."""
    start = Case(
        When(output_length__gt=tail, then=F("output_length") - tail),
        default=Value(0),
        output_field=IntegerField(),
    )
    return (
        BuildResult.objects.filter(job_id=job_id)
        .defer("output", "output_timing", "output_compressed", "output_timing_compressed")
        .annotate(
            compacted=ExpressionWrapper(
                Q(output_compressed__isnull=False), output_field=BooleanField()
            ),
            chunk=Substr(Coalesce("output", Value("")), start + 1),
            chunk_start=start,
        )
    )


def _compacted_outputs(result_ids):
    """Full text of results whose log was compacted (finished sides only; rare on a poll)."""
    if not result_ids:
        return {}
    rows = BuildResult.objects.filter(pk__in=result_ids).only("output", "output_compressed")
    return {row.pk: row.full_output for row in rows}


def read_sides(job, offsets=None, *, limit=None, tail=None):
    """Both sides of `job` with the output after `offsets` ({build_type: int}).

    One query while the race runs (the database cuts the text); a second one for a finished
    side whose log was compacted. With `tail`, each side's text is its last `tail` characters
    instead (the page's first view).
    """
    offsets = clamp_offsets(offsets)
    limit = limit or MAX_CHUNK_CHARS
    if tail is not None:
        queryset = _tail_query(job.pk, tail)
    else:
        queryset = _chunk_query(job.pk, offsets, limit)
    return sides_from_results(job.status, list(queryset), offsets, limit=limit, tail=tail)


def clamp_offsets(offsets):
    return {side: max(0, int((offsets or {}).get(side, 0))) for side in SIDES}


def sides_from_results(job_status, results, offsets, *, limit, tail=None):
    """The two Sides of a job in `job_status` from result rows that carry output_length,
    compacted and chunk (and chunk_start with `tail`)."""
    results = {result.build_type: result for result in results}
    full_texts = _compacted_outputs([r.pk for r in results.values() if r.compacted])
    sides = []
    for build_type in SIDES:
        result = results.get(build_type)
        side = Side(build_type=build_type, result=result, job_status=job_status)
        if result is not None:
            if result.pk in full_texts:
                full = full_texts[result.pk]
                side.total_length = len(full)
                start = max(0, len(full) - tail) if tail is not None else offsets[build_type]
                side.offset = min(start, side.total_length)
                end = side.offset + (len(full) if tail is not None else limit)
                text = full[side.offset : end]
            else:
                side.total_length = result.output_length or 0  # NULL with a NULL output
                start = result.chunk_start if tail is not None else offsets[build_type]
                side.offset = min(start, side.total_length)
                text = result.chunk or ""
            end = side.offset + len(text)
            if end < side.total_length or not side.complete_after(end):
                text = text[: complete_prefix_length(text)]
            side.text = text
            side.next_offset = side.offset + len(text)
        sides.append(side)
    return sides


# The poll's first step, run on every poll of every open race page: one indexed query that
# tells whether anything the page shows has changed. Plain SQL because the ORM's query
# building costs more than the query itself here; it runs unchanged on SQLite and PostgreSQL.
_STATE_COLUMNS = (
    "j.status, j.worker_id, j.commit_sha, r.build_type, r.status, r.bell_rung,"
    " r.started_at, r.duration_ms, r.tool, r.tool_version, r.phase, r.output_length,"
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
    lengths: tuple = ()  # ((build_type, output length or None when compacted), ...)
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
    "is_mock", "winner", "speedup", "cache", "scenario",
)  # fmt: skip
POLL_RESULT_FIELDS = (
    "id", "job_id", "build_type", "status", "duration", "bell_rung", "created_at",
    "duration_ms", "run_times_ms", "exit_code", "tool", "tool_version", "started_at",
    "finished_at", "error", "phase", "jdk", "phases",
)  # fmt: skip
# Where a poll row's result columns start (after the state's and the job's).
_RESULT_START = _STATE_WIDTH + len(POLL_JOB_FIELDS)
_POLL_SQL = (
    "SELECT "
    + _STATE_COLUMNS
    + ", "
    + ", ".join(f"j.{name}" for name in POLL_JOB_FIELDS)
    + ", "
    + ", ".join(f"r.{name}" for name in POLL_RESULT_FIELDS)
    + ", "
    + _NEW_TEXT_SQL
    + _STATE_FROM
)


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
                phase=row[10], output_length=row[11] or 0, compacted=bool(row[12]),
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
            result.output_length = row[11] or 0
            result.compacted = bool(row[12])
            result.chunk = row[-1]
            results.append(result)
        return job, sides_from_results(job.status, results, self.offsets, limit=self.limit)


def _chunk_params(job_id, offsets, limit):
    """Parameters of _NEW_TEXT_SQL (1-based SUBSTR starts) and of the job id."""
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
    limit = limit or MAX_CHUNK_CHARS
    params = _chunk_params(job_id, offsets, limit)
    with repeated_query_cursor(connection) as cursor:
        cursor.execute(_POLL_SQL, params)
        rows = cursor.fetchall()
    state = _state_from_rows([row[:_STATE_WIDTH] for row in rows])
    return PollSnapshot(state, rows, offsets, limit)
