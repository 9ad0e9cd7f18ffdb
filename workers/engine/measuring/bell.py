"""The bell: how a build says it is done, detected on a stream that arrives in chunks.

Rules (docs/ENGINE.md, "The bell"): the canonical block `🔔 BUILD COMPLETE 🔔` followed by
`Status: SUCCESS` or `Status: FAILURE` (case-insensitive, space optional); without it, Maven's
and Gradle's own `BUILD SUCCESS(FUL)` / `BUILD FAILURE` / `BUILD FAILED`; a lone BEL character
rings too, with no status. A canonical status outranks the fallbacks; any fallback failure
outranks a fallback success. The bell alone never makes a side successful: see
`BellDetector.reported_failure`.
"""

import re

from jobs.outcomes.vocabulary import FAILURE, SUCCESS

MARKER = "🔔 BUILD COMPLETE 🔔"
UNKNOWN = "unknown"

_PATTERN = re.compile(
    r"(?P<marker>" + re.escape(MARKER) + r")"
    r"|(?P<status>status:[ \t]{0,8}(?P<status_value>success|failure))"
    r"|(?P<fail>build fail(?:ure|ed))"
    r"|(?P<ok>build success(?:ful)?)"
    r"|(?P<bel>\x07)",
    re.IGNORECASE,
)
# Longer than any match, so a match that began in the previous chunk is found again whole.
_CARRY = 64


class BellDetector:
    def __init__(self):
        self._carry = ""
        self.marker_seen = False
        self.bel_seen = False
        self.canonical_status = None
        self.fallback_failure = False
        self.fallback_success = False

    def feed(self, text: str) -> None:
        if not text:
            return
        window = self._carry + text
        fresh_from = len(self._carry)
        for match in _PATTERN.finditer(window):
            # A match ending inside the carried text was counted with the previous chunk.
            if match.end() <= fresh_from:
                continue
            kind = match.lastgroup
            if kind == "marker":
                self.marker_seen = True
            elif kind in ("status", "status_value"):
                if self.marker_seen:
                    self.canonical_status = match.group("status_value").lower()
            elif kind == "fail":
                self.fallback_failure = True
            elif kind == "ok":
                self.fallback_success = True
            elif kind == "bel":
                self.bel_seen = True
        self._carry = window[-_CARRY:]

    @property
    def rung(self) -> bool:
        return self.marker_seen or self.bel_seen or self.fallback_failure or self.fallback_success

    @property
    def status(self) -> str:
        if self.canonical_status:
            return self.canonical_status
        if self.fallback_failure:
            return FAILURE
        if self.fallback_success:
            return SUCCESS
        return UNKNOWN

    @property
    def reported_failure(self) -> bool:
        return self.status == FAILURE


def detect(text: str) -> BellDetector:
    """Run the detector over a whole text (convenience for tests and one-shot checks)."""
    detector = BellDetector()
    detector.feed(text)
    return detector
