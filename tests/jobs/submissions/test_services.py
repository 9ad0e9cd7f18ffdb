"""jobs/submissions/services.py: the queue limit, fixed query counts per call, one-statement
create_job."""

import datetime

import pytest
from django.utils import timezone

from jobs.models import BuildResult, Job
from jobs.submissions import services
from workers import scheduler
from workers.models import Worker, WorkerAssignment


@pytest.mark.django_db
def test_create_job_refuses_when_the_queue_is_full(settings):
    settings.ARENA_MAX_QUEUED_JOBS = 2
    services.create_job("https://github.com/a/one")
    services.create_job("https://github.com/a/two")
    with pytest.raises(services.QueueFull):
        services.create_job("https://github.com/a/three")
    assert Job.objects.count() == 2


CREATE_QUERIES = 3
REQUEUE_QUERIES = 8


def make_jobs(n, *, worker=None):
    now = timezone.now()
    for i in range(n):
        job = Job.objects.create(
            repository_url=f"https://github.com/o/r{i}",
            repository_name=f"o/r{i}",
            status="completed" if i % 3 else "queued",
            created_at=now - datetime.timedelta(seconds=i),
        )
        if job.status == "completed":
            BuildResult.objects.create(job=job, build_type="elide", status="success",
                                       duration=1, output="x")  # fmt: skip
            BuildResult.objects.create(job=job, build_type="standard", status="success",
                                       duration=2, output="y")  # fmt: skip
        if worker:
            WorkerAssignment.objects.create(job=job, worker=worker)
    return job


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [3, 30])
def test_query_counts_do_not_depend_on_rows(rows, django_assert_num_queries, settings):
    settings.ARENA_MAX_QUEUED_JOBS = 1000
    last = make_jobs(rows)
    with django_assert_num_queries(1):
        assert services.get_job(last.pk).pk == last.pk
    with django_assert_num_queries(1):
        job = services.get_job(last.pk, with_output=True)
        assert [r.output for r in job.results.all()] in ([], ["x", "y"])
    with django_assert_num_queries(1):
        jobs = services.list_jobs()
        # Results come prefetched: no query per job.
        assert all(job.elide_result or job.status == "queued" for job in jobs)
    assert len(jobs) == Job.objects.count()
    with django_assert_num_queries(1):
        recent = services.get_recent_results(limit=20)
        assert all(job.elide_result and job.standard_result for job in recent)
    with django_assert_num_queries(1):
        assert services.get_job("missing") is None
    with django_assert_num_queries(1):
        services.find_finished_race("https://github.com/o/r1")


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [3, 30])
def test_write_query_counts_do_not_depend_on_rows(rows, django_assert_num_queries, settings):
    settings.ARENA_MAX_QUEUED_JOBS = 1000
    worker = Worker.objects.create(id="w", hostname="h", last_heartbeat=timezone.now())
    make_jobs(rows, worker=worker)
    # Inside the test's transaction each atomic block adds SAVEPOINT and RELEASE.
    # create_job: one INSERT carrying the queue limit; cancel_job: the race's summary columns
    # read (locked) by the update that moves it between leaderboard summary groups, UPDATE,
    # re-read; requeue_job: read, the same locked read, UPDATE, DELETE results, close
    # assignments, re-read (plus the worker liveness check when the job was running).
    with django_assert_num_queries(CREATE_QUERIES):
        job = services.create_job("https://github.com/a/new")
    with django_assert_num_queries(3):
        services.cancel_job(job.pk)
    with django_assert_num_queries(REQUEUE_QUERIES):
        scheduler.requeue_job(job.pk)


@pytest.mark.django_db
def test_get_recent_results_only_completed_races_with_both_sides():
    now = timezone.now()
    both = Job.objects.create(repository_url="u", repository_name="both", status="completed")
    BuildResult.objects.create(job=both, build_type="elide", status="success", duration=1)
    BuildResult.objects.create(job=both, build_type="standard", status="failure", duration=1)
    one = Job.objects.create(repository_url="u", repository_name="one", status="completed")
    BuildResult.objects.create(job=one, build_type="elide", status="success", duration=1)
    pending = Job.objects.create(repository_url="u", repository_name="p", status="completed")
    BuildResult.objects.create(job=pending, build_type="elide", status="success", duration=1)
    BuildResult.objects.create(job=pending, build_type="standard", duration=1)
    Job.objects.create(repository_url="u", repository_name="q", created_at=now)
    assert [job.repository_name for job in services.get_recent_results()] == ["both"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limit", [0, 5])
def test_create_job_is_one_statement_that_commits_itself(limit, settings):
    """In autocommit (as in a request), create_job sends its INSERT and nothing else: no
    BEGIN/COMMIT of a transaction, no savepoint, no count of the queue before it."""
    from django.db import connection

    settings.ARENA_MAX_QUEUED_JOBS = limit
    statements = []

    def record(execute, sql, params, many, context):
        statements.append((sql, connection.in_atomic_block, connection.get_autocommit()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        job = services.create_job("https://github.com/a/one-trip")
    assert len(statements) == 1
    sql, in_transaction, autocommit = statements[0]
    assert sql.startswith("INSERT INTO") and (" WHERE " in sql) == bool(limit)
    assert (in_transaction, autocommit) == (False, True)
    assert Job.objects.get(pk=job.pk).status == "queued"


@pytest.mark.django_db(transaction=True)
def test_submissions_share_one_prepared_plan_on_postgresql(settings):
    """On PostgreSQL, create_job's statement is prepared once a connection has sent it five
    times, with one generic plan that counts queued races only (planning it each time cost
    more than running it). SQLite has nothing to prepare: the statement is simply sent."""
    from django.db import connection

    settings.ARENA_MAX_QUEUED_JOBS = 50
    for n in range(7):
        services.create_job(f"https://github.com/a/prepared-{n}")
    assert Job.objects.filter(status="queued").count() == 7
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans FROM pg_prepared_statements"
            " WHERE statement LIKE 'INSERT INTO %%'"
        )
        (statement, generic_plans), *others = cursor.fetchall()
    assert others == [] and generic_plans >= 1
    assert "WHERE status = 'queued' LIMIT 50" in statement


@pytest.mark.django_db(transaction=True)
def test_a_full_queue_is_refused_by_the_insert_itself(settings):
    settings.ARENA_MAX_QUEUED_JOBS = 2
    for n in range(2):
        services.create_job(f"https://github.com/a/r{n}")
    with pytest.raises(services.QueueFull):
        services.create_job("https://github.com/a/refused")
    assert Job.objects.count() == 2
    Job.objects.filter(repository_name="a/r0").update(status="running")
    assert services.create_job("https://github.com/a/accepted").repository_name == "a/accepted"
