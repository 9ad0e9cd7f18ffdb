"""Recipes: what each side runs and how its toolchain's version is read."""

from workers.engine.tools.recipes import parse_version


def test_the_version_line_is_the_one_naming_the_tool_not_a_wrappers_download():
    probe = (
        "--2026-12-03 06:19:07--  https://repo.maven.apache.org/maven2/org/apache/maven/"
        "wrapper/maven-wrapper/3.3.2/maven-wrapper-3.3.2.jar\n"
        "Apache Maven 3.9.9 (8e8579a9e76f7d015ee5ec7bfcdc97d260186937)\nMaven home: /x\n"
    )
    assert parse_version(probe, "maven") == (
        "Apache Maven 3.9.9 (8e8579a9e76f7d015ee5ec7bfcdc97d260186937)"
    )
