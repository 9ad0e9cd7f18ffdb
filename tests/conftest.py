"""Shared fixtures.

ARENA_STRICT_TESTS=1 (set by .ci/run) turns every skip into a failure, so that CI proves
with the real tools what a laptop without them may skip.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.repos import make_git_repo, maven_project_files
from tests.support import PROJECT_DIR, searchable

STRICT = os.environ.get("ARENA_STRICT_TESTS") == "1"

# One hypothesis profile for every property test: no deadline (a shared 2-core machine makes
# timings noisy), no example database written into the tree, and function-scoped fixtures
# (settings, db) allowed because each example resets what it touches. A test sets only how
# many examples it draws.
settings.register_profile(
    "arena",
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("arena")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under ARENA_STRICT_TESTS=1: {reason}"


# The host noise rule (workers/engine/measuring/noise.py) is off in every test but those marked
# `host_noise` (tests/workers/engine/racing/test_race_noise_rule.py), which set their own
# threshold and make their own load: on a shared CI machine the other tests' processes would
# make races that test something else repeat their runs or end void. Subprocesses
# (manage.py race, run_worker) get a threshold no host reaches; in-process races see no run as
# noisy.
NOISE_OFF = "1000"


@pytest.fixture(autouse=True)
def noise_rule_off(request, settings, monkeypatch):
    if request.node.get_closest_marker("host_noise"):
        return
    from workers.engine.measuring.noise import HostNoise

    settings.ARENA_NOISE_MAX_CPU = float(NOISE_OFF)
    monkeypatch.setenv("ARENA_NOISE_MAX_CPU", NOISE_OFF)
    monkeypatch.setattr(HostNoise, "noisy", lambda self, max_cpu: False)


_OWN_BASETEMP = None


def pytest_configure(config):
    """Temporary directories below one of this session's own, not /tmp/pytest-of-<user>.

    A worker running as root builds as an unprivileged account, and bubblewrap opens the
    workspace as that account: every directory above it must be searchable. Every pytest
    session resets /tmp/pytest-of-<user> to mode 0700, so other test runs on the same host
    would lock the build account out of this one's workspaces at random moments.
    """
    global _OWN_BASETEMP
    if config.option.basetemp is None:
        import tempfile

        _OWN_BASETEMP = Path(tempfile.mkdtemp(prefix="arena-tests-"))
        _OWN_BASETEMP.chmod(0o711)
        config.option.basetemp = str(_OWN_BASETEMP / "t")


def pytest_unconfigure(config):
    if _OWN_BASETEMP is not None:
        from workers.engine.checkout.trees import remove_tree
        from workers.engine.isolation.quota import unmount_all

        unmount_all(_OWN_BASETEMP)  # the quota filesystems of races a test killed
        remove_tree(_OWN_BASETEMP)


@pytest.fixture
def tmp_path(tmp_path):
    """pytest's tmp_path, searchable by the build account (pytest makes it mode 0700)."""
    return searchable(tmp_path)


@pytest.fixture(autouse=True)
def _static_files_without_manifest(settings):
    """Pages render in tests without `collectstatic`: no manifest of hashed names needed."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: no figures or exports cached by another test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _no_race_state_listener_left():
    """A poll outside a transaction on PostgreSQL starts this process's race state listener
    (jobs/live/race_state_cache.py); it is stopped after the test, so no test inherits another's
    kept states and no connection outlives the test database."""
    yield
    from jobs.live import race_state_cache

    race_state_cache.shutdown()


@pytest.fixture
def subprocess_env(settings, django_db_blocker):
    """Environment for a child process (manage.py ...) that uses the test database."""
    from django.db import connection

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["DJANGO_SETTINGS_MODULE"] = "buildarena.settings"
    env["DEBUG"] = "1"
    env["ARENA_ALLOW_LOCAL_REPOS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    # No noise-floor calibration (seconds of CPU under the measurement lock) in child workers,
    # unless a test turns it on (tests/system/test_shipped_worker.py).
    env["ARENA_CALIBRATION_INTERVAL"] = "0"
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env.pop("DATABASE_URL", None)
        env["DATABASE_PATH"] = str(db["NAME"])
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}"
            f":{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env


@pytest.fixture
def manage(subprocess_env):
    """Run `manage.py ARGS` in a child process against the test database."""

    def run(*args, timeout=120, check=False, env=None):
        return subprocess.run(
            [sys.executable, str(PROJECT_DIR / "manage.py"), *args],
            env={**subprocess_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            cwd=PROJECT_DIR,
        )

    return run


@pytest.fixture
def allow_local_repos(settings):
    settings.ARENA_ALLOW_LOCAL_REPOS = True
    return settings


@pytest.fixture
def maven_repo(tmp_path):
    """A git repository holding a small Maven project that builds offline."""
    return make_git_repo(tmp_path / "hello-maven", maven_project_files())


@pytest.fixture
def uncached(settings):
    """Every request computes its leaderboard and exports afresh: nothing cached between them."""
    settings.ARENA_LEADERBOARD_CACHE_SECONDS = 0
    settings.ARENA_EXPORT_CACHE_SECONDS = 0
    return settings


@pytest.fixture
def no_limits(uncached, settings):
    """Pages free of the submission and export rate limits, nothing cached."""
    settings.ARENA_JOB_RATE_LIMIT = 0
    settings.ARENA_EXPORT_RATE_LIMIT = 0
    return settings
