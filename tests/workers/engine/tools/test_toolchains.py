"""The worker's toolchain probe: real tools of this host, bounded in time and output."""

import time

import pytest

from tests.support import require_tool
from tests.toolchains import toolchain
from workers.engine import EngineConfig
from workers.engine.failures import EnvironmentFailure
from workers.engine.tools.toolchains import list_jdks, probe, run_bounded, runs_elide, summary


def test_probe_finds_this_hosts_java_maven_and_a_stand_in_elide(tmp_path):
    require_tool("mvn", "the probe runs mvn -v")
    elide = toolchain(tmp_path / "elide-bin", "elide")
    config = EngineConfig(workspace_root=tmp_path).with_changes(
        toolchains__mvn="mvn", toolchains__elide=elide, toolchains__gradle="no-gradle-here"
    )
    found = probe(config)
    assert found["mvn"]["ok"] and found["mvn"]["version"].startswith("Apache Maven 3")
    assert found["java"]["ok"] and "version" in found["java"]["version"]
    assert found["elide"] == {"ok": True, "path": elide, "version": "Elide 1.0.0-test (stand-in)"}
    assert found["gradle"] == {"ok": False, "error": "no-gradle-here not found on PATH"}
    assert runs_elide(found)
    assert "no gradle" in summary(found) and "Elide 1.0.0-test" in summary(found)
    assert not runs_elide(probe(config.with_changes(toolchains__elide="elide-missing")))


def test_provisioned_maven_and_gradle_are_reported_as_such_without_running_anything(tmp_path):
    found = probe(
        EngineConfig(workspace_root=tmp_path).with_changes(toolchains__maven_default="3.9.10")
    )
    assert found["mvn"] == {
        "ok": True,
        "provisioned": True,
        "version": "provisioned per project (default Maven 3.9.10)",
    }
    assert found["gradle"]["version"] == "provisioned per project (from its wrapper properties)"
    assert "provisioned per project (default Maven 3.9.10)" in summary(found)


def test_jdks_are_listed_once_each_with_their_release_version(tmp_path):
    for name, version in (("jdk-a", "17.0.1"), ("jdk-b", "25")):
        (tmp_path / name / "bin").mkdir(parents=True)
        (tmp_path / name / "bin" / "java").write_text("")
        (tmp_path / name / "release").write_text(f'JAVA_VERSION="{version}"\n')
    (tmp_path / "jdk-a-alias").symlink_to(tmp_path / "jdk-a")
    (tmp_path / "not-a-jdk").mkdir()
    assert list_jdks(tmp_path) == [
        {"name": "jdk-a", "version": "17.0.1"},
        {"name": "jdk-b", "version": "25"},
    ]


def test_a_probe_that_hangs_or_floods_is_cut_off(tmp_path):
    started = time.monotonic()
    with pytest.raises(EnvironmentFailure, match="timed out"):
        run_bounded(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.5)
    assert time.monotonic() - started < 5
    code, text = run_bounded(["sh", "-c", "yes | head -c 5000000"], timeout=20, output_cap=1000)
    assert code == 0 and text == "y\n" * 500
