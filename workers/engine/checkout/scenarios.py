"""Build scenarios, as gradle-profiler names them, and the source change of `incremental`.

clean        every measured run builds a fresh copy of the checkout.
noop         one unmeasured initial build of a fresh copy, then each measured run builds the
             same tree again with nothing changed.
incremental  the same initial build, then before each measured run one string literal inside
             a method body of a real class gets a new value, and the rebuild is measured. The
             change is found once per race in the checkout, so both sides make the same one.

The change is non-ABI by construction: only the text of a string literal inside a method (or
constructor) body changes, never a signature, field or constant. Finding it reads a hostile
tree, so the scan is bounded (files visited, files read, bytes per file) and follows no symlink.
"""

import re
from dataclasses import dataclass

from workers.engine.failures import EnvironmentFailure
from workers.engine.isolation.safefiles import UnsafePath, read_text, walk_regular_files, write_text

CLEAN = "clean"
NOOP = "noop"
INCREMENTAL = "incremental"
SCENARIOS = (CLEAN, NOOP, INCREMENTAL)
MAX_FILES_VISITED = 20_000
MAX_FILES_READ = 500
MAX_SOURCE_BYTES = 256 * 1024
SKIPPED_DIRS = (".git", "target", "build", "node_modules", ".gradle", ".mvn", "out")
_TYPE_RE = re.compile(r"\b(class|interface|enum|record)\b")
_METHOD_HEAD_RE = re.compile(r"\)\s*(?:throws\s+[\w.\s,<>]+)?$")
_SAFE_LITERAL_RE = re.compile(r'^"[ -~]{0,200}"$')


class EditError(EnvironmentFailure):
    """The change could not be applied (the file was replaced, e.g. by a symlink); the
    arena could not set up the run, so the race is void."""


@dataclass(frozen=True)
class SourceEdit:
    path: str  # relative to the checkout
    line: int
    offset: int  # index of the literal's closing quote in `original`
    original: str

    def describe(self):
        return f"{self.path} line {self.line} (a string literal in a method body)"

    def text(self, number):
        """The file with the literal's value changed for the `number`th time."""
        marker = f" [arena edit {number}]"
        return self.original[: self.offset] + marker + self.original[self.offset :]

    def apply(self, src, number):
        try:
            write_text(src, self.path, self.text(number))
        except (UnsafePath, OSError) as exc:
            raise EditError(f"could not change {self.path}: {exc}") from None


def find_edit(checkout):
    """The SourceEdit to make in the checkout, or None when no Java class has a plain string
    literal inside a method body (main sources only: tests are not built by the race)."""
    paths = walk_regular_files(checkout, max_files=MAX_FILES_VISITED, skip_dirs=SKIPPED_DIRS)
    candidates = [
        path
        for path in paths
        if path.endswith(".java")
        and "src/main/java/" in f"/{path}"
        and not path.endswith(("package-info.java", "module-info.java"))
    ]
    for path in candidates[:MAX_FILES_READ]:
        text = read_text(checkout, path, MAX_SOURCE_BYTES)
        if text is None or "\ufffd" in text:
            continue
        offset = literal_in_method(text)
        if offset is not None:
            return SourceEdit(path, text.count("\n", 0, offset) + 1, offset, text)
    return None


# Spans the lexer skips whole, opener and closer: a block comment and a text block.
_SKIPPED_SPANS = (("/*", "*/"), ('"""', '"""'))


def literal_in_method(text):
    """Index of the closing quote of the first suitable string literal, or None.

    A small Java lexer: comments, character literals and text blocks are skipped; each `{`
    is classified by the statement before it (a type body, a method body when it follows
    `)` or `) throws ...`, else an inner block). A literal qualifies inside a method body of a
    `class` when its statement has no annotation, `case` label or `switch`.
    """
    blocks = []  # "type:class", "type:other", "method", "block"
    statement_start = 0
    i, length = 0, len(text)
    while i < length:
        char = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = length if end < 0 else end
            continue
        span = next((span for span in _SKIPPED_SPANS if text.startswith(span[0], i)), None)
        if span is not None:
            opener, closer = span
            end = text.find(closer, i + len(opener))
            if end < 0:
                return None  # unterminated: not a source to edit
            i = end + len(closer)
            continue
        if char in "\"'":
            end = _literal_end(text, i, char)
            if end is None:
                return None
            if char == '"' and _qualifies(blocks, text[statement_start:i], text[i : end + 1]):
                return end
            i = end + 1
            continue
        if char == "{":
            blocks.append(_block_kind(blocks, _strip_comments(text[statement_start:i])))
            statement_start = i + 1
        elif char == "}":
            if blocks:
                blocks.pop()
            statement_start = i + 1
        elif char == ";":
            statement_start = i + 1
        i += 1
    return None


def _literal_end(text, start, quote):
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        if text[i] == "\n":
            return None
        i += 1
    return None


def _strip_comments(statement):
    statement = re.sub(r"/\*.*?\*/", " ", statement, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", " ", statement).strip()


def _block_kind(blocks, statement):
    match = _TYPE_RE.search(re.sub(r'"[^"\n]*"', '""', statement))
    if match and "(" not in statement.split(match.group(1), 1)[0]:
        return "type:class" if match.group(1) == "class" else "type:other"
    if blocks and blocks[-1].startswith("type:") and _METHOD_HEAD_RE.search(statement):
        return "method"
    return "block"


def _qualifies(blocks, statement, literal):
    if not _SAFE_LITERAL_RE.match(literal):
        return False
    for index in range(len(blocks) - 1, 0, -1):
        if blocks[index] == "method":
            if blocks[index - 1] != "type:class":
                return False
            break
    else:
        return False
    prefix = _strip_comments(statement)
    return not ("@" in prefix or re.search(r"\b(case|switch|default)\b", prefix))
