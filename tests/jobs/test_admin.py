"""Every admin page and action, for a superuser; anonymous users are sent to the login page."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jobs.admin_support import CappedCountPaginator, format_ms
from jobs.models import BuildResult, Job
from jobs.storage.outputs import compact_result
from tests.factories import make_numbered_race
from workers.models import Worker, WorkerAssignment

XSS = "<script>alert('x')</script>"
# The read-only inlines still post their (empty) management forms.
NO_INLINE_FORMS = {
    "results-TOTAL_FORMS": "0",
    "results-INITIAL_FORMS": "0",
    "assignments-TOTAL_FORMS": "0",
    "assignments-INITIAL_FORMS": "0",
    "exclusions-TOTAL_FORMS": "0",
    "exclusions-INITIAL_FORMS": "0",
}


@pytest.fixture
def worker():
    return Worker.objects.create(id="w-1", hostname="host-1", last_heartbeat=timezone.now())


@pytest.fixture
def race(worker):
    return make_numbered_race(1, worker=worker, output=f"compiling\n{XSS}\nBUILD SUCCESS")


def admin_urls(race, worker):
    result = race.results.get(build_type="standard")
    assignment = race.assignments.get()
    return [
        reverse("admin:index"),
        reverse("admin:jobs_job_changelist"),
        reverse("admin:jobs_job_add"),
        reverse("admin:jobs_job_change", args=[race.pk]),
        reverse("admin:jobs_job_delete", args=[race.pk]),
        reverse("admin:jobs_job_history", args=[race.pk]),
        reverse("admin:jobs_buildresult_changelist"),
        reverse("admin:jobs_buildresult_change", args=[result.pk]),
        reverse("admin:jobs_buildresult_delete", args=[result.pk]),
        reverse("admin:workers_worker_changelist"),
        reverse("admin:workers_worker_change", args=[worker.pk]),
        reverse("admin:workers_worker_delete", args=[worker.pk]),
        reverse("admin:workers_workerassignment_changelist"),
        reverse("admin:workers_workerassignment_change", args=[assignment.pk]),
    ]


@pytest.mark.django_db
def test_every_page_renders_for_a_superuser(admin_client, race, worker):
    for url in admin_urls(race, worker):
        response = admin_client.get(url)
        assert response.status_code == 200, url


@pytest.mark.django_db
def test_anonymous_users_are_redirected_to_login(client, race, worker):
    for url in admin_urls(race, worker):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


@pytest.mark.django_db
def test_job_list_columns_filters_and_search(admin_client, race):
    make_numbered_race(2, status="queued")
    url = reverse("admin:jobs_job_changelist")
    page = admin_client.get(url).content.decode()
    assert "owner/repo1" in page and "owner/repo2" in page
    # Both durations, each kept on one line by non-breaking spaces.
    assert "45.00\u00a0s" in page and "1:18" in page  # m:ss above a minute, as every page
    assert "1.73\u00d7" in page  # the speedup to 2 decimals

    def listed(query):
        html = admin_client.get(url, query).content.decode()
        return {name for name in ("owner/repo1", "owner/repo2") if name in html}

    assert listed({"status__exact": "queued"}) == {"owner/repo2"}
    assert listed({"q": "repo1"}) == {"owner/repo1"}
    assert listed({"winner__exact": "elide"}) == {"owner/repo1"}
    today = timezone.now().date()
    assert listed({"created_at__gte": str(today - datetime.timedelta(days=7)),
                   "created_at__lt": str(today + datetime.timedelta(days=1))}) == {
        "owner/repo1", "owner/repo2",
    }  # fmt: skip
    assert listed({"created_at__gte": "2001-01-01", "created_at__lt": "2001-01-02"}) == set()
    for column in range(1, 8):  # sorting by each column works
        assert admin_client.get(url, {"o": str(column)}).status_code == 200
    # A malformed date is the admin's "bad filter" redirect, not a server error.
    assert admin_client.get(url, {"created_at__gte": "yesterday"}).status_code == 302


@pytest.mark.django_db
def test_job_list_queries_do_not_grow_with_rows(admin_client, worker):
    url = reverse("admin:jobs_job_changelist")
    make_numbered_race(0, worker=worker)
    admin_client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    for n in range(1, 60):
        make_numbered_race(n, worker=worker)
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(url).status_code == 200
    assert len(many) == len(few)
    assert len(many) <= 6


@pytest.mark.django_db
def test_result_output_is_shown_escaped(admin_client, race):
    page = admin_client.get(reverse("admin:jobs_job_change", args=[race.pk])).content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert XSS not in page
    result = race.results.get(build_type="standard")
    page = admin_client.get(reverse("admin:jobs_buildresult_change", args=[result.pk]))
    assert XSS not in page.content.decode()
    # A finished side's log compacted into the compressed column is still shown, escaped.
    assert compact_result(result.pk)
    assert BuildResult.objects.get(pk=result.pk).output is None
    for url in (
        reverse("admin:jobs_buildresult_change", args=[result.pk]),
        reverse("admin:jobs_job_change", args=[race.pk]),
    ):
        page = admin_client.get(url).content.decode()
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page and XSS not in page


@pytest.mark.django_db
def test_add_job_validates_the_url_and_fills_the_name(admin_client):
    url = reverse("admin:jobs_job_add")
    form = {"repository_url": "https://github.com/apache/commons-io.git", "ref": "",
            "mode": "sequential", "cache": "warm", "scenario": "clean",
            "iterations": "1", "warmups": "0", "timeout_seconds": "",
            "standard_cmd": '["sh", "-c", "echo hi"]', "elide_cmd": "null",
            **NO_INLINE_FORMS}  # fmt: skip
    response = admin_client.post(url, {**form, "repository_url": "ssh://github.com/a/b"})
    assert response.status_code == 200
    assert "Only https:// repository URLs are accepted" in response.content.decode()
    response = admin_client.post(url, {**form, "standard_cmd": '"mvn package"'})
    assert "Enter a JSON list of strings" in response.content.decode()
    assert Job.objects.count() == 0

    response = admin_client.post(url, form)
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.repository_url == "https://github.com/apache/commons-io"
    assert job.repository_name == "apache/commons-io"
    assert job.status == "queued"
    assert job.standard_cmd == ["sh", "-c", "echo hi"] and job.elide_cmd is None


@pytest.mark.django_db
def test_operator_commands_are_editable_on_an_existing_job(admin_client):
    job = make_numbered_race(3, status="queued")
    url = reverse("admin:jobs_job_change", args=[job.pk])
    response = admin_client.post(
        url,
        {"mode": "parallel", "iterations": "3", "warmups": "1", "timeout_seconds": "600",
         "cache": "cold", "scenario": "noop",
         "standard_cmd": "", "elide_cmd": '["elide", "build"]',
         **NO_INLINE_FORMS},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    job.refresh_from_db()
    assert (job.mode, job.iterations, job.warmups, job.timeout_seconds) == ("parallel", 3, 1, 600)
    assert job.elide_cmd == ["elide", "build"] and job.standard_cmd is None
    assert (job.cache, job.scenario) == ("cold", "noop")


@pytest.mark.django_db
def test_a_finished_races_measured_fields_are_read_only(admin_client):
    job = make_numbered_race(4)  # completed: 3 runs, sequential, warm, clean, no commands
    url = reverse("admin:jobs_job_change", args=[job.pk])
    page = admin_client.get(url).content.decode()
    for field in ("mode", "iterations", "warmups", "cache", "scenario", "elide_cmd"):
        assert f'name="{field}"' not in page  # shown, not offered as an input
    assert 'name="excluded_reason"' in page  # what an operator may still decide
    response = admin_client.post(
        url,
        {"mode": "parallel", "iterations": "9", "warmups": "3", "cache": "cold",
         "scenario": "noop", "elide_cmd": '["sh", "-c", "true"]', "excluded_reason": "",
         **NO_INLINE_FORMS},
    )  # fmt: skip
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.mode, job.iterations, job.warmups) == ("sequential", 3, 0)
    assert (job.cache, job.scenario, job.elide_cmd) == ("warm", "clean", None)


@pytest.mark.django_db
def test_output_blocks_take_the_keyboard_focus(admin_client, race):
    page = admin_client.get(reverse("admin:jobs_job_change", args=[race.pk])).content.decode()
    blocks = page.count('<pre class="build-output"')
    assert blocks == 2 and page.count('<pre class="build-output" tabindex="0"') == blocks


@pytest.mark.django_db
def test_an_admin_excludes_a_race_from_the_leaderboard_with_a_reason_kept_in_history(
    admin_client,
):
    from jobs.leaderboard.figures import totals
    from jobs.leaderboard.headline import headline
    from jobs.models import RaceExclusion

    job = make_numbered_race(4)
    assert totals()["races"] == 1 and headline()["races"] == 1
    url = reverse("admin:jobs_job_change", args=[job.pk])
    form = {"mode": "sequential", "cache": "warm", "scenario": "clean", "iterations": "1",
            "warmups": "0", "timeout_seconds": "", "standard_cmd": "", "elide_cmd": "",
            **NO_INLINE_FORMS}  # fmt: skip
    reason = "built on a laptop with a warm cache"
    response = admin_client.post(url, {**form, "excluded_reason": f"  {reason} "})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert totals()["races"] == 0 and headline()["races"] == 0
    page = admin_client.get(url).content.decode()
    assert reason in page and "leaderboard exclusion change" in page.lower()
    race_page = admin_client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert f"Excluded from the leaderboard: {reason}" in race_page
    admin_client.post(url, {**form, "excluded_reason": ""})
    assert totals()["races"] == 1
    history = list(RaceExclusion.objects.filter(job=job).order_by("id"))
    assert [(h.excluded, h.changed_by) for h in history] == [(True, "admin"), (False, "admin")]
    assert history[0].reason == reason and reason in history[1].reason


def run_action(client, changelist, action, ids):
    return client.post(
        reverse(changelist), {"action": action, "_selected_action": [str(i) for i in ids]}
    )


@pytest.mark.django_db
def test_cancel_action(admin_client, worker):
    queued = make_numbered_race(1, status="queued")
    running = make_numbered_race(2, status="running", worker=worker)
    done = make_numbered_race(3)
    response = run_action(
        admin_client, "admin:jobs_job_changelist", "cancel_selected",
        [queued.pk, running.pk, done.pk],
    )  # fmt: skip
    assert response.status_code == 302
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses == {queued.pk: "cancelled", running.pk: "cancelled", done.pk: "completed"}
    assert Job.objects.get(pk=queued.pk).completed_at is not None


@pytest.mark.django_db
def test_requeue_action(admin_client, worker):
    done = make_numbered_race(1, worker=worker)
    done.attempts = 2
    done.save()
    live = make_numbered_race(2, status="running", worker=worker)
    dead_worker = Worker.objects.create(
        id="w-dead", hostname="gone", last_heartbeat=timezone.now() - datetime.timedelta(hours=1)
    )
    stuck = make_numbered_race(3, status="running", worker=dead_worker)
    response = run_action(
        admin_client, "admin:jobs_job_changelist", "requeue_selected",
        [done.pk, live.pk, stuck.pk],
    )  # fmt: skip
    assert response.status_code == 302
    done.refresh_from_db()
    assert (done.status, done.worker_id, done.attempts, done.winner) == ("queued", None, 0, None)
    assert not done.results.exists()
    assert Job.objects.get(pk=live.pk).status == "running"  # on a live worker: refused
    stuck.refresh_from_db()
    assert stuck.status == "queued" and not stuck.results.exists()
    assert stuck.assignments.get().outcome == "requeued"
    messages = [m.message for m in response.wsgi_request._messages]
    assert any("Requeued 2 job(s)" in m for m in messages)
    assert any("cancel it first" in m for m in messages)


@pytest.mark.django_db
def test_delete_job_removes_results_and_assignments(admin_client, race):
    response = admin_client.post(reverse("admin:jobs_job_delete", args=[race.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Job.objects.exists()
    assert not BuildResult.objects.exists() and not WorkerAssignment.objects.exists()


@pytest.mark.django_db
def test_worker_list_actions_and_capacity(admin_client, worker):
    Worker.objects.create(
        id="w-old", hostname="h", last_heartbeat=timezone.now() - datetime.timedelta(hours=2)
    )
    page = admin_client.get(reverse("admin:workers_worker_changelist")).content.decode()
    assert "0 / 2" in page  # load / capacity
    assert "presumed dead" in page  # the old heartbeat
    run_action(admin_client, "admin:workers_worker_changelist", "put_in_maintenance", ["w-1"])
    worker.refresh_from_db()
    assert worker.status == "maintenance"
    run_action(admin_client, "admin:workers_worker_changelist", "activate", ["w-1"])
    worker.refresh_from_db()
    assert worker.status == "active"
    response = admin_client.post(
        reverse("admin:workers_worker_change", args=[worker.pk]),
        {"status": "active", "capacity": "4",
         "assignments-TOTAL_FORMS": "0", "assignments-INITIAL_FORMS": "0"},
    )  # fmt: skip
    assert response.status_code == 302
    worker.refresh_from_db()
    assert worker.capacity == 4


@pytest.mark.django_db
def test_results_and_assignments_are_browsable(admin_client, race, worker):
    make_numbered_race(5, worker=worker)
    for name in ("jobs_buildresult", "workers_workerassignment"):
        url = reverse(f"admin:{name}_changelist")
        with CaptureQueriesContext(connection) as queries:
            page = admin_client.get(url).content.decode()
        assert "owner/repo1" in page and "owner/repo5" in page
        assert len(queries) <= 6
        assert admin_client.get(url, {"q": "repo5"}).status_code == 200
    url = reverse("admin:workers_workerassignment_changelist")
    assert admin_client.get(url, {"completed_at__isempty": "1"}).status_code == 200


@pytest.mark.django_db
def test_capped_count_paginator(monkeypatch):
    for n in range(15):
        Job.objects.create(id=f"p-{n}", repository_url="https://github.com/a/b",
                           repository_name="a/b")  # fmt: skip
    monkeypatch.setattr(CappedCountPaginator, "exact_count_limit", 10)
    assert CappedCountPaginator(Job.objects.filter(pk="p-3"), 5).count == 1
    big = CappedCountPaginator(Job.objects.all(), 5).count
    if connection.vendor == "postgresql":
        assert big >= 11  # the planner's estimate, never below what was counted
    else:
        assert big == 15
    monkeypatch.setattr(CappedCountPaginator, "exact_count_limit", 100)
    assert CappedCountPaginator(Job.objects.all(), 5).count == 15


def test_format_ms():
    assert format_ms(None) == "-"
    assert format_ms(45_210) == "45.21\u00a0s"
    assert format_ms(78_000) == "1:18"
    assert format_ms(672_370) == "11:12"


@pytest.mark.django_db
def test_anonymous_actions_are_redirected_and_change_nothing(client, worker):
    job = make_numbered_race(1, status="queued")
    for changelist, action, pk in [
        ("admin:jobs_job_changelist", "cancel_selected", job.pk),
        ("admin:jobs_job_changelist", "requeue_selected", job.pk),
        ("admin:workers_worker_changelist", "put_in_maintenance", worker.pk),
    ]:
        response = run_action(client, changelist, action, [pk])
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert Job.objects.get(pk=job.pk).status == "queued"
    assert Worker.objects.get(pk=worker.pk).status == "active"


@pytest.mark.django_db
def test_admin_polish_columns_inputs_logs_and_worker_links(admin_client):
    from tests.factories import make_race

    job = make_race("owner/polished", ref="v1.2", output="\x1b[1;31mred\x1b[0m done\n")
    Job.objects.filter(pk=job.pk).update(worker_id="w-polish", error="the clone timed out")
    Worker.objects.create(id="w-polish", hostname="h", capacity=1, last_heartbeat=timezone.now())
    page = admin_client.get(reverse("admin:jobs_job_changelist")).content.decode()
    assert "v1.2" in page and "2.00\u00d7" in page and "the clone timed out" in page
    assert "?worker_id=w-polish" in page
    created = job.created_at.strftime("%Y-%m-%d\u00a0%H:%M:%S")
    assert created in page and f"{created}." not in page  # one line, no microseconds
    change = admin_client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    assert ">null<" not in change  # empty command fields are empty
    add = admin_client.get(reverse("admin:jobs_job_add")).content.decode()
    assert '<input type="url" name="repository_url"' in add and "<textarea" in add
    assert '<textarea name="repository_url"' not in add and '<textarea name="ref"' not in add
    result = BuildResult.objects.get(job=job, build_type="elide")
    log = admin_client.get(reverse("admin:jobs_buildresult_change", args=[result.pk]))
    assert "red done" in log.content.decode() and "\x1b" not in log.content.decode()
    workers = admin_client.get(reverse("admin:workers_worker_changelist")).content.decode()
    assert "Races on w-polish" in workers
    filtered = admin_client.get(reverse("admin:jobs_job_changelist"), {"worker_id": "w-polish"})
    assert filtered.status_code == 200 and "owner/polished" in filtered.content.decode()


@pytest.mark.django_db
def test_mark_as_demo_action(admin_client):
    from tests.factories import make_race

    job = make_race("owner/demo")
    admin_client.post(
        reverse("admin:jobs_job_changelist"),
        {"action": "mark_as_demo", "_selected_action": [job.pk]},
    )
    job.refresh_from_db()
    assert job.is_mock
