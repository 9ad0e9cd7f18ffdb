"""The two pieces of markup a live poll is made of, each written once.

The poller schedules the next poll (htmx `every 1s`, replacing itself with the next one, which
carries the next offsets and version); the append block adds a side's new output to its
terminal. The race page and the poll's template use them through tags
(jobs/templatetags/arena.py); the poll that only carries output, the common case while a race
runs, sends them alone without rendering a template (jobs/views/race.py).
"""

from django.utils.html import escape
from django.utils.safestring import mark_safe

from jobs.live.terminal import render_ansi

STOPPED_POLLER = mark_safe('<div id="race-poller"></div>')


def poller_html(poll_url, poll_query, polling=True):
    """The element that polls `poll_url?poll_query` in a second, or an inert one."""
    if not polling:
        return STOPPED_POLLER
    return mark_safe(  # noqa: S308 (both values escaped here)
        f'<div id="race-poller" hx-get="{escape(poll_url)}?{escape(poll_query)}"'
        ' hx-trigger="every 1s" hx-swap="outerHTML"></div>'
    )


def output_append_html(side):
    """The block that appends `side.text` (escaped, colours as classes) to the side's terminal;
    "" when there is no new text. Written out rather than through format_html, which costs as
    much again on the poll's hottest answer: render_ansi escapes the text itself."""
    if not side.text:
        return ""
    return mark_safe(  # noqa: S308 (the side's name escaped here, the text by render_ansi)
        f'<div hx-swap-oob="beforeend:#output-{escape(side.build_type)}">'
        f"{render_ansi(side.text)}</div>"
    )


def poll_query(sides, version):
    """The next poll's query: each side's next offset and the version the client has seen."""
    return "&".join([f"{side.build_type}={side.next_offset}" for side in sides] + [f"v={version}"])


def output_only_response_html(poll_url, sides, version):
    """A poll's whole answer when only output grew while the race is active: the next poller
    and each side's new text (the same markup the poll's template renders for that case)."""
    parts = [poller_html(poll_url, poll_query(sides, version))]
    parts += [output_append_html(side) for side in sides]
    return "".join(parts)
