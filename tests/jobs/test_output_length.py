"""build_results.output_length: the database's own count of `output`'s characters, whoever
writes the row (the worker's SQL append, compaction, a bulk seed, the legacy import, raw SQL).
The live poll answers "nothing new" from it without reading the text."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection

from jobs.mock_data import seed_random_races
from jobs.models import BuildResult, Job
from jobs.outputs import compact_result
from tests.ops.test_import_legacy import JOBS, RESULTS, legacy_db
from workers.recording import append_output

pytestmark = pytest.mark.django_db


def assert_lengths_match_the_text():
    """Every row: the stored length equals Python's count of the text (code points) and the
    database's LENGTH(output); NULL when the text is NULL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, output, output_length, LENGTH(output) FROM build_results")
        rows = cursor.fetchall()
    assert rows
    for _, output, stored, counted in rows:
        assert stored == counted == (None if output is None else len(output))


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
        assert BuildResult.objects.values_list("output_length", flat=True).get() == len(expected)
    assert_lengths_match_the_text()


def test_compaction_leaves_no_stale_length_and_a_late_append_counts_from_zero():
    result = running_side()
    append_output(result.pk, "x" * 5000)
    Job.objects.filter(pk=result.job_id).update(status="completed")
    BuildResult.objects.filter(pk=result.pk).update(status="success")

    assert compact_result(result.pk) is True
    result.refresh_from_db()
    assert result.output is None and result.output_length is None

    append_output(result.pk, "late line\n")  # a flush after compaction
    result.refresh_from_db()
    assert result.output_length == len("late line\n")
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
    assert BuildResult.objects.get(pk=result.pk).output_length == 6
    assert BuildResult.objects.filter(output_length__gt=0).count() > 6
    assert_lengths_match_the_text()


def test_the_length_cannot_be_written():
    result = running_side()
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("UPDATE build_results SET output_length = 7 WHERE id = %s", [result.pk])
