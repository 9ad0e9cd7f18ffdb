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


def validate_repository(url, ref=""):
    """(normalized url, repository name, ref) from a repository URL as people paste it and the
    ref they typed, or ValidationError with a sentence for them.

    A URL that names a ref (https://github.com/OWNER/REPO/tree/REF) gives the ref when none
    was typed; a typed ref that contradicts it is refused rather than silently preferred.
    """
    url, name, url_ref = _parse_repository_url(url)
    return url, name, choose_ref(url_ref, validate_ref(ref))


def choose_ref(url_ref, typed_ref):
    """The race's ref: the one the URL names (/tree/REF), else the typed one; both, when they
    differ, is a mistake to point out rather than to settle silently."""
    if not url_ref:
        return typed_ref
    url_ref = validate_ref(url_ref)
    if typed_ref and typed_ref != url_ref:
        raise ValidationError(
            f"The URL names the ref {url_ref} but the ref field says {typed_ref}; "
            "leave one of them out.",
            code="conflicting_ref",
        )
    return url_ref


def validate_repository_url(url):
    """(normalized url, repository name) of a URL without a ref in it, or ValidationError.

    For a URL that may name a ref (/tree/REF), use validate_repository, which keeps it."""
    url, name, url_ref = _parse_repository_url(url)
    if url_ref:
        raise ValidationError(
            "This URL names a ref (/tree/...); give the repository's URL and the ref apart.",
            code="ref_in_url",
        )
    return url, name


def _parse_repository_url(url):
    """(normalized url, repository name, ref named by the URL or "").

    Accepts https://github.com/OWNER/REPO and https://gitlab.com/OWNER/REPO, with or without
    https:// (github.com/OWNER/REPO), a trailing .git or slash, a /tree/REF (GitLab:
    /-/tree/REF) suffix; hosts from ARENA_EXTRA_GIT_HOSTS; and, when ARENA_ALLOW_LOCAL_REPOS
    is on, local paths and file:// URLs.
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
        return (*_validate_local(url), "")

    bad = sorted(set(url) & _FORBIDDEN_CHARS)
    if bad:
        raise ValidationError(
            f"A repository URL cannot contain {_named_characters(bad)}.",
            code="invalid_characters",
        )
    if "://" not in url and url.lower().startswith(_bare_host_prefixes()):
        url = "https://" + url  # github.com/OWNER/REPO, as copied from an address bar
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
    if host.startswith("www.") and host[4:] in allowed_hosts:
        host = host[4:]
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
    segments = [segment for segment in parts.path.split("/") if segment]
    ref = ""
    for marker in (["-", "tree"], ["tree"]):
        at = len(marker) + 2
        if segments[2:at] == marker and len(segments) > at:
            segments, ref = segments[:2], "/".join(segments[at:])
            break
    if segments:
        segments[-1] = segments[-1].removesuffix(".git")
    if len(segments) != 2 or not all(_NAME_RE.fullmatch(s) for s in segments):
        raise ValidationError(
            f"A repository URL looks like https://{host}/OWNER/REPO, "
            f"and {parts.path or '/'} is not an owner and a repository.",
            code="invalid_path",
        )
    owner, repo = segments
    return f"https://{host}/{owner}/{repo}", f"{owner}/{repo}", ref


_CHARACTER_NAMES = {" ": "a space", "\t": "a tab", "\r": "a line break", "\n": "a line break"}


def _named_characters(characters):
    """ "a space or the character ;" and so on: characters named so a person can find them."""
    names = []
    for character in characters:
        name = _CHARACTER_NAMES.get(character, f"the character “{character}”")
        if name not in names:
            names.append(name)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _bare_host_prefixes():
    hosts = set(DEFAULT_GIT_HOSTS) | {h.lower() for h in settings.ARENA_EXTRA_GIT_HOSTS}
    return tuple(f"{host}/" for host in hosts) + tuple(f"www.{host}/" for host in hosts)


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
# Adaptive runs: pairs are added until the verdict is clear (jobs/outcomes/sequential.py).
AUTO = "auto"


def validate_runs(iterations, warmups):
    """Runs (1-10, or "auto") and warm-ups (0-3) of a public submission; None takes the
    default (ARENA_DEFAULT_RUNS, ARENA_DEFAULT_WARMUPS). Returns both ("auto" as AUTO), or
    raises ValidationError."""
    iterations = settings.ARENA_DEFAULT_RUNS if iterations is None else iterations
    warmups = settings.ARENA_DEFAULT_WARMUPS if warmups is None else warmups
    if isinstance(iterations, str) and iterations.strip().lower() == AUTO:
        iterations = AUTO
    errors = []
    for name, value, low, high in (
        ("iterations", iterations, 1, MAX_RUNS),
        ("warmups", warmups, 0, MAX_WARMUPS),
    ):
        if name == "iterations" and value == AUTO:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            also = ' or "auto"' if name == "iterations" else ""
            errors.append(f"{name} must be a whole number from {low} to {high}{also}.")
    if errors:
        raise ValidationError(errors, code="invalid_runs")
    return iterations, warmups


def measured_runs(iterations):
    """(runs a side at most, adaptive?) of validated `iterations`: "auto" runs up to
    ARENA_MAX_RUNS a side."""
    if iterations == AUTO:
        return settings.ARENA_MAX_RUNS, True
    return iterations, False


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
