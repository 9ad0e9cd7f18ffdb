"""Pages say what the verdict says: a void race never shows a winner or a time it does not
have; not comparable and too-close-to-call races say so, and only counted races feed a
repository's median, its badge and the kiosk's headline."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from jobs.models import Job
from jobs.showcase.share_card import card_headline
from jobs.views.kiosk import slide_context
from tests.factories import make_race

pytestmark = pytest.mark.django_db
REASON = "elide is not installed on worker w9"


@pytest.fixture(autouse=True)
def _fresh_figures(settings):
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0


def void_race(name="acme/void"):
    job = make_race(
        name,
        elide_status="failure",
        elide_error_kind="infrastructure",
        elide_error=REASON,
    )
    assert job.verdict == "void" and job.void_reason
    return job


def with_verdict(job, verdict, **fields):
    Job.objects.filter(pk=job.pk).update(verdict=verdict, **fields)
    job.refresh_from_db()
    return job


def test_a_void_race_shows_why_and_never_a_winner_or_the_missing_sides_time(client):
    job = void_race()
    page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
    assert "Void: not a result" in page and "is not installed" in page
    assert "wins" not in page.split('class="summary"')[1].split("</section>")[0]
    listing = client.get(reverse("job_list")).content.decode()
    row = listing.split("acme/void")[1].split("</tr>")[0]
    assert ">Void<" in row and "could not run" in row and "outcome-standard" not in row
    assert card_headline(job, job.elide_result, job.standard_result)[0] == "Void: not a result"


def test_not_comparable_and_inconclusive_races_say_so_everywhere(client):
    differing = with_verdict(
        make_race("acme/differ"),
        "not_comparable",
        winner=None,
        parity={"difference": 0.5, "standardOnly": 3, "elideOnly": 1, "examples": ["a.B"]},
    )
    close = with_verdict(make_race("acme/close", elide_ms=59_000), "inconclusive", winner=None)
    for job, words in ((differing, "Not comparable"), (close, "Inconclusive")):
        page = client.get(reverse("race_detail", args=[job.pk])).content.decode()
        summary = page.split('class="summary"')[1].split("</section>")[0]
        assert words in summary and "wins" not in summary
        assert card_headline(job, job.elide_result, job.standard_result)[0].startswith(words)
        listing = client.get(reverse("job_list")).content.decode()
        assert words in listing.split(job.repository_name)[1].split("</tr>")[0]
    owner, name = differing.repository_name.split("/")
    repository = client.get(reverse("repository_page", args=[owner, name])).content.decode()
    assert "1 not comparable" in repository and "2.00\u00d7" not in repository
    badge = client.get(reverse("repository_badge", args=[owner, name])).content.decode()
    assert "no measured race yet" in badge


def test_only_counted_races_feed_a_repositorys_median(client):
    make_race("acme/mixed", elide_ms=25_000, standard_ms=50_000)  # 2.0x, counted
    void_race("acme/mixed")
    excluded = make_race("acme/mixed", elide_ms=10_000, standard_ms=50_000)  # 5.0x
    with_verdict(excluded, excluded.verdict, excluded_reason="mirror was stale")
    page = client.get(reverse("repository_page", args=["acme", "mixed"])).content.decode()
    assert "2.00\u00d7" in page and "5.00\u00d7" not in page.split("median speedup")[0][-200:]
    assert "Not counted: 1 void," in page and "1 excluded by an admin" in page
    badge = client.get(reverse("repository_badge", args=["acme", "mixed"])).content.decode()
    assert "2.00\u00d7 faster" in badge


def test_the_kiosk_headline_is_the_leaderboards_with_its_interval():
    for index, elide_ms in enumerate((20_000, 25_000, 30_000)):
        make_race(f"acme/r{index}", elide_ms=elide_ms, standard_ms=50_000)
    void_race()
    context = slide_context(now=0)
    assert context["slide"] == "headline" and context["headline"]["races"] == 3
    html = render_to_string("kiosk/slide.html", context)
    assert "95% CI" in html and "Across 3 measured races of 3 repositories" in html
