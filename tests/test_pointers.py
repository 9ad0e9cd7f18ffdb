"""Pointers stay true: every repository path, Markdown document and index named in the docs,
the comments and the code exists, so a reader who follows one is never led astray."""

import re

from tests.support import PROJECT_DIR

TOP_LEVEL = ("buildarena", "jobs", "workers", "suites", "tests", "docs", "benchmarks", "scripts",
             "static", "templates", "bin", ".ci", "deploy")  # fmt: skip
SOURCES = [
    *sorted(PROJECT_DIR.glob("*.md")),
    *sorted((PROJECT_DIR / "docs").glob("*.md")),
    *(
        path
        for folder in (
            "buildarena",
            "jobs",
            "workers",
            "tests",
            "benchmarks",
            "scripts",
            "bin",
            "deploy",
        )
        for path in sorted((PROJECT_DIR / folder).rglob("*"))
        if path.is_file() and path.suffix in ("", ".py", ".sh") and "migrations" not in path.parts
    ),
]
# jobs/models.py, workers/scheduler/, static/js/race.js ... (a path under a top-level folder)
PATH = re.compile(
    r"(?<![\w./-])((?:" + "|".join(re.escape(name) for name in TOP_LEVEL) + r")/[\w./@-]*)"
)
DOCUMENT = re.compile(r"(?<![\w/.-])([A-Z][A-Z_]+\.md)\b")
TEMPLATES = PROJECT_DIR / "templates"
INDEX = re.compile(r"\b([a-z_]+_idx)\b")


def texts():
    for path in SOURCES:
        try:
            yield path, path.read_text()
        except UnicodeDecodeError:
            continue


def defined_indexes():
    names = set()
    for models in PROJECT_DIR.glob("*/migrations/*.py"):
        names.update(re.findall(r"name=['\"]([a-z_]+_idx)['\"]", models.read_text()))
    return names


def test_named_paths_exist():
    missing = []
    for source, text in texts():
        for match in PATH.finditer(text):
            target = match.group(1).rstrip(".,:;)")
            if "*" in target or "<" in target:
                continue
            # Template names are relative to templates/ ("jobs/race.html").
            if not any((folder / target).exists() for folder in (PROJECT_DIR, TEMPLATES)):
                missing.append(f"{source.relative_to(PROJECT_DIR)}: {target}")
    assert missing == []


def unknown_names(pattern, known):
    """Each `pattern` match in the sources that is not in `known`, with where it stands."""
    return sorted(
        f"{source.relative_to(PROJECT_DIR)}: {name}"
        for source, text in texts()
        for name in pattern.findall(text)
        if name not in known
    )


def test_named_documents_are_in_the_repository():
    documents = {path.name for path in [*PROJECT_DIR.glob("*.md"), *PROJECT_DIR.glob("docs/*.md")]}
    assert unknown_names(DOCUMENT, documents) == []


def test_named_indexes_exist():
    assert unknown_names(INDEX, defined_indexes()) == []


CODE_FOLDERS = ("buildarena", "jobs", "workers", "suites", "benchmarks", "scripts", "bin", "deploy",
                "templates", "static", "tests", ".ci")  # fmt: skip
CODE_SUFFIXES = ("", ".py", ".sh", ".html", ".js", ".css", ".txt", ".service", ".timer", ".example")
# Names of Django, PostgreSQL and SQLite that the docs quote: not ours to define.
OTHERS_NAMES = {"QueryDict", "jobs_pkey", "convert_from", "max_connections"}
# What the docs name in backticks: a setting, a class, a function or attribute (snake_case,
# optionally dotted or called), each of which must be spelt somewhere in the code.
SETTING = re.compile(r"`(ARENA_[A-Z0-9_]+)")
CLASS = re.compile(r"`([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+)(?:\(\))?`")
FUNCTION = re.compile(r"`(?:[a-z_][a-z0-9_]*\.)*([a-z][a-z0-9]*_[a-z0-9_]+)(?:\([^`]*\))?`")


def code_words():
    words = set()
    for folder in CODE_FOLDERS:
        for path in (PROJECT_DIR / folder).rglob("*"):
            if path.is_file() and path.suffix in CODE_SUFFIXES:
                try:
                    words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", path.read_text()))
                except UnicodeDecodeError:
                    continue
    return words


def test_names_in_the_docs_exist_in_the_code():
    known = code_words() | OTHERS_NAMES
    docs = [*sorted(PROJECT_DIR.glob("*.md")), *sorted((PROJECT_DIR / "docs").glob("*.md"))]
    missing = sorted(
        f"{doc.relative_to(PROJECT_DIR)}: {name}"
        for doc in docs
        for pattern in (SETTING, CLASS, FUNCTION)
        for name in pattern.findall(doc.read_text())
        if name not in known
    )
    assert missing == []
