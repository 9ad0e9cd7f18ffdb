"""Races counted by outcome from plain rows, written apart from the application's counting
(jobs/leaderboard/figures.py, jobs/outcomes/labels.py), so that tests compare every page's
counts with one recount."""

COUNTED_NAMES = (
    "elide_wins",
    "standard_wins",
    "elide_forfeits",
    "standard_forfeits",
    "ties",
    "inconclusive",
    "both_failed",
)


def is_public(job):
    """Neither side ran an operator's custom command."""
    return job.standard_cmd is None and job.elide_cmd is None


def judged(job):
    """Completed, judged, public and not excluded: counted, void or not comparable."""
    return job.status == "completed" and job.verdict and not job.excluded_reason and is_public(job)


def count_name(job):
    """The name of the count a judged race adds one to."""
    if job.verdict in ("elide", "standard"):
        kind = "wins" if job.speedup is not None else "forfeits"
        return f"{job.verdict}_{kind}"
    return {"tie": "ties"}.get(job.verdict, job.verdict)


def recount(jobs):
    """{races, elide_wins, ..., forfeits, void, not_comparable, measured, win_rate} of the
    judged races among `jobs` (any iterable of Job rows)."""
    counts = dict.fromkeys((*COUNTED_NAMES, "void", "not_comparable"), 0)
    measured = 0
    for job in jobs:
        if judged(job):
            name = count_name(job)
            counts[name] += 1
            measured += name in COUNTED_NAMES and job.speedup is not None
    counts["races"] = sum(counts[name] for name in COUNTED_NAMES)
    counts["forfeits"] = counts["elide_forfeits"] + counts["standard_forfeits"]
    counts["measured"] = measured
    counts["win_rate"] = counts["elide_wins"] / measured if measured else None
    return counts
