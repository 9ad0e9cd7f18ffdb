"""Adaptive runs ("auto"): add alternating pairs of runs until the verdict is clear, with an
interval that stays honest although the number of runs depends on the data.

Pure Python with no Django, like jobs/outcomes/verdict.py.

Looks: after FIRST_LOOK runs a side, and after every further pair, up to `max_runs` a side.
At look k the interval of the log speedup (mean log standard time - mean log Elide time) is
Welch's t interval at confidence 1 - alpha_k, where the error rate 0.05 is spent over the
looks in equal parts (a Bonferroni, or Pocock-like, spending schedule): whatever rule decides
when to stop, the probability that any look's interval misses the true speedup is at most
0.05, so the interval reported at the stopping look covers at least 95% (an optional-stopping
guarantee; docs/ENGINE.md, "Adaptive runs").

The verdict at a look follows the fixed-run rule with that interval: inside the tie band, a
tie; excluding 1.0, the faster side (a tie when the estimate itself is inside the band);
otherwise undecided, and another pair is run while the budget allows. At the last look an
undecided race is inconclusive.
"""

import math
from dataclasses import dataclass

from jobs.outcomes.student import t_quantile
from jobs.outcomes.vocabulary import ELIDE, INCONCLUSIVE, STANDARD, TIE

ALPHA = 0.05
FIRST_LOOK = 3


@dataclass(frozen=True)
class Look:
    runs: int  # runs a side at this look
    speedup: float
    interval: tuple  # (low, high) speedup
    confidence: float  # this look's own level, 1 - alpha_k
    verdict: str | None  # ELIDE, STANDARD, TIE; None while undecided (INCONCLUSIVE at the end)

    @property
    def decided(self):
        return self.verdict is not None


def looks_allowed(max_runs):
    """How many looks a race of at most `max_runs` runs a side can have."""
    return max(1, max_runs - FIRST_LOOK + 1)


def look(standard_ms, elide_ms, *, max_runs, tie_tolerance, final=False):
    """The state of an adaptive race after its runs so far (equal numbers a side, at least
    FIRST_LOOK): its estimate, this look's interval and whether the verdict is decided.
    `final`: no more runs will come (the budget is spent): undecided is inconclusive."""
    runs = min(len(standard_ms), len(elide_ms))
    if runs < FIRST_LOOK:
        raise ValueError(f"an adaptive race looks first after {FIRST_LOOK} runs a side")
    confidence = 1 - ALPHA / looks_allowed(max_runs)
    s = [math.log(max(float(t), 1.0)) for t in standard_ms]
    e = [math.log(max(float(t), 1.0)) for t in elide_ms]
    estimate = _mean(s) - _mean(e)
    vs, ve = _variance(s) / len(s), _variance(e) / len(e)
    se = math.sqrt(vs + ve)
    if se == 0:
        low = high = estimate
    else:
        df = (vs + ve) ** 2 / sum(v**2 / (len(x) - 1) for v, x in ((vs, s), (ve, e)) if v > 0)
        half = t_quantile(1 - (1 - confidence) / 2, math.floor(df * 100) / 100) * se
        low, high = estimate - half, estimate + half
    interval = (math.exp(low), math.exp(high))
    speedup = math.exp(estimate)
    verdict = _decide(speedup, interval, tie_tolerance)
    if verdict is None and (runs >= max_runs or final):
        verdict = INCONCLUSIVE
    return Look(runs, speedup, interval, confidence, verdict)


def _decide(speedup, interval, tolerance):
    low, high = interval
    band_low, band_high = 1 - tolerance, 1 / (1 - tolerance)
    if band_low <= low and high <= band_high:
        return TIE
    if low > 1 or high < 1:
        if band_low <= speedup <= band_high:
            return TIE
        return ELIDE if speedup > 1 else STANDARD
    return None


def _mean(values):
    return sum(values) / len(values)


def _variance(values):
    mean = _mean(values)
    return sum((x - mean) ** 2 for x in values) / (len(values) - 1)
