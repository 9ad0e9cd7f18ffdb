"""How the engine fails: one exception per kind of failure, carrying its message and kind.

A side's result keeps the kind as `error_kind` (jobs/outcomes/vocabulary.py): a build failure
is the project's doing (the other side may win by forfeit), an environment failure is the
arena's (the race is void). Functions raise these instead of returning an error beside their
value; the side catches them where it ends (`SideRunner.fail`). Anything else that escapes the
engine is an internal error, caught once, by the recorder (workers/recording.py).
"""

from jobs.outcomes.vocabulary import BUILD, INFRASTRUCTURE


class EngineFailure(Exception):
    """A side or a race cannot go on; `str(failure)` is the sentence people read."""

    kind = ""


class BuildFailure(EngineFailure):
    """The project's build failed (or has nothing to build): a result, not a void race."""

    kind = BUILD


class EnvironmentFailure(EngineFailure):
    """The worker cannot run the build (sandbox, toolchain, JDK, cache): the race is void."""

    kind = INFRASTRUCTURE
