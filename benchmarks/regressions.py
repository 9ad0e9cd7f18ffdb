"""The regression rule's error rates on simulated run times (suites/regressions.py).

    .venv/bin/python benchmarks/regressions.py [--trials 2000] [--seed 1]

Each trial simulates two races of one repository, an old version's and a new one's, each with
`runs` measured runs a side whose times are a base time with lognormal noise. For a true
change of 0% (nothing changed), -10%, -20% and +20% it reports how often the rule names a
regression or an improvement: the false alarm rate, then the power, per number of runs and
noise.
"""

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from suites.regressions import IMPROVEMENT, REGRESSION, compare

CHANGES = (0.0, -0.10, -0.20, 0.20)
THRESHOLD = 0.05


def race(rng, speedup, runs, noise):
    standard = [10_000 * speedup * rng.lognormvariate(0, noise) for _ in range(runs)]
    elide = [10_000 * rng.lognormvariate(0, noise) for _ in range(runs)]
    return standard, elide


def rates(rng, *, change, runs, noise, trials):
    found = {REGRESSION: 0, IMPROVEMENT: 0}
    for _ in range(trials):
        result = compare(
            race(rng, 2.0, runs, noise), race(rng, 2.0 * (1 + change), runs, noise),
            threshold=THRESHOLD,
        )  # fmt: skip
        if result.kind:
            found[result.kind] += 1
    return {kind: count / trials for kind, count in found.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311 (simulated run times, not secrets)
    print(f"threshold {THRESHOLD:.0%}, {args.trials} trials each")
    print("runs  noise  change  regression  improvement")
    for runs in (3, 5, 10):
        for noise in (0.03, 0.10):
            for change in CHANGES:
                found = rates(rng, change=change, runs=runs, noise=noise, trials=args.trials)
                print(
                    f"{runs:>4}  {noise:>5.0%}  {change:>+6.0%}  {found[REGRESSION]:>10.1%}  "
                    f"{found[IMPROVEMENT]:>11.1%}"
                )


if __name__ == "__main__":
    main()
