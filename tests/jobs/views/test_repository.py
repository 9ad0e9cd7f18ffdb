"""Repository pages, the badge, the share card and the pages' Open Graph tags."""

import io
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from django.urls import reverse
from PIL import Image

from jobs.leaderboard.repository_stats import median_interval
from jobs.outcomes.labels import outcome_of
from tests.factories import make_race, make_running_race

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


def test_repository_page_shows_every_race_the_median_and_its_interval(client):
    for index in range(7):
        make_race("acme/widgets", elide_ms=10_000, standard_ms=15_000 + index * 1000)
    failed = make_race("acme/widgets", elide_status="failure")
    make_race("other/thing")
    page = client.get(reverse("repository_page", args=["acme", "widgets"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('href="/jobs/') >= 8 and f"/jobs/{failed.pk}/" in html
    assert "other/thing" not in html
    assert "1.80\u00d7" in html  # the median of 1.5 .. 2.1
    assert "95% interval 1.50\u20132.10\u00d7" in html
    assert "elide" in html and "1.0.0" in html and "maven" in html and "3.8.7" in html
    assert '<svg class="chart trend-chart"' in html and "Speedup (\u00d7 faster)" in html
    assert "failed-mark" in html  # the failed race is marked, not drawn as a speedup
    assert client.get("/repos/nobody/nothing/").status_code == 404


def test_repository_page_of_a_single_race_has_empty_states_not_errors(client):
    make_running_race("solo/app")
    html = client.get(reverse("repository_page", args=["solo", "app"])).content.decode()
    assert "No completed race yet" in html
    assert "No finished build has reported its toolchain yet" in html


def test_repository_figures_never_pool_kinds_of_race(client):
    """A no-op rebuild's or a cold build's speedup is not a clean build's: each kind of race
    has its own figures, warm and clean unless the page or the badge is asked for another."""
    for _ in range(2):
        make_race("acme/kinds", elide_ms=10_000, standard_ms=15_000)
    make_race("acme/kinds", elide_ms=10_000, standard_ms=40_000, cache="cold")
    make_race("acme/kinds", elide_ms=1_000, standard_ms=9_000, scenario="noop")
    url = reverse("repository_page", args=["acme", "kinds"])
    html = client.get(url).content.decode()
    assert "1.50\u00d7" in html and "4.00\u00d7" not in html and "9.00\u00d7" not in html
    assert "warm cache, clean (2)" in html and "cold cache, clean (1)" in html
    assert "warm cache, noop (1)" in html
    cold = client.get(url, {"cache": "cold", "scenario": "clean"}).content.decode()
    assert "4.00\u00d7" in cold and "1.50\u00d7" not in cold
    badge = reverse("repository_badge", args=["acme", "kinds"])
    assert "1.50\u00d7 faster" in client.get(badge).content.decode()
    noop_badge = client.get(badge, {"scenario": "noop"}).content.decode()
    assert "9.00\u00d7 faster" in noop_badge


@pytest.mark.parametrize("query", [{"cache": "tepid"}, {"scenario": "dirty"}, {"cache": "WARM"}])
def test_an_unknown_kind_of_race_is_a_400_on_the_page_and_the_badge(client, query):
    make_race("acme/kinds")
    for name in ("repository_page", "repository_badge"):
        response = client.get(reverse(name, args=["acme", "kinds"]), query)
        assert response.status_code == 400


def test_median_interval_is_the_order_statistic_interval():
    assert median_interval([1.0] * 5) is None
    interval = median_interval(list(range(1, 11)))  # n = 10: the 2nd and 9th values
    assert (interval.low, interval.high) == (2, 9) and interval.confidence >= 0.95


def test_leaderboard_and_race_pages_link_to_the_repository_page(client, settings):
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    job = make_race("acme/linked")
    url = reverse("repository_page", args=["acme", "linked"])
    assert f'href="{url}"' in client.get(reverse("leaderboard")).content.decode()
    assert f'href="{url}"' in client.get(reverse("race_detail", args=[job.pk])).content.decode()


def test_badge_is_valid_svg_with_cache_headers(client):
    for standard_ms in (17_000, 18_000, 16_000):
        make_race("acme/fast", elide_ms=10_000, standard_ms=standard_ms)
    response = client.get(reverse("repository_badge", args=["acme", "fast"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert response["Cache-Control"] == "public, max-age=300" and response["ETag"]
    root = ET.fromstring(response.content)  # noqa: S314 (our own response)
    assert root.tag == SVG + "svg"
    texts = [node.text for node in root.iter(SVG + "text")]
    # 2 decimals, as every page; too few races for an interval: how many it is of.
    assert "Elide" in texts and "1.70\u00d7 faster · 3 races" in texts
    unknown = client.get(reverse("repository_badge", args=["nobody", "nothing"]))
    assert "no measured race yet" in unknown.content.decode()


def test_badge_carries_the_medians_interval_and_the_verdicts_tie_band(client, settings):
    for standard_ms in (15_000, 16_000, 17_000, 18_000, 19_000, 20_000, 21_000):
        make_race("acme/seven", elide_ms=10_000, standard_ms=standard_ms)
    badge = reverse("repository_badge", args=["acme", "seven"])
    # Seven races: the median 1.80x, its order-statistic interval the 1st and 7th values.
    assert ">1.80\u00d7 faster · 1.50\u20132.10\u00d7<" in client.get(badge).content.decode()
    for standard_ms in (9_000, 9_500, 9_800):
        make_race("acme/slower", elide_ms=10_000, standard_ms=standard_ms)
    slower = reverse("repository_badge", args=["acme", "slower"])
    assert ">1.05\u00d7 slower · 3 races<" in client.get(slower).content.decode()
    # The tie band is the verdict's (ARENA_TIE_TOLERANCE), not a rule of the badge's own.
    settings.ARENA_TIE_TOLERANCE = 0.06
    assert ">tie · 3 races<" in client.get(slower).content.decode()


def test_badge_escapes_whatever_the_name_holds(client):
    hostile = "<svg onload=alert(1)>&\"'"
    response = client.get(f"/repos/{quote(hostile, safe='')}/x/badge.svg")
    assert response.status_code == 200
    root = ET.fromstring(response.content)  # noqa: S314 (our own response)  # still well-formed XML
    assert [node.tag for node in root.iter(SVG + "svg")] == [SVG + "svg"]  # no injected element
    assert "<svg onload" not in response.content.decode()
    assert root.find(SVG + "title").text.startswith(hostile)
    assert "default-src 'none'" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("fields", "headline"),
    [
        ({"iterations": 3}, "Elide 2.00\u00d7 faster"),
        ({"elide_status": "failure"}, "Maven wins by forfeit"),
        ({"elide_status": "failure", "standard_status": "failure"}, "Both failed"),
        ({"iterations": 3, "is_mock": True}, "Demo: Elide 2.00\u00d7 faster"),
        (
            {"elide_status": "failure", "elide_error_kind": "infrastructure"},
            "Void: not a result",
        ),
    ],
)
def test_card_is_a_1200x630_png(client, fields, headline):
    from jobs.showcase.share_card import card_headline

    job = make_race("acme/card", **fields)
    response = client.get(reverse("race_card", args=[job.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "max-age=86400" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size == (1200, 630)
    line, colour = card_headline(job, job.elide_result, job.standard_result)
    assert line == headline
    # The outcome's one colour (jobs/outcomes/labels.py): never Elide's purple on a void card.
    found = outcome_of(job)
    assert "#{:02x}{:02x}{:02x}".format(*colour) == found.colour
    if found.key == "void":
        assert image.getpixel((600, 5)) == colour and colour != (0xB6, 0x9C, 0xFF)
    assert client.get("/jobs/nope/card.png").status_code == 404


def test_card_without_the_debian_font_falls_back_to_pillows_own(client, settings, caplog):
    from jobs.showcase.share_card import font

    settings.ARENA_CARD_FONT_DIR = "/nonexistent"
    font.cache_clear()
    try:
        job = make_race("acme/nofont")
        response = client.get(reverse("race_card", args=[job.pk]))
        assert Image.open(io.BytesIO(response.content)).size == (1200, 630)
        assert "built-in font" in caplog.text
    finally:
        font.cache_clear()


def test_race_and_repository_pages_have_open_graph_tags(client):
    job = make_race("acme/shared")
    for url in (
        reverse("race_detail", args=[job.pk]),
        reverse("repository_page", args=["acme", "shared"]),
    ):
        html = client.get(url).content.decode()
        image = re.search(r'<meta property="og:image" content="([^"]+)"', html).group(1)
        assert image == f"http://testserver/jobs/{job.pk}/card.png"
        assert '<meta name="twitter:card" content="summary_large_image">' in html
        assert '<meta property="og:title" content="acme/shared' in html
