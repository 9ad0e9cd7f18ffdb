"""A race's directory on disk: one clone of the repository, one clean copy per side and run.

Layout under ARENA_WORKSPACE_ROOT/<race id>/:
    checkout/          the clone (never built in)
    <side>/src/        a fresh copy of checkout for each build run (owned by the build account)
    <side>/home/       the side's HOME (dependency caches survive between its runs)
    <side>/tmp/        TMPDIR of an unsandboxed build (ARENA_SANDBOX=none)

The root and race directories are mode 0711 (the build account must reach its src and home,
bubblewrap opens them as that account, but lists nothing), the checkout 0700. Removal is
iterative and never follows a symlink (trees.py), and housekeeping never fails a race: every
error is logged and the next race tries again.
"""

import logging
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from workers.engine.process import Launch, process_start_time, run_process
from workers.engine.trees import chown_tree, remove_tree, tree_usage

logger = logging.getLogger(__name__)

GIT_ENV_BASE = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_ASKPASS": "/bin/true",
    "SSH_ASKPASS": "/bin/true",
    "GIT_PROTOCOL_FROM_USER": "0",
}
OWNER_FILE = ".owner"
KEPT = "kept"
_HEX_RE = re.compile(r"^[0-9a-fA-F]{7,40}$")


class CloneError(Exception):
    """git could not clone or check out; the message is git's own, made readable."""


class RepositoryTooLarge(CloneError):
    """The checkout has more files or directory levels than the configured caps."""


def check_repository_size(checkout, max_files, max_depth):
    """Refuse (RepositoryTooLarge) a checkout past ARENA_MAX_REPO_FILES/ARENA_MAX_REPO_DEPTH;
    copying or building such a tree would only serve to exhaust the host."""
    usage = tree_usage(checkout, max_files=max_files, max_depth=max_depth)
    if usage.files > max_files:
        raise RepositoryTooLarge(
            f"the repository has more than {max_files:,} files (ARENA_MAX_REPO_FILES); "
            "refusing to build it"
        )
    if usage.depth > max_depth:
        raise RepositoryTooLarge(
            f"the repository nests directories more than {max_depth} levels deep "
            "(ARENA_MAX_REPO_DEPTH); refusing to build it"
        )


@dataclass
class Workspace:
    root: Path

    @property
    def checkout(self):
        return self.root / "checkout"

    def side_dir(self, side):
        return self.root / side

    def home(self, side):
        return self.side_dir(side) / "home"

    def src(self, side):
        return self.side_dir(side) / "src"

    def create(self):
        self.root.mkdir(parents=True, exist_ok=False)
        self.root.chmod(0o711)
        # Who owns it: a later race removes it if this process died without cleaning up.
        self._write_owner(_process_identity(os.getpid()) or "")
        return self

    def _write_owner(self, owner):
        # Renamed into place: another worker's remove_abandoned must never read a half-written
        # (empty) owner file and take a live race's workspace for an abandoned one.
        partial = self.root / f"{OWNER_FILE}.partial"
        partial.write_text(owner)
        os.replace(partial, self.root / OWNER_FILE)

    def fresh_copy(self, side, owner=None):
        """A clean copy of the checkout for one build run of `side` (the old one removed),
        given with the side's home to `owner` ((uid, gid) of the build account) if set."""
        src = self.src(side)
        if os.path.lexists(src):
            remove_tree(src)
        self.side_dir(side).mkdir(mode=0o711, exist_ok=True)
        self.side_dir(side).chmod(0o711)
        shutil.copytree(self.checkout, src, symlinks=True)
        home = self.home(side)
        home.mkdir(exist_ok=True)
        if owner is not None and owner != (os.geteuid(), os.getegid()):
            chown_tree(src, *owner)
            os.chown(home, *owner)
        return src

    def disk_usage(self, side):
        """Bytes of the side's source copy and home (its disk quota)."""
        return tree_usage(self.src(side)).bytes + tree_usage(self.home(side)).bytes

    def remove(self):
        remove_tree(self.root)

    def keep(self):
        """Kept for debugging (ARENA_KEEP_WORKSPACES): never removed as abandoned."""
        self._write_owner(KEPT)


def remove_abandoned(workspace_root, min_age_seconds=3600):
    """Remove race directories whose owning process is gone (a worker killed with SIGKILL
    cannot clean up). A directory without an owner file is removed only once it is older
    than `min_age_seconds`. Returns how many were removed."""
    root = Path(workspace_root)
    try:
        entries = [entry for entry in root.iterdir() if not entry.name.startswith(".")]
    except OSError:
        return 0
    removed = 0
    for entry in entries:
        try:
            removed += _remove_if_abandoned(entry, min_age_seconds)
        except Exception:
            # Housekeeping is never the reason a race fails: log it, the next race retries.
            logger.exception("could not remove abandoned workspace %s", entry)
    return removed


def _remove_if_abandoned(entry, min_age_seconds):
    if not entry.is_dir() or entry.is_symlink():
        return 0
    try:
        owner = (entry / OWNER_FILE).read_text().strip()
    except FileNotFoundError:
        owner = None
    if not owner:  # none yet (being created): judged by age
        abandoned = time.time() - entry.stat().st_mtime > min_age_seconds
    elif owner == KEPT:
        return 0
    else:
        pid = owner.split(" ", 1)[0]
        abandoned = not pid.isdigit() or _process_identity(int(pid)) != owner
    if not abandoned:
        return 0
    remove_tree(entry)
    return 1


def _process_identity(pid):
    """ "<pid> <start time>" of a live process (the start time tells a recycled PID), or None."""
    started = process_start_time(pid)
    return None if started is None else f"{pid} {started}"


def clone(url, ref, dest, *, timeout, cancel=None, on_output=None):
    """Clone `url` into `dest` at `ref` (branch, tag or commit); return the commit SHA.

    Shallow (--depth 1) unless the ref is a commit, which needs history to be found. The URL
    always follows `--`, so it can never be read as an option. Raises CloneError.
    """
    dest = Path(dest)
    env = {**GIT_ENV_BASE, "HOME": str(dest.parent)}
    base = ["git", "-c", "advice.detachedHead=false", "-c", "core.hooksPath=/dev/null"]
    if url.startswith(("/", "file://")):
        # Local repositories (accepted only when ARENA_ALLOW_LOCAL_REPOS is on) need the file
        # transport; a file:// URL also makes --depth work as it does for remote ones.
        base += ["-c", "protocol.file.allow=always"]
        url = url if url.startswith("file://") else f"file://{url}"
    if not ref:
        _git(
            [*base, "clone", "--depth", "1", "--no-tags", "--", url, str(dest)],
            env,
            timeout,
            cancel,
            on_output,
        )
    else:
        try:
            _git(
                [*base, "clone", "--depth", "1", "--branch", ref, "--", url, str(dest)],
                env,
                timeout,
                cancel,
                on_output,
            )
        except CloneError as exc:
            if not _HEX_RE.match(ref) or "not found" not in str(exc):
                raise
            if dest.exists():
                remove_tree(dest)
            _git(
                [*base, "clone", "--no-checkout", "--", url, str(dest)],
                env,
                timeout,
                cancel,
                on_output,
            )
            sha = _resolve_commit(dest, ref, env, base)
            _git(
                [*base, "-C", str(dest), "checkout", "--detach", sha],
                env,
                timeout,
                cancel,
                on_output,
            )
    return _git([*base, "-C", str(dest), "rev-parse", "HEAD"], env, 30, cancel)


def _resolve_commit(dest, ref, env, base):
    try:
        return _git(
            [
                *base,
                "-C",
                str(dest),
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                f"{ref}^{{commit}}",
            ],
            env,
            30,
            None,
        )
    except CloneError:
        raise CloneError(f"ref {ref!r} not found in the repository") from None


def _git(argv, env, timeout, cancel, on_output=None):
    chunks = []
    lock = threading.Lock()

    def collect(data):
        with lock:
            chunks.append(data)
        if on_output is not None:
            on_output(data)

    outcome = run_process(Launch(argv, env=env), timeout=timeout, on_output=collect, cancel=cancel)
    text = b"".join(chunks).decode("utf-8", "replace").strip()
    if outcome.cancelled:
        raise CloneError("cancelled")
    if outcome.timed_out:
        raise CloneError(f"git timed out after {timeout:g} s")
    if outcome.error:
        raise CloneError(outcome.error)
    if outcome.exit_code != 0:
        raise CloneError(readable_git_error(text) or f"git exited with code {outcome.exit_code}")
    return text


def readable_git_error(text):
    """The lines of git's output that say what went wrong (fatal:/error:), else the last one."""
    if "could not read Username" in text or "terminal prompts disabled" in text:
        # GitHub and GitLab ask for credentials when a repository is missing or private.
        return "the repository does not exist or is not public (git asked for credentials)"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    important = [
        line for line in lines if line.startswith(("fatal:", "error:", "remote:", "warning: Could"))
    ]
    return " ".join(important or lines[-1:])[:1000]
