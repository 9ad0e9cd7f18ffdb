"""Every ARENA_* setting, from its environment variable to what it changes.

buildarena/settings.py is evaluated in this process (runpy) against a made-up environment, so
each case reads the real settings module the way start-up does, in milliseconds. The table
below names, for every setting in buildarena/settings_table.py, a value other than its default
and where that value must show: the engine's configuration, a Django setting, the database
options. A setting added to the table without a row here fails the coverage test.
"""

import datetime
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured

from buildarena.settings_table import BY_NAME, READ_ELSEWHERE
from jobs.outcomes.verdict import Tolerances
from tests.support import PROJECT_DIR
from workers.engine.config import EngineConfig

SETTINGS_FILE = PROJECT_DIR / "buildarena" / "settings.py"
POSTGRES = {"DATABASE_URL": "postgres://arena@db.invalid:5432/arena"}
# Variables of the host that would change what the settings read.
HOST_VARIABLES = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "DATABASE_PATH")


def evaluate(env):
    """The settings module's names for `env` (plus a secret key), as a start-up would see them."""
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ARENA_") and name not in HOST_VARIABLES
    }
    environ = {"SECRET_KEY": "test-key", **base, **env}
    with mock.patch.dict(os.environ, environ, clear=True), mock.patch.dict(sys.modules):
        # As outside pytest, in production: the secret key rule does not excuse a test run.
        del sys.modules["pytest"]
        return runpy.run_path(str(SETTINGS_FILE))


def engine(ns):
    return EngineConfig.from_settings(SimpleNamespace(**ns))


def database(ns):
    return ns["DATABASES"]["default"]


def same(name):
    """The Django setting of the same name (read by the web, the scheduler or the suites)."""
    return lambda ns: ns[name]


# (variable, value, other variables it needs, where it shows, what shows there)
CASES = [
    # Database
    (
        "ARENA_SQLITE_BUSY_TIMEOUT_MS",
        "5000",
        {},
        lambda ns: database(ns)["OPTIONS"]["timeout"],
        5.0,
    ),
    ("ARENA_SQLITE_CONN_MAX_AGE", "0", {}, lambda ns: database(ns)["CONN_MAX_AGE"], 0),
    (
        "ARENA_POSTGRES_PREPARE",
        "0",
        POSTGRES,
        lambda ns: database(ns)["OPTIONS"]["prepare_threshold"],
        None,
    ),
    ("ARENA_POLL_STATE_CACHE", "0", POSTGRES, same("ARENA_POLL_STATE_CACHE"), False),
    (
        "ARENA_TEST_DB_SUFFIX",
        "-x",
        {},
        lambda ns: Path(database(ns)["TEST"]["NAME"]).name,
        "test-build-arena-x.db",
    ),
    (
        "ARENA_WORKER_DEAD_AFTER",
        "45",
        POSTGRES,
        lambda ns: (
            "idle_in_transaction_session_timeout=45000" in database(ns)["OPTIONS"]["options"]
        ),
        True,
    ),
    # Start-up and static files
    (
        "ARENA_REQUIRE_SECRET_KEY",
        "0",
        {"SECRET_KEY": ""},
        lambda ns: ns["SECRET_KEY"].startswith("django-insecure"),
        True,
    ),
    (
        "ARENA_MANIFEST_STATIC",
        "0",
        {},
        lambda ns: ns["STORAGES"]["staticfiles"]["BACKEND"].rsplit(".", 1)[-1],
        "StaticFilesStorage",
    ),
    # Web
    ("ARENA_LOGIN_FAILURE_LIMIT", "7", {}, same("AXES_FAILURE_LIMIT"), 7),
    (
        "ARENA_LOGIN_LOCKOUT_MINUTES",
        "2",
        {},
        same("AXES_COOLOFF_TIME"),
        datetime.timedelta(minutes=2),
    ),
    ("ARENA_MAX_REQUEST_BYTES", "1000", {}, same("DATA_UPLOAD_MAX_MEMORY_SIZE"), 1000),
    ("ARENA_EXTRA_GIT_HOSTS", "git.example.org, ", {}, None, ("git.example.org",)),
    ("ARENA_ALLOW_LOCAL_REPOS", "yes", {}, None, True),
    ("ARENA_MAX_QUEUED_JOBS", "7", {}, None, 7),
    ("ARENA_PLAUSIBLE_SPEEDUP", "4", {}, None, 4.0),
    ("ARENA_HEADLINE_MIN_REPOSITORIES", "1", {}, None, 1),
    ("ARENA_HEADLINE_SOURCE", "suite", {}, None, "suite"),
    ("ARENA_DEFAULT_RUNS", "5", {}, None, 5),
    ("ARENA_DEFAULT_WARMUPS", "0", {}, None, 0),
    ("ARENA_MAX_RUNS", "6", {}, None, 6),
    ("ARENA_TOOLCHAIN_PROBE_INTERVAL", "0", {}, None, 0.0),
    ("ARENA_CALIBRATION_INTERVAL", "60", {}, None, 60.0),
    ("ARENA_CALIBRATION_PAIRS", "2", {}, None, 2),
    ("ARENA_CALIBRATION_ROUNDS", "1000", {}, None, 1000),
    ("ARENA_SUITE_INTERVAL", "3600", {}, None, 3600),
    ("ARENA_SUITE_RETRIES", "0", {}, None, 0),
    ("ARENA_REGRESSION_THRESHOLD", "0.1", {}, None, 0.1),
    (
        "ARENA_ALERT_EMAILS",
        "a@example.org,b@example.org",
        {},
        None,
        ("a@example.org", "b@example.org"),
    ),
    ("ARENA_HEARTBEAT_INTERVAL", "2", {}, None, 2.0),
    ("ARENA_WORKER_POLL_INTERVAL", "0.1", {}, None, 0.1),
    ("ARENA_WORKER_GRACE_PERIOD", "5", {}, None, 5.0),
    ("ARENA_WORKER_RETENTION", "60", {}, None, 60),
    ("ARENA_JOB_MAX_ATTEMPTS", "3", {}, None, 3),
    ("ARENA_JOB_RATE_LIMIT", "0", {}, None, 0),
    ("ARENA_JOB_RATE_WINDOW", "60", {}, None, 60),
    ("ARENA_CLIENT_IP_HEADER", "X-Forwarded-For", {}, None, "X-Forwarded-For"),
    ("ARENA_TRUSTED_PROXIES", "10.0.0.0/8", {}, None, ("10.0.0.0/8",)),
    ("ARENA_LEADERBOARD_CACHE_SECONDS", "0", {}, None, 0),
    ("ARENA_MAX_JOBS_PER_CLIENT", "1", {}, None, 1),
    ("ARENA_EXPORT_PAGE_ROWS", "10", {}, None, 10),
    ("ARENA_EXPORT_MAX_ROWS", "20", {}, None, 20),
    ("ARENA_EXPORT_RATE_LIMIT", "3", {}, None, 3),
    ("ARENA_EXPORT_RATE_WINDOW", "5", {}, None, 5),
    ("ARENA_EXPORT_CACHE_SECONDS", "0", {}, None, 0),
    ("ARENA_CARD_FONT_DIR", "/opt/fonts", {}, None, Path("/opt/fonts")),
    ("ARENA_KIOSK_SLIDE_SECONDS", "4", {}, None, 4),
    ("ARENA_KIOSK_POLL_SECONDS", "1", {}, None, 1),
    ("ARENA_KIOSK_HOLD_SECONDS", "0", {}, None, 0),
    # The verdict: the engine's race and the judging of stored rows read the same tolerances
    ("ARENA_TIE_TOLERANCE", "0.05", {}, lambda ns: engine(ns).tolerances.tie, 0.05),
    (
        "ARENA_PARITY_TOLERANCE",
        "0.1",
        {},
        lambda ns: Tolerances.from_settings(SimpleNamespace(**ns)).parity,
        0.1,
    ),
    # The build engine
    ("ARENA_WORKSPACE_ROOT", "/srv/ws", {}, lambda ns: engine(ns).workspace_root, Path("/srv/ws")),
    ("ARENA_KEEP_WORKSPACES", "1", {}, lambda ns: engine(ns).keep_workspaces, True),
    ("ARENA_CLONE_TIMEOUT", "10", {}, lambda ns: engine(ns).timeouts.clone, 10.0),
    ("ARENA_BUILD_TIMEOUT", "60", {}, lambda ns: engine(ns).timeouts.build, 60.0),
    ("ARENA_RACE_BUDGET_SECONDS", "0", {}, lambda ns: engine(ns).timeouts.race_budget, 0.0),
    ("ARENA_VERSION_TIMEOUT", "5", {}, lambda ns: engine(ns).timeouts.version_probe, 5.0),
    ("ARENA_OUTPUT_CAP", "1000", {}, lambda ns: engine(ns).limits.output_cap_chars, 1000),
    ("ARENA_OUTPUT_TAIL", "100", {}, lambda ns: engine(ns).limits.output_tail_chars, 100),
    (
        "ARENA_SANDBOX",
        "none",
        {"ARENA_REQUIRE_SANDBOX": "0"},
        lambda ns: engine(ns).isolation.sandbox,
        "none",
    ),
    (
        "ARENA_REQUIRE_SANDBOX",
        "0",
        {"ARENA_SANDBOX": "none"},
        lambda ns: engine(ns).isolation.require_sandbox,
        False,
    ),
    ("ARENA_BWRAP", "/opt/bwrap", {}, lambda ns: engine(ns).isolation.bwrap, "/opt/bwrap"),
    ("ARENA_BUILD_USER", "builder", {}, lambda ns: engine(ns).isolation.build_user, "builder"),
    (
        "ARENA_PARALLEL_BUILD_USER",
        "builder2",
        {},
        lambda ns: engine(ns).isolation.parallel_build_user,
        "builder2",
    ),
    ("ARENA_BUILD_NETWORK", "off", {}, lambda ns: engine(ns).isolation.network, "off"),
    (
        "ARENA_BUILD_ALLOW_PRIVATE_NETS",
        "on",
        {},
        lambda ns: engine(ns).isolation.allow_private_nets,
        True,
    ),
    (
        "ARENA_BUILD_ENV_ALLOW",
        "HTTPS_PROXY, NO_PROXY",
        {},
        lambda ns: engine(ns).isolation.env_allow,
        ("HTTPS_PROXY", "NO_PROXY"),
    ),
    (
        "ARENA_SANDBOX_RO_BINDS",
        "/opt/elide",
        {},
        lambda ns: engine(ns).isolation.extra_ro_binds,
        ("/opt/elide",),
    ),
    ("ARENA_BUILD_MAX_MEMORY_MB", "0", {}, lambda ns: engine(ns).limits.address_space_mb, 0),
    ("ARENA_BUILD_MAX_PROCESSES", "64", {}, lambda ns: engine(ns).limits.processes, 64),
    ("ARENA_BUILD_MAX_FILE_MB", "16", {}, lambda ns: engine(ns).limits.file_size_mb, 16),
    ("ARENA_BUILD_MAX_DISK_MB", "32", {}, lambda ns: engine(ns).limits.disk_mb, 32),
    ("ARENA_BUILD_MAX_INODES", "500", {}, lambda ns: engine(ns).limits.inodes, 500),
    ("ARENA_BUILD_TMP_MB", "8", {}, lambda ns: engine(ns).limits.tmp_mb, 8),
    ("ARENA_BUILD_SHM_MB", "4", {}, lambda ns: engine(ns).limits.shm_mb, 4),
    ("ARENA_MAX_REPO_FILES", "30", {}, lambda ns: engine(ns).limits.repo_files, 30),
    ("ARENA_MAX_REPO_DEPTH", "20", {}, lambda ns: engine(ns).limits.repo_depth, 20),
    (
        "ARENA_MEASURE_LOCK",
        "/run/arena/measure.lock",
        {},
        lambda ns: engine(ns).measure_lock_path,
        Path("/run/arena/measure.lock"),
    ),
    ("ARENA_MVN", "/opt/mvn/bin/mvn", {}, lambda ns: engine(ns).toolchains.mvn, "/opt/mvn/bin/mvn"),
    ("ARENA_GRADLE", "gradle", {}, lambda ns: engine(ns).toolchains.gradle, "gradle"),
    (
        "ARENA_ELIDE",
        "/opt/elide/elide",
        {},
        lambda ns: engine(ns).toolchains.elide,
        "/opt/elide/elide",
    ),
    (
        "ARENA_MAVEN_ARGS",
        "-o '-Dmaven.repo.local=/path with space'",
        {},
        lambda ns: engine(ns).toolchains.maven_args,
        ("-o", "-Dmaven.repo.local=/path with space"),
    ),
    (
        "ARENA_GRADLE_ARGS",
        "--offline",
        {},
        lambda ns: engine(ns).toolchains.gradle_args,
        ("--offline",),
    ),
    (
        "ARENA_ELIDE_BUILD_ARGS",
        "--fast",
        {},
        lambda ns: engine(ns).toolchains.elide_build_args,
        ("--fast",),
    ),
    (
        "ARENA_ELIDE_RECIPE",
        "{elide} build --release",
        {},
        lambda ns: engine(ns).toolchains.elide_recipe,
        "{elide} build --release",
    ),
    ("ARENA_JAVA_HOME", "/opt/jdk", {}, lambda ns: engine(ns).toolchains.java_home, "/opt/jdk"),
    (
        "ARENA_JDKS",
        "/opt/jdk17,/opt/jdk21",
        {},
        lambda ns: engine(ns).toolchains.jdks,
        ("/opt/jdk17", "/opt/jdk21"),
    ),
    ("ARENA_MAVEN_DEFAULT", "3.9.10", {}, lambda ns: engine(ns).toolchains.maven_default, "3.9.10"),
    (
        "ARENA_MAVEN_REPOSITORY",
        "https://mirror.example.org/maven2",
        {},
        lambda ns: engine(ns).toolchains.maven_repository,
        "https://mirror.example.org/maven2",
    ),
    (
        "ARENA_GRADLE_DISTRIBUTIONS",
        "/srv/gradle",
        {},
        lambda ns: engine(ns).toolchains.gradle_distributions,
        "/srv/gradle",
    ),
    ("ARENA_TOOLS_ROOT", "/srv/tools", {}, lambda ns: engine(ns).tools_dir, Path("/srv/tools")),
    ("ARENA_TOOLS_MAX_MB", "100", {}, lambda ns: engine(ns).stores.tools_max_mb, 100),
    ("ARENA_CACHE_ROOT", "/srv/caches", {}, lambda ns: engine(ns).cache_dir, Path("/srv/caches")),
    ("ARENA_CACHE_MAX_MB", "0", {}, lambda ns: engine(ns).stores.cache_max_mb, 0),
    ("ARENA_NOISE_MAX_CPU", "0.5", {}, lambda ns: engine(ns).noise.max_cpu, 0.5),
    ("ARENA_NOISE_RETRIES", "0", {}, lambda ns: engine(ns).noise.retries, 0),
    ("ARENA_BUILD_CPUS", "2,3", {}, lambda ns: engine(ns).noise.build_cpus, (2, 3)),
]


@pytest.mark.parametrize(
    ("name", "value", "needs", "probe", "expected"), CASES, ids=[case[0] for case in CASES]
)
def test_each_setting_changes_what_it_says(name, value, needs, probe, expected):
    probe = probe or same(name)
    assert probe(evaluate({**needs, name: value})) == expected
    try:
        default = probe(evaluate(needs))
    except ImproperlyConfigured:
        return  # the default refuses to start with these variables (a secret key, a sandbox)
    assert default != expected, f"{name}={value} is the default: the case proves nothing"


def test_the_table_covers_every_setting_and_every_documented_name():
    assert sorted(case[0] for case in CASES) == sorted(BY_NAME)
    documented = set(re.findall(r"`(ARENA_[A-Z0-9_]+)`", (PROJECT_DIR / "README.md").read_text()))
    in_settings = set(re.findall(r"ARENA_[A-Z0-9_]+", SETTINGS_FILE.read_text()))
    assert (documented | in_settings) - set(BY_NAME) - set(READ_ELSEWHERE) == set()
    readme_rows = re.findall(r"^\| (`ARENA_.*?) \|", (PROJECT_DIR / "README.md").read_text(), re.M)
    in_readme_table = set(re.findall(r"ARENA_[A-Z0-9_]+", " ".join(readme_rows)))
    assert set(BY_NAME) - in_readme_table == set(), "settings missing from README's table"


def test_a_misspelt_name_is_refused_with_the_closest_one():
    with pytest.raises(ImproperlyConfigured, match=r"ARENA_BUILD_TIMOUT .*ARENA_BUILD_TIMEOUT"):
        evaluate({"ARENA_BUILD_TIMOUT": "60"})
    with pytest.raises(ImproperlyConfigured, match="ARENA_NOTHING_LIKE_IT is not"):
        evaluate({"ARENA_NOTHING_LIKE_IT": "1"})
    for name in READ_ELSEWHERE:  # gunicorn's and the backup's share the environment file
        evaluate({name: "1"})


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("ARENA_BUILD_TIMEOUT", "soon", "must be a number"),
        ("ARENA_BUILD_MAX_DISK_MB", "-1", "must be at least 0"),
        ("ARENA_SANDBOX", "auto", "must be one of bwrap, none"),
        ("ARENA_BUILD_NETWORK", "maybe", "must be one of on, off"),
        ("ARENA_KEEP_WORKSPACES", "perhaps", "must be a boolean"),
        ("ARENA_BUILD_CPUS", "1,x", "must list CPU numbers"),
        ("ARENA_TRUSTED_PROXIES", "proxy.local", "must list addresses or CIDRs"),
        ("ARENA_MAVEN_ARGS", "'-o", "must split like shell words"),
        ("ARENA_HEADLINE_SOURCE", "votes", "must be one of races, suite"),
        ("ARENA_JOB_RATE_WINDOW", "0", "must be at least 1"),
        ("ARENA_DEFAULT_RUNS", "many", "must be a whole number"),
    ],
)
def test_an_invalid_value_is_refused_naming_the_variable(name, value, reason):
    with pytest.raises(
        ImproperlyConfigured, match=f"^{name} {reason}.*got {re.escape(repr(value))}"
    ):
        evaluate({name: value})


def test_production_refuses_an_unsandboxed_engine_and_development_allows_it():
    with pytest.raises(ImproperlyConfigured, match=r"ARENA_SANDBOX=none .*ARENA_REQUIRE_SANDBOX"):
        evaluate({"ARENA_SANDBOX": "none"})
    development = evaluate({"DEBUG": "1", "ARENA_SANDBOX": "none"})
    assert engine(development).isolation.require_sandbox is False
    assert engine(evaluate({})).isolation.require_sandbox is True


def test_a_heartbeat_no_more_often_than_a_worker_is_presumed_dead_is_refused():
    message = r"ARENA_HEARTBEAT_INTERVAL must be shorter than ARENA_WORKER_DEAD_AFTER"
    for interval in ("30", "45"):
        with pytest.raises(ImproperlyConfigured, match=message):
            evaluate({"ARENA_HEARTBEAT_INTERVAL": interval})
    assert evaluate({"ARENA_HEARTBEAT_INTERVAL": "29.5"})["ARENA_HEARTBEAT_INTERVAL"] == 29.5


def test_start_up_stops_on_a_misspelt_name():
    """The whole way: manage.py refuses to start, naming the variable and the likely one."""
    env = {**os.environ, "DEBUG": "1", "ARENA_BUILD_TIMOUT": "60"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert (
        "ARENA_BUILD_TIMOUT is not a Build Arena setting (did you mean ARENA_BUILD_TIMEOUT?)"
        in (done.stderr)
    )
