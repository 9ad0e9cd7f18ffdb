"""Template filters for times, speedups and build output."""

import datetime
import functools

from django import template
from django.urls import reverse
from django.utils import timezone

from jobs.live.poll_markup import output_append_html, poller_html
from jobs.live.terminal import render_ansi
from jobs.models import percent_faster
from jobs.outcomes.labels import (
    BOTH_FAILED,
    ELIDE_FORFEIT,
    ELIDE_WIN,
    OUTCOMES,
    STANDARD_FORFEIT,
    STANDARD_WIN,
    TALLIED_OUTCOMES,
    Outcome,
    outcome_of,
    tags_of,
)
from jobs.outcomes.numbers import DASH, duration_text, interval_text, speedup_text, time_text
from jobs.outcomes.vocabulary import INCONCLUSIVE, NOT_COMPARABLE, TIE, VOID

register = template.Library()


def dash_when_missing(format_value):
    """A filter that shows a dash for a missing value (None, or "" from a template)."""

    @functools.wraps(format_value)
    def show(value):
        if value is None or value == "":
            return DASH
        return format_value(value)

    return show


@register.filter
def seconds(milliseconds):
    """A measured time (jobs/outcomes/numbers.py): 12345 -> "12.35 s", 672370 -> "11:12"."""
    return duration_text(milliseconds)


@register.filter
def duration(milliseconds):
    """A longer span, rounded: 130000 -> "2 min 10 s", 7000 -> "7 s"."""
    if milliseconds is None:
        return DASH
    seconds = round(int(milliseconds) / 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


@register.filter
def clock(milliseconds):
    """A running timer: 83456 -> "1:23.4"."""
    if milliseconds is None:
        return "0:00.0"
    tenths = int(milliseconds) // 100
    minutes, tenths = divmod(tenths, 600)
    return f"{minutes}:{tenths // 10:02d}.{tenths % 10}"


@register.filter
def times_faster(speedup):
    """2.4 -> "2.40" and a multiplication sign; below 1 the inverse (the loser is named)."""
    if not speedup:
        return DASH
    if speedup < 1:
        speedup = 1 / speedup
    return speedup_text(speedup)


@register.filter
def times_value(speedup):
    """The speedup itself in the one unit, x: 1.554 -> "1.55x" (no inversion)."""
    return speedup_text(speedup)


@register.filter
def time_saved(speedup):
    """The secondary line: 1.55 -> "35% less build time" (or more, below 1)."""
    value = percent_faster(speedup)
    if value is None:
        return ""
    return f"{abs(value):.0f}% {'less' if value >= 0 else 'more'} build time"


@register.filter
def interval(job):
    """ "95% CI 1.41-1.70x" (or "90% CI" with 3 runs a side); without an interval, why."""
    low, high = getattr(job, "speedup_ci_low", None), getattr(job, "speedup_ci_high", None)
    if low is None or high is None:
        return "no interval (fewer than 3 runs a side)"
    level = getattr(job, "speedup_ci_level", None) or 0.95
    return f"{level * 100:.0f}% CI {interval_text(low, high)}"


@register.filter
def outcome(job):
    """The race's Outcome (jobs/outcomes/labels.py): .name via outcome_label, .css, .colour."""
    return outcome_of(job)


@register.filter
def outcome_label(value, standard_tool=""):
    """An outcome's name (an Outcome, or a job), the standard side named by its tool."""
    found = value if isinstance(value, Outcome) else outcome_of(value)
    return found.label(standard_tool)


@register.filter
def outcome_sentence(value, standard_tool=""):
    """An outcome's one sentence (an Outcome, or a job)."""
    found = value if isinstance(value, Outcome) else outcome_of(value)
    return found.describe(standard_tool)


@register.filter
def outcome_name(key, standard_tool=""):
    """The name of the outcome with this key ("both_failed" -> "Both failed")."""
    return OUTCOMES[key].label(standard_tool)


@register.filter
def race_tags(job):
    """The Outcomes that say why a finished race does not count (operator race, excluded)."""
    return tags_of(job)


@register.filter
def outcome_tiles(figures):
    """[(Outcome, races)] of a count (figures.outcome_figures): every counted outcome, in the
    vocabulary's order."""
    names = {
        ELIDE_WIN: "elide_wins",
        STANDARD_WIN: "standard_wins",
        ELIDE_FORFEIT: "elide_forfeits",
        STANDARD_FORFEIT: "standard_forfeits",
        TIE: "ties",
        INCONCLUSIVE: "inconclusive",
        BOTH_FAILED: "both_failed",
        VOID: "void",
        NOT_COMPARABLE: "not_comparable",
    }
    return [(OUTCOMES[key], figures.get(names[key], 0)) for key in TALLIED_OUTCOMES]


@register.filter
def when(moment):
    """An exact time with its zone ("2026-12-07 17:36 UTC")."""
    return time_text(moment)


@register.filter
def percent(speedup):
    """The original's "% faster" figure for elide (negative: slower)."""
    value = percent_faster(speedup)
    if value is None:
        return DASH
    return f"{value:+.1f}%"


@register.simple_tag
def race_poller(poll_url, poll_query, polling):
    """The element that schedules the next poll (jobs/live/poll_markup.py)."""
    return poller_html(poll_url, poll_query, polling)


@register.simple_tag
def output_append(side):
    """The block that appends a side's new output to its terminal (jobs/live/poll_markup.py)."""
    return output_append_html(side)


@register.filter
def ansi(text):
    """Build output as safe HTML (escaped, colours as classes)."""
    return render_ansi(text or "")


@register.filter
def age(moment):
    """Seconds since `moment`, as "12 s ago" / "3 min ago"."""
    if not moment:
        return "never"
    seconds_ago = max(0, int((timezone.now() - moment).total_seconds()))
    if seconds_ago < 120:
        return f"{seconds_ago} s ago"
    if seconds_ago < 7200:
        return f"{seconds_ago // 60} min ago"
    return f"{seconds_ago // 3600} h ago"


@register.filter
def iso(moment):
    return moment.isoformat() if isinstance(moment, datetime.datetime) else ""


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters changed (pagination links)."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def repository_page_url(repository_name):
    """The repository's page for "OWNER/REPO" names ("" for a local path's bare name)."""
    parts = str(repository_name or "").split("/")
    if len(parts) != 2 or not all(parts):
        return ""
    return reverse("repository_page", args=parts)
