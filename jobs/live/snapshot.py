"""What the race page shows: each side's state, and its output from a position on.

`Side` is one terminal of the page; `sides_from_results` builds both from result rows that
carry a piece of output, whoever read them: the page's first view (`read_sides`, the tail of
each log), its poll (jobs/live/poll.py, the bytes after the client's position) and the JSON
API (`read_side_text`, which counts characters).
"""

from dataclasses import dataclass

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

from jobs.live.output_bytes import ByteSubstr, Utf8Bytes, decode_piece
from jobs.live.terminal import complete_prefix_length
from jobs.models import BuildResult, BuildType, JobStatus
from jobs.outcomes.labels import tool_name, tool_with_version
from jobs.outcomes.vocabulary import SIDES

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
