"""The hot queries stay cheap at any size: fixed query counts, index-only plans, right rows."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs.models import BuildResult, Job
from jobs.submissions.services import create_job, get_job, get_recent_results

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def race(name, minutes_ago, status="completed", sides=("success", "success")):
    job = Job.objects.create(
        repository_url=f"https://github.com/a/{name}",
        repository_name=f"a/{name}",
        status=status,
        created_at=NOW - datetime.timedelta(minutes=minutes_ago),
    )
    for build_type, side_status in zip(("elide", "standard"), sides, strict=False):
        if side_status:
            BuildResult.objects.create(
                job=job, build_type=build_type, status=side_status, output="x" * 100
            )
    return job


def test_recent_results_lists_completed_races_with_both_sides_newest_first():
    newest = race("newest", 1, sides=("success", "failure"))
    older = race("older", 5)
    race("one-side-pending", 2, sides=("success", "pending"))
    race("one-side-missing", 3, sides=("success", None))
    race("running", 0, status="running")
    race("failed", 4, status="failed")

    with CaptureQueriesContext(connection) as queries:
        recent = get_recent_results(20)
        sides = [(job.elide_result.status, job.standard_result.status) for job in recent]

    assert [job.pk for job in recent] == [newest.pk, older.pk]
    assert sides == [("success", "failure"), ("success", "success")]
    assert len(queries) == 1
    loaded = recent[0].elide_result.get_deferred_fields()
    assert {"output", "output_timing", "output_compressed", "output_timing_compressed"} <= loaded


def test_recent_results_honours_the_limit():
    for i in range(5):
        race(f"r{i}", i)
    assert len(get_recent_results(3)) == 3


def test_get_job_defers_logs_but_the_full_output_is_one_query_away():
    job = race("one", 1)
    loaded = get_job(job.pk)
    assert {"output", "output_compressed"} <= loaded.elide_result.get_deferred_fields()
    assert loaded.elide_result.full_output == "x" * 100


def test_create_job_refuses_a_check_constraint_violation_with_a_message():
    with pytest.raises(Exception) as refused:
        create_job("https://github.com/a/b", iterations=0)
    assert "jobs_iterations_positive" in str(refused.value)
    assert refused.typename == "ValidationError"
    assert Job.objects.count() == 0


def test_get_job_is_one_query_whose_arguments_change_from_call_to_call(
    django_assert_num_queries,
):
    first, second = race("first", 2), race("second", 1, status="running", sides=("success",))
    queued = race("queued", 0, status="queued", sides=())
    for job in (first, second, queued, first):
        with django_assert_num_queries(1):
            loaded = get_job(job.pk)
            sides = [(r.build_type, r.job.pk) for r in loaded.results.all()]
            assert (loaded.elide_result is None) == (job is queued)
            assert loaded.standard_result is None or job is first
        assert loaded.pk == job.pk and loaded.repository_name == job.repository_name
        assert loaded.created_at == job.created_at.replace(microsecond=0)
        assert sides == [(b, job.pk) for b in ("elide", "standard")][: len(sides)]
    assert len(get_job(first.pk).results.all()) == 2
    assert get_job("no-such-job") is None
