"""Build output made safe for HTML: escaped text, ANSI colours turned into CSS classes.

Output comes from hostile repositories. Every character of it is HTML-escaped; SGR colour
sequences (ESC [ ... m) become <span class="ansi-..."> from a fixed set of class names, every
other escape or control sequence is dropped. No value from the output ever reaches an
attribute, so nothing in it can inject markup, styles or scripts.
"""

import re

from django.utils.html import escape
from django.utils.safestring import mark_safe

# CSI sequences (ESC [ params intermediates final), OSC sequences (ESC ] ... BEL or ST),
# and two-character escapes; anything else that is a control character is dropped below.
_ESCAPE_RE = re.compile(
    r"\x1b\[(?P<params>[0-?]*)[ -/]*(?P<final>[@-~])"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[@-Z\\-_]"
)
# Control characters other than newline and tab (BEL, backspace, carriage return, ...).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A sequence cut off at the end of a chunk: held back until the rest arrives.
_PARTIAL_TAIL_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*)?$")

_FG = {30 + i: f"ansi-fg{i}" for i in range(8)} | {90 + i: f"ansi-fg{i + 8}" for i in range(8)}
_BG = {40 + i: f"ansi-bg{i}" for i in range(8)} | {100 + i: f"ansi-bg{i + 8}" for i in range(8)}

# Hostile output may send `ESC [` with megabytes of parameters. Parameter text longer than this
# is ignored whole; only the first MAX_SGR_CODES codes count; a code of more digits than
# MAX_SGR_DIGITS means nothing (and is never handed to int(), which refuses > 4,300 digits).
MAX_SGR_PARAMS_CHARS = 256
MAX_SGR_CODES = 32
MAX_SGR_DIGITS = 5


def complete_prefix_length(text):
    """Length of `text` without an escape sequence cut off at its end."""
    tail = text[-64:]
    match = _PARTIAL_TAIL_RE.search(tail)
    if match is None:
        return len(text)
    return len(text) - len(tail) + match.start()


class _Style:
    """The SGR state that matters for display: bold, dim, italic, underline, fg, bg."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.bold = self.dim = self.italic = self.underline = False
        self.fg = self.bg = None

    def apply(self, params):
        if len(params) > MAX_SGR_PARAMS_CHARS:
            return
        codes = [_code(p) for p in params.split(";")[:MAX_SGR_CODES]] if params else [0]
        index = 0
        while index < len(codes):
            code = codes[index]
            if code in (38, 48):
                # Extended colours (256 / truecolor): skipped, their arguments consumed.
                mode = codes[index + 1] if index + 1 < len(codes) else None
                index += 3 if mode == 5 else 5 if mode == 2 else 1
                continue
            self._apply_one(code)
            index += 1

    def _apply_one(self, code):
        if code == 0:
            self.reset()
        elif code == 1:
            self.bold = True
        elif code == 2:
            self.dim = True
        elif code == 3:
            self.italic = True
        elif code == 4:
            self.underline = True
        elif code == 22:
            self.bold = self.dim = False
        elif code == 23:
            self.italic = False
        elif code == 24:
            self.underline = False
        elif code in _FG:
            self.fg = _FG[code]
        elif code == 39:
            self.fg = None
        elif code in _BG:
            self.bg = _BG[code]
        elif code == 49:
            self.bg = None

    def classes(self):
        names = [
            name
            for flag, name in (
                (self.bold, "ansi-bold"),
                (self.dim, "ansi-dim"),
                (self.italic, "ansi-italic"),
                (self.underline, "ansi-underline"),
            )
            if flag
        ]
        names += [c for c in (self.fg, self.bg) if c]
        return " ".join(names)


def _code(param):
    """An SGR code: empty means 0 (reset); anything not a short decimal number means nothing."""
    if not param:
        return 0
    if len(param) > MAX_SGR_DIGITS or not param.isascii() or not param.isdigit():
        return -1
    return int(param)


def _clean(text):
    return _CONTROL_RE.sub("", text.replace("\r\n", "\n"))


class AnsiRenderer:
    """Renders successive pieces of one output, carrying the colour state between them.

    Every piece comes out as valid HTML on its own (spans closed at its end, reopened in the
    next piece), so the pieces can be appended to a page one by one (replay).
    """

    def __init__(self):
        self.style = _Style()

    def render(self, text):
        parts = []
        position = 0
        for match in _ESCAPE_RE.finditer(text):
            self._append(parts, text[position : match.start()])
            if match.group("final") == "m":
                self.style.apply(match.group("params"))
            position = match.end()
        self._append(parts, text[position:])
        return mark_safe("".join(parts))  # noqa: S308 (every piece of text went through escape)

    def _append(self, parts, text):
        text = _clean(text.replace("\x1b", ""))
        if not text:
            return
        classes = self.style.classes()
        if classes:
            parts.append(f'<span class="{classes}">{escape(text)}</span>')
        else:
            parts.append(escape(text))


def render_ansi(text):
    """HTML for a piece of build output: escaped, colours as spans, other controls removed.

    The colour state starts plain, so a piece appended by the poll endpoint stands alone. A
    piece without escape or control characters, most of a build's output, is only escaped.
    """
    text = text or ""
    if _CONTROL_RE.search(text) is None:  # ESC and CR are control characters too
        return escape(text)
    return AnsiRenderer().render(text)


def strip_ansi(text):
    """Plain text: escape sequences and control characters removed (for CSV, titles)."""
    return _clean(_ESCAPE_RE.sub("", text or "").replace("\x1b", ""))
