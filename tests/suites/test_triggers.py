"""When suites are raced (suites/triggers.py): once per new set of versions however many
workers report it, on demand and on schedule, below public races, retried when void."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from jobs.models import Job, JobStatus
from suites import triggers
from suites.models import SuiteRun, SuiteRunStatus
from tests.suites.conftest import toolchains
from tests.suites.races import finish, finish_queued_suite_races, suite_jobs
from tests.support import run_in_threads
from workers import scheduler
from workers.worker import WorkerLoop

pytestmark = pytest.mark.django_db(transaction=True)


def probe(worker_id, found):
    """A worker's probe stored the way the worker stores it (it sends the signal)."""
    scheduler.register_worker(worker_id, hostname="host")
    scheduler.record_toolchains(worker_id, found)


def test_a_new_elide_version_queues_the_suite_once(suite):
    probe("w1", toolchains(elide="1.0.0"))
    run = SuiteRun.objects.get()
    assert run.versions == {"elide": "1.0.0", "mvn": "3.9.9", "java": "17.0.15"}
    assert run.trigger == "version" and run.status == SuiteRunStatus.RUNNING
    jobs = suite_jobs()
    assert sorted(jobs.values_list("repository_name", flat=True)) == [
        "acme/large", "acme/medium", "acme/small"
    ]  # fmt: skip
    assert {(j.priority, j.iterations, j.warmups, j.status) for j in jobs} == {
        (1, 5, 0, JobStatus.QUEUED)
    }
    # A second worker (and the same worker's next probe) with the same versions: nothing.
    probe("w2", toolchains(elide="1.0.0"))
    probe("w1", toolchains(elide="1.0.0"))
    assert SuiteRun.objects.count() == 1 and suite_jobs().count() == 3
    # A new Maven or JDK is a new set of versions; a worker without Elide starts nothing.
    probe("w3", toolchains(elide=None))
    assert SuiteRun.objects.count() == 1
    probe("w3", toolchains(elide="1.0.0", java="25.0.1"))
    assert SuiteRun.objects.count() == 2


def test_many_workers_reporting_at_once_start_one_run(suite):
    for number in range(6):
        scheduler.register_worker(f"w{number}", hostname="host")
    run_in_threads(
        [(scheduler.record_toolchains, f"w{number}", toolchains("1.1.0")) for number in range(6)]
    )
    assert SuiteRun.objects.count() == 1 and suite_jobs().count() == 3


def test_public_races_keep_their_turn(suite):
    probe("w1", toolchains("1.0.0"))
    public = Job.objects.create(repository_url="https://github.com/o/r", repository_name="o/r")
    claim = scheduler.claim_job("w1")
    assert claim.job.pk == public.pk
    claim = scheduler.claim_job("w1")
    assert claim.job.priority == 1


def test_a_void_race_is_raced_again_then_the_run_completes(suite, mailoutbox):
    probe("w1", toolchains("1.0.0"))
    run = SuiteRun.objects.get()
    void_job = suite_jobs().get(repository_name="acme/small")
    finish(void_job, standard_ms=[1000] * 5, elide_ms=[1000] * 5)
    Job.objects.filter(pk=void_job.pk).update(verdict="void", void_reason="elide crashed")
    finish_queued_suite_races(
        elide_version="1.0.0", elide_seconds={"acme/medium": 5, "acme/large": 5}
    )
    assert not triggers.advance(run)
    retry = run.races.get(repository__url__endswith="small", attempt=2).job
    assert retry.status == JobStatus.QUEUED
    assert not triggers.advance(run)  # the retry is queued once, however often it is asked
    assert run.races.count() == 4
    finish_queued_suite_races(elide_version="1.0.0", elide_seconds={"acme/small": 5})
    assert triggers.advance(run)
    run.refresh_from_db()
    assert run.status == SuiteRunStatus.COMPLETED and run.completed_at is not None
    assert not triggers.advance(run)  # completed once
    assert mailoutbox == []  # the first version has nothing to be compared with


def test_run_on_demand_and_on_schedule(suite, settings):
    call_command("suite", "run", "core")
    assert SuiteRun.objects.get().trigger == "demand"
    settings.ARENA_SUITE_INTERVAL = 3600
    later = timezone.now() + datetime.timedelta(hours=2)
    assert len(triggers.start_scheduled_runs(now=later)) == 1
    assert triggers.start_scheduled_runs(now=later) == []  # due once per interval
    settings.ARENA_SUITE_INTERVAL = 0
    assert triggers.start_scheduled_runs(now=later + datetime.timedelta(days=1)) == []
    with pytest.raises(CommandError, match="No suite named 'nope'"):
        call_command("suite", "run", "nope")


def test_a_workers_housekeeping_completes_a_finished_run(suite):
    """The shipped path: WorkerLoop.housekeeping sends pool_maintained, which moves runs on."""

    loop = WorkerLoop("w1", hostname="host", write=lambda line: None)
    loop.start()
    scheduler.record_toolchains("w1", toolchains("1.0.0"))
    run = SuiteRun.objects.get()
    loop.housekeeping()
    assert SuiteRun.objects.get().status == SuiteRunStatus.RUNNING
    finish_queued_suite_races(
        elide_version="1.0.0", elide_seconds={name: 5 for name in ("acme/small", "acme/medium",
                                                                    "acme/large")}
    )  # fmt: skip
    loop.housekeeping()
    run.refresh_from_db()
    assert run.status == SuiteRunStatus.COMPLETED
