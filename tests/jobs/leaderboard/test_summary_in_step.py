"""The leaderboard's summary rows always equal a full recount of the races, whatever wrote them."""

import collections
import datetime
import itertools

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.admin_support import mark_demo
from jobs.demo.mock_data import seed_random_races
from jobs.fields import to_unix_seconds
from jobs.leaderboard.speedup_steps import recount_steps, step_of
from jobs.leaderboard.summary_rebuild import (
    counted_races_by_group_columns,
    rebuild_summary,
    recount,
)
from jobs.models import (
    BuildResult,
    Job,
    LeaderboardSummary,
    RaceExclusion,
    SpeedupStepCount,
    judge_results,
)
from jobs.models.leaderboard_tables import (
    EVERY_DAY,
    EVERY_REPOSITORY,
    SPEEDUP_STEP_KEY,
    SUMMARY_COUNTS,
    SUMMARY_HIGHEST,
    SUMMARY_KEY,
    SUMMARY_LOWEST,
)
from jobs.storage.legacy_import import import_legacy_database
from tests.factories import make_race
from tests.jobs.storage.test_legacy_import import legacy_db
from workers.recording import JobRun
from workers.scheduler import requeue_job

pytestmark = pytest.mark.django_db

REPOSITORIES = ("acme/one", "acme/two", "other/three")
VALUES = (*SUMMARY_COUNTS, *SUMMARY_HIGHEST, *SUMMARY_LOWEST)


def normalized(row):
    """A summary row as comparable plain values (timestamps as unix seconds)."""
    row = dict(row)
    row["day"] = to_unix_seconds(row.pop("summary_day", None) or row["day"])
    row["measured"] = bool(row.pop("summary_measured", row.get("measured")))
    row["is_mock"] = bool(row["is_mock"])
    row["last_race"] = to_unix_seconds(row["last_race"])
    return tuple(row[name] for name in (*SUMMARY_KEY, *VALUES))


def stored_rows():
    return sorted(
        map(normalized, LeaderboardSummary.objects.values(*SUMMARY_KEY, *VALUES)), key=repr
    )


def recounted_rows():
    return sorted((normalized(row) for level in recount() for row in level), key=repr)


def normalized_step(row):
    """A step row (SPEEDUP_STEP_KEY and races) as plain values (`day` as unix seconds)."""
    name, day, is_mock, *rest = row
    return (name, to_unix_seconds(day), bool(is_mock), *rest)


def stored_steps():
    rows = SpeedupStepCount.objects.values_list(*SPEEDUP_STEP_KEY, "races")
    return sorted(map(normalized_step, rows))


def recounted_steps():
    levels = recount_steps(counted_races_by_group_columns())
    return sorted(normalized_step(tuple(row.values())) for level in levels for row in level)


def steps_counted_here():
    """The steps counted in Python from the races: per repository and for every repository
    over every day, and for every repository on each race's UTC day."""
    counted = Job.objects.filter(
        status="completed",
        excluded_reason="",
        speedup__isnull=False,
        verdict__in=("elide", "standard", "tie", "inconclusive", "both_failed"),
        standard_cmd__isnull=True,  # operator races never count
        elide_cmd__isnull=True,
    )
    steps = collections.Counter()
    for job in counted:
        rest = (job.is_mock, job.scenario, job.cache, step_of(job.speedup))
        midnight = datetime.datetime.combine(
            job.created_at.astimezone(datetime.UTC).date(), datetime.time(), datetime.UTC
        )
        for name, day in (
            (job.repository_name, EVERY_DAY),
            (EVERY_REPOSITORY, EVERY_DAY),
            (EVERY_REPOSITORY, to_unix_seconds(midnight)),
        ):
            steps[(name, day, *rest)] += 1
    return sorted((*key, races) for key, races in steps.items())


def assert_in_step():
    assert stored_rows() == recounted_rows()
    assert stored_steps() == recounted_steps() == steps_counted_here()


def created(draw_number):
    """One of three days, at a time of day that varies."""
    return timezone.now() - datetime.timedelta(days=draw_number % 3, seconds=draw_number % 7919)


def recorded_by_a_worker(number):
    """A claimed race finished by the recording code a worker runs (JobRun._complete)."""
    job = Job.objects.create(
        repository_url=f"https://github.com/{REPOSITORIES[number % 3]}",
        repository_name=REPOSITORIES[number % 3],
        status="running",
        worker_id="w-summary",
        attempts=1,
        created_at=created(number),
    )
    results = {}
    for side, ms in (("elide", 1000 + number % 5000), ("standard", 1000 + number % 3001 * 3)):
        results[side] = BuildResult.objects.create(
            job=job,
            build_type=side,
            status="failure" if side == "standard" and number % 5 == 0 else "success",
            duration=ms // 1000,
            duration_ms=ms,
            run_times_ms=[ms],
            bell_rung=True,
            exit_code=0,
            started_at=job.created_at,
        )
    run = JobRun(job.pk)
    run.claim = {"worker_id": "w-summary", "attempts": 1}
    run.result_ids = {side: result.pk for side, result in results.items()}
    run._complete(judge_results(results["elide"], results["standard"]))


def made_through_save(number):
    make_race(
        REPOSITORIES[number % 3],
        elide_ms=1000 + number % 4000,
        standard_ms=1000 + (number * 7) % 6000,
        elide_status="failure" if number % 6 == 0 else "success",
        created_at=created(number),
        is_mock=number % 4 == 0,
        scenario=("clean", "noop", "incremental")[number % 3],
        cache=("warm", "cold")[number % 2],
    )


def some_race(number):
    races = list(Job.objects.order_by("pk").values_list("pk", flat=True))
    return Job.objects.get(pk=races[number % len(races)]) if races else None


def voided_by_an_admin(number):
    job = some_race(number)
    if job is not None:
        job.verdict, job.winner, job.speedup = "void", None, None
        job.save()


def excluded(number):
    job = some_race(number)
    if job is not None:
        RaceExclusion.objects.exclude_races(
            Job.objects.filter(pk=job.pk), f"reason {number % 2}", "tester"
        )


def restored(number):
    job = some_race(number)
    if job is not None:
        job.excluded_reason = ""
        job.save()


def requeued(number):
    job = some_race(number)
    if job is not None and job.status != "queued":
        requeue_job(job.pk)


def deleted(number):
    job = some_race(number)
    if job is not None:
        if number % 2:
            job.delete()
        else:
            Job.objects.filter(pk=job.pk).delete()


def operator_command_toggled(number):
    """An operator's custom command set on a race (it leaves the summary) or taken off."""
    job = some_race(number)
    if job is not None:
        job.elide_cmd = None if job.elide_cmd else ["sh", "-c", "mvn -q package"]
        job.save()


def demo_flag_flipped(number):
    job = some_race(number)
    if job is not None:
        mark_demo(Job.objects.filter(pk=job.pk), not job.is_mock)


def imported(number, directory):
    """The legacy import of one completed race; the same id again updates it."""
    stamp = int(created(number).timestamp())
    name = REPOSITORIES[number % 3]
    jobs = [(f"legacy-{number % 3}", f"https://github.com/{name}", name, "completed", stamp,
             stamp + 1, stamp + 200, "local")]  # fmt: skip
    results = [
        (jobs[0][0], "standard", "success", 60 + number % 50, "", 1, "c1", stamp + 1),
        (jobs[0][0], "elide", "success", 30 + number % 70, "", 1, "c2", stamp + 90),
    ]
    path = directory / f"legacy-{number}-{next(_files)}.db"
    import_legacy_database(legacy_db(path, jobs=jobs, results=results, cache_rows=0))


def seeded(number):
    seed_random_races(3, seed=number % 4, now=timezone.now())


_files = itertools.count()
OPERATIONS = {
    "record": recorded_by_a_worker,
    "save": made_through_save,
    "void": voided_by_an_admin,
    "exclude": excluded,
    "restore": restored,
    "requeue": requeued,
    "delete": deleted,
    "demo": demo_flag_flipped,
    "operator": operator_command_toggled,
    "seed": seeded,
    "import": imported,
}


@settings(max_examples=12)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(sorted(OPERATIONS)), st.integers(0, 10**6)),
        min_size=1,
        max_size=9,
    )
)
def test_summary_rows_equal_a_full_recount_after_any_writes(steps, tmp_path):
    Job.objects.all().delete()
    assert not LeaderboardSummary.objects.exists()
    for name, number in steps:
        if name == "import":
            imported(number, tmp_path)
        else:
            OPERATIONS[name](number)
        assert_in_step()


def test_the_recount_sees_races_and_the_rebuild_restores_rows_written_behind_its_back():
    for number in range(8):
        made_through_save(number)
    expected = stored_rows()
    per_day = [row for row in expected if row[0] != EVERY_DAY]
    every_day = [row for row in expected if row[0] == EVERY_DAY]
    races = len(SUMMARY_KEY)
    assert sum(row[races] for row in per_day) == sum(row[races] for row in every_day) == 8
    # Writes the application never saw (raw SQL, a restored backup): rows go stale.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE jobs SET excluded_reason = 'raw' WHERE repository_name = 'acme/one'")
    LeaderboardSummary.objects.filter(repository_name="acme/two").update(races=999)
    SpeedupStepCount.objects.exclude(day=EVERY_DAY).update(races=999)
    assert stored_rows() != recounted_rows()
    assert stored_steps() != recounted_steps()
    assert rebuild_summary() == len(recounted_rows())
    assert_in_step()
    assert not LeaderboardSummary.objects.filter(repository_name="acme/one").exists()


def test_rebuild_command_reports_the_rows(capsys):
    from django.core.management import call_command

    made_through_save(1)
    LeaderboardSummary.objects.all().delete()
    call_command("rebuild_leaderboard_summary")
    # One row for the race's day, one for every day.
    assert "Leaderboard summary rebuilt: 2 row(s)" in capsys.readouterr().out
    assert_in_step()
