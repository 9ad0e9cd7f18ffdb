"""The repository page and its share image in Chromium (tests/system/test_browser.py fixtures)."""

import pytest

from tests.factories import make_race
from tests.system.test_browser import browser, page, screenshot  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_repository_page_from_the_leaderboard(page):  # noqa: F811
    for index in range(7):
        make_race("spring/petclinic", elide_ms=20_000, standard_ms=30_000 + index * 4000)
    make_race("spring/petclinic", standard_status="failure")
    page.goto(page.base + "/leaderboard/")
    by_repository = page.locator("section[aria-labelledby=repos-title]")
    by_repository.get_by_role("link", name="spring/petclinic").click()
    page.wait_for_url("**/repos/spring/petclinic/")
    assert page.locator("h1").inner_text() == "spring/petclinic"
    assert page.locator(".trend-chart circle").count() == 7
    assert page.locator(".trend-chart .failed-mark").count() == 1
    assert "95% interval" in page.locator(".totals").inner_text()
    screenshot(page, "repository")
    card = page.locator('meta[property="og:image"]').get_attribute("content")
    response = page.request.get(card)
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "repository-375")
