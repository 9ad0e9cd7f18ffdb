"""Compact storage of finished build logs.

A side's output grows in `build_results.output` while it runs (SQL concatenation, see
workers/recording.py). Once the side has finished, `compact_result` moves the text and its
replay timing into compressed binary columns and clears the text columns: Maven and Gradle
logs shrink about elevenfold (LZMA), which keeps 1,000 completed races within 10 MB.

Readers use `BuildResult.full_output` / `full_output_timing`, which join the compressed part
and whatever text is in the plain column. So a chunk appended after compaction (a late flush)
is never lost: the next compaction folds it in.
"""

import lzma
import zlib

from django.db import transaction
from django.db.models import Q

from jobs.models import FINISHED_JOB_STATUSES, BuildResult, BuildStatus

# A blob's first byte says how it is stored: LZMA_MARK + a raw LZMA2 stream (what
# compact_result writes), DELTA_MARK + a compressed list of timing differences, or a zlib
# stream (first byte 0x78; rows compacted before LZMA was used).
LZMA_MARK = b"L"
DELTA_MARK = b"D"
# LZMA2 with a 1 MiB window: 11% smaller than zlib -9 on build logs, ~6 ms per 32 KB side
# to compress (once, when the side finishes) and ~0.2 ms to read back.
LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": 1 << 20}]


def compress_text(text):
    packed = lzma.compress(text.encode("utf-8"), format=lzma.FORMAT_RAW, filters=LZMA_FILTERS)
    return LZMA_MARK + packed


def decompress_text(blob):
    blob = bytes(blob)
    if blob.startswith(LZMA_MARK):
        data = lzma.decompress(blob[1:], format=lzma.FORMAT_RAW, filters=LZMA_FILTERS)
    else:
        data = zlib.decompress(blob)
    return data.decode("utf-8")


def joined_text(compressed, plain):
    """The compressed part (if any) followed by the plain text (if any)."""
    head = decompress_text(compressed) if compressed is not None else ""
    return head + (plain or "")


def compress_timing(timing):
    """Timing lines "<offset> <ms>" grow steadily: their differences compress much better."""
    try:
        points = [tuple(int(value) for value in line.split(" ")) for line in timing.splitlines()]
    except ValueError:
        points = None
    regular = bool(points) and all(len(point) == 2 for point in points)
    if regular and "".join(f"{offset} {ms}\n" for offset, ms in points) == timing:
        previous, deltas = (0, 0), []
        for offset, ms in points:
            deltas.append(f"{offset - previous[0]} {ms - previous[1]}\n")
            previous = (offset, ms)
        return DELTA_MARK + compress_text("".join(deltas))
    return compress_text(timing)


def decompress_timing(blob):
    blob = bytes(blob)
    if not blob.startswith(DELTA_MARK):
        return decompress_text(blob)
    offset = ms = 0
    lines = []
    for line in decompress_text(blob[len(DELTA_MARK) :]).splitlines():
        delta_offset, delta_ms = line.split(" ")
        offset, ms = offset + int(delta_offset), ms + int(delta_ms)
        lines.append(f"{offset} {ms}\n")
    return "".join(lines)


def joined_timing(compressed, plain):
    head = decompress_timing(compressed) if compressed is not None else ""
    return head + (plain or "")


def compactable_results():
    """Results whose side has finished (or whose job has) and that still hold plain text."""
    finished = ~Q(status=BuildStatus.PENDING) | Q(job__status__in=FINISHED_JOB_STATUSES)
    has_text = Q(output__isnull=False) | ~Q(output_timing="")
    return BuildResult.objects.filter(finished & has_text)


def compact_result(result_id):
    """Compress a finished side's log. Returns True when something was compacted.

    The row is locked for the read-compress-write (SELECT ... FOR UPDATE on PostgreSQL; the
    IMMEDIATE transaction's write lock on SQLite), so no append can slip in between.
    """
    with transaction.atomic():
        row = (
            compactable_results()
            .select_for_update(of=("self",))
            .filter(pk=result_id)
            .values("output", "output_timing", "output_compressed", "output_timing_compressed")
            .first()
        )
        if row is None:
            return False
        output = joined_text(row["output_compressed"], row["output"])
        timing = joined_timing(row["output_timing_compressed"], row["output_timing"])
        BuildResult.objects.filter(pk=result_id).update(
            output=None,
            output_compressed=compress_text(output),
            output_timing="",
            output_timing_compressed=compress_timing(timing) if timing else None,
        )
    return True


def compact_some(limit=200):
    """Compact up to `limit` finished results; returns how many were compacted."""
    ids = list(compactable_results().order_by("pk").values_list("pk", flat=True)[:limit])
    return sum(1 for result_id in ids if compact_result(result_id))
