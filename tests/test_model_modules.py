"""Every model lives in its app's models module (or package): one place to find each table,
and a logic module that defines a model cannot make the models import it back.

Read from the source (the AST of every module), so a model defined anywhere else fails here
whether or not anything imports it.
"""

import ast
from pathlib import PurePath

from tests.support import PROJECT_DIR

APPS = ("jobs", "workers", "suites")


def base_name(node):
    """The last name of a base class expression: `models.Model` -> "Model"."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def model_classes(sources):
    """[(path, class name)] of the classes subclassing django's Model, directly or through
    another model class of `sources` ({path: source text})."""
    classes = [
        (path, node)
        for path, text in sources.items()
        for node in ast.walk(ast.parse(text, filename=str(path)))
        if isinstance(node, ast.ClassDef)
    ]
    models = {"Model"}
    found = {}
    grew = True
    while grew:
        grew = False
        for path, node in classes:
            if node.name not in found.get(path, set()) and any(
                base_name(base) in models for base in node.bases
            ):
                found.setdefault(path, set()).add(node.name)
                models.add(node.name)
                grew = True
    return sorted((path, name) for path, names in found.items() for name in names)


def in_models_module(relative):
    """<app>/models.py or anything under <app>/models/."""
    parts = relative.parts
    return parts[1:] == ("models.py",) or (len(parts) > 2 and parts[1] == "models")


def app_sources():
    return {
        path.relative_to(PROJECT_DIR): path.read_text()
        for app in APPS
        for path in sorted((PROJECT_DIR / app).rglob("*.py"))
        if "migrations" not in path.relative_to(PROJECT_DIR).parts
    }


def test_every_model_is_defined_in_its_apps_models():
    found = model_classes(app_sources())
    assert (PurePath("jobs", "models", "leaderboard_tables.py"), "LeaderboardSummary") in found
    outside = [f"{path}: {name}" for path, name in found if not in_models_module(path)]
    assert outside == []


def test_the_scan_finds_a_model_outside_the_models_modules():
    """Directly, through an abstract model of another module, and under any import name."""
    # Made-up modules (a models package's base, a logic module) built from parts.
    base, logic = PurePath("jobs", "models", "base.py"), PurePath("jobs", "leaderboard", "rows.py")
    sources = {
        base: "from django.db import models\nclass Columns(models.Model):\n    pass\n",
        logic: (
            "from django.db.models import Model\nfrom jobs.models.base import Columns\n"
            "class Direct(Model):\n    pass\nclass Inherited(Columns):\n    pass\n"
            "class Plain:\n    pass\n"
        ),
    }
    found = model_classes(sources)
    assert found == [(logic, "Direct"), (logic, "Inherited"), (base, "Columns")]
    assert [name for path, name in found if not in_models_module(path)] == ["Direct", "Inherited"]
