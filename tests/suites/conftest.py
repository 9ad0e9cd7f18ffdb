import pytest

from suites.models import Suite, SuiteRepository

REPOSITORIES = ["https://github.com/acme/small", "https://github.com/acme/medium",
                "https://github.com/acme/large"]  # fmt: skip


@pytest.fixture
def suite(db, settings):
    settings.ARENA_ALERT_EMAILS = ["elide-team@example.com"]
    settings.ARENA_SUITE_RETRIES = 1
    made = Suite.objects.create(name="core", runs=5, warmups=0)
    for position, url in enumerate(REPOSITORIES):
        SuiteRepository.objects.create(suite=made, url=url, position=position)
    return made


def toolchains(elide="1.0.0", mvn="3.9.9", java="17.0.15"):
    """A probe's result as workers/engine/tools/toolchains.py stores it."""
    return {
        "elide": {"ok": True, "version": f"Elide {elide}"} if elide else {"ok": False},
        "mvn": {"ok": True, "version": f"Apache Maven {mvn}"},
        "java": {"ok": True, "version": f'openjdk version "{java}"'},
    }
