"""Engine configuration: plain values in small frozen groups, so the engine runs (and is tested)
without Django.

Each engine default is written here once. buildarena/settings_table.py reads these defaults for
its ARENA_* settings, parses and validates the environment once, and
`EngineConfig.from_settings(settings)` copies the parsed values in without a fallback of its
own, so a setting missing from django.conf.settings fails loudly. Tests and benchmarks build an
EngineConfig directly: `EngineConfig(workspace_root=...)`, then
`config.with_changes(limits__disk_mb=32, isolation__network="off")`.
"""

import socket
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path

from jobs.outcomes.verdict import Tolerances

# The values ARENA_SANDBOX and ARENA_BUILD_NETWORK may take (checked once, by the settings).
SANDBOX_MODES = ("bwrap", "none")
NETWORK_MODES = ("on", "off")


@dataclass(frozen=True)
class Timeouts:
    """Seconds each step may take."""

    clone: float = 300.0
    # One build run of one side (all its steps); a job's timeout_seconds wins.
    build: float = 900.0
    # A whole race: prepare, warm-ups and runs of both sides (budget.py); 0: no bound.
    race_budget: float = 1800.0
    # A version probe (`mvn -v`, `elide --version`).
    version_probe: float = 30.0
    # Between SIGTERM and SIGKILL when a build is stopped.
    kill_grace: float = 1.0


@dataclass(frozen=True)
class Isolation:
    """How builds are kept from the host: the sandbox, its network, its accounts."""

    # bwrap: bubblewrap, and no build without it; none: unsandboxed (development).
    sandbox: str = "bwrap"
    # Refuse to build unsandboxed (ARENA_REQUIRE_SANDBOX).
    require_sandbox: bool = False
    network: str = "on"
    # Network on: private ranges (10/8, 172.16/12, 192.168/16, 100.64/10) are blocked unless set.
    allow_private_nets: bool = False
    # The host account builds run as when the worker is root (see bin/install-system-deps).
    build_user: str = "arena-build"
    # Parallel mode: the second side's account, so that each side's RLIMIT_NPROC is its own.
    parallel_build_user: str = "arena-build2"
    # Extra environment variable names passed from the arena's environment to builds.
    env_allow: tuple[str, ...] = ()
    # Extra host paths made visible (read-only) inside the sandbox, e.g. a toolchain install.
    extra_ro_binds: tuple[str, ...] = ()
    bwrap: str = "bwrap"
    slirp4netns: str = "slirp4netns"


@dataclass(frozen=True)
class Limits:
    """What one build (one side) may use; 0 = unlimited for the rlimits."""

    # Address space: generous because JVMs reserve far more virtual memory than they use, and
    # Elide's native image reserves ~32 GB at start.
    address_space_mb: int = 65536
    processes: int = 4096
    file_size_mb: int = 8192
    # Disk a side may fill (its source copy and its home, dependency caches included).
    disk_mb: int = 20480
    # Files and directories a side (and the clone) may have: the inodes of its filesystem.
    inodes: int = 1_000_000
    # The side's private /tmp (a tmpfs, so RAM).
    tmp_mb: int = 1024
    # The build's /dev/shm (a tmpfs too) and System V shared memory; with /tmp, within its memory.
    shm_mb: int = 64
    # A clone with more files or directory levels than this is refused before any build.
    repo_files: int = 200_000
    repo_depth: int = 128
    # Output kept per side, in characters: the beginning and the last `output_tail_chars`.
    output_cap_chars: int = 2_000_000
    output_tail_chars: int = 500_000


@dataclass(frozen=True)
class Toolchains:
    """The build tools both sides run, and where provisioned ones come from."""

    # An operator's Maven / Gradle executable; empty: the arena provisions the one the project
    # asks for (buildtools.py) into the tools store.
    mvn: str = ""
    gradle: str = ""
    elide: str = "elide"
    maven_args: tuple[str, ...] = ()
    gradle_args: tuple[str, ...] = ()
    elide_build_args: tuple[str, ...] = ()
    # The Elide command as a template ("{elide} build ..."); empty: chosen by Elide's version.
    elide_recipe: str = ""
    java_home: str = ""
    # JDK homes to choose from; empty: discovered under /usr/lib/jvm (jdk.py).
    jdks: tuple[str, ...] = ()
    maven_default: str = "3.9.11"
    maven_repository: str = "https://repo.maven.apache.org/maven2"
    gradle_distributions: str = "https://services.gradle.org/distributions"


@dataclass(frozen=True)
class Stores:
    """Host directories kept between races, each bounded; None: beside the workspaces."""

    # Warm dependency caches (cache.py).
    cache_root: Path | None = None
    cache_max_mb: int = 4096
    # Provisioned Maven and Gradle distributions (toolstore.py).
    tools_root: Path | None = None
    tools_max_mb: int = 2048


@dataclass(frozen=True)
class Noise:
    """When a measured run is too disturbed to keep (noise.py), and where runs are pinned."""

    # More than this many cores used by the rest of the host on average: the run is noisy and
    # its pair is run again, at most `retries` times a race.
    max_cpu: float = 0.10
    retries: int = 3
    # The CPUs sequential measured builds are pinned to (measure.build_cpus); empty: all but
    # one when the host has more than two, else all.
    build_cpus: tuple[int, ...] = ()


@dataclass(frozen=True)
class EngineConfig:
    workspace_root: Path
    keep_workspaces: bool = False
    # The host-wide measurement lock; None = `.locks/measure.lock` under workspace_root, in a
    # directory only the arena's user can open.
    measure_lock: Path | None = None
    # Names this worker in messages such as "elide is not installed on worker build-2".
    worker_name: str = field(default_factory=socket.gethostname)
    timeouts: Timeouts = field(default_factory=Timeouts)
    isolation: Isolation = field(default_factory=Isolation)
    limits: Limits = field(default_factory=Limits)
    toolchains: Toolchains = field(default_factory=Toolchains)
    stores: Stores = field(default_factory=Stores)
    noise: Noise = field(default_factory=Noise)
    tolerances: Tolerances = field(default_factory=Tolerances)

    @property
    def cache_dir(self):
        """The host caches' directory: ARENA_CACHE_ROOT, else beside the workspaces."""
        root = self.workspace_root
        return self.stores.cache_root or root.parent / f"{root.name}-caches"

    @property
    def tools_dir(self):
        """The tools store: ARENA_TOOLS_ROOT, else beside the workspaces."""
        root = self.workspace_root
        return self.stores.tools_root or root.parent / f"{root.name}-tools"

    @property
    def measure_lock_path(self):
        return self.measure_lock or self.workspace_root / ".locks" / "measure.lock"

    def with_changes(self, **changes):
        """A copy with fields changed: `keep_workspaces=True`, or within a group with a double
        underscore, `limits__disk_mb=32` (Django's lookup spelling)."""
        groups = {}
        top = {}
        for name, value in changes.items():
            group, _, member = name.partition("__")
            if member:
                groups.setdefault(group, {})[member] = value
            else:
                top[name] = value
        for group, members in groups.items():
            if group not in GROUPS:
                raise TypeError(f"EngineConfig has no group {group!r}: {', '.join(GROUPS)}")
            top[group] = replace(top.get(group, getattr(self, group)), **members)
        return replace(self, **top)

    @classmethod
    def from_settings(cls, settings):
        """Build from the parsed ARENA_* settings (django.conf.settings), read directly."""
        return cls(
            workspace_root=Path(settings.ARENA_WORKSPACE_ROOT),
            keep_workspaces=settings.ARENA_KEEP_WORKSPACES,
            measure_lock=settings.ARENA_MEASURE_LOCK,
            timeouts=Timeouts(
                clone=settings.ARENA_CLONE_TIMEOUT,
                build=settings.ARENA_BUILD_TIMEOUT,
                race_budget=settings.ARENA_RACE_BUDGET_SECONDS,
                version_probe=settings.ARENA_VERSION_TIMEOUT,
            ),
            isolation=Isolation(
                sandbox=settings.ARENA_SANDBOX,
                require_sandbox=settings.ARENA_REQUIRE_SANDBOX,
                network=settings.ARENA_BUILD_NETWORK,
                allow_private_nets=settings.ARENA_BUILD_ALLOW_PRIVATE_NETS,
                build_user=settings.ARENA_BUILD_USER,
                parallel_build_user=settings.ARENA_PARALLEL_BUILD_USER,
                env_allow=settings.ARENA_BUILD_ENV_ALLOW,
                extra_ro_binds=settings.ARENA_SANDBOX_RO_BINDS,
                bwrap=settings.ARENA_BWRAP,
            ),
            limits=Limits(
                address_space_mb=settings.ARENA_BUILD_MAX_MEMORY_MB,
                processes=settings.ARENA_BUILD_MAX_PROCESSES,
                file_size_mb=settings.ARENA_BUILD_MAX_FILE_MB,
                disk_mb=settings.ARENA_BUILD_MAX_DISK_MB,
                inodes=settings.ARENA_BUILD_MAX_INODES,
                tmp_mb=settings.ARENA_BUILD_TMP_MB,
                shm_mb=settings.ARENA_BUILD_SHM_MB,
                repo_files=settings.ARENA_MAX_REPO_FILES,
                repo_depth=settings.ARENA_MAX_REPO_DEPTH,
                output_cap_chars=settings.ARENA_OUTPUT_CAP,
                output_tail_chars=settings.ARENA_OUTPUT_TAIL,
            ),
            toolchains=Toolchains(
                mvn=settings.ARENA_MVN,
                gradle=settings.ARENA_GRADLE,
                elide=settings.ARENA_ELIDE,
                maven_args=settings.ARENA_MAVEN_ARGS,
                gradle_args=settings.ARENA_GRADLE_ARGS,
                elide_build_args=settings.ARENA_ELIDE_BUILD_ARGS,
                elide_recipe=settings.ARENA_ELIDE_RECIPE,
                java_home=settings.ARENA_JAVA_HOME,
                jdks=settings.ARENA_JDKS,
                maven_default=settings.ARENA_MAVEN_DEFAULT,
                maven_repository=settings.ARENA_MAVEN_REPOSITORY,
                gradle_distributions=settings.ARENA_GRADLE_DISTRIBUTIONS,
            ),
            stores=Stores(
                cache_root=settings.ARENA_CACHE_ROOT,
                cache_max_mb=settings.ARENA_CACHE_MAX_MB,
                tools_root=settings.ARENA_TOOLS_ROOT,
                tools_max_mb=settings.ARENA_TOOLS_MAX_MB,
            ),
            noise=Noise(
                max_cpu=settings.ARENA_NOISE_MAX_CPU,
                retries=settings.ARENA_NOISE_RETRIES,
                build_cpus=settings.ARENA_BUILD_CPUS,
            ),
            tolerances=Tolerances.from_settings(settings),
        )


# The groups `with_changes` reaches into with `group__field`.
GROUPS = tuple(f.name for f in fields(EngineConfig) if is_dataclass(f.type))
