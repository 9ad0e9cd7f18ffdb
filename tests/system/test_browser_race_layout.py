"""The race page leads with its result: in Chromium at 1280x800 and 375x740, for every state,
the verdict (or, while the race runs, both sides' clocks) is on the first screen, and each
terminal keeps a bounded height however long its output. A void race names the side that did
not run "not run", never "failed"."""

import pytest
from django.utils import timezone

from jobs.models import BuildResult, Job
from tests.factories import make_race, make_running_race
from tests.system.test_browser import ARTIFACTS, browser  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": (1280, 800), "phone": (375, 740)}
LONG_OUTPUT = "".join(f"[INFO] Compiling module {n} of 400\n" for n in range(400))
GIT_STDERR = (
    "git clone failed (exit 128): Cloning into '/work/checkout'...\n"
    "fatal: could not read Username for 'https://github.com': terminal prompts disabled\n"
)


def _update(job, **fields):
    Job.objects.filter(pk=job.pk).update(**fields)
    return job


def live():
    job = make_running_race("acme/live", output=LONG_OUTPUT)
    BuildResult.objects.filter(job=job).update(phase="building (run 1/1)")
    return job


def win():
    return make_race("acme/win", iterations=3, output=LONG_OUTPUT)


def forfeit():
    return make_race("acme/forfeit", standard_status="failure", output=LONG_OUTPUT)


def tie():
    return make_race(
        "acme/tie", elide_ms=60_000, standard_ms=60_000, iterations=3, output=LONG_OUTPUT
    )


def inconclusive():
    job = make_race("acme/close", elide_ms=57_000, output=LONG_OUTPUT)
    return _update(
        job,
        verdict="inconclusive",
        winner=None,
        speedup=1.05,
        speedup_ci_low=0.9,
        speedup_ci_high=1.2,
        speedup_ci_level=0.95,
    )


def both_failed():
    return make_race(
        "acme/broken", elide_status="failure", standard_status="failure", output=LONG_OUTPUT
    )


def void():
    """Elide is not installed on the worker; the standard side never started (the engine
    stores the verdict: a pending side has none to judge from)."""
    reason = "elide is not installed on this worker"
    job = make_race(
        "acme/void",
        elide_status="failure",
        elide_error_kind="infrastructure",
        elide_error=reason,
        standard_status="pending",
        output=LONG_OUTPUT,
    )
    BuildResult.objects.filter(job=job, build_type="standard").update(
        started_at=None, output="", bell_rung=False, exit_code=None
    )
    return _update(job, verdict="void", void_reason=reason)


def clone_failed():
    job = make_race("acme/private", status="failed", elide_status="pending")
    BuildResult.objects.filter(job=job).update(
        status="pending", started_at=None, output="", bell_rung=False, exit_code=None
    )
    return _update(
        job, verdict="void", void_reason=GIT_STDERR, error=GIT_STDERR, completed_at=timezone.now()
    )


def not_comparable():
    job = make_race("acme/different", output=LONG_OUTPUT)
    parity = {"difference": 0.4, "standardOnly": 40, "elideOnly": 0, "examples": ["a.B"]}
    return _update(job, verdict="not_comparable", winner=None, speedup=None, parity=parity)


STATES = [live, win, forfeit, tie, inconclusive, both_failed, void, clone_failed, not_comparable]


@pytest.fixture(params=WIDTHS.values(), ids=WIDTHS.keys())
def screen(request, browser, live_server):  # noqa: F811
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.base = live_server.url
    page.width, page.height = width, height
    yield page
    context.close()


# A select's width minus what its chosen option's label needs (its text in the select's font,
# its padding and the arrow): negative when the label is cut off.
LABEL_ROOM = """el => {
  const probe = document.createElement("span");
  probe.style.font = getComputedStyle(el).font;
  probe.style.whiteSpace = "pre";
  probe.style.position = "absolute";
  probe.textContent = el.options[el.selectedIndex].text;
  document.body.appendChild(probe);
  const needed = probe.getBoundingClientRect().width;
  probe.remove();
  return el.clientWidth - needed - 40;
}"""


def _bottom(locator):
    box = locator.bounding_box()
    return box["y"] + box["height"]


@pytest.mark.parametrize("make", STATES, ids=[make.__name__ for make in STATES])
def test_the_result_or_the_live_state_is_on_the_first_screen(screen, make):
    job = make()
    screen.goto(f"{screen.base}/jobs/{job.pk}/")
    if job.status == "running":
        leads = [screen.locator(f"#side-head-{side} .timer") for side in ("elide", "standard")]
    else:
        leads = [screen.locator("#summary-title")]
    for lead in leads:
        assert lead.is_visible()
        assert _bottom(lead) <= screen.height, f"{lead} ends {_bottom(lead)} px down"
    ARTIFACTS.mkdir(exist_ok=True)  # the first screen, for review
    screen.screenshot(path=str(ARTIFACTS / f"race-first-screen-{make.__name__}-{screen.width}.png"))
    for terminal in screen.locator(".terminal").all():
        assert terminal.bounding_box()["height"] <= 0.6 * screen.height
    if make in (void, clone_failed):
        assert screen.locator("#summary-title").inner_text() == "Void: not a result"
        for side in ("elide", "standard"):
            shown = screen.locator(f"#side-head-{side}").inner_text()
            shown += screen.locator(f".times-table .row-{side}").inner_text()
            assert "fail" not in shown.lower() and "stopped" not in shown.lower(), shown
            assert "not run" in shown.lower()
    if make is clone_failed:
        # git's message is detail in a preformatted block, never a heading.
        assert "terminal prompts disabled" in screen.locator("pre.reason-detail").inner_text()
        assert "fatal" not in screen.locator("h1, h2").all_inner_texts().__str__()


def test_a_terminal_follows_new_output_unless_the_reader_scrolled_up(screen):
    job = live()
    screen.goto(f"{screen.base}/jobs/{job.pk}/")
    elide, standard = screen.locator("#output-elide"), screen.locator("#output-standard")
    at_bottom = "el => el.scrollHeight - el.scrollTop - el.clientHeight < 2"
    assert elide.evaluate(at_bottom) and standard.evaluate(at_bottom)
    elide.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    for result in BuildResult.objects.filter(job=job):
        result.output += "".join(f"[INFO] more {n}\n" for n in range(200))
        result.save(update_fields=["output"])
    screen.wait_for_function(
        "() => document.getElementById('output-standard').innerText.includes('more 199')"
    )
    screen.wait_for_function(
        "el => el.scrollHeight - el.scrollTop - el.clientHeight < 2", arg=standard.element_handle()
    )
    assert elide.evaluate("el => el.scrollTop") == 0  # the reader's place is kept


def test_the_leaderboard_leads_with_its_headline_and_its_wide_table_scrolls(screen, settings):
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    for n in range(3):
        make_race(f"acme/repository-with-a-long-name-{n}", iterations=3, elide_ms=20_000 + n)
    screen.goto(f"{screen.base}/leaderboard/")
    headline = screen.locator(".headline-statement")
    assert _bottom(headline) <= screen.height  # not a first screen of filters only
    assert headline.bounding_box()["y"] < screen.locator("form.filters").bounding_box()["y"]
    size = screen.evaluate(
        "getComputedStyle(document.querySelector('.headline-statement')).fontSize"
    )
    assert float(size.removesuffix("px")) >= 21  # it leads: larger than the 16 px body text
    if screen.width == 1280:  # no chosen option's label cut off (a phone has no room for it)
        for select in screen.locator("form.filters select").all():
            assert select.evaluate(LABEL_ROOM) >= 0, select.evaluate("el => el.value")
    ARTIFACTS.mkdir(exist_ok=True)
    screen.screenshot(path=str(ARTIFACTS / f"leaderboard-first-screen-{screen.width}.png"))
    if screen.width == 1280:
        repos = screen.locator(".repos-table")
        headers = repos.locator("thead th").all_text_contents()
        assert headers[1:4] == ["Races", "Median speedup", "Interval of the median"]
        # Wider than its box, the table scrolls inside it and its first column stays put.
        wrap = repos.locator("xpath=..")
        assert wrap.evaluate("el => getComputedStyle(el).overflowX") == "auto"
        first = repos.locator("tbody th").first
        assert first.evaluate("el => getComputedStyle(el).position") == "sticky"


def _overlap(a, b):
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_the_booth_shows_a_qr_code_and_its_chart_labels_never_overlap(browser, live_server):  # noqa: F811
    for n, elide_ms in enumerate((10_000, 20_000, 30_000, 45_000, 60_000)):
        job = make_race(f"acme/chart-{n}", elide_ms=elide_ms, iterations=3)
    _update(job, completed_at=timezone.now())  # just finished: the booth holds its verdict
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.goto(f"{live_server.url}/kiosk/")
    assert page.locator("[data-slide]").get_attribute("data-slide") == "result"
    assert "acme/chart-4" in page.locator(".kiosk-title").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "kiosk-held-result-1920.png"))
    qr = page.locator(".kiosk-qr svg").bounding_box()
    assert qr["width"] >= 96 and qr["y"] + qr["height"] <= 1080
    assert "localhost" in page.locator(".kiosk-address").inner_text()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/leaderboard/")  # the booth's chart, the same SVG
    chart = page.locator("svg.chart-wide")
    title = chart.locator("text.axis-title").first.bounding_box()
    labels = [label.bounding_box() for label in chart.locator("text.bar-label").all()]
    ticks = chart.locator("text.tick").all_text_contents()
    context.close()
    assert labels and not any(_overlap(title, label) for label in labels)
    assert ticks[0] == "0" and len(ticks) >= 2  # the y axis has its counts
