"""How many artifacts a run fetched, counted from the build's own output.

Maven prints one line per finished download ("Downloaded from central: https://...") unless
told to be quiet (`-q`, or `--no-transfer-progress`/`-ntp`, which hides these lines too); a
warm run that fetches nothing prints none. Tools that print no such line (Gradle, Elide) are
not counted: their count is None, never a made-up 0.
"""

import re

DOWNLOADED_RE = re.compile(r"^(?:\[INFO\] )?Downloaded from [^:\s]+: \S+", re.MULTILINE)
COUNTED_TOOLS = ("maven",)
MAX_LINE = 8192


class DownloadCounter:
    """Counts download lines in a stream of decoded output, across chunk boundaries."""

    def __init__(self):
        self.count = 0
        self._partial = ""

    def feed(self, text):
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()[-MAX_LINE:]
        self.count += sum(1 for line in lines if DOWNLOADED_RE.match(line.rstrip("\r")))

    def finish(self):
        """The count, including a last line without a newline."""
        if DOWNLOADED_RE.match(self._partial.rstrip("\r")):
            self.count += 1
        self._partial = ""
        return self.count


def counted(tool):
    """True when `tool`'s output names its downloads (so a count of 0 means none)."""
    return tool in COUNTED_TOOLS
