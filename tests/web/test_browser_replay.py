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
    assert 2.9 < time.monotonic() - started < 4.5
    assert page.locator("#output-elide").inner_text() == output
    assert banner.is_visible() and page.locator("#side-head-elide .bell.rung").count() == 1
    assert page.evaluate("document.activeElement.dataset.speed") == "1"  # Stop went away
    assert page.locator("#replay-status").inner_text() == "Replay finished."
    # 16x shortens the silence: done in well under a second.
    started = time.monotonic()
    replay.get_by_role("button", name="\u25b6 16\u00d7").click()
    page.locator(".replay-clock", has_text="Replay finished").wait_for(timeout=5000)
    assert time.monotonic() - started < 1.0
