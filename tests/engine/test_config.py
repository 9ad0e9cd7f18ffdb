"""EngineConfig from the ARENA_* settings."""

from pathlib import Path

import pytest

from workers.engine import EngineConfig
from workers.recording import engine_config


def test_settings_become_the_engine_configuration(settings, tmp_path):
    settings.ARENA_WORKSPACE_ROOT = tmp_path / "ws"
    settings.ARENA_MAVEN_ARGS = "-o '-Dmaven.repo.local=/path with space/repo'"
    settings.ARENA_GRADLE_ARGS = "--offline"
    settings.ARENA_ELIDE = "/opt/elide/elide"
    settings.ARENA_BUILD_NETWORK = "off"
    settings.ARENA_BUILD_TIMEOUT = 42
    settings.ARENA_BUILD_ENV_ALLOW = ["HTTPS_PROXY"]
    config = engine_config()
    assert config.workspace_root == Path(tmp_path / "ws")
    assert config.maven_args == ("-o", "-Dmaven.repo.local=/path with space/repo")
    assert config.gradle_args == ("--offline",)
    assert config.elide == "/opt/elide/elide"
    assert config.network == "off"
    assert config.build_timeout == 42.0
    assert config.env_allow == ("HTTPS_PROXY",)
    assert config.sandbox == "auto" and config.build_timeout != 900


def test_bad_modes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="sandbox must be one of"):
        EngineConfig(workspace_root=tmp_path, sandbox="docker")
    with pytest.raises(ValueError, match="network must be one of"):
        EngineConfig(workspace_root=tmp_path, network="maybe")
