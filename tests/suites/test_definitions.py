"""Suites from TOML (suites/definitions.py) and `manage.py suite`: the default file imports,
importing twice changes nothing, bad files change nothing and say why."""

import pytest
from django.core.management import CommandError, call_command

from suites.models import Suite, SuiteRepository
from tests.support import PROJECT_DIR

pytestmark = pytest.mark.django_db


def test_the_default_suite_imports_idempotently(capsys):
    call_command("suite", "import", str(PROJECT_DIR / "suites/default.toml"))
    first = list(SuiteRepository.objects.values_list("suite__name", "url", "ref", "position"))
    assert len(first) >= 8 and {row[0] for row in first} == {"core"}
    call_command("suite", "import", str(PROJECT_DIR / "suites/default.toml"))
    again = list(SuiteRepository.objects.values_list("suite__name", "url", "ref", "position"))
    assert again == first and Suite.objects.count() == 1
    call_command("suite", "list")
    assert "core: " in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[suites", "is not valid TOML"),
        ("title = 'x'", "defines no suite"),
        ("[suites.core]\nrepositories = []", "non-empty list"),
        ("[suites.core]\nrunz = 3\nrepositories = [{url='https://github.com/a/b'}]", "runz"),
        ("[suites.core]\nruns = 11\nrepositories = [{url='https://github.com/a/b'}]", "1 to 10"),
        ("[suites.core]\ncache = 'hot'\nrepositories = [{url='https://github.com/a/b'}]", "cold"),
        ("[suites.core]\nrepositories = [{url='ftp://example.com/x'}]", "repository 1"),
        ("[suites.'a b']\nrepositories = [{url='https://github.com/a/b'}]", "letters, digits"),
    ],
)
def test_a_bad_file_changes_nothing_and_says_why(tmp_path, text, message):
    Suite.objects.create(name="core", description="kept")
    path = tmp_path / "suite.toml"
    path.write_text(text)
    with pytest.raises(CommandError, match=message):
        call_command("suite", "import", str(path))
    assert list(Suite.objects.values_list("name", "description")) == [("core", "kept")]


def test_create_from_the_command_line(capsys):
    call_command(
        "suite", "create", "quick", "https://github.com/google/gson@gson-parent-2.11.0",
        "github.com/jhy/jsoup", "--runs", "auto", "--warmups", "0",
    )  # fmt: skip
    suite = Suite.objects.get(name="quick")
    assert (suite.runs, suite.warmups) == (0, 0)
    assert list(suite.repositories.values_list("url", "ref")) == [
        ("https://github.com/google/gson", "gson-parent-2.11.0"),
        ("https://github.com/jhy/jsoup", ""),
    ]
    with pytest.raises(CommandError, match="whole number"):
        call_command("suite", "create", "bad", "https://github.com/a/b", "--runs", "many")
