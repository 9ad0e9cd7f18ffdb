"""Build output made safe for the pages: escaping, ANSI colours, cut sequences, replay pieces."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.live.replay import parse_timing, replay_chunks
from jobs.live.terminal import AnsiRenderer, complete_prefix_length, render_ansi, strip_ansi

ALLOWED_TAG = re.compile(r'<span class="(ansi-[a-z0-9]+)( ansi-[a-z0-9]+)*">|</span>')


def test_colours_become_classes():
    html = render_ansi("\x1b[1;31merror\x1b[0m plain \x1b[42mbg\x1b[49m \x1b[93mbright\x1b[39m")
    assert html == (
        '<span class="ansi-bold ansi-fg1">error</span> plain '
        '<span class="ansi-bg2">bg</span> <span class="ansi-fg11">bright</span>'
    )


def test_extended_colours_and_other_sequences_are_dropped():
    html = render_ansi(
        "\x1b[38;5;208morange\x1b[0m \x1b[38;2;1;2;3mrgb\x1b[0m \x1b]0;window title\x07"
        "\x1b[2K\x1b[1Acursor\rline\x08\x07"
    )
    assert html == "orange rgb cursorline"


def test_markup_in_output_is_escaped():
    html = render_ansi('\x1b[31m<script>alert("x")</script>\x1b[0m & <b onclick=x>')
    assert "<script" not in html and "<b " not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&amp; &lt;b onclick=x&gt;" in html


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list("ab<>&\"'\x1b[];m0123456789\x07\r\n")), max_size=80))
def test_any_output_renders_to_text_and_known_spans_only(text):
    html = str(render_ansi(text))
    without_tags = ALLOWED_TAG.sub("", html)
    assert "<" not in without_tags and ">" not in without_tags.replace("&gt;", "")
    assert "\x1b" not in html and "\x07" not in html and "\r" not in html
    assert html.count("<span") == html.count("</span>")


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list("ab<>&\u00e9\x1b[m1\r\n\t\x00\x7f")), max_size=40))
def test_plain_pieces_take_the_short_way_to_the_same_html(text):
    """render_ansi only escapes a piece without escape or control characters: the same HTML
    as the renderer gives it."""
    assert render_ansi(text) == AnsiRenderer().render(text)


def test_colour_state_carries_across_pieces_of_one_renderer():
    renderer = AnsiRenderer()
    assert renderer.render("\x1b[32mgreen ") == '<span class="ansi-fg2">green </span>'
    assert renderer.render("still\x1b[0m done") == '<span class="ansi-fg2">still</span> done'


@pytest.mark.parametrize(
    ("text", "length"),
    [("plain", 5), ("ok \x1b", 3), ("ok \x1b[3", 3), ("ok \x1b[31", 3), ("ok \x1b[31m", 8)],
)
def test_complete_prefix_length_holds_back_a_cut_sequence(text, length):
    assert complete_prefix_length(text) == length


def test_strip_ansi():
    assert strip_ansi("\x1b[31mred\x1b[0m\r\n") == "red\n"


def test_parse_timing_ignores_garbage_and_keeps_order():
    timing = "0 0\nnonsense\n10 500\n5 100\n10 600\n999 10\n20 50\n"
    assert parse_timing(timing, 30) == [(0, 0), (5, 100), (10, 500), (20, 500)]
    assert parse_timing("", 10) == [(0, 0)]


def test_replay_chunks_follow_the_timing_and_never_cut_a_sequence():
    text = "one\n\x1b[31mtwo\x1b[0m\nthree\n"
    # Offsets 6 and 15 fall inside "\x1b[31m" and "\x1b[0m": each cut moves back to its ESC.
    chunks = replay_chunks(text, "0 0\n6 400\n15 900\n")
    assert chunks == [
        [0, "one\n"],
        [400, '<span class="ansi-fg1">two</span>'],
        [900, "\nthree\n"],
    ]


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("\x1b[" + "9" * 5000 + "mplain", "plain"),  # more digits than int() takes
        ("\x1b[000031mred", "red"),  # 6 digits: nothing
        ("\x1b[00031mred", '<span class="ansi-fg1">red</span>'),
        ("\x1b[1;" + "0" * 300 + "31mx", "x"),  # parameters over 256 characters: ignored
        ("\x1b[" + "2;" * 40 + "1mx", '<span class="ansi-dim">x</span>'),  # codes past 32
        ("\x1b[31;" + ";" * 5000 + "mx", "x"),
    ],
)
def test_sgr_parameters_are_bounded(text, html):
    assert render_ansi(text) == html
