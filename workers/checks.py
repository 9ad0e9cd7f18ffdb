"""Whether this host can run builds, in Django's check framework (tag `arena_host`).

`manage.py check` reports them, `make run` runs it at start, `run_worker` logs them when it
starts, and a build host's unit refuses to start a worker on a host that fails them
(`manage.py check --tag arena_host --fail-level WARNING`, deploy/arena-worker@.service).
They are warnings, not errors: a host that only serves the web has no sandbox and needs none,
and an error would stop its `runserver` and `migrate`. Whether Elide is installed is not a
check: /workers/ and /api/status show each worker's toolchains.

| id | what |
| --- | --- |
| arena.W001 | builds cannot run: no bubblewrap, no slirp4netns, no seccomp, no build account... |
| arena.W002 | the sandbox is off (ARENA_SANDBOX=none): development only |
| arena.W003 | no JDK: neither ARENA_JDKS nor /usr/lib/jvm holds one |
| arena.W004 | git is not installed: no repository can be cloned |
| arena.W005 | ARENA_BUILD_CPUS names CPUs this worker may not use |
"""

import shutil

from django.conf import settings
from django.core.checks import Warning, register

from workers.engine.config import EngineConfig
from workers.engine.isolation.sandbox import Sandbox
from workers.engine.measuring.measure import build_cpus
from workers.engine.tools.jdk import installed_jdks

TAG = "arena_host"


@register(TAG)
def host_can_build(app_configs=None, config=None, **kwargs):
    """The arena.* messages for this host (or for `config`, an EngineConfig)."""
    config = config or EngineConfig.from_settings(settings)
    sandbox = Sandbox(config)
    found = []
    if sandbox.error:
        found.append(
            Warning(
                f"Builds cannot run on this host: {sandbox.error}.",
                hint="Run bin/install-system-deps as root (docs/ENGINE.md, 'Isolation').",
                id="arena.W001",
            )
        )
    elif config.isolation.sandbox == "none":
        found.append(
            Warning(
                "The sandbox is off (ARENA_SANDBOX=none): builds run unsandboxed.",
                hint="For development only; production sets ARENA_REQUIRE_SANDBOX=1.",
                id="arena.W002",
            )
        )
    if not installed_jdks(config.toolchains.jdks):
        found.append(
            Warning(
                "No JDK found (ARENA_JDKS, or under /usr/lib/jvm): no Java project can build.",
                hint="Install one, e.g. Debian's default-jdk-headless.",
                id="arena.W003",
            )
        )
    try:
        build_cpus(config.noise.build_cpus)
    except ValueError as error:
        found.append(Warning(f"{error}.", id="arena.W005"))
    if shutil.which("git") is None:
        found.append(Warning("git is not installed: no repository can be cloned.", id="arena.W004"))
    return found


def describe(messages):
    """The messages as lines for a log ("arena.W001: Builds cannot run ...")."""
    return [f"{message.id}: {message.msg}" for message in messages]
