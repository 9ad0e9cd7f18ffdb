"""A void race stops at once, and a failure of the worker's own environment voids the race.

Real races through the engine in the sandbox: the builds are shell commands (a minute's sleep
stands for a long standard build) and a stand-in `mvn` that fails as an old Maven does.
The wall-time bounds are 10 s against builds that would take 60 s: whether the race waited
for the build, not how fast the engine is.
"""

import pytest

from tests.support import new_marker, processes_with, require_tool, timed_race
from workers.engine import EngineConfig

MINUTE_BUILD = "sleep 60.{marker}; echo BUILD SUCCESS"
NOT_RUN = "not run: the race is void because the {side} side could not run"
OLD_MAVEN = """#!/bin/sh
# Stands in for a Maven older than the project's plugins require: fails as Maven 3.8 does.
case "$1" in
  -v|--version) echo "Apache Maven 3.8.7 (fake)"; exit 0;;
esac
echo "[ERROR] {message}"
echo "[INFO] BUILD FAILURE"
exit 1
"""
MAVEN_TOO_OLD = (
    "Failed to execute goal io.github.ascopes:protobuf-maven-plugin:5.1.7:generate (default) "
    "on project app: The plugin io.github.ascopes:protobuf-maven-plugin:5.1.7 requires Maven "
    "version 3.9.6 -> [Help 1]"
)
CLASS_FILE_TOO_NEW = (
    "Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.1:compile: "
    "Execution default-compile: Unsupported class file major version 69"
)


@pytest.fixture
def config(tmp_path):
    require_tool("bwrap", "builds run in the sandbox")
    return EngineConfig(workspace_root=tmp_path / "workspaces", worker_name="build-2").with_changes(
        toolchains__elide=str(tmp_path / "no-elide-here" / "elide"), timeouts__kill_grace=0.5
    )


def old_maven(tmp_path, message):
    path = tmp_path / "maven-install" / "mvn"
    path.parent.mkdir(parents=True)
    path.write_text(OLD_MAVEN.format(message=message))
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(("mode", "cache"), [("sequential", "warm"), ("parallel", "cold")])
def test_missing_elide_ends_the_race_void_before_a_minute_of_standard_builds(
    config, repo, mode, cache
):
    marker = new_marker()
    outcome, output, seconds = timed_race(
        config,
        repo,
        mode=mode,
        cache=cache,
        iterations=3,
        warmups=1,
        standard_cmd=["sh", "-c", MINUTE_BUILD.format(marker=marker)],
    )
    assert seconds < 10, output.get("standard", "")[-2000:]
    reason = "elide is not installed on worker build-2"
    assert outcome.status == "completed"
    assert outcome.verdict.verdict == "void" and outcome.verdict.void_reason.startswith(reason)
    standard = outcome.sides["standard"]
    assert standard.status == "failure" and standard.error_kind == "infrastructure"
    assert standard.error == NOT_RUN.format(side="elide")
    assert standard.run_times_ms == [] and standard.phases["prepare_ms"] is None
    # Neither the prepare build, nor a warm-up, nor a measured run started.
    assert marker not in output["standard"]
    assert f"[arena] {NOT_RUN.format(side='elide')}" in output["standard"]
    assert processes_with(marker) == []


def test_a_side_that_cannot_run_stops_the_other_sides_running_build(config, repo):
    """Parallel mode: the standard build is a minute in when the sandbox refuses the elide
    side (diagnosed from bwrap's own message); the standard build is killed at once."""
    marker = new_marker()
    refused = "bwrap: Creating new namespace failed: Operation not permitted"
    outcome, output, seconds = timed_race(
        config,
        repo,
        mode="parallel",
        cache="cold",
        standard_cmd=["sh", "-c", MINUTE_BUILD.format(marker=marker)],
        elide_cmd=["sh", "-c", f"sleep 1; echo '{refused}' >&2; exit 1"],
    )
    assert seconds < 10, output.get("standard", "")[-2000:]
    assert marker in output["standard"]  # it was running
    assert processes_with(marker) == []
    elide, standard = outcome.sides["elide"], outcome.sides["standard"]
    assert elide.error_kind == "infrastructure"
    assert "the sandbox refused to start the build: Creating new namespace failed" in elide.error
    assert outcome.verdict.verdict == "void" and outcome.verdict.void_reason == elide.error
    assert standard.error == NOT_RUN.format(side="elide")
    assert standard.error_kind == "infrastructure"


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        (MAVEN_TOO_OLD, "requires Maven 3.9.6 or newer"),
        (CLASS_FILE_TOO_NEW, "major version 69"),
    ],
)
@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_the_workers_own_toolchain_failing_the_project_voids_the_race_never_a_forfeit(
    config, repo, tmp_path, message, cause, cache
):
    """The engine diagnoses these as the worker's environment: the standard side could not
    run, so the race is void and the elide side (which would build) never starts a build."""
    config = config.with_changes(toolchains__mvn=old_maven(tmp_path, message))
    marker = new_marker()
    outcome, output, _ = timed_race(
        config, repo, cache=cache, elide_cmd=["sh", "-c", f"echo {marker}; echo BUILD SUCCESS"]
    )
    standard, elide = outcome.sides["standard"], outcome.sides["elide"]
    assert standard.status == "failure", output["standard"][-2000:]
    assert standard.error_kind == "infrastructure" and cause in standard.error
    assert outcome.verdict.verdict == "void" and outcome.verdict.winner is None
    assert outcome.verdict.void_reason == standard.error
    assert elide.error == NOT_RUN.format(side="standard")
    assert marker not in output["elide"]
