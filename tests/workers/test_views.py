"""/workers/ and /api/status tell pool workers from the rows of `manage.py race` commands."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from workers import scheduler

pytestmark = pytest.mark.django_db


def ago(minutes):
    return timezone.now() - datetime.timedelta(minutes=minutes)


def test_finished_race_commands_are_command_line_runs_not_dead_workers(client):
    # Registered and retired as `manage.py race` does, an hour ago; one still racing.
    scheduler.register_worker("race@box1:4242", hostname="box1", capacity=1, now=ago(60))
    scheduler.retire_worker("race@box1:4242", now=ago(59))
    scheduler.register_worker("race@box1:5151", hostname="box1", capacity=1)
    scheduler.register_worker("pool-dead", hostname="box2", now=ago(10))
    scheduler.register_worker("pool-alive", hostname="box3")

    page = client.get(reverse("worker_list")).content.decode()
    assert ">1</span> of 2 workers alive" in page
    rows = {row.split("</code>")[0]: row for row in page.split('<td data-label="Worker"><code>')}
    assert "command-line run" in rows["race@box1:4242"] and "finished" in rows["race@box1:4242"]
    assert "command-line run" in rows["race@box1:5151"] and "racing now" in rows["race@box1:5151"]
    for command in ("race@box1:4242", "race@box1:5151"):
        assert "no heartbeat" not in rows[command] and "no elide" not in rows[command]
    assert "no heartbeat" in rows["pool-dead"] and "no heartbeat" not in rows["pool-alive"]
    assert page.count("no heartbeat") == 1

    workers = client.get("/api/status").json()["checks"]
    assert workers["workers"]["total"] == 2 and workers["workers"]["alive"] == 1
    assert set(workers["toolchains"]["workers"]) == {"pool-alive"}


def test_a_racing_command_is_not_a_worker_that_takes_queued_races(client):
    scheduler.register_worker("race@box1:4242", hostname="box1", capacity=1)
    health = scheduler.pool_health()
    assert health.alive == 0 and not health.has_live_workers
    assert health.waiting_message.startswith("No worker is running right now")
    assert scheduler.no_live_workers()
    assert client.get("/api/status").json()["checks"]["workers"]["total"] == 0


def test_manage_workers_lists_race_commands_as_command_line_runs():
    from io import StringIO

    from django.core.management import call_command

    scheduler.register_worker("race@box1:4242", hostname="box1", capacity=1, now=ago(60))
    scheduler.register_worker("race@box1:5151", hostname="box1", capacity=1)
    scheduler.register_worker("pool-dead", hostname="box2", now=ago(10))
    out = StringIO()
    call_command("workers", stdout=out)
    lines = {line.split()[0]: line for line in out.getvalue().splitlines() if line.strip()}
    assert "command-line run (ended)" in lines["race@box1:4242"]
    assert "command-line run (racing)" in lines["race@box1:5151"]
    assert "presumed dead" in lines["pool-dead"]
    assert "0 worker(s) taking jobs" in out.getvalue()
