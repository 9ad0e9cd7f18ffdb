"""The values a race's columns may hold: statuses, modes, verdicts, sides, error kinds.

Kept apart from the models so that code which only needs the names (the engine's recorder,
forms, templates, the legacy import) reads them without the models' weight; jobs.models
re-exports them, so `from jobs.models import JobStatus` keeps working. The strings themselves
come from jobs/outcomes/vocabulary.py, the one place the engine and the web agree on them.
"""

from django.db import models

from jobs.outcomes import labels, vocabulary


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = vocabulary.COMPLETED, "Completed"
    FAILED = vocabulary.FAILED, "Failed"
    CANCELLED = vocabulary.CANCELLED, "Cancelled"


FINISHED_JOB_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class RaceMode(models.TextChoices):
    SEQUENTIAL = "sequential", "Sequential (one side at a time)"
    PARALLEL = "parallel", "Parallel (both sides at once, pinned CPUs)"


class CacheMode(models.TextChoices):
    COLD = "cold", "Cold (every run downloads its dependencies)"
    WARM = "warm", "Warm (an unmeasured prepare step fills the cache first)"


class Scenario(models.TextChoices):
    CLEAN = "clean", "Clean build of a fresh checkout"
    NOOP = "noop", "No-op rebuild (nothing changed)"
    INCREMENTAL = "incremental", "Incremental rebuild after a one-line change"


def _sides(*more):
    """The two sides as choices (ELIDE = "elide", labelled "Elide"), then `more`."""
    return [(side.upper(), (side, side.title())) for side in vocabulary.SIDES] + list(more)


# A result row's side.
BuildType = models.TextChoices("BuildType", _sides(), module=__name__)
# A finished race's winner: a side, or neither.
Winner = models.TextChoices(
    "Winner",
    _sides(("TIE", (vocabulary.TIE, labels.OUTCOMES[vocabulary.TIE].label()))),
    module=__name__,
)


class Verdict(models.TextChoices):
    """A finished race's verdict (jobs/outcomes/verdict.py decides it), named as its outcome
    (jobs/outcomes/labels.py; a side's verdict without a speedup is that side's forfeit)."""

    ELIDE = vocabulary.ELIDE, labels.OUTCOMES[labels.ELIDE_WIN].label()
    STANDARD = vocabulary.STANDARD, labels.OUTCOMES[labels.STANDARD_WIN].label()
    TIE = vocabulary.TIE, labels.OUTCOMES[vocabulary.TIE].label()
    INCONCLUSIVE = vocabulary.INCONCLUSIVE, labels.OUTCOMES[vocabulary.INCONCLUSIVE].label()
    VOID = vocabulary.VOID, labels.OUTCOMES[vocabulary.VOID].label()
    NOT_COMPARABLE = vocabulary.NOT_COMPARABLE, labels.OUTCOMES[vocabulary.NOT_COMPARABLE].label()
    BOTH_FAILED = vocabulary.BOTH_FAILED, labels.OUTCOMES[vocabulary.BOTH_FAILED].label()


COUNTED_VERDICTS = vocabulary.COUNTED_VERDICTS


class ErrorKind(models.TextChoices):
    INFRASTRUCTURE = vocabulary.INFRASTRUCTURE, "Could not run"
    BUILD = vocabulary.BUILD, "Build failed"


class BuildStatus(models.TextChoices):
    SUCCESS = vocabulary.SUCCESS, "Success"
    FAILURE = vocabulary.FAILURE, "Failure"
    # Not in the seed's comment but used by the original app: the row exists (and its
    # output grows) from the start of the race; it turns success/failure when the side ends.
    PENDING = vocabulary.PENDING, "Pending"


def one_of(field, choices, name, *, null=False):
    """The CHECK constraint that keeps `field` to the values of `choices` (or NULL if `null`)."""
    condition = models.Q(**{f"{field}__in": choices.values})
    if null:
        condition = models.Q(**{f"{field}__isnull": True}) | condition
    return models.CheckConstraint(condition=condition, name=name)


def choice_column(choices, default, max_length, help_text):
    """A column holding one of `choices`, `default` both here and in the database (so rows
    written by code that predates the column get it too)."""
    return models.CharField(
        max_length=max_length,
        choices=choices,
        default=default,
        db_default=default,
        help_text=help_text,
    )
