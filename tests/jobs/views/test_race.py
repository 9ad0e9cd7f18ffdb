"""The race page and its poll endpoint (jobs/views/race.py): results, escaping, the poll's
offsets, cancel, logs, a fixed number of queries."""

import html
import re

import pytest
from django.db.models import TextField, Value
from django.db.models.functions import Concat
from django.urls import reverse

from jobs.models import BuildResult, Job
from tests.factories import make_race, make_running_race

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_limits")]


HOSTILE = (
    '<script>alert("x")</script><img src=x onerror=alert(1)>'
    "\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b[1;32mgreen bold\x1b[0m\x07 done &amp;\n"
)


def append_output(job, build_type, text):
    BuildResult.objects.filter(job=job, build_type=build_type).update(
        output=Concat("output", Value(text), output_field=TextField())
    )


def test_race_page_shows_a_finished_race(client):
    job = make_race(
        elide_ms=12_340, standard_ms=29_616, iterations=3, commit_sha="a" * 40, output="ok\n"
    )
    content = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert "12.34 s" in content and "29.62 s" in content
    assert "Elide wins" in content and "2.40\u00d7" in content
    assert "58% less build time" in content  # percent only as the secondary line
    assert "90% CI 2.37\u20132.43\u00d7" in content  # 3 runs a side: the 90% interval
    assert "Each run" in content and "12.24 s" in content  # per-run table (3 iterations)
    assert "3.8.7" in content and "1.0.0" in content  # toolchain versions
    assert "aaaaaaaaaaaa" in content
    assert 'id="race-poller"' not in content  # a finished race does not poll
    assert 'id="replay"' in content


def test_race_page_shows_why_a_void_race_could_not_run(client):
    reason = "elide is not installed on worker build-2"
    job = make_race(elide_status="failure", elide_error_kind="infrastructure", elide_error=reason)
    content = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    # The verdict leads, neutral; the reason is detail under it; the side "could not run".
    summary = content.split('id="race-summary"')[1]
    assert '<h2 id="summary-title">Void: not a result</h2>' in summary
    assert f'aria-label="Why the race is void">{reason}</pre>' in summary
    assert content.index('id="race-summary"') < content.index('class="terminals"')
    elide_head = content.split('id="side-head-elide"')[1].split("</header>")[0]
    assert "Could not run" in elide_head and "not run" in elide_head and "ailed" not in elide_head
    assert "Elide wins" not in content and "wins:" not in content


def test_race_page_of_a_standard_win_and_a_tie(client):
    lost = make_race("a/lost", elide_ms=40_000, standard_ms=20_000, iterations=3)
    content = client.get(reverse("race_detail", args=[lost.pk])).content.decode()
    assert "Maven wins" in content and "2.00\u00d7" in content
    tie = make_race("a/tie", elide_ms=20_000, standard_ms=20_050)
    assert (
        '<h2 id="summary-title">Tie</h2>'
        in client.get(reverse("race_detail", args=[tie.pk])).content.decode()
    )


def test_race_page_escapes_hostile_output(client):
    job = make_race(output=HOSTILE)
    content = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert "<script>alert" not in content and "<img src=x" not in content
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in content
    assert '<span class="ansi-fg1">red</span>' in content
    assert '<span class="ansi-bold ansi-fg2">green bold</span>' in content
    assert (
        "\x1b" not in content
        and "\x07" not in content
        and "title" not in content.split("ansi-fg1")[1][:40]
    )
    assert "done &amp;amp;" in content


def test_unknown_race_is_404(client):
    assert client.get(reverse("race_detail", args=["nope"])).status_code == 404
    assert client.get(reverse("race_poll", args=["nope"])).status_code == 404
    # An open page whose race was deleted stops polling instead of asking forever.
    assert (
        client.get(reverse("race_poll", args=["nope"]), HTTP_HX_REQUEST="true").status_code == 286
    )


def test_poll_sends_only_new_output_and_stops_when_the_race_ends(client):
    job = make_running_race(output="line one\n")
    page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert "line one" in page
    poll_url = re.search(r'hx-get="([^"]+/poll\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert "elide=9" in poll_url and "standard=9" in poll_url

    append_output(job, "elide", "line two <b>\n")
    response = client.get(poll_url, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "line two &lt;b&gt;" in body and "line one" not in body
    assert 'hx-swap-oob="beforeend:#output-elide"' in body
    assert 'hx-swap-oob="beforeend:#output-standard"' not in body
    # Only the output changed: the headers are not sent again.
    assert 'id="side-head-elide"' not in body and 'id="race-head"' not in body
    next_url = re.search(r'hx-get="([^"]+/poll\?[^"]+)"', body).group(1).replace("&amp;", "&")
    assert "elide=22" in next_url

    # Nothing new: 204 without a body (htmx swaps nothing and keeps polling), one query.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        quiet = client.get(next_url)
    assert quiet.status_code == 204 and quiet.content == b""
    assert len(captured.captured_queries) == 1
    # A change other than output (the side's status) is sent even without new output.
    BuildResult.objects.filter(job=job, build_type="elide").update(bell_rung=True)
    changed = client.get(next_url)
    assert changed.status_code == 200 and 'class="bell rung"' in changed.content.decode()
    next_url = re.search(r'hx-get="([^"]+/poll\?[^"]+)"', changed.content.decode()).group(1)
    next_url = next_url.replace("&amp;", "&")

    append_output(job, "standard", "BUILD SUCCESS\n")
    BuildResult.objects.filter(job=job).update(status="success", duration_ms=1500, bell_rung=True)
    Job.objects.filter(pk=job.pk).update(status="completed", winner="tie", speedup=1.0)
    final = client.get(next_url)
    assert final.status_code == 286  # htmx: stop polling
    body = final.content.decode()
    assert "BUILD SUCCESS" in body
    assert 'id="race-summary" hx-swap-oob="true"' in body
    assert "hx-trigger" not in body.split('id="race-poller"')[1].split(">")[0]
    assert 'class="bell rung"' in body


def test_an_output_only_poll_sends_the_markup_of_the_polls_template(client):
    """While a race runs and no header changed, the poll answers without its template: the
    same poller and append blocks, hostile output escaped, with one side already finished."""
    from django.template.loader import render_to_string

    from jobs.live.poll import poll_snapshot
    from jobs.views.race import _race_context

    job = make_running_race(output="start\n")
    BuildResult.objects.filter(job=job, build_type="standard").update(status="success")
    page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    poll_url = re.search(r'hx-get="([^"]+/poll\?[^"]+)"', page).group(1).replace("&amp;", "&")
    # The running side's cut escape sequence waits for its end; the finished side's last line.
    append_output(job, "elide", HOSTILE + "tail \x1b[3")
    append_output(job, "standard", "BUILD SUCCESS\n")

    response = client.get(poll_url, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert '<span class="ansi-fg1">red</span>' in body
    assert "tail " in body and "[3" not in body and "BUILD SUCCESS" in body
    assert 'id="side-head-elide"' not in body and 'id="race-head"' not in body

    snapshot = poll_snapshot(str(job.pk), {"elide": 6, "standard": 6})
    stored_job, sides = snapshot.read()
    context = _race_context(
        stored_job, sides, poll_url=reverse("race_poll", args=[job.pk]),
        version=snapshot.state.version,
    )  # fmt: skip
    context.update(pool_message="", refresh_head=False)
    for side in sides:
        side.refresh = False
    templated = render_to_string("partials/race_poll.html", context)
    # The template's own line breaks stand between tags (output's ">" is escaped).
    assert body == re.sub(r">\n+", ">", templated)


def test_poll_keeps_going_until_all_output_is_sent(client, monkeypatch):
    monkeypatch.setattr("jobs.live.poll.MAX_CHUNK_BYTES", 10)
    job = make_race(output="0123456789abcdefghijKLMNO")
    url = reverse("race_poll", args=[job.pk])
    received, offset, statuses = "", 0, []
    for _ in range(5):
        response = client.get(url, {"elide": offset, "standard": 25}, HTTP_HX_REQUEST="true")
        statuses.append(response.status_code)
        body = response.content.decode()
        chunk = re.search(r'beforeend:#output-elide">([^<]*)</div>', body)
        received += chunk.group(1) if chunk else ""
        offset = (
            int(re.search(r"elide=(\d+)", body).group(1)) if response.status_code == 200 else offset
        )
        if response.status_code == 286:
            break
    assert statuses == [200, 200, 286]
    assert received == "0123456789abcdefghijKLMNO"


def test_poll_does_not_cut_an_escape_sequence(client):
    job = make_running_race(output="ok \x1b[3")
    body = client.get(reverse("race_poll", args=[job.pk])).content.decode()
    assert "ok " in body and "[3" not in body
    assert "elide=3" in body
    append_output(job, "elide", "1mred\x1b[0m\n")
    body = client.get(reverse("race_poll", args=[job.pk]), {"elide": 3}).content.decode()
    assert '<span class="ansi-fg1">red</span>' in body


def test_running_race_shows_a_timer_and_a_cancel_link_to_its_submitter(client, admin_user):
    job = make_running_race(output="compiling\n")
    content = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert 'class="timer" data-elapsed-ms=' in content
    assert '<noscript><meta http-equiv="refresh"' in content  # reload without JS
    assert "Cancel race" not in content  # a stranger may not cancel
    client.force_login(admin_user)
    content = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert "Cancel race" in content and reverse("race_cancel", args=[job.pk]) in content


def test_cancel_asks_for_confirmation_then_cancels_with_post_and_csrf(client, admin_user):
    job = make_running_race()
    url = reverse("race_cancel", args=[job.pk])
    assert client.get(url).status_code == 403  # not the submitter, not staff
    assert client.post(url).status_code == 403
    client.force_login(admin_user)
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Yes, cancel the race" in confirm.content.decode()
    job.refresh_from_db()
    assert job.status == "running"  # asking changes nothing
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(url).status_code == 403
    response = client.post(url, follow=True)
    job.refresh_from_db()
    assert job.status == "cancelled"
    body = response.content.decode()
    assert "Race cancelled" in body and "kept below" not in body
    assert "kept in the terminals" in body
    # A second cancel changes nothing and says so.
    again = client.post(url, follow=True)
    assert "already ended" in again.content.decode()


def test_the_submitter_may_cancel_from_the_session(client, settings):
    settings.ARENA_JOB_RATE_LIMIT = 0
    client.post(reverse("home"), {"repository_url": "https://github.com/acme/mine"})
    mine = Job.objects.get(repository_name="acme/mine")
    page = client.get(reverse("race_detail", args=[mine.pk])).content.decode()
    assert "Cancel race" in page
    client.post(reverse("race_cancel", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.status == "cancelled"
    other = make_running_race("acme/theirs")
    assert client.post(reverse("race_cancel", args=[other.pk])).status_code == 403
    other.refresh_from_db()
    assert other.status == "running"


def test_full_log_is_plain_text(client):
    job = make_race(output=HOSTILE)
    response = client.get(reverse("race_output_text", args=[job.pk, "elide"]))
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == HOSTILE
    assert client.get(reverse("race_output_text", args=[job.pk, "bogus"])).status_code == 404


def test_compacted_output_is_shown_and_polled(client):
    from jobs.storage.outputs import compact_result

    job = make_race(output="compressed log line\n")
    for result in job.results.all():
        compact_result(result.pk)
    content = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert "compressed log line" in content
    body = client.get(
        reverse("race_poll", args=[job.pk]), {"elide": 11, "standard": 20}
    ).content.decode()
    assert "log line" in body and "compressed log" not in body


def test_race_page_and_poll_use_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    job = make_race(output="x" * 1000, iterations=3)
    with django_assert_max_num_queries(4):
        client.get(reverse("race_detail", args=[job.pk]))
    running = make_running_race(output="y" * 100)
    # A poll with new output: one query (state, job and both sides' new text together).
    with django_assert_max_num_queries(1):
        news = client.get(reverse("race_poll", args=[running.pk]), {"elide": 5, "standard": 5})
    assert news.status_code == 200 and "y" * 95 in news.content.decode()


def test_a_queued_race_says_when_no_worker_will_take_it(client):
    from django.utils import timezone

    from workers.models import Worker

    job = Job.objects.create(repository_url="https://github.com/a/b", repository_name="a/b")
    page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert "No worker is running right now" in page
    Worker.objects.create(id="w1", hostname="h", last_heartbeat=timezone.now())
    page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert "No worker is running" not in page
    workers = client.get(reverse("worker_list")).content.decode()
    assert "1 queued" in workers and "running 0 of 2 races" in workers


@pytest.mark.parametrize("offset", ["-5", "abc", "9" * 30, "1e9"])
def test_odd_poll_offsets_are_harmless(client, offset):
    job = make_running_race(output="hello\n")
    response = client.get(reverse("race_poll", args=[job.pk]), {"elide": offset, "standard": 0})
    assert response.status_code == 200


def test_race_page_shows_cache_scenario_jdk_and_each_sides_phases(client):
    job = make_race("apache/commons-io", cache="cold", scenario="incremental")
    job.results.filter(build_type="standard").update(
        jdk="17 (/usr/lib/jvm/java-17-openjdk-amd64)",
        phases={"clone_ms": 160, "prepare_ms": 14_200, "runs_ms": [2_310, 2_250]},
    )
    page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert "cold: downloads are part of the measured time" in page
    assert "Incremental rebuild after a one-line change" in page
    assert ", JDK 17 (/usr/lib/jvm/java-17-openjdk-amd64)" in page
    assert "clone 0.16 s · prepare 14.20 s (not measured) · measured 2.31 s 2.25 s" in page


def test_race_page_shows_what_each_measured_run_downloaded(client):
    job = make_race("apache/commons-io", cache="warm")
    job.results.filter(build_type="standard").update(
        phases={"clone_ms": 160, "prepare_ms": 14_200, "runs_ms": [2_310, 2_250],
                "downloads": [0, 0]},
    )  # fmt: skip
    job.results.filter(build_type="elide").update(
        phases={"clone_ms": 160, "prepare_ms": 9_000, "runs_ms": [1_900], "downloads": [None]},
    )
    page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert "measured 2.31 s 2.25 s · artifacts downloaded 0 0</span>" in page
    assert "measured 1.90 s · artifacts downloaded \u2013</span>" in page  # Elide does not say


def test_a_not_comparable_race_says_how_the_jars_differ(client):
    job = make_race("apache/commons-io")
    reason = (
        "1 classes compiled for another Java level (e.g. p/Hello.class: class-file version 52 "
        "in the standard build, 61 in Elide's)"
    )
    parity = {"difference": 1.0, "standardOnly": 0, "elideOnly": 0, "examples": [],
              "versionMismatches": 1, "resourceDifferences": 0, "reason": reason}  # fmt: skip
    Job.objects.filter(pk=job.pk).update(
        verdict="not_comparable", winner=None, speedup=None, parity=parity
    )
    page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert "class-file version 52 in the standard build, 61 in Elide&#x27;s). Kept off" in page


WIDE_OUTPUT = "caf\u00e9 \u2192 ok\n\U0001f514 Gr\u00fc\u00dfe, \u4e16\u754c\n" * 3


def _next_offsets(body):
    return {side: int(re.search(rf"{side}=(\d+)", body).group(1)) for side in ("elide", "standard")}


def test_poll_positions_are_utf8_bytes_and_never_split_a_character(client, monkeypatch):
    """Cut every few bytes, a multi-byte text arrives whole and in order: the poll's positions
    are bytes, a piece's end never splits a character, and the last poll stops polling."""
    monkeypatch.setattr("jobs.live.poll.MAX_CHUNK_BYTES", 5)
    job = make_race(output=WIDE_OUTPUT)
    url = reverse("race_poll", args=[job.pk])
    total = len(WIDE_OUTPUT.encode())
    received, offsets, statuses = "", {"elide": 0, "standard": total}, []
    for _ in range(total):
        response = client.get(url, offsets, HTTP_HX_REQUEST="true")
        statuses.append(response.status_code)
        body = response.content.decode()
        chunk = re.search(r'beforeend:#output-elide">([^<]*)</div>', body)
        received += chunk.group(1) if chunk else ""
        if response.status_code == 286:
            break
        following = _next_offsets(body)
        assert offsets["elide"] < following["elide"] <= total  # always forward, within the text
        offsets = following
    assert statuses[-1] == 286 and received == html.escape(WIDE_OUTPUT, quote=False)


# Inside the 2-byte e-acute, the 3-byte arrow and the 4-byte bell.
@pytest.mark.parametrize("inside", [4, 7, 15])
def test_a_position_inside_a_character_starts_at_the_next_one(client, inside):
    job = make_running_race(output=WIDE_OUTPUT)
    response = client.get(reverse("race_poll", args=[job.pk]), {"elide": inside, "standard": 0})
    assert response.status_code == 200
    body = response.content.decode()
    text = html.unescape(re.search(r'beforeend:#output-elide">([^<]*)</div>', body).group(1))
    data = WIDE_OUTPUT.encode()
    skipped = next(n for n in range(4) if data[inside + n] & 0xC0 != 0x80)
    assert text == data[inside + skipped :].decode()
    assert _next_offsets(body)["elide"] == len(data)


def test_the_page_tail_and_its_poll_meet_at_a_byte_position(client, monkeypatch):
    """The page shows the last PAGE_OUTPUT_BYTES bytes, from the first whole character on;
    its poller goes on from the text's end, and output appended later arrives whole."""
    monkeypatch.setattr("jobs.views.race.PAGE_OUTPUT_BYTES", 10)
    job = make_running_race(output=WIDE_OUTPUT)
    page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    poll_url = re.search(r'hx-get="([^"]+/poll\?[^"]+)"', page).group(1).replace("&amp;", "&")
    data = WIDE_OUTPUT.encode()
    assert f"elide={len(data)}" in poll_url
    tail = data[-10:]
    shown = tail[next(n for n in range(4) if tail[n] & 0xC0 != 0x80) :].decode()
    assert html.escape(shown, quote=False) in page
    append_output(job, "elide", "\u00e9t\u00e9\n")
    body = client.get(poll_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'beforeend:#output-elide">\u00e9t\u00e9\n</div>' in body
    assert _next_offsets(body)["elide"] == len(data) + len("\u00e9t\u00e9\n".encode())
