"""How every surface names a race's outcome: one name, one colour, one sentence each.

The race page, the lists, the leaderboard, the repository page, the booth, the share card,
the badge, the admin, the API and the exports all read these (no Django import, so the
share card and the exports use the same data as the templates). An outcome follows from a
race's stored columns alone (`outcome_key`), so a count by outcome and a label by outcome
can never disagree: the leaderboard's summary rows are grouped by the same two columns
(verdict, measured) that decide it. The verdicts themselves are jobs/outcomes/vocabulary.py's.

"{standard}" in a name or sentence is the standard side's tool (Maven, Gradle).
"""

from dataclasses import dataclass

from jobs.outcomes.vocabulary import (
    BOTH_FAILED,
    CANCELLED,
    COMPLETED,
    ELIDE,
    FAILED,
    INCONCLUSIVE,
    NOT_COMPARABLE,
    STANDARD,
    TIE,
    VOID,
)

STANDARD_TOOL = "Standard"


@dataclass(frozen=True)
class Outcome:
    key: str
    name: str
    sentence: str
    # The colour of the outcome on every surface (CSS: .outcome-KEY; the share card's bar).
    colour: str
    # Whether a race with this outcome counts on the public leaderboard.
    counted: bool = False

    @property
    def css(self):
        return f"outcome-{self.key.replace('_', '-')}"

    def label(self, standard=STANDARD_TOOL):
        return self.name.format(standard=standard or STANDARD_TOOL)

    def describe(self, standard=STANDARD_TOOL):
        return self.sentence.format(standard=standard or STANDARD_TOOL)


ELIDE_COLOUR = "#b69cff"
STANDARD_COLOUR = "#ffb454"
NEUTRAL_COLOUR = "#94a3b8"

QUEUED = "queued"
RUNNING = "running"
ELIDE_WIN = "elide_win"
STANDARD_WIN = "standard_win"
ELIDE_FORFEIT = "elide_forfeit"
STANDARD_FORFEIT = "standard_forfeit"
EXCLUDED = "excluded"
OPERATOR_RACE = "operator_race"

_ALL = (
    Outcome(QUEUED, "Queued", "Waiting for a worker to start the race.", "#cbd5e1"),
    Outcome(RUNNING, "Running", "Both builds are being raced now.", "#bef264"),
    Outcome(
        ELIDE_WIN,
        "Elide wins",
        "Both sides built and Elide was measurably faster.",
        ELIDE_COLOUR,
        counted=True,
    ),
    Outcome(
        STANDARD_WIN,
        "{standard} wins",
        "Both sides built and {standard} was measurably faster.",
        STANDARD_COLOUR,
        counted=True,
    ),
    Outcome(
        ELIDE_FORFEIT,
        "Elide wins by forfeit",
        "{standard}'s build failed and Elide's built: a forfeit, not a measured speedup.",
        "#ddd0ff",
        counted=True,
    ),
    Outcome(
        STANDARD_FORFEIT,
        "{standard} wins by forfeit",
        "Elide's build failed and {standard}'s built: a forfeit, not a measured speedup.",
        "#ffe2b8",
        counted=True,
    ),
    Outcome(
        TIE,
        "Tie",
        "Both sides finished within the tie tolerance.",
        "#93c5fd",
        counted=True,
    ),
    Outcome(
        INCONCLUSIVE,
        "Inconclusive",
        "The interval straddles 1.00\u00d7: too close to name a winner; more runs would narrow it.",
        "#5eead4",
        counted=True,
    ),
    Outcome(
        BOTH_FAILED,
        "Both failed",
        "Both builds ran and failed: nothing was measured.",
        "#f87171",
        counted=True,
    ),
    Outcome(
        VOID,
        "Void",
        "A side could not run (the arena's problem, not the build's): never a win, never counted.",
        NEUTRAL_COLOUR,
    ),
    Outcome(
        NOT_COMPARABLE,
        "Not comparable",
        "The two builds produced different classes: not the same work, never counted.",
        "#fda4af",
    ),
    Outcome(
        CANCELLED,
        "Cancelled",
        "Stopped before it finished; never counted.",
        NEUTRAL_COLOUR,
    ),
    Outcome(
        EXCLUDED,
        "Excluded",
        "An admin kept this race off the leaderboard.",
        NEUTRAL_COLOUR,
    ),
    Outcome(
        OPERATOR_RACE,
        "Operator race",
        "Run with an operator's custom command: never counted on the public leaderboard.",
        NEUTRAL_COLOUR,
    ),
)
OUTCOMES = {outcome.key: outcome for outcome in _ALL}
# The outcomes the leaderboard counts, in the order the pages list them.
COUNTED_OUTCOMES = tuple(outcome.key for outcome in _ALL if outcome.counted)
# The outcomes a count reports (the counted ones and the two finished ones never counted).
TALLIED_OUTCOMES = (*COUNTED_OUTCOMES, VOID, NOT_COMPARABLE)


def judged_outcome(verdict, measured):
    """The outcome of a judged race from its verdict and whether it has a speedup: a side's
    verdict without a speedup is a forfeit (the other side's build failed). The leaderboard's
    summary rows are keyed by exactly these two values."""
    if verdict == ELIDE:
        return ELIDE_WIN if measured else ELIDE_FORFEIT
    if verdict == STANDARD:
        return STANDARD_WIN if measured else STANDARD_FORFEIT
    return verdict


def outcome_key(status, verdict, measured):
    """The outcome of a race from its status, verdict and whether it has a speedup."""
    if status == COMPLETED and verdict:
        return judged_outcome(verdict, measured)
    if status == CANCELLED:
        return CANCELLED
    if status in (FAILED, COMPLETED):
        # The arena itself could not run the race (or a finished race without a verdict).
        return VOID
    return RUNNING if status == RUNNING else QUEUED


def is_operator_race(standard_cmd, elide_cmd):
    """A race with an operator's custom command on either side (never counted publicly)."""
    return standard_cmd is not None or elide_cmd is not None


def outcome_of(job):
    """The Outcome of anything shaped like a Job row."""
    key = outcome_key(job.status, job.verdict, job.speedup is not None)
    return OUTCOMES[key]


def tags_of(job):
    """The labels beside the outcome that say why a finished race does not count."""
    # Columns a query left out (a list of public races reads fewer) are not read one by one.
    deferred = job.get_deferred_fields() if hasattr(job, "get_deferred_fields") else set()

    def loaded(name, default):
        return default if name in deferred else getattr(job, name, default)

    tags = []
    operator = getattr(job, "operator_race", None)  # annotated by lists that defer the commands
    if operator is None:
        operator = is_operator_race(loaded("standard_cmd", None), loaded("elide_cmd", None))
    if operator:
        tags.append(OUTCOMES[OPERATOR_RACE])
    if loaded("excluded_reason", ""):
        tags.append(OUTCOMES[EXCLUDED])
    return tags


# A side's tool as the pages name it (build_results.tool holds the key).
TOOL_NAMES = {"maven": "Maven", "gradle": "Gradle", "elide": "Elide", "custom": "Custom command"}


def tool_name(tool):
    """ "maven" -> "Maven"; the standard side's generic name when the tool is not known."""
    return TOOL_NAMES.get(tool, tool) if tool else STANDARD_TOOL


def tool_with_version(tool, version):
    """A tool and its version, the name said once: ("maven", "Apache Maven 3.9.6") ->
    "Apache Maven 3.9.6", ("elide", "1.0.0") -> "Elide 1.0.0", ("elide", "elide 1.0") ->
    "elide 1.0"."""
    name = tool_name(tool)
    version = (version or "").strip()
    if not version:
        return name
    if name.lower() in version.lower():
        return version
    return f"{name} {version}"


def empty_tally():
    return dict.fromkeys(TALLIED_OUTCOMES, 0)
