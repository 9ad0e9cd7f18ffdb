"""Did a repository's speedup change between two toolchain versions? Decided from the runs of
both races, not from their two medians.

Pure Python, no Django: the rule is tested on simulated run times (tests/suites/).

A race's log speedup is mean(log standard runs) - mean(log elide runs). The change between
an old race and a new one is the difference of the two log speedups; its standard error adds
the four groups' variances of log times over their sizes, and its 95% interval uses
Student's t with the Welch-Satterthwaite degrees of freedom. Reported as a relative change of
the speedup, exp(d) - 1 (-0.23: the new version's speedup is 23% lower).

A regression is a drop whose whole interval lies below no change and whose estimate is lower
than -threshold (ARENA_REGRESSION_THRESHOLD, 5%); an improvement the same upwards. Anything
else, including a change too small to matter or too noisy to tell, raises nothing.
"""

import math
from dataclasses import dataclass

from jobs.outcomes.student import t_quantile

CONFIDENCE = 0.95
REGRESSION = "regression"
IMPROVEMENT = "improvement"


@dataclass(frozen=True)
class Change:
    change: float  # relative change of the speedup, new / old - 1
    ci95: tuple  # (low, high) of the same
    kind: str | None  # REGRESSION, IMPROVEMENT or None


def _log_group(times_ms):
    logs = [math.log(t) for t in times_ms if t and t > 0]
    n = len(logs)
    mean = sum(logs) / n
    variance = sum((x - mean) ** 2 for x in logs) / (n - 1)
    return mean, variance, n


def compare(old, new, *, threshold):
    """The Change from race `old` to race `new`, each a pair (standard runs, elide runs) of run
    times in ms, or None when a side has fewer than two runs (no spread, no interval)."""
    groups = [*old, *new]
    if any(len([t for t in g if t and t > 0]) < 2 for g in groups):
        return None
    (s0, vs0, ns0), (e0, ve0, ne0), (s1, vs1, ns1), (e1, ve1, ne1) = map(_log_group, groups)
    difference = (s1 - e1) - (s0 - e0)
    parts = [vs0 / ns0, ve0 / ne0, vs1 / ns1, ve1 / ne1]
    sizes = [ns0, ne0, ns1, ne1]
    se2 = sum(parts)
    if se2 == 0:
        low = high = difference
    else:
        df = se2**2 / sum(p**2 / (n - 1) for p, n in zip(parts, sizes, strict=True) if p > 0)
        # df rounded down to 0.01: a slightly wider interval, and a quantile computed once.
        half = t_quantile(1 - (1 - CONFIDENCE) / 2, math.floor(df * 100) / 100) * math.sqrt(se2)
        low, high = difference - half, difference + half
    change = math.expm1(difference)
    ci = (math.expm1(low), math.expm1(high))
    kind = None
    if ci[1] < 0 and change < -threshold:
        kind = REGRESSION
    elif ci[0] > 0 and change > threshold:
        kind = IMPROVEMENT
    return Change(change=change, ci95=ci, kind=kind)
