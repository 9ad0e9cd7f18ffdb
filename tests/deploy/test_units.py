"""deploy/: the systemd units pass `systemd-analyze verify`, gunicorn's config loads the app,
and the backup script keeps the newest copies of a live database."""

import sqlite3
import subprocess
import time

import pytest

from tests.support import PROJECT_DIR, manage_py, require_tool, sqlite_env

DEPLOY = PROJECT_DIR / "deploy"
INSTALL_ROOT = "/srv/arena"  # where docs/DEPLOY.md installs the code
UNITS = ["arena-web.service", "arena-worker@.service", "arena-backup.service", "arena-backup.timer"]


def verify(unit_dir, *names):
    """`systemd-analyze verify` of units in `unit_dir`: (exit status, what it complained of)."""
    require_tool("systemd-analyze", "the deploy units are checked with it")
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        cwd=unit_dir, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.returncode, (done.stdout + done.stderr).strip()


@pytest.fixture
def installed_units(tmp_path):
    """The units as installed at this checkout: the paths they name must exist to verify."""
    for name in UNITS:
        text = (DEPLOY / name).read_text()
        assert INSTALL_ROOT in text or name.endswith(".timer"), f"{name} names no install path"
        (tmp_path / name).write_text(text.replace(INSTALL_ROOT, str(PROJECT_DIR)))
    return tmp_path


def test_every_unit_verifies_without_a_complaint(installed_units):
    status, complaints = verify(
        installed_units,
        "arena-web.service",
        "arena-worker@build-1.service",
        "arena-backup.service",
        "arena-backup.timer",
    )
    assert (status, complaints) == (0, "")


def test_verify_reports_a_misspelt_key_and_a_missing_program(installed_units):
    """The check above can fail: a typo and a program that is not there are both reported."""
    unit = (installed_units / "arena-web.service").read_text()
    broken = unit.replace("ProtectSystem=", "ProtectSytem=").replace(
        f"{PROJECT_DIR}/.venv/bin/gunicorn", "/nonexistent/gunicorn"
    )
    (installed_units / "broken.service").write_text(broken)
    status, complaints = verify(installed_units, "broken.service")
    assert status != 0
    assert "ProtectSytem" in complaints and "/nonexistent/gunicorn" in complaints


def test_gunicorn_config_loads_the_app():
    done = subprocess.run(
        [str(PROJECT_DIR / ".venv/bin/gunicorn"), "--check-config", "--config",
         str(DEPLOY / "gunicorn.conf.py"), "buildarena.wsgi"],
        cwd=PROJECT_DIR, env=sqlite_env(PROJECT_DIR / "unused.db"), capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_backup_script_keeps_the_newest_copies(tmp_path):
    live = tmp_path / "build-arena.db"
    manage_py(live, "migrate", "--noinput")
    manage_py(live, "seed_mock_data")
    backups = tmp_path / "backups"
    for _ in range(3):
        subprocess.run(
            [str(DEPLOY / "backup"), str(backups)],
            env={**sqlite_env(live), "ARENA_BACKUP_KEEP": "2"}, cwd=PROJECT_DIR,
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        time.sleep(1.1)  # copies are named by the second they were taken
    kept = sorted(backups.glob("arena-*.db"))
    assert len(kept) == 2
    for copy in kept:
        db = sqlite3.connect(copy)
        try:
            assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 5
        finally:
            db.close()
