"""Per-repository statistics, the speedup chart's geometry, and CSV/JSON export.

Per-repository figures are what the original kept in its race_statistics table: races, wins
per side, ties, average and best times and the last race, added up here from the
leaderboard's summary rows (jobs/leaderboard/summary_in_step.py), which are kept in step in each
race's transaction.
"""

import csv
import json

from django.db.models import Max, Min, Sum
from django.db.models.functions import Coalesce

from jobs.leaderboard.figures import (
    SUM_PREFIX,
    add_to_tally,
    new_tally,
    outcome_figures,
    prefixed,
    summary_rows,
    unprefixed,
)
from jobs.leaderboard.ranking import completed_races, ranking_with_times
from jobs.leaderboard.repository_stats import median, median_interval
from jobs.leaderboard.speedups import flagged_condition
from jobs.models import COUNTED_VERDICTS, percent_faster
from jobs.outcomes.labels import outcome_of
from jobs.outcomes.numbers import data_number, data_numbers
from jobs.outcomes.vocabulary import ELIDE, STANDARD, TIE

REPOSITORIES_SHOWN = 50


def repository_statistics(filters=None, *, limit=REPOSITORIES_SHOWN):
    """[{repository_name, races, elide_wins, forfeits, ties, ..., avg/best times, ...}].

    Two GROUP BYs over the summary rows (jobs/models/leaderboard_tables.py) of the counted races: a
    few rows per repository and day, never the races themselves. The counts by outcome come
    from figures.outcome_figures, as the leaderboard's totals do.
    """

    def total(column):
        return Coalesce(Sum(column), 0)

    rows = (
        summary_rows(filters)
        .filter(verdict__in=COUNTED_VERDICTS)
        .values("repository_name")
        .annotate(
            **prefixed(
                races=total("races"),
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
    rows = [unprefixed(row) for row in rows]
    tallies = _outcome_tallies(filters, [row["repository_name"] for row in rows])
    result = []
    for row in rows:
        row.update(outcome_figures(tallies[row["repository_name"]]))
        for side in ("elide", "standard"):
            count = row.pop(f"{side}_success_count")
            total_ms = row.pop(f"{side}_success_ms_total")
            row[f"avg_{side}_ms"] = round(total_ms / count) if count else None
        result.append(row)
    return result


def _outcome_tallies(filters, names):
    """{repository: {outcome: races}} for these repositories, from their summary rows."""
    tallies = {name: new_tally() for name in names}
    groups = (
        summary_rows(filters)
        .filter(repository_name__in=names)
        .values("repository_name", "verdict", "measured")
        .annotate(**prefixed(races=Sum("races")))
        .order_by()
    )
    for group in groups:
        group = unprefixed(group)
        add_to_tally(tallies[group["repository_name"]], group)
    return tallies


def add_median_speedups(repositories, filters=None):
    """Each repository row gains its median speedup and that median's interval (None with too
    few races), over the same plausible speedups as the headline's per-repository medians;
    one query over the shown repositories' races."""
    names = [row["repository_name"] for row in repositories]
    speedups = {name: [] for name in names}
    rows = (
        completed_races(filters or {})
        .filter(speedup__isnull=False, repository_name__in=names)
        .exclude(flagged_condition())
        .values_list("repository_name", "speedup")
    )
    for name, speedup in rows.iterator(chunk_size=5000):
        speedups[name].append(speedup)
    for row in repositories:
        values = speedups[row["repository_name"]]
        row["median_speedup"] = median(values)
        row["median_interval"] = median_interval(values)
    return repositories


ROW_HEIGHT, ROW_LABEL_WIDTH, ROW_BAR_WIDTH = 28, 92, 210


def chart_geometry(histogram, *, width=640, height=240, padding=28):
    """Bars of the speedup histogram in SVG coordinates (drawn by the template, no JS).

    Below the bars: their range labels, then the axis title on a line of its own (they never
    overlap); left of them: whole-number ticks of the race counts with grid lines.
    """
    count = len(histogram)
    peak = max((item["count"] for item in histogram), default=0) or 1
    left, right = padding + 24, width - padding / 2
    top, baseline = padding / 2 + 6, height - 44  # 44: a label line and the title's line
    plot_height = baseline - top
    slot = (right - left) / max(count, 1)
    step = _tick_step(peak)
    y_ticks = [
        {"value": value, "y": round(baseline - plot_height * value / peak, 1)}
        for value in range(0, peak + 1, step)
    ]
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
                "x": round(left + index * slot + slot * 0.1, 1),
                "y": round(baseline - bar_height, 1),
                "width": round(slot * 0.8, 1),
                "height": round(bar_height, 1),
                "label_x": round(left + index * slot + slot / 2, 1),
                "count_y": round(max(14, baseline - bar_height - 6), 1),
                "side": side,
                # The narrow (phone) variant: one horizontal bar per row.
                "row_y": index * ROW_HEIGHT,
                "row_width": round(ROW_BAR_WIDTH * item["count"] / peak, 1),
            }
        )
    return {
        "width": width,
        "height": height,
        "baseline": baseline,
        "label_y": baseline + 18,
        "x_title_y": height - 6,
        "y_title_y": (top + baseline) / 2,
        "tick_x": left - 6,
        "y_ticks": y_ticks,
        "left": left,
        "right": right,
        "bars": bars,
        "rows_height": count * ROW_HEIGHT,
        "row_bar_x": ROW_LABEL_WIDTH,
        "rows_width": ROW_LABEL_WIDTH + ROW_BAR_WIDTH + 40,
        "peak": peak if peak > 1 or any(i["count"] for i in histogram) else 0,
    }


def _tick_step(peak):
    """A whole step (1, 2, 5, 10, 20, ...) giving at most five ticks up to `peak`."""
    step = 1
    while peak / step > 5:
        for factor in (2, 5 / 2, 2):
            step = int(step * factor)
            if peak / step <= 5:
                break
    return step


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
    "outcome",
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
            "outcome": outcome_of(job).label(),
            "speedup": data_number(job.speedup),
            "speedup_ci_low": data_number(job.speedup_ci_low),
            "speedup_ci_high": data_number(job.speedup_ci_high),
            "percent_faster": round(faster, 2) if faster is not None else None,
            "is_mock": job.is_mock,
        }


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
        "headline": data_numbers(headline),
        "filters": {k: str(v) for k, v in (filters or {}).items()},
        **({"page": page} if page else {}),
        "totals": data_numbers(totals),
        "repositories": [
            data_numbers(
                {**row, "last_race": row["last_race"].isoformat() if row["last_race"] else None}
            )
            for row in repositories or []
        ],
    }
    yield json.dumps(head)[:-1] + ', "races": ['
    for index, row in enumerate(export_rows(filters, **window)):
        yield ("," if index else "") + json.dumps(row)
    yield "]}"
