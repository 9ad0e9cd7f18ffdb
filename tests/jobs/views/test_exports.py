"""Leaderboard exports: paged by default, streamed with bounded memory, cached, rate limited."""

import csv
import io
import json
import tracemalloc

import pytest
from django.db import connection
from django.urls import reverse

from jobs.leaderboard.summary_rebuild import rebuild_summary
from jobs.models import Job
from tests.factories import make_race

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _export_settings(uncached, settings):
    settings.ARENA_EXPORT_PAGE_ROWS = 1000
    settings.ARENA_EXPORT_MAX_ROWS = 10_000
    settings.ARENA_EXPORT_RATE_LIMIT = 1000
    return settings


def body_of(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_pages_follow_the_link_header_and_cover_the_whole_ranking(client):
    for index in range(5):
        make_race(f"paged/ok{index}", elide_ms=1000 + index * 100, standard_ms=9000)
    make_race("paged/failed", elide_status="failure")
    make_race("paged/failed2", standard_status="failure")
    seen, url = [], reverse("leaderboard_csv") + "?limit=3"
    while url:
        response = client.get(url)
        assert response.status_code == 200 and response["X-Total-Count"] == "7"
        rows = list(csv.DictReader(io.StringIO(body_of(response).decode())))
        seen += [(int(row["rank"]), row["repository"]) for row in rows]
        link = response.get("Link")
        url = link[1 : link.index(">")] if link else None
    assert [rank for rank, _ in seen] == list(range(1, 8))
    assert [name for _, name in seen[:5]] == [f"paged/ok{index}" for index in range(5)]
    assert {name for _, name in seen[5:]} == {"paged/failed", "paged/failed2"}
    page = json.loads(body_of(client.get(reverse("leaderboard_json"), {"limit": 3, "page": 3})))
    assert page["page"] == {"number": 3, "size": 3, "pages": 3, "total": 7}
    assert [race["rank"] for race in page["races"]] == [7]


@pytest.mark.parametrize(
    "query", [{"limit": "0"}, {"limit": "10001"}, {"page": "x"}, {"page": "-1"}]
)
def test_bad_paging_is_a_400(client, query):
    response = client.get(reverse("leaderboard_json"), query)
    assert response.status_code == 400 and "must be a whole number" in response.content.decode()


def test_exports_are_rate_limited_per_client(client, settings):
    settings.ARENA_EXPORT_RATE_LIMIT = 2
    codes = [client.get(reverse("leaderboard_csv")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get(reverse("leaderboard_json"), REMOTE_ADDR="10.1.1.1").status_code == 200


def test_one_ipv6_64_and_forged_forwarding_headers_are_one_export_client(client, settings):
    settings.ARENA_EXPORT_RATE_LIMIT = 2
    settings.ARENA_CLIENT_IP_HEADER = "X-Forwarded-For"
    url = reverse("leaderboard_csv")
    codes = [
        client.get(url, REMOTE_ADDR=f"2001:db8:9:9::{n}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        for n in range(1, 4)
    ]
    assert [response.status_code for response in codes] == [200, 200, 429]
    assert client.get(url, REMOTE_ADDR="2001:db8:9:a::1").status_code == 200


def test_a_page_is_served_from_the_cache_until_it_expires(client, settings):
    settings.ARENA_EXPORT_CACHE_SECONDS = 60
    make_race("cached/one")
    first = body_of(client.get(reverse("leaderboard_json")))
    make_race("cached/two")
    again = client.get(reverse("leaderboard_json"))
    assert not again.streaming and again.content == first
    assert len(json.loads(first)["races"]) == 1


# Per-column SQL for the copies of the template race (the other columns are copied as is).
_COPY_EXPRESSIONS = {
    "id": "'race-' || n.i",
    "repository_url": "'https://github.com/bulk/r' || (n.i %% 300)",
    "repository_name": "'bulk/r' || (n.i %% 300)",
    "created_at": "t.created_at - n.i",
    "speedup": "CASE WHEN n.i %% 10 = 0 THEN NULL ELSE 0.5 + (n.i %% 97) / 20.0 END",
    "winner": "CASE WHEN n.i %% 10 = 0 OR n.i %% 97 <= 10 THEN 'standard' ELSE 'elide' END",
    # The leaderboard counts only races with a counted verdict (as the engine stores them).
    "verdict": "CASE WHEN n.i %% 10 = 0 OR n.i %% 97 <= 10 THEN 'standard' ELSE 'elide' END",
    "elide_success_ms": "CASE WHEN n.i %% 10 = 0 THEN NULL ELSE 10000 END",
    "standard_success_ms": "CASE WHEN n.i %% 10 = 0 THEN NULL ELSE 5000 + (n.i %% 97) * 500 END",
}


def seed_completed_races(count):
    """`count` completed races (no results: the export reads no logs), copied from one template
    race by one INSERT ... SELECT over a counter, in a second or two on either database."""
    template = Job.objects.create(
        repository_url="https://github.com/bulk/template",
        repository_name="bulk/template",
        status="completed",
        verdict="elide",
    )
    columns = [field.column for field in Job._meta.concrete_fields]
    values = [_COPY_EXPRESSIONS.get(column, f"t.{column}") for column in columns]
    # Column names and constant expressions only, no input.
    sql = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "  # noqa: S608
        f"INSERT INTO jobs ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM n, jobs t WHERE t.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [count - 1, template.pk])
    rebuild_summary()  # a bulk load behind the application's back, as the seed does


def peak_bytes_streaming(client, url):
    tracemalloc.start()
    try:
        response = client.get(url)
        size = sum(len(chunk) for chunk in response.streaming_content)
        return tracemalloc.get_traced_memory()[1], size, response
    finally:
        tracemalloc.stop()


def test_export_memory_is_bounded_by_the_page_at_100k_races(client):
    seed_completed_races(100_000)
    peak, size, response = peak_bytes_streaming(client, reverse("leaderboard_json"))
    assert response["X-Total-Count"] == "100000" and "page=2" in response["Link"]
    assert 100_000 < size < 1_000_000  # a page of 1,000 races, not 100,000
    assert peak < 8 * 2**20, f"{peak / 2**20:.1f} MiB for the default page"
    # The largest page, deep into the ranking: memory follows the page size, not the total.
    deep = reverse("leaderboard_csv") + "?limit=10000&page=9"
    peak, size, response = peak_bytes_streaming(client, deep)
    assert size > 500_000
    assert peak < 3 * size + 8 * 2**20, f"{peak / 2**20:.1f} MiB for {size / 2**20:.1f} MiB"
    assert peak < 24 * 2**20
