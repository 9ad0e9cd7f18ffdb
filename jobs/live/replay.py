"""Replay data of a finished race: each side's output cut where it was appended, with times.

`output_timing` holds one line "<character offset> <elapsed ms>" per appended chunk: the chunk
starting at that offset appeared that many milliseconds after the side started. The pieces are
rendered to safe HTML here (the same escaping as the live page), so the replay player
(static/js/race.js) only appends markup the server produced and never interprets build output.
"""

from jobs.live.snapshot import SIDES
from jobs.live.terminal import AnsiRenderer, complete_prefix_length
from jobs.models import BuildResult


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
            sides[build_type] = {"chunks": [], "durationMs": None, "status": None}
            continue
        chunks = replay_chunks(result.full_output, result.full_output_timing)
        sides[build_type] = {
            "chunks": chunks,
            "durationMs": result.best_duration_ms,
            "status": result.status,
            "bellRung": result.bell_rung,
        }
    return {"jobId": job.pk, "sides": sides}
