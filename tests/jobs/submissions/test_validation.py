"""jobs/submissions/validation.py: repository URLs and local paths, accepted or refused with a
message."""

import pytest
from django.core.exceptions import ValidationError

from jobs.models import Job
from jobs.submissions import services, validation

GOOD_URLS = [
    ("https://github.com/spring-projects/spring-petclinic",
     "https://github.com/spring-projects/spring-petclinic", "spring-projects/spring-petclinic"),
    ("https://github.com/google/guava.git", "https://github.com/google/guava", "google/guava"),
    ("https://github.com/square/okhttp/", "https://github.com/square/okhttp", "square/okhttp"),
    ("https://gitlab.com/group/my.project.git/", "https://gitlab.com/group/my.project",
     "group/my.project"),
    ("  https://GitHub.com/apache/commons-lang  ", "https://github.com/apache/commons-lang",
     "apache/commons-lang"),
]  # fmt: skip

BAD_URLS = [
    ("", "Enter a repository URL."),
    ("http://github.com/a/b", "Only https:// repository URLs are accepted"),
    ("ssh://git@github.com/a/b", "Only https:// repository URLs are accepted"),
    ("git@github.com:a/b.git", "Only https:// repository URLs are accepted"),
    ("ssh://github.com/a/b", "Only https:// repository URLs are accepted"),
    ("git://github.com/a/b", "Only https:// repository URLs are accepted"),
    ("https://user:token@github.com/a/b", "Credentials in the repository URL are not allowed"),
    ("https://github.com:8443/a/b", "A port in the repository URL is not allowed"),
    ("https://bitbucket.org/a/b", "Repositories on bitbucket.org are not accepted"),
    ("https://github.com/a", "looks like https://github.com/OWNER/REPO, and /a is not"),
    ("https://github.com/a/b/blob/main/x", "looks like https://github.com/OWNER/REPO"),
    ("https://github.com/a/b/tree/", "looks like https://github.com/OWNER/REPO"),
    ("https://github.com/a/b?x=1", "A repository URL cannot contain the character “?”."),
    ("https://github.com/a/b c", "A repository URL cannot contain a space."),
    ("https://github.com/a/b;rm -rf ~", "cannot contain a space, the character “;” or"),
    ("https://github.com/a/$(id)", "cannot contain the character “$”"),
    ("https://github.com/a/`id`", "cannot contain the character “`”."),
    ("https://github.com/a/b\nx", "control characters"),
    ("https://github.com/" + "a" * 300 + "/" + "b" * 300, "too long"),
    ("/srv/repos/project", "Local paths and file:// URLs are not accepted"),
    ("file:///srv/repos/project", "Local paths and file:// URLs are not accepted"),
    ("https://github.com/../etc", "looks like https://github.com/OWNER/REPO"),
    ("github.com/a", "looks like https://github.com/OWNER/REPO"),
    ("example.com/a/b", "Only https:// repository URLs are accepted"),
]


# What people paste: the address bar without https://, a branch's page, a clone URL.
PASTED = [
    ("github.com/spring-projects/spring-petclinic", "", "spring-projects/spring-petclinic", ""),
    ("www.github.com/google/guava.git", "", "google/guava", ""),
    ("https://github.com/square/okhttp/tree/parent-4.12.0", "", "square/okhttp", "parent-4.12.0"),
    ("https://github.com/o/r/tree/feature/nested/", "", "o/r", "feature/nested"),
    ("https://github.com/o/r/tree/main", "main", "o/r", "main"),
    ("https://gitlab.com/group/project/-/tree/v1.0", "", "group/project", "v1.0"),
    ("https://github.com/o/r.git/", "dev", "o/r", "dev"),
]  # fmt: skip


@pytest.mark.parametrize(("pasted", "typed_ref", "name", "ref"), PASTED)
def test_what_people_paste_is_understood(pasted, typed_ref, name, ref):
    url, repository_name, chosen_ref = validation.validate_repository(pasted, typed_ref)
    host = "gitlab.com" if "gitlab" in pasted else "github.com"
    assert (url, repository_name, chosen_ref) == (f"https://{host}/{name}", name, ref)


@pytest.mark.django_db
def test_a_ref_in_the_url_is_the_race_ref_and_a_contradicting_one_is_refused():
    job = services.create_job("https://github.com/o/r/tree/release/2.x")
    assert (job.repository_url, job.ref) == ("https://github.com/o/r", "release/2.x")
    with pytest.raises(ValidationError, match="names the ref main but the ref field says dev"):
        services.create_job("https://github.com/o/r/tree/main", ref="dev")
    with pytest.raises(ValidationError, match="names a ref"):
        validation.validate_repository_url("https://github.com/o/r/tree/main")
    assert Job.objects.count() == 1


@pytest.mark.parametrize(("url", "message"), BAD_URLS)
def test_every_refusal_reads_as_one_sentence(url, message, settings):
    settings.ARENA_ALLOW_LOCAL_REPOS = False
    with pytest.raises(ValidationError) as refused:
        validation.validate_repository(url)
    for sentence in refused.value.messages:
        assert sentence[0].isupper() and sentence.endswith(".") and "\n" not in sentence
        assert "'" not in sentence  # no Python reprs of characters


@pytest.mark.parametrize(("url", "normalized", "name"), GOOD_URLS)
def test_good_urls(url, normalized, name):
    assert validation.validate_repository_url(url) == (normalized, name)


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "message"), BAD_URLS)
def test_bad_urls_are_refused_with_a_message_and_nothing_is_written(url, message):
    with pytest.raises(ValidationError) as refused:
        services.create_job(url)
    assert message in " ".join(refused.value.messages)
    assert not Job.objects.exists()


def test_extra_hosts_come_from_settings(settings):
    settings.ARENA_EXTRA_GIT_HOSTS = ["git.example.com"]
    assert validation.validate_repository_url("https://git.example.com/team/app")[1] == "team/app"


@pytest.mark.django_db
def test_local_repositories_only_when_allowed(settings, tmp_path):
    repo = tmp_path / "hello-maven"
    repo.mkdir()
    settings.ARENA_ALLOW_LOCAL_REPOS = True
    job = services.create_job(str(repo))
    assert job.repository_name == "hello-maven"
    assert services.create_job(f"file://{repo}").repository_name == "hello-maven"
    with pytest.raises(ValidationError, match="No such directory"):
        services.create_job(str(tmp_path / "missing"))
    with pytest.raises(ValidationError, match="absolute path"):
        validation.validate_repository_url("file://relative/path")
