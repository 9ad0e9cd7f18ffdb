"""What the replay gets from the server: where each run began (so its clocks count each run
from zero), and no replay at all for a race that never ran."""

import json

import pytest
from django.urls import reverse

from jobs.live.replay import run_starts
from jobs.models import Job
from tests.factories import make_race

pytestmark = pytest.mark.django_db

RUNS = (
    "prepare\n\n=== warm-up 1/1 (not measured) ===\nA\n\n=== run 1/2 ===\nB\n\n=== run 2/2 ===\nC\n"
)


def _timing(text, *marks):
    """One timing line per (text that starts a chunk, elapsed ms)."""
    return "".join(f"{text.index(piece)} {ms}\n" for piece, ms in marks)


def test_each_run_starts_where_its_header_was_recorded():
    timing = _timing(RUNS, ("prepare", 0), ("\n=== warm-up", 4000), ("\n=== run 1", 9000),
                     ("B", 9500), ("\n=== run 2", 15000))  # fmt: skip
    assert run_starts(RUNS, timing) == [
        [4000, "Warm-up 1/1"],
        [9000, "Run 1/2"],
        [15000, "Run 2/2"],
    ]
    # A header in build output that does not begin a line is not a run.
    assert run_starts("echo '=== run 1/1 ==='\n", "0 0\n") == []


def test_the_replay_data_lists_each_sides_runs(client):
    timing = _timing(RUNS, ("prepare", 0), ("\n=== run 1", 2000), ("\n=== run 2", 5000))
    job = make_race("acme/runs", output=RUNS, timing=timing, iterations=2)
    data = json.loads(client.get(reverse("race_replay", args=[job.pk])).content)
    assert data["sides"]["elide"]["runs"][1:] == [[2000, "Run 1/2"], [5000, "Run 2/2"]]


def test_a_race_that_never_ran_offers_no_replay(client):
    cancelled = make_race("acme/cancelled", status="cancelled")
    assert (
        'id="replay"'
        not in client.get(reverse("race_detail", args=[cancelled.pk])).content.decode()
    )
    ran = make_race("acme/ran", output="BUILD SUCCESS\n")
    assert 'id="replay"' in client.get(reverse("race_detail", args=[ran.pk])).content.decode()
    assert Job.objects.get(pk=cancelled.pk).status == "cancelled"


def test_an_adaptive_races_runs_are_found_too():
    text = "=== run 1 of at most 10 ===\nA\n=== run 2 of at most 10 ===\nB\n"
    timing = _timing(text, ("=== run 1", 100), ("=== run 2", 900))
    assert run_starts(text, timing) == [[100, "Run 1 of at most 10"], [900, "Run 2 of at most 10"]]
