"""Leaderboard: ranking, totals, per-repository statistics, chart, filters, exports."""

import csv
import datetime
import io
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.leaderboard.figures import totals
from jobs.leaderboard.per_repository import chart_geometry, repository_statistics
from jobs.leaderboard.ranking import attach_side_times, completed_races, ranking
from tests.factories import make_race as make_one_race
from tests.factories import make_running_race

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cache(settings):
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0


def make_race(*args, **kwargs):
    """A race of 3 runs a side (one run a side names no winner)."""
    return make_one_race(*args, **{"iterations": 3, **kwargs})


@pytest.fixture
def races():
    now = timezone.now()
    return {
        "fast": make_race("spring/petclinic", elide_ms=20_000, standard_ms=80_000),  # 4x
        "good": make_race("spring/petclinic", elide_ms=30_000, standard_ms=60_000),  # 2x
        "slow": make_race("google/guava", elide_ms=60_000, standard_ms=30_000),  # 0.5x
        "tie": make_race("google/guava", elide_ms=30_000, standard_ms=30_100),  # tie
        "broken": make_race(
            "square/okhttp", elide_ms=10_000, standard_ms=50_000, standard_status="failure"
        ),
        "old_mock": make_race(
            "apache/commons-lang",
            elide_ms=32_000,
            standard_ms=55_000,
            is_mock=True,
            created_at=now - datetime.timedelta(days=40),
        ),
        "running": make_running_race("square/okio"),
    }


def test_ranking_orders_by_speedup_with_unranked_races_last(races):
    order = [job.pk for job in ranking()]
    expected = ["fast", "good", "tie", "slow", "broken"]  # demo data only when asked for
    assert order == [races[name].pk for name in expected]
    order = [job.pk for job in ranking({"include_demo": True})]
    expected = ["fast", "good", "old_mock", "tie", "slow", "broken"]
    assert order == [races[name].pk for name in expected]
    first = attach_side_times(ranking()[:1])[0]
    assert first.elide_ms == 20_000 and first.standard_ms == 80_000


def test_totals(races):
    figures = totals({"include_demo": True})
    assert figures["races"] == 6
    # Measured wins; broken (the standard build failed) is Elide's forfeit, counted apart.
    assert figures["elide_wins"] == 3 and figures["elide_forfeits"] == 1
    assert figures["standard_wins"] == 1 and figures["ties"] == 1
    # The win rate counts measured races only.
    assert figures["forfeits"] == 1 and figures["win_rate"] == pytest.approx(3 / 5)
    assert figures["best_speedup"] == pytest.approx(4.0)
    speedups = sorted([4.0, 2.0, 0.5, 30_100 / 30_000, 55 / 32])
    assert figures["median_speedup"] == pytest.approx(speedups[2])
    counts = {item["label"]: item["count"] for item in figures["histogram"]}
    assert sum(counts.values()) == 5
    assert counts["3\u20135\u00d7"] == 1 and counts["<0.8\u00d7"] == 1
    real = totals()
    assert real["races"] == 5 and real["win_rate"] == pytest.approx(2 / 4)


def test_median_of_an_even_count():
    for elide_ms in (10_000, 20_000, 40_000, 50_000):
        make_race("x/y", elide_ms=elide_ms, standard_ms=100_000)
    assert totals()["median_speedup"] == pytest.approx((100 / 40 + 100 / 20) / 2)


def test_empty_leaderboard(client):
    figures = totals()
    assert figures["races"] == 0 and figures["median_speedup"] is None
    content = client.get(reverse("leaderboard")).content.decode()
    assert "No completed race matches" in content


def test_filters(races):
    assert {j.pk for j in completed_races({"q": "PETCLINIC"})} == {
        races["fast"].pk,
        races["good"].pk,
    }
    assert races["broken"].pk not in {j.pk for j in completed_races({"successful": True})}
    assert races["old_mock"].pk not in {j.pk for j in completed_races()}
    assert races["old_mock"].pk in {j.pk for j in completed_races({"include_demo": True})}
    since = (timezone.now() - datetime.timedelta(days=2)).date()
    demo = {"include_demo": True}
    assert races["old_mock"].pk not in {j.pk for j in completed_races({"since": since, **demo})}
    until = (timezone.now() - datetime.timedelta(days=30)).date()
    assert [j.pk for j in completed_races({"until": until, **demo})] == [races["old_mock"].pk]


def test_repository_statistics(races):
    stats = {row["repository_name"]: row for row in repository_statistics()}
    petclinic = stats["spring/petclinic"]
    assert petclinic["races"] == 2 and petclinic["elide_wins"] == 2
    assert petclinic["avg_elide_ms"] == 25_000 and petclinic["avg_standard_ms"] == 70_000
    assert petclinic["best_elide_ms"] == 20_000 and petclinic["best_standard_ms"] == 60_000
    assert petclinic["win_rate"] == 1.0
    guava = stats["google/guava"]
    assert (guava["elide_wins"], guava["standard_wins"], guava["ties"]) == (0, 1, 1)
    okhttp = stats["square/okhttp"]
    # A failed side's time is not averaged.
    assert okhttp["avg_elide_ms"] == 10_000 and okhttp["avg_standard_ms"] is None
    assert "square/okio" not in stats  # still running


def test_chart_geometry_scales_bars_to_the_tallest():
    histogram = [
        {"label": "a", "low": 0.0, "high": 0.8, "count": 1},
        {"label": "b", "low": 0.95, "high": 1.05, "count": 0},
        {"label": "c", "low": 2.0, "high": 3.0, "count": 4},
    ]
    chart = chart_geometry(histogram, width=300, height=200, padding=20)
    bars = chart["bars"]
    # 200 high: 16 above, 44 below for the bars' labels and the axis title: 140 for the tallest.
    assert bars[2]["height"] == 140 and bars[0]["height"] == 35 and bars[1]["height"] == 0
    assert [bar["side"] for bar in bars] == ["standard", "tie", "elide"]
    assert all(bar["y"] + bar["height"] == 156 for bar in bars)
    # The range labels and the axis title each have a line of their own (12 px type).
    assert chart["label_y"] - chart["baseline"] >= 12
    assert chart["x_title_y"] - chart["label_y"] >= 16
    # Whole-number ticks of the race counts, from the baseline up to the tallest bar.
    assert [(tick["value"], tick["y"]) for tick in chart["y_ticks"]] == [
        (0, 156), (1, 121), (2, 86), (3, 51), (4, 16),
    ]  # fmt: skip


def test_leaderboard_page_shows_totals_chart_and_repositories(client, races):
    content = client.get(reverse("leaderboard")).content.decode()
    # The chart twice: vertical bars on wide screens, horizontal ones on phones.
    assert '<svg class="chart chart-wide"' in content and content.count("<rect") == 18
    assert "spring/petclinic" in content and "By repository" in content
    assert "4.00\u00d7" in content  # best speedup
    assert "90% CI" in content  # one unit (x); no percent column
    assert "<script" not in content.split("<main")[1]


def test_leaderboard_filters_via_query_and_htmx_partial(client, races):
    content = client.get(reverse("leaderboard"), {"q": "guava"}).content.decode()
    ranking_table = content.split('class="cards ranking-table"')[1].split("</table>")[0]
    assert "google/guava" in ranking_table and "petclinic" not in ranking_table
    partial = client.get(reverse("leaderboard"), HTTP_HX_REQUEST="true").content.decode()
    # The headline, above the filters, follows out of band; then the body.
    assert partial.startswith('<div id="leaderboard-headline" hx-swap-oob="true">')
    assert '\n<div id="leaderboard-body">' in partial and "<html" not in partial
    assert "apache/commons-lang" not in partial
    with_demo = client.get(reverse("leaderboard"), {"include_demo": "on"}).content.decode()
    assert "apache/commons-lang" in with_demo and "Includes demo data" in with_demo


def test_bad_filter_values_are_shown_not_crashing(client, races):
    response = client.get(reverse("leaderboard"), {"since": "2024-13-45", "page": "x"})
    assert response.status_code == 200
    assert "Enter a valid date" in response.content.decode()
    reversed_range = client.get(
        reverse("leaderboard"), {"since": "2025-02-01", "until": "2025-01-01"}
    )
    assert "must not be after" in reversed_range.content.decode()


def test_pagination(client):
    for index in range(30):
        make_race(f"many/r{index}", elide_ms=1000 + index * 100, standard_ms=10_000)
    first = client.get(reverse("leaderboard")).content.decode()
    assert "Page 1 of 2" in first
    second = client.get(reverse("leaderboard"), {"page": 2}).content.decode()
    ranks = re.findall(
        r'<td class="num" data-label="Rank">(\d+)</td>\s*<td class="repo"><a href="/jobs/', second
    )
    assert ranks[0] == "26" and ranks[-1] == "30"


def test_csv_export_follows_the_filters(client, races):
    response = client.get(reverse("leaderboard_csv"), {"q": "petclinic"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["job_id"] for row in rows] == [races["fast"].pk, races["good"].pk]
    assert rows[0]["rank"] == "1" and rows[0]["elide_ms"] == "20000"
    assert rows[0]["winner"] == "elide" and float(rows[0]["percent_faster"]) == 75.0


def test_csv_export_neutralises_formulas(client):
    make_race("=cmd/evil")
    response = client.get(reverse("leaderboard_csv"))
    text = response.getvalue().decode()
    assert ",'=cmd/evil," in text


def test_json_export(client, races):
    response = client.get(reverse("leaderboard_json"))
    data = json.loads(b"".join(response.streaming_content))
    assert data["filters"] == {"scenario": "clean", "cache": "warm"}  # the default kind
    assert data["totals"]["races"] == 5
    headline = data["headline"]
    assert set(headline) == {
        "speedup", "ci95", "races", "repositories", "includesDemo", "reason", "repositoriesNeeded",
        "source",
    }  # fmt: skip
    assert headline["source"] == "races"
    assert headline["races"] == 4 and headline["repositories"] == 2  # broken has no speedup
    # Two repositories are not enough for a claim (ARENA_HEADLINE_MIN_REPOSITORIES, 3).
    assert headline["speedup"] is None and headline["ci95"] is None
    assert headline["repositoriesNeeded"] == 1 and "1 more repository needed" in headline["reason"]
    assert headline["includesDemo"] is False
    repos = {row["repository_name"]: row for row in data["repositories"]}
    assert repos["spring/petclinic"]["races"] == 2 and "apache/commons-lang" not in repos
    assert len(data["races"]) == 5 and data["races"][0]["job_id"] == races["fast"].pk
    assert all(not race["is_mock"] for race in data["races"])


def test_pages_across_the_seam_between_ranked_and_unranked_races(client):
    now = timezone.now()
    ranked = [
        make_race(f"seam/ok{index}", elide_ms=1000 + index * 100, standard_ms=10_000)
        for index in range(20)
    ]
    unranked = [
        make_race(
            f"seam/failed{index}",
            standard_status="failure",
            created_at=now - datetime.timedelta(minutes=index),
        )
        for index in range(10)
    ]
    expected = [job.pk for job in ranked] + [job.pk for job in unranked]
    shown = []
    for page in (1, 2):
        content = client.get(reverse("leaderboard"), {"page": page}).content.decode()
        table = content.split('class="cards ranking-table"')[1]
        shown += re.findall(r'<td class="repo"><a href="/jobs/([^/]+)/"', table)
    assert shown == expected


def test_figures_are_cached_per_process_and_the_ranking_is_not(client, settings):
    from django.core.cache import cache

    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 60
    cache.clear()
    make_race("cache/first")
    first = client.get(reverse("leaderboard")).content.decode()
    assert re.search(r'stat-value">1</span><span class="stat-label">counted race<', first)
    make_race("cache/second", elide_ms=1000, standard_ms=90_000)
    second = client.get(reverse("leaderboard")).content.decode()
    assert re.search(r'stat-value">1</span><span class="stat-label">counted race<', second)
    assert "cache/second" in second.split('class="cards ranking-table"')[1]  # rows read live
    cache.clear()
    third = client.get(reverse("leaderboard")).content.decode()
    assert re.search(r'stat-value">2</span><span class="stat-label">counted races<', third)
    assert "cache/second" in third.split('class="cards ranking-table"')[1]


def test_the_leaderboard_filters_by_scenario_and_cache(client):
    clean_warm = make_race("a/one")
    noop_cold = make_race("a/two", scenario="noop", cache="cold")
    assert [j.pk for j in completed_races({"scenario": "noop"})] == [noop_cold.pk]
    assert [j.pk for j in completed_races({"cache": "warm"})] == [clean_warm.pk]
    page = client.get("/leaderboard/", {"scenario": "noop", "cache": "cold"})
    assert page.status_code == 200
    assert "a/two" in page.content.decode() and "a/one" not in page.content.decode()
    assert 'option value="noop" selected' in page.content.decode()
    bad = client.get("/leaderboard/", {"scenario": "dirty"})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()


def test_the_board_speaks_of_warm_clean_races_unless_asked_to_pool_kinds(client, settings):
    """Sales put the headline on a slide: a no-op rebuild's 9x must not lift a clean build's
    1.5x. The default kind is warm and clean; "any" pools kinds on purpose."""
    settings.ARENA_PLAUSIBLE_SPEEDUP = 20
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    settings.ARENA_HEADLINE_MIN_REPOSITORIES = 2
    make_race("kinds/clean", elide_ms=10_000, standard_ms=15_000)
    make_race("kinds/clean-too", elide_ms=20_000, standard_ms=30_000)
    make_race("kinds/noop", elide_ms=1_000, standard_ms=9_000, scenario="noop")
    make_race("kinds/cold", elide_ms=1_000, standard_ms=4_000, cache="cold")
    board = client.get("/leaderboard/").content.decode()
    assert "kinds/clean" in board and "kinds/noop" not in board and "kinds/cold" not in board
    default = json.loads(b"".join(client.get(reverse("leaderboard_json")).streaming_content))
    assert default["headline"]["speedup"] == 1.5 and default["headline"]["repositories"] == 2
    pooled = client.get(reverse("leaderboard_json"), {"scenario": "any", "cache": "any"})
    pooled = json.loads(b"".join(pooled.streaming_content))
    assert pooled["filters"] == {} and pooled["headline"]["repositories"] == 4
    from jobs.views.kiosk import slide_context

    settings.ARENA_KIOSK_HOLD_SECONDS = 0  # no finished race's verdict held on screen
    booth = slide_context(now=0)  # the first slide: the headline
    assert booth["slide"] == "headline" and booth["headline"]["speedup"] == 1.5


def test_headline_is_the_geometric_mean_of_each_repositorys_median(client, settings):
    from jobs.leaderboard.headline import headline

    settings.ARENA_PLAUSIBLE_SPEEDUP = 10
    for elide_ms in (10_000, 20_000, 25_000):  # medians: 100/20 = 5.0
        make_race("a/many", elide_ms=elide_ms, standard_ms=100_000)
    make_race("b/one", elide_ms=50_000, standard_ms=100_000)  # 2.0
    make_race("c/slow", elide_ms=100_000, standard_ms=80_000)  # 0.8
    make_race("d/outlier", elide_ms=1_000, standard_ms=100_000)  # 100x: flagged, left out
    make_race("e/demo", elide_ms=10_000, standard_ms=90_000, is_mock=True)  # 9x, demo
    make_race("f/forfeit", elide_ms=10_000, standard_status="failure")  # no speedup
    statement = headline()
    assert statement["speedup"] == pytest.approx((5.0 * 2.0 * 0.8) ** (1 / 3), abs=1e-4)
    assert (statement["races"], statement["repositories"]) == (5, 3)
    low, high = statement["ci95"]
    assert 0.8 <= low < statement["speedup"] < high <= 5.0
    assert statement == headline()  # a fixed seed: the same races, the same interval
    with_demo = headline({"include_demo": True})
    assert with_demo["includesDemo"] and with_demo["repositories"] == 4
    assert totals()["flagged"] == 1
    content = client.get(reverse("leaderboard")).content.decode()
    assert "Elide builds 2.00\u00d7 faster" in content
    assert (
        f"(95% CI {low:.2f}\u00d7\u2013{high:.2f}\u00d7), 5 measured races of 3 repositories"
        in content
    )
    assert "50% less build time" in content and "Demo data excluded" in content
    assert "flagged for review" in content


def test_void_and_not_comparable_races_are_counted_apart_and_never_ranked(client):
    counted = make_race("a/real")
    void = make_race("a/void", elide_status="failure", elide_error_kind="infrastructure",
                     elide_error="elide is not installed on worker w9")  # fmt: skip
    assert void.verdict == "void"
    figures = totals()
    assert (figures["races"], figures["void"], figures["elide_wins"]) == (1, 1, 1)
    assert [job.pk for job in ranking()] == [counted.pk]
    content = client.get(reverse("leaderboard")).content.decode()
    assert "Not counted: 1 void (could not run)" in content


def test_headline_of_many_repositories_uses_the_normal_interval(settings):
    from jobs.leaderboard.headline import HEADLINE_NORMAL_ABOVE, headline

    count = HEADLINE_NORMAL_ABOVE + 1
    for index in range(count):
        make_race(f"many/r{index}", elide_ms=50_000 - 100 * (index % 7), standard_ms=75_000)
    statement = headline()
    assert statement["repositories"] == count
    low, high = statement["ci95"]
    assert low < statement["speedup"] < high and high - low < 0.02
