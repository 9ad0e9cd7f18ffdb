"""Error pages and honest states in Chromium (fixtures of tests/system/test_browser.py)."""

import pytest

from jobs.models import BuildResult
from tests.factories import make_race, make_running_race
from tests.system.test_browser import browser, page, screenshot  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_404_page_is_styled_and_leads_back(page):  # noqa: F811
    response = page.goto(page.base + "/jobs/no-such-race/")
    assert response.status == 404
    page.console_errors.clear()  # Chromium reports the 404 itself as a console error
    assert page.get_by_role("heading", level=1).inner_text() == "There is nothing here"
    assert "No race with that id." in page.locator("main").inner_text()
    screenshot(page, "404")
    page.get_by_role("link", name="See the leaderboard").click()
    page.wait_for_url("**/leaderboard/")


def test_failed_sides_and_phases_read_honestly(page):  # noqa: F811
    failed = make_race("acme/broken", elide_ms=41_000, standard_status="failure")
    page.goto(f"{page.base}/jobs/{failed.pk}/")
    standard = page.locator("#side-head-standard")
    assert "failed" in standard.locator(".side-time").inner_text()
    summary = page.locator("#race-summary").inner_text()
    # A forfeit, by its one name, and no measured speedup claimed.
    assert "Elide wins by forfeit" in summary and "faster" not in summary
    screenshot(page, "race-failed-side")
    cloning = make_running_race("acme/cloning")
    BuildResult.objects.filter(job=cloning).update(phase="cloning")
    page.goto(f"{page.base}/jobs/{cloning.pk}/")
    assert page.locator("#side-head-elide .side-state").inner_text() == "Cloning…"
    assert page.locator("#side-head-elide .timer").count() == 0
    BuildResult.objects.filter(job=cloning, build_type="elide").update(phase="building (run 1/1)")
    page.locator("#side-head-elide .timer").wait_for()  # the poll brings the new phase
    assert page.locator("#side-head-standard .side-state").inner_text() == "Cloning…"


def test_a_refused_submit_puts_focus_on_the_invalid_field(page):  # noqa: F811
    page.goto(page.base + "/")
    page.locator("#id_repository_url").fill("https://github.com:99999/o/r")
    page.locator("#id_ref").focus()
    page.get_by_role("button", name="Start the race").click()
    page.wait_for_load_state()
    page.console_errors.clear()  # the refused POST (400) and the inline check
    assert page.evaluate("document.activeElement.id") == "id_repository_url"
    assert "malformed" in page.locator("#repository-url-errors").inner_text()
