"""Build Arena settings.

Everything an operator may change comes from the environment; README.md lists every variable.
The embedded default is a SQLite file beside manage.py; DATABASE_URL switches to PostgreSQL.
"""

import datetime
import ipaddress
import os
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_float(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None


def env_runs(name, default):
    """A number of measured runs, or "auto" (adaptive runs)."""
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "auto"):
        return default if value == "" else "auto"
    return env_int(name, default)


def env_list(name, default=()):
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

# Development keeps a fixed, clearly insecure key; production must provide one.
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and env_bool("ARENA_REQUIRE_SECRET_KEY", True) and "pytest" not in sys.modules:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for local development)."
        )
    SECRET_KEY = "django-insecure-build-arena-development-key-not-for-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "axes",
    "jobs",
    "workers",
    "suites",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "buildarena.content_security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "buildarena.middleware.DatabaseErrorMiddleware",
    # Last, as django-axes asks: it answers a locked-out login with the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes checks every login (the admin's included) before the password does.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "buildarena.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "buildarena.wsgi.application"

# --- Database -------------------------------------------------------------------------------
# SQLite pragmas (see docs/DATABASE.md): WAL so readers never block the writing worker,
# synchronous=FULL so a committed race survives a power cut, a busy timeout so concurrent
# writers wait instead of failing, and IMMEDIATE transactions so a transaction takes the write
# lock when it begins (no lock upgrade deadlocks between workers). Django turns foreign keys on.
SQLITE_BUSY_TIMEOUT_MS = env_int("ARENA_SQLITE_BUSY_TIMEOUT_MS", 20000)
SQLITE_INIT_COMMAND = (
    f"PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS};"
)

DATABASE_PATH = Path(env_str("DATABASE_PATH") or BASE_DIR / "build-arena.db")

# Lets several test runs share a machine without sharing a test database.
TEST_DB_SUFFIX = env_str("ARENA_TEST_DB_SUFFIX")
# PostgreSQL only (set below): polls answered from live races' states kept by NOTIFY.
ARENA_POLL_STATE_CACHE = False

if env_str("DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL"), conn_max_age=60, conn_health_checks=True
        )
    }
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}{TEST_DB_SUFFIX}"}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, with a health check that needs no round trip on a connection with
        # nothing to read (buildarena/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "buildarena.postgresql"
        # A client that vanished mid-transaction (its host lost its link) must not hold its
        # row locks until TCP gives up hours later, freezing every worker that reaps it: the
        # server ends a session idle in a transaction, or whose replies go unacknowledged, for
        # as long as a worker may be silent before the pool presumes it dead.
        _silent_ms = env_int("ARENA_WORKER_DEAD_AFTER", 30) * 1000
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        # Statements run through prepared_cursor() (the poll, races with both results) are
        # prepared after five runs on a connection and planned once, generically (their
        # parameters are ids and statuses, which index conditions serve whatever the value;
        # buildarena/postgresql/base.py); 0 turns that off, for a connection pooler that
        # cannot keep prepared statements.
        _prepare = env_bool("ARENA_POSTGRES_PREPARE", True)
        _options["prepare_threshold"] = 5 if _prepare else None
        _options["options"] = " ".join(
            filter(
                None,
                [
                    _options.get("options", ""),
                    f"-c idle_in_transaction_session_timeout={_silent_ms}",
                    f"-c tcp_user_timeout={_silent_ms}",
                    "-c plan_cache_mode=force_generic_plan" if _prepare else "",
                ],
            )
        )
        # Each web process keeps the states of live races it has polled, kept true by NOTIFY, so
        # most polls answer 204 without a query (jobs/live/race_state_cache.py: one more connection
        # per web process, which LISTENs). 0 turns that off, for a connection pooler in
        # transaction mode, where LISTEN does not work.
        ARENA_POLL_STATE_CACHE = env_bool("ARENA_POLL_STATE_CACHE", True)
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        # A sqlite:///path URL: the test database is a file beside it, with the same pragmas.
        _sqlite_path = Path(DATABASES["default"]["NAME"])
        DATABASES["default"]["TEST"] = {
            "NAME": str(_sqlite_path.with_name(f"test-{_sqlite_path.stem}{TEST_DB_SUFFIX}.db"))
        }
        DATABASES["default"]["OPTIONS"] = {
            "init_command": SQLITE_INIT_COMMAND,
            "transaction_mode": "IMMEDIATE",
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATABASE_PATH,
            "OPTIONS": {
                "init_command": SQLITE_INIT_COMMAND,
                "transaction_mode": "IMMEDIATE",
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            },
            # Keep each process's connection between requests (as DATABASE_URL connections
            # do): opening one costs ~0.5 ms (pragmas, schema), more than a poll's query.
            "CONN_MAX_AGE": env_int("ARENA_SQLITE_CONN_MAX_AGE", 60),
            # Tests use a real file (not :memory:) so that worker subprocesses and the
            # sqlite3 CLI can open the same database as the test process.
            "TEST": {"NAME": str(BASE_DIR / f"test-build-arena{TEST_DB_SUFFIX}.db")},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("ARENA_MANIFEST_STATIC", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Build Arena: repositories and queue ------------------------------------------------------
# Git hosts accepted besides github.com and gitlab.com (comma-separated host names).
ARENA_EXTRA_GIT_HOSTS = env_list("ARENA_EXTRA_GIT_HOSTS")
# Local paths and file:// URLs are accepted only for development and tests.
ARENA_ALLOW_LOCAL_REPOS = env_bool("ARENA_ALLOW_LOCAL_REPOS", False)
# A submission beyond this many queued jobs is refused (the API answers 503).
ARENA_MAX_QUEUED_JOBS = env_int("ARENA_MAX_QUEUED_JOBS", 100)
# Relative difference in duration below which a race is a tie.
ARENA_TIE_TOLERANCE = env_float("ARENA_TIE_TOLERANCE", 0.01)
# Share of class names by which the two sides' jars may differ before a race is not comparable.
ARENA_PARITY_TOLERANCE = env_float("ARENA_PARITY_TOLERANCE", 0.02)
# A speedup above this (or below its inverse) is flagged for review and kept off the headline.
ARENA_PLAUSIBLE_SPEEDUP = env_float("ARENA_PLAUSIBLE_SPEEDUP", 10.0)
# The headline claims a speedup only once counted races cover this many repositories.
ARENA_HEADLINE_MIN_REPOSITORIES = env_int("ARENA_HEADLINE_MIN_REPOSITORIES", 3)
# Where the leaderboard's and the booth's headline comes from: "races" (every counted race) or
# "suite" (the newest Elide version's suite results, docs/SUITES.md).
ARENA_HEADLINE_SOURCE = env_str("ARENA_HEADLINE_SOURCE", "races")
if ARENA_HEADLINE_SOURCE not in ("races", "suite"):
    raise ImproperlyConfigured(
        f"ARENA_HEADLINE_SOURCE must be races or suite, got {ARENA_HEADLINE_SOURCE!r}"
    )
# Runs and warm-ups of a race started from the form or the API when none are given.
ARENA_DEFAULT_RUNS = env_runs("ARENA_DEFAULT_RUNS", "auto")
ARENA_DEFAULT_WARMUPS = env_int("ARENA_DEFAULT_WARMUPS", 1)
# A measured run during which the rest of the host used more than this many cores on average
# is noisy: its pair of runs is run again, at most ARENA_NOISE_RETRIES times a race.
ARENA_NOISE_MAX_CPU = env_float("ARENA_NOISE_MAX_CPU", 0.10)
ARENA_NOISE_RETRIES = env_int("ARENA_NOISE_RETRIES", 3)
# The most runs a side an adaptive race ("auto") may take.
ARENA_MAX_RUNS = env_int("ARENA_MAX_RUNS", 10)
# The CPUs sequential measured builds run on (comma-separated numbers); empty: every CPU but the
# first when the host has more than two (left to the worker and the database), else all.
ARENA_BUILD_CPUS = env_list("ARENA_BUILD_CPUS")
for _cpu in ARENA_BUILD_CPUS:
    if not _cpu.isdigit():
        raise ImproperlyConfigured(f"ARENA_BUILD_CPUS must list CPU numbers, got {_cpu!r}")
# Seconds between a worker's probes of its toolchains (java, JDKs, mvn, gradle, elide).
ARENA_TOOLCHAIN_PROBE_INTERVAL = env_float("ARENA_TOOLCHAIN_PROBE_INTERVAL", 300.0)
# Seconds between a worker's noise-floor calibrations (an A/A race of a fixed Java workload,
# workers/engine/calibration.py); 0 turns them off. Pairs and workload size set how long it takes.
ARENA_CALIBRATION_INTERVAL = env_float("ARENA_CALIBRATION_INTERVAL", 3600.0)
ARENA_CALIBRATION_PAIRS = env_int("ARENA_CALIBRATION_PAIRS", 5)
ARENA_CALIBRATION_ROUNDS = env_int("ARENA_CALIBRATION_ROUNDS", 150_000_000)  # ~1 s a run

# --- Build Arena: continuous benchmarking (suites/) ----------------------------------------------
# Seconds between scheduled runs of each suite (0: only new toolchain versions and on demand).
ARENA_SUITE_INTERVAL = env_int("ARENA_SUITE_INTERVAL", 0)
# More races of a repository whose suite race ended void or inconclusive, before the run ends.
ARENA_SUITE_RETRIES = env_int("ARENA_SUITE_RETRIES", 1)
# A speedup change between versions smaller than this share is never a regression/improvement.
ARENA_REGRESSION_THRESHOLD = env_float("ARENA_REGRESSION_THRESHOLD", 0.05)
# Who is mailed each regression and improvement once (comma-separated; empty: nobody).
ARENA_ALERT_EMAILS = env_list("ARENA_ALERT_EMAILS")
# Mail goes through Django's email: the console by default, SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "build-arena@localhost")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)

# --- Build Arena: workers -----------------------------------------------------------------------
# A worker whose heartbeat is older than this many seconds is presumed dead.
ARENA_WORKER_DEAD_AFTER = env_int("ARENA_WORKER_DEAD_AFTER", 30)
# How often a worker proves it is alive, and runs the pool's housekeeping (reaping, cleanup).
ARENA_HEARTBEAT_INTERVAL = env_float("ARENA_HEARTBEAT_INTERVAL", 5.0)
# How often an idle worker looks for queued jobs (seconds); bounds the dispatch latency.
ARENA_WORKER_POLL_INTERVAL = env_float("ARENA_WORKER_POLL_INTERVAL", 0.5)
# On the first SIGTERM/SIGINT a worker lets running races finish for this long, then stops
# and requeues them.
ARENA_WORKER_GRACE_PERIOD = env_float("ARENA_WORKER_GRACE_PERIOD", 120.0)
# Inactive workers are deleted after this many seconds (their jobs' history stays).
ARENA_WORKER_RETENTION = env_int("ARENA_WORKER_RETENTION", 7 * 24 * 3600)
# A job whose worker died is requeued until it has been taken this many times, then failed.
ARENA_JOB_MAX_ATTEMPTS = env_int("ARENA_JOB_MAX_ATTEMPTS", 2)

# --- Security: production posture -------------------------------------------------------------
# Behind HTTPS turn on the redirect, secure cookies and HSTS (README: "Running in production").
# They stay off by default so that `make run` and plain-HTTP test servers work.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Trust X-Forwarded-Proto (or the header named here) only behind a proxy that always sets it.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_").removeprefix("HTTP_"), "https")
    if _proxy_ssl_header
    else None
)
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
# Content-Security-Policy (django-csp): scripts, styles and everything else from our own origin
# only, so no inline <script>, no on* attributes and no style="..." attributes in templates.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Logins (django-axes): after ARENA_LOGIN_FAILURE_LIMIT wrong passwords for one account from one
# client (the client as the rate limits count it: jobs/submissions/ratelimit.py), that pair is
# locked out for ARENA_LOGIN_LOCKOUT_MINUTES, a correct password included (429 and a page).
AXES_FAILURE_LIMIT = max(1, env_int("ARENA_LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=max(1, env_int("ARENA_LOGIN_LOCKOUT_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "jobs.submissions.ratelimit.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_TEMPLATE = "errors/login_locked.html"
AXES_VERBOSE = False  # no banner on every start; lockouts are still logged
# Request bodies Django reads into memory (JSON API, forms) are refused above this size (400).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("ARENA_MAX_REQUEST_BYTES", 2_621_440)

# --- Build Arena: web -----------------------------------------------------------------------
# Job submissions (web form and POST /api/jobs) allowed per client per window; 0 turns the limit
# off. Counted in the database table rate_limit_counters, so all web processes share it.
ARENA_JOB_RATE_LIMIT = env_int("ARENA_JOB_RATE_LIMIT", 10)
ARENA_JOB_RATE_WINDOW = max(1, env_int("ARENA_JOB_RATE_WINDOW", 600))
# Behind a reverse proxy: the header holding the client address, e.g. X-Forwarded-For. Empty:
# the connection's address (REMOTE_ADDR). Only hops added by ARENA_TRUSTED_PROXIES (addresses
# or CIDRs) are believed, and the header only on connections from one of them.
ARENA_CLIENT_IP_HEADER = env_str("ARENA_CLIENT_IP_HEADER")
ARENA_TRUSTED_PROXIES = env_list("ARENA_TRUSTED_PROXIES", ["127.0.0.1", "::1"])
for _proxy in ARENA_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"ARENA_TRUSTED_PROXIES must list addresses or CIDRs, got {_proxy!r}"
        ) from None
# How long each web process keeps the leaderboard's totals, chart and per-repository figures.
ARENA_LEADERBOARD_CACHE_SECONDS = env_int("ARENA_LEADERBOARD_CACHE_SECONDS", 15)
# Races one client (address, or IPv6 /64) may have queued or running at once; 0: no limit.
ARENA_MAX_JOBS_PER_CLIENT = env_int("ARENA_MAX_JOBS_PER_CLIENT", 3)
# Leaderboard exports (/leaderboard.csv, /leaderboard.json): rows per page by default and at
# most, requests per client per window, and how long a rendered page is kept.
ARENA_EXPORT_PAGE_ROWS = env_int("ARENA_EXPORT_PAGE_ROWS", 1000)
ARENA_EXPORT_MAX_ROWS = env_int("ARENA_EXPORT_MAX_ROWS", 10000)
ARENA_EXPORT_RATE_LIMIT = env_int("ARENA_EXPORT_RATE_LIMIT", 30)
ARENA_EXPORT_RATE_WINDOW = max(1, env_int("ARENA_EXPORT_RATE_WINDOW", 60))
ARENA_EXPORT_CACHE_SECONDS = env_int("ARENA_EXPORT_CACHE_SECONDS", 60)
# Where the share card finds DejaVu Sans (Debian: fonts-dejavu-core); without it Pillow's
# built-in font is used.
ARENA_CARD_FONT_DIR = env_str("ARENA_CARD_FONT_DIR") or "/usr/share/fonts/truetype/dejavu"
# Booth mode (/kiosk/): seconds each slide shows, and how often the page asks for news.
ARENA_KIOSK_SLIDE_SECONDS = env_int("ARENA_KIOSK_SLIDE_SECONDS", 10)
ARENA_KIOSK_POLL_SECONDS = max(1, env_int("ARENA_KIOSK_POLL_SECONDS", 2))
# How long the booth keeps a just-finished race's verdict on screen before the slides resume.
ARENA_KIOSK_HOLD_SECONDS = max(0, env_int("ARENA_KIOSK_HOLD_SECONDS", 20))

# --- Build Arena: build engine (workers/engine, docs/ENGINE.md) --------------------------------
# Where races clone and build (one directory per race, removed afterwards unless kept).
ARENA_WORKSPACE_ROOT = Path(env_str("ARENA_WORKSPACE_ROOT") or BASE_DIR / "workspaces")
ARENA_KEEP_WORKSPACES = env_bool("ARENA_KEEP_WORKSPACES", False)
ARENA_CLONE_TIMEOUT = env_int("ARENA_CLONE_TIMEOUT", 300)
# Wall-clock limit of one build run of one side, in seconds (a job's timeout_seconds wins).
ARENA_BUILD_TIMEOUT = env_int("ARENA_BUILD_TIMEOUT", 900)
# Seconds one race may hold the host: prepare, warm-ups and runs of both sides together (the
# form and the API refuse what cannot fit the repository's last build times); 0: no bound.
ARENA_RACE_BUDGET_SECONDS = max(0, env_int("ARENA_RACE_BUDGET_SECONDS", 1800))
ARENA_VERSION_TIMEOUT = env_int("ARENA_VERSION_TIMEOUT", 30)
# Output kept per side (characters): the beginning, then the last ARENA_OUTPUT_TAIL.
ARENA_OUTPUT_CAP = env_int("ARENA_OUTPUT_CAP", 2_000_000)
ARENA_OUTPUT_TAIL = env_int("ARENA_OUTPUT_TAIL", 500_000)
# auto and bwrap: bubblewrap, and no build at all without it; none: unsandboxed (development).
ARENA_SANDBOX = env_str("ARENA_SANDBOX", "auto")
if ARENA_SANDBOX not in ("auto", "bwrap", "none"):
    raise ImproperlyConfigured(f"ARENA_SANDBOX must be auto, bwrap or none, got {ARENA_SANDBOX!r}")
ARENA_REQUIRE_SANDBOX = env_bool("ARENA_REQUIRE_SANDBOX", False)
ARENA_BWRAP = env_str("ARENA_BWRAP", "bwrap")
# The host account builds run as when the worker runs as root (bin/install-system-deps makes it).
ARENA_BUILD_USER = env_str("ARENA_BUILD_USER", "arena-build")
# Parallel mode runs both sides at once: the second one as this account (its own process count).
ARENA_PARALLEL_BUILD_USER = env_str("ARENA_PARALLEL_BUILD_USER", "arena-build2")
# on: builds reach outside hosts through slirp4netns, never the host's loopback, own addresses,
# link-local or (unless ARENA_BUILD_ALLOW_PRIVATE_NETS) private ranges; off: no network.
ARENA_BUILD_NETWORK = env_str("ARENA_BUILD_NETWORK", "on")
if ARENA_BUILD_NETWORK not in ("on", "off"):
    raise ImproperlyConfigured(
        f"ARENA_BUILD_NETWORK must be on or off, got {ARENA_BUILD_NETWORK!r}"
    )
# rlimits per build (0 = unlimited): address space (JVMs reserve far more than they use; Elide's
# native image reserves ~32 GB), processes and threads (counted per user on the host), file size.
ARENA_BUILD_MAX_MEMORY_MB = env_int("ARENA_BUILD_MAX_MEMORY_MB", 65536)
ARENA_BUILD_MAX_PROCESSES = env_int("ARENA_BUILD_MAX_PROCESSES", 4096)
ARENA_BUILD_MAX_FILE_MB = env_int("ARENA_BUILD_MAX_FILE_MB", 8192)
ARENA_BUILD_ALLOW_PRIVATE_NETS = env_bool("ARENA_BUILD_ALLOW_PRIVATE_NETS", False)
# Disk and inodes per side and clone (a filesystem of their own on a root worker, quota.py)
# and a side's private /tmp (RAM).
ARENA_BUILD_MAX_DISK_MB = env_int("ARENA_BUILD_MAX_DISK_MB", 20480)
ARENA_BUILD_MAX_INODES = env_int("ARENA_BUILD_MAX_INODES", 1_000_000)
ARENA_BUILD_TMP_MB = env_int("ARENA_BUILD_TMP_MB", 1024)
# A build's /dev/shm (a tmpfs too) and its System V shared memory, each; with /tmp they must
# fit ARENA_BUILD_MAX_MEMORY_MB.
ARENA_BUILD_SHM_MB = env_int("ARENA_BUILD_SHM_MB", 64)
# A clone with more files or directory levels is refused.
ARENA_MAX_REPO_FILES = env_int("ARENA_MAX_REPO_FILES", 200_000)
ARENA_MAX_REPO_DEPTH = env_int("ARENA_MAX_REPO_DEPTH", 128)
# Host-wide lock held around every measured build run, so races never overlap their timing;
# empty = .locks/measure.lock under ARENA_WORKSPACE_ROOT (a directory only the arena can open).
ARENA_MEASURE_LOCK = env_str("ARENA_MEASURE_LOCK")
# Toolchains: executables (name on PATH or absolute path) and extra arguments (shell-like
# quoting, split into a list; never run through a shell).
# ARENA_MVN / ARENA_GRADLE empty: the arena provisions the Maven or Gradle each project asks
# for into the tools store (docs/BUILDS.md); set: that executable is used for every race.
ARENA_MVN = env_str("ARENA_MVN")
ARENA_GRADLE = env_str("ARENA_GRADLE")
# The tools store: where (empty = a "-tools" directory beside ARENA_WORKSPACE_ROOT), its bound,
# the Maven used when a project names none, and where distributions come from.
ARENA_TOOLS_ROOT = env_str("ARENA_TOOLS_ROOT")
ARENA_TOOLS_MAX_MB = env_int("ARENA_TOOLS_MAX_MB", 2048)
ARENA_MAVEN_DEFAULT = env_str("ARENA_MAVEN_DEFAULT", "3.9.11")
ARENA_MAVEN_REPOSITORY = env_str("ARENA_MAVEN_REPOSITORY", "https://repo.maven.apache.org/maven2")
ARENA_GRADLE_DISTRIBUTIONS = env_str(
    "ARENA_GRADLE_DISTRIBUTIONS", "https://services.gradle.org/distributions"
)
ARENA_ELIDE = env_str("ARENA_ELIDE", "elide")
ARENA_MAVEN_ARGS = env_str("ARENA_MAVEN_ARGS")
ARENA_GRADLE_ARGS = env_str("ARENA_GRADLE_ARGS")
ARENA_ELIDE_BUILD_ARGS = env_str("ARENA_ELIDE_BUILD_ARGS")
# The Elide command, "{elide}" standing for ARENA_ELIDE; empty: the template of Elide's version.
ARENA_ELIDE_RECIPE = env_str("ARENA_ELIDE_RECIPE")
ARENA_JAVA_HOME = env_str("ARENA_JAVA_HOME")
# JDK homes a race may choose from (comma-separated); empty: those found under /usr/lib/jvm.
ARENA_JDKS = env_list("ARENA_JDKS")
# Warm dependency caches kept between races (keyed by repository, commit and tool; LRU).
ARENA_CACHE_ROOT = env_str("ARENA_CACHE_ROOT")
ARENA_CACHE_MAX_MB = env_int("ARENA_CACHE_MAX_MB", 4096)
# Extra environment variable names passed to builds (comma-separated); nothing else is.
ARENA_BUILD_ENV_ALLOW = env_list("ARENA_BUILD_ENV_ALLOW")
# Extra host paths shown read-only inside the sandbox (comma-separated), e.g. /opt/elide.
ARENA_SANDBOX_RO_BINDS = env_list("ARENA_SANDBOX_RO_BINDS")
