"""A real race ends with its logs compacted, and every reader still shows the whole log:
the race page's full-text view, the output API, the replay, the admin and the services."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import BuildResult, Job, JobStatus
from jobs.submissions.services import create_job, get_job
from tests.repos import make_git_repo
from tests.support import require_tool
from workers.recording import run_job

LINES = 400
RECIPE = [
    "sh", "-c",
    f"i=0; while [ $i -lt {LINES} ]; do echo \"[INFO] Compiling unit $i of {LINES}\"; "
    "i=$((i+1)); done; echo BUILD SUCCESS",
]  # fmt: skip


@pytest.fixture
def finished_race(settings, tmp_path):
    require_tool("bwrap", "builds run in the bubblewrap sandbox")
    settings.ARENA_ALLOW_LOCAL_REPOS = True
    settings.ARENA_WORKSPACE_ROOT = tmp_path / "workspaces"
    repo = make_git_repo(tmp_path / "repo", {"README.md": "compaction\n"})
    job = create_job(str(repo), standard_cmd=RECIPE, elide_cmd=RECIPE)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), worker_id="test", attempts=1
    )
    assert run_job(job.pk) == "completed"
    return job


@pytest.mark.django_db(transaction=True)
def test_every_reader_shows_the_whole_compacted_log(finished_race, client, admin_client):
    job = finished_race
    stored = BuildResult.objects.get(job=job, build_type="standard")
    assert stored.output is None and stored.output_compressed is not None
    assert stored.output_timing == ""
    full = stored.full_output
    assert f"Compiling unit {LINES - 1} of {LINES}" in full and "BUILD SUCCESS" in full
    assert len(bytes(stored.output_compressed)) < len(full.encode()) / 4

    text = client.get(reverse("race_output_text", args=[job.pk, "standard"]))
    assert text.status_code == 200 and text.content.decode() == full

    api = json.loads(client.get(f"/api/jobs/{job.pk}/output", {"build_type": "standard"}).content)
    collected, offset = api["output"], api["nextOffset"]
    while not api["complete"] and offset < len(full):
        api = json.loads(
            client.get(
                f"/api/jobs/{job.pk}/output", {"build_type": "standard", "offset": offset}
            ).content
        )
        collected, offset = collected + api["output"], api["nextOffset"]
    assert collected == full

    replay = client.get(reverse("race_replay", args=[job.pk]))
    assert replay.status_code == 200
    assert f"Compiling unit {LINES - 1} of {LINES}" in replay.content.decode()

    page = client.get(reverse("race_detail", args=[job.pk]))
    assert page.status_code == 200 and "BUILD SUCCESS" in page.content.decode()

    admin = admin_client.get(reverse("admin:jobs_buildresult_change", args=[stored.pk]))
    assert admin.status_code == 200
    assert f"Compiling unit {LINES - 1} of {LINES}" in admin.content.decode()

    assert get_job(job.pk, with_output=True).standard_result.full_output == full
