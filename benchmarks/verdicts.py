"""Verdict and headline benchmark: does the interval cover, and what does the headline cost?

    .venv/bin/python benchmarks/verdicts.py coverage [--trials 2000]
    .venv/bin/python benchmarks/verdicts.py headline [--races 100000]
    .venv/bin/python benchmarks/verdicts.py adaptive [--trials 1000]

coverage: simulated races through jobs/outcomes/verdict.py (no builds): each side's run
times are a base time with lognormal noise (sigma 3% and 10%, the spread of real build runs)
for 3, 5 and 10 runs a side, as A/A races (true speedup 1.0) and A/B races (true 1.5). For
each: how often the interval contains the true speedup (its coverage), and the verdicts.

adaptive: fixed 3, 5 and 10 runs a side against adaptive runs ("auto", up to 10 a side,
jobs/outcomes/sequential.py) on three simulated hosts: quiet (3% noise), steady load (10%
noise, everything 40% slower) and bursty load (3% noise, but a quarter of the runs hit by a
burst that makes them 1.3-2x slower; the noise meter flags such a run and its pair is run
again, up to 3 times), for true speedups 1.0, 1.05, 1.2, 1.5 and 2.0: how often the interval
covers the true speedup, how often an A/A race names a winner, how often a verdict is reached
(not inconclusive), and the mean number of runs a side, re-runs included.

headline: a fresh SQLite database (a temporary file) with --races random demo races, then the
headline of the leaderboard (every speedup read, per-repository medians, 2,000 bootstrap
resamples), the totals and the per-repository statistics, each timed 5 times.
"""

import argparse
import collections
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from jobs.outcomes.sequential import look  # noqa: E402
from jobs.outcomes.verdict import Tolerances, judge  # noqa: E402

# The defaults a deployment starts with (ARENA_TIE_TOLERANCE, ARENA_PARITY_TOLERANCE).
TOLERANCES = Tolerances()


def side(name, times):
    return SimpleNamespace(
        side=name, status="success", error_kind="", error="", run_times_ms=times, class_names=None
    )


def coverage(trials, seed=1):
    rng = random.Random(seed)  # noqa: S311 (simulation)
    rows = []
    for runs in (3, 5, 10):
        for sigma in (0.03, 0.10):
            for true_speedup in (1.0, 1.5):
                covered = 0
                verdicts = collections.Counter()
                for _ in range(trials):
                    base = rng.uniform(5_000, 60_000)
                    standard = [round(base * rng.lognormvariate(0, sigma)) for _ in range(runs)]
                    elide = [
                        round(base / true_speedup * rng.lognormvariate(0, sigma))
                        for _ in range(runs)
                    ]
                    verdict = judge(
                        side("standard", standard),
                        side("elide", elide),
                        tie_tolerance=TOLERANCES.tie,
                        parity_tolerance=TOLERANCES.parity,
                    )
                    low, high = verdict.ci95
                    covered += low <= true_speedup <= high
                    verdicts[verdict.verdict] += 1
                rows.append(
                    {
                        "runs": runs,
                        "noise": sigma,
                        "true": true_speedup,
                        "nominal": round(verdict.confidence, 3),
                        "coverage": round(covered / trials, 3),
                        "verdicts": {k: round(v / trials, 3) for k, v in sorted(verdicts.items())},
                    }
                )
    return rows


HOSTS = {
    # name: (noise sigma, slowdown of every run, share of runs hit by a burst)
    "quiet": (0.03, 1.0, 0.0),
    "steady load": (0.10, 1.4, 0.0),
    "bursty load": (0.03, 1.0, 0.25),
}
NOISE_RETRIES = 3


class SimulatedHost:
    """Run times of one race on a simulated host, with the noise rule: a run hit by a burst
    is flagged noisy and its pair is run again (up to NOISE_RETRIES times)."""

    def __init__(self, rng, host, true_speedup):
        self.rng, self.true = rng, true_speedup
        self.sigma, self.slowdown, self.bursts = HOSTS[host]
        self.base = rng.uniform(5_000, 60_000)
        self.spent = 0  # runs a side, re-runs included

    def _run(self, base):
        burst = self.rng.random() < self.bursts
        factor = self.rng.uniform(1.3, 2.0) if burst else 1.0
        return round(base * self.slowdown * factor * self.rng.lognormvariate(0, self.sigma)), burst

    def pair(self):
        for attempt in range(NOISE_RETRIES + 1):
            self.spent += 1
            (standard, noisy_s), (elide, noisy_e) = (
                self._run(self.base),
                self._run(self.base / self.true),
            )
            if not (noisy_s or noisy_e) or attempt == NOISE_RETRIES:
                return standard, elide
        raise AssertionError("unreachable")


def adaptive_race(host, max_runs=10):
    standard, elide = [], []
    while True:
        s, e = host.pair()
        standard.append(s)
        elide.append(e)
        if len(standard) >= 3:
            found = look(standard, elide, max_runs=max_runs, tie_tolerance=TOLERANCES.tie)
            if found.decided:
                return found.verdict, found.interval


def fixed_race(host, runs):
    pairs = [host.pair() for _ in range(runs)]
    verdict = judge(
        side("standard", [s for s, _ in pairs]),
        side("elide", [e for _, e in pairs]),
        tie_tolerance=TOLERANCES.tie,
        parity_tolerance=TOLERANCES.parity,
    )
    return verdict.verdict, verdict.ci95


def adaptive(trials, seed=1):
    rng = random.Random(seed)  # noqa: S311 (simulation)
    rows = []
    for host_name in HOSTS:
        for true in (1.0, 1.05, 1.2, 1.5, 2.0):
            for mode in ("3", "5", "10", "auto"):
                covered = winners = decided = spent = 0
                for _ in range(trials):
                    host = SimulatedHost(rng, host_name, true)
                    if mode == "auto":
                        verdict, interval = adaptive_race(host)
                    else:
                        verdict, interval = fixed_race(host, int(mode))
                    covered += interval[0] <= true <= interval[1]
                    winners += verdict in ("elide", "standard")
                    decided += verdict != "inconclusive"
                    spent += host.spent
                rows.append(
                    {
                        "host": host_name,
                        "true": true,
                        "runs": mode,
                        "coverage": round(covered / trials, 3),
                        "winner": round(winners / trials, 3),
                        "verdict reached": round(decided / trials, 3),
                        "mean runs a side": round(spent / trials, 2),
                    }
                )
    return rows


def headline_cost(races):
    database = Path(tempfile.mkdtemp()) / "headline.db"
    os.environ["DATABASE_PATH"] = str(database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "buildarena.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.core.management import call_command

    from jobs.demo.mock_data import seed_random_races
    from jobs.leaderboard.figures import totals
    from jobs.leaderboard.headline import headline, medians_from_every_speedup, medians_from_steps
    from jobs.leaderboard.per_repository import repository_statistics

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seed_random_races(races, seed=7)
    seeded = time.perf_counter() - started
    filters = {"include_demo": True}
    timings = {}
    for name, compute in (
        ("headline", lambda: headline(filters)),
        ("medians from the steps", lambda: medians_from_steps(filters)),
        ("medians from every speedup", lambda: medians_from_every_speedup(filters)),
        ("totals", lambda: totals(filters)),
        ("repository statistics", lambda: repository_statistics(filters)),
    ):
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            result = compute()
            samples.append((time.perf_counter() - started) * 1000)
        timings[name] = round(statistics.median(samples), 1)
        if name == "headline":
            timings["headline value"] = result
        if name.startswith("medians"):
            timings[name + " (repositories, races)"] = (len(result[0]), result[1])
    database.unlink()
    return {"races": races, "seed seconds": round(seeded, 1), "median ms of 5": timings}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["coverage", "headline", "adaptive"])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--races", type=int, default=100_000)
    args = parser.parse_args()
    if args.what == "coverage":
        for row in coverage(args.trials):
            print(json.dumps(row))
    elif args.what == "adaptive":
        for row in adaptive(args.trials):
            print(json.dumps(row))
    else:
        print(json.dumps(headline_cost(args.races), indent=1))


if __name__ == "__main__":
    main()
