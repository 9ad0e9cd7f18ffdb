"""Pages: status codes, the race list, the workers page, the admin link, query counts, htmx
history restore."""

import pytest
from django.urls import reverse

from tests.factories import make_race, make_running_race

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_limits")]


@pytest.mark.parametrize("name", ["home", "job_list", "worker_list", "leaderboard"])
def test_pages_render(client, name):
    make_race()
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert b"Build Arena" in response.content


def test_job_list_filters_by_status_and_paginates(client):
    for index in range(30):
        make_race(f"bulk/r{index}")
    make_running_race("only/running")
    content = client.get(reverse("job_list"), {"status": "running"}).content.decode()
    assert "only/running" in content and "bulk/r1" not in content
    first = client.get(reverse("job_list")).content.decode()
    assert "Page 1 of 2" in first
    second = client.get(reverse("job_list"), {"page": 2}).content.decode()
    assert "Page 2 of 2" in second
    # htmx requests get the table only.
    partial = client.get(reverse("job_list"), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'id="job-table"' in partial


def test_workers_page_shows_load_and_heartbeat_age(client):
    import datetime

    from django.utils import timezone

    from workers.models import Worker

    Worker.objects.create(
        id="w-alive", hostname="box1", capacity=2, current_load=1, last_heartbeat=timezone.now()
    )
    Worker.objects.create(
        id="w-dead",
        hostname="box2",
        last_heartbeat=timezone.now() - datetime.timedelta(minutes=10),
    )
    content = client.get(reverse("worker_list")).content.decode()
    assert "w-alive" in content and "1/2" in content
    assert "10 min ago" in content and "no heartbeat" in content
    assert ">1</span> of 2 workers alive" in content


def test_admin_link_only_for_staff_and_admin_requires_login(client, django_user_model):
    assert "/admin/" not in client.get("/").content.decode()
    assert client.get("/admin/").status_code == 302
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert 'href="/admin/"' in client.get("/").content.decode()


@pytest.mark.parametrize(
    "url_name", ["home", "job_list", "leaderboard", "leaderboard_csv", "leaderboard_json"]
)
def test_query_counts_do_not_grow_with_the_number_of_jobs(client, url_name):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse(url_name))
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code == 200
        return len(captured.captured_queries)

    for index in range(3):
        make_race(f"few/r{index}", elide_ms=1000 + index, standard_ms=5000)
    few = count()
    for index in range(40):
        make_race(f"many/r{index % 7}", elide_ms=1000 + index, standard_ms=3000 + index * 10)
    assert count() == few


def test_htmx_history_restore_gets_the_whole_page(client):
    make_race()
    restore = client.get(
        reverse("job_list"), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert b"<html" in restore.content
    assert "HX-Request" in restore["Vary"]
