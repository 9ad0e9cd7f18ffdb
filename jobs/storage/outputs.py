"""Compact storage of finished build logs.

A side's output grows in `build_results.output` while it runs (SQL concatenation, see
workers/recording.py). Once the side has finished, `compact_result` moves the text and its
replay timing into compressed binary columns and clears the text columns: Maven and Gradle
logs shrink about elevenfold (LZMA), which keeps 1,000 completed races within 10 MB.

Readers use `BuildResult.full_output` / `full_output_timing`, which join the compressed part
and whatever text is in the plain column. So a chunk appended after compaction (a late flush)
is never lost: the next compaction folds it in. The storage format is jobs/storage/compression.py.
"""

from django.db import transaction
from django.db.models import Q

from jobs.models import FINISHED_JOB_STATUSES, BuildResult, BuildStatus
from jobs.storage.compression import compress_text, compress_timing, joined_text, joined_timing


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
