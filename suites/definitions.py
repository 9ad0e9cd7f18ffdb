"""Suites as TOML files (suites/default.toml, `manage.py suite import FILE`):

    [suites.core]
    description = "Well-known Maven projects"
    runs = 3          # 1-10
    warmups = 1       # 0-3
    cache = "warm"    # or "cold"
    scenario = "clean"
    repositories = [
      { url = "https://github.com/google/gson", ref = "" },
    ]

Every value is checked as a public submission is (jobs/submissions/validation.py) before
anything is written; an import creates or updates each suite and replaces its repositories,
so importing the same file twice changes nothing.
"""

import tomllib

from django.core.exceptions import ValidationError
from django.db import transaction

from jobs.choices import CacheMode, Scenario
from jobs.submissions.validation import validate_repository
from suites.models import Suite, SuiteRepository

SUITE_KEYS = {"description", "runs", "warmups", "cache", "scenario", "repositories"}


class DefinitionError(ValueError):
    """A suite file that cannot be imported, with a sentence saying where and why."""


def load(path):
    """{name: definition} of a TOML file, every value checked; DefinitionError otherwise."""
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise DefinitionError(f"Cannot read {path}: {error.strerror}.") from None
    except tomllib.TOMLDecodeError as error:
        raise DefinitionError(f"{path} is not valid TOML: {error}.") from None
    suites = document.get("suites")
    if not isinstance(suites, dict) or not suites:
        raise DefinitionError(f"{path} defines no suite: expected tables [suites.NAME].")
    return {name: check(name, table) for name, table in suites.items()}


def check(name, table):
    """One suite's definition, normalised, or DefinitionError naming the suite."""

    def fail(message):
        raise DefinitionError(f"Suite {name!r}: {message}")

    if not isinstance(table, dict):
        fail("expected a table of settings.")
    try:
        Suite._meta.get_field("name").run_validators(name)
    except ValidationError:
        fail("a suite's name may hold only letters, digits, - and _.")
    unknown = set(table) - SUITE_KEYS
    if unknown:
        fail(f"unknown setting(s) {', '.join(sorted(unknown))}.")
    runs, warmups = table.get("runs", 3), table.get("warmups", 1)
    if runs == "auto":
        runs = 0
    if not isinstance(runs, int) or isinstance(runs, bool) or not 0 <= runs <= 10:
        fail('runs must be a whole number from 1 to 10, or "auto".')
    if not isinstance(warmups, int) or isinstance(warmups, bool) or not 0 <= warmups <= 3:
        fail("warmups must be a whole number from 0 to 3.")
    cache, scenario = table.get("cache", CacheMode.WARM), table.get("scenario", Scenario.CLEAN)
    if cache not in CacheMode.values:
        fail(f"cache must be one of {', '.join(CacheMode.values)}.")
    if scenario not in Scenario.values:
        fail(f"scenario must be one of {', '.join(Scenario.values)}.")
    repositories = table.get("repositories", [])
    if not isinstance(repositories, list) or not repositories:
        fail("repositories must be a non-empty list of { url = ..., ref = ... }.")
    checked = []
    for index, entry in enumerate(repositories, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            fail(f"repository {index} must be a table with a url.")
        try:
            url, _, ref = validate_repository(entry["url"], str(entry.get("ref", "")))
        except ValidationError as error:
            fail(f"repository {index} ({entry['url']}): {' '.join(error.messages)}")
        if (url, ref) in checked:
            fail(f"repository {index} ({url}) is listed twice.")
        checked.append((url, ref))
    return {
        "description": str(table.get("description", "")),
        "runs": runs,
        "warmups": warmups,
        "cache": cache,
        "scenario": scenario,
        "repositories": checked,
    }


@transaction.atomic
def save(name, definition):
    """Create or update the suite; returns (suite, created)."""
    fields = {key: value for key, value in definition.items() if key != "repositories"}
    suite, created = Suite.objects.update_or_create(name=name, defaults=fields)
    wanted = definition["repositories"]
    suite.repositories.exclude(
        pk__in=[repo.pk for repo in suite.repositories.all() if (repo.url, repo.ref) in wanted]
    ).delete()
    for position, (url, ref) in enumerate(wanted):
        SuiteRepository.objects.update_or_create(
            suite=suite, url=url, ref=ref, defaults={"position": position}
        )
    return suite, created


def import_file(path):
    """[(suite, created)] for every suite of the file; nothing is written if any is invalid."""
    definitions = load(path)
    with transaction.atomic():
        return [save(name, definition) for name, definition in definitions.items()]
