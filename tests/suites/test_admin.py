"""The suite tables in the admin: every page renders, a suite is edited with its repositories,
and the "race now" action queues a run."""

import pytest

from suites import triggers
from suites.models import Suite, SuiteRun, VersionChange
from tests.suites.conftest import toolchains
from tests.suites.races import finish_queued_suite_races
from workers import scheduler

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_suite_page_renders(admin_client, suite):
    scheduler.register_worker("w1", hostname="host")
    scheduler.record_toolchains("w1", toolchains("1.0.0"))
    run = SuiteRun.objects.get()
    urls = [
        "/admin/suites/suite/", f"/admin/suites/suite/{suite.pk}/change/",
        "/admin/suites/suite/add/", "/admin/suites/suiterun/",
        f"/admin/suites/suiterun/{run.pk}/change/", "/admin/suites/versionchange/",
    ]  # fmt: skip
    for url in urls:
        assert admin_client.get(url).status_code == 200, url


def test_the_race_now_action_queues_a_run(admin_client, suite):
    response = admin_client.post(
        "/admin/suites/suite/", {"action": "run_now", "_selected_action": [suite.pk]}, follow=True
    )
    assert response.status_code == 200
    run = SuiteRun.objects.get()
    assert run.trigger == "demand" and run.races.count() == 3
    assert b"Queued run" in response.content


def test_a_suite_is_edited_with_its_repositories(admin_client):
    response = admin_client.post(
        "/admin/suites/suite/add/",
        {
            "name": "tiny", "description": "", "runs": 3, "warmups": 1, "cache": "warm",
            "scenario": "clean", "enabled": "on",
            "repositories-TOTAL_FORMS": 1, "repositories-INITIAL_FORMS": 0,
            "repositories-0-url": "https://github.com/google/gson", "repositories-0-ref": "",
            "repositories-0-position": 0,
        },
    )  # fmt: skip
    assert response.status_code == 302, response.context["errors"]
    assert list(Suite.objects.get(name="tiny").repositories.values_list("url", flat=True)) == [
        "https://github.com/google/gson"
    ]


def test_found_changes_are_read_only(admin_client, suite):
    for version, seconds in (("1.0.0", 5.0), ("1.1.0", 7.0)):
        scheduler.register_worker("w1", hostname="host")
        scheduler.record_toolchains("w1", toolchains(version))
        finish_queued_suite_races(
            elide_version=version, elide_seconds=dict.fromkeys(
                ("acme/small", "acme/medium", "acme/large"), seconds)
        )  # fmt: skip
        triggers.advance(SuiteRun.objects.order_by("-id").first())
    change = VersionChange.objects.first()
    assert change is not None
    page = admin_client.get(f"/admin/suites/versionchange/{change.pk}/change/")
    assert page.status_code == 200 and b'name="change"' not in page.content


def test_a_bad_repository_url_is_a_form_error(admin_client):
    response = admin_client.post(
        "/admin/suites/suite/add/",
        {
            "name": "bad", "runs": 3, "warmups": 1, "cache": "warm", "scenario": "clean",
            "repositories-TOTAL_FORMS": 1, "repositories-INITIAL_FORMS": 0,
            "repositories-0-url": "ftp://example.com/x", "repositories-0-position": 0,
        },
    )  # fmt: skip
    assert response.status_code == 200 and not Suite.objects.filter(name="bad").exists()
    assert "url" in response.context["inline_admin_formsets"][0].formset.errors[0]
