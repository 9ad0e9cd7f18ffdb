"""Sandbox overhead per build run: this tree's sandbox against another revision's, in one run.

    flock /tmp/arena-bench.lock .venv/bin/python benchmarks/sandbox_overhead.py --before main

Extracts the `--before` revision (git archive) to a temporary directory, then in interleaved
rounds launches, through each tree's own `Sandbox.launch` and `run_process`, a trivial command
(`true`) and a small offline Maven build (tests/repos.py's project, `mvn -o -q package`), with
the network off and on. For each it reports the median wall time of a launch (from building
the launch to the end of the process: bubblewrap, slirp4netns, seccomp setup and teardown
included) and the median time the engine measures (what a race records), and the ratio
after/before. Must run as root, as workers do (the new sandbox then builds as arena-build).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
MAVEN = ["mvn", "-B", "-q", "-o", "-Dmaven.repo.local=/usr/share/maven-repo", "package"]
WORKLOADS = {"true": (["true"], 10), "maven": (MAVEN, 2)}


def measure(tree, workload, network, runs):
    """Runs in a child process whose sys.path starts with `tree`: (wall ms, measured ms) lists."""
    sys.path.insert(0, str(tree))
    from tests.repos import maven_project_files
    from workers.engine.config import EngineConfig

    argv, _ = WORKLOADS[workload]
    base = Path(tempfile.mkdtemp(prefix="arena-overhead-"))
    base.chmod(0o711)
    try:
        from workers.engine.isolation.sandbox import Sandbox
        from workers.engine.measuring.process import run_process

        config = EngineConfig(workspace_root=base).with_changes(isolation__network=network)
    except ImportError:  # a revision from before the engine was grouped by feature (47208a8)
        from workers.engine.process import run_process
        from workers.engine.sandbox import Sandbox

        config = EngineConfig(workspace_root=base, network=network)
    sandbox = Sandbox(config)
    side = base / "race" / "standard"
    src, home = side / "src", side / "home"
    walls, measured = [], []
    try:
        for _ in range(runs):
            if src.exists():
                shutil.rmtree(src)
            src.mkdir(parents=True, exist_ok=True)
            home.mkdir(exist_ok=True)
            for name, text in maven_project_files().items():
                (src / name).parent.mkdir(parents=True, exist_ok=True)
                (src / name).write_text(text)
            identity = getattr(sandbox, "identity", None)
            if identity is not None and identity.uid != os.geteuid():
                for path in (side, side.parent, base):  # never above base (/tmp itself)
                    path.chmod(0o711)
                subprocess.run(["chown", "-R", f"{identity.uid}:{identity.gid}", src, home])
            chunks = []
            started = time.monotonic()
            launch = sandbox.launch(argv, workdir=src, home=home, side_dir=side)
            outcome = run_process(launch, timeout=300, on_output=chunks.append)
            walls.append((time.monotonic() - started) * 1000)
            if outcome.exit_code != 0:
                raise SystemExit(f"{workload} failed in {tree}: {b''.join(chunks)[-2000:]!r}")
            measured.append(outcome.elapsed_ms)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return walls, measured


def extract(revision, into):
    archive = subprocess.run(
        ["git", "-C", str(PROJECT_DIR), "archive", revision], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def child(tree, workload, network, runs):
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(tree), workload, network, str(runs)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tree,
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="main", help="git revision of the old sandbox")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tree, workload, network, runs = args.child
        print(json.dumps(measure(Path(tree), workload, network, int(runs))))
        return
    before = Path(tempfile.mkdtemp(prefix="arena-before-"))
    before.chmod(0o711)
    try:
        extract(args.before, before)
        trees = {"before": before, "after": PROJECT_DIR}
        results = {}
        for _ in range(args.rounds):
            for workload, (_, runs) in WORKLOADS.items():
                for network in ("off", "on"):
                    for label, tree in trees.items():
                        walls, measured = child(tree, workload, network, runs)
                        key = (workload, network, label)
                        results.setdefault(key, ([], []))
                        results[key][0].extend(walls)
                        results[key][1].extend(measured)
        print("| Command | Network | Before: wall / measured | After: wall / measured | Ratio |")
        print("| --- | --- | --- | --- | --- |")
        for workload in WORKLOADS:
            for network in ("off", "on"):
                cells = []
                for label in trees:
                    walls, measured = results[(workload, network, label)]
                    cells.append((statistics.median(walls), statistics.median(measured)))
                (bw, bm), (aw, am) = cells
                print(
                    f"| `{workload}` | {network} | {bw:.1f} / {bm:.1f} ms | "
                    f"{aw:.1f} / {am:.1f} ms | {aw / bw:.2f} |"
                )
        print(f"({args.rounds} interleaved rounds; medians of {len(walls)} runs per cell)")
    finally:
        shutil.rmtree(before, ignore_errors=True)


if __name__ == "__main__":
    main()
