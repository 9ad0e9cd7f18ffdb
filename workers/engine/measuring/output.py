"""Turning a build's raw bytes into text that is safe to store and show.

Builds print anything: invalid UTF-8, NUL bytes (which PostgreSQL text cannot hold), megabytes
of logs. `TextDecoder` decodes a byte stream split at arbitrary points; `OutputCap` keeps the
beginning and the end of a side's output and marks what it cut.
"""

import codecs
from collections import deque

REPLACEMENT = "\ufffd"


class TextDecoder:
    """Incremental UTF-8 decoding: a character split across chunks is decoded once whole."""

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def decode(self, data: bytes, final: bool = False) -> str:
        return clean_text(self._decoder.decode(data, final))

    def flush(self) -> str:
        return self.decode(b"", final=True)


def clean_text(text: str) -> str:
    """NUL cannot be stored in PostgreSQL text columns; show it as the replacement character."""
    return text.replace("\x00", REPLACEMENT) if "\x00" in text else text


class OutputCap:
    """Keeps the first (cap - tail) characters live, then only the last `tail` characters.

    `feed` returns the text to publish now: everything until the head is full, then one marker
    line announcing the cut. `finish` returns what to publish at the end: a line saying how
    much was cut, then the kept tail. The published text is therefore never longer than about
    `cap` characters plus the two marker lines.
    """

    def __init__(self, cap: int, tail: int):
        self.cap = max(cap, 0)
        self.tail_size = min(max(tail, 0), self.cap)
        self.head_size = self.cap - self.tail_size
        self.published = 0
        self.cut = 0
        self._tail = deque()
        self._tail_len = 0
        self._cutting = False

    def feed(self, text: str) -> str:
        if not text:
            return ""
        if not self._cutting:
            room = self.head_size - self.published
            if len(text) <= room:
                self.published += len(text)
                return text
            head, rest = text[:room], text[room:]
            self.published += len(head)
            self._cutting = True
            self._keep(rest)
            return head + (
                f"\n[arena: output cap of {self.cap} characters reached; the middle is cut "
                f"and the last {self.tail_size} characters are shown when this side ends]\n"
            )
        self._keep(text)
        return ""

    def _keep(self, text):
        self._tail.append(text)
        self._tail_len += len(text)
        while self._tail and self._tail_len - len(self._tail[0]) >= self.tail_size:
            dropped = self._tail.popleft()
            self._tail_len -= len(dropped)
            self.cut += len(dropped)

    def finish(self) -> str:
        if not self._cutting:
            return ""
        tail = "".join(self._tail)
        extra = len(tail) - self.tail_size
        if extra > 0:
            tail = tail[extra:]
            self.cut += extra
        self._tail.clear()
        self._tail_len = 0
        self._cutting = False
        # Further output (a later run of the same side) stays cut until the end.
        self.head_size = self.published
        return f"\n[arena: {self.cut} characters cut here]\n{tail}"
