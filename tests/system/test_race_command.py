"""`manage.py race`: a foreground race end to end, its output and its exit codes."""

import pytest
from django.test import Client

from jobs.models import BuildResult, Job, JobStatus
from tests.repos import head_sha, make_git_repo, maven_project_files
from tests.support import require_tool
from tests.toolchains import toolchain, with_jar

STANDARD_BUILD = "echo compiling; sleep 0.4; echo BUILD SUCCESS"
ELIDE_BUILD = 'echo "quoted arg"; sleep 0.2; echo BUILD SUCCESS'


@pytest.fixture
def race_env(tmp_path):
    require_tool("bwrap", "builds run in the sandbox")
    return {
        "ARENA_WORKSPACE_ROOT": str(tmp_path / "workspaces"),
        "ARENA_MAVEN_ARGS": "-o -Dmaven.repo.local=/usr/share/maven-repo",
        "ARENA_ELIDE": "elide-not-installed",
    }


@pytest.fixture
def repo(tmp_path):
    return make_git_repo(tmp_path / "hello-maven", maven_project_files())


@pytest.mark.django_db(transaction=True)
def test_race_with_custom_commands_records_and_prints_a_table(manage, race_env, repo):
    done = manage(
        "race", str(repo), "--iterations", "3", "--mode", "sequential",
        "--standard-cmd", f"sh -c '{with_jar(STANDARD_BUILD)}'",
        "--elide-cmd", f"sh -c '{with_jar(ELIDE_BUILD)}'",
        env=race_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    job = Job.objects.get()
    assert job.status == JobStatus.COMPLETED
    assert job.worker_id.startswith("race@")
    # The command's row in the pool is a finished command-line run, not a dead worker.
    workers = Client().get("/workers/").content.decode()
    assert job.worker_id in workers and "command-line run" in workers
    assert "no heartbeat" not in workers and ">0</span> of 0 workers alive" in workers
    assert Client().get("/api/status").json()["checks"]["workers"]["total"] == 0
    assert job.commit_sha == head_sha(repo)
    assert job.iterations == 3 and job.winner == "elide"
    assert job.standard_cmd == ["sh", "-c", with_jar(STANDARD_BUILD)]
    results = {r.build_type: r for r in BuildResult.objects.filter(job=job)}
    assert all(len(r.run_times_ms) == 3 and r.status == "success" for r in results.values())
    assert "quoted arg" in results["elide"].full_output
    assert f"race {job.pk}" in out
    assert "standard: building (run 2/3)" in out
    table = out[out.index("side ") :]
    assert "standard  success" in table and "elide     success" in table
    assert "speedup: " in table and "x (90% CI " in table and "% faster" in table
    assert "verdict: elide" in table


@pytest.mark.django_db(transaction=True)
def test_race_with_missing_elide_is_void_before_maven_builds_and_exits_zero(manage, race_env, repo):
    require_tool("mvn", "the standard side builds with Maven")
    done = manage("race", str(repo), env=race_env)
    assert done.returncode == 0, done.stderr
    reason = "elide is not installed on worker race@"
    not_run = "not run: the race is void because the elide side could not run"
    assert f"elide: failure: {reason}" in done.stdout
    assert "standard  failure" in done.stdout and not_run in done.stdout
    assert f"could not run: {reason}" in done.stdout and "verdict: void" in done.stdout
    results = {r.build_type: r for r in BuildResult.objects.all()}
    assert results["standard"].error == not_run and results["standard"].run_times_ms == []
    assert "mvn -B package" not in results["standard"].full_output
    assert results["elide"].error.startswith(reason)
    assert results["elide"].error.endswith("(looked for elide-not-installed)")
    assert results["elide"].error_kind == "infrastructure"


@pytest.mark.django_db(transaction=True)
def test_race_that_cannot_clone_exits_non_zero_with_one_line(manage, race_env, tmp_path):
    empty = tmp_path / "not-a-repo"
    empty.mkdir()
    done = manage("race", str(empty), "--standard-cmd", "true", "--elide-cmd", "true",
                  env=race_env)  # fmt: skip
    assert done.returncode == 1
    error = done.stderr.strip()
    assert error.startswith("CommandError: the race could not run: git clone failed:")
    assert "Traceback" not in done.stderr and len(error.splitlines()) == 1
    assert Job.objects.get().status == JobStatus.FAILED


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["https://example.com/a/b"], "are not accepted"),
        (["--iterations", "0"], "expected a whole number of at least 1"),
        (["--mode", "sideways"], "invalid choice"),
        (["--standard-cmd", "sh -c 'unterminated"], "--standard-cmd: No closing quotation"),
        (["--ref", "--evil"], "expected one argument"),
        (["--ref", "a..b"], "The ref may contain"),
    ],
)
def test_bad_input_is_a_clear_error_and_creates_nothing(manage, race_env, repo, args, message):
    argv = args if args[0].startswith("https") else [str(repo), *args]
    done = manage("race", *argv, env=race_env)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_race_without_options_measures_like_the_web_adaptive_runs_and_one_warm_up(
    manage, race_env, repo, tmp_path
):
    maven = toolchain(tmp_path / "mvn-bin", "mvn", seconds=(0.05,))
    done = manage(
        "race", str(repo), "--elide-cmd", "sh -c 'echo BUILD SUCCESS'",
        env={**race_env, "ARENA_MVN": maven},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    job = Job.objects.get()
    assert (job.iterations, job.adaptive, job.warmups) == (10, True, 1)
    assert "up to 10 run(s) (adaptive), 1 warm-up(s)" in done.stdout
    for result in BuildResult.objects.filter(job=job):
        # 50 ms against an echo: clear at the first look, after 3 runs a side.
        assert len(result.run_times_ms) == 3, result.build_type
        output = result.full_output
        assert "=== warm-up 1/1 (not measured) ===" in output
        assert "=== run 3 of at most 10 ===" in output and "run 4" not in output
