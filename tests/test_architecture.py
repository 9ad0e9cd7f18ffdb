"""The shape of the code: the apps depend one way (suites -> workers -> jobs) and no modules import
each other in a cycle, even through imports tucked inside functions.

Read from the source (the AST of every module), so an import the wrong way fails here
whether or not a test happens to execute it.
"""

import ast

import pytest

from tests.support import PROJECT_DIR

PACKAGES = ("buildarena", "jobs", "workers", "suites")
# Each app may import only the apps after it.
LAYERS = ("suites", "workers", "jobs")


def module_name(path):
    parts = list(path.relative_to(PROJECT_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules():
    """{module name: path} of every module of the project's packages."""
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((PROJECT_DIR / package).rglob("*.py"))
    }


def imported_modules(path, known):
    """The project modules a file imports, wherever the import statement is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from jobs import vocabulary` imports the module jobs.outcomes.vocabulary.
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else node.module
                for alias in node.names
            ]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in PACKAGES)
    return found


@pytest.fixture(scope="module")
def graph():
    modules = project_modules()
    return {name: imported_modules(path, modules) for name, path in modules.items()}


def test_the_apps_depend_one_way(graph):
    """suites imports workers and jobs, workers imports jobs, never the other way."""
    wrong_way = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module.split(".")[0] in LAYERS
        for target in targets
        if target.split(".")[0] in LAYERS
        and LAYERS.index(target.split(".")[0]) < LAYERS.index(module.split(".")[0])
    )
    assert wrong_way == []


def test_no_import_cycles(graph):
    cycles = []
    state = {}  # module -> "open" while on the path, "done" when explored

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_checks_see_a_wrong_way_import(tmp_path):
    """The walk finds an import inside a function body, the way cycles used to be dodged."""
    source = tmp_path / "sample.py"
    source.write_text("def f():\n    from workers.models import Worker\n    import jobs.models\n")
    known = {"workers.models", "jobs.models"}
    assert imported_modules(source, known) == {"workers.models", "jobs.models"}


def test_tests_mirror_the_code():
    """Every test module lies under tests/ at its code's path (tests/jobs/outcomes/ for
    jobs/outcomes/), except the whole-product tests of tests/system/ and these checks."""
    misplaced = []
    for path in sorted((PROJECT_DIR / "tests").rglob("test_*.py")):
        parts = path.relative_to(PROJECT_DIR / "tests").parts
        if len(parts) == 1 or parts[0] == "system":
            continue
        code_dir = PROJECT_DIR.joinpath(*parts[:-1])
        if not code_dir.is_dir():
            misplaced.append(str(path.relative_to(PROJECT_DIR)))
    assert misplaced == []
