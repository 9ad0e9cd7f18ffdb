"""Figures derived from stored results: the verdict of two rows, a side's time, the
original's "percent faster", and the SQL expression of a side's measured time.

Works on any objects shaped like BuildResult rows (no model import), so jobs.models,
the leaderboard and the legacy import share one definition of each.
"""

from types import SimpleNamespace

from django.conf import settings
from django.db.models import F, IntegerField, Q
from django.db.models.functions import Coalesce

from jobs.outcomes import verdict as verdicts
from jobs.outcomes.verdict import Tolerances


def measured_ms_expression(path=""):
    """`best_duration_ms` in SQL; `path` reaches a joined result (e.g. "elide_side__")."""
    return Coalesce(
        F(f"{path}duration_ms"), F(f"{path}duration") * 1000, output_field=IntegerField()
    )


def judge_results(elide, standard):
    """The engine's verdict for two stored results, None while either is missing or pending.

    Only for rows without an engine outcome (demo data, imports): races run by a worker store
    the verdict the engine returned. A stored failure without a kind is a build failure.
    """
    if elide is None or standard is None or elide.is_pending or standard.is_pending:
        return None
    tolerances = Tolerances.from_settings(settings)
    return verdicts.judge(
        _side_facts(standard),
        _side_facts(elide),
        tie_tolerance=tolerances.tie,
        parity_tolerance=tolerances.parity,
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


def percent_faster(speedup):
    """The original's figure: (standard - elide) / standard * 100, from a speedup ratio."""
    if not speedup:
        return None
    return (1 - 1 / speedup) * 100


def public_race_condition(path=""):
    """Races without an operator's custom command (jobs.outcomes.labels.is_operator_race), the
    only ones the public leaderboard, headline, badges, repository figures and booth count."""
    return Q(**{f"{path}standard_cmd__isnull": True, f"{path}elide_cmd__isnull": True})
