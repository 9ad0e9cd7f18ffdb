"""Replay in Chromium: real time at 1x, headers, bells and the result appear when they did."""

import time

import pytest

from tests.factories import make_race
from tests.system.test_browser import browser, page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_replay_at_1x_is_real_time_and_reveals_the_result_at_the_end(page):  # noqa: F811
    output = "compiling\nBUILD SUCCESS\n"
    # The second line came 3 s after the first: 1x waits the whole 3 s.
    job = make_race("acme/replay", output=output, timing="0 0\n10 3000\n")
    page.goto(f"{page.base}/jobs/{job.pk}/")
    replay = page.locator("#replay")
    replay.wait_for()
    replay_top = replay.bounding_box()["y"]
    assert replay_top < page.locator(".terminals").bounding_box()["y"]  # controls above
    assert "silences longer than 1.5 s are shortened" in replay.inner_text()
    banner = page.locator(".winner-banner")
    one = replay.get_by_role("button", name="\u25b6 1\u00d7")
    one.focus()
    page.keyboard.press("Enter")  # keyboard works
    started = time.monotonic()
    page.wait_for_timeout(2000)
    assert page.locator("#output-elide").inner_text() == "compiling\n"
    assert banner.is_hidden()  # the result is not known yet
    assert page.locator("#side-head-elide .bell.rung").count() == 0
    assert page.locator("#side-head-elide .side-time").inner_text().startswith("0:0")
    page.locator(".replay-clock", has_text="Replay finished").wait_for(timeout=5000)
    assert 2.9 < time.monotonic() - started < 8  # well under the 10 s minimum of longer races
    assert page.locator("#output-elide").inner_text() == output
    assert banner.is_visible() and page.locator("#side-head-elide .bell.rung").count() == 1
    assert page.evaluate("document.activeElement.dataset.speed") == "1"  # Stop went away
    assert page.locator("#replay-status").inner_text() == "Replay finished."
    # A race shorter than the 10 s minimum plays in real time at every speed.
    started = time.monotonic()
    replay.get_by_role("button", name="\u25b6 16\u00d7").click()
    assert page.locator("#replay-status").inner_text() == "Replay started at 16\u00d7."
    page.locator("#replay-status", has_text="Replay finished.").wait_for(timeout=6000)
    assert 2.9 < time.monotonic() - started < 8  # well under the 10 s minimum of longer races


def test_16x_never_plays_a_race_in_less_than_10_seconds(page):  # noqa: F811
    # A 90 s race with output every second (no silence to shorten): 16x would take 5.6 s.
    lines = [f"line {n}\n" for n in range(91)]
    output = "".join(lines)
    offsets = [len("".join(lines[:n])) for n in range(91)]
    timing = "".join(f"{offset} {n * 1000}\n" for n, offset in enumerate(offsets))
    job = make_race("acme/long", output=output, timing=timing)
    page.goto(f"{page.base}/jobs/{job.pk}/")
    page.locator("#replay").get_by_role("button", name="\u25b6 16\u00d7").click()
    started = time.monotonic()
    page.wait_for_timeout(2000)
    shown = page.locator(".replay-clock").inner_text()  # "0:18.0 (16x)": the recorded time shown
    elapsed = time.monotonic() - started
    minutes, seconds = shown.split(" ")[0].split(":")
    recorded_s = int(minutes) * 60 + float(seconds)
    # 90 s in 10 s is 9x: the recorded time shown grows 9 s a second, never 16.
    assert 0.8 * 9 * (elapsed - 0.3) <= recorded_s <= 9 * elapsed + 1, (shown, elapsed)
    assert page.locator("#race-summary").is_hidden()  # the result has not happened yet
    page.locator("#replay [data-stop]").click()
    assert page.locator("#race-summary").is_visible()


def test_the_side_clocks_count_each_run_from_zero(page):  # noqa: F811
    headers = [f"\n=== run {n}/3 ===\n" for n in (1, 2, 3)]
    output = "".join(headers) + "BUILD SUCCESS\n"
    offsets = [output.index(header) for header in headers] + [output.index("BUILD")]
    timing = "".join(f"{offset} {n * 1000}\n" for n, offset in enumerate(offsets))
    job = make_race("acme/runs", output=output, timing=timing, iterations=3)
    page.goto(f"{page.base}/jobs/{job.pk}/")
    page.locator("#replay").get_by_role("button", name="\u25b6 1\u00d7").click()
    page.wait_for_timeout(2500)  # half-way through run 3, 2.5 s after the race began
    state = page.locator("#side-head-elide .side-state").inner_text()
    clock = page.locator("#side-head-elide .side-time").inner_text()
    assert state == "Building (run 3/3)\u2026"
    assert clock.startswith("0:00."), clock  # run 3's own time, not the side's 2.5 s
    assert page.locator("#side-head-elide .phases").is_hidden()  # measured times come later
