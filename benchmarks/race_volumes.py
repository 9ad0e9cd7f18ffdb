"""What the kernel's disk quota costs a race: its three filesystems made and removed.

    flock /tmp/arena-bench.lock .venv/bin/python benchmarks/race_volumes.py --rounds 10

A root worker gives each race's checkout and each side a filesystem of its own (an ext4 image
of ARENA_BUILD_MAX_DISK_MB with ARENA_BUILD_MAX_INODES inodes, loop-mounted:
workers/engine/isolation/quota.py). This times, in interleaved rounds, what a race does with
them outside its measured runs: the workspace created, the checkout's and both sides'
volumes made, the tests' small Maven project copied to each side, and everything unmounted
and removed; once with the kernel's quota and once with plain directories (a worker that is
not root). Must run as root. Prints the medians and the difference per race.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobs.outcomes.vocabulary import SIDES
from tests.repos import maven_project_files
from workers.engine.checkout.workspace import Workspace
from workers.engine.config import EngineConfig
from workers.engine.isolation import quota


def one_race(base, config, kernel_quota):
    """Seconds to set up and tear down one race's workspace."""
    started = time.perf_counter()
    workspace = Workspace(
        base / f"race-{time.monotonic_ns()}",
        max_disk_mb=config.limits.disk_mb,
        max_inodes=quota.inode_limit(config.limits.disk_mb, config.limits.inodes),
        kernel_quota=kernel_quota,
    ).create()
    try:
        checkout = workspace.checkout_target()
        for name, text in maven_project_files().items():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            (checkout / name).write_text(text)
        workspace.seal_checkout()
        for side in SIDES:
            workspace.fresh_copy(side)
    finally:
        workspace.remove()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    if not quota.kernel_quota_available():
        sys.exit("run as root with mkfs.ext4: the kernel's quota needs a root worker")
    timings = {"kernel quota": [], "plain directories": []}
    with tempfile.TemporaryDirectory(prefix="arena-volumes-") as scratch:
        base = Path(scratch)
        config = EngineConfig(workspace_root=base)
        for _ in range(args.rounds):
            timings["kernel quota"].append(one_race(base, config, True))
            timings["plain directories"].append(one_race(base, config, False))
    medians = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    limits = EngineConfig(workspace_root=Path(".")).limits
    report = {
        "rounds": args.rounds,
        "disk_mb": limits.disk_mb,
        "inodes": limits.inodes,
        "median_ms": {name: round(value, 1) for name, value in medians.items()},
        "quota_costs_ms_per_race": round(medians["kernel quota"] - medians["plain directories"], 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
