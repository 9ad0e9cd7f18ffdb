"""The four tables: the seed's columns and rules, enforced by the database itself."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from jobs.models import BuildResult, Job, judge_results, percent_faster
from workers.models import Worker, WorkerAssignment

NOW = 1_750_000_000


def raw(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def insert_job(job_id="j1", status="queued", **extra):
    columns = {
        "id": job_id, "repository_url": "https://github.com/a/b", "repository_name": "a/b",
        "status": status, "created_at": NOW, "ref": "", "commit_sha": "", "mode": "sequential",
        "iterations": 1, "warmups": 0, "attempts": 0, "error": "", "is_mock": False, **extra,
    }  # fmt: skip
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    raw(f"INSERT INTO jobs ({names}) VALUES ({marks})", list(columns.values()))  # noqa: S608


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "value", "constraint"),
    [
        ("status", "done", "jobs_status_valid"),
        ("status", "COMPLETED", "jobs_status_valid"),
        ("mode", "turbo", "jobs_mode_valid"),
        ("winner", "maven", "jobs_winner_valid"),
        ("iterations", 0, "jobs_iterations_positive"),
    ],
)
def test_bad_job_values_are_rejected_by_the_database(column, value, constraint):
    with pytest.raises(IntegrityError, match=constraint):
        insert_job(**{column: value})


@pytest.mark.django_db
def test_a_missing_required_column_is_rejected_by_the_database():
    with pytest.raises(IntegrityError, match="repository_url"):
        raw(
            "INSERT INTO jobs (id, repository_name, status, created_at, ref, commit_sha, mode,"
            " iterations, warmups, attempts, error, is_mock)"
            " VALUES ('x', 'a/b', 'queued', %s, '', '', 'sequential', 1, 0, 0, '', false)",
            [NOW],
        )
    insert_job("j1")
    with pytest.raises(IntegrityError, match="duration"):  # NOT NULL, as in the seed
        raw(
            "INSERT INTO build_results (job_id, build_type, status, created_at, run_times_ms,"
            " tool, tool_version, output_timing, error) VALUES"
            " ('j1', 'elide', 'success', %s, '[]', '', '', '', '')",
            [NOW],
        )


@pytest.mark.django_db
def test_bad_result_and_worker_values_are_rejected_by_the_database():
    insert_job("j1")
    result = (
        "INSERT INTO build_results (job_id, build_type, status, duration, created_at,"
        " run_times_ms, tool, tool_version, output_timing, error)"
        " VALUES ('j1', %s, %s, 1, %s, '[]', '', '', '', '')"
    )
    for build_type, status in [("gradle", "success"), ("elide", "ok")]:
        with pytest.raises(IntegrityError):
            raw(result, [build_type, status, NOW])
    raw(result, ["elide", "pending", NOW])  # in progress: allowed
    with pytest.raises(IntegrityError):  # one row per side
        raw(result, ["elide", "success", NOW])
    worker = (
        "INSERT INTO workers (id, hostname, status, capacity, current_load, created_at,"
        " updated_at) VALUES (%s, 'h', %s, %s, %s, %s, %s)"
    )
    for status, capacity, load in [("busy", 2, 0), ("active", 0, 0), ("active", 2, -1)]:
        with pytest.raises(IntegrityError):
            raw(worker, [f"w-{status}-{capacity}", status, capacity, load, NOW, NOW])


@pytest.mark.django_db
def test_orm_bulk_paths_that_skip_validation_are_still_checked():
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.bulk_create([Job(repository_url="u", repository_name="n", status="bogus")])
    job = Job.objects.create(repository_url="https://github.com/a/b", repository_name="a/b")
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.filter(pk=job.pk).update(status="finished")
    with pytest.raises(IntegrityError), transaction.atomic():
        BuildResult.objects.bulk_create([BuildResult(job=job, build_type="maven")])
    with pytest.raises(IntegrityError), transaction.atomic():
        Worker.objects.bulk_create([Worker(id="w", hostname="h", status="asleep")])


@pytest.mark.django_db(transaction=True)
def test_a_result_needs_an_existing_job():
    with pytest.raises(IntegrityError):
        raw(
            "INSERT INTO build_results (job_id, build_type, status, duration, created_at,"
            " run_times_ms, tool, tool_version, output_timing, error)"
            " VALUES ('missing', 'elide', 'success', 1, %s, '[]', '', '', '', '')",
            [NOW],
        )


@pytest.mark.django_db
def test_database_defaults_of_the_seed():
    raw(
        "INSERT INTO workers (id, hostname, status, created_at, updated_at)"
        " VALUES ('w1', 'h', 'active', %s, %s)",
        [NOW, NOW],
    )
    worker = Worker.objects.get(pk="w1")
    assert (worker.capacity, worker.current_load) == (2, 0)
    insert_job("j1")
    raw(
        "INSERT INTO build_results (job_id, build_type, status, duration, created_at,"
        " run_times_ms, tool, tool_version, output_timing, error)"
        " VALUES ('j1', 'elide', 'success', 3, %s, '[]', '', '', '', '')",
        [NOW],
    )
    assert BuildResult.objects.get().bell_rung is False


@pytest.mark.django_db
def test_timestamps_are_integer_unix_seconds_in_the_database():
    created = datetime.datetime(2025, 6, 15, 15, 6, 40, tzinfo=datetime.UTC)
    job = Job.objects.create(
        id="mock-job-9", repository_url="u", repository_name="n", created_at=created
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT created_at, started_at FROM jobs WHERE id = %s", [job.pk])
        assert cursor.fetchone() == (NOW, None)
    job = Job.objects.get(pk="mock-job-9")
    assert job.created_at == created and job.created_at.tzinfo is not None
    assert Job.objects.filter(created_at__gte="2025-06-15", created_at__lt="2025-06-16").exists()
    new = Job.objects.create(repository_url="u", repository_name="n")
    assert len(new.pk) == 36  # a UUID string
    assert abs((new.created_at - timezone.now()).total_seconds()) < 5


@pytest.mark.django_db
def test_deleting_a_job_removes_its_results_and_assignments():
    job = Job.objects.create(repository_url="u", repository_name="n")
    other = Job.objects.create(repository_url="u", repository_name="n")
    worker = Worker.objects.create(id="w1", hostname="h")
    for j in (job, other):
        BuildResult.objects.create(job=j, build_type="elide")
        BuildResult.objects.create(job=j, build_type="standard")
        WorkerAssignment.objects.create(job=j, worker=worker)
    job.delete()
    assert BuildResult.objects.count() == 2 and WorkerAssignment.objects.count() == 1
    assert Worker.objects.filter(pk="w1").exists()


def result(status="success", ms=1000, error_kind=None):
    return BuildResult(status=status, duration=ms // 1000, duration_ms=ms, error_kind=error_kind)


def outcome(elide, standard):
    verdict = judge_results(elide, standard)
    return (verdict.verdict, verdict.speedup) if verdict else None


def test_stored_results_are_judged_by_the_engine(settings):
    """Demo data and imports have no engine outcome: the engine's judge runs on the rows."""
    settings.ARENA_TIE_TOLERANCE = 0.01
    # One run a side: a speedup, but never a winner (a tie only inside the tie band).
    assert outcome(result(ms=45_000), result(ms=78_000)) == ("inconclusive", pytest.approx(78 / 45))
    assert outcome(result(ms=80_000), result(ms=78_000))[0] == "inconclusive"
    assert outcome(result(ms=78_100), result(ms=78_000))[0] == "tie"
    three = BuildResult(status="success", duration_ms=45_000, run_times_ms=[44_900, 45_000, 45_100])
    against = BuildResult(
        status="success", duration_ms=78_000, run_times_ms=[77_900, 78_000, 78_100]
    )
    assert outcome(three, against)[0] == "elide"
    assert outcome(result("failure", 1), result(ms=78_000)) == ("standard", None)
    assert outcome(result("failure", 1, "infrastructure"), result(ms=78_000)) == ("void", None)
    assert outcome(result("pending"), result()) is None
    legacy = BuildResult(status="success", duration=45)  # seconds only, as in the seed
    assert outcome(legacy, result(ms=78_000)) == ("inconclusive", pytest.approx(78 / 45))
    assert percent_faster(78 / 45) == pytest.approx((78 - 45) / 78 * 100)


@pytest.mark.django_db
def test_raw_sql_deletes_cascade_like_the_seed_schema():
    job = Job.objects.create(repository_url="u", repository_name="n")
    keep = Job.objects.create(repository_url="u", repository_name="n")
    worker = Worker.objects.create(id="w1", hostname="h")
    other_worker = Worker.objects.create(id="w2", hostname="h")
    for j in (job, keep):
        BuildResult.objects.create(job=j, build_type="elide")
        WorkerAssignment.objects.create(job=j, worker=worker)
    WorkerAssignment.objects.create(job=keep, worker=other_worker)
    raw("DELETE FROM jobs WHERE id = %s", [job.pk])
    assert list(BuildResult.objects.values_list("job_id", flat=True)) == [keep.pk]
    assert WorkerAssignment.objects.filter(job=job).count() == 0
    raw("DELETE FROM workers WHERE id = %s", ["w1"])
    assert list(WorkerAssignment.objects.values_list("worker_id", flat=True)) == ["w2"]
    assert Job.objects.filter(pk=keep.pk).exists()
