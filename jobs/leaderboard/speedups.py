"""How the leaderboard sorts speedups: the chart's bins and the plausibility bound.

One definition for the figures read from `jobs` (jobs/leaderboard/ranking.py) and for the summary
rows that count the same races (jobs/leaderboard/summary_in_step.py).
"""

from django.conf import settings
from django.db.models import Q

# Histogram bins of the speedup chart: (lower bound inclusive, upper bound exclusive, label).
SPEEDUP_BINS = (
    (0.0, 0.8, "<0.8\u00d7"),
    (0.8, 0.95, "0.8\u20130.95"),
    (0.95, 1.05, "\u22481\u00d7"),
    (1.05, 1.25, "1.05\u20131.25"),
    (1.25, 1.5, "1.25\u20131.5"),
    (1.5, 2.0, "1.5\u20132\u00d7"),
    (2.0, 3.0, "2\u20133\u00d7"),
    (3.0, 5.0, "3\u20135\u00d7"),
    (5.0, None, "\u22655\u00d7"),
)


def bin_index(speedup):
    """The chart bin of a speedup (None for none)."""
    if speedup is None:
        return None
    for index, (low, high, _) in enumerate(SPEEDUP_BINS):
        if speedup >= low and (high is None or speedup < high):
            return index
    return None


def bin_condition(low, high):
    condition = Q(speedup__gte=low)
    if high is not None:
        condition &= Q(speedup__lt=high)
    return condition


def plausible(speedup):
    bound = settings.ARENA_PLAUSIBLE_SPEEDUP
    return 1 / bound <= speedup <= bound


def flagged_condition():
    """Races beyond the plausibility bound: kept on the board, marked, off the headline."""
    bound = settings.ARENA_PLAUSIBLE_SPEEDUP
    return Q(speedup__gt=bound) | Q(speedup__lt=1 / bound)
