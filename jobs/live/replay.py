"""Replay data of a finished race: each side's output cut where it was appended, with times.

`output_timing` holds one line "<character offset> <elapsed ms>" per appended chunk: the chunk
starting at that offset appeared that many milliseconds after the side started. The pieces are
rendered to safe HTML here (the same escaping as the live page), so the replay player
(static/js/race.js) only appends markup the server produced and never interprets build output.

Each side also lists where its runs began ("=== run 2/3 ===" and "=== warm-up 1/1 ..." lines,
written by workers/engine/racing/side.py), so the player's clock counts each run from zero as the
live page's does, instead of the side's whole wall time.
"""

import re

from jobs.live.terminal import AnsiRenderer, complete_prefix_length
from jobs.models import BuildResult
from jobs.outcomes.vocabulary import SIDES


def parse_timing(timing, length):
    """[(offset, ms)] sorted, within 0..length, offsets strictly increasing, times monotonic."""
    points = []
    for line in (timing or "").splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        try:
            offset, elapsed = int(parts[0]), int(parts[1])
        except ValueError:
            continue
        if 0 <= offset < length and elapsed >= 0:
            points.append((offset, elapsed))
    points.sort()
    cleaned = []
    for offset, elapsed in points:
        if cleaned and offset == cleaned[-1][0]:
            continue
        if cleaned and elapsed < cleaned[-1][1]:
            elapsed = cleaned[-1][1]
        cleaned.append((offset, elapsed))
    if not cleaned or cleaned[0][0] != 0:
        cleaned.insert(0, (0, 0))
    return cleaned


# The engine's header of a run: "=== run 2/3 ===", "=== run 4 of at most 10 ===" (adaptive) or
# "=== warm-up 1/1 (not measured) ===".
_RUN_HEADER = re.compile(r"^=== ((?:run|warm-up) \d+(?:/\d+| of at most \d+))", re.MULTILINE)


def run_starts(text, timing):
    """[[elapsed ms, "Run 2/3"], ...]: when each run of a side began, in recorded time."""
    points = parse_timing(timing, len(text))
    starts = []
    for match in _RUN_HEADER.finditer(text):
        elapsed = max((ms for offset, ms in points if offset <= match.start()), default=0)
        label = match.group(1)
        starts.append([elapsed, label[0].upper() + label[1:]])
    return starts


def replay_chunks(text, timing):
    """[[elapsed ms, html], ...] for one side's output."""
    points = parse_timing(timing, len(text))
    renderer = AnsiRenderer()
    chunks = []
    start = 0
    for index, (_, elapsed) in enumerate(points):
        end = points[index + 1][0] if index + 1 < len(points) else len(text)
        # Never cut inside an escape sequence: the cut moves back to where it begins.
        if end < len(text):
            end = max(start, complete_prefix_length(text[:end]))
        piece = text[start:end]
        if piece:
            chunks.append([elapsed, str(renderer.render(piece))])
        start = end
    if start < len(text):
        chunks.append([points[-1][1], str(renderer.render(text[start:]))])
    return chunks


def replay_data(job):
    results = {
        result.build_type: result
        for result in BuildResult.objects.filter(job_id=job.pk).only(
            "build_type",
            "status",
            "duration",
            "duration_ms",
            "bell_rung",
            "error_kind",
            "output",
            "output_timing",
            "output_compressed",
            "output_timing_compressed",
        )
    }
    sides = {}
    for build_type in SIDES:
        result = results.get(build_type)
        if result is None:
            sides[build_type] = {"chunks": [], "runs": [], "durationMs": None, "status": None}
            continue
        text, timing = result.full_output, result.full_output_timing
        sides[build_type] = {
            "chunks": replay_chunks(text, timing),
            "runs": run_starts(text, timing),
            "durationMs": result.best_duration_ms,
            "status": result.status,
            "bellRung": result.bell_rung,
            "errorKind": result.error_kind,
        }
    return {"jobId": job.pk, "sides": sides}
