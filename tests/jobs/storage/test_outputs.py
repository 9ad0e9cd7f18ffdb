"""Compact storage of finished logs: the full text stays retrievable, whatever the form."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import TextField, Value
from django.db.models.functions import Coalesce, Concat

from jobs.models import BuildResult, Job
from jobs.storage.outputs import compact_result, compact_some
from tests.buildlogs import maven_log

pytestmark = pytest.mark.django_db


def make_result(status="success", job_status="completed", output="", timing=""):
    job = Job.objects.create(
        repository_url="https://github.com/a/b", repository_name="a/b", status=job_status
    )
    return BuildResult.objects.create(
        job=job, build_type="standard", status=status, output=output, output_timing=timing
    )


def append(result, text):
    """How the engine appends: SQL concatenation, no read-modify-write."""
    BuildResult.objects.filter(pk=result.pk).update(
        output=Concat(
            Coalesce("output", Value(""), output_field=TextField()),
            Value(text),
            output_field=TextField(),
        )
    )


def test_a_finished_side_is_compressed_and_reads_back_whole():
    log = maven_log(32 * 1024, seed=1) + "\n🔔 BUILD COMPLETE 🔔\nStatus: SUCCESS\n"
    timing = "".join(f"{i * 300} {i * 250}\n" for i in range(100))
    result = make_result(output=log, timing=timing)

    assert compact_result(result.pk) is True

    result.refresh_from_db()
    assert result.output is None and result.output_timing == ""
    assert len(bytes(result.output_compressed)) < len(log.encode()) / 5
    assert result.full_output == log
    assert result.full_output_timing == timing
    assert compact_result(result.pk) is False  # nothing left to compact


def test_a_running_side_is_left_alone():
    result = make_result(status="pending", job_status="running", output="compiling\n")
    assert compact_result(result.pk) is False
    result.refresh_from_db()
    assert result.output == "compiling\n" and result.output_compressed is None
    assert result.full_output == "compiling\n"


def test_a_pending_side_of_a_finished_job_is_compacted():
    result = make_result(status="pending", job_status="failed", output="partial\n")
    assert compact_result(result.pk) is True
    result.refresh_from_db()
    assert result.full_output == "partial\n"


def test_text_appended_after_compaction_is_kept_and_folded_in_later():
    result = make_result(output="first part\n")
    compact_result(result.pk)
    append(result, "late flush\n")
    result.refresh_from_db()
    assert result.full_output == "first part\nlate flush\n"

    assert compact_result(result.pk) is True
    result.refresh_from_db()
    assert result.output is None
    assert result.full_output == "first part\nlate flush\n"


def test_a_result_without_output_reads_as_empty():
    result = make_result(output=None)
    assert result.full_output == ""
    assert result.full_output_timing == ""


def test_compact_outputs_command_compacts_old_rows(capsys):
    finished = [make_result(output=f"log {i}\n") for i in range(5)]
    running = make_result(status="pending", job_status="running", output="still going\n")

    call_command("compact_outputs", "--batch-size", "2")

    assert "Compacted 5 build result(s)." in capsys.readouterr().out
    for i, result in enumerate(finished):
        result.refresh_from_db()
        assert result.output is None and result.full_output == f"log {i}\n"
    running.refresh_from_db()
    assert running.output == "still going\n"
    assert compact_some() == 0


def test_the_database_stores_the_compressed_bytes():
    log = maven_log(32 * 1024, seed=2)
    result = make_result(output=log)
    compact_result(result.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT output, LENGTH(output_compressed) FROM build_results WHERE id = %s",
            [result.pk],
        )
        output, stored = cursor.fetchone()
    assert output is None
    assert 0 < stored < 8 * 1024


@pytest.mark.parametrize(
    "timing",
    [
        "0 0\n120 250\n900 260\n4000 9000\n",
        "0 0\n",
        "",
        "not numbers\n",
        "1 2\n3 4",  # no final newline: stored as is
        "5 6 7\n",
        "-3 10\n2 -1\n",
    ],
)
def test_timing_round_trips_whatever_its_shape(timing):
    from jobs.storage.compression import compress_timing, decompress_timing

    assert decompress_timing(compress_timing(timing)) == timing


def test_steady_timing_is_stored_as_differences():
    from jobs.storage.compression import DELTA_MARK, compress_text, compress_timing

    timing = "".join(f"{i * 217} {i * 253 + i % 7}\n" for i in range(300))
    blob = compress_timing(timing)
    assert blob.startswith(DELTA_MARK)
    assert len(blob) < len(compress_text(timing)) / 2


def test_rows_compacted_with_zlib_still_read_back():
    import zlib

    result = make_result(output=None)
    BuildResult.objects.filter(pk=result.pk).update(
        output_compressed=zlib.compress(b"older log\n", 9)
    )
    result.refresh_from_db()
    assert result.full_output == "older log\n"


@pytest.mark.parametrize("text", ["", "x", "🔔 BUILD COMPLETE 🔔\n", "\x00\x07 bell\n" * 3])
def test_any_text_round_trips(text):
    from jobs.storage.compression import compress_text, decompress_text

    assert decompress_text(compress_text(text)) == text
