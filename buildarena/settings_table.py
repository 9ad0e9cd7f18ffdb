"""Every ARENA_* setting in one table: its name, how its text is parsed, its default and what it
means. buildarena/settings.py evaluates the table once, at start-up, against the environment.

A value that does not parse, or an ARENA_* variable no setting defines (a misspelt name, or
one a release removed), stops start-up with ImproperlyConfigured naming the variable: a typo in
a deployment's environment would otherwise leave a limit silently at its default. The engine's
defaults are read from its dataclasses (workers/engine/config.py), the verdict's from
jobs/outcomes/verdict.py, so each default is written once.
"""

import difflib
import ipaddress
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from jobs.outcomes.verdict import Tolerances
from workers.engine.config import (
    NETWORK_MODES,
    SANDBOX_MODES,
    Isolation,
    Limits,
    Noise,
    Stores,
    Timeouts,
    Toolchains,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# ARENA_* variables read by something other than Django's settings (they share the
# deployment's environment file), so start-up knows them.
READ_ELSEWHERE = {
    "ARENA_WEB_BIND": "deploy/gunicorn.conf.py",
    "ARENA_WEB_WORKERS": "deploy/gunicorn.conf.py",
    "ARENA_WEB_FORWARDED_ALLOW_IPS": "deploy/gunicorn.conf.py",
    "ARENA_BACKUP_KEEP": "deploy/backup",
    "ARENA_STRICT_TESTS": "tests/conftest.py",
}


# --- Parsers: text in, value out, ValueError with a short reason for bad text ------------------


def text(raw):
    return raw


def boolean(raw):
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be a boolean (1/0, true/false, yes/no, on/off)")


def integer(minimum=None):
    def parse(raw):
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("must be a whole number") from None
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return parse


def number(minimum=0.0):
    def parse(raw):
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("must be a number") from None
        if value < minimum:
            raise ValueError(f"must be at least {minimum:g}")
        return value

    return parse


def choice(*values):
    def parse(raw):
        if raw not in values:
            raise ValueError(f"must be one of {', '.join(values)}")
        return raw

    return parse


def names(raw):
    """A comma-separated list, blanks dropped."""
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def optional_path(raw):
    return Path(raw) if raw.strip() else None


def path(raw):
    if not raw.strip():
        raise ValueError("must be a path")
    return Path(raw)


def arguments(raw):
    """Extra command-line arguments, split as a shell would (never run through one)."""
    try:
        return tuple(shlex.split(raw))
    except ValueError as error:  # "No closing quotation"
        raise ValueError(f"must split like shell words ({error})") from None


def runs(raw):
    """A number of measured runs, or "auto" (adaptive runs)."""
    if raw.strip().lower() == "auto":
        return "auto"
    return integer(minimum=1)(raw)


def cpus(raw):
    items = names(raw)
    for item in items:
        if not item.isdigit():
            raise ValueError(f"must list CPU numbers, not {item!r}")
    return tuple(int(item) for item in items)


def networks(raw):
    items = names(raw)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"must list addresses or CIDRs, not {item!r}") from None
    return items


# --- The table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    # The value when the variable is unset or empty; a callable takes DEBUG and returns it.
    default: Any
    meaning: str


TIMEOUTS, ISOLATION, LIMITS = Timeouts(), Isolation(), Limits()
TOOLCHAINS, STORES, NOISE, TOLERANCES = Toolchains(), Stores(), Noise(), Tolerances()
COUNT = integer(minimum=0)

SETTINGS = (
    # Database (docs/DATABASE.md)
    Setting("ARENA_SQLITE_BUSY_TIMEOUT_MS", COUNT, 20000, "how long a SQLite writer waits"),
    Setting("ARENA_SQLITE_CONN_MAX_AGE", COUNT, 60, "seconds a SQLite connection is kept"),
    Setting("ARENA_POSTGRES_PREPARE", boolean, True, "PostgreSQL: prepare the hot statements"),
    Setting("ARENA_POLL_STATE_CACHE", boolean, True, "PostgreSQL: live states kept by NOTIFY"),
    Setting("ARENA_TEST_DB_SUFFIX", text, "", "appended to the test database's name"),
    # Start-up and static files
    Setting("ARENA_REQUIRE_SECRET_KEY", boolean, True, "no SECRET_KEY with DEBUG off: refuse"),
    Setting("ARENA_MANIFEST_STATIC", boolean, True, "DEBUG off: hashed static file names"),
    # Repositories, queue and verdict
    Setting("ARENA_EXTRA_GIT_HOSTS", names, (), "git hosts besides github.com, gitlab.com"),
    Setting("ARENA_ALLOW_LOCAL_REPOS", boolean, False, "accept local paths and file:// URLs"),
    Setting("ARENA_MAX_QUEUED_JOBS", COUNT, 100, "submissions beyond this queue are refused"),
    Setting("ARENA_TIE_TOLERANCE", number(), TOLERANCES.tie, "relative difference of a tie"),
    Setting("ARENA_PARITY_TOLERANCE", number(), TOLERANCES.parity, "jar difference still compared"),
    Setting("ARENA_PLAUSIBLE_SPEEDUP", number(1.0), 10.0, "larger speedups flagged for review"),
    Setting("ARENA_HEADLINE_MIN_REPOSITORIES", COUNT, 3, "repositories before a headline"),
    Setting("ARENA_HEADLINE_SOURCE", choice("races", "suite"), "races", "the headline's source"),
    Setting("ARENA_DEFAULT_RUNS", runs, "auto", "measured runs of a race when none given"),
    Setting("ARENA_DEFAULT_WARMUPS", COUNT, 1, "warm-ups of a race when none given"),
    Setting("ARENA_MAX_RUNS", integer(minimum=1), 10, "most runs a side of an adaptive race"),
    Setting(
        "ARENA_NOISE_MAX_CPU", number(), NOISE.max_cpu, "host cores busy before a run is noisy"
    ),
    Setting("ARENA_NOISE_RETRIES", COUNT, NOISE.retries, "noisy pairs a race may run again"),
    Setting("ARENA_BUILD_CPUS", cpus, NOISE.build_cpus, "CPUs measured builds are pinned to"),
    Setting("ARENA_TOOLCHAIN_PROBE_INTERVAL", number(), 300.0, "seconds between probes"),
    Setting("ARENA_CALIBRATION_INTERVAL", number(), 3600.0, "seconds between calibrations"),
    Setting("ARENA_CALIBRATION_PAIRS", integer(minimum=1), 5, "A/A pairs of a calibration"),
    Setting("ARENA_CALIBRATION_ROUNDS", integer(minimum=1), 150_000_000, "its workload's loops"),
    # Continuous benchmarking (suites/)
    Setting("ARENA_SUITE_INTERVAL", COUNT, 0, "seconds between scheduled suite runs"),
    Setting("ARENA_SUITE_RETRIES", COUNT, 1, "more races of an unclear suite race"),
    Setting("ARENA_REGRESSION_THRESHOLD", number(), 0.05, "smallest reported speedup change"),
    Setting("ARENA_ALERT_EMAILS", names, (), "who is mailed regressions and improvements"),
    # Workers
    Setting("ARENA_WORKER_DEAD_AFTER", integer(minimum=1), 30, "silent seconds: presumed dead"),
    Setting("ARENA_HEARTBEAT_INTERVAL", number(0.01), 5.0, "seconds between heartbeats"),
    Setting("ARENA_WORKER_POLL_INTERVAL", number(0.01), 0.5, "seconds between queue looks"),
    Setting("ARENA_WORKER_GRACE_PERIOD", number(), 120.0, "seconds races may finish on SIGTERM"),
    Setting("ARENA_WORKER_RETENTION", COUNT, 7 * 24 * 3600, "seconds inactive workers are kept"),
    Setting("ARENA_JOB_MAX_ATTEMPTS", integer(minimum=1), 2, "times a job may be taken"),
    # Web
    Setting("ARENA_LOGIN_FAILURE_LIMIT", integer(minimum=1), 5, "wrong passwords: locked out"),
    Setting("ARENA_LOGIN_LOCKOUT_MINUTES", integer(minimum=1), 15, "how long a lockout lasts"),
    Setting("ARENA_MAX_REQUEST_BYTES", integer(minimum=1), 2_621_440, "largest request body"),
    Setting("ARENA_JOB_RATE_LIMIT", COUNT, 10, "races a client may start per window"),
    Setting("ARENA_JOB_RATE_WINDOW", integer(minimum=1), 600, "that window, in seconds"),
    Setting("ARENA_CLIENT_IP_HEADER", text, "", "header with the client address behind a proxy"),
    Setting("ARENA_TRUSTED_PROXIES", networks, ("127.0.0.1", "::1"), "proxies believed"),
    Setting("ARENA_LEADERBOARD_CACHE_SECONDS", COUNT, 15, "leaderboard figures kept"),
    Setting("ARENA_MAX_JOBS_PER_CLIENT", COUNT, 3, "races a client may have queued or running"),
    Setting("ARENA_EXPORT_PAGE_ROWS", integer(minimum=1), 1000, "races per export page"),
    Setting("ARENA_EXPORT_MAX_ROWS", integer(minimum=1), 10000, "largest export ?limit="),
    Setting("ARENA_EXPORT_RATE_LIMIT", COUNT, 30, "export requests a client may make a window"),
    Setting("ARENA_EXPORT_RATE_WINDOW", integer(minimum=1), 60, "that window, in seconds"),
    Setting("ARENA_EXPORT_CACHE_SECONDS", COUNT, 60, "how long an export page is kept"),
    Setting("ARENA_CARD_FONT_DIR", path, Path("/usr/share/fonts/truetype/dejavu"), "DejaVu Sans"),
    Setting("ARENA_KIOSK_SLIDE_SECONDS", integer(minimum=1), 10, "seconds a booth slide shows"),
    Setting("ARENA_KIOSK_POLL_SECONDS", integer(minimum=1), 2, "seconds between booth polls"),
    Setting("ARENA_KIOSK_HOLD_SECONDS", COUNT, 20, "seconds a finished race stays on screen"),
    # Build engine (workers/engine, docs/ENGINE.md)
    Setting("ARENA_WORKSPACE_ROOT", path, BASE_DIR / "workspaces", "where races clone and build"),
    Setting("ARENA_KEEP_WORKSPACES", boolean, False, "keep each race's directory"),
    Setting("ARENA_CLONE_TIMEOUT", number(), TIMEOUTS.clone, "seconds a clone may take"),
    Setting("ARENA_BUILD_TIMEOUT", number(), TIMEOUTS.build, "seconds a build run may take"),
    Setting("ARENA_RACE_BUDGET_SECONDS", number(), TIMEOUTS.race_budget, "seconds a race"),
    Setting("ARENA_VERSION_TIMEOUT", number(), TIMEOUTS.version_probe, "seconds a version probe"),
    Setting("ARENA_OUTPUT_CAP", COUNT, LIMITS.output_cap_chars, "output characters kept per side"),
    Setting("ARENA_OUTPUT_TAIL", COUNT, LIMITS.output_tail_chars, "of them, from the end"),
    Setting(
        "ARENA_SANDBOX", choice(*SANDBOX_MODES), ISOLATION.sandbox, "bwrap, or none (development)"
    ),
    Setting("ARENA_REQUIRE_SANDBOX", boolean, lambda debug: not debug, "refuse ARENA_SANDBOX=none"),
    Setting("ARENA_BWRAP", text, ISOLATION.bwrap, "the bubblewrap executable"),
    Setting("ARENA_BUILD_USER", text, ISOLATION.build_user, "the account builds run as under root"),
    Setting("ARENA_PARALLEL_BUILD_USER", text, ISOLATION.parallel_build_user, "the second side's"),
    Setting("ARENA_BUILD_NETWORK", choice(*NETWORK_MODES), ISOLATION.network, "builds' network"),
    Setting(
        "ARENA_BUILD_ALLOW_PRIVATE_NETS", boolean, ISOLATION.allow_private_nets, "reach 10/8 etc."
    ),
    Setting("ARENA_BUILD_ENV_ALLOW", names, ISOLATION.env_allow, "variables passed to builds"),
    Setting(
        "ARENA_SANDBOX_RO_BINDS", names, ISOLATION.extra_ro_binds, "host paths shown read-only"
    ),
    Setting("ARENA_BUILD_MAX_MEMORY_MB", COUNT, LIMITS.address_space_mb, "address space a build"),
    Setting("ARENA_BUILD_MAX_PROCESSES", COUNT, LIMITS.processes, "processes of the build account"),
    Setting("ARENA_BUILD_MAX_FILE_MB", COUNT, LIMITS.file_size_mb, "largest file a build writes"),
    Setting("ARENA_BUILD_MAX_DISK_MB", COUNT, LIMITS.disk_mb, "disk a side may fill"),
    Setting("ARENA_BUILD_MAX_INODES", COUNT, LIMITS.inodes, "files and directories of a side"),
    Setting("ARENA_BUILD_TMP_MB", COUNT, LIMITS.tmp_mb, "a build's /tmp (memory)"),
    Setting("ARENA_BUILD_SHM_MB", COUNT, LIMITS.shm_mb, "a build's /dev/shm and System V memory"),
    Setting("ARENA_MAX_REPO_FILES", COUNT, LIMITS.repo_files, "files of a repository"),
    Setting("ARENA_MAX_REPO_DEPTH", COUNT, LIMITS.repo_depth, "directory levels of a repository"),
    Setting("ARENA_MEASURE_LOCK", optional_path, None, "the host-wide measurement lock"),
    Setting("ARENA_MVN", text, TOOLCHAINS.mvn, "Maven for every race; empty: provisioned"),
    Setting("ARENA_GRADLE", text, TOOLCHAINS.gradle, "Gradle for every race; empty: provisioned"),
    Setting("ARENA_ELIDE", text, TOOLCHAINS.elide, "the Elide executable"),
    Setting("ARENA_MAVEN_ARGS", arguments, TOOLCHAINS.maven_args, "extra Maven arguments"),
    Setting("ARENA_GRADLE_ARGS", arguments, TOOLCHAINS.gradle_args, "extra Gradle arguments"),
    Setting(
        "ARENA_ELIDE_BUILD_ARGS", arguments, TOOLCHAINS.elide_build_args, "extra Elide arguments"
    ),
    Setting("ARENA_ELIDE_RECIPE", text, TOOLCHAINS.elide_recipe, "the Elide command's template"),
    Setting(
        "ARENA_JAVA_HOME", text, TOOLCHAINS.java_home, "JDK of projects naming no Java version"
    ),
    Setting("ARENA_JDKS", names, TOOLCHAINS.jdks, "JDK homes a race chooses from"),
    Setting(
        "ARENA_MAVEN_DEFAULT", text, TOOLCHAINS.maven_default, "Maven of a project naming none"
    ),
    Setting("ARENA_MAVEN_REPOSITORY", text, TOOLCHAINS.maven_repository, "where Maven comes from"),
    Setting(
        "ARENA_GRADLE_DISTRIBUTIONS", text, TOOLCHAINS.gradle_distributions, "where Gradle does"
    ),
    Setting("ARENA_TOOLS_ROOT", optional_path, STORES.tools_root, "the tools store"),
    Setting("ARENA_TOOLS_MAX_MB", COUNT, STORES.tools_max_mb, "bound on the tools store"),
    Setting("ARENA_CACHE_ROOT", optional_path, STORES.cache_root, "warm dependency caches"),
    Setting("ARENA_CACHE_MAX_MB", COUNT, STORES.cache_max_mb, "bound on the caches"),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}


def read_settings(environ, *, debug):
    """{name: value} for every setting in the table, from `environ` (os.environ or a dict).

    Raises ImproperlyConfigured, naming the variable, for an ARENA_* variable the table does not
    define (with the closest known name) and for a value its parser refuses.
    """
    for name in sorted(environ):
        if name.startswith("ARENA_") and name not in BY_NAME and name not in READ_ELSEWHERE:
            raise ImproperlyConfigured(f"{name} is not a Build Arena setting{_suggestion(name)}.")
    values = {}
    for setting in SETTINGS:
        raw = environ.get(setting.name, "")
        if raw.strip() == "":
            default = setting.default
            values[setting.name] = default(debug) if callable(default) else default
            continue
        try:
            values[setting.name] = setting.parse(raw.strip())
        except ValueError as error:
            raise ImproperlyConfigured(f"{setting.name} {error}, got {raw!r}") from None
    if values["ARENA_REQUIRE_SANDBOX"] and values["ARENA_SANDBOX"] == "none":
        raise ImproperlyConfigured(
            "ARENA_SANDBOX=none is refused while ARENA_REQUIRE_SANDBOX is on (its default with "
            "DEBUG off): builds run in bubblewrap in production."
        )
    if values["ARENA_HEARTBEAT_INTERVAL"] >= values["ARENA_WORKER_DEAD_AFTER"]:
        raise ImproperlyConfigured(
            "ARENA_HEARTBEAT_INTERVAL must be shorter than ARENA_WORKER_DEAD_AFTER: a worker "
            "would be presumed dead between two of its heartbeats."
        )
    return values


def _suggestion(name):
    known = [*BY_NAME, *READ_ELSEWHERE]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else " (README.md lists them)"
