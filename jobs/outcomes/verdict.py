"""The one place that turns two sides' results into a speedup, its interval and a verdict.

Pure Python with no Django import (like jobs/outcomes/vocabulary.py), so that the engine, which
computes each race's verdict, and the leaderboard, which bootstraps the headline, share it
while the apps keep depending one way (workers on jobs).

Speedup: the Hodges-Lehmann estimate on log times, exp(median of log(s_i) - log(e_j)) over
every pair of a standard run s_i and an elide run e_j (2.0 = elide twice as fast). With one
run a side it is simply standard / elide.

Interval: the distribution-free Mann-Whitney interval that goes with it (as gradle-profiler
reports): the k-th smallest and k-th largest pairwise log ratio, with k the largest rank
whose exact coverage, 1 - 2 P(U < k), is at least 95%. Nothing is assumed about the shape of
the run times. Few runs limit what any honest interval can claim: with 3 runs a side the
widest interval (all pairwise ratios) covers 90%, with 4 runs 97%; with fewer than 3 runs on
either side there is no interval at all (`ci95` is None) and `confidence` says what it is.

Verdict, with t = the tie tolerance (ARENA_TIE_TOLERANCE) and the tie band [1 - t, 1 / (1 - t)]:
- void: a side could not run (infrastructure error): never a win, never counted.
- not_comparable: both sides built, but their jars differ by more than the parity tolerance
  (class names, class-file major versions, resource entries), or a side produced no jar at
  all: the two builds did not do the same work.
- one side failed its build (it ran and failed): the other side wins by forfeit when it
  produced a jar; no speedup. Both failed: both_failed, an outcome of its own. The other side
  has no jar: inconclusive.
A side with no jar never wins, operator commands included.
- an interval exists: if it lies inside the tie band, tie; if it excludes 1.0, the faster side
  wins (tie when the estimate itself is inside the band: a real but negligible difference);
  otherwise (it straddles 1.0 and reaches outside the band) inconclusive.
- no interval (fewer than 3 runs a side): the estimate decides, tie inside the band; with one
  run on a side nobody wins (tie inside the band, else inconclusive).
So an A/A race comes out tie (when its runs are steady) or inconclusive (when they are too
noisy to say), and only an interval that excludes 1.0 names a winner among many runs.
"""

import math
import random
from dataclasses import dataclass, field
from functools import lru_cache

from jobs.outcomes.vocabulary import (
    BOTH_FAILED,
    COUNTED_VERDICTS,
    ELIDE,
    INCONCLUSIVE,
    INFRASTRUCTURE,
    NOT_COMPARABLE,
    STANDARD,
    SUCCESS,
    TIE,
    VOID,
    WINNERS,
)

CONFIDENCE = 0.95
# Exact Mann-Whitney distributions are used up to this many pairs, a normal approximation above.
EXACT_PAIRS_LIMIT = 2500


@dataclass(frozen=True)
class Tolerances:
    """How close two sides' times must be to tie, and the share by which their jars may differ
    and still be compared. Their defaults live here, with the rules that use them; the
    ARENA_TIE_TOLERANCE and ARENA_PARITY_TOLERANCE settings change them."""

    tie: float = 0.01
    parity: float = 0.02

    @classmethod
    def from_settings(cls, settings):
        """The tolerances the operator chose (django.conf.settings, already validated)."""
        return cls(tie=settings.ARENA_TIE_TOLERANCE, parity=settings.ARENA_PARITY_TOLERANCE)


@dataclass(frozen=True)
class Verdict:
    verdict: str
    speedup: float | None = None
    ci95: tuple | None = None
    # The interval's exact coverage (0.95 or more; 0.90 with 3 runs a side), None without one.
    confidence: float | None = None
    void_reason: str = ""
    # Jar comparison when both sides built: {"difference", "standardOnly", "elideOnly",
    # "examples", "versionMismatches", "resourceDifferences", "reason"}.
    parity: dict | None = field(default=None, compare=False)

    @property
    def winner(self):
        """The stored winner column: a side or tie; None when nobody won."""
        return self.verdict if self.verdict in WINNERS else None

    @property
    def counted(self):
        return self.verdict in COUNTED_VERDICTS


def void(reason):
    return Verdict(VOID, void_reason=reason)


def _log_ratios(standard_ms, elide_ms):
    return sorted(
        math.log(max(float(s), 1.0)) - math.log(max(float(e), 1.0))
        for s in standard_ms
        for e in elide_ms
    )


def _median(sorted_values):
    n = len(sorted_values)
    middle = n // 2
    if n % 2:
        return sorted_values[middle]
    return (sorted_values[middle - 1] + sorted_values[middle]) / 2


@lru_cache(maxsize=256)
def _mann_whitney_cdf(n, m):
    """P(U <= u) for u = 0..n*m under the null hypothesis, exactly (counts by recursion)."""
    # counts[i][j] = distribution of U for sample sizes i and j, built up one run at a time.
    previous = [[1] for _ in range(m + 1)]  # i = 0: U is 0 whatever j
    for _ in range(n):
        current = [[1]]  # j = 0
        for j in range(1, m + 1):
            # The largest of i + j values is from the first sample (adds j to U) or not.
            with_first = [0] * j + previous[j]
            without = current[j - 1]
            size = max(len(with_first), len(without))
            current.append(
                [
                    (with_first[u] if u < len(with_first) else 0)
                    + (without[u] if u < len(without) else 0)
                    for u in range(size)
                ]
            )
        previous = current
    counts = previous[m]
    total = math.comb(n + m, n)
    cdf, running = [], 0
    for count in counts:
        running += count
        cdf.append(running / total)
    return tuple(cdf)


def _interval_rank(n, m, confidence=CONFIDENCE):
    """(k, coverage): the interval is the k-th smallest to k-th largest pairwise difference."""
    pairs = n * m
    if pairs <= EXACT_PAIRS_LIMIT:
        cdf = _mann_whitney_cdf(n, m)
        k = 1
        while k < pairs and 1 - 2 * cdf[k] >= confidence:
            k += 1
        return k, 1 - 2 * (cdf[k - 1] if k > 1 else cdf[0])
    # Normal approximation of U (many runs: not reachable from the form, kept for the CLI).
    z = 1.959963984540054
    mean, sd = pairs / 2, math.sqrt(n * m * (n + m + 1) / 12)
    k = max(1, math.floor(mean - z * sd))
    return k, confidence


def speedup_interval(standard_ms, elide_ms):
    """(speedup, (low, high) or None, coverage or None) from the two sides' run times."""
    if not standard_ms or not elide_ms:
        return None, None, None
    ratios = _log_ratios(standard_ms, elide_ms)
    estimate = math.exp(_median(ratios))
    n, m = len(standard_ms), len(elide_ms)
    if min(n, m) < 3:
        return estimate, None, None
    k, coverage = _interval_rank(n, m)
    low, high = math.exp(ratios[k - 1]), math.exp(ratios[len(ratios) - k])
    return estimate, (low, high), coverage


def in_tie_band(ratio, tolerance):
    """Whether a speedup is too close to 1 to name a faster side: [1 - t, 1 / (1 - t)]."""
    return (1 - tolerance) <= ratio <= 1 / (1 - tolerance)


def _faster(ratio):
    return ELIDE if ratio > 1 else STANDARD


def class_parity(standard_classes, elide_classes, *, examples=5):
    """How far two sets of class names differ: |symmetric difference| / |union|."""
    union = standard_classes | elide_classes
    standard_only = sorted(standard_classes - elide_classes)
    elide_only = sorted(elide_classes - standard_classes)
    difference = (len(standard_only) + len(elide_only)) / len(union) if union else 0.0
    return {
        "difference": round(difference, 4),
        "standardOnly": len(standard_only),
        "elideOnly": len(elide_only),
        "examples": (standard_only + elide_only)[:examples],
    }


def jar_parity(standard, elide, *, examples=5):
    """How far two sides' jars differ: class names, then the class-file major version of each
    class both have, then resource entries; the share of the compared items that differ."""
    parity = class_parity(standard.class_names or set(), elide.class_names or set())
    standard_versions = getattr(standard, "class_versions", None) or {}
    elide_versions = getattr(elide, "class_versions", None) or {}
    mismatched = sorted(
        name
        for name in standard_versions.keys() & elide_versions.keys()
        if standard_versions[name] != elide_versions[name]
    )
    standard_resources = getattr(standard, "resources", None) or set()
    elide_resources = getattr(elide, "resources", None) or set()
    resources_differ = sorted(standard_resources ^ elide_resources)
    compared = len((standard.class_names or set()) | (elide.class_names or set())) + len(
        standard_resources | elide_resources
    )
    differing = parity["standardOnly"] + parity["elideOnly"] + len(mismatched)
    differing += len(resources_differ)
    parity["difference"] = round(differing / compared, 4) if compared else 0.0
    parity["versionMismatches"] = len(mismatched)
    parity["resourceDifferences"] = len(resources_differ)
    parity["examples"] = (parity["examples"] + resources_differ)[:examples]
    reasons = []
    if mismatched:
        name = mismatched[0]
        reasons.append(
            f"{len(mismatched)} classes compiled for another Java level (e.g. {name}: "
            f"class-file version {standard_versions[name]} in the standard build, "
            f"{elide_versions[name]} in Elide's)"
        )
    if parity["standardOnly"] or parity["elideOnly"]:
        reasons.append(
            f"{parity['standardOnly']} classes only in the standard build, "
            f"{parity['elideOnly']} only in Elide's"
        )
    if resources_differ:
        reasons.append(f"{len(resources_differ)} resource entries in one build only")
    parity["reason"] = "; ".join(reasons)
    return parity


def has_no_jar(side):
    """True when a side is known to have produced no jar (its `artifacts` count none)."""
    artifacts = getattr(side, "artifacts", None)
    return isinstance(artifacts, dict) and not artifacts.get("files")


def _no_jar_parity(*sides):
    names = " and ".join(f"the {side.side} side" for side in sides)
    return {"difference": 1.0, "standardOnly": 0, "elideOnly": 0, "examples": [],
            "reason": f"{names} produced no jar"}  # fmt: skip


def judge(standard, elide, *, tie_tolerance, parity_tolerance):
    """The verdict of a race from its two sides.

    Each side has `status` ("success"/"failure"), `error_kind`, `error`, `run_times_ms` and
    `class_names` (a set, or None when not known); optionally `class_versions`, `resources`
    and `artifacts` (None when not known). Pure: the same inputs give the same verdict.
    """
    for side in (elide, standard):
        if side.error_kind == INFRASTRUCTURE:
            return void(side.error or f"the {side.side} side could not run")
    standard_ok, elide_ok = standard.status == SUCCESS, elide.status == SUCCESS
    if not (standard_ok and elide_ok):
        if standard_ok and not has_no_jar(standard):
            return Verdict(STANDARD)
        if elide_ok and not has_no_jar(elide):
            return Verdict(ELIDE)
        return Verdict(INCONCLUSIVE if standard_ok or elide_ok else BOTH_FAILED)
    jarless = [side for side in (standard, elide) if has_no_jar(side)]
    if jarless:
        return Verdict(NOT_COMPARABLE, parity=_no_jar_parity(*jarless))
    parity = None
    if standard.class_names and elide.class_names:
        parity = jar_parity(standard, elide)
        if parity["difference"] > parity_tolerance:
            return Verdict(NOT_COMPARABLE, parity=parity)
    estimate, interval, coverage = speedup_interval(standard.run_times_ms, elide.run_times_ms)
    if interval is None:
        one_run = min(len(standard.run_times_ms), len(elide.run_times_ms)) < 2
        if in_tie_band(estimate, tie_tolerance):
            verdict = TIE
        else:  # one run a side says nothing about noise: never a winner
            verdict = INCONCLUSIVE if one_run else _faster(estimate)
    else:
        low, high = interval
        if in_tie_band(low, tie_tolerance) and in_tie_band(high, tie_tolerance):
            verdict = TIE
        elif low > 1 or high < 1:
            verdict = TIE if in_tie_band(estimate, tie_tolerance) else _faster(estimate)
        else:
            verdict = INCONCLUSIVE
    return Verdict(verdict, estimate, interval, coverage, parity=parity)


def bootstrap_interval(values, statistic, *, resamples=2000, seed=0, confidence=CONFIDENCE):
    """Percentile bootstrap interval of `statistic` over `values`, with a seeded generator so
    that the same values always give the same interval."""
    values = list(values)
    if len(values) < 2:
        return None
    rng = random.Random(seed)  # noqa: S311 (reproducible resampling, not secrets)
    n = len(values)
    estimates = sorted(statistic(rng.choices(values, k=n)) for _ in range(resamples))
    tail = (1 - confidence) / 2
    low = estimates[math.floor(tail * (resamples - 1))]
    high = estimates[math.ceil((1 - tail) * (resamples - 1))]
    return low, high
