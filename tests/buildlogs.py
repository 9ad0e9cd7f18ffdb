"""Realistic Maven and Gradle output for the tests and benchmarks (seeded, reproducible).

Artifact coordinates, versions, transfer sizes and speeds, source paths and timings vary the
way they do in real CI logs, so compression ratios measured on this text are not flattered
by repetition.
"""

import random

GROUPS = [
    "org/apache/maven/plugins",
    "org/apache/commons",
    "org/springframework",
    "com/google/guava",
    "org/slf4j",
    "com/fasterxml/jackson/core",
    "org/junit/jupiter",
    "org/codehaus/plexus",
    "org/ow2/asm",
    "io/netty",
    "org/apache/logging/log4j",
    "org/hibernate/orm",
    "org/yaml",
]
ARTIFACTS = [
    "maven-compiler-plugin",
    "maven-surefire-plugin",
    "maven-jar-plugin",
    "commons-lang3",
    "commons-io",
    "spring-core",
    "spring-context",
    "spring-beans",
    "guava",
    "slf4j-api",
    "jackson-databind",
    "jackson-annotations",
    "junit-jupiter-api",
    "plexus-utils",
    "asm",
    "netty-buffer",
    "netty-handler",
    "log4j-api",
    "hibernate-core",
    "snakeyaml",
    "failureaccess",
    "maven-resources-plugin",
    "maven-install-plugin",
    "plexus-compiler-javac",
    "qdox",
]
PACKAGES = ["core", "util", "web", "service", "repository", "config", "model", "internal", "io"]
CLASSES = [
    "Owner",
    "Pet",
    "Visit",
    "Vet",
    "Controller",
    "Service",
    "Repository",
    "Formatter",
    "Validator",
    "Config",
    "Cache",
    "Client",
    "Handler",
    "Parser",
    "Buffer",
    "Registry",
]
WARNINGS = [
    "unchecked call to add(E) as a member of the raw type java.util.List",
    "[deprecation] getId() in Entity has been deprecated and marked for removal",
    "non-varargs call of varargs method with inexact argument type for last parameter",
    "[removal] finalize() in Object has been deprecated and marked for removal",
]


def _version(rng):
    return f"{rng.randint(1, 33)}.{rng.randint(0, 20)}.{rng.randint(0, 12)}"


def _catalog():
    """Maven Central as builds see it: each artifact has one group, version and size."""
    rng = random.Random(1)
    entries = []
    for group in GROUPS:
        for artifact in rng.sample(ARTIFACTS, 8):
            for _ in range(rng.randint(1, 3)):
                entries.append((group, artifact, _version(rng), rng.randint(1, 4000)))
    return entries


CATALOG = _catalog()


def _java_source(rng, root):
    """A source file's path under a module's root, as compilers print it."""
    path = "/".join(rng.sample(PACKAGES, 3))
    cls = rng.choice(CLASSES) + rng.choice(CLASSES)
    return f"{root}/src/main/java/org/example/{path}/{cls}.java"


def _maven_lines(rng):
    yield "[INFO] Scanning for projects..."
    module = rng.choice(["petclinic", "commons-lang", "okhttp", "gson", "joda-time"])
    downloads = rng.sample(CATALOG, len(CATALOG))
    while True:
        group, artifact, version, size = downloads.pop() if downloads else rng.choice(CATALOG)
        base = f"https://repo.maven.apache.org/maven2/{group}/{artifact}/{version}/"
        for ext in ("pom", "jar"):
            name = f"{artifact}-{version}.{ext}"
            kb = size if ext == "jar" else max(size // 20, 1)
            yield f"Downloading from central: {base}{name}"
            yield (
                f"Downloaded from central: {base}{name} ({kb} kB at {rng.randint(50, 9000)} kB/s)"
            )
        if rng.random() < 0.15:
            plugin = rng.choice(ARTIFACTS[:4])
            yield f"[INFO] --- {plugin}:{_version(rng)}:compile (default-compile) @ {module} ---"
            yield (
                f"[INFO] Compiling {rng.randint(3, 900)} source files with javac [debug "
                f"release 17] to target/classes"
            )
        if rng.random() < 0.2:
            source = _java_source(rng, "/workspace")
            yield (
                f"[WARNING] {source}:"
                f"[{rng.randint(1, 900)},{rng.randint(1, 80)}] {rng.choice(WARNINGS)}"
            )
        if rng.random() < 0.05:
            yield f"[INFO] Building jar: /workspace/target/{module}-{_version(rng)}.jar"
            yield "[INFO] ------------------------------------------------------------------------"
            yield f"[INFO] Total time:  {rng.randint(2, 300)}.{rng.randint(0, 999):03d} s"


def _gradle_lines(rng):
    yield "Starting a Gradle Daemon (subsequent builds will be faster)"
    while True:
        module = rng.choice(PACKAGES)
        for task in ("compileJava", "processResources", "classes", "jar"):
            yield f"> Task :{module}:{task}"
            if task == "compileJava" and rng.random() < 0.5:
                source = _java_source(rng, f"/workspace/{module}")
                yield f"{source}:{rng.randint(1, 900)}: warning: {rng.choice(WARNINGS)}"
        if rng.random() < 0.3:
            group, artifact, version = rng.choice(GROUPS), rng.choice(ARTIFACTS), _version(rng)
            yield (
                f"Download https://repo.maven.apache.org/maven2/{group}/{artifact}/{version}/"
                f"{artifact}-{version}.jar, took {rng.randint(5, 900)} ms "
                f"({rng.randint(1, 4000)} kB)"
            )


def maven_log(size, *, seed=0, gradle=False):
    """About `size` characters of Maven (or Gradle) output, ending with a newline."""
    rng = random.Random(seed)
    lines, total = [], 0
    for line in (_gradle_lines if gradle else _maven_lines)(rng):
        if total + len(line) + 1 > size:
            break
        lines.append(line)
        total += len(line) + 1
    lines.append("BUILD SUCCESSFUL" if gradle else "[INFO] BUILD SUCCESS")
    return "\n".join(lines) + "\n"
