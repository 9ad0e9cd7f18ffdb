"""What a public submission may contain: a repository URL on an allowed host (or, when
ARENA_ALLOW_LOCAL_REPOS is on, a local path), a ref, the runs and warm-ups, the cache policy
and the scenario. Each check returns the clean value or raises ValidationError with a message
meant for the person who typed it; the form, the API, the admin and the services share them.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from jobs.choices import CacheMode, Scenario

MAX_URL_LENGTH = 500
DEFAULT_GIT_HOSTS = ("github.com", "gitlab.com")
# Owner and repository names as GitHub and GitLab allow them (no dots-only names).
_NAME_RE = re.compile(r"^(?!\.+$)[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_REF_RE = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/+-]{1,200}$")
_FORBIDDEN_CHARS = set(" \t\r\n;|&$`<>\\\"'(){}*?![]#%^~")


def validate_repository_url(url):
    """Return (normalized url, repository name) or raise ValidationError with a clear message.

    Accepts https://github.com/OWNER/REPO and https://gitlab.com/OWNER/REPO (optional .git and
    trailing slash), hosts from ARENA_EXTRA_GIT_HOSTS, and, when ARENA_ALLOW_LOCAL_REPOS is on,
    local paths and file:// URLs.
    """
    if not isinstance(url, str):
        raise ValidationError("The repository URL must be a string.", code="invalid_type")
    url = url.strip()
    if not url:
        raise ValidationError("Enter a repository URL.", code="required")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(
            f"The repository URL is too long (at most {MAX_URL_LENGTH} characters).",
            code="too_long",
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValidationError("The repository URL contains control characters.", code="invalid")
    if not url.isascii():
        # Look-alike characters (U+FF0F FULLWIDTH SOLIDUS, ...) would be normalized into a
        # different host or path than the one shown; no Git host we accept needs them.
        raise ValidationError(
            "The repository URL must contain only ASCII characters.", code="non_ascii"
        )

    if url.startswith(("file://", "/")):
        return _validate_local(url)

    bad = sorted(set(url) & _FORBIDDEN_CHARS)
    if bad:
        raise ValidationError(
            "The repository URL contains characters that are not allowed: "
            + " ".join(repr(ch) for ch in bad),
            code="invalid_characters",
        )
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for "github.com:abc" or a port above 65535
    except ValueError:
        raise ValidationError(
            "The repository URL is malformed (check the host name and port).", code="invalid"
        ) from None
    if parts.scheme != "https":
        raise ValidationError(
            "Only https:// repository URLs are accepted "
            "(for example https://github.com/spring-projects/spring-petclinic).",
            code="invalid_scheme",
        )
    if parts.username or parts.password or "@" in parts.netloc:
        raise ValidationError(
            "Credentials in the repository URL are not allowed; use a public repository.",
            code="credentials",
        )
    if port is not None or parts.netloc.endswith(":"):
        raise ValidationError("A port in the repository URL is not allowed.", code="port")
    host = (parts.hostname or "").lower()
    allowed_hosts = set(DEFAULT_GIT_HOSTS) | {h.lower() for h in settings.ARENA_EXTRA_GIT_HOSTS}
    if host not in allowed_hosts:
        raise ValidationError(
            f"Repositories on {host or 'that host'} are not accepted; "
            f"use one of: {', '.join(sorted(allowed_hosts))}.",
            code="invalid_host",
        )
    if parts.query or parts.fragment:
        raise ValidationError(
            "The repository URL must not have a query or fragment.", code="invalid"
        )
    path = parts.path.rstrip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    segments = path.strip("/").split("/")
    if len(segments) != 2 or not all(_NAME_RE.fullmatch(s) for s in segments):
        raise ValidationError(
            f"Expected https://{host}/OWNER/REPO, got a path of {parts.path or '/'}.",
            code="invalid_path",
        )
    owner, repo = segments
    return f"https://{host}/{owner}/{repo}", f"{owner}/{repo}"


def _validate_local(url):
    if not settings.ARENA_ALLOW_LOCAL_REPOS:
        raise ValidationError(
            "Local paths and file:// URLs are not accepted (ARENA_ALLOW_LOCAL_REPOS is off).",
            code="local_not_allowed",
        )
    path = url[len("file://") :] if url.startswith("file://") else url
    if not path.startswith("/"):
        raise ValidationError("A local repository must be an absolute path.", code="invalid")
    local = Path(path)
    if not local.is_dir():
        raise ValidationError(f"No such directory: {path}", code="not_found")
    name = local.resolve().name.removesuffix(".git") or "repository"
    return url, name


def validate_ref(ref):
    """A branch, tag or commit name: returns it stripped, or raises ValidationError."""
    ref = (ref or "").strip()
    if ref and not _REF_RE.fullmatch(ref):
        raise ValidationError(
            "The ref may contain letters, digits and . _ / + - only, and must not start with -.",
            code="invalid_ref",
        )
    return ref


MAX_RUNS = 10
MAX_WARMUPS = 3


def validate_runs(iterations, warmups):
    """Runs (1-10) and warm-ups (0-3) of a public submission; None takes the default
    (ARENA_DEFAULT_RUNS, ARENA_DEFAULT_WARMUPS). Returns both, or raises ValidationError."""
    iterations = settings.ARENA_DEFAULT_RUNS if iterations is None else iterations
    warmups = settings.ARENA_DEFAULT_WARMUPS if warmups is None else warmups
    errors = []
    for name, value, low, high in (
        ("iterations", iterations, 1, MAX_RUNS),
        ("warmups", warmups, 0, MAX_WARMUPS),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.append(f"{name} must be a whole number from {low} to {high}.")
    if errors:
        raise ValidationError(errors, code="invalid_runs")
    return iterations, warmups


def validate_build_options(cache, scenario):
    """The cache policy (cold|warm, default warm) and scenario (clean|noop|incremental, default
    clean) of a public submission; None takes the default. Returns both, or raises
    ValidationError naming every value refused."""
    chosen, errors = [], []
    for name, value, choices, default in (
        ("cache", cache, CacheMode, CacheMode.WARM),
        ("scenario", scenario, Scenario, Scenario.CLEAN),
    ):
        if value is None or value == "":
            value = default.value
        if not isinstance(value, str) or value not in choices.values:
            errors.append(f"{name} must be one of: {', '.join(choices.values)}.")
        chosen.append(value)
    if errors:
        raise ValidationError(errors, code="invalid_build_options")
    return tuple(chosen)
