"""Where a worker's noise floor is shown: /workers/, /api/status and the page (and last poll) of
a race the worker measured, which says when the race's speedup lies within the floor."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_race
from workers import noise_floor, scheduler
from workers.engine.measuring.calibration import NoiseFloor

pytestmark = pytest.mark.django_db


def test_workers_page_and_status_show_the_floor_or_that_there_is_none(client):
    scheduler.register_worker("calibrated", hostname="box1")
    scheduler.register_worker("fresh", hostname="box2")
    twelve_minutes_ago = timezone.now() - datetime.timedelta(minutes=12, seconds=5)
    floor = NoiseFloor(spread=0.021, pairs=5, ratios=(1.021, 0.99, 1.0, 1.01, 0.995))
    noise_floor.record("calibrated", floor, now=twelve_minutes_ago)

    page = client.get(reverse("worker_list")).content.decode()
    rows = {part.split("</code>")[0]: part for part in page.split('<td data-label="Worker"><code>')}
    assert "±2.1% (5 A/A pairs, 12 min ago)" in rows["calibrated"]
    assert "not calibrated yet" in rows["fresh"]

    workers = client.get("/api/status").json()["checks"]["toolchains"]["workers"]
    assert workers["fresh"]["noiseFloor"] is None
    shown = workers["calibrated"]["noiseFloor"]
    assert shown == {
        "spread": 0.021,
        "pairs": 5,
        "ratios": [1.021, 0.99, 1.0, 1.01, 0.995],
        "calibratedAt": shown["calibratedAt"],
    }
    stamp = datetime.datetime.fromisoformat(shown["calibratedAt"].replace("Z", "+00:00"))
    assert abs((stamp - twelve_minutes_ago).total_seconds()) < 1


WITHIN = "Within this host's noise floor of ±2.1%: this host cannot tell such a difference"


@pytest.mark.parametrize(
    ("elide_ms", "standard_ms", "within"),
    [
        (30_000, 30_600, True),  # 1.02x
        (30_600, 30_000, True),  # 0.98x: the floor is the same on either side of even
        (30_000, 31_000, False),  # 1.033x
        (30_000, 60_000, False),  # 2x
    ],
)
def test_a_race_page_says_when_its_speedup_is_within_its_hosts_floor(
    client, elide_ms, standard_ms, within
):
    scheduler.register_worker("box", hostname="box1")
    noise_floor.record("box", NoiseFloor(spread=0.021, pairs=5, ratios=(1.021, 1.0)))
    job = make_race(elide_ms=elide_ms, standard_ms=standard_ms, worker_id="box")
    assert job.speedup == pytest.approx(standard_ms / elide_ms)

    page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert (WITHIN in page) is within
    assert ("This host's noise floor: ±2.1% (5 A/A pairs" in page) is not within


def test_a_race_of_an_uncalibrated_or_unknown_host_shows_no_floor(client):
    scheduler.register_worker("fresh", hostname="box1")
    for worker_id in ("fresh", "gone", None):
        job = make_race(elide_ms=30_000, standard_ms=30_100, worker_id=worker_id)
        page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
        assert "noise floor" not in page


def test_the_last_poll_of_a_race_brings_the_floor_sentence(client):
    scheduler.register_worker("box", hostname="box1")
    noise_floor.record("box", NoiseFloor(spread=0.021, pairs=5, ratios=(1.021, 1.0)))
    job = make_race(elide_ms=30_000, standard_ms=30_300, worker_id="box")
    poll = client.get(reverse("race_poll", args=[job.pk]), {"elide": 0, "standard": 0})
    assert poll.status_code == 286  # htmx: the race has ended, stop polling
    assert WITHIN in poll.content.decode()
