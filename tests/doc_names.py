"""The code names the docs use, and whether the code still has each of them.

A name is a backticked identifier-shaped token with an underscore, a dot or CamelCase
(`apply_verdict`, `jobs.models.Job`, `WorkerLoop.tick`), or what a Python example imports.
It is looked up in what the code really holds, read from its source (the AST of every module
of the project's packages), by importing, and in Django's models:

- `ARENA_X`: a setting buildarena/settings.py (or its settings table) reads or assigns;
- `pkg.module.name` (or `os.getloadavg`): imported, then each attribute looked up;
- `Class.member`: a class of that name defines the member (in its body, or inherited);
- `module.name`, `table.column`, `instance.field`: the module of that name (`diagnosis`)
  has it, the database table has the column, the class the instance is named after has it;
- a bare `name`: a def, a class or an assignment in the packages, a module, a table, a column
  or a name a migration's SQL creates, a test; a camelCase JSON key must be one of the code's
  string literals, and a name the code hands to another program (a syscall, a PostgreSQL
  setting) a word of one (docstrings never count).

What no code of ours spells (the kernel's names, Java's, Django's, the original app's) is in
the short allow-list OTHERS.
"""

import ast
import importlib
import os
import re
from functools import cache

from django.apps import apps

from tests.support import PROJECT_DIR

PACKAGES = ("buildarena", "jobs", "workers", "suites")
# buildarena/settings.py and the modules it reads its settings' table from
SETTINGS_FILES = sorted((PROJECT_DIR / "buildarena").glob("settings*.py"))
# A backticked token shaped like a code name: identifiers joined by dots, maybe called with
# arguments (`judge(standard, elide)`).
CODE_TOKEN = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?:\([^`]*\))?`")
# File names the docs quote: ours must exist (below); others (pom.xml, Foo.java) are not code.
OUR_FILE_SUFFIXES = ("py", "html")
FILE_SUFFIXES = (*OUR_FILE_SUFFIXES, "xml", "java", "kt", "svg", "conf", "stat", "LIST", "ext4")
# The allow-list: names the docs quote that no code of ours defines or spells, because they are
# another program's (the kernel's, Java's, a database's, Django's), the original app's, or
# history. Never one of our own names: those must be found in the code.
OTHERS = {
    # Linux capabilities, limits, syscalls and kernel knobs the sandboxing docs name
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_NET_ADMIN", "CAP_SETGID",
    "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_ADMIN", "CAP_SYS_CHROOT", "RLIMIT_FSIZE",
    "memfd_create", "kernel.shmmax",
    # Java, Maven and systemd: variables, enforcer rules, exceptions, unit options
    "JAVA_VERSION", "RequireJavaVersion", "RequireMavenVersion",
    "JavaCompiler.resolveJavaToolchain", "UnknownHostException", "ExecStartPre", "TimeoutStopSec",
    # SQLite's, PostgreSQL's, HTTP's, Django's, django-htmx's and Elide's own names
    "foreign_keys", "pg_terminate_backend", "listen_addresses", "max_connections", "jobs_pkey",
    "includeSubDomains", "JsonResponse", "QueryDict", "QuerySet.raw", "prefetch_related",
    "full_clean", "get_or_create", "update_or_create", "CONN_HEALTH_CHECKS", "request.htmx",
    "convert_from",
    # Gradle's and Elide's build scripts
    "languageVersion.set", "layout.artifacts", "layout.dependencies.resolve",
    # The original app's names, which the legacy import maps (docs/DATABASE.md)
    "DbJobManager", "container_id", "build_results.container_id",
    # History: the benchmark log's column since replaced by output_bytes (migration jobs 0017)
    "output_length", "build_results.output_length",
}  # fmt: skip


def is_code_name(token):
    """Identifier-shaped and not a plain word: it has an underscore, a dot or CamelCase."""
    return "_" in token or "." in token or re.search(r"[a-z][A-Z]", token)


# `from workers.engine import EngineConfig, run_race` in a Python code block of the docs
CODE_BLOCK_IMPORT = re.compile(r"^from ([\w.]+) import ([\w, ]+)$", re.MULTILINE)


def doc_tokens(text):
    """The backticked code names of a Markdown text, and what its Python examples import."""
    names = [token for token in CODE_TOKEN.findall(text) if is_code_name(token)]
    for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL):
        for module, imported in CODE_BLOCK_IMPORT.findall(block):
            names.extend(f"{module}.{name.strip()}" for name in imported.split(","))
    return names


def module_name(path):
    parts = list(path.relative_to(PROJECT_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def targets(node):
    """The names an assignment binds (tuples unpacked)."""
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            yield from targets(element)


class CodeIndex:
    """What the project's packages define, read once from their source."""

    def __init__(self):
        self.definitions = set()  # every def, class and assignment target, at any depth
        self.classes = {}  # class name -> [(module, names its body defines)]
        self.modules = {}  # last part of a module's name -> [module names]
        self.strings = set()  # identifier-shaped string literals of the code
        self.spoken = set()  # words of its other string literals (SQL, syscalls), not docstrings
        self.sql_words = set()  # words of the migrations (RunSQL: tables, triggers, functions)
        self.sql_tables = set()  # tables the migrations' SQL creates
        for package in PACKAGES:
            for path in sorted((PROJECT_DIR / package).rglob("*.py")):
                tree = ast.parse(path.read_text(), filename=str(path))
                if "migrations" in path.parts:
                    # SQL statements only: a bare name (AddField's, RemoveField's) may be gone
                    sql = " ".join(text for text in self._code_strings(tree) if " " in text)
                    self.sql_words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql))
                    self.sql_tables.update(re.findall(r"TABLE\s+(?:IF NOT EXISTS\s+)?(\w+)", sql))
                    continue
                name = module_name(path)
                self.modules.setdefault(name.rsplit(".", 1)[-1], []).append(name)
                self._read(tree, name)
        self.files = project_file_names()
        self.tests = {
            name
            for path in (PROJECT_DIR / "tests").rglob("test_*.py")
            for name in re.findall(r"^\s*def (test_\w+)", path.read_text(), re.MULTILINE)
        }
        self.settings = {
            name
            for tree in (ast.parse(path.read_text()) for path in SETTINGS_FILES)
            for name in (*self._code_strings(tree), *self._assigned(tree))
            if re.fullmatch(r"ARENA_[A-Z0-9_]+", name)
        }
        self.tables = {}  # table -> columns, from Django's models
        for model in apps.get_models():
            columns = self.tables.setdefault(model._meta.db_table, set())
            columns.update(field.column for field in model._meta.concrete_fields)
            columns.update(field.name for field in model._meta.concrete_fields)

    @staticmethod
    def _assigned(tree):
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    yield from targets(target)
            elif isinstance(node, ast.AnnAssign | ast.AugAssign):
                yield from targets(node.target)

    @staticmethod
    def _docstrings(tree):
        """The ids of the docstring nodes of a module, its classes and functions."""
        return {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }

    @classmethod
    def _code_strings(cls, tree):
        """The string literals of a module, docstrings aside."""
        docstrings = cls._docstrings(tree)
        for node in ast.walk(tree):
            is_string = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_string and id(node) not in docstrings:
                yield node.value

    def _read(self, tree, module):
        self.definitions.update(self._assigned(tree))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.definitions.add(node.name)
            if isinstance(node, ast.ClassDef):
                members = {
                    child.name
                    for child in node.body
                    if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                }
                members.update(
                    name
                    for child in node.body
                    if isinstance(child, ast.Assign | ast.AnnAssign)
                    for name in self._assigned(ast.Module(body=[child], type_ignores=[]))
                )
                self.classes.setdefault(node.name, []).append((module, members))
        for value in self._code_strings(tree):
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", value):
                self.strings.add(value)
            else:
                self.spoken.update(re.findall(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+", value))

    # Lookups, each answering whether the name is there.

    def has(self, token):
        """Does the code still have what `token` names?"""
        if token in OTHERS or token.endswith("_idx"):  # indexes: test_named_indexes_exist
            return True
        *_, suffix = token.split(".")
        if "." in token and suffix in FILE_SUFFIXES:
            return suffix not in OUR_FILE_SUFFIXES or token in self.files
        if token.startswith("ARENA_"):
            return token in self.settings
        if "." not in token:
            return self.has_bare(token)
        return self.has_dotted(token.split("."))

    def has_bare(self, name):
        if re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)+", name):  # a camelCase JSON key
            return name in self.strings
        return (
            name in self.definitions
            or name in self.modules
            or name in self.tables
            or any(name in columns for columns in self.tables.values())
            or name in self.sql_words
            or name in self.tests
            or name in self.strings
            or name in self.spoken
        )

    def has_dotted(self, parts):
        """Any reading of `a.b` that the code bears out: a module path, a class's member,
        a module's attribute, a table's column, an instance's field, a JSON object's key."""
        head, rest = parts[0], parts[1:]
        # `job.error`, `config.with_changes`: a member of the class the instance is named
        # after (Job, EngineConfig)
        instance = head.replace("_", "")
        named_like = [name for name in self.classes if name.lower().endswith(instance)]
        readings = (
            lambda: importable(".".join(parts)),
            lambda: head in self.classes and self.class_has(head, rest),
            lambda: any(importable(".".join([m, *rest])) for m in self.modules.get(head, ())),
            lambda: len(rest) == 1 and rest[0] in self.tables.get(head, ()),
            # a table a migration's SQL creates, and its column
            lambda: head in self.sql_tables and all(part in self.sql_words for part in rest),
            lambda: any(self.class_has(name, rest) for name in named_like),
            # `hostNoise.otherCpu`, `headline.reason`: keys of a JSON object the code writes
            lambda: all(part in self.strings for part in parts),
            # `arena.W001`: a check's id
            lambda: ".".join(parts) in self.strings,
        )
        return any(reading() for reading in readings)

    def class_has(self, class_name, members):
        for module, defined in self.classes[class_name]:
            if members[0] in defined and len(members) == 1:
                return True
            if importable(".".join([module, class_name, *members])):
                return True
        return False


def project_file_names():
    """The name of every file of the project (hidden folders and node_modules aside)."""
    names = set()
    for _folder, subfolders, files in os.walk(PROJECT_DIR):
        subfolders[:] = [sub for sub in subfolders if sub[0] != "." and sub != "node_modules"]
        names.update(files)
    return names


@cache
def importable(dotted):
    """Does `dotted` name a module, or an attribute reached from one by getattr?"""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            if not hasattr(found, part):
                return False
            found = getattr(found, part)
        return True
    return False


# `ARENA_X=value` in the text, and a configuration table's row: | `ARENA_X` | `default` | ...
SETTING_VALUE = re.compile(r"`(ARENA_[A-Z0-9_]+)=([^`]*)`")
SETTING_DEFAULT = re.compile(r"^\| `(ARENA_[A-Z0-9_]+)` \| `([^`<$]*)` \|", re.MULTILINE)


def wrong_setting_values(text):
    """What a text says of the ARENA_* settings' values that the settings' table contradicts:
    a value its parser refuses, or a default that is not the setting's default (with DEBUG
    off, as in production). Settings read by other programs (READ_ELSEWHERE) have no parser
    here; a default written as a placeholder (`<ARENA_WORKSPACE_ROOT>-tools`) is skipped."""
    from buildarena.settings_table import READ_ELSEWHERE, SETTINGS

    table = {setting.name: setting for setting in SETTINGS}
    wrong = []
    for name, value, default in [
        *((name, value, False) for name, value in SETTING_VALUE.findall(text)),
        *((name, value, True) for name, value in SETTING_DEFAULT.findall(text)),
    ]:
        setting = table.get(name)  # an unknown name is test_code_names_in_the_docs_exist's
        if setting is None or name in READ_ELSEWHERE:
            continue
        try:
            parsed = setting.parse(value.strip('"'))
        except ValueError as error:
            wrong.append(f"{name}={value}: {error}")
            continue
        real = setting.default(False) if callable(setting.default) else setting.default
        if default and parsed != real:
            wrong.append(f"{name}: the default is {real!r}, not {value!r}")
    return wrong
