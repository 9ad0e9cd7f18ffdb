"""No build output can break a page: every surface that shows a race renders any bytes.

A build prints what it likes; the engine decodes it (workers/engine/measuring/output.py) and the
pages render it. Random bytes and adversarial ANSI go through the Django test client to the race
page, its poll, the replay JSON, the booth and its slide, the share card, the plain-text and
API output and the admin's race page.
"""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.models import BuildResult
from tests.factories import make_race, make_running_race
from workers.engine.measuring.output import TextDecoder

pytestmark = pytest.mark.django_db

PROBE = b"<x-probe onload=alert(1)>"
ADVERSARIAL = [
    b"\x1b[" + b"9" * 5000 + b"m",  # more digits than int() accepts
    b"\x1b[" + b"1;" * 3000 + b"31m",  # thousands of parameters
    b"\x1b[38;5;",  # an extended colour cut short
    b"\x1b[38;2;999999999999;1m",
    b"\x1b]0;" + b"t" * 2000,  # an OSC never terminated
    b"\x1b[?25l\x1b[2J\x1b[H",
    b"\x1b",
    b"\xff\xfe\xc3",  # invalid UTF-8
    b"\xf0\x9f\x94",  # a character cut short
    b"\x00\r\x08\x7f",
    b"&amp;\"'",
    PROBE,
]
hostile_bytes = st.lists(
    st.one_of(st.binary(max_size=80), st.sampled_from(ADVERSARIAL)), max_size=12
).map(b"".join)


def as_stored(data):
    """The text the engine stores for these bytes."""
    decoder = TextDecoder()
    return decoder.decode(data) + decoder.flush()


def put_output(job, text):
    short = text[:100]
    BuildResult.objects.filter(job=job).update(
        output=text,
        output_timing=f"0 0\n5 {len(text.encode()) // 2}\n",
        tool_version=short,
        error=short,
    )
    type(job).objects.filter(pk=job.pk).update(error=short, void_reason=short)


def assert_renders(client, url, *, params=None, content_type="text/html"):
    """200 with the content type; in HTML (the replay JSON carries HTML) nothing unescaped."""
    response = client.get(url, params or {})
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith(content_type)
    if content_type in ("text/html", "application/json"):
        assert PROBE.decode() not in response.content.decode(), url
    return response


def assert_every_surface_renders(client, finished, running, offset):
    for job in (finished, running):
        assert_renders(client, reverse("race_detail", args=[job.pk]))
        assert_renders(client, reverse("race_card", args=[job.pk]), content_type="image/png")
    assert_renders(
        client, reverse("race_poll", args=[running.pk]), params={"elide": offset, "standard": 0}
    )
    assert_renders(
        client, reverse("race_replay", args=[finished.pk]), content_type="application/json"
    )
    assert_renders(client, reverse("kiosk"))
    assert_renders(client, reverse("kiosk_slide"))
    # Plain text and the API's JSON carry the text as data: they only have to answer.
    text_url = reverse("race_output_text", args=[finished.pk, "elide"])
    assert_renders(client, text_url, content_type="text/plain")
    api_output = reverse("api_job_output", args=[running.pk])
    assert client.get(api_output, {"build_type": "elide", "offset": offset}).status_code == 200


@pytest.fixture
def races(settings):
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    settings.ARENA_JOB_RATE_LIMIT = 0
    return make_race("acme/done", error="x"), make_running_race("acme/live")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=hostile_bytes, offset=st.integers(min_value=0, max_value=20_000))
def test_random_bytes_render_on_every_page(client, admin_client, races, data, offset):
    finished, running = races
    text = as_stored(data + PROBE)
    for job in races:
        put_output(job, text)
    assert_every_surface_renders(client, finished, running, offset)
    assert_renders(admin_client, reverse("admin:jobs_job_change", args=[finished.pk]))


def test_five_thousand_digit_parameter_keeps_the_text_after_it(client, races):
    """The report's case: `ESC [` + 5,000 digits + `m`, then text that must still be shown."""
    finished, running = races
    text = as_stored(b"\x1b[" + b"9" * 5000 + b"mafter <b>it</b>\n")
    for job in races:
        put_output(job, text)
    assert_every_surface_renders(client, finished, running, 0)
    for url in (
        reverse("race_detail", args=[finished.pk]),
        reverse("race_poll", args=[running.pk]),
        reverse("kiosk_slide"),
    ):
        assert "after &lt;b&gt;it&lt;/b&gt;" in client.get(url).content.decode(), url
    replay = client.get(reverse("race_replay", args=[finished.pk])).content.decode()
    assert "after &lt;b&gt;it&lt;/b&gt;" in replay
