"""EngineConfig from the ARENA_* settings, and its groups."""

from pathlib import Path

import pytest

from workers.engine import EngineConfig
from workers.engine.config import Limits
from workers.recording import engine_config


def test_settings_become_the_engine_configuration(settings, tmp_path):
    settings.ARENA_WORKSPACE_ROOT = tmp_path / "ws"
    settings.ARENA_MAVEN_ARGS = ("-o", "-Dmaven.repo.local=/path with space/repo")
    settings.ARENA_ELIDE = "/opt/elide/elide"
    settings.ARENA_BUILD_NETWORK = "off"
    settings.ARENA_BUILD_TIMEOUT = 42.0
    settings.ARENA_BUILD_ENV_ALLOW = ("HTTPS_PROXY",)
    config = engine_config(worker_name="build-7")
    assert config.workspace_root == Path(tmp_path / "ws")
    assert config.toolchains.maven_args == ("-o", "-Dmaven.repo.local=/path with space/repo")
    assert config.toolchains.elide == "/opt/elide/elide"
    assert config.isolation.network == "off"
    assert config.timeouts.build == 42.0
    assert config.isolation.env_allow == ("HTTPS_PROXY",)
    assert config.isolation.sandbox == "bwrap" and config.worker_name == "build-7"


def test_a_setting_missing_from_django_settings_fails_loudly(settings):
    del settings.ARENA_BUILD_MAX_DISK_MB
    with pytest.raises(AttributeError):  # no default of its own hides a missing setting
        EngineConfig.from_settings(settings)


def test_changes_reach_into_one_group_and_leave_the_rest(tmp_path):
    config = EngineConfig(workspace_root=tmp_path)
    changed = config.with_changes(limits__disk_mb=32, limits__tmp_mb=8, keep_workspaces=True)
    assert changed.limits == Limits(disk_mb=32, tmp_mb=8)
    assert changed.keep_workspaces and changed.timeouts == config.timeouts
    assert config.limits.disk_mb == Limits().disk_mb  # frozen: the original is untouched
    with pytest.raises(TypeError, match="no group 'limit'"):
        config.with_changes(limit__disk_mb=32)
    with pytest.raises(TypeError, match="disk"):
        config.with_changes(limits__disk=32)
