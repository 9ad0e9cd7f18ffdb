"""The `leaderboard_summary` and `leaderboard_speedup_steps` tables: the leaderboard's figures,
kept per group of races.

One row per (UTC day, repository, demo or real, scenario, cache, verdict, measured or not)
holds the counts, sums and extremes of the completed, not excluded races of that group, and
one more per group with `day` = EVERY_DAY counts them over every day together, so
that the totals, the speedup chart and the per-repository figures are small aggregates over
these rows instead of scans of `jobs`. jobs/leaderboard/summary_in_step.py keeps the rows in
step, in the same transaction as every write of `jobs` (jobs/models/job_writes.py), and
jobs/leaderboard/summary_rebuild.py rebuilds them.
"""

from django.db import models

from jobs.fields import UnixTimestampField

# The group a race belongs to: every filter the leaderboard offers reads one of these.
SUMMARY_KEY = (
    "day",
    "repository_name",
    "is_mock",
    "scenario",
    "cache",
    "verdict",
    "measured",
)
# How many bins the speedup chart has (jobs.leaderboard.ranking.SPEEDUP_BINS).
SPEEDUP_BIN_COUNT = 9
SPEEDUP_BIN_COLUMNS = tuple(f"speedup_bin_{index}" for index in range(SPEEDUP_BIN_COUNT))
# Added up when a race joins a group, subtracted when it leaves.
SUMMARY_COUNTS = (
    "races",
    "elide_wins",
    "standard_wins",
    "ties",
    "flagged",
    *SPEEDUP_BIN_COLUMNS,
    "elide_success_count",
    "elide_success_ms_total",
    "standard_success_count",
    "standard_success_ms_total",
)
# Extremes: widened when a race joins, recounted from `jobs` when one leaves.
SUMMARY_HIGHEST = ("best_speedup", "last_race")
SUMMARY_LOWEST = ("best_elide_ms", "best_standard_ms")


def _count():
    return models.BigIntegerField(default=0)


class RaceKindColumns(models.Model):
    """What both summary tables count races apart by, besides repository and day: demo or
    real, and the kind of race (jobs.leaderboard.ranking.demo_and_kind filters either table on
    them)."""

    is_mock = models.BooleanField()
    scenario = models.CharField(max_length=16, default="clean")
    cache = models.CharField(max_length=8, default="warm")

    class Meta:
        abstract = True


class LeaderboardSummary(RaceKindColumns):
    """Figures of one group of counted races (see the module docstring and SUMMARY_KEY)."""

    day = UnixTimestampField(
        help_text="Midnight UTC of the day the races were created; EVERY_DAY: every day."
    )
    repository_name = models.TextField()
    verdict = models.CharField(max_length=16)
    measured = models.BooleanField(help_text="The races have a speedup (both sides built).")
    races = _count()
    elide_wins = _count()
    standard_wins = _count()
    ties = _count()
    flagged = _count()
    speedup_bin_0 = _count()
    speedup_bin_1 = _count()
    speedup_bin_2 = _count()
    speedup_bin_3 = _count()
    speedup_bin_4 = _count()
    speedup_bin_5 = _count()
    speedup_bin_6 = _count()
    speedup_bin_7 = _count()
    speedup_bin_8 = _count()
    elide_success_count = _count()
    elide_success_ms_total = _count()
    standard_success_count = _count()
    standard_success_ms_total = _count()
    best_speedup = models.FloatField(null=True)
    best_elide_ms = models.BigIntegerField(null=True)
    best_standard_ms = models.BigIntegerField(null=True)
    last_race = UnixTimestampField(null=True)

    class Meta:
        db_table = "leaderboard_summary"
        constraints = [
            models.UniqueConstraint(fields=SUMMARY_KEY, name="leaderboard_summary_key"),
        ]

    def __str__(self):
        return f"{self.repository_name} {self.day:%Y-%m-%d} {self.verdict}: {self.races}"


# Speedups counted per 1/SPEEDUP_STEPS-wide step: how the median is found among a million
# races by reading one step's races instead of half of them.
SPEEDUP_STEPS = 200
SPEEDUP_STEP_KEY = ("repository_name", "day", "is_mock", "scenario", "cache", "step")
# The `repository_name` of the steps of every repository together.
EVERY_REPOSITORY = ""
# The `day` of the rows that count every day together (no day starts at -1: day starts are
# multiples of DAY_SECONDS).
EVERY_DAY = -1
DAY_SECONDS = 86400


class SpeedupStepCount(RaceKindColumns):
    """How many counted races with a speedup fall in one step (floor(speedup * 200)), per
    demo/real, scenario and cache; over every day (EVERY_DAY) per repository and for every
    repository together (EVERY_REPOSITORY), and per UTC day for every repository together:
    the finer histogram behind the median speedup (jobs/leaderboard/speedup_steps.py)."""

    repository_name = models.TextField(default=EVERY_REPOSITORY, blank=True)
    day = UnixTimestampField(
        default=EVERY_DAY,
        help_text="Midnight UTC of the day the races were created; EVERY_DAY: every day.",
    )
    step = models.IntegerField(help_text="floor(speedup * 200)")
    races = models.BigIntegerField(default=0)

    class Meta:
        db_table = "leaderboard_speedup_steps"
        constraints = [
            models.UniqueConstraint(fields=SPEEDUP_STEP_KEY, name="leaderboard_speedup_step_key"),
        ]
        indexes = [
            # The median's step (jobs/leaderboard/figures.py): SELECT step, SUM(races) ...
            # WHERE repository_name = '' AND day >= %s ... GROUP BY step, read from the index
            # alone (a month's per-day steps are tens of thousands of rows at a million races).
            models.Index(fields=[*SPEEDUP_STEP_KEY, "races"], name="leaderboard_steps_races_idx"),
        ]

    def __str__(self):
        return f"step {self.step}: {self.races}"
