"""Share images drawn on the server with Pillow: the 1200x630 card of a race (Open Graph and
Twitter previews) and the text widths of the repository badge.

The font is DejaVu Sans from Debian's fonts-dejavu-core (bin/install-system-deps), looked up
in ARENA_CARD_FONT_DIR. Without it the card falls back to Pillow's own built-in font, which
is legible but plainer, and says so once in the log.
"""

import functools
import io
import logging
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

from jobs.models import BuildStatus
from jobs.outcomes.labels import (
    ELIDE_COLOUR,
    ELIDE_WIN,
    STANDARD_COLOUR,
    STANDARD_WIN,
    outcome_of,
    tool_name,
    tool_with_version,
)
from jobs.outcomes.numbers import duration_text, speedup_text
from jobs.outcomes.vocabulary import INCONCLUSIVE, TIE, VOID

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 1200, 630
BACKGROUND = (15, 23, 42)
TEXT = (226, 232, 240)
MUTED = (148, 163, 184)
FAILED_RGB = (248, 113, 113)


@functools.cache
def font(size, *, bold=False):
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    path = Path(settings.ARENA_CARD_FONT_DIR) / name
    # Checked first: given a missing path, Pillow would search other folders for the name.
    if path.is_file():
        try:
            return ImageFont.truetype(str(path), size)
        except OSError:
            pass
    logger.warning("font %s not usable: share cards use Pillow's built-in font", path)
    return ImageFont.load_default(size)


def text_width(text, size=11):
    """Width in pixels of `text` in the badge's font (DejaVu Sans, as shields.io's Verdana)."""
    return font(size).getlength(text)


def _fit(draw, text, size, max_width, *, bold=False):
    """The largest font (down to a third of `size`) that fits `text` in `max_width`."""
    while size > 12:
        chosen = font(size, bold=bold)
        if draw.textlength(text, font=chosen) <= max_width:
            return chosen
        size -= 4
    return font(12, bold=bold)


def _rgb(colour):
    """ "#b69cff" -> (182, 156, 255)."""
    return tuple(int(colour[index : index + 2], 16) for index in (1, 3, 5))


ELIDE_RGB, STANDARD_RGB = _rgb(ELIDE_COLOUR), _rgb(STANDARD_COLOUR)


def card_headline(job, elide, standard):
    """The card's big line and its colour, in the outcome's name and colour
    (jobs/outcomes/labels.py): a demo race says so; a side's win says by how much."""
    found = outcome_of(job)
    tool = tool_name(standard.tool if standard else "")
    line = found.label(tool)
    if found.key == ELIDE_WIN:
        line = f"Elide {speedup_text(job.speedup)} faster"
    elif found.key == STANDARD_WIN:
        line = f"{tool} {speedup_text(1 / job.speedup)} faster"
    elif found.key in (TIE, INCONCLUSIVE) and job.speedup:
        line = f"{line} ({speedup_text(job.speedup)})"
    elif found.key == VOID:
        line = f"{line}: not a result"
    if job.is_mock:
        line = f"Demo: {line}"
    return line, _rgb(found.colour)


def _side_line(label, result):
    if result is None or result.is_pending:
        return f"{label}: not finished"
    if result.status != BuildStatus.SUCCESS:
        return f"{label}: " + ("not run" if result.error_kind == "infrastructure" else "failed")
    tool = tool_with_version(result.tool, result.tool_version) if result.tool else label
    return f"{tool}: {duration_text(result.best_duration_ms)}"


def race_card_png(job):
    """The race's share card as PNG bytes."""
    elide, standard = job.elide_result, job.standard_result
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    line, colour = card_headline(job, elide, standard)
    draw.rectangle((0, 0, WIDTH, 12), fill=colour)
    draw.text((64, 56), "Build Arena \u00b7 Elide vs Maven & Gradle", font=font(30), fill=MUTED)
    name = job.repository_name + (f" @{job.ref}" if job.ref else "")
    draw.text((64, 120), name, font=_fit(draw, name, 64, WIDTH - 128, bold=True), fill=TEXT)
    draw.text((64, 240), line, font=_fit(draw, line, 72, WIDTH - 128, bold=True), fill=colour)
    for row, (label, result, side_colour) in enumerate(
        (("Elide", elide, ELIDE_RGB), ("Standard", standard, STANDARD_RGB))
    ):
        text = _side_line(label, result)
        failed = (
            result is not None
            and result.status == BuildStatus.FAILURE
            and result.error_kind != "infrastructure"
        )
        top = 380 + row * 70
        draw.rectangle((64, top + 6, 80, top + 40), fill=FAILED_RGB if failed else side_colour)
        draw.text((100, top), text, font=_fit(draw, text, 40, WIDTH - 164), fill=TEXT)
    footer = f"Raced {job.created_at:%Y-%m-%d}" + (" \u00b7 demo data" if job.is_mock else "")
    draw.text((64, 560), footer, font=font(28), fill=MUTED)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
