"""workers.recording.run_job: the engine's races recorded in the database."""

import itertools
import threading
import time

import pytest
from django.utils import timezone

from jobs.models import BuildResult, Job, JobStatus
from jobs.submissions.services import cancel_job, create_job
from tests.repos import head_sha, make_git_repo, maven_project_files
from tests.toolchains import with_jar
from workers.recording import run_job

FAST_OK = ["sh", "-c", with_jar("echo compiling; sleep 0.3; echo BUILD SUCCESS")]
FAST_OK_SLOWER = ["sh", "-c", with_jar("echo compiling; sleep 0.6; echo BUILD SUCCESS")]


@pytest.fixture
def engine_settings(settings, tmp_path):
    settings.ARENA_ALLOW_LOCAL_REPOS = True
    settings.ARENA_WORKSPACE_ROOT = tmp_path / "workspaces"
    settings.ARENA_MAVEN_ARGS = ("-o", "-Dmaven.repo.local=/usr/share/maven-repo")
    return settings


@pytest.fixture
def repo(tmp_path):
    return make_git_repo(tmp_path / "hello", maven_project_files())


def claimed_job(repo, **fields):
    job = create_job(str(repo), **fields)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), worker_id="test-worker", attempts=1
    )
    return job


def results(job):
    return {r.build_type: r for r in BuildResult.objects.filter(job_id=job.pk)}


def run_in_thread_until_output(job, text):
    """Start run_job in a thread; return (thread, outcome dict) once `text` is in the output."""
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("v", run_job(job.pk)))
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if BuildResult.objects.filter(job_id=job.pk, output__contains=text).exists():
            break
        time.sleep(0.1)
    return thread, outcome


@pytest.mark.django_db(transaction=True)
def test_custom_commands_race_completes_and_records_everything(engine_settings, repo):
    job = claimed_job(repo, standard_cmd=FAST_OK_SLOWER, elide_cmd=FAST_OK)
    lines = []
    assert run_job(job.pk, log=lines.append) == "completed"
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert job.completed_at is not None
    assert job.commit_sha == head_sha(repo)
    assert job.winner is None  # one run a side: a speedup, never a winner
    assert job.verdict == "inconclusive" and job.speedup > 1.5
    sides = results(job)
    for side, result in sides.items():
        assert result.status == "success", side
        assert result.tool == "custom"
        assert result.bell_rung
        assert result.exit_code == 0
        assert len(result.run_times_ms) == 1
        assert result.duration_ms == result.run_times_ms[0]
        assert result.finished_at is not None
        output = result.full_output
        assert "compiling" in output and "BUILD SUCCESS" in output
        # Replay timing: offsets grow and point inside the text, elapsed ms never go back.
        points = [
            tuple(map(int, line.split())) for line in result.full_output_timing.split("\n") if line
        ]
        assert points and points[0][0] == 0
        assert all(a[0] < b[0] and a[1] <= b[1] for a, b in itertools.pairwise(points))
        assert points[-1][0] < len(output)
    assert 250 <= sides["elide"].duration_ms < 2000
    assert sides["standard"].duration_ms > sides["elide"].duration_ms
    assert any("standard finished: success" in line for line in lines)
    assert any("job completed" in line for line in lines)


@pytest.mark.django_db(transaction=True)
def test_bell_reporting_failure_is_not_success(engine_settings, repo):
    """The original counted a rung bell as success even with Status: FAILURE."""
    liar = [
        "sh",
        "-c",
        "printf '\\360\\237\\224\\224 BUILD COMPLETE \\360\\237\\224\\224\\nStatus: FAILURE\\n'",
    ]
    job = claimed_job(repo, standard_cmd=liar, elide_cmd=FAST_OK)
    assert run_job(job.pk) == "completed"
    sides = results(job)
    assert sides["standard"].exit_code == 0
    assert sides["standard"].bell_rung
    assert sides["standard"].status == "failure"
    assert "bell reported failure" in sides["standard"].error
    job.refresh_from_db()
    assert job.winner == "elide"


@pytest.mark.django_db(transaction=True)
def test_clone_failure_fails_the_job_with_gits_error(engine_settings, tmp_path):
    missing = tmp_path / "not-a-repo"
    missing.mkdir()
    job = claimed_job(missing, standard_cmd=FAST_OK, elide_cmd=FAST_OK)
    assert run_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "git clone failed" in job.error and "does not appear to be a git repository" in job.error
    for result in results(job).values():
        assert result.status == "failure"
        assert "git clone failed" in result.full_output


@pytest.mark.django_db(transaction=True)
def test_cancel_kills_the_builds_and_keeps_partial_output(engine_settings, repo):
    slow = ["sh", "-c", "echo started; sleep 60; echo late-$((1 + 1))"]
    job = claimed_job(repo, standard_cmd=slow, elide_cmd=slow)
    thread, outcome = run_in_thread_until_output(job, "started")
    cancelled_at = time.monotonic()
    assert cancel_job(job.pk) is not None
    thread.join(30)
    assert not thread.is_alive()
    assert time.monotonic() - cancelled_at < 5
    assert outcome["v"] == "cancelled"
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    sides = results(job)
    assert all(r.status == "failure" and r.error == "cancelled" for r in sides.values())
    assert "started" in (sides["standard"].full_output + sides["elide"].full_output)
    assert "late-2" not in sides["standard"].full_output


@pytest.mark.django_db(transaction=True)
def test_stop_interrupts_without_finishing_the_job(engine_settings, repo):
    slow = ["sh", "-c", "echo started; sleep 60"]
    job = claimed_job(repo, standard_cmd=slow, elide_cmd=slow)
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    started = time.monotonic()
    assert run_job(job.pk, stop=stop) == "interrupted"
    assert time.monotonic() - started < 10
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING  # the worker requeues it
    assert "started" in results(job)["standard"].output


@pytest.mark.django_db(transaction=True)
def test_a_stalled_copy_leaves_a_job_claimed_again_elsewhere_alone(engine_settings, repo):
    """A worker presumed dead whose race still runs must not finish the new attempt's job."""
    slow = ["sh", "-c", "echo started; sleep 60"]
    job = claimed_job(repo, standard_cmd=slow, elide_cmd=slow)
    thread, outcome = run_in_thread_until_output(job, "started")
    # The pool requeued the job and another worker claimed it: new attempt, new results.
    Job.objects.filter(pk=job.pk).update(worker_id="other-worker", attempts=2)
    BuildResult.objects.filter(job_id=job.pk).delete()
    new_rows = [
        BuildResult.objects.create(job_id=job.pk, build_type=side, output="new attempt")
        for side in ("elide", "standard")
    ]
    thread.join(30)
    assert not thread.is_alive()
    assert outcome["v"] == "interrupted"
    job.refresh_from_db()
    assert (job.status, job.worker_id, job.completed_at) == (
        JobStatus.RUNNING,
        "other-worker",
        None,
    )
    for row in new_rows:
        row.refresh_from_db()
        assert (row.status, row.output) == ("pending", "new attempt")


@pytest.mark.django_db(transaction=True)
def test_a_second_attempt_replaces_the_first_attempts_results(engine_settings, repo):
    job = claimed_job(repo, standard_cmd=FAST_OK, elide_cmd=FAST_OK)
    BuildResult.objects.create(job=job, build_type="standard", output="old attempt")
    assert run_job(job.pk) == "completed"
    sides = results(job)
    assert len(sides) == 2
    assert "old attempt" not in sides["standard"].full_output


@pytest.mark.django_db(transaction=True)
def test_a_job_that_is_not_running_is_left_alone(engine_settings, repo):
    job = create_job(str(repo), standard_cmd=FAST_OK, elide_cmd=FAST_OK)
    cancel_job(job.pk)
    assert run_job(job.pk) == "cancelled"
    assert not BuildResult.objects.filter(job_id=job.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_races_in_threads_of_one_process(engine_settings, repo):
    jobs = [claimed_job(repo, standard_cmd=FAST_OK, elide_cmd=FAST_OK) for _ in range(2)]
    outcomes = []
    threads = [threading.Thread(target=lambda j=j: outcomes.append(run_job(j.pk))) for j in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes == ["completed", "completed"]
    for job in jobs:
        job.refresh_from_db()
        assert job.status == JobStatus.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_a_race_with_no_elide_binary_is_void_and_leaves_the_headline_and_win_counts(
    engine_settings, repo, tmp_path
):
    from jobs.leaderboard.figures import totals
    from jobs.leaderboard.headline import headline
    from tests.factories import make_race
    from tests.toolchains import toolchain

    make_race("acme/counted", elide_ms=20_000, standard_ms=40_000)
    make_race("acme/other", elide_ms=30_000, standard_ms=33_000)
    before = (headline(), totals())
    engine_settings.ARENA_MVN = toolchain(tmp_path / "mvn-bin", "mvn", seconds=(0.05,))
    engine_settings.ARENA_ELIDE = str(tmp_path / "nowhere" / "elide")
    job = claimed_job(repo, iterations=1, warmups=0)
    assert run_job(job.pk) == "completed"
    job.refresh_from_db()
    reason = f"elide is not installed on worker test-worker (looked for {tmp_path}/nowhere/elide)"
    assert (job.verdict, job.void_reason, job.winner, job.speedup) == ("void", reason, None, None)
    sides = results(job)
    # The race was void before the standard side built: it is recorded as not run.
    assert sides["standard"].status == "failure"
    assert sides["standard"].error_kind == "infrastructure"
    assert sides["standard"].error.startswith("not run: the race is void")
    assert sides["standard"].run_times_ms == []
    assert sides["elide"].status == "failure" and sides["elide"].error_kind == "infrastructure"
    after_headline, after_totals = headline(), totals()
    assert after_headline == before[0]
    assert after_totals == {**before[1], "void": 1}
    for key in ("races", "elide_wins", "standard_wins", "ties", "win_rate"):
        assert after_totals[key] == before[1][key]
