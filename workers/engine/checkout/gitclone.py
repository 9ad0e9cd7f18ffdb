"""Cloning a submitted repository: as the build account, sized from its objects before checkout.

A repository is hostile: a few KB of pack can describe gigabytes of files (many trees naming
the same big blob, a "git bomb"). So git runs as the build account (never as root: the same
`setpriv` drop as a build) into the race's checkout filesystem, which has the build's disk and
inode quota (quota.py); it fetches without checking out, then the commit's tree is listed from
the object database (`git ls-tree -r -t -l`, read as it streams and stopped at the first cap)
and its files, directories, depth and size on disk are compared with the caps; only a
repository within all of them is checked out. A local repository (ARENA_ALLOW_LOCAL_REPOS)
must be readable by the build account.
"""

import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from workers.engine.checkout.trees import remove_tree
from workers.engine.isolation.quota import BLOCK_SIZE
from workers.engine.measuring.process import Launch, run_process

GIT_ENV_BASE = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_ASKPASS": "/bin/true",
    "SSH_ASKPASS": "/bin/true",
    "GIT_PROTOCOL_FROM_USER": "0",
}
# git's global config while cloning: the build account reads a local repository that root
# owns (git refuses "dubious ownership" otherwise; only global config may say so).
GIT_CONFIG = "[safe]\n\tdirectory = *\n"
_HEX_RE = re.compile(r"^[0-9a-fA-F]{7,40}$")
_BLOB_MODES = (b"100644", b"100755", b"120000")


class CloneError(Exception):
    """git could not clone or check out; the message is git's own, made readable."""


class RepositoryTooLarge(CloneError):
    """The commit's tree is past a cap: files, depth, size on disk or inodes."""


@dataclass(frozen=True)
class CheckoutLimits:
    max_files: int = 200_000
    max_depth: int = 128
    # The checkout's filesystem: ARENA_BUILD_MAX_DISK_MB and ARENA_BUILD_MAX_INODES (0 = none).
    max_disk_mb: int = 0
    max_inodes: int = 0


@dataclass
class TreeSize:
    files: int = 0
    directories: int = 0
    depth: int = 0
    disk_bytes: int = 0

    def add(self, mode, size, path):
        depth = path.count(b"/") + 1
        if mode == b"040000":
            self.directories += 1
            self.disk_bytes += BLOCK_SIZE
        elif mode in _BLOB_MODES:
            self.files += 1
            depth -= 1  # a file at depth n sits in a directory n - 1 levels down
            blocks = max(1, -(-int(size) // BLOCK_SIZE)) if size.isdigit() else 1
            self.disk_bytes += blocks * BLOCK_SIZE
        self.depth = max(self.depth, depth)

    def refusal(self, limits):
        """Why the tree cannot be checked out within `limits`, or ""."""
        if self.files > limits.max_files:
            return (
                f"the repository has more than {limits.max_files:,} files "
                "(ARENA_MAX_REPO_FILES); refusing to build it"
            )
        if self.depth > limits.max_depth:
            return (
                f"the repository nests directories more than {limits.max_depth} levels deep "
                "(ARENA_MAX_REPO_DEPTH); refusing to build it"
            )
        if limits.max_disk_mb and self.disk_bytes > limits.max_disk_mb * 1024 * 1024:
            return (
                f"the repository checks out to more than {limits.max_disk_mb} MB, the disk "
                "quota (ARENA_BUILD_MAX_DISK_MB); refusing to build it"
            )
        if limits.max_inodes and self.files + self.directories > limits.max_inodes:
            return (
                f"the repository has more than {limits.max_inodes:,} files and directories, "
                "the inode quota (ARENA_BUILD_MAX_INODES); refusing to build it"
            )
        return ""


class _Git:
    """git commands run as the build account (`drop`, its setpriv prefix) in one checkout."""

    def __init__(self, dest, drop, timeout, cancel, on_output, local):
        self.dest = Path(dest)
        home = self.dest.parent
        (home / ".gitconfig").write_text(GIT_CONFIG)
        os.chmod(home / ".gitconfig", 0o644)
        self.env = {**GIT_ENV_BASE, "HOME": str(home)}
        self.prefix = [*drop, "git", "-c", "advice.detachedHead=false"]
        self.prefix += ["-c", "core.hooksPath=/dev/null"]
        if local:  # ARENA_ALLOW_LOCAL_REPOS: a file:// URL needs the file transport
            self.prefix += ["-c", "protocol.file.allow=always"]
        self.deadline = time.monotonic() + timeout
        self.cancel = cancel
        self.on_output = on_output

    def remaining(self):
        return max(self.deadline - time.monotonic(), 0.001)

    def run(self, *args, timeout=None, quiet=False):
        chunks = []
        lock = threading.Lock()

        def collect(data):
            with lock:
                chunks.append(data)
            if self.on_output is not None and not quiet:
                self.on_output(data)

        limit = min(timeout or self.remaining(), self.remaining())
        outcome = run_process(
            Launch([*self.prefix, *args], env=self.env),
            timeout=limit,
            on_output=collect,
            cancel=self.cancel,
        )
        text = b"".join(chunks).decode("utf-8", "replace").strip()
        if outcome.cancelled:
            raise CloneError("cancelled")
        if outcome.timed_out:
            raise CloneError(f"git timed out after {limit:g} s")
        if outcome.error:
            raise CloneError(outcome.error)
        if outcome.exit_code != 0:
            raise CloneError(
                readable_git_error(text) or f"git exited with code {outcome.exit_code}"
            )
        return text

    def tree_size(self, sha, limits):
        """The size of commit `sha`'s tree, listed as it streams; stops at the first cap."""
        argv = [*self.prefix, "-C", str(self.dest), "ls-tree", "-r", "-t", "-l", "-z"]
        argv += ["--full-tree", sha]
        size = TreeSize()
        proc = subprocess.Popen(
            argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        expired = threading.Event()

        def expire():
            expired.set()
            proc.kill()

        timer = threading.Timer(self.remaining(), expire)
        timer.start()
        listed = False
        try:
            pending = b""
            while not size.refusal(limits):
                if self.cancel is not None and self.cancel.is_set():
                    raise CloneError("cancelled")
                data = proc.stdout.read1(1 << 16)
                if not data:
                    listed = True
                    break
                records = (pending + data).split(b"\0")
                pending = records.pop()
                for record in records:
                    header, _, path = record.partition(b"\t")
                    fields = header.split()
                    if len(fields) == 4:
                        size.add(fields[0], fields[3], path)
        finally:
            if not listed:
                proc.kill()  # refused (or cancelled) part way: the rest is not needed
            proc.stdout.close()
            code = proc.wait()
            timer.cancel()
        if expired.is_set():
            raise CloneError("git timed out while listing the commit's files")
        if listed and code != 0:
            raise CloneError(f"git could not list the commit's files (exit code {code})")
        return size


def clone(url, ref, dest, *, timeout, cancel=None, on_output=None, drop=(), limits=None):
    """Clone `url` into `dest` (an empty or missing directory) at `ref` (branch, tag or commit)
    as the account `drop` switches to; return the commit SHA. Raises CloneError, or
    RepositoryTooLarge (before anything is checked out) when the tree is past `limits`.

    Shallow (--depth 1) unless the ref is a commit, which needs history to be found. The URL
    always follows `--`, so it can never be read as an option.
    """
    limits = limits or CheckoutLimits()
    local = url.startswith(("/", "file://"))
    if url.startswith("/"):
        url = f"file://{url}"  # the file transport makes --depth work as for remote ones
    git = _Git(dest, drop, timeout, cancel, on_output, local)
    fetch = ["clone", "--no-checkout", "--depth", "1"]
    if not ref:
        git.run(*fetch, "--no-tags", "--", url, str(dest))
        sha = git.run("-C", str(dest), "rev-parse", "HEAD", quiet=True)
    else:
        try:
            git.run(*fetch, "--branch", ref, "--", url, str(dest))
            sha = git.run("-C", str(dest), "rev-parse", "HEAD", quiet=True)
        except CloneError as exc:
            if not _HEX_RE.match(ref) or "not found" not in str(exc):
                raise
            _empty(dest)
            git.run("clone", "--no-checkout", "--", url, str(dest))
            sha = _resolve_commit(git, ref)
    refusal = git.tree_size(sha, limits).refusal(limits)
    if refusal:
        raise RepositoryTooLarge(refusal)
    git.run("-C", str(dest), "checkout", "--detach", sha)
    return sha


def _empty(dest):
    """Remove what a failed clone left in `dest`, keeping `dest` (it may be a mount point)."""
    dest = Path(dest)
    if dest.is_dir():
        for child in os.listdir(dest):
            remove_tree(dest / child)


def _resolve_commit(git, ref):
    try:
        return git.run(
            "-C",
            str(git.dest),
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{ref}^{{commit}}",
            timeout=30,
            quiet=True,
        )
    except CloneError:
        raise CloneError(f"ref {ref!r} not found in the repository") from None


def readable_git_error(text):
    """The lines of git's output that say what went wrong (fatal:/error:), else the last one."""
    if "could not read Username" in text or "terminal prompts disabled" in text:
        # GitHub and GitLab ask for credentials when a repository is missing or private.
        return "the repository does not exist or is not public (git asked for credentials)"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # fatal: first: it says why git stopped (a checkout past the quota lists every file it
    # could not write before "No space left on device").
    fatal = [line for line in lines if line.startswith("fatal:")]
    others = [line for line in lines if line.startswith(("error:", "remote:", "warning: Could"))]
    return " ".join(fatal + others or lines[-1:])[:1000]
