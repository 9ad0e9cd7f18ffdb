"""Generated stand-in toolchains: shell scripts that act as mvn or elide for the engine.

They let tests check the arena's arithmetic and rules (verdicts, artifacts, parity) with
exactly known work, where a real Maven build would only add minutes and noise. Each script
sits in its own directory (the sandbox shows that directory read-only) next to the jar it
"builds", which it copies where its side's jars belong.
"""

import zipfile
from pathlib import Path

SCRIPT = """#!/bin/sh
# A stand-in {tool}: answers --version, sleeps like a build, leaves a jar where {tool} would.
here=${{0%/*}}
case "$1" in
  -v|--version) echo "{version}"; exit 0;;
esac
{sleep}
{produce}
echo "BUILD SUCCESS"
"""


# A shell step leaving an empty jar (a zip's 22-byte end record) in target/: stand-in builds
# produce a jar, since a side with no jar never wins.
EMPTY_JAR = 'mkdir -p target && { printf "PK\\005\\006"; head -c 18 /dev/zero; } > target/app.jar'


def with_jar(script):
    """A `sh -c` script that also leaves a jar."""
    return f"{EMPTY_JAR}; {script}"


def write_jar(path, class_names):
    """A real jar (zip) holding the given .class entries (empty bodies) and a manifest."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for name in class_names:
            archive.writestr(name, b"\xca\xfe\xba\xbe")
    return path


def class_names(count, package="dev/arena/test"):
    return [f"{package}/C{index}.class" for index in range(count)]


def toolchain(directory, tool, *, seconds=(), classes=10, jar=True):
    """Write a stand-in `tool` ("mvn" or "elide") into `directory`; returns its path.

    `seconds`: how long each build sleeps, run after run (cycled: the n-th build of this
    side sleeps seconds[n % len]); the position is counted per side in a file in its home.
    `classes`: how many classes its jar holds; `jar=False`: it builds nothing and exits 0.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if jar:
        write_jar(directory / "app.jar", class_names(classes))
    target = ".dev/artifacts/jvm/jars" if tool == "elide" else "target"
    produce = f'mkdir -p {target} && cp "$here/app.jar" {target}/app.jar' if jar else ":"
    sleep = ""
    if seconds:
        cases = " ".join(f"{index}) sleep {value};;" for index, value in enumerate(seconds))
        sleep = (
            'count_file="$HOME/.arena-test-runs"; n=0; '
            '[ -f "$count_file" ] && read -r n < "$count_file"; '
            f'echo $((n + 1)) > "$count_file"; case $((n % {len(seconds)})) in {cases} esac'
        )
    script = directory / tool
    version = "Elide 1.0.0-test (stand-in)" if tool == "elide" else "Apache Maven 3.8.7 (stand-in)"
    script.write_text(SCRIPT.format(tool=tool, version=version, sleep=sleep, produce=produce))
    script.chmod(0o755)
    return str(script)
