"""Per-repository statistics, the speedup chart's geometry, and CSV/JSON export.

Per-repository figures are what the original kept in its race_statistics table: races, wins
per side, ties, average and best times and the last race, added up here from the
leaderboard's summary rows (jobs/leaderboard/summary.py), which are kept in step in each race's
transaction.
"""

import csv
import json

from django.db.models import Max, Min, Q, Sum
from django.db.models.functions import Coalesce

from jobs.leaderboard.figures import SUM_PREFIX, prefixed, summary_rows, unprefixed, win_rate
from jobs.leaderboard.ranking import ranking_with_times
from jobs.models import COUNTED_VERDICTS, Verdict, percent_faster
from jobs.outcomes.vocabulary import ELIDE, STANDARD, TIE

REPOSITORIES_SHOWN = 50


def repository_statistics(filters=None, *, limit=REPOSITORIES_SHOWN):
    """[{repository_name, races, elide_wins, standard_wins, ties, avg/best times, ...}].

    One GROUP BY over the summary rows (jobs/leaderboard/summary.py) of the counted races: a few
    rows
    per repository and day, never the races themselves.
    """
    measured = Q(measured=True)

    def total(column, condition=None):
        return Coalesce(Sum(column, filter=condition), 0)

    rows = (
        summary_rows(filters)
        .filter(verdict__in=COUNTED_VERDICTS)
        .values("repository_name")
        .annotate(
            **prefixed(
                races=total("races"),
                elide_wins=total("elide_wins"),
                standard_wins=total("standard_wins"),
                ties=total("ties"),
                inconclusive=total("races", Q(verdict=Verdict.INCONCLUSIVE)),
                measured=total("races", measured),
                elide_measured_wins=total("elide_wins", measured),
                elide_success_count=total("elide_success_count"),
                elide_success_ms_total=total("elide_success_ms_total"),
                standard_success_count=total("standard_success_count"),
                standard_success_ms_total=total("standard_success_ms_total"),
                best_elide_ms=Min("best_elide_ms"),
                best_standard_ms=Min("best_standard_ms"),
                best_speedup=Max("best_speedup"),
                last_race=Max("last_race"),
            )
        )
        .order_by(f"-{SUM_PREFIX}races", "repository_name")
    )
    if limit:
        rows = rows[:limit]
    result = []
    for row in rows:
        row = unprefixed(row)
        row["win_rate"] = win_rate(row)
        row.pop("elide_measured_wins")
        for side in ("elide", "standard"):
            count = row.pop(f"{side}_success_count")
            total_ms = row.pop(f"{side}_success_ms_total")
            row[f"avg_{side}_ms"] = round(total_ms / count) if count else None
        result.append(row)
    return result


ROW_HEIGHT, ROW_LABEL_WIDTH, ROW_BAR_WIDTH = 28, 92, 210


def chart_geometry(histogram, *, width=640, height=240, padding=28):
    """Bars of the speedup histogram in SVG coordinates (drawn by the template, no JS)."""
    count = len(histogram)
    peak = max((item["count"] for item in histogram), default=0) or 1
    plot_height = height - 2 * padding - 12  # room below for the axis title
    slot = (width - 2 * padding) / max(count, 1)
    bars = []
    for index, item in enumerate(histogram):
        bar_height = plot_height * item["count"] / peak
        low, high = item["low"], item["high"]
        side = TIE
        if low >= 1.05:
            side = ELIDE
        elif high is not None and high <= 0.95:
            side = STANDARD
        bars.append(
            {
                **item,
                "x": round(padding + index * slot + slot * 0.1, 1),
                "y": round(height - padding - bar_height, 1),
                "width": round(slot * 0.8, 1),
                "height": round(bar_height, 1),
                "label_x": round(padding + index * slot + slot / 2, 1),
                "count_y": round(max(14, height - padding - bar_height - 6), 1),
                "side": side,
                # The narrow (phone) variant: one horizontal bar per row.
                "row_y": index * ROW_HEIGHT,
                "row_width": round(ROW_BAR_WIDTH * item["count"] / peak, 1),
            }
        )
    return {
        "width": width,
        "height": height,
        "baseline": height - padding,
        "label_y": height - padding + 16,
        "x_title_y": height - 2,
        "y_title_y": (height - padding) / 2,
        "left": padding,
        "right": width - padding,
        "bars": bars,
        "rows_height": count * ROW_HEIGHT,
        "row_bar_x": ROW_LABEL_WIDTH,
        "rows_width": ROW_LABEL_WIDTH + ROW_BAR_WIDTH + 40,
        "peak": peak if peak > 1 or any(i["count"] for i in histogram) else 0,
    }


EXPORT_FIELDS = (
    "rank",
    "job_id",
    "repository",
    "ref",
    "commit",
    "created_at",
    "elide_ms",
    "standard_ms",
    "elide_status",
    "standard_status",
    "winner",
    "verdict",
    "speedup",
    "speedup_ci_low",
    "speedup_ci_high",
    "percent_faster",
    "is_mock",
)


def export_rows(filters=None, *, start=0, stop=None, ranked_count=None):
    """The filtered ranking [start:stop] as plain dicts, streamed from the database."""
    races = ranking_with_times(filters, start=start, stop=stop, ranked_count=ranked_count)
    for rank, job in enumerate(races, start=start + 1):
        faster = percent_faster(job.speedup)
        yield {
            "rank": rank,
            "job_id": job.pk,
            "repository": job.repository_name,
            "ref": job.ref,
            "commit": job.commit_sha,
            "created_at": job.created_at.isoformat(),
            "elide_ms": job.elide_ms,
            "standard_ms": job.standard_ms,
            "elide_status": job.elide_status,
            "standard_status": job.standard_status,
            "winner": job.winner,
            "verdict": job.verdict,
            "speedup": round(job.speedup, 4) if job.speedup else None,
            "speedup_ci_low": _rounded(job.speedup_ci_low),
            "speedup_ci_high": _rounded(job.speedup_ci_high),
            "percent_faster": round(faster, 2) if faster is not None else None,
            "is_mock": job.is_mock,
        }


def _rounded(value):
    return round(value, 4) if value is not None else None


class _Echo:
    def write(self, value):
        return value


def csv_lines(filters=None, **window):
    """CSV lines of export_rows (`window`: start, stop, ranked_count)."""
    writer = csv.DictWriter(_Echo(), fieldnames=EXPORT_FIELDS)
    yield writer.writeheader()
    for row in export_rows(filters, **window):
        # Spreadsheet formula injection: text cells never start with = + - @.
        for key in ("repository", "ref"):
            if str(row[key]).startswith(("=", "+", "-", "@")):
                row[key] = "'" + row[key]
        yield writer.writerow(row)


def json_chunks(
    filters=None, totals=None, repositories=None, headline=None, *, page=None, **window
):
    """{"headline", "filters", "page", "totals", "repositories", "races": [...]} streamed a
    race at a time (`page`: the page's description; `window`: start, stop, ranked_count)."""
    head = {
        "headline": headline,
        "filters": {k: str(v) for k, v in (filters or {}).items()},
        **({"page": page} if page else {}),
        "totals": totals,
        "repositories": [
            {**row, "last_race": row["last_race"].isoformat() if row["last_race"] else None}
            for row in repositories or []
        ],
    }
    yield json.dumps(head)[:-1] + ', "races": ['
    for index, row in enumerate(export_rows(filters, **window)):
        yield ("," if index else "") + json.dumps(row)
    yield "]}"
