"""Production posture: `check --deploy` passes with the production environment, and every
response carries the security headers (CSP with no inline script, framing denied, ...)."""

import os
import re
import secrets
import subprocess
import sys

import pytest

from tests.support import PROJECT_DIR

PRODUCTION_ENV = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "arena.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://arena.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
}


def run_manage(*args, env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SECURE_"))}
    base.pop("SECRET_KEY", None)
    base.pop("DEBUG", None)
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "manage.py"), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_DIR,
    )


def test_check_deploy_passes_with_the_production_environment():
    env = {**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(64)}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_plain_http_settings():
    """The same check fails when the HTTPS settings are left at their development defaults."""
    env = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(64)}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_secret_key_is_required_when_debug_is_off():
    result = run_manage("check", env={"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_boolean_settings_reject_nonsense():
    env = {**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(64), "SECURE_SSL_REDIRECT": "y"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT must be a boolean" in result.stderr


@pytest.fixture
def plain_static(settings):
    """Pages render without a collectstatic manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.mark.django_db
@pytest.mark.usefixtures("plain_static")
def test_security_headers_on_pages(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
@pytest.mark.usefixtures("plain_static")
def test_https_settings_redirect_and_send_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.CSRF_COOKIE_SECURE = True

    plain = client.get("/admin/login/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/admin/login/"

    proxied = client.get("/admin/login/", headers={"x-forwarded-proto": "https"})
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert proxied.cookies["csrftoken"]["secure"] is True
    assert proxied.cookies["csrftoken"]["samesite"] == "Lax"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b|<[^>]+\sstyle\s*=", re.I)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.I)


def template_files():
    return sorted((PROJECT_DIR / "templates").rglob("*.html"))


def test_templates_satisfy_the_content_security_policy():
    """Pages must work under script-src/style-src 'self': no inline code in any template."""
    offences = []
    for path in template_files():
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, INLINE_STYLE, JS_URL):
            for match in pattern.finditer(text):
                offences.append(f"{path.relative_to(PROJECT_DIR)}: {match.group(0)[:80]}")
    assert offences == []


@pytest.mark.parametrize(
    ("snippet", "pattern"),
    [
        ("<script>alert(1)</script>", INLINE_SCRIPT),
        ('<button onclick="go()">', INLINE_HANDLER),
        ('<div style="color: red">', INLINE_STYLE),
        ('<a href="javascript:go()">', JS_URL),
    ],
)
def test_inline_code_detectors_catch_inline_code(snippet, pattern):
    assert pattern.search(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="/static/js/race.js" defer></script>',
        '<script id="data" type="application/json">{"a": 1}</script>',
        '<a href="/jobs/" hx-get="/jobs/">',
        '<link rel="stylesheet" href="/static/css/arena.css">',
    ],
)
def test_inline_code_detectors_allow_external_files(snippet):
    for pattern in (INLINE_SCRIPT, INLINE_HANDLER, INLINE_STYLE, JS_URL):
        assert not pattern.search(snippet)


@pytest.mark.django_db
def test_every_poll_answer_with_a_body_carries_the_policy(client):
    """A 204 No Content has no document to govern and goes without the header; the poll's
    answers that carry markup (new output, the end of a race) keep it."""
    from django.urls import reverse

    from tests.factories import make_running_race

    job = make_running_race(output="line one\n")
    url = reverse("race_poll", args=[job.pk])
    news = client.get(url, {"elide": 0, "standard": 0}, HTTP_HX_REQUEST="true")
    assert news.status_code == 200 and "default-src 'self'" in news["Content-Security-Policy"]
    next_query = news.content.decode().split("/poll?", 1)[1].split('"', 1)[0].replace("&amp;", "&")
    quiet = client.get(f"{url}?{next_query}", HTTP_HX_REQUEST="true")
    assert quiet.status_code == 204 and quiet.content == b""
    assert "Content-Security-Policy" not in quiet
    assert quiet["X-Content-Type-Options"] == "nosniff"  # the other headers stay
    job.status = "completed"
    job.save()
    final = client.get(f"{url}?{next_query}", HTTP_HX_REQUEST="true")
    assert final.status_code == 286 and "Content-Security-Policy" in final
