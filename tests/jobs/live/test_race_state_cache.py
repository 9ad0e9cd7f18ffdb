"""Live races' states kept per process, true by NOTIFY (jobs/live/race_state_cache.py and the
triggers of migration jobs 0018): on PostgreSQL, with a real listener thread."""

import time

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction

from jobs.demo.mock_data import seed_original_mock_jobs, seed_random_races
from jobs.live import race_state_cache
from jobs.live.poll import RaceState, race_state
from jobs.models import BuildResult, Job
from tests.factories import make_running_race
from tests.jobs.storage.test_legacy_import import JOBS, RESULTS, legacy_db
from tests.support import hear_everything_committed, wait_until
from workers.recording import append_output

# Notifications are sent when a transaction commits: the tests that need them commit.
committing = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cache():
    """This process's cache with its listener listening; None on SQLite (no notifications)."""
    if connection.vendor != "postgresql":
        assert race_state_cache.reading("any") is race_state_cache.UNCACHED
        return None
    cache = race_state_cache.process_cache()
    assert wait_until(lambda: cache.listening, timeout=10)
    return cache


def listening_connection():
    """A connection of the test's own that LISTENs on the race channel."""
    settings = connection.settings_dict
    listener = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
        user=settings["USER"], password=settings["PASSWORD"] or None,
        dbname=settings["NAME"], autocommit=True,
    )  # fmt: skip
    listener.execute(f"LISTEN {race_state_cache.CHANNEL}")
    return listener


@committing
def test_a_write_between_the_query_and_the_keep_leaves_nothing_stale(cache):
    if cache is None:
        return
    job = make_running_race(output="abc")
    elide = job.results.get(build_type="elide")
    hear_everything_committed(cache)

    # The write commits after the poll's query and is heard before the poll keeps its state.
    reading = cache.reading(job.pk)
    state = race_state(job.pk)
    append_output(elide.pk, "def")
    hear_everything_committed(cache)
    reading.keep(state)
    assert job.pk not in cache

    # A state kept first is dropped when a later write is heard.
    reading = cache.reading(job.pk)
    reading.keep(race_state(job.pk))
    assert cache.reading(job.pk).state == race_state(job.pk)
    BuildResult.objects.filter(pk=elide.pk).update(phase="building run 1/3")
    assert wait_until(lambda: job.pk not in cache)

    # A finished race is never kept: its state will not change by the writers that notify.
    job.results.update(status="success")
    Job.objects.filter(pk=job.pk).update(status="completed")
    cache.reading(job.pk).keep(race_state(job.pk))
    assert job.pk not in cache


@committing
def test_nothing_is_used_or_kept_while_not_listening_nor_inside_a_transaction(cache):
    if cache is None:
        return
    job = make_running_race()
    hear_everything_committed(cache)
    cache.reading(job.pk).keep(race_state(job.pk))
    assert job.pk in cache
    with transaction.atomic():  # may see its own uncommitted writes: queries every time
        assert race_state_cache.reading(job.pk) is race_state_cache.UNCACHED

    # The listening connection dies: everything kept is dropped, nothing is kept meanwhile,
    # and a state read across the loss is not kept once listening again.
    before_loss = cache.reading(job.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query = %s AND pid <> pg_backend_pid()",
            [f"LISTEN {race_state_cache.CHANNEL}"],
        )
        assert cursor.fetchone() == (True,)
    assert wait_until(lambda: not cache.listening)
    assert len(cache) == 0
    assert cache.reading(job.pk) is race_state_cache.UNCACHED
    assert wait_until(lambda: cache.listening, timeout=10)  # reconnected after a back-off
    before_loss.keep(race_state(job.pk))
    assert job.pk not in cache
    cache.reading(job.pk).keep(race_state(job.pk))
    assert job.pk in cache


@committing
def test_bulk_loads_of_finished_races_send_no_notification(tmp_path):
    if connection.vendor != "postgresql":
        return
    listener = listening_connection()
    try:
        seed_original_mock_jobs()
        seed_random_races(30, seed=7)
        call_command("import_legacy_db", str(legacy_db(tmp_path / "old.db", jobs=JOBS,
                                                       results=RESULTS)), verbosity=0)  # fmt: skip
        live = make_running_race()  # after the loads: its notification arrives after theirs
        heard = [n.payload for n in listener.notifies(timeout=10, stop_after=1)]
    finally:
        listener.close()
    assert set(heard) == {live.pk}


@committing
def test_the_setting_turns_the_cache_off(settings):
    settings.ARENA_POLL_STATE_CACHE = False
    assert race_state_cache.reading("any") is race_state_cache.UNCACHED
    assert race_state_cache._process_states is None  # no listener started


def live(version):
    """The state of a running race with version `version`."""
    return RaceState(True, version, (("elide", 0), ("standard", 0)), job_status="running")


def test_states_and_notification_numbers_are_bounded_without_keeping_a_stale_state():
    cache = race_state_cache.RaceStateCache(max_states=2, max_notified=2)
    assert cache.reading("a") is race_state_cache.UNCACHED  # not listening yet
    cache.set_listening(True)
    for job_id in ("a", "b"):
        cache.reading(job_id).keep(live(job_id))
    cache.reading("a")  # polled again: "b" is now the least recently polled
    cache.reading("c").keep(live("c"))
    assert "b" not in cache and "a" in cache and "c" in cache

    # A reading older than a forgotten notification number keeps nothing, whichever race
    # that number was of; a reading after it keeps again.
    old = cache.reading("d")
    for job_id in ("x", "y", "z"):  # three notified races, two remembered: "x" forgotten
        cache.changed(job_id)
    old.keep(live("d"))
    assert "d" not in cache
    cache.reading("d").keep(live("d"))
    assert "d" in cache
    cache.changed("")  # TRUNCATE: every race may have changed
    assert len(cache) == 0


def test_kept_states_are_trusted_only_while_the_listening_link_answers_its_checks():
    cache = race_state_cache.RaceStateCache(trust=0.2)
    cache.set_listening(True)
    reading = cache.reading("a")
    assert reading is not race_state_cache.UNCACHED
    time.sleep(0.3)  # no check answered since listening began
    assert cache.reading("a") is race_state_cache.UNCACHED
    reading.keep(live("a"))
    assert "a" not in cache
    cache.confirm(time.monotonic())
    cache.reading("a").keep(live("a"))
    assert cache.reading("a").state == live("a")
