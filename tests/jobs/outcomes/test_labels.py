"""One vocabulary: each outcome has one name, one colour (one CSS class) and one sentence,
and numbers are written one way."""

import datetime
import json
import re
from types import SimpleNamespace

import pytest

from jobs.outcomes import labels
from jobs.outcomes.labels import OUTCOMES, judged_outcome, outcome_key, tool_with_version
from jobs.outcomes.numbers import data_numbers, duration_text, speedup_text, time_text
from jobs.outcomes.verdict import judge
from tests.support import PROJECT_DIR

CSS = (PROJECT_DIR / "static" / "css" / "arena.css").read_text()


def side(name, status, runs=(1000, 1000, 1000)):
    return SimpleNamespace(side=name, status=status, error_kind="",
                           error="", run_times_ms=list(runs), class_names=None)  # fmt: skip


def test_every_outcome_has_one_name_one_sentence_and_one_css_colour():
    names = [outcome.label() for outcome in OUTCOMES.values()]
    assert len(set(names)) == len(names)
    for outcome in OUTCOMES.values():
        assert outcome.sentence.endswith(".") and outcome.name
        # One class per outcome in the stylesheet, holding the vocabulary's colour.
        rule = re.search(rf"\.{outcome.css} \{{ --outcome: (#[0-9a-f]{{6}}); \}}", CSS)
        assert rule and rule.group(1) == outcome.colour, outcome.key


def test_no_surface_names_an_outcome_its_own_way():
    """The names the pages used before one vocabulary existed appear nowhere any more."""
    stale = ("Dead heat", "Too close to call", "About even", '"A tie"', "No comparison",
             "Elide faster\"", "Standard faster\"", "~1x")  # fmt: skip
    roots = [PROJECT_DIR / "templates", PROJECT_DIR / "jobs", PROJECT_DIR / "static" / "js"]
    for root in roots:
        for path in root.rglob("*"):
            if path.suffix in (".html", ".py", ".js", ".svg") and "migrations" not in path.parts:
                text = path.read_text()
                for word in stale:
                    assert word not in text, (path, word)


@pytest.mark.parametrize(
    ("verdict", "measured", "outcome"),
    [
        ("elide", True, "elide_win"),
        ("elide", False, "elide_forfeit"),
        ("standard", True, "standard_win"),
        ("standard", False, "standard_forfeit"),
        ("tie", True, "tie"),
        ("inconclusive", True, "inconclusive"),
        ("inconclusive", False, "inconclusive"),
        ("both_failed", False, "both_failed"),
        ("void", False, "void"),
        ("not_comparable", False, "not_comparable"),
    ],
)
def test_a_judged_race_has_one_outcome(verdict, measured, outcome):
    assert judged_outcome(verdict, measured) == outcome
    assert outcome_key("completed", verdict, measured) == outcome


def test_unjudged_races_have_their_own_states():
    assert outcome_key("queued", None, False) == "queued"
    assert outcome_key("running", None, False) == "running"
    assert outcome_key("cancelled", None, False) == "cancelled"
    assert outcome_key("failed", None, False) == "void"  # the arena could not run it


def test_both_sides_failing_is_its_own_verdict_never_inconclusive():
    verdict = judge(side("standard", "failure"), side("elide", "failure"),
                    tie_tolerance=0.01, parity_tolerance=0.02)  # fmt: skip
    assert verdict.verdict == "both_failed" and verdict.winner is None and verdict.counted
    assert OUTCOMES[judged_outcome(verdict.verdict, False)].label() == "Both failed"


def test_operator_races_and_exclusions_are_tags():
    job = SimpleNamespace(standard_cmd=None, elide_cmd=["sh"], excluded_reason="stale mirror")
    assert [tag.key for tag in labels.tags_of(job)] == ["operator_race", "excluded"]
    assert labels.tags_of(SimpleNamespace(standard_cmd=None, elide_cmd=None)) == []


def test_a_tool_is_named_once():
    assert tool_with_version("maven", "Apache Maven 3.9.6") == "Apache Maven 3.9.6"
    assert tool_with_version("elide", "1.0.0") == "Elide 1.0.0"
    assert tool_with_version("elide", "elide 1.0") == "elide 1.0"
    assert tool_with_version("gradle", "") == "Gradle"
    assert OUTCOMES["standard_win"].label("Maven") == "Maven wins"


def test_numbers_are_written_one_way():
    assert speedup_text(2.836639019112875) == "2.84\u00d7" and speedup_text(None) == "\u2013"
    assert duration_text(12_345) == "12.35 s" and duration_text(672_370) == "11:12"
    assert duration_text(59_999) == "60.00 s" and duration_text(3_723_000) == "1:02:03"
    moment = datetime.datetime(
        2026, 12, 7, 18, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    assert time_text(moment) == "2026-12-07 16:05 UTC"
    exported = json.dumps(data_numbers({"best_speedup": 4.9999999999999964, "ci": (1.0000001, 2)}))
    assert exported == '{"best_speedup": 5.0, "ci": [1.0, 2]}'
