"""Dependency caches: each race's cache policy (cold or warm) and the host's bounded LRU store.

A side's dependency caches live in its HOME (Maven's ~/.m2, the wrapper's ~/.m2/wrapper,
GRADLE_USER_HOME=~/.gradle, Elide's ~/.cache): the cache state of a side is its home.

cold   every measured run starts from an empty home of its own: downloads are measured.
warm   before any measured run an unmeasured prepare step fills a cache for this repository,
       commit and tool (one full build of the side's own command, in a copy of the checkout,
       from an empty home) and keeps the home it leaves as the warm state. Every measured run
       then starts from its own identical copy of that state, so no run inherits another's
       downloads and neither side inherits the other's: both sides using one tool start from
       the same state, each from its own copy.

Host store: warm states outlive the race under ARENA_CACHE_ROOT/<key>/, keyed by repository +
commit + tool, bounded by ARENA_CACHE_MAX_MB in all, least recently used evicted first. An
entry is written once (copied to a staging directory, renamed into place) and only ever copied
from afterwards, under a shared lock that eviction waits for: it is never handed to a build
writable, and never shared between concurrent builds.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

from workers.engine.checkout import carried
from workers.engine.checkout.trees import chown_tree, remove_tree, tree_usage
from workers.engine.failures import EnvironmentFailure

COLD = "cold"
WARM = "warm"
CACHE_MODES = (COLD, WARM)
ENTRY_TREE = "home"
ENTRY_META = "meta.json"
COPY_TIMEOUT = 900
# What one file or directory of a stored entry counts against the bound besides its blocks
# (an inode and a directory entry; one block is what a small file takes on most filesystems).
INODE_BYTES = 4096
_TOOL_NAMES = {"mvn": "maven", "mvnw": "maven", "gradle": "gradle", "gradlew": "gradle"}


class CacheError(EnvironmentFailure):
    """A cache copy failed (disk full, a tree cp could not read): the arena's failure."""


def cache_tool(tool, argv):
    """The tool whose cache a side fills: the recipe's tool, or for a custom command the build
    tool it runs (`env JAVA_HOME=... mvn -T 2 package` is Maven), else one key per command."""
    if tool != "custom":
        return tool
    words = list(argv or ())
    while words and (os.path.basename(words[0]) == "env" or "=" in words[0]):
        words.pop(0)
    name = os.path.basename(words[0]) if words else ""
    if name in _TOOL_NAMES:
        return _TOOL_NAMES[name]
    if name == "elide":
        return "elide"
    digest = hashlib.sha256(json.dumps(list(argv or ())).encode()).hexdigest()[:12]
    return f"custom-{digest}"


def cache_state(tool, argv, tool_version, jdk):
    """The name of a warm state: its tool and a digest of what else makes two caches differ
    (the command, the tool's version, the JDK), so a state is reused only by the same build."""
    identity = json.dumps([tool, list(argv or ()), tool_version or "", jdk or ""])
    return f"{tool}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


def cache_key(repository_url, commit, state):
    """The host store's key: repository, commit and state name (cache_state)."""
    return hashlib.sha256(json.dumps([repository_url, commit, state]).encode()).hexdigest()[:40]


def copy_tree(source, destination, timeout=COPY_TIMEOUT):
    """Copy a tree's contents (symlinks copied as links, never followed; reflinks when the
    filesystem has them). `destination` must not exist yet."""
    Path(destination).parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["cp", "-a", "--reflink=auto", "-T", "--", str(source), str(destination)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise CacheError(f"copying the cache failed: {result.stderr.strip()[:500]}")


def reset_dir(path):
    """Make `path` an empty directory."""
    remove_tree(path)
    Path(path).mkdir(parents=True)


def private_dir(path):
    """A directory only the arena (not the build account) can enter: cache copies in it are
    never reachable, let alone writable, by a build."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def charged_bytes(usage):
    """What an entry counts against ARENA_CACHE_MAX_MB: its blocks on disk plus INODE_BYTES
    for each file and directory, so that many empty files weigh like a big one."""
    return usage.bytes + usage.inodes * INODE_BYTES


class HostCache:
    """The bounded, LRU, copy-in/copy-out store of warm states."""

    def __init__(self, root, max_bytes):
        self.root = Path(root)
        self.max_bytes = max_bytes

    @contextlib.contextmanager
    def _locked(self, exclusive):
        private_dir(self.root)
        with open(self.root / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _entry(self, key):
        return self.root / key

    def fetch(self, key, destination):
        """Copy the entry's tree to `destination` and mark it used; False when absent."""
        if self.max_bytes <= 0:
            return False
        with self._locked(exclusive=False):
            entry = self._entry(key)
            if not (entry / ENTRY_META).is_file():
                return False
            copy_tree(entry / ENTRY_TREE, destination)
            with contextlib.suppress(OSError):
                os.utime(entry / ENTRY_META)
        return True

    def store(self, key, source, meta):
        """Keep a copy of `source` under `key`, evicting least recently used entries to stay
        within the bound. Returns False (nothing kept) when it alone exceeds the bound."""
        if self.max_bytes <= 0:
            return False
        usage = tree_usage(source)
        size = charged_bytes(usage)
        if size > self.max_bytes:
            return False
        staging = self.root / f".staging-{uuid.uuid4().hex}"
        try:
            copy_tree(source, staging / ENTRY_TREE)
            recorded = {**meta, "bytes": usage.bytes, "inodes": usage.inodes}
            (staging / ENTRY_META).write_text(json.dumps(recorded))
            with self._locked(exclusive=True):
                entry = self._entry(key)
                if (entry / ENTRY_META).is_file():
                    os.utime(entry / ENTRY_META)  # another race stored it meanwhile
                else:
                    if entry.exists():
                        remove_tree(entry)  # a half-removed entry
                    os.rename(staging, entry)
                self._evict(keep=key)
        finally:
            remove_tree(staging)
        return True

    def entries(self):
        """[(last used, charged bytes, key)] of complete entries."""
        found = []
        for entry in self.root.iterdir() if self.root.is_dir() else ():
            meta = entry / ENTRY_META
            if entry.name.startswith(".") or not meta.is_file():
                continue
            try:
                recorded = json.loads(meta.read_text())
                size = int(recorded.get("bytes", 0)) + int(recorded.get("inodes", 0)) * INODE_BYTES
                found.append((meta.stat().st_mtime, size, entry.name))
            except (OSError, ValueError, AttributeError):
                continue
        return sorted(found)

    def _evict(self, keep):
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        for _, size, key in entries:
            if total <= self.max_bytes:
                break
            if key == keep:
                continue
            remove_tree(self._entry(key))
            total -= size
        self._remove_stale_staging()

    def _remove_stale_staging(self, min_age=6 * 3600):
        for entry in self.root.glob(".staging-*"):
            with contextlib.suppress(OSError):
                if time.time() - entry.stat().st_mtime > min_age:
                    remove_tree(entry)


class RaceCaches:
    """One race's cache policy: prepares warm states (one per tool) and sets up each side's
    home before a run."""

    def __init__(self, mode, *, host, local_root, repository_url, commit):
        if mode not in CACHE_MODES:
            raise ValueError(f"cache must be one of {CACHE_MODES}, got {mode!r}")
        self.mode = mode
        self.host = host
        self.local_root = Path(local_root)
        self.repository_url = repository_url
        self.commit = commit
        self._snapshots = {}

    @property
    def warm(self):
        return self.mode == WARM

    def warm_state(self, tool, fill, project=None):
        """(snapshot path, how it was obtained) of the warm state named `tool` (cache_state).

        Already prepared in this race, else copied from the host store, else filled by
        `fill()` (which builds once and returns the home it left, or raises the build's
        failure, which goes on to the caller) and kept in the host store when it fits. The
        stores a tool keeps inside the `project` copy it built (carried.py) join the state.
        """
        if tool in self._snapshots:
            return self._snapshots[tool], "prepared earlier in this race"
        snapshot = private_dir(self.local_root) / tool
        key = cache_key(self.repository_url, self.commit, tool)
        if self.host.fetch(key, snapshot):
            how = (
                "taken from the host cache (same repository, commit, tool, tool version, "
                "command and JDK)"
            )
        else:
            home = fill()
            copy_tree(home, snapshot)
            if project is not None:
                carried.stash(snapshot, project, copy_tree)
            meta = {"repository": self.repository_url, "commit": self.commit, "tool": tool}
            kept = self.host.store(key, snapshot, meta)
            how = "filled by a full build" + (
                "" if kept else " (too large for ARENA_CACHE_MAX_MB: not kept on the host)"
            )
        self._snapshots[tool] = snapshot
        return snapshot, how

    def start_from(self, home, tool, owner=None, project=None):
        """Replace `home` with the state a run of `tool` starts from (empty when cold), given
        to `owner` ((uid, gid) of the build account) when set; the stores the state carries
        for the project go into `project` (a fresh copy). Returns notes to print."""
        snapshot = self._snapshots.get(tool) if self.warm else None
        if snapshot is None:
            reset_dir(home)
        else:
            remove_tree(home)
            copy_tree(snapshot, home)
        owner = owner if owner is not None and owner != (os.geteuid(), os.getegid()) else None
        notes = []
        if project is not None:
            notes = carried.unstash(home, project, owner, copy_tree)
        remove_tree(Path(home) / carried.STASH)
        if owner is not None:
            info = os.lstat(home)
            if (info.st_uid, info.st_gid) != tuple(owner):
                chown_tree(home, *owner)
        return notes
