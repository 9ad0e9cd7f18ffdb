"""Races through the engine with real toolchains: Maven, Gradle, a stand-in for Elide, git."""

import time

import pytest

from tests.repos import git, gradle_project_files, head_sha, make_git_repo, maven_project_files
from tests.support import require_tool
from tests.toolchains import toolchain, write_jar
from workers.engine import RaceListener, RaceSpec, run_race
from workers.engine.tools.recipes import NO_BUILD_FILE

FAKE_ELIDE = """#!/bin/sh
# Stands in for the elide binary: says what it was asked, "builds" the jar lying beside it.
case "$1" in
  --version) echo "Elide 1.0.0-test (fake)";;
  build) test -f pom.xml || {{ echo "no pom.xml"; exit 2; }}
         mkdir -p .dev/artifacts/jvm/jars && cp "$(dirname "$0")/app.jar" .dev/artifacts/jvm/jars/
         echo "elide-fake: build $*"; {bell};;
  *) echo "unknown command $1"; exit 64;;
esac
"""


class Collect(RaceListener):
    def __init__(self):
        self.output = {}
        self.states = []
        self.started = {}

    def on_output(self, side, text, elapsed_ms):
        self.output[side] = self.output.get(side, "") + text

    def on_state(self, side, state):
        self.states.append((side, state))

    def on_side_started(self, side, tool, tool_version):
        self.started[side] = (tool, tool_version)


@pytest.fixture
def config(config, tmp_path):
    return config.with_changes(
        toolchains__mvn="mvn",
        toolchains__gradle="gradle",
        toolchains__maven_args=("-o", "-Dmaven.repo.local=/usr/share/maven-repo"),
        toolchains__gradle_args=("--offline",),
        toolchains__elide=str(tmp_path / "no-elide-here" / "elide"),
    )


def fake_elide(tmp_path, bell='echo "BUILD SUCCESS"'):
    path = tmp_path / "elide-install" / "elide"
    path.parent.mkdir(parents=True)
    path.write_text(FAKE_ELIDE.format(bell=bell))
    path.chmod(0o755)
    write_jar(path.parent / "app.jar", ["dev/arena/test/Hello.class"])
    return str(path)


def race(config, repo, **spec):
    listener = Collect()
    spec.setdefault("cache", "cold")  # no prepare build: these tests are about the runs
    outcome = run_race(RaceSpec(str(repo), **spec), config, listener)
    return outcome, listener


def test_maven_project_races_for_real(config, tmp_path):
    require_tool("mvn", "the standard side builds with Maven")
    repo = make_git_repo(tmp_path / "hello-maven", maven_project_files())
    outcome, seen = race(config.with_changes(toolchains__elide=fake_elide(tmp_path)), repo)
    assert outcome.status == "completed"
    assert outcome.commit_sha == head_sha(repo)
    standard, elide = outcome.sides["standard"], outcome.sides["elide"]
    assert standard.status == "success", seen.output["standard"][-3000:]
    assert standard.tool == "maven" and standard.tool_version.startswith("Apache Maven 3")
    assert standard.bell_rung and standard.exit_code == 0
    assert standard.duration_ms == standard.run_times_ms[0] > 0
    assert "$ /usr/bin/mvn -B package -DskipTests -o" in seen.output["standard"]
    assert "BUILD SUCCESS" in seen.output["standard"]
    assert standard.artifacts == {"files": 1, "bytes": standard.artifacts["bytes"], "classes": 1}
    assert standard.class_names == {"dev/arena/test/Hello.class"}
    assert elide.status == "success", seen.output["elide"][-3000:]
    # Workspaces removed afterwards (.locks holds the measurement lock).
    assert [p.name for p in config.workspace_root.iterdir()] == [".locks"]


def test_missing_elide_makes_the_race_void_before_maven_builds(config, tmp_path):
    require_tool("mvn", "the standard side builds with Maven")
    repo = make_git_repo(tmp_path / "hello-maven", maven_project_files())
    config = config.with_changes(toolchains__elide="elide-missing-here", worker_name="build-2")
    outcome, seen = race(config, repo)
    assert outcome.status == "completed"
    standard, elide = outcome.sides["standard"], outcome.sides["elide"]
    reason = "elide is not installed on worker build-2 (looked for elide-missing-here)"
    assert elide.status == "failure" and elide.error_kind == "infrastructure"
    assert elide.error == reason
    assert elide.run_times_ms == [] and elide.tool == "elide"
    assert f"[arena] {reason}" in seen.output["elide"]
    assert outcome.verdict.verdict == "void" and outcome.verdict.void_reason == reason
    assert outcome.speedup is None and outcome.verdict.winner is None
    # The standard side never built: a void race can never count.
    not_run = "not run: the race is void because the elide side could not run"
    assert standard.status == "failure" and standard.error_kind == "infrastructure"
    assert standard.error == not_run and standard.run_times_ms == []
    assert "mvn -B package" not in seen.output["standard"]
    assert [p.name for p in config.workspace_root.iterdir()] == [".locks"]


def test_elide_recipe_builds_the_pom_with_the_configured_executable(config, tmp_path):
    repo = make_git_repo(tmp_path / "hello-maven", maven_project_files())
    config = config.with_changes(
        toolchains__elide=fake_elide(tmp_path), toolchains__elide_build_args=("--fast",)
    )
    outcome, seen = race(config, repo, standard_cmd=["sh", "-c", "echo BUILD SUCCESS"])
    elide = outcome.sides["elide"]
    assert elide.status == "success", seen.output["elide"]
    assert elide.tool == "elide" and elide.tool_version == "Elide 1.0.0-test (fake)"
    output = seen.output["elide"]
    assert "elide-fake: build build --fast" in output and "adopt" not in output
    assert elide.bell_rung


def test_elide_bell_reporting_failure_fails_the_side(config, tmp_path):
    repo = make_git_repo(tmp_path / "hello-maven", maven_project_files())
    bell = r"printf '\360\237\224\224 BUILD COMPLETE \360\237\224\224\nStatus: FAILURE\n'"
    config = config.with_changes(toolchains__elide=fake_elide(tmp_path, bell=bell))
    outcome, seen = race(config, repo, standard_cmd=["true"])
    elide = outcome.sides["elide"]
    assert "elide-fake: build build" in seen.output["elide"]
    assert elide.exit_code == 0 and elide.bell_rung
    assert elide.status == "failure"


def test_gradle_project_is_detected_and_built_with_gradle(config, tmp_path):
    require_tool("gradle", "the standard side builds with Gradle")
    repo = make_git_repo(tmp_path / "hello-gradle", gradle_project_files())
    outcome, seen = race(config, repo, elide_cmd=["true"])
    standard = outcome.sides["standard"]
    assert standard.status == "success", seen.output["standard"][-3000:]
    assert standard.tool == "gradle" and standard.tool_version.startswith("Gradle ")
    assert "$ /usr/bin/gradle build -x test --offline" in seen.output["standard"]
    assert "BUILD SUCCESSFUL" in seen.output["standard"] and standard.bell_rung


def test_a_build_that_exits_0_with_no_jar_fails_and_mvnw_is_not_run(config, tmp_path):
    files = {**maven_project_files(), "mvnw": "#!/bin/sh\necho Apache Maven 9.9.9 wrapper $*\n"}
    repo = make_git_repo(tmp_path / "wrapped", files, executable=("mvnw",))
    config = config.with_changes(toolchains__mvn=toolchain(tmp_path / "mvn-bin", "mvn", jar=False))
    outcome, seen = race(config, repo, elide_cmd=["true"])
    assert "wrapper" not in seen.output["standard"]
    assert f"$ {config.toolchains.mvn} -B package -DskipTests -o" in seen.output["standard"]
    standard = outcome.sides["standard"]
    assert standard.exit_code == 0
    assert standard.status == "failure" and standard.error == "no jar produced"
    assert standard.error_kind == "build"
    assert standard.artifacts == {"files": 0, "bytes": 0, "classes": 0}
    assert "[arena] no jar produced" in seen.output["standard"]
    # A build failure is a forfeit, not a void race; but the custom elide side left no jar
    # either, and a side with no jar never wins.
    assert outcome.verdict.verdict == "inconclusive" and outcome.verdict.winner is None


def test_no_build_file_fails_both_sides_clearly(config, tmp_path):
    repo = make_git_repo(tmp_path / "empty", {"README.md": "nothing to build\n"})
    outcome, seen = race(config.with_changes(toolchains__elide=fake_elide(tmp_path)), repo)
    assert outcome.status == "completed"
    for side in ("standard", "elide"):
        assert outcome.sides[side].status == "failure"
        assert outcome.sides[side].error == NO_BUILD_FILE == "no pom.xml or build.gradle found"
        assert NO_BUILD_FILE in seen.output[side]


def test_clone_of_a_missing_repository_fails_the_race_with_gits_message(config, tmp_path):
    outcome, _ = race(config, tmp_path / "does-not-exist")
    assert outcome.status == "failed"
    assert outcome.error.startswith("git clone failed: ")
    assert "does not exist" in outcome.error or "not appear to be a git repository" in outcome.error
    assert outcome.sides == {}


def test_ref_branch_tag_and_commit_are_honoured(config, tmp_path):
    repo = make_git_repo(tmp_path / "refs", {"pom.xml": "v1\n"})
    first = head_sha(repo)
    git(repo, "tag", "v1")
    (repo / "pom.xml").write_text("v2\n")
    git(repo, "commit", "-qam", "second")
    git(repo, "branch", "feature")
    (repo / "pom.xml").write_text("v3\n")
    git(repo, "commit", "-qam", "third")
    cat = ["cat", "pom.xml"]
    for ref, expected in (("", "v3"), ("feature", "v2"), ("v1", "v1"), (first, "v1")):
        outcome, seen = race(config, repo, ref=ref, standard_cmd=cat, elide_cmd=cat)
        assert outcome.status == "completed", (ref, outcome.error)
        assert f"\n{expected}\n" in seen.output["standard"], ref
    outcome, _ = race(config, repo, ref="no-such-branch", standard_cmd=cat, elide_cmd=cat)
    assert outcome.status == "failed" and "no-such-branch" in outcome.error


def test_timeout_kills_the_sandboxed_tree_within_seconds(config, tmp_path):
    repo = make_git_repo(tmp_path / "slow", maven_project_files())
    stubborn = ["sh", "-c", "sh -c 'trap \"\" TERM; sleep 60' & trap '' TERM; sleep 60"]
    started = time.monotonic()
    outcome, _ = race(config, repo, timeout_seconds=1, standard_cmd=stubborn, elide_cmd=["true"])
    assert time.monotonic() - started < 10
    standard = outcome.sides["standard"]
    assert standard.status == "failure" and "timed out after 1 s" in standard.error
    assert outcome.sides["elide"].status == "success"


def test_output_cap_applies_per_side(config, tmp_path):
    repo = make_git_repo(tmp_path / "noisy", maven_project_files())
    noisy = ["sh", "-c", "seq 1 200000; echo BUILD SUCCESS"]
    config = config.with_changes(limits__output_cap_chars=20_000, limits__output_tail_chars=5_000)
    outcome, seen = race(config, repo, standard_cmd=noisy, elide_cmd=["echo", "short"])
    output = seen.output["standard"]
    assert len(output) < 21_000
    assert "characters cut here" in output
    assert output.rstrip().endswith("200000\nBUILD SUCCESS")
    assert outcome.sides["standard"].status == "success"  # the bell is read before the cap
    assert outcome.sides["standard"].bell_rung
    assert "cut" not in seen.output["elide"]


def test_readable_git_errors():
    from workers.engine.checkout.gitclone import readable_git_error

    prompt = (
        "Cloning into 'checkout'...\n"
        "fatal: could not read Username for 'https://github.com': terminal prompts disabled\n"
    )
    assert readable_git_error(prompt) == (
        "the repository does not exist or is not public (git asked for credentials)"
    )
    assert readable_git_error(
        "Cloning into 'x'...\nfatal: repository '/nope' does not exist\n"
    ) == ("fatal: repository '/nope' does not exist")
    assert readable_git_error("something odd\nlast words\n") == "last words"


def test_workspaces_left_by_a_dead_process_are_removed(tmp_path):
    import os
    import subprocess

    from workers.engine.checkout.workspace import OWNER_FILE, Workspace, remove_abandoned

    root = tmp_path / "workspaces"
    mine = Workspace(root / "alive-race").create()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (root / "dead-race").mkdir()
    with open(f"/proc/{os.getpid()}/stat") as stat:  # a dead pid with a live-looking owner
        start = stat.read().rsplit(")", 1)[1].split()[19]
    (root / "dead-race" / OWNER_FILE).write_text(f"{dead.pid} {start}")
    (root / "recycled-pid").mkdir()
    (root / "recycled-pid" / OWNER_FILE).write_text(f"{os.getpid()} 1")
    (root / "old-without-owner").mkdir()
    os.utime(root / "old-without-owner", (0, 0))
    (root / "new-without-owner").mkdir()
    kept = Workspace(root / "kept-for-debugging").create()
    kept.keep()
    assert remove_abandoned(root) == 3
    assert sorted(p.name for p in root.iterdir()) == [
        "alive-race", "kept-for-debugging", "new-without-owner"
    ]  # fmt: skip
    assert mine.checkout.parent.exists()
