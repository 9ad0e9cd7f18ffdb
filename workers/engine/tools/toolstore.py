"""The host store of build tools the arena provisions (ARENA_TOOLS_ROOT).

A distribution is downloaded once, verified against its published checksum before anything
is unpacked, unpacked as hostile input (no path outside its top directory, no links, no
devices, bounded size and entry count), made read-only and renamed into place: an entry that
exists is complete. Races share entries: each race holds a shared lock on the entries it uses
(its lease) and builds see an entry only through a read-only bind of it. One exclusive lock
serialises downloads, so two races asking for the same Maven download it once. The store is
bounded (ARENA_TOOLS_MAX_MB): after an insertion the least recently used entries no race holds
are removed until the total fits.

    <root>/maven/3.9.9/apache-maven-3.9.9/bin/mvn
    <root>/gradle/8.14-bin/gradle-8.14/bin/gradle
"""

import contextlib
import fcntl
import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

DOWNLOAD_TIMEOUT = 120.0
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
MAX_ENTRIES = 50_000
_CHUNK = 1024 * 1024


class ToolError(Exception):
    """A tool could not be provided: the race is void with this message."""


class NotPublished(ToolError):
    """The source answered that the file does not exist (HTTP 404, a missing file)."""


# --- fetching and verifying ---------------------------------------------------------------------
def fetch(url, destination, *, max_bytes=MAX_DOWNLOAD_BYTES, timeout=DOWNLOAD_TIMEOUT):
    """Copy `url` (https, http or file) to `destination`; ToolError saying why not."""
    if not url.startswith(("https://", "http://", "file://")):
        raise ToolError(f"{url}: only https, http and file URLs are fetched")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked)
            total = 0
            with open(destination, "wb") as out:
                while chunk := response.read(_CHUNK):
                    total += len(chunk)
                    if total > max_bytes:
                        raise ToolError(f"{url} is larger than {max_bytes // 2**20} MB")
                    out.write(chunk)
    except urllib.error.HTTPError as error:
        refused = NotPublished if error.code == 404 else ToolError
        raise refused(f"{url} answered HTTP {error.code}") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, FileNotFoundError):
            raise NotPublished(f"{url} does not exist") from None
        raise ToolError(f"{url} could not be fetched ({error.reason})") from None
    except OSError as error:
        reason = getattr(error, "reason", None) or error
        raise ToolError(f"{url} could not be fetched ({reason})") from None


def fetch_text(url, directory, *, max_bytes=1024 * 1024):
    path = Path(directory) / "fetched.txt"
    fetch(url, path, max_bytes=max_bytes)
    return path.read_text(errors="replace")


def file_digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path, algorithm, expected, what):
    """Refuse a download whose digest is not the published one (`expected`: hex, maybe
    followed by a file name, as .sha512 files are written)."""
    words = str(expected or "").split()
    wanted = words[0].lower() if words else ""
    if not wanted or any(c not in "0123456789abcdef" for c in wanted):
        raise ToolError(f"{what}: no usable {algorithm} checksum was published")
    actual = file_digest(path, algorithm)
    if actual != wanted:
        raise ToolError(
            f"{what} does not match its published {algorithm} checksum "
            f"(expected {wanted[:16]}..., got {actual[:16]}...): refused"
        )


# --- unpacking ----------------------------------------------------------------------------------
def _checked_name(name, top):
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] != top:
        raise ToolError(f"the archive holds {name!r}, outside its directory {top}/: refused")
    return path


def _bounded(total, count):
    if total > MAX_UNPACKED_BYTES or count > MAX_ENTRIES:
        raise ToolError("the archive unpacks to more than the store accepts: refused")


def unpack_tar(archive, target, top):
    with tarfile.open(archive, "r:gz") as tar:
        members, total = tar.getmembers(), 0
        for member in members:
            _checked_name(member.name, top)
            if not (member.isfile() or member.isdir()):
                raise ToolError(f"the archive holds a link or device {member.name!r}: refused")
            total += member.size
            _bounded(total, len(members))
        tar.extractall(target, filter="data")


def unpack_zip(archive, target, top):
    with zipfile.ZipFile(archive) as zipped:
        infos, total = zipped.infolist(), 0
        for info in infos:
            _checked_name(info.filename, top)
            kind = stat.S_IFMT(info.external_attr >> 16)
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise ToolError(f"the archive holds a link or device {info.filename!r}: refused")
            total += info.file_size
            _bounded(total, len(infos))
        for info in infos:
            destination = Path(target) / _checked_name(info.filename, top)
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(info) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
            if (info.external_attr >> 16) & 0o111:
                destination.chmod(0o755)


def _read_only(tree):
    """Directories 0555, files 0444 (0555 when executable): the build account reads, nobody
    writes."""
    for directory, dirnames, filenames in os.walk(tree):
        for name in filenames:
            path = os.path.join(directory, name)
            mode = os.lstat(path).st_mode
            os.chmod(path, 0o555 if mode & 0o111 else 0o444)
        for name in dirnames:
            os.chmod(os.path.join(directory, name), 0o555)  # noqa: S103 (read by builds)
    os.chmod(tree, 0o555)  # noqa: S103 (read by builds)


def _writable(tree):
    for directory, dirnames, _ in os.walk(tree):
        os.chmod(directory, 0o700)
        for name in dirnames:
            os.chmod(os.path.join(directory, name), 0o700)


# --- the store ------------------------------------------------------------------------------------
class Lease:
    """A race's shared hold on a store entry: the entry is never evicted while held."""

    def __init__(self, handle):
        self._handle = handle

    def release(self):
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class ToolStore:
    def __init__(self, root, max_bytes):
        self.root = Path(root)
        self.max_bytes = max_bytes

    def prepare(self):
        for directory in (self.root, self.root / ".locks", self.root / ".staging"):
            directory.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # the build account reaches the entries bound into its sandbox
        (self.root / ".locks").chmod(0o700)

    @contextlib.contextmanager
    def _exclusive(self):
        with open(self.root / ".locks" / "store.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _lease(self, kind, name):
        handle = open(self.root / ".locks" / f"{kind}-{name}.lock", "a+")  # noqa: SIM115
        fcntl.flock(handle, fcntl.LOCK_SH)
        return Lease(handle)

    def cached(self, relative, max_age):
        """A small file kept in the store (a version list), when younger than `max_age` s."""
        path = self.root / ".metadata" / relative
        try:
            if time.time() - path.stat().st_mtime < max_age:
                return path.read_text(errors="replace")
        except OSError:
            pass
        return None

    def keep(self, relative, text):
        self.prepare()
        path = self.root / ".metadata" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_suffix(".staged")
        staged.write_text(text)
        os.replace(staged, path)

    def provide(self, kind, name, install):
        """(entry path, lease, downloaded?) of `kind/name`, made by `install(staging_dir)`
        (which downloads, verifies and unpacks into that directory) when absent."""
        self.prepare()
        entry = self.root / kind / name
        lease = self._lease(kind, name)
        try:
            if entry.is_dir():
                os.utime(entry)
                return entry, lease, False
            with self._exclusive():
                if entry.is_dir():  # another race installed it while this one waited
                    os.utime(entry)
                    return entry, lease, False
                staging = Path(tempfile.mkdtemp(dir=self.root / ".staging"))
                try:
                    tree = staging / "tree"
                    tree.mkdir()
                    install(staging, tree)
                    _read_only(tree)
                    tree.chmod(0o755)  # writable only to be moved into place
                    entry.parent.mkdir(parents=True, exist_ok=True)
                    entry.parent.chmod(0o755)
                    tree.rename(entry)
                    entry.chmod(0o555)
                finally:
                    self._remove(staging)
                self._evict(keep=entry)
            return entry, lease, True
        except BaseException:
            lease.release()
            raise

    def _remove(self, path):
        if path.exists():
            _writable(path)
            shutil.rmtree(path, ignore_errors=True)

    def entries(self):
        found = []
        for kind in sorted(
            p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
        ):
            found += [p for p in kind.iterdir() if p.is_dir()]
        return found

    def _evict(self, keep):
        """Least recently used first, skipping entries a race holds, until the store fits."""
        sizes = {entry: _tree_bytes(entry) for entry in self.entries()}
        total = sum(sizes.values())
        for entry in sorted(sizes, key=lambda e: e.stat().st_mtime):
            if total <= self.max_bytes:
                return
            if entry == keep:
                continue
            lock_path = self.root / ".locks" / f"{entry.parent.name}-{entry.name}.lock"
            with open(lock_path, "a+") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # in use by a race
                self._remove(entry)
            total -= sizes[entry]


def _tree_bytes(tree):
    total = 0
    for directory, _, filenames in os.walk(tree):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total
