"""The race poll on PostgreSQL answers 204 from the race state its process keeps, without a
query, and every kind of writer's change reaches the next polls within a moment
(jobs/views/race.py race_poll, jobs/live/race_state_cache.py). SQLite: every poll queries."""

import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from jobs.live import race_state_cache
from jobs.models import Job
from jobs.submissions.services import cancel_job
from tests.factories import make_running_race
from tests.support import hear_everything_committed, wait_until
from workers.engine.racing.results import SideResult
from workers.recording import Recorder

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_limits")]


def poll(client, url):
    return client.get(url, HTTP_HX_REQUEST="true")


def poller_url(html):
    """The poll URL in a page or a poll's answer (the next poll goes there)."""
    return re.search(r'hx-get="([^"]+/poll\?[^"]+)"', html).group(1).replace("&amp;", "&")


def page_poll_url(client, job):
    return poller_url(client.get(reverse("race_detail", args=[job.pk])).content.decode())


@pytest.fixture
def listening():
    """This process's cache, its listener listening; None on SQLite."""
    if connection.vendor != "postgresql":
        return None
    cache = race_state_cache.process_cache()
    assert wait_until(lambda: cache.listening, timeout=10)
    return cache


def test_a_kept_204_runs_no_query_and_each_writer_reaches_the_next_polls(
    client, listening, django_assert_num_queries
):
    job = make_running_race(output="[INFO] Scanning for projects...\n")
    url = page_poll_url(client, job)
    if listening is None:  # SQLite: no notifications, so every poll asks the database
        for _ in range(2):
            with django_assert_num_queries(1):
                assert poll(client, url).status_code == 204
        return

    def kept_204():
        hear_everything_committed(listening)  # the writes so far can no longer hide
        assert poll(client, url).status_code == 204  # queries, and keeps the race's state
        with django_assert_num_queries(0):
            assert poll(client, url).status_code == 204

    def first_answer_with_news():
        answers = []
        assert wait_until(
            lambda: answers.append(poll(client, url)) or answers[-1].status_code != 204, 10
        ), "a change was still unseen after 10 s"
        return answers[-1]

    results = dict(job.results.values_list("build_type", "pk"))
    recorder = Recorder(results, job.pk)  # the worker's own writes
    kept_204()
    recorder.on_output("elide", "[INFO] Compiling 42 source files\n", 1_200)
    recorder.write()
    news = first_answer_with_news()
    assert news.status_code == 200 and "Compiling 42 source files" in news.content.decode()
    url = poller_url(news.content.decode())

    kept_204()
    recorder.on_state("standard", "building run 1/3")
    recorder.write()
    news = first_answer_with_news()
    assert "Building run 1/3" in news.content.decode()
    url = poller_url(news.content.decode())

    kept_204()
    now = timezone.now()
    failed = SideResult(side="standard", status="failure", tool="maven", exit_code=1,
                        error="compilation failed", started_at=now, finished_at=now)  # fmt: skip
    recorder.on_side_finished("standard", failed)
    recorder.write()
    news = first_answer_with_news()
    assert news.status_code == 200 and 'id="side-head-standard"' in news.content.decode()
    url = poller_url(news.content.decode())

    kept_204()
    cancel_job(job.pk)
    assert first_answer_with_news().status_code == 286  # ended, all output sent: stop polling

    deleted = make_running_race("acme/deleted")
    url = page_poll_url(client, deleted)
    kept_204()
    Job.objects.filter(pk=deleted.pk).delete()
    assert first_answer_with_news().status_code == 286  # a deleted race's page stops polling


def test_a_write_between_a_polls_query_and_its_keep_is_never_hidden(client, listening, monkeypatch):
    """The poll's state is read before a write commits; the write is heard before the poll
    would keep that state: it is not kept, and the next poll sends the new output."""
    if listening is None:
        return
    from jobs.views import race

    job = make_running_race(output="one\n")
    url = page_poll_url(client, job)
    hear_everything_committed(listening)
    real_snapshot = race.poll_snapshot

    def snapshot_then_write(job_id, offsets):
        snapshot = real_snapshot(job_id, offsets)
        append = Recorder(dict(job.results.values_list("build_type", "pk")), job.pk)
        append.on_output("elide", "two\n", 10)
        append.write()
        hear_everything_committed(listening)
        return snapshot

    monkeypatch.setattr(race, "poll_snapshot", snapshot_then_write)
    assert poll(client, url).status_code == 204  # what the query read: nothing new yet
    monkeypatch.setattr(race, "poll_snapshot", real_snapshot)
    assert job.pk not in listening
    news = poll(client, url)
    assert news.status_code == 200 and "two" in news.content.decode()
