"""Summary rows under concurrent writers: many threads, each with its own connection, record
and exclude races of the same groups at once; no count is lost."""

import pytest
from django.utils import timezone

from jobs.models import Job, LeaderboardSummary, RaceExclusion
from jobs.models.leaderboard_tables import EVERY_DAY
from tests.factories import make_race
from tests.jobs.leaderboard.test_summary_in_step import assert_in_step
from tests.support import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_races_and_exclusions_lose_no_count():
    now = timezone.now()
    early = [make_race("acme/shared", created_at=now, elide_ms=9_000 + n) for n in range(8)]

    def record(thread):
        for n in range(6):
            make_race("acme/shared", created_at=now, elide_ms=10_000 + 100 * thread + n)

    def exclude(jobs):
        for job in jobs:
            RaceExclusion.objects.exclude_races(
                Job.objects.filter(pk=job.pk), "flaky runner", "tester"
            )

    run_in_threads(
        [(record, n) for n in range(3)] + [(exclude, early[n::2]) for n in range(2)], timeout=120
    )
    assert_in_step()
    counted = LeaderboardSummary.objects.filter(repository_name="acme/shared")
    assert counted.get(day=EVERY_DAY).races == 3 * 6
    assert sum(counted.exclude(day=EVERY_DAY).values_list("races", flat=True)) == 3 * 6
