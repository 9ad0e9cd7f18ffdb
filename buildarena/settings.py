"""Build Arena settings.

Everything an operator may change comes from the environment; README.md lists every variable.
The ARENA_* ones are defined once, in buildarena/settings_table.py, and read here once: a
misspelt ARENA_* name or a bad value stops start-up naming the variable. Each becomes a Django
setting of the same name (settings.ARENA_BUILD_TIMEOUT). The embedded default is a SQLite file
beside manage.py; DATABASE_URL switches to PostgreSQL.
"""

import datetime
import os
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from buildarena.settings_table import read_settings

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


def env_list(name, default=()):
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

# Every ARENA_* setting, parsed and checked (buildarena/settings_table.py), as module settings.
arena = read_settings(os.environ, debug=DEBUG)
globals().update(arena)

# Development keeps a fixed, clearly insecure key; production must provide one.
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and arena["ARENA_REQUIRE_SECRET_KEY"] and "pytest" not in sys.modules:
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
SQLITE_BUSY_TIMEOUT_MS = arena["ARENA_SQLITE_BUSY_TIMEOUT_MS"]
SQLITE_INIT_COMMAND = (
    f"PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS};"
)

DATABASE_PATH = Path(env_str("DATABASE_PATH") or BASE_DIR / "build-arena.db")

# Lets several test runs share a machine without sharing a test database.
TEST_DB_SUFFIX = arena["ARENA_TEST_DB_SUFFIX"]
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
        _silent_ms = arena["ARENA_WORKER_DEAD_AFTER"] * 1000
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        # Statements run through prepared_cursor() (the poll, races with both results) are
        # prepared after five runs on a connection and planned once, generically (their
        # parameters are ids and statuses, which index conditions serve whatever the value;
        # buildarena/postgresql/base.py); 0 turns that off, for a connection pooler that
        # cannot keep prepared statements.
        _prepare = arena["ARENA_POSTGRES_PREPARE"]
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
        ARENA_POLL_STATE_CACHE = arena["ARENA_POLL_STATE_CACHE"]
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
            "CONN_MAX_AGE": arena["ARENA_SQLITE_CONN_MAX_AGE"],
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
        if not DEBUG and arena["ARENA_MANIFEST_STATIC"]
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
AXES_FAILURE_LIMIT = arena["ARENA_LOGIN_FAILURE_LIMIT"]
AXES_COOLOFF_TIME = datetime.timedelta(minutes=arena["ARENA_LOGIN_LOCKOUT_MINUTES"])
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "jobs.submissions.ratelimit.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_TEMPLATE = "errors/login_locked.html"
AXES_VERBOSE = False  # no banner on every start; lockouts are still logged
# Request bodies Django reads into memory (JSON API, forms) are refused above this size (400).
DATA_UPLOAD_MAX_MEMORY_SIZE = arena["ARENA_MAX_REQUEST_BYTES"]
