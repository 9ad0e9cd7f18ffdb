"""RFC 4287's requirements of an Atom feed, checked on a parsed document: what a feed reader
relies on and what a validator (the W3C's, feedvalidator.org) reports as an error."""

import datetime
from urllib.parse import urlsplit

ATOM = "{http://www.w3.org/2005/Atom}"
# Elements a feed and an entry hold exactly once (4.1.1, 4.1.2) or at most once.
FEED_ONCE = ("id", "title", "updated")
FEED_AT_MOST_ONCE = ("generator", "icon", "logo", "rights", "subtitle")
ENTRY_ONCE = ("id", "title", "updated")
ENTRY_AT_MOST_ONCE = ("content", "published", "rights", "source", "summary")
TEXT_TYPES = ("text", "html", "xhtml")


def atom_errors(root):
    """Every way `root` (an ElementTree element) breaks RFC 4287; [] for a valid feed."""
    errors = []
    if root.tag != f"{ATOM}feed":
        return [f"the root is {root.tag}, not atom:feed"]
    entries = root.findall(f"{ATOM}entry")
    errors += _counts(root, "feed", FEED_ONCE, FEED_AT_MOST_ONCE)
    authors_everywhere = all(entry.find(f"{ATOM}author") is not None for entry in entries)
    if root.find(f"{ATOM}author") is None and not (entries and authors_everywhere):
        errors.append("feed: no atom:author, and not every entry has one (4.1.1)")
    errors += _common(root, "feed")
    for number, entry in enumerate(entries, 1):
        where = f"entry {number}"
        errors += _counts(entry, where, ENTRY_ONCE, ENTRY_AT_MOST_ONCE)
        errors += _common(entry, where)
        has_content = entry.find(f"{ATOM}content") is not None
        alternates = [
            link
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        if not has_content and not alternates:
            errors.append(f"{where}: neither atom:content nor an alternate link (4.1.1.1)")
        content = entry.find(f"{ATOM}content")
        if content is not None and content.get("src") and entry.find(f"{ATOM}summary") is None:
            errors.append(f"{where}: out-of-line content without atom:summary (4.1.2)")
    return errors


def _counts(element, where, once, at_most_once):
    errors = []
    for name in once:
        found = len(element.findall(f"{ATOM}{name}"))
        if found != 1:
            errors.append(f"{where}: {found} atom:{name} elements, must be exactly 1")
    for name in at_most_once:
        if len(element.findall(f"{ATOM}{name}")) > 1:
            errors.append(f"{where}: more than one atom:{name}")
    return errors


def _common(element, where):
    errors = []
    identifier = element.findtext(f"{ATOM}id") or ""
    if not _absolute_iri(identifier.strip()):
        errors.append(f"{where}: atom:id {identifier!r} is not an absolute IRI (4.2.6)")
    for name in ("updated", "published"):
        for date in element.findall(f"{ATOM}{name}"):
            if not _rfc3339(date.text or ""):
                errors.append(f"{where}: atom:{name} {date.text!r} is not an RFC 3339 date")
    for name in ("title", "subtitle", "summary", "rights"):
        for text in element.findall(f"{ATOM}{name}"):
            if text.get("type", "text") not in TEXT_TYPES:
                errors.append(f"{where}: atom:{name} has type {text.get('type')!r} (3.1.1)")
    for link in element.findall(f"{ATOM}link"):
        if not link.get("href"):
            errors.append(f"{where}: a link without href (4.2.7.1)")
    for person in element.findall(f"{ATOM}author"):
        if len(person.findall(f"{ATOM}name")) != 1:
            errors.append(f"{where}: an author without exactly one atom:name (3.2.1)")
    return errors


def _absolute_iri(text):
    parts = urlsplit(text)
    if parts.scheme in ("http", "https"):
        return bool(parts.netloc)
    return parts.scheme in ("tag", "urn") and bool(parts.path)


def _rfc3339(text):
    """A date-time with its offset (or Z), as RFC 3339 section 5.6 writes it."""
    text = text.strip()
    if len(text) < 20 or text[10] != "T" or not (text.endswith("Z") or text[-6] in "+-"):
        return False
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None
