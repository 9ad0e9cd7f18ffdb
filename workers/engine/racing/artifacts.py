"""What a side built: its jars, their size, and what parity compares, read safely.

The standard side's jars are `target/*.jar` in every module (Maven) or `build/libs/*.jar`
(Gradle); Elide's are under `.dev/artifacts/` (`.dev/artifacts/jvm/jars/` for a single-module
build) at the root or in any module. Parity (jobs/outcomes/verdict.py) compares the class
names, each class's class-file major version and the resource entries of the jars that hold
code: sources, javadoc and test jars count in files and bytes but not in parity. The workspace
was written by a hostile build, so the host only ever reads it with care:
- the walk never follows symbolic links and stops after `MAX_DIRECTORIES` directories;
- a jar counts only when it is a regular file (opened with O_NOFOLLOW and O_NONBLOCK, so a
  link or a FIFO named `x.jar` is skipped, not followed or waited on);
- only the zip central directory is read (names and sizes; nothing is decompressed), and only
  when the end-of-central-directory record declares at most `max_entries` entries in at most
  `max_directory_bytes`; larger jars are counted with their bytes but no classes;
- a class's major version is read from the first 8 bytes of its entry (decompression bounded
  to what those bytes need), for at most `max_headers` classes a jar; entries with NUL bytes
  or names over `MAX_NAME_LENGTH` characters are ignored.
"""

import os
import stat
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MAX_DIRECTORIES = 20_000
MAX_JARS = 500
MAX_ENTRIES = 200_000
MAX_DIRECTORY_BYTES = 64 * 1024 * 1024
EOCD_SIGNATURE = b"PK\x05\x06"
ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
ZIP64_EOCD_SIGNATURE = b"PK\x06\x06"
SKIPPED_DIRECTORIES = {".git", "node_modules"}
MAX_HEADERS = 50_000
MAX_NAME_LENGTH = 1024
CLASS_MAGIC = b"\xca\xfe\xba\xbe"
# Jars that hold no code of the build (not compared by parity).
NON_CODE_SUFFIXES = ("-sources.jar", "-javadoc.jar", "-tests.jar", "-test-sources.jar")
# Entries a tool writes about itself, not the project's resources.
TOOL_METADATA = ("META-INF/MANIFEST.MF", "META-INF/INDEX.LIST", "META-INF/maven/")
SIGNATURE_SUFFIXES = (".SF", ".RSA", ".DSA", ".EC")


@dataclass
class Artifacts:
    files: int = 0
    bytes: int = 0
    classes: int = 0
    class_names: set = field(default_factory=set)
    # {class name: class-file major version} (51 = Java 7, 52 = 8, 61 = 17).
    class_versions: dict = field(default_factory=dict)
    resources: set = field(default_factory=set)
    notes: list = field(default_factory=list)

    def summary(self):
        return {"files": self.files, "bytes": self.bytes, "classes": self.classes}


def _walk(root, wanted, *, max_directories=MAX_DIRECTORIES):
    """Directories under `root` (links never followed) for which wanted(relative parts)."""
    seen = 0
    pending = [Path(root)]
    while pending:
        directory = pending.pop()
        seen += 1
        if seen > max_directories:
            return
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        relative = directory.relative_to(root).parts
        if wanted(relative):
            yield directory
        for entry in entries:
            if entry.name in SKIPPED_DIRECTORIES:
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))


def standard_jar_directories(src):
    """target/ of every Maven module and build/libs/ of every Gradle project."""

    def wanted(parts):
        return (parts and parts[-1] == "target") or parts[-2:] == ("build", "libs")

    return _walk(src, wanted)


def elide_jar_directories(src):
    """.dev/artifacts/ and everything under it, at the root and in every module."""

    def wanted(parts):
        return any(parts[i : i + 2] == (".dev", "artifacts") for i in range(len(parts) - 1))

    return _walk(src, wanted)


def _central_directory_size(handle, size):
    """(entries, central directory bytes) from the end records, or None when not a zip."""
    tail_length = min(size, 65_557)  # EOCD (22) + the longest comment (65,535)
    handle.seek(size - tail_length)
    tail = handle.read(tail_length)
    position = tail.rfind(EOCD_SIGNATURE)
    if position < 0 or len(tail) - position < 22:
        return None
    _, _, _, _, entries, directory_bytes, _, _ = struct.unpack(
        "<4sHHHHIIH", tail[position : position + 22]
    )
    if entries == 0xFFFF or directory_bytes == 0xFFFFFFFF:
        locator = tail[position - 20 : position] if position >= 20 else b""
        if locator[:4] != ZIP64_LOCATOR_SIGNATURE:
            return None
        (offset,) = struct.unpack("<Q", locator[8:16])
        if offset + 56 > size:
            return None
        handle.seek(offset)
        record = handle.read(56)
        if record[:4] != ZIP64_EOCD_SIGNATURE:
            return None
        entries, directory_bytes = struct.unpack("<QQ", record[32:48])
    return entries, directory_bytes


@dataclass
class JarContents:
    class_names: set = field(default_factory=set)
    class_versions: dict = field(default_factory=dict)
    resources: set = field(default_factory=set)


def read_jar(
    path,
    *,
    max_entries=MAX_ENTRIES,
    max_directory_bytes=MAX_DIRECTORY_BYTES,
    max_headers=MAX_HEADERS,
):
    """(bytes, JarContents or None, note) for one jar; (None, None, note) when not a file."""
    label = Path(path).name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        return None, None, f"{label}: not readable ({error.strerror})"
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None, None, f"{label}: not a regular file"
        size = info.st_size
        try:
            declared = _central_directory_size(handle, size)
        except (OSError, struct.error):
            declared = None
        if declared is None:
            return size, None, f"{label}: not a zip archive"
        entries, directory_bytes = declared
        if entries > max_entries or directory_bytes > max_directory_bytes:
            return size, None, f"{label}: {entries} entries, too many to list"
        try:
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                contents, note = _contents(archive, max_headers)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
            return size, None, f"{label}: unreadable zip ({error})"[:200]
    return size, contents, f"{label}: {note}" if note else ""


def _contents(archive, max_headers):
    contents = JarContents()
    headers_read = 0
    note = ""
    for entry in archive.infolist():
        name = entry.filename
        if "\0" in name or len(name) > MAX_NAME_LENGTH or entry.is_dir():
            continue
        if not name.endswith(".class"):
            if not _tool_metadata(name):
                contents.resources.add(name)
            continue
        contents.class_names.add(class_name(name))
        if name.startswith("META-INF/versions/"):
            continue  # a release-specific copy: its version differs by design
        if headers_read >= max_headers:
            note = f"class versions read for the first {max_headers} classes only"
            continue
        headers_read += 1
        contents.class_versions[name] = class_major_version(archive, entry)
    return contents, note


def class_major_version(archive, entry):
    """The class-file major version in an entry's first 8 bytes, None when it is not a class
    file (or cannot be read: encrypted, unsupported compression, truncated)."""
    try:
        with archive.open(entry) as stream:
            header = stream.read(8)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return None
    if len(header) < 8 or header[:4] != CLASS_MAGIC:
        return None
    return struct.unpack(">H", header[6:8])[0]


def _tool_metadata(name):
    upper = name.upper()
    return name.startswith(TOOL_METADATA) or (
        upper.startswith("META-INF/")
        and upper.count("/") == 1
        and upper.endswith(SIGNATURE_SUFFIXES)
    )


def class_name(entry):
    """The class an entry holds, the same whichever Java release directory it sits in."""
    if entry.startswith("META-INF/versions/"):
        parts = entry.split("/", 3)
        if len(parts) == 4:
            return parts[3]
    return entry


def collect(directories, *, max_jars=MAX_JARS):
    """Artifacts of the jars directly inside each directory (for elide: under it)."""
    found = Artifacts()
    seen = set()
    for directory in directories:
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith(".jar") or entry.path in seen:
                continue
            if found.files >= max_jars:
                found.notes.append(f"more than {max_jars} jars: the rest were not read")
                return _counted(found)
            seen.add(entry.path)
            size, contents, note = read_jar(entry.path)
            if note:
                found.notes.append(note)
            if size is None:
                continue
            found.files += 1
            found.bytes += size
            if contents is not None and not entry.name.endswith(NON_CODE_SUFFIXES):
                found.class_names |= contents.class_names
                found.class_versions.update(contents.class_versions)
                found.resources |= contents.resources
    return _counted(found)


def _counted(found):
    found.classes = len(found.class_names)
    return found


def side_artifacts(side, src, *, custom=False):
    """The jars one side produced in its source copy: where its tool puts them, or, for an
    operator's custom command (which may run any tool on either side), in both layouts."""
    if custom:
        return collect([*standard_jar_directories(src), *elide_jar_directories(src)])
    if side == "elide":
        return collect(elide_jar_directories(src))
    return collect(standard_jar_directories(src))
