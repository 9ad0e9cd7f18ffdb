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

from jobs.models import BuildStatus, JobStatus

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 1200, 630
BACKGROUND = (15, 23, 42)
TEXT = (226, 232, 240)
MUTED = (148, 163, 184)
ELIDE = (167, 139, 250)
STANDARD = (56, 189, 248)
FAILED = (248, 113, 113)
TIMES = "\u00d7"


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


def headline(job, elide, standard):
    """The card's big line and its colour: honest about unfinished and failed races."""
    if job.status == JobStatus.FAILED:
        return "The arena could not run this race", FAILED
    if job.status == JobStatus.CANCELLED:
        return "Race cancelled", MUTED
    if not job.is_finished:
        return "Race in progress", MUTED
    if job.verdict == "void":
        return "Could not run: " + (job.void_reason or job.error or "a side could not run"), MUTED
    if job.verdict == "not_comparable":
        return "Not comparable: the builds produced different classes", MUTED
    if job.verdict == "inconclusive" and job.speedup:
        return f"Too close to call ({job.speedup:.2f}{TIMES})", TEXT
    if job.speedup:
        if job.winner == "tie":
            return "A tie", TEXT
        if job.speedup >= 1:
            return f"Elide {job.speedup:.2f}{TIMES} faster", ELIDE
        return f"Standard build {1 / job.speedup:.2f}{TIMES} faster", STANDARD
    if elide and standard and elide.status == standard.status == BuildStatus.FAILURE:
        return "Both builds failed", FAILED
    if job.winner == "elide":
        return "Elide built it; the standard build failed", ELIDE
    if job.winner == "standard":
        return "The standard build succeeded; Elide failed", STANDARD
    return "No result", MUTED


def _side_line(label, result):
    if result is None or result.is_pending:
        return f"{label}: not finished"
    if result.status != BuildStatus.SUCCESS:
        return f"{label}: " + (
            "could not run" if result.error_kind == "infrastructure" else "failed"
        )
    tool = f" ({result.tool} {result.tool_version})".replace(" )", ")") if result.tool else ""
    return f"{label}{tool}: {result.best_duration_ms / 1000:.2f} s"


def race_card_png(job):
    """The race's share card as PNG bytes."""
    elide, standard = job.elide_result, job.standard_result
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 12), fill=ELIDE)
    draw.text((64, 56), "Build Arena \u00b7 Elide vs Maven & Gradle", font=font(30), fill=MUTED)
    name = job.repository_name + (f" @{job.ref}" if job.ref else "")
    draw.text((64, 120), name, font=_fit(draw, name, 64, WIDTH - 128, bold=True), fill=TEXT)
    line, colour = headline(job, elide, standard)
    draw.text((64, 240), line, font=_fit(draw, line, 72, WIDTH - 128, bold=True), fill=colour)
    for row, (label, result, side_colour) in enumerate(
        (("Elide", elide, ELIDE), ("Standard", standard, STANDARD))
    ):
        text = _side_line(label, result)
        failed = result is not None and result.status == BuildStatus.FAILURE
        top = 380 + row * 70
        draw.rectangle((64, top + 6, 80, top + 40), fill=FAILED if failed else side_colour)
        draw.text((100, top), text, font=_fit(draw, text, 40, WIDTH - 164), fill=TEXT)
    footer = f"Raced {job.created_at:%Y-%m-%d}" + (" \u00b7 demo data" if job.is_mock else "")
    draw.text((64, 560), footer, font=font(28), fill=MUTED)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
