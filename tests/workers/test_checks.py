"""The host checks (workers/checks.py) through `manage.py check`, as `make run` and a build
host's unit run them: a host that cannot sandbox builds is named, a healthy one passes."""

import subprocess
import sys

from tests.support import PROJECT_DIR, require_tool, sqlite_env


def check(tmp_path, **env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--tag", "arena_host", "--fail-level", "WARNING"],
        cwd=PROJECT_DIR, env={**sqlite_env(tmp_path / "db.sqlite3"), **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_host_without_bubblewrap_is_named_and_refused(tmp_path):
    done = check(tmp_path, ARENA_BWRAP="/nonexistent/bwrap", ARENA_ELIDE="no-such-elide")
    assert done.returncode == 1
    assert "arena.W001" in done.stderr and "/nonexistent/bwrap" in done.stderr


def test_a_host_that_can_build_passes(tmp_path):
    require_tool("bwrap", "builds run in the sandbox")
    done = check(tmp_path, ARENA_ELIDE="no-such-elide")
    assert done.returncode == 0, done.stderr
    assert "arena.W00" not in done.stdout + done.stderr


def test_make_run_and_the_worker_unit_run_the_checks():
    assert "manage.py check --tag arena_host" in (PROJECT_DIR / "bin/run-dev").read_text()
    unit = (PROJECT_DIR / "deploy/arena-worker@.service").read_text()
    assert "manage.py check --tag arena_host --fail-level WARNING" in unit
