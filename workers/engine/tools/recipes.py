"""What each side runs: build-system detection and the commands of each toolchain.

Commands are argument lists (never shell strings). Executables and extra arguments come from
the configuration (ARENA_MVN, ARENA_MAVEN_ARGS, ARENA_ELIDE, ...). A recipe that cannot run
(no build file, toolchain missing) carries an `error`, so its side fails fast with that message
while the other side still builds.
"""

import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from workers.engine.failures import EnvironmentFailure
from workers.engine.tools.buildtools import provide_gradle, provide_maven
from workers.engine.tools.elide_versions import (
    ELIDE_NEEDS_POM,
    ELIDE_POM_SOURCES_NOTE,
    elide_template,
)
from workers.engine.tools.toolstore import ToolError

MAVEN = "maven"
GRADLE = "gradle"
ELIDE = "elide"
CUSTOM = "custom"
NO_BUILD_FILE = "no pom.xml or build.gradle found"
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Step:
    argv: list
    # Unmeasured steps prepare a run without being timed.
    measured: bool = True


@dataclass
class Recipe:
    tool: str
    steps: list = field(default_factory=list)
    version_argv: list | None = None
    # Host paths the sandbox must show read-only (a toolchain installed outside /usr).
    ro_paths: list = field(default_factory=list)
    error: str = ""
    # The tool's version as the race page names it, when the arena knows it without a probe:
    # "Maven 3.9.9 (provisioned; the wrapper asks for 3.9.9)".
    version_label: str = ""
    # The side's hold on a provisioned tool in the tools store (toolstore.Lease), or None.
    lease: object = None
    # False: the project's JDK is only JAVA_HOME, not first on PATH (the tool runs on its own
    # runtime and takes the project's JDK from JAVA_HOME, as Elide does).
    jdk_on_path: bool = True
    # Lines the side prints before building (which recipe and why).
    notes: list = field(default_factory=list)
    # The Elide template the steps come from (elide sides only).
    elide_template: object = None

    def release(self):
        """Let go of the provisioned tool (the store may evict it once no race holds it)."""
        if self.lease is not None:
            self.lease.release()
            self.lease = None


def detect_build_system(src):
    src = Path(src)
    if (src / "pom.xml").is_file():
        return MAVEN
    if (src / "build.gradle").is_file() or (src / "build.gradle.kts").is_file():
        return GRADLE
    return None


def resolve_executable(name):
    """The absolute path of `name`, a command on PATH or an absolute path; EnvironmentFailure
    when there is none."""
    label = os.path.basename(name) or name
    if os.sep in name:
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return os.path.abspath(name)
        raise EnvironmentFailure(f"{label} not found at {name}")
    path = shutil.which(name)
    if path is None:
        raise EnvironmentFailure(f"{label} not found on PATH")
    return path


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


def standard_recipe(src, config):
    """The project's build with a Maven or Gradle the arena chose and provisioned
    (buildtools.py), or the operator's ARENA_MVN / ARENA_GRADLE; never the repository's
    ./mvnw or ./gradlew, which it controls."""
    build_system = detect_build_system(src)
    if build_system is None:
        return Recipe(tool=CUSTOM, error=NO_BUILD_FILE)
    if build_system == MAVEN:
        tool, executable, provide = MAVEN, config.toolchains.mvn, provide_maven
        args = ["-B", "package", "-DskipTests", *config.toolchains.maven_args]
    else:
        tool, executable, provide = GRADLE, config.toolchains.gradle, provide_gradle
        args = ["build", "-x", "test", *config.toolchains.gradle_args]
    if executable:
        try:
            path = resolve_executable(executable)
        except EnvironmentFailure as failure:
            return Recipe(tool=tool, error=str(failure))
        return Recipe(
            tool=tool,
            steps=[Step([path, *args])],
            version_argv=[path, "-v"],
            ro_paths=_tool_ro_paths(path),
        )
    try:
        provided = provide(src, config)
    except ToolError as error:
        return Recipe(tool=tool, error=str(error))
    return Recipe(
        tool=tool,
        steps=[Step([provided.executable, *args])],
        ro_paths=[provided.ro_path],
        version_label=provided.label,
        lease=provided.lease,
        notes=[provided.provenance],
    )


def elide_recipe(src, config):
    """Elide's released CLI on a pom.xml: its command is chosen once its version is known
    (elide_template, applied by with_elide_version); the project's JDK is its JAVA_HOME."""
    if detect_build_system(src) is None:
        return Recipe(tool=ELIDE, error=NO_BUILD_FILE)
    if not (Path(src) / "pom.xml").is_file():
        return Recipe(tool=ELIDE, error=ELIDE_NEEDS_POM)
    try:
        path = resolve_executable(config.toolchains.elide)
    except EnvironmentFailure:
        return Recipe(tool=ELIDE, error=elide_missing(config.worker_name, config.toolchains.elide))
    recipe = Recipe(
        tool=ELIDE,
        version_argv=[path, "--version"],
        ro_paths=_tool_ro_paths(path),
        jdk_on_path=False,
    )
    return with_elide_version(recipe, "", config)


def with_elide_version(recipe, version, config):
    """The recipe's command for the probed Elide `version` (ARENA_ELIDE_RECIPE overrides the
    version's template); `recipe.notes` say which template and why."""
    executable = recipe.version_argv[0]
    template = elide_template(version)
    recipe.notes = [f"Elide recipe: {template.name} ({template.source})"]
    if not template.builds_pom_sources:
        recipe.notes.append(ELIDE_POM_SOURCES_NOTE)
    words = template.words
    if config.toolchains.elide_recipe:
        try:
            words = shlex.split(config.toolchains.elide_recipe)
        except ValueError as error:
            recipe.error = f"ARENA_ELIDE_RECIPE is not a valid command: {error}"
            return recipe
        recipe.notes = [f"Elide recipe: ARENA_ELIDE_RECIPE ({config.toolchains.elide_recipe})"]
    if not words:
        recipe.error = "ARENA_ELIDE_RECIPE is empty"
        return recipe
    argv = [executable if word == "{elide}" else word for word in words]
    recipe.steps = [Step([*argv, *config.toolchains.elide_build_args])]
    recipe.elide_template = None if config.toolchains.elide_recipe else template
    return recipe


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
