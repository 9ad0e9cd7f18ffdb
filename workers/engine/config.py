"""Engine configuration: plain values, so the engine runs (and is tested) without Django.

`EngineConfig.from_settings(settings)` reads the ARENA_* settings (see buildarena/settings.py
and README's configuration table); tests and benchmarks build an EngineConfig directly.
"""

import shlex
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

SANDBOX_MODES = ("auto", "bwrap", "none")
NETWORK_MODES = ("on", "off")


@dataclass(frozen=True)
class EngineConfig:
    workspace_root: Path
    keep_workspaces: bool = False
    clone_timeout: float = 300.0
    # Wall-clock limit of one build run of one side (all its steps), in seconds.
    build_timeout: float = 900.0
    # Seconds a whole race may hold the host: prepare, warm-ups and runs of both sides (budget.py);
    # 0: no bound.
    race_budget_seconds: float = 1800.0
    # Seconds a version probe (`mvn -v`, `elide --version`) may take.
    version_timeout: float = 30.0
    # Output kept per side, in characters: the beginning and the last `output_tail_chars`.
    output_cap_chars: int = 2_000_000
    output_tail_chars: int = 500_000
    sandbox: str = "auto"
    require_sandbox: bool = False
    network: str = "on"
    # rlimits per build (0 = unlimited). Address space is generous because JVMs reserve far
    # more virtual memory than they use, and Elide's native image reserves ~32 GB at start.
    max_address_space_mb: int = 65536
    max_processes: int = 4096
    max_file_size_mb: int = 8192
    # Disk a side may fill (its source copy and its home, dependency caches included), and the
    # size of its private /tmp (a tmpfs, so RAM).
    max_disk_mb: int = 20480
    # Files and directories a side (and the clone) may have: the inodes of its filesystem.
    max_inodes: int = 1_000_000
    tmp_size_mb: int = 1024
    # The build's /dev/shm (a tmpfs too) and System V shared memory; with /tmp, within its memory.
    shm_size_mb: int = 64
    # A clone with more files or directory levels than this is refused before any build.
    max_repo_files: int = 200_000
    max_repo_depth: int = 128
    # The host account builds run as when the worker is root (see bin/install-system-deps).
    build_user: str = "arena-build"
    # Parallel mode: the second side's account, so that each side's RLIMIT_NPROC is its own.
    parallel_build_user: str = "arena-build2"
    # Network on: private ranges (10/8, 172.16/12, 192.168/16, 100.64/10) are blocked unless set.
    allow_private_nets: bool = False
    # Seconds between SIGTERM and SIGKILL when a build is stopped.
    kill_grace: float = 1.0
    # The host-wide measurement lock; None = `.locks/measure.lock` under workspace_root, in a
    # directory only the arena's user can open.
    measure_lock: Path | None = None
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
    # The tools store (toolstore.py): where, how large in all, and its sources.
    tools_root: Path | None = None
    tools_max_mb: int = 2048
    maven_default: str = "3.9.11"
    maven_repository: str = "https://repo.maven.apache.org/maven2"
    gradle_distributions: str = "https://services.gradle.org/distributions"
    java_home: str = ""
    # JDK homes to choose from (ARENA_JDKS); empty: discovered under /usr/lib/jvm (jdk.py).
    jdks: tuple[str, ...] = ()
    # Host dependency caches for warm races (cache.py): where, and how large in all.
    cache_root: Path | None = None
    cache_max_mb: int = 4096
    # Extra environment variable names passed from the arena's environment to builds.
    env_allow: tuple[str, ...] = ()
    # Extra host paths made visible (read-only) inside the sandbox, e.g. a toolchain install.
    extra_ro_binds: tuple[str, ...] = ()
    bwrap: str = "bwrap"
    slirp4netns: str = "slirp4netns"
    # Names this worker in messages such as "elide is not installed on worker build-2".
    worker_name: str = field(default_factory=socket.gethostname)
    # Relative time difference under which a race is a tie (ARENA_TIE_TOLERANCE).
    tie_tolerance: float = 0.01
    # Share of class names the two sides may differ by and still be comparable.
    parity_tolerance: float = 0.02
    # A measured run during which the rest of the host used more than this many cores on
    # average is noisy (noise.py) and its pair is run again, at most `noise_retries` times a race.
    noise_max_cpu: float = 0.10
    noise_retries: int = 3
    # The CPUs sequential measured builds are pinned to (measure.build_cpus); empty: all but
    # one when the host has more than two, else all.
    build_cpus: tuple[int, ...] = ()

    def __post_init__(self):
        if self.sandbox not in SANDBOX_MODES:
            raise ValueError(f"sandbox must be one of {SANDBOX_MODES}, got {self.sandbox!r}")
        if self.network not in NETWORK_MODES:
            raise ValueError(f"network must be one of {NETWORK_MODES}, got {self.network!r}")

    @property
    def cache_dir(self):
        """The host caches' directory: ARENA_CACHE_ROOT, else beside the workspaces."""
        root = self.workspace_root
        return self.cache_root or root.parent / f"{root.name}-caches"

    @property
    def tools_dir(self):
        """The tools store: ARENA_TOOLS_ROOT, else beside the workspaces."""
        root = self.workspace_root
        return self.tools_root or root.parent / f"{root.name}-tools"

    @property
    def measure_lock_path(self):
        return self.measure_lock or self.workspace_root / ".locks" / "measure.lock"

    def with_changes(self, **changes):
        return replace(self, **changes)

    @classmethod
    def from_settings(cls, settings):
        """Build from an object with ARENA_* attributes (django.conf.settings)."""

        def get(name, default):
            return getattr(settings, name, default)

        def args(name):
            value = get(name, "")
            return tuple(shlex.split(value)) if isinstance(value, str) else tuple(value)

        def names(name):
            value = get(name, ())
            if isinstance(value, str):
                value = [item.strip() for item in value.split(",")]
            return tuple(item for item in value if item)

        return cls(
            workspace_root=Path(get("ARENA_WORKSPACE_ROOT", "/tmp/arena-workspaces")),  # noqa: S108
            keep_workspaces=bool(get("ARENA_KEEP_WORKSPACES", False)),
            clone_timeout=float(get("ARENA_CLONE_TIMEOUT", 300)),
            build_timeout=float(get("ARENA_BUILD_TIMEOUT", 900)),
            race_budget_seconds=float(get("ARENA_RACE_BUDGET_SECONDS", 1800)),
            version_timeout=float(get("ARENA_VERSION_TIMEOUT", 30)),
            output_cap_chars=int(get("ARENA_OUTPUT_CAP", 2_000_000)),
            output_tail_chars=int(get("ARENA_OUTPUT_TAIL", 500_000)),
            sandbox=get("ARENA_SANDBOX", "auto"),
            require_sandbox=bool(get("ARENA_REQUIRE_SANDBOX", False)),
            network=get("ARENA_BUILD_NETWORK", "on"),
            max_address_space_mb=int(get("ARENA_BUILD_MAX_MEMORY_MB", 65536)),
            max_processes=int(get("ARENA_BUILD_MAX_PROCESSES", 4096)),
            max_file_size_mb=int(get("ARENA_BUILD_MAX_FILE_MB", 8192)),
            max_disk_mb=int(get("ARENA_BUILD_MAX_DISK_MB", 20480)),
            max_inodes=int(get("ARENA_BUILD_MAX_INODES", 1_000_000)),
            tmp_size_mb=int(get("ARENA_BUILD_TMP_MB", 1024)),
            shm_size_mb=int(get("ARENA_BUILD_SHM_MB", 64)),
            max_repo_files=int(get("ARENA_MAX_REPO_FILES", 200_000)),
            max_repo_depth=int(get("ARENA_MAX_REPO_DEPTH", 128)),
            build_user=get("ARENA_BUILD_USER", "arena-build"),
            parallel_build_user=get("ARENA_PARALLEL_BUILD_USER", "arena-build2"),
            allow_private_nets=bool(get("ARENA_BUILD_ALLOW_PRIVATE_NETS", False)),
            measure_lock=Path(lock) if (lock := get("ARENA_MEASURE_LOCK", "")) else None,
            bwrap=get("ARENA_BWRAP", "bwrap"),
            mvn=get("ARENA_MVN", ""),
            gradle=get("ARENA_GRADLE", ""),
            elide=get("ARENA_ELIDE", "elide"),
            maven_args=args("ARENA_MAVEN_ARGS"),
            gradle_args=args("ARENA_GRADLE_ARGS"),
            elide_build_args=args("ARENA_ELIDE_BUILD_ARGS"),
            elide_recipe=get("ARENA_ELIDE_RECIPE", ""),
            tools_root=Path(get("ARENA_TOOLS_ROOT", "")) if get("ARENA_TOOLS_ROOT", "") else None,
            tools_max_mb=int(get("ARENA_TOOLS_MAX_MB", 2048)),
            maven_default=get("ARENA_MAVEN_DEFAULT", "3.9.11"),
            maven_repository=get("ARENA_MAVEN_REPOSITORY", "https://repo.maven.apache.org/maven2"),
            gradle_distributions=get(
                "ARENA_GRADLE_DISTRIBUTIONS", "https://services.gradle.org/distributions"
            ),
            java_home=get("ARENA_JAVA_HOME", ""),
            jdks=names("ARENA_JDKS"),
            cache_root=Path(get("ARENA_CACHE_ROOT", "")) if get("ARENA_CACHE_ROOT", "") else None,
            cache_max_mb=int(get("ARENA_CACHE_MAX_MB", 4096)),
            env_allow=names("ARENA_BUILD_ENV_ALLOW"),
            extra_ro_binds=names("ARENA_SANDBOX_RO_BINDS"),
            tie_tolerance=float(get("ARENA_TIE_TOLERANCE", 0.01)),
            parity_tolerance=float(get("ARENA_PARITY_TOLERANCE", 0.02)),
            noise_max_cpu=float(get("ARENA_NOISE_MAX_CPU", 0.10)),
            noise_retries=int(get("ARENA_NOISE_RETRIES", 3)),
            build_cpus=tuple(int(cpu) for cpu in names("ARENA_BUILD_CPUS")),
        )
