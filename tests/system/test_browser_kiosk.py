"""Booth mode runs for minutes in Chromium without growing: JS heap and DOM nodes stay flat."""

import time

import pytest

from tests.factories import make_race, make_running_race
from tests.system.test_browser import browser, page, screenshot  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RUN_SECONDS = 170


def measure(page, cdp):  # noqa: F811
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["JSHeapUsedSize"], metrics["Nodes"]


@pytest.mark.slow
def test_kiosk_cycles_and_follows_a_race_for_minutes_without_growing(page, settings):  # noqa: F811
    settings.ARENA_KIOSK_SLIDE_SECONDS = 2
    settings.ARENA_KIOSK_POLL_SECONDS = 1
    settings.ARENA_KIOSK_HOLD_SECONDS = (
        0  # the hold has tests of its own (tests/jobs/views/test_kiosk.py)
    )
    for index in range(12):
        make_race(f"booth/r{index}", elide_ms=10_000, standard_ms=12_000 + index * 2000)
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(page.base + "/kiosk/")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    seen = set()
    started = time.monotonic()
    baseline = baseline_slide = None
    live = None
    while time.monotonic() - started < RUN_SECONDS:
        page.wait_for_timeout(1000)
        slide = page.locator("[data-slide]").get_attribute("data-slide")
        seen.add(slide)
        elapsed = time.monotonic() - started
        if baseline is None and elapsed > 20:
            baseline, baseline_slide = measure(page, cdp), slide
            screenshot(page, f"kiosk-{slide}")
        if live is None and elapsed > 60:
            live = make_running_race("booth/live", output="compiling\n")
        if live is not None and slide == "live" and "kiosk-live" not in seen:
            seen.add("kiosk-live")
            assert "booth/live" in page.locator(".kiosk-title").inner_text()
            screenshot(page, "kiosk-live")
            live.status = "completed"
            live.save()
    # Slides differ in size (a chart has more nodes than the headline): compare like with like.
    for _ in range(30):
        if page.locator("[data-slide]").get_attribute("data-slide") == baseline_slide:
            break
        page.wait_for_timeout(500)
    heap, nodes = measure(page, cdp)
    assert {"headline", "chart", "recent", "live"} <= seen
    base_heap, base_nodes = baseline
    assert heap < base_heap * 1.25 + 512 * 1024, (base_heap, heap)
    assert nodes < base_nodes * 1.25 + 50, (base_nodes, nodes)
