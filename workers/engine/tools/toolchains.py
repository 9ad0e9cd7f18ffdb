"""What a worker's host can build with: java and the JDKs it has, mvn, gradle and elide.

Maven and Gradle are provisioned per project (buildtools.py) unless ARENA_MVN / ARENA_GRADLE
name an executable: then that executable is probed. A worker probes at start and every
ARENA_TOOLCHAIN_PROBE_INTERVAL seconds and stores the
result on its row, so that the scheduler can prefer a worker that runs both sides and the
pages can say which worker has what. Every probe is bounded: each command gets
`timeout` seconds (then its whole process group is killed) and `output_cap` bytes of output
are kept (the rest is read and dropped).

    {"java": {"ok": true, "path": "/usr/bin/java", "version": "openjdk version \"17.0.15\""},
     "jdks": [{"name": "temurin-25-jdk-amd64", "version": "25.0.3"}, ...],
     "mvn": {...}, "gradle": {...}, "elide": {"ok": false, "error": "elide not found on PATH"}}
"""

import contextlib
import os
import signal
import subprocess
import threading
from pathlib import Path

from workers.engine.failures import EnvironmentFailure
from workers.engine.tools.recipes import parse_version, resolve_executable

PROBE_TIMEOUT = 20.0
OUTPUT_CAP = 16 * 1024
JVM_ROOT = Path("/usr/lib/jvm")
MAX_JDKS = 32
# (name in the result, the word its version line contains, version arguments)
TOOLS = (
    ("java", "java", ["-version"]),
    ("mvn", "maven", ["-v"]),
    ("gradle", "gradle", ["--version"]),
    ("elide", "elide", ["--version"]),
)


def run_bounded(argv, *, timeout=PROBE_TIMEOUT, output_cap=OUTPUT_CAP):
    """(exit code, the first `output_cap` bytes of output as text); EnvironmentFailure when
    the command could not start or timed out.

    Output past the cap is read and dropped (memory stays bounded, the command never blocks
    on a full pipe); at the timeout, or when the command ends, its whole process group is
    killed. No preexec_fn: the worker forks this while race threads run.
    """
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as error:
        raise EnvironmentFailure(f"could not start: {error.strerror}") from None
    kept = bytearray()

    def drain():
        while chunk := process.stdout.read1(65536):
            if len(kept) < output_cap:
                kept.extend(chunk[: output_cap - len(kept)])

    reader = threading.Thread(target=drain, name="probe-output", daemon=True)
    reader.start()
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = None
    with contextlib.suppress(OSError):  # whatever it left behind (a stuck child) goes too
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    reader.join(timeout=5)
    process.stdout.close()
    if code is None:
        raise EnvironmentFailure(f"timed out after {timeout:g} s")
    return code, bytes(kept).decode("utf-8", "replace")


def probe_tool(executable, version_args, tool, *, timeout=PROBE_TIMEOUT):
    try:
        path = resolve_executable(executable)
    except EnvironmentFailure as failure:
        return {"ok": False, "error": str(failure)}
    failed = f"{tool} {' '.join(version_args)} failed"
    try:
        code, output = run_bounded([path, *version_args], timeout=timeout)
    except EnvironmentFailure as failure:
        return {"ok": False, "path": path, "error": f"{failed}: {failure}"[:300]}
    if code != 0:
        detail = " ".join(output.strip().splitlines()[-1:])
        return {"ok": False, "path": path, "error": f"{failed}: {detail}"[:300]}
    return {"ok": True, "path": path, "version": parse_version(output, tool)}


def _release_version(jdk):
    try:
        with open(jdk / "release", "rb") as release:
            text = release.read(64 * 1024).decode("utf-8", "replace")
    except OSError:
        return ""
    for line in text.splitlines():
        if line.startswith("JAVA_VERSION="):
            return line.partition("=")[2].strip().strip('"')[:40]
    return ""


def list_jdks(root=JVM_ROOT):
    """JDKs installed under /usr/lib/jvm (one entry per real directory), with versions."""
    found, seen = [], set()
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:
        return found
    for entry in entries:
        jdk = Path(entry.path)
        real = os.path.realpath(jdk)
        if real in seen or not (jdk / "bin" / "java").is_file():
            continue
        seen.add(real)
        found.append({"name": entry.name, "version": _release_version(jdk)})
        if len(found) >= MAX_JDKS:
            break
    return found


def default_java(config):
    """The `java` of this host's races: ARENA_JAVA_HOME's, else the one on PATH."""
    java_home = config.toolchains.java_home
    return str(Path(java_home) / "bin" / "java") if java_home else "java"


def probe(config, *, timeout=PROBE_TIMEOUT, jvm_root=JVM_ROOT):
    """Every toolchain the configuration names, probed with its version command."""
    executables = {
        "java": default_java(config),
        "mvn": config.toolchains.mvn,
        "gradle": config.toolchains.gradle,
        "elide": config.toolchains.elide,
    }
    provisioned = {
        "mvn": f"provisioned per project (default Maven {config.toolchains.maven_default})",
        "gradle": "provisioned per project (from its wrapper properties)",
    }
    found = {
        name: (
            {"ok": True, "provisioned": True, "version": provisioned[name]}
            if name in provisioned and not executables[name]
            else probe_tool(executables[name], args, tool, timeout=timeout)
        )
        for name, tool, args in TOOLS
    }
    found["jdks"] = list_jdks(jvm_root)
    return found


def runs_elide(toolchains):
    return bool((toolchains or {}).get("elide", {}).get("ok"))


def summary(toolchains):
    """One line for lists: "java 17.0.15, mvn 3.8.7, gradle 4.4.1, no elide"."""
    if not toolchains:
        return "not probed yet"
    parts = []
    for name, _, _ in TOOLS:
        entry = toolchains.get(name) or {}
        if entry.get("ok"):
            parts.append(entry.get("version") or name)
        else:
            parts.append(f"no {name}")
    jdks = toolchains.get("jdks") or []
    if jdks:
        parts.append("JDKs " + ", ".join(j.get("version") or j.get("name", "") for j in jdks))
    return "; ".join(parts)
