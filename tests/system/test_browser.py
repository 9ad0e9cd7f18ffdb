"""The pages in a real browser: Debian's Chromium driven by Playwright against a live server.

Checks what only a browser can: htmx polling that updates the race page to the end without a
reload, the replay player, the leaderboard's chart and live filters, cancel, no console
errors (which includes Content-Security-Policy violations), and the layout at 375 px.
Screenshots of the main pages are written to test-artifacts/.
"""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db.models import TextField, Value
from django.db.models.functions import Concat
from django.utils import timezone

from jobs.models import BuildResult, Job
from tests.factories import make_race, make_running_race
from tests.repos import make_git_repo, maven_project_files
from tests.support import PROJECT_DIR, require_tool
from tests.toolchains import with_jar

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = PROJECT_DIR / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    require_tool(CHROMIUM, "browser tests drive Debian's Chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are ordinary blocking calls. Set only while these tests run, so
    # no other test (nor the processes it starts) inherits it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def page(browser, live_server, settings):
    settings.ARENA_JOB_RATE_LIMIT = 0
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if unexpected_error(msg) else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.base = live_server.url
    page.console_errors = errors
    yield page
    context.close()
    assert errors == [], f"browser console errors: {errors}"


def unexpected_error(message):
    """A console error, except Chromium's note on the inline URL check's 400 (a refused URL)."""
    if message.type != "error":
        return False
    refused_url_check = "/validate/repository" in (message.location or {}).get("url", "")
    return not (refused_url_check and "status of 400" in message.text)


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def append_output(job, build_type, text):
    BuildResult.objects.filter(job=job, build_type=build_type).update(
        output=Concat("output", Value(text), output_field=TextField())
    )


def test_home_suggestions_inline_validation_and_submit(page):
    page.goto(page.base + "/")
    field = page.locator("#id_repository_url")
    page.locator("a.suggestion").first.click()
    assert field.input_value().startswith("https://github.com/")
    field.fill("http://example.com/x")
    page.locator("#repository-url-errors").get_by_text("Only https://").wait_for()
    screenshot(page, "home")
    field.fill("https://github.com/google/gson")
    page.get_by_role("button", name="Start the race").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    assert page.locator("#race-status").inner_text() == "Queued"
    assert Job.objects.get().repository_name == "google/gson"


def test_live_race_page_updates_to_the_end_without_reloading(page):
    job = make_running_race("acme/live", output="[INFO] Scanning for projects...\n")
    page.goto(f"{page.base}/jobs/{job.pk}/")
    page.evaluate("window.notReloaded = true")
    elide_terminal = page.locator("#output-elide")
    assert "Scanning for projects" in elide_terminal.inner_text()
    page.locator("#side-head-elide .timer").wait_for()

    append_output(job, "elide", "\x1b[1;32mcompiling\x1b[0m <b>not bold</b>\n")
    append_output(job, "standard", "[INFO] Building hello 1.0\n")
    page.locator("#output-elide .ansi-fg2", has_text="compiling").wait_for()
    page.locator("#output-standard", has_text="Building hello").wait_for()
    assert "<b>not bold</b>" in elide_terminal.inner_text()
    screenshot(page, "race-running")

    append_output(job, "elide", "🔔 BUILD COMPLETE 🔔\nStatus: SUCCESS\n")
    BuildResult.objects.filter(job=job, build_type="elide").update(
        status="success", duration_ms=12_340, bell_rung=True, exit_code=0,
        run_times_ms=[12_300, 12_340, 12_380],
    )  # fmt: skip
    page.locator("#side-head-elide .bell.rung").wait_for()
    page.locator("#side-head-elide", has_text="12.34 s").wait_for()

    append_output(job, "standard", "BUILD SUCCESS\n")
    BuildResult.objects.filter(job=job, build_type="standard").update(
        status="success", duration_ms=29_616, bell_rung=True, exit_code=0,
        run_times_ms=[29_500, 29_616, 29_700],
    )  # fmt: skip
    job.refresh_from_db()
    job.summarize()  # three runs a side: a verdict with its interval, as the recorder stores it
    Job.objects.filter(pk=job.pk).update(
        status="completed", completed_at=timezone.now(), **job.verdict_values()
    )
    banner = page.locator(".winner-banner")
    banner.wait_for()
    assert "Elide wins" in banner.inner_text() and "2.40" in banner.inner_text()
    assert page.locator("#race-status").inner_text() == "Completed"
    assert page.locator("#race-actions button").count() == 0  # no cancel after the end
    assert page.evaluate("window.notReloaded") is True

    # Polling stopped (HTTP 286): no more requests to the poll endpoint.
    polls = []
    page.on(
        "request", lambda request: polls.append(request.url) if "/poll" in request.url else None
    )
    page.wait_for_timeout(2500)
    assert polls == []
    screenshot(page, "race-finished")


def test_replay_plays_both_terminals_with_the_recorded_timing(page):
    elide_output = "first\nsecond\nthird\n"
    job = make_race("acme/replay", output=elide_output, timing="0 0\n6 700\n13 1400\n")
    page.goto(f"{page.base}/jobs/{job.pk}/")
    replay = page.locator("#replay")
    replay.wait_for()  # shown by race.js
    started = time.monotonic()
    replay.get_by_role("button", name="\u25b6 1\u00d7").click()
    page.wait_for_timeout(300)
    early = page.locator("#output-elide").inner_text()
    assert early.startswith("first") and "third" not in early
    page.locator(".replay-clock", has_text="Replay finished").wait_for(timeout=20_000)
    real_time = time.monotonic() - started
    assert page.locator("#output-elide").inner_text() == elide_output
    assert page.locator("#output-standard").inner_text() == elide_output
    assert real_time >= 1.4  # 1x is real time: the race's output spans 1.4 s
    # No speed plays a race in less than its real time when it lasted under MIN_REPLAY_MS: 16x
    # restarts the replay and still takes the race's 1.4 s (a lower bound, so load cannot fail it).
    started = time.monotonic()
    replay.get_by_role("button", name="\u25b6 16\u00d7").click()
    page.locator(".replay-clock", has_text="(16\u00d7)").wait_for(timeout=20_000)
    page.locator(".replay-clock", has_text="Replay finished").wait_for(timeout=20_000)
    assert time.monotonic() - started >= 1.3
    assert page.locator("#output-elide").inner_text() == elide_output


def test_leaderboard_chart_filters_and_small_screens(page):
    from django.core.management import call_command
    from playwright.sync_api import expect

    call_command("seed_mock_data", verbosity=0)
    # Three repositories: enough for a headline (ARENA_HEADLINE_MIN_REPOSITORIES).
    for name in ("google/guava", "acme/one", "acme/two"):
        make_race(name, elide_ms=50_000, standard_ms=100_000, iterations=3)
    page.goto(page.base + "/leaderboard/")
    assert page.locator("svg.chart-wide rect").count() == 9
    assert page.locator(".ranking-table tbody tr").count() == 3  # demo data only when asked
    assert "Elide builds 2.00\u00d7 faster" in page.locator(".headline").inner_text()
    page.locator("#id_include_demo").check()
    expect(page.locator(".ranking-table tbody tr")).to_have_count(8)
    assert "include_demo=on" in page.url
    screenshot(page, "leaderboard")

    page.locator("#id_q").fill("guava")
    expect(page.locator(".ranking-table tbody tr")).to_have_count(2)
    assert "q=guava" in page.url
    assert "spring-petclinic" not in page.locator(".ranking-table").inner_text()

    page.locator("#id_include_demo").uncheck()
    expect(page.locator(".ranking-table tbody tr")).to_have_count(1)
    csv_link = page.get_by_role("link", name="CSV")
    assert "q=guava" in csv_link.get_attribute("href")

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(page.base + "/leaderboard/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page is {width}px wide at 375px"
    # All the chart's bars show on a phone, as horizontal bars.
    assert page.locator("svg.chart-rows").is_visible()
    assert page.locator("svg.chart-wide").is_hidden()
    assert page.locator("svg.chart-rows rect").count() == 9
    screenshot(page, "leaderboard-375")


def test_pages_fit_a_phone(page):
    job = make_race("acme/phone", output="[INFO] BUILD SUCCESS\n" * 20)
    page.set_viewport_size({"width": 375, "height": 812})
    for name, path in (
        ("home-375", "/"),
        ("race-375", f"/jobs/{job.pk}/"),
        ("jobs-375", "/jobs/"),
        ("workers-375", "/workers/"),
    ):
        page.goto(page.base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width}px wide at 375px"
        screenshot(page, name)


def test_cancel_asks_for_confirmation_and_only_the_submitter_sees_it(page):
    stranger = make_running_race("acme/theirs", output="working...\n")
    page.goto(f"{page.base}/jobs/{stranger.pk}/")
    assert page.get_by_role("link", name="Cancel race…").count() == 0
    page.goto(page.base + "/")
    page.locator("#id_repository_url").fill("https://github.com/acme/mine")
    page.get_by_role("button", name="Start the race").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    job = Job.objects.get(repository_name="acme/mine")
    page.get_by_role("link", name="Cancel race…").click()
    page.get_by_role("link", name="No, keep it running").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    job.refresh_from_db()
    assert job.status == "queued"
    page.get_by_role("link", name="Cancel race…").click()
    page.get_by_role("button", name="Yes, cancel the race").click()
    page.get_by_text("Race cancelled.").wait_for()
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert page.locator("#race-status").inner_text() == "Cancelled"
    assert page.get_by_role("link", name="Cancel race…").count() == 0
    stranger.refresh_from_db()
    assert stranger.status == "running"


def test_jobs_and_workers_pages(page):
    from workers.models import Worker

    make_race("acme/listed")
    Worker.objects.create(id="w-1", hostname="box", current_load=1, last_heartbeat=timezone.now())
    page.goto(page.base + "/jobs/")
    page.get_by_text("acme/listed").wait_for()
    screenshot(page, "jobs")
    page.locator("#id_status").select_option("running")
    page.get_by_text("No races with that status.").wait_for()
    assert "status=running" in page.url
    page.goto(page.base + "/workers/")
    page.get_by_text("w-1").wait_for()
    screenshot(page, "workers")


def _recording_available():
    try:
        import workers.recording  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
def test_a_race_started_from_the_form_runs_on_a_worker_to_the_end(
    page, subprocess_env, tmp_path, settings
):
    """The whole path: form, queue, a real `run_worker` process, live page, winner."""
    if not _recording_available():
        pytest.skip("workers.recording (the engine's ORM glue) is not available")
    require_tool("git")
    settings.ARENA_ALLOW_LOCAL_REPOS = True
    repo = make_git_repo(tmp_path / "fixture-repo", maven_project_files())

    page.goto(page.base + "/")
    page.locator("#id_repository_url").fill(str(repo))
    page.get_by_role("button", name="Start the race").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    job = Job.objects.get()
    # The operator's fast recipe (admin-only fields), set while the race is queued.
    Job.objects.filter(pk=job.pk).update(
        elide_cmd=["sh", "-c", with_jar("echo compiling elide; sleep 0.3; echo BUILD SUCCESS")],
        standard_cmd=[
            "sh",
            "-c",
            with_jar("echo compiling standard; sleep 1.2; echo BUILD SUCCESS"),
        ],
    )
    page.evaluate("window.notReloaded = true")

    log = Path(tmp_path / "worker.log").open("w")  # noqa: SIM115 (closed in finally)
    worker = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "manage.py"), "run_worker", "--worker-id", "browser"],
        env={**subprocess_env, "ARENA_ALLOW_LOCAL_REPOS": "1"},
        cwd=PROJECT_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        page.locator("#output-standard", has_text="compiling standard").wait_for(timeout=60_000)
        banner = page.locator(".winner-banner")
        banner.wait_for(timeout=90_000)
        assert "Elide wins" in banner.inner_text()
        assert page.locator("#race-status").inner_text() == "Completed"
        assert "BUILD SUCCESS" in page.locator("#output-elide").inner_text()
        assert "BUILD SUCCESS" in page.locator("#output-standard").inner_text()
        assert page.locator("#side-head-standard .bell.rung").count() == 1
        assert page.evaluate("window.notReloaded") is True
        screenshot(page, "race-worker-finished")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
    job.refresh_from_db()
    assert job.status == "completed" and job.winner == "elide", (
        job.error + Path(tmp_path / "worker.log").read_text()
    )


def test_pages_work_without_javascript(browser, live_server, settings):
    settings.ARENA_JOB_RATE_LIMIT = 0
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        page.locator("a.suggestion").first.click()
        assert "repository_url=https" in page.url
        assert page.locator("#id_repository_url").input_value().startswith("https://github.com/")
        page.get_by_role("button", name="Start the race").click()
        page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
        job = Job.objects.get()
        running = make_running_race("acme/nojs", output="first line\n")
        page.goto(f"{live_server.url}/jobs/{running.pk}/")
        assert "first line" in page.locator("#output-elide").inner_text()
        append_output(running, "elide", "second line\n")
        page.reload()
        assert "second line" in page.locator("#output-elide").inner_text()
        assert page.locator("#replay").is_hidden()
        assert page.get_by_role("link", name="Cancel race…").count() == 0  # not ours
        page.goto(f"{live_server.url}/jobs/{job.pk}/")
        page.get_by_role("link", name="Cancel race…").click()
        page.get_by_role("button", name="Yes, cancel the race").click()
        page.get_by_text("Race cancelled.").wait_for()
        running.refresh_from_db()
        job.refresh_from_db()
        assert (running.status, job.status) == ("running", "cancelled")
    finally:
        context.close()
