"""axe-core (WCAG 2.1 A/AA) on every page at 1280 and 375 px, the admin included: nothing
serious or critical. axe-core comes from the npm registry, pinned by package-lock.json
(`make test` runs `npm ci`), and is injected by the test. At 375 px no page scrolls sideways.
"""

import pytest

from tests.factories import make_race, make_running_race
from tests.support import PROJECT_DIR
from tests.system.test_browser import browser  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = PROJECT_DIR / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_problems(page):
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:3])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.slow
def test_no_serious_accessibility_problem_on_any_page_at_both_widths(
    browser,  # noqa: F811
    live_server,
    settings,
    django_user_model,
):
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make test` (it runs `npm ci`)")
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    finished = make_race("spring/petclinic", output="[INFO] BUILD SUCCESS\n")
    make_race("spring/petclinic", elide_ms=21_000, standard_status="failure")
    running = make_running_race("acme/live", output="compiling\n")
    void = make_race(
        "acme/void",
        elide_status="failure",
        elide_error_kind="infrastructure",
        elide_error="fatal: could not read Username for 'https://github.com'\n" * 20,
    )
    django_user_model.objects.create_superuser("admin", "admin@example.com", "pw-for-tests")
    pages = [
        "/",
        "/leaderboard/",
        "/jobs/",
        "/jobs/?q=petclinic",
        f"/jobs/{finished.pk}/",
        f"/jobs/{running.pk}/",
        f"/jobs/{void.pk}/",
        f"/admin/jobs/job/{void.pk}/change/",
        f"/jobs/{running.pk}/cancel",
        "/workers/",
        "/repos/spring/petclinic/",
        "/kiosk/",
        "/jobs/no-such-race/",
        "/admin/",
        "/admin/jobs/job/",
        f"/admin/jobs/job/{finished.pk}/change/",
        "/admin/workers/worker/",
    ]
    problems = []
    for width in (1280, 375):
        context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        page = context.new_page()
        page.goto(live_server.url + "/admin/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "pw-for-tests")
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")
        for path in pages:
            response = page.goto(live_server.url + path)
            expected = 404 if "no-such" in path else 200
            assert response.status == expected, f"{path}: {response.status}"
            problems += [f"{width}px {path}: {problem}" for problem in axe_problems(page)]
            if width == 375 and not path.startswith(("/admin/", "/kiosk/")):
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > 375:
                    problems.append(f"375px {path}: {scroll}px wide (scrolls sideways)")
        context.close()
    assert problems == [], "\n".join(problems)
