"""Plain writes of races and results, mixed with the application's own writers, leave the
leaderboard's summary rows equal to a full recount: no writer has to remember them
(jobs/models/job_writes.py). Run on SQLite, and on PostgreSQL with DATABASE_URL set."""

import datetime

import pytest
from django.db import transaction
from django.db.models import F
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.models import BuildResult, Job, LeaderboardSummary
from tests.jobs.leaderboard.test_summary_in_step import (
    OPERATIONS,
    REPOSITORIES,
    assert_in_step,
    created,
    made_through_save,
    some_race,
)

pytestmark = pytest.mark.django_db


def changed_fields(number):
    """Values of one or more of the columns a race's summary group and figures are made of
    (and one the summary does not read), chosen by `number`."""
    speedup = None if number % 5 == 0 else (number % 1300) / 100 + 0.05  # some above 10
    choices = [
        {"excluded_reason": ("", "flaky runner")[number % 2]},
        {"verdict": ("elide", "standard", "tie", "inconclusive", "void", None)[number % 6]},
        {"winner": ("elide", "standard", "tie", None)[number % 4], "speedup": speedup},
        {"status": ("completed", "failed", "queued", "running", "cancelled")[number % 5]},
        {"is_mock": bool(number % 2)},
        {"created_at": created(number)},
        {"repository_name": REPOSITORIES[number % 3]},
        {"scenario": ("clean", "noop", "incremental")[number % 3]},
        {"cache": ("warm", "cold")[number % 2]},
        {"elide_success_ms": None if number % 3 == 0 else 900 + number % 5000},
        {"standard_success_ms": None if number % 4 == 0 else 700 + number % 9000},
        {"elide_cmd": None if number % 2 else ["sh", "-c", "mvn -q package"]},
        {"attempts": number % 4},
    ]
    first = choices[number % len(choices)]
    second = choices[(number // len(choices)) % len(choices)]
    return {**first, **second} if number % 3 == 0 else first


def races_of_a_repository(number):
    races = Job.objects.filter(repository_name=REPOSITORIES[number % 3])
    return races.exclude(is_mock=True) if number % 2 else races


def one_race_updated(number):
    job = some_race(number)
    if job is not None:
        Job.objects.filter(pk=job.pk).update(**changed_fields(number))


def many_races_updated(number):
    races_of_a_repository(number).update(**changed_fields(number // 7))


def speedups_scaled(number):
    """An update computed by the database from the rows themselves."""
    races_of_a_repository(number).update(speedup=F("speedup") * (1 + number % 4))


def many_races_deleted(number):
    races_of_a_repository(number).delete()


def bulk_updated(number):
    races = list(races_of_a_repository(number))
    values = changed_fields(number // 11)
    for job in races:
        for name, value in values.items():
            setattr(job, name, value)
    Job.objects.bulk_update(races, list(values))


def bulk_created(number):
    """Completed, judged races loaded at once (as an import does), both sides' results too."""
    jobs = [
        Job(
            repository_url=f"https://github.com/{REPOSITORIES[(number + n) % 3]}",
            repository_name=REPOSITORIES[(number + n) % 3],
            status="completed",
            created_at=created(number + n),
            verdict=("elide", "standard", "tie")[n % 3],
            winner=("elide", "standard", "tie")[n % 3],
            speedup=0.5 + (number + n) % 300 / 100,
            elide_success_ms=1000 + n,
            standard_success_ms=1500 + n,
        )
        for n in range(1 + number % 3)
    ]
    Job.objects.bulk_create(jobs)
    BuildResult.objects.bulk_create(
        BuildResult(job=job, build_type=side, status="success", duration_ms=1000)
        for job in jobs
        for side in ("elide", "standard")
    )


def upserted(number):
    """A bulk load that updates the races already stored (ON CONFLICT DO UPDATE)."""
    races = list(Job.objects.order_by("pk")[: 1 + number % 3])
    for job in races:
        job.excluded_reason = ("", "upserted")[number % 2]
        job.speedup = None if number % 5 == 0 else 1 + number % 400 / 100
    Job.objects.bulk_create(
        races,
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["excluded_reason", "speedup"],
    )


def saved_with_an_expression(number):
    """An instance saved with a value the database computes, whole or by update_fields."""
    job = some_race(number)
    if job is not None:
        job.speedup = F("speedup") * 2 if number % 2 else F("speedup") / 3
        job.save(update_fields=["speedup"] if number % 3 else None)


def saved_after_its_row_was_deleted(number):
    """A loaded race saved again after a delete: Django's UPDATE finds no row and inserts."""
    job = some_race(number)
    if job is not None:
        Job.objects.filter(pk=job.pk).delete()
        job.excluded_reason = ""
        job.save()


def results_updated(number):
    """A side's result rewritten: the race's stored verdict and times stay as they were."""
    results = BuildResult.objects.filter(job__repository_name=REPOSITORIES[number % 3])
    results.update(status=("success", "failure")[number % 2], duration_ms=100 + number % 9000)


def results_deleted(number):
    BuildResult.objects.filter(build_type=("elide", "standard")[number % 2]).delete()


class RolledBack(Exception):
    """Ends a savepoint on purpose."""


def updated_then_rolled_back(number):
    """A write kept, then one undone by its savepoint: only the kept one counts."""
    with transaction.atomic():
        one_race_updated(number)
        try:
            with transaction.atomic():
                many_races_updated(number + 1)
                many_races_deleted(number + 2)
                raise RolledBack
        except RolledBack:
            pass


def saved_inside_an_update(number):
    """A race saved while a queryset write of the same race is open around it."""
    job = some_race(number)
    if job is None:
        return
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(excluded_reason="")
        job.refresh_from_db()
        job.is_mock = not job.is_mock
        job.save()
        Job.objects.filter(pk=job.pk).update(**changed_fields(number))


PLAIN_WRITES = {
    "update one": one_race_updated,
    "update many": many_races_updated,
    "update from the rows": speedups_scaled,
    "delete many": many_races_deleted,
    "bulk update": bulk_updated,
    "bulk create": bulk_created,
    "upsert": upserted,
    "save an expression": saved_with_an_expression,
    "save a deleted race": saved_after_its_row_was_deleted,
    "update results": results_updated,
    "delete results": results_deleted,
    "rolled back": updated_then_rolled_back,
    "nested": saved_inside_an_update,
}
# The application's writers that need no files (the legacy import is in test_summary).
WRITERS = {name: write for name, write in OPERATIONS.items() if name != "import"}
EVERY_WRITE = {**WRITERS, **PLAIN_WRITES}


@settings(max_examples=25, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(sorted(EVERY_WRITE)), st.integers(0, 10**6)),
        min_size=1,
        max_size=12,
    )
)
def test_summary_rows_equal_a_full_recount_after_plain_queryset_writes(steps):
    Job.objects.all().delete()
    assert not LeaderboardSummary.objects.exists()
    for number in range(4):
        made_through_save(number)
    for name, number in steps:
        EVERY_WRITE[name](number)
        assert_in_step()


def test_an_update_narrowed_to_its_filter_writes_only_matching_races():
    """The write path reads the races first; the update still applies the caller's filter, so
    a claim-style update (WHERE status = 'running') changes nothing once the race moved on."""
    made_through_save(1)
    job = Job.objects.get()
    assert Job.objects.filter(pk=job.pk, status="running").update(status="failed") == 0
    assert Job.objects.get(pk=job.pk).status == "completed"
    assert Job.objects.filter(pk=job.pk).update(excluded_reason="flaky") == 1
    assert_in_step()


def test_a_bulk_update_of_columns_the_summary_does_not_read_reads_no_races(
    django_assert_num_queries,
):
    made_through_save(2)
    job = Job.objects.get()
    job.attempts = 3
    with django_assert_num_queries(1):
        Job.objects.filter(pk=job.pk).update(attempts=3)
    with django_assert_num_queries(1):
        job.save(update_fields=["attempts"])
    assert_in_step()


def test_the_created_day_moves_a_race_between_day_rows():
    made_through_save(0)
    job = Job.objects.get()
    moved = job.created_at - datetime.timedelta(days=5)
    Job.objects.filter(pk=job.pk).update(created_at=moved)
    days = set(LeaderboardSummary.objects.values_list("day", flat=True))
    assert len(days) == 2  # the race's new day and every day
    assert_in_step()
