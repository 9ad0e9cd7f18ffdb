"""How every surface writes a number: speedups to 2 decimals, durations as m:ss above a minute,
figures in data documents without float artefacts.

No Django import: the template filters (jobs/templatetags/arena.py), the admin, the share card
and the exports call these, so a speedup reads the same on each.
"""

import dataclasses
import datetime

TIMES = "\u00d7"
DASH = "\u2013"
# Decimals a speedup or interval keeps in JSON and CSV (4.9999999999999964 -> 5.0).
DATA_DECIMALS = 4


def speedup_text(speedup):
    """2.836639 -> "2.84x" (the multiplication sign), a dash when missing."""
    if speedup is None or speedup == "":
        return DASH
    return f"{float(speedup):.2f}{TIMES}"


def interval_text(low, high):
    """(1.414, 1.7) -> "1.41-1.70x" (an en dash), a dash when missing."""
    if low is None or high is None:
        return DASH
    return f"{float(low):.2f}{DASH}{float(high):.2f}{TIMES}"


def duration_text(milliseconds):
    """A measured time: 12345 -> "12.35 s"; from a minute on, m:ss: 672370 -> "11:12"."""
    if milliseconds is None or milliseconds == "":
        return DASH
    total = int(milliseconds) / 1000
    if total < 60:
        return f"{total:.2f} s"
    whole = round(total)
    minutes, seconds = divmod(whole, 60)
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


def time_text(moment):
    """An exact time with its zone: "2026-12-07 17:36 UTC"."""
    if not isinstance(moment, datetime.datetime):
        return DASH
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def data_number(value):
    """A float as data documents carry it: rounded to DATA_DECIMALS; other values unchanged."""
    if isinstance(value, float):
        return round(value, DATA_DECIMALS)
    return value


def data_numbers(row):
    """A dict with every float rounded (data_number), nested lists, dicts and dataclasses
    included."""
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        row = dataclasses.asdict(row)
    if isinstance(row, dict):
        return {key: data_numbers(value) for key, value in row.items()}
    if isinstance(row, list | tuple):
        return [data_numbers(value) for value in row]
    return data_number(row)
