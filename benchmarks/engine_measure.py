"""Build engine benchmark: is the arena's measurement honest?

    flock /tmp/arena-bench.lock .venv/bin/python benchmarks/engine_measure.py

1. A/A: the same CPU-bound, sleep-free recipe on both sides, --races races per mode
   (sequential and parallel), each of --iterations measured runs after one warm-up; the
   speedup of each race (the engine's estimate, jobs/outcomes/verdict.py) and the median
   over the races, which must be 1.00 ± 0.05.
2. A/B: the standard side does twice the work of the elide side; the median speedup over
   --races sequential races must be 2.0 ± 0.1.
3. Harness overhead: the arena's measured time of one command (unsandboxed, and in bubblewrap
   with network off and on) against the same command timed by hyperfine (`-N`, no shell) in
   the same run, in interleaved rounds: within 3% or 50 ms.
4. Sandbox overhead: bubblewrap (network off, and on with slirp4netns) against unsandboxed.

Everything runs through workers.engine.run_race on a local git repository, no database.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from tests.repos import make_git_repo, maven_project_files  # noqa: E402
from workers.engine import EngineConfig, RaceSpec, run_race  # noqa: E402


def busy(loops):
    return ["sh", "-c", f"i=0; while [ $i -lt {loops} ]; do i=$((i+1)); done"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--races", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--loops", type=int, default=400_000, help="Work unit of the recipe.")
    parser.add_argument("--overhead-runs", type=int, default=5, help="Interleaved rounds.")
    parser.add_argument("--only", choices=["aa", "ab", "overhead"], action="append")
    return parser.parse_args()


def race(config, repo, standard, elide, *, mode="sequential", iterations=5, warmups=1):
    spec = RaceSpec(
        str(repo), mode=mode, iterations=iterations, warmups=warmups,
        standard_cmd=standard, elide_cmd=elide,
    )  # fmt: skip
    outcome = run_race(spec, config)
    if outcome.status != "completed" or outcome.speedup is None:
        raise SystemExit(f"race did not complete: {outcome}")
    return outcome


def ratios(config, repo, args, standard, elide, mode):
    values = []
    for number in range(args.races):
        outcome = race(config, repo, standard, elide, mode=mode, iterations=args.iterations)
        s, e = outcome.sides["standard"], outcome.sides["elide"]
        verdict = outcome.verdict
        interval = "-".join(f"{v:.3f}" for v in verdict.ci95) if verdict.ci95 else "none"
        print(
            f"  race {number + 1}: speedup {outcome.speedup:.3f} (CI {interval}, "
            f"{verdict.verdict})  standard {s.run_times_ms}  elide {e.run_times_ms}"
        )
        values.append(outcome.speedup)
    return values


def a_a(config, repo, args):
    command = busy(args.loops)
    for mode in ("sequential", "parallel"):
        print(f"A/A {mode}: {args.races} races x {args.iterations} runs (+1 warm-up)")
        values = ratios(config, repo, args, command, command, mode)
        median = statistics.median(values)
        verdict = "PASS" if abs(median - 1) <= 0.05 else "FAIL"
        print(f"A/A {mode}: median speedup {median:.3f} (min {min(values):.3f}, "
              f"max {max(values):.3f})  {verdict} (1.00 ± 0.05)")  # fmt: skip


def a_b(config, repo, args):
    print(f"A/B sequential: standard does twice the work, {args.races} races")
    values = ratios(config, repo, args, busy(2 * args.loops), busy(args.loops), "sequential")
    median = statistics.median(values)
    verdict = "PASS" if abs(median - 2) <= 0.1 else "FAIL"
    print(f"A/B: median speedup {median:.3f} (min {min(values):.3f}, max {max(values):.3f})"
          f"  {verdict} (2.0 ± 0.1)")  # fmt: skip


def arena_times(config, repo, command, runs):
    outcome = race(config, repo, command, command, iterations=runs, warmups=0)
    return outcome.sides["standard"].run_times_ms + outcome.sides["elide"].run_times_ms


def hyperfine_times(command, runs, workdir):
    export = Path(workdir) / "hyperfine.json"
    subprocess.run(
        ["hyperfine", "-N", "--warmup", "1", "--runs", str(runs), "--export-json",
         str(export), "--style", "none", "--", " ".join(
             f"'{part}'" if " " in part else part for part in command)],
        check=True, capture_output=True,
    )  # fmt: skip
    return [t * 1000 for t in json.loads(export.read_text())["results"][0]["times"]]


def overhead(config, repo, args, workdir):
    """Rounds interleave the four ways of timing, so that a drift in the machine's load hits
    them alike; each figure is the median of all its runs."""
    command = busy(args.loops)
    ways = {
        "hyperfine -N": lambda: hyperfine_times(command, 4, workdir),
        "arena, unsandboxed": lambda: arena_times(
            config.with_changes(isolation__sandbox="none"), repo, command, 2
        ),
        "arena, bubblewrap network off": lambda: arena_times(
            config.with_changes(isolation__network="off"), repo, command, 2
        ),
        "arena, bubblewrap network on": lambda: arena_times(
            config.with_changes(isolation__network="on"), repo, command, 2
        ),
    }
    if shutil.which("hyperfine") is None:
        del ways["hyperfine -N"]
    times = {name: [] for name in ways}
    for _ in range(args.overhead_runs):
        for name, measure in ways.items():
            times[name].extend(measure())
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"harness and sandbox overhead ({args.overhead_runs} interleaved rounds, medians):")
    reference = medians.get("hyperfine -N")
    for name, median in medians.items():
        line = f"  {name:<30} {median:7.1f} ms  ({len(times[name])} runs)"
        if reference is not None and name != "hyperfine -N":
            difference = median - reference
            limit = max(0.03 * reference, 50)
            verdict = "PASS" if abs(difference) <= limit else "FAIL"
            line += f"  vs hyperfine {difference:+.1f} ms ({difference / reference:+.1%}) {verdict}"
        print(line)
    plain = medians["arena, unsandboxed"]
    for name in ("arena, bubblewrap network off", "arena, bubblewrap network on"):
        difference = medians[name] - plain
        print(f"  sandbox overhead, {name[7:]}: {difference:+.1f} ms ({difference / plain:+.1%})")


def main():
    args = parse_args()
    only = set(args.only or ["aa", "ab", "overhead"])
    with tempfile.TemporaryDirectory(prefix="arena-engine-bench-") as workdir:
        repo = make_git_repo(Path(workdir) / "repo", maven_project_files())
        config = EngineConfig(
            workspace_root=Path(workdir) / "workspaces",
        )
        if "aa" in only:
            a_a(config, repo, args)
        if "ab" in only:
            a_b(config, repo, args)
        if "overhead" in only:
            overhead(config, repo, args, workdir)


if __name__ == "__main__":
    main()
