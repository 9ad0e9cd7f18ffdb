"""Two stored result rows judged: the engine's verdict (jobs/verdict.py) on what they hold, and
each side's success time, for `Job.summarize`, the recorder and the legacy import."""

from types import SimpleNamespace

from django.conf import settings

from jobs import verdict as verdicts


def judge_results(elide, standard):
    """The engine's verdict for two stored results, None while either is missing or pending.

    Only for rows without an engine outcome (demo data, imports): races run by a worker store
    the verdict the engine returned. A stored failure without a kind is a build failure.
    """
    if elide is None or standard is None or elide.is_pending or standard.is_pending:
        return None
    return verdicts.judge(
        _side_facts(standard),
        _side_facts(elide),
        tie_tolerance=settings.ARENA_TIE_TOLERANCE,
        parity_tolerance=settings.ARENA_PARITY_TOLERANCE,
    )


def _side_facts(result):
    return SimpleNamespace(
        side=result.build_type,
        status=result.status,
        error_kind=result.error_kind or "",
        error=result.error,
        run_times_ms=list(result.run_times_ms or []) or [result.best_duration_ms],
        class_names=None,
    )


def success_ms(result):
    """A side's time in milliseconds when it succeeded, else None."""
    if result is None or not result.succeeded:
        return None
    return result.best_duration_ms
