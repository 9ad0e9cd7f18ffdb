"""What each side runs: build-system detection and the commands of each toolchain.

Commands are argument lists (never shell strings). Executables and extra arguments come from
the configuration (ARENA_MVN, ARENA_MAVEN_ARGS, ARENA_ELIDE, ...). A recipe that cannot run
(no build file, toolchain missing) carries an `error`, so its side fails fast with that message
while the other side still builds.
"""

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

MAVEN = "maven"
GRADLE = "gradle"
ELIDE = "elide"
CUSTOM = "custom"
NO_BUILD_FILE = "no pom.xml or build.gradle found"
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Step:
    argv: list
    # Unmeasured steps prepare a run (elide adopt converts the project once per fresh copy).
    measured: bool = True


@dataclass
class Recipe:
    tool: str
    steps: list = field(default_factory=list)
    version_argv: list | None = None
    # Host paths the sandbox must show read-only (a toolchain installed outside /usr).
    ro_paths: list = field(default_factory=list)
    error: str = ""
    # The repository's wrapper (./mvnw, ./gradlew) the commands run, if any.
    wrapper: str = ""


def detect_build_system(src):
    src = Path(src)
    if (src / "pom.xml").is_file():
        return MAVEN
    if (src / "build.gradle").is_file() or (src / "build.gradle.kts").is_file():
        return GRADLE
    return None


def resolve_executable(name):
    """(absolute path, error). `name` is a command on PATH or an absolute path."""
    label = os.path.basename(name) or name
    if os.sep in name:
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return os.path.abspath(name), ""
        return None, f"{label} not found at {name}"
    path = shutil.which(name)
    if path is None:
        return None, f"{label} not found on PATH"
    return path, ""


def _tool_ro_paths(executable):
    """The directory holding a toolchain's executable (real and as named), for the sandbox.

    Only that directory: binding a parent could expose a whole home directory. Installations
    that keep files elsewhere list them in ARENA_SANDBOX_RO_BINDS.
    """
    return list(
        dict.fromkeys(
            [str(Path(os.path.realpath(executable)).parent), str(Path(executable).parent)]
        )
    )


def _wrapper(src, name):
    wrapper = Path(src) / name
    if not wrapper.is_file():
        return None
    return [f"./{name}"] if os.access(wrapper, os.X_OK) else ["sh", f"./{name}"]


def standard_recipe(src, config):
    build_system = detect_build_system(src)
    if build_system is None:
        return Recipe(tool=CUSTOM, error=NO_BUILD_FILE)
    if build_system == MAVEN:
        tool, wrapper_name, executable = MAVEN, "mvnw", config.mvn
        args = ["-B", "package", "-DskipTests", *config.maven_args]
        version_args = ["-v"]
    else:
        tool, wrapper_name, executable = GRADLE, "gradlew", config.gradle
        args = ["build", "-x", "test", *config.gradle_args]
        version_args = ["-v"]
    command = _wrapper(src, wrapper_name) if config.use_wrappers else None
    ro_paths, wrapper = [], f"./{wrapper_name}" if command else ""
    if command is None:
        path, error = resolve_executable(executable)
        if error:
            return Recipe(tool=tool, error=error)
        command, ro_paths = [path], _tool_ro_paths(path)
    return Recipe(
        tool=tool,
        steps=[Step([*command, *args])],
        version_argv=[*command, *version_args],
        ro_paths=ro_paths,
        wrapper=wrapper,
    )


def elide_recipe(src, config):
    build_system = detect_build_system(src)
    if build_system is None:
        return Recipe(tool=ELIDE, error=NO_BUILD_FILE)
    path, error = resolve_executable(config.elide)
    if error:
        return Recipe(tool=ELIDE, error=elide_missing(config.worker_name, config.elide))
    return Recipe(
        tool=ELIDE,
        steps=[
            Step([path, "adopt", build_system, *config.elide_adopt_args], measured=False),
            Step([path, "build", *config.elide_build_args]),
        ],
        version_argv=[path, "--version"],
        ro_paths=_tool_ro_paths(path),
    )


def elide_missing(worker_name, command="elide"):
    """The reason a race is void when its worker has no elide (`command`: ARENA_ELIDE)."""
    where = f" on worker {worker_name}" if worker_name else ""
    looked_for = f" (looked for {command})" if command != ELIDE else ""
    return f"elide is not installed{where}{looked_for}"


def custom_recipe(argv):
    if not argv or not all(isinstance(arg, str) for arg in argv):
        return Recipe(tool=CUSTOM, error="a custom command must be a non-empty list of strings")
    return Recipe(tool=CUSTOM, steps=[Step(list(argv))])


def recipe_for(side, src, config, custom_argv=None):
    if custom_argv is not None:
        return custom_recipe(custom_argv)
    if side == "elide":
        return elide_recipe(src, config)
    return standard_recipe(src, config)


def parse_version(output, tool=""):
    """The line of a version output that names the tool (else the first meaningful line),
    without terminal colour codes: "Apache Maven 3.8.7", "Gradle 4.4.1"."""
    lines = [line.strip() for line in _ANSI_RE.sub("", output).splitlines()]
    lines = [line for line in lines if line and not set(line) <= set("-=*")]
    # A wrapper may print its own download first ("--2026-... https://.../maven-wrapper.jar"):
    # a line naming the tool at its start ("Apache Maven", "Gradle") wins over one that only
    # mentions it.
    naming = [line for line in lines if tool and tool.lower() in line.lower()]
    for line in naming:
        if re.match(rf"^(apache )?{re.escape(tool)}\b", line, re.IGNORECASE):
            return line[:200]
    if naming:
        return naming[0][:200]
    return lines[0][:200] if lines else ""
