"""The two sides of a race and the names of how a side, a race and an assignment end.

Defined once, as plain strings with no Django import, so that the engine (workers/engine,
which has no ORM) shares them with the models, the recorder, the scheduler and the pages.
"""

ELIDE = "elide"
STANDARD = "standard"
# The sides as the pages, the live poll and the exports list them: Elide first.
SIDES = (ELIDE, STANDARD)
# The same sides with the baseline (the standard build) first: the side a sequential race
# starts its first iteration with, and the order `manage.py race` and the recorder use.
BASELINE_FIRST = (STANDARD, ELIDE)

# How a side ends (build_results.status); it is PENDING until then.
SUCCESS = "success"
FAILURE = "failure"
PENDING = "pending"

# How a race ends: the job's final status, and what the engine and run_job report.
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
# The worker stopped the race (shutdown) and the job went back to the queue.
INTERRUPTED = "interrupted"

# The winner when neither side is clearly faster (jobs.winner holds a side's name or this).
TIE = "tie"

# A finished race's verdict (jobs/outcomes/verdict.py decides it): a side, TIE, or one of these.
INCONCLUSIVE = "inconclusive"  # the interval straddles 1.0: too close to call
VOID = "void"  # a side could not run (infrastructure error)
NOT_COMPARABLE = "not_comparable"  # the two sides' class sets differ
BOTH_FAILED = "both_failed"  # both sides ran their builds and both failed
# Verdicts of races the leaderboard counts (void and not comparable never count).
COUNTED_VERDICTS = (ELIDE, STANDARD, TIE, INCONCLUSIVE, BOTH_FAILED)
WINNERS = (ELIDE, STANDARD, TIE)

# How a failed side failed: it could not run at all, or its build ran and failed.
INFRASTRUCTURE = "infrastructure"
BUILD = "build"


def measured_ms(duration_ms, duration):
    """A side's time in milliseconds: the measured median, else the seed's whole seconds."""
    return duration_ms if duration_ms is not None else duration * 1000
