"""The bell detector: every rule of docs/ENGINE.md ("The bell"), on whole texts and chunks."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.engine.measuring.bell import FAILURE, MARKER, SUCCESS, UNKNOWN, BellDetector, detect

CASES = [
    # (text, rung, status)
    (f"{MARKER}\nStatus: SUCCESS\n", True, SUCCESS),
    (f"{MARKER}\nStatus: FAILURE\n", True, FAILURE),
    (f"{MARKER}\nstatus:success\n", True, SUCCESS),  # case-insensitive, space optional
    (f"{MARKER}\nSTATUS:  Failure\n", True, FAILURE),
    (f"{MARKER}\nno status here\n", True, UNKNOWN),
    ("[INFO] BUILD SUCCESS\n", True, SUCCESS),  # Maven
    ("BUILD SUCCESSFUL in 5s\n", True, SUCCESS),  # Gradle
    ("[INFO] BUILD FAILURE\n", True, FAILURE),  # Maven
    ("BUILD FAILED in 3s\n", True, FAILURE),  # Gradle
    ("build successful\n", True, SUCCESS),
    ("all done\a\n", True, UNKNOWN),  # a lone BEL rings without a status
    ("compiling...\nStatus: SUCCESS\n", False, UNKNOWN),  # a status without the marker
    ("nothing to see\n", False, UNKNOWN),
    ("", False, UNKNOWN),
    # The canonical status outranks Maven's own line, in both directions.
    (f"[INFO] BUILD SUCCESS\n{MARKER}\nStatus: FAILURE\n", True, FAILURE),
    (f"BUILD FAILED\n{MARKER}\nStatus: SUCCESS\n", True, SUCCESS),
    # Any fallback failure outranks a fallback success.
    ("BUILD SUCCESS\n...\nBUILD FAILURE\n", True, FAILURE),
    ("BUILD FAILURE\n...\nBUILD SUCCESS\n", True, FAILURE),
    # The last canonical status counts.
    (f"{MARKER}\nStatus: FAILURE\n{MARKER}\nStatus: SUCCESS\n", True, SUCCESS),
]


@pytest.mark.parametrize(("text", "rung", "status"), CASES)
def test_rules_on_whole_text(text, rung, status):
    bell = detect(text)
    assert (bell.rung, bell.status) == (rung, status)
    assert bell.reported_failure == (status == FAILURE)


@pytest.mark.parametrize(("text", "rung", "status"), CASES)
def test_every_two_chunk_split_gives_the_same_answer(text, rung, status):
    for cut in range(len(text) + 1):
        bell = BellDetector()
        bell.feed(text[:cut])
        bell.feed(text[cut:])
        assert (bell.rung, bell.status) == (rung, status), f"split at {cut}"


@pytest.mark.parametrize(("text", "rung", "status"), CASES)
def test_one_character_at_a_time(text, rung, status):
    bell = BellDetector()
    for char in text:
        bell.feed(char)
    assert (bell.rung, bell.status) == (rung, status)


@given(
    st.lists(st.sampled_from([t for t, _, _ in CASES] + ["x" * 70, "\n", "noise "]), max_size=6),
    st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_any_chunking_matches_the_whole_text(parts, cuts):
    text = "".join(parts)
    expected = detect(text)
    bell = BellDetector()
    previous = 0
    for cut in sorted(c for c in cuts if c <= len(text)):
        bell.feed(text[previous:cut])
        previous = cut
    bell.feed(text[previous:])
    assert (bell.rung, bell.status) == (expected.rung, expected.status)


def test_marker_split_inside_the_emoji_bytes_through_the_decoder():
    """Bytes split in the middle of the bell emoji still decode and ring once whole."""
    from workers.engine.measuring.output import TextDecoder

    data = f"{MARKER}\nStatus: FAILURE\n".encode()
    for cut in range(len(data) + 1):
        decoder, bell = TextDecoder(), BellDetector()
        bell.feed(decoder.decode(data[:cut]))
        bell.feed(decoder.decode(data[cut:]))
        bell.feed(decoder.flush())
        assert (bell.rung, bell.status) == (True, FAILURE), f"byte split at {cut}"
