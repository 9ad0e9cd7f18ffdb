"""Pointers stay true: every repository path, Markdown document and index named in the docs,
the comments and the code exists, and every function, class, attribute, module and setting the
docs name is still there (with the values they give settings accepted), so a reader who follows
one is never led astray."""

import re

from tests.doc_names import CodeIndex, doc_tokens, wrong_setting_values
from tests.support import PROJECT_DIR

DOCS = [*sorted(PROJECT_DIR.glob("*.md")), *sorted((PROJECT_DIR / "docs").glob("*.md"))]
TOP_LEVEL = ("buildarena", "jobs", "workers", "suites", "tests", "docs", "benchmarks", "scripts",
             "static", "templates", "bin", ".ci", "deploy")  # fmt: skip
SOURCES = [
    *DOCS,
    *(
        path
        for folder in (
            "buildarena",
            "jobs",
            "workers",
            "suites",
            "tests",
            "benchmarks",
            "scripts",
            "bin",
            "deploy",
        )
        for path in sorted((PROJECT_DIR / folder).rglob("*"))
        # URL routes (urls.py) look like paths but name pages, not files
        if path.is_file()
        and path.suffix in ("", ".py", ".sh")
        and "migrations" not in path.parts
        and path.name != "urls.py"
    ),
]
# jobs/api.py, workers/scheduler/, static/js/race.js ... (a path under a top-level folder)
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


def test_code_names_in_the_docs_exist():
    """Every function, class, attribute, module and setting the docs name in backticks is still
    there (tests/doc_names.py says how each kind of name is looked up)."""
    code = CodeIndex()
    missing = sorted(
        {
            f"{doc.relative_to(PROJECT_DIR)}: {token}"
            for doc in DOCS
            for token in doc_tokens(doc.read_text())
            if not code.has(token)
        }
    )
    assert missing == []


def test_setting_values_in_the_docs_are_accepted():
    """`ARENA_SANDBOX=none` names a value the setting accepts, and a configuration table's
    default is the setting's real default."""
    wrong = [
        f"{doc.relative_to(PROJECT_DIR)}: {problem}"
        for doc in DOCS
        for problem in wrong_setting_values(doc.read_text())
    ]
    assert wrong == []


# `test_quota.py::test_a_deep_home...`, `tests/jobs/live/test_terminal.py::test_sgr_...`
TEST_REFERENCE = re.compile(r"`((?:[\w.-]+/)*test_\w+\.py)::(test_\w+)")


def test_named_tests_exist():
    """A test the docs cite as proof is a test function in a test module whose path ends with
    the path given (documents name folders relative to the tests they describe)."""
    modules = sorted((PROJECT_DIR / "tests").rglob("test_*.py"))
    missing = []
    for path, text in texts():
        if path.suffix != ".md":
            continue
        for module, test in set(TEST_REFERENCE.findall(text)):
            candidates = [m for m in modules if m.as_posix().endswith("/" + module)]
            defined = re.compile(rf"^\s*(?:async )?def {test}\(", re.MULTILINE)
            if not any(defined.search(candidate.read_text()) for candidate in candidates):
                missing.append(f"{path.name}: {module}::{test}")
    assert missing == []
