"""Pointers stay true: every repository path, Markdown document and index named in the docs,
the comments and the code exists, so a reader who follows one is never led astray."""

import re

from tests.support import PROJECT_DIR

TOP_LEVEL = ("buildarena", "jobs", "workers", "tests", "docs", "benchmarks", "scripts", "static",
             "templates", "bin", ".ci")  # fmt: skip
SOURCES = [
    *sorted(PROJECT_DIR.glob("*.md")),
    *sorted((PROJECT_DIR / "docs").glob("*.md")),
    *(
        path
        for folder in ("buildarena", "jobs", "workers", "tests", "benchmarks", "scripts", "bin")
        for path in sorted((PROJECT_DIR / folder).rglob("*"))
        if path.is_file() and path.suffix in ("", ".py", ".sh") and "migrations" not in path.parts
    ),
]
# jobs/models.py, workers/scheduler/, static/js/race.js ... (a path under a top-level folder)
PATH = re.compile(
    r"(?<![\w./-])((?:" + "|".join(re.escape(name) for name in TOP_LEVEL) + r")/[\w./-]*)"
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
