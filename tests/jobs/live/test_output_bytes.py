"""build_results.output_bytes: the database's own count of `output`'s UTF-8 bytes, whoever
writes the row (the worker's SQL append, compaction, a bulk seed, the legacy import, raw SQL).
The live poll answers "nothing new" from it without reading the text."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection
from hypothesis import given
from hypothesis import strategies as st

from jobs.demo.mock_data import seed_random_races
from jobs.live.output_bytes import decode_piece
from jobs.models import BuildResult, Job
from jobs.storage.outputs import compact_result
from tests.jobs.storage.test_legacy_import import JOBS, RESULTS, legacy_db
from workers.recording import append_output

pytestmark = pytest.mark.django_db


def assert_lengths_match_the_text():
    """Every row: the stored length equals Python's count of the text's UTF-8 bytes; NULL when
    the text is NULL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, output, output_bytes FROM build_results")
        rows = cursor.fetchall()
    assert rows
    for _, output, stored in rows:
        assert stored == (None if output is None else len(output.encode()))


def running_side():
    job = Job.objects.create(
        repository_url="https://github.com/a/b", repository_name="a/b", status="running"
    )
    return BuildResult.objects.create(job=job, build_type="elide", status="pending")


def test_the_length_follows_every_append_multibyte_text_included():
    result = running_side()
    expected = ""
    for chunk in (
        "[INFO] compiling\n",
        "caf\u00e9 \u2192 ok\n",
        "\U0001f514 BELL \U0001f514\n",
        "",
    ):
        append_output(result.pk, chunk, "1 2\n")
        expected += chunk
        assert BuildResult.objects.values_list("output_bytes", flat=True).get() == len(
            expected.encode()
        )
    assert_lengths_match_the_text()


def test_compaction_leaves_no_stale_length_and_a_late_append_counts_from_zero():
    result = running_side()
    append_output(result.pk, "x" * 5000)
    Job.objects.filter(pk=result.job_id).update(status="completed")
    BuildResult.objects.filter(pk=result.pk).update(status="success")

    assert compact_result(result.pk) is True
    result.refresh_from_db()
    assert result.output is None and result.output_bytes is None

    append_output(result.pk, "late line\n")  # a flush after compaction
    result.refresh_from_db()
    assert result.output_bytes == len("late line\n")
    assert result.full_output == "x" * 5000 + "late line\n"
    assert_lengths_match_the_text()


def test_seeded_imported_and_raw_sql_rows_carry_their_length(tmp_path):
    seed_random_races(6, seed=5)  # COPY / executemany, bypassing the ORM's save
    call_command(
        "import_legacy_db",
        str(legacy_db(tmp_path / "legacy.db", jobs=JOBS, results=RESULTS)),
        verbosity=0,
    )
    result = running_side()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE build_results SET output = %s WHERE id = %s", ["r\u00e9sum\u00e9", result.pk]
        )
    assert BuildResult.objects.get(pk=result.pk).output_bytes == 8  # é is 2 bytes
    assert BuildResult.objects.filter(output_bytes__gt=0).count() > 6
    assert_lengths_match_the_text()


def test_the_length_cannot_be_written():
    result = running_side()
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("UPDATE build_results SET output_bytes = 7 WHERE id = %s", [result.pk])


@given(st.text(max_size=60), st.integers(min_value=4, max_value=9), st.integers(0, 5))
def test_pieces_cut_at_any_byte_positions_reassemble_the_text(text, limit, start):
    """decode_piece, as the poll uses it: read `limit` bytes at a time from a position (inside
    a character or not; at least 4, the longest character); the pieces are the text from the
    first whole character on, in order, each piece valid text, every position moving on."""
    data = text.encode()
    start = min(start, len(data))
    position, received = start, ""
    while position < len(data):
        piece = data[position : position + limit]
        skipped, decoded, used = decode_piece(piece, more_follows=position + len(piece) < len(data))
        assert decoded.encode() == piece[skipped : skipped + used]
        received += decoded
        assert skipped + used > 0
        position += skipped + used
    inside = 0  # continuation bytes at the start: the rest of a character begun before it
    while start + inside < len(data) and data[start + inside] & 0xC0 == 0x80:
        inside += 1
    assert received == data[start + inside :].decode()
