import pytest

from jobs.models import BuildResult, Job


@pytest.mark.django_db
def test_job_round_trips_aware_datetimes():
    job = Job.objects.create(repository_url="https://github.com/a/b", repository_name="a/b")
    job.refresh_from_db()
    assert job.created_at.tzinfo is not None
    BuildResult.objects.create(job=job, build_type="elide")
    assert job.results.count() == 1
