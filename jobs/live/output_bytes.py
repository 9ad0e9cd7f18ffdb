"""Live output cut at UTF-8 byte positions, so that the database never counts characters.

The race page's poll asks, every second, for each side's output after the position it has
read up to. Cutting a text at a *character* offset makes the database walk the value from
its start: PostgreSQL decodes every character up to the offset (about 0.4 ms for a 64 KB
log, on every poll of every open page), SQLite likewise. Cutting the value's UTF-8 *bytes*
at a byte offset is a copy of the bytes asked for. So the poll's positions are byte positions
in the UTF-8 text (the JSON API keeps characters: a client's offsets there are documented as
such), and the piece read back is decoded here, where a position that falls inside a
character (a hand-made URL) or a limit that cuts one is taken care of.
"""

from django.db.models import BinaryField, Func, IntegerField


class OctetLength(Func):
    """The length of a text in UTF-8 bytes (the databases store text as UTF-8)."""

    function = "OCTET_LENGTH"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite before 3.43 has no OCTET_LENGTH; the length of a blob is its bytes.
        return self.as_sql(compiler, connection, template="LENGTH(CAST(%(expressions)s AS BLOB))")


class Utf8Bytes(Func):
    """A text's UTF-8 bytes, as a value that SUBSTR cuts by bytes (utf8_bytes_sql's SQL)."""

    output_field = BinaryField()

    def as_sql(self, compiler, connection, **extra_context):
        template = utf8_bytes_sql("%(expressions)s", connection.vendor)
        return super().as_sql(compiler, connection, template=template, **extra_context)


class ByteSubstr(Func):
    """SUBSTR of a binary value: 1-based byte position, optional byte count."""

    function = "SUBSTR"
    output_field = BinaryField()


def utf8_bytes_sql(column, vendor):
    """`column`'s UTF-8 bytes in SQL: for the poll's hand-written query, and Utf8Bytes's."""
    if vendor == "postgresql":
        return f"CONVERT_TO({column}, 'UTF8')"
    return f"CAST({column} AS BLOB)"


def _sequence_length(lead):
    """Bytes in the UTF-8 sequence that starts with byte `lead` (1 for a stray byte)."""
    if lead >= 0xF0:
        return 4
    if lead >= 0xE0:
        return 3
    if lead >= 0xC0:
        return 2
    return 1


def decode_piece(data, *, more_follows):
    """(skipped, text, used) for `data`, bytes cut from a UTF-8 text at byte positions.

    `skipped` bytes at the start belong to a character that began before the piece (a position
    inside a character): they are left out, and the piece's text starts at the next one.
    `used` bytes after them are decoded into `text`: all of them, except, when `more_follows`
    (the value goes on after this piece), a character the piece's end cut in two, which the
    next piece starts with. Without `more_follows` the piece ends where the value does, which
    is always a character's end. Bytes that are not UTF-8 at all (never written by the arena:
    a value put in by hand) become U+FFFD rather than an error.
    """
    data = bytes(data or b"")
    skipped = 0
    while skipped < min(3, len(data)) and 0x80 <= data[skipped] < 0xC0:
        skipped += 1
    end = len(data)
    if more_follows:
        for back in range(1, min(4, end - skipped) + 1):
            byte = data[end - back]
            if byte < 0x80 or byte >= 0xC0:  # the last sequence's first byte
                if byte >= 0xC0 and _sequence_length(byte) > back:
                    end -= back
                break
    return skipped, data[skipped:end].decode("utf-8", "replace"), end - skipped
