"""Verdict and headline benchmark: does the interval cover, and what does the headline cost?

    .venv/bin/python benchmarks/verdicts.py coverage [--trials 2000]
    .venv/bin/python benchmarks/verdicts.py headline [--races 100000]

coverage: simulated races through jobs/outcomes/verdict.py (no builds): each side's run
times are a base time with lognormal noise (sigma 3% and 10%, the spread of real build runs)
for 3, 5 and 10 runs a side, as A/A races (true speedup 1.0) and A/B races (true 1.5). For
each: how often the interval contains the true speedup (its coverage), and the verdicts.

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

from jobs.outcomes.verdict import judge  # noqa: E402


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
                        tie_tolerance=0.01,
                        parity_tolerance=0.02,
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
    parser.add_argument("what", choices=["coverage", "headline"])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--races", type=int, default=100_000)
    args = parser.parse_args()
    if args.what == "coverage":
        for row in coverage(args.trials):
            print(json.dumps(row))
    else:
        print(json.dumps(headline_cost(args.races), indent=1))


if __name__ == "__main__":
    main()
