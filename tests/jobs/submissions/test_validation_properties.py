"""Bad-input drill for the job services: property tests over repository URLs and refs.

Whatever text arrives, validate_repository_url / validate_ref / create_job either accept it in
a normalized, safe form or raise ValidationError with a message, and a refused job writes
nothing. Example counts stay modest so the suite stays fast on both databases.
"""

import re
import string

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.models import Job, JobStatus
from jobs.submissions.services import QueueFull, create_job
from jobs.submissions.validation import validate_ref, validate_repository_url
from workers import scheduler

DRILL = settings(max_examples=60)

SAFE_URL = re.compile(
    r"^https://(github\.com|gitlab\.com)/[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$"
)
SAFE_REF = re.compile(r"^[A-Za-z0-9._/+][A-Za-z0-9._/+-]*$")

name_chars = string.ascii_letters + string.digits + "._-"
names = st.text(alphabet=name_chars, min_size=1, max_size=30).filter(
    lambda s: s[0].isalnum() and not s.endswith(".git") and s.strip(".")
)
hosts = st.sampled_from(["github.com", "gitlab.com", "GitHub.com"])
valid_urls = st.builds(
    lambda host, owner, repo, suffix: f"https://{host}/{owner}/{repo}{suffix}",
    hosts,
    names,
    names,
    st.sampled_from(["", "/", ".git", ".git/"]),
)
# Text that looks like a URL but is mangled: schemes, hosts, credentials, ports, shell
# metacharacters, control characters, extra path segments, unicode.
hostile_fragments = st.sampled_from(
    [
        "http://",
        "ssh://",
        "git@github.com:",
        "file://",
        "/",
        "//",
        "..",
        "@",
        ":22",
        "?x=1",
        "#frag",
        ";",
        "|",
        "&&",
        "$(id)",
        "`id`",
        " ",
        "\t",
        "\n",
        "\x00",
        "\x7f",
        "'",
        '"',
        "\\",
        "%2e%2e",
        "github.com",
        "gitlab.com",
        "evil.com",
        "-",
        "--upload-pack=x",
        "\uff47\uff49\uff54\uff48\uff55\uff42.com",
        "\u202e",
        "a" * 300,
    ]
)
mangled_urls = st.lists(st.one_of(hostile_fragments, names), min_size=1, max_size=8).map("".join)
any_text = st.one_of(st.text(max_size=80), mangled_urls, valid_urls)


def check_url_outcome(url):
    """Accepted -> normalized and safe; refused -> ValidationError with a message."""
    try:
        normalized, name = validate_repository_url(url)
    except ValidationError as error:
        assert error.messages and all(m.strip() for m in error.messages)
        return None
    assert SAFE_URL.match(normalized), normalized
    assert normalized.endswith(name) and name.count("/") == 1
    assert validate_repository_url(normalized) == (normalized, name)
    return normalized


@DRILL
@given(valid_urls)
def test_valid_urls_are_accepted_and_normalized(url):
    normalized = check_url_outcome(url)
    assert normalized is not None
    assert not normalized.endswith((".git", "/"))
    assert normalized.split("/")[2] in ("github.com", "gitlab.com")


@DRILL
@given(any_text)
def test_any_text_is_accepted_safely_or_refused_with_a_message(url):
    check_url_outcome(url)


@DRILL
@given(valid_urls, st.sampled_from(list(" ;|&$`<>\\\"'(){}*?![]#%^~\n\x00")), st.data())
def test_a_metacharacter_anywhere_is_refused(url, bad, data):
    # Inside the URL (surrounding whitespace is stripped, as a form would).
    position = data.draw(st.integers(min_value=len("https://x"), max_value=len(url) - 1))
    with pytest.raises(ValidationError) as refused:
        validate_repository_url(url[:position] + bad + url[position:])
    assert refused.value.messages[0]


@DRILL
@given(st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=3)), st.binary(max_size=5)))
def test_non_strings_are_refused(value):
    with pytest.raises(ValidationError):
        validate_repository_url(value)


@DRILL
@given(st.one_of(st.text(max_size=60), st.sampled_from(["-x", "a..b", "--upload-pack=x", "main"])))
def test_refs_are_safe_or_refused(ref):
    try:
        accepted = validate_ref(ref)
    except ValidationError as error:
        assert error.messages[0]
        return
    assert accepted == "" or SAFE_REF.match(accepted), accepted
    assert ".." not in accepted and not accepted.startswith("-")
    assert not any(ch.isspace() for ch in accepted)


@pytest.mark.django_db
@DRILL
@given(url=any_text, ref=st.one_of(st.just(""), st.text(max_size=20)))
def test_create_job_writes_one_row_or_nothing(url, ref):
    before = Job.objects.count()
    try:
        job = create_job(url, ref=ref)
    except ValidationError as error:
        assert error.messages[0]
        assert Job.objects.count() == before
        return
    except QueueFull:
        assert Job.objects.count() == before
        return
    assert Job.objects.count() == before + 1
    stored = Job.objects.get(pk=job.pk)
    assert SAFE_URL.match(stored.repository_url)
    assert stored.status == "queued" and stored.standard_cmd is None and stored.elide_cmd is None


@pytest.mark.django_db
def test_create_job_refuses_when_the_queue_is_full(settings):
    settings.ARENA_MAX_QUEUED_JOBS = 2
    create_job("https://github.com/a/b")
    create_job("https://github.com/a/c")
    with pytest.raises(QueueFull, match="queue is full"):
        create_job("https://github.com/a/d")
    assert Job.objects.count() == 2
    # Running jobs do not count against the queue.
    scheduler.register_worker("w1", hostname="h")
    assert scheduler.claim_job("w1", now=timezone.now())
    assert create_job("https://github.com/a/d").status == JobStatus.QUEUED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"iterations": 0}, "iterations"),
        ({"mode": "turbo"}, "mode"),
        ({"warmups": -1}, "warmups"),
    ],
)
def test_bad_operator_fields_write_nothing(extra, field):
    with pytest.raises(ValidationError) as refused:
        create_job("https://github.com/a/b", **extra)
    assert field in str(refused.value.message_dict)  # the field, or its constraint's name
    assert Job.objects.count() == 0
