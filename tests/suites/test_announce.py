"""Regressions across versions end to end: a suite raced for 1.0, 1.1 (one repository 30%
slower) and 1.2 (no change); exactly one regression, on the page, in the feed, in the JSON
and in the outbox, mailed once; no alarm when nothing changed."""

import pytest
from defusedxml import ElementTree as ET
from django.urls import reverse

from suites import triggers
from suites.models import SuiteRun, VersionChange
from tests.atom import ATOM, atom_errors
from tests.suites.conftest import toolchains
from tests.suites.races import finish_queued_suite_races
from workers import scheduler

pytestmark = pytest.mark.django_db(transaction=True)
SPEEDS = {"acme/small": 5.0, "acme/medium": 4.0, "acme/large": 6.0}


def race_version(version, elide_seconds, seed):
    scheduler.register_worker("w1", hostname="host")
    scheduler.record_toolchains("w1", toolchains(version))
    finish_queued_suite_races(elide_version=version, elide_seconds=elide_seconds, seed=seed)
    run = SuiteRun.objects.order_by("-id").first()
    assert triggers.advance(run)
    return run


def test_one_slower_repository_raises_exactly_one_regression(suite, client, mailoutbox):
    race_version("1.0.0", SPEEDS, seed=1)
    assert VersionChange.objects.count() == 0 and mailoutbox == []

    race_version("1.1.0", {**SPEEDS, "acme/medium": SPEEDS["acme/medium"] * 1.3}, seed=2)
    change = VersionChange.objects.get()
    assert (change.repository_name, change.kind) == ("acme/medium", "regression")
    assert (change.from_version, change.to_version) == ("1.0.0", "1.1.0")
    assert change.change == pytest.approx(1 / 1.3 - 1, abs=0.03)
    assert change.ci_low < change.change < change.ci_high < 0
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["elide-team@example.com"]
    assert "acme/medium" in mailoutbox[0].body and "1 regression" in mailoutbox[0].subject

    race_version("1.2.0", {**SPEEDS, "acme/medium": SPEEDS["acme/medium"] * 1.3}, seed=3)
    assert VersionChange.objects.count() == 1 and len(mailoutbox) == 1

    page = client.get("/regressions/")
    assert page.status_code == 200 and b"acme/medium" in page.content
    assert b"acme/small" not in page.content
    listed = client.get("/api/regressions").json()["regressions"]
    assert [(r["repository"], r["fromVersion"], r["toVersion"], r["kind"]) for r in listed] == [
        ("acme/medium", "1.0.0", "1.1.0", "regression")
    ]
    feed = client.get("/feeds/regressions.atom")
    assert feed["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    assert atom_errors(root) == []
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 1 and "acme/medium" in entries[0].find(f"{ATOM}title").text
    # The entry leads to the change's row, which links both races.
    link = entries[0].find(f"{ATOM}link").get("href")
    page = client.get(link).content.decode()
    row = page.split(f'id="change-{change.pk}"')[1].split("</tr>")[0]
    assert reverse("race_detail", args=[change.to_job_id]) in row


def test_versions_page_and_api_read_per_version(suite, client):
    race_version("1.0.0", SPEEDS, seed=1)
    race_version("1.1.0", {name: seconds / 2 for name, seconds in SPEEDS.items()}, seed=2)
    versions = client.get("/api/versions").json()["versions"]
    assert [v["version"] for v in versions] == ["1.1.0", "1.0.0"]
    newest, oldest = versions
    assert (newest["repositories"], newest["void"], newest["suite"]) == (3, 0, "core")
    # Standard takes 10 s: speedups 2, 2.5 and 1.67 (geometric mean 2.03), then twice that.
    assert oldest["headline"]["speedup"] == pytest.approx(2.03, rel=0.03)
    assert newest["headline"]["speedup"] == pytest.approx(4.06, rel=0.03)
    low, high = newest["headline"]["ci95"]
    assert low <= newest["headline"]["speedup"] <= high
    page = client.get("/versions/")
    assert page.status_code == 200
    for text in (b"1.0.0", b"1.1.0", b"acme/large", b"<svg"):
        assert text in page.content
    # Twice as fast on every repository: three improvements, listed with both races linked.
    changes = VersionChange.objects.all()
    assert sorted(change.kind for change in changes) == ["improvement"] * 3
    html = page.content.decode()
    assert html.count('class="change-improvement"') == 3
    for change in changes:
        for job_id in (change.from_job_id, change.to_job_id):
            assert f'href="{reverse("race_detail", args=[job_id])}"' in html
    run = SuiteRun.objects.order_by("id").first()
    progress = client.get(f"/suites/runs/{run.pk}/")
    assert progress.status_code == 200 and b"3 of 3 repositories finished" in progress.content
    assert client.get("/suites/runs/999999/").status_code == 404
