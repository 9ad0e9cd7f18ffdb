"""A race's directory on disk: one clone of the repository, one clean copy per side and run.

Layout under ARENA_WORKSPACE_ROOT/<race id>/:
    checkout/          the clone (never built in)
    <side>/src/        a fresh copy of checkout for each build run (owned by the build account)
    <side>/home/       the side's HOME (dependency caches survive between its runs)
    <side>/tmp/        TMPDIR of an unsandboxed build (ARENA_SANDBOX=none)

where <side> is a random name drawn per race and side, never "standard" or "elide": the
sandbox binds these directories and the kernel shows their host paths in the build's
/proc/self/mountinfo, so a side's name on disk would tell the build which side it is.

With the kernel's quota (a root worker, quota.py) checkout/ and each <side>/ are mount points of
filesystem images (checkout.img, <side>.img, mode 0600) sized ARENA_BUILD_MAX_DISK_MB with
ARENA_BUILD_MAX_INODES inodes: the clone and each side's source, home and scratch can never
take more. Without it (a worker that is not root) they are plain directories and the quota
is a walk of the side's tree every few seconds (`disk_usage`).

The root and race directories are mode 0711 (the build account must reach its src and home,
bubblewrap opens them as that account, but lists nothing), the checkout 0700 once cloned.
Removal unmounts first, is iterative and never follows a symlink (trees.py), and housekeeping
never fails a race: every error is logged and the next race tries again.
"""

import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from jobs.outcomes.vocabulary import BASELINE_FIRST
from workers.engine.checkout.gitclone import CheckoutLimits, CloneError, clone
from workers.engine.checkout.trees import chown_tree, remove_tree, tree_usage
from workers.engine.failures import EnvironmentFailure
from workers.engine.isolation import quota
from workers.engine.isolation.identity import build_identity
from workers.engine.measuring.process import process_start_time

logger = logging.getLogger(__name__)

OWNER_FILE = ".owner"
KEPT = "kept"


class QuotaUnavailable(CloneError):
    """The checkout cannot be made: no build account to clone as, or no quota filesystem."""


@dataclass
class Workspace:
    root: Path
    # side -> its directory's name under root: random, so that no path names the side.
    side_names: dict = field(default_factory=dict, repr=False)
    # The quota of the checkout and of each side (0 = none), and whether the kernel enforces
    # it (each on a filesystem of its own) or `disk_usage` is walked.
    max_disk_mb: int = 0
    max_inodes: int = 0
    kernel_quota: bool = False

    @property
    def checkout(self):
        return self.root / "checkout"

    def side_dir(self, side):
        if side not in self.side_names:
            self.side_names[side] = secrets.token_hex(8)
        return self.root / self.side_names[side]

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

    def _volume(self, directory, owner, mode):
        """Make `directory` (under root) a filesystem of the quota's size, or a plain one."""
        if self.kernel_quota:
            image = self.root / f"{directory.name}.img"
            quota.make_volume(
                image, directory, size_mb=self.max_disk_mb, inodes=self.max_inodes,
                owner=owner, mode=mode,
            )  # fmt: skip
        else:
            directory.mkdir(mode=mode)
            if owner != (os.geteuid(), os.getegid()):
                os.chown(directory, *owner)
            directory.chmod(mode)
        return directory

    def checkout_target(self, owner=None):
        """The (empty) directory git clones into, writable by `owner` (the build account)."""
        return self._volume(self.checkout, owner or (os.geteuid(), os.getegid()), 0o700)

    def seal_checkout(self):
        """After the clone: only the arena reaches the checkout (mode 0700, root's)."""
        if os.geteuid() == 0:
            os.chown(self.checkout, 0, 0)
        self.checkout.chmod(0o700)

    def quota_reached(self, side):
        """ "disk quota reached: ..." when the side filled its filesystem, else ""."""
        if not self.kernel_quota or not os.path.ismount(self.side_dir(side)):
            return ""
        return quota.quota_reached(self.side_dir(side), self.max_disk_mb, self.max_inodes)

    def side_volume(self, side):
        """The side's directory, a filesystem of the quota's size (made the first time)."""
        if not os.path.isdir(self.side_dir(side)):
            self._volume(self.side_dir(side), (os.geteuid(), os.getegid()), 0o711)
        return self.side_dir(side)

    def fresh_copy(self, side, owner=None):
        """A clean copy of the checkout for one build run of `side` (the old one removed),
        given with the side's home to `owner` ((uid, gid) of the build account) if set."""
        src = self.src(side)
        if os.path.lexists(src):
            remove_tree(src)
        self.side_volume(side)
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
        quota.unmount_all(self.root)
        remove_tree(self.root)

    def keep(self):
        """Kept for debugging (ARENA_KEEP_WORKSPACES): never removed as abandoned. Its quota
        filesystems are unmounted; their images (*.img) stay, to be mounted to look inside."""
        self._write_owner(KEPT)
        quota.unmount_all(self.root)


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
    quota.unmount_all(entry)
    remove_tree(entry)
    return 1


def _process_identity(pid):
    """ "<pid> <start time>" of a live process (the start time tells a recycled PID), or None."""
    started = process_start_time(pid)
    return None if started is None else f"{pid} {started}"


def race_workspace(root, config):
    """The Workspace of one race under `root`, with the build's disk and inode quota: on
    filesystems of their own when this worker can mount them (quota.py)."""
    return Workspace(
        root,
        max_disk_mb=config.limits.disk_mb,
        max_inodes=quota.inode_limit(config.limits.disk_mb, config.limits.inodes),
        kernel_quota=bool(config.limits.disk_mb) and quota.kernel_quota_available(),
    )


def clone_checkout(workspace, spec, config, cancel):
    """Clone the race's repository into the workspace's checkout as the build account,
    sized before checkout against the caps and the quota; returns the commit SHA. Raises
    CloneError (RepositoryTooLarge for a refused tree, QuotaUnavailable when the build account
    or the quota's filesystem is missing)."""
    try:
        identity = build_identity(config.isolation.build_user)
    except EnvironmentFailure as failure:
        raise QuotaUnavailable(str(failure)) from None
    try:
        workspace.checkout_target((identity.uid, identity.gid))
        for side in BASELINE_FIRST:  # made now, so that a failure fails the race clearly
            workspace.side_volume(side)
    except (quota.QuotaError, OSError) as exc:
        raise QuotaUnavailable(f"cannot set up the disk quota: {exc}") from None
    limits = CheckoutLimits(
        max_files=config.limits.repo_files,
        max_depth=config.limits.repo_depth,
        max_disk_mb=config.limits.disk_mb,
        max_inodes=workspace.max_inodes if config.limits.disk_mb else config.limits.inodes,
    )
    sha = clone(
        spec.repository_url,
        spec.ref,
        workspace.checkout,
        timeout=config.timeouts.clone,
        cancel=cancel,
        drop=identity.drop,
        limits=limits,
    )
    workspace.seal_checkout()
    return sha
