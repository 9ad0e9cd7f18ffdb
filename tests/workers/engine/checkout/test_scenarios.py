"""The incremental scenario's source change: found carefully in a hostile tree, applied safely."""

import os

import pytest

from tests.repos import GREETER_JAVA, write_files
from workers.engine.checkout.scenarios import EditError, find_edit, literal_in_method


def edited_literal(source):
    offset = literal_in_method(source)
    if offset is None:
        return None
    start = source.rindex('"', 0, offset)
    return source[start : offset + 1]


def test_the_literal_chosen_is_inside_a_method_body_of_a_class():
    assert edited_literal(GREETER_JAVA) == '"Hello, "'


@pytest.mark.parametrize(
    "source",
    [
        # fields and constants (ABI: inlined by other classes), annotations, comments
        'class A { static final String X = "x"; @Deprecated(since = "1") void m() {} }',
        'class A { // "comment"\n /* "block" */ void m() { int x = 1; } }',
        'class A { void m() { @SuppressWarnings("unchecked") int x = 1; } }',
        # switch labels (a changed label can collide with another)
        'class A { void m(String s) { switch (s) { case "a": break; default: } } }',
        # interfaces, enums, records, static initializers, text blocks, char literals
        'interface I { default String m() { return "x"; } }',
        'enum E { A; String m() { return "x"; } }',
        'record R(int a) { String m() { return "x"; } }',
        'class A { static { System.out.println("init"); } }',
        'class A { String m() { return """\n  text "block"\n  """; } }',
        "class A { char m() { return '\"'; } }",
        # non-ASCII literals are left alone (the file's encoding is unknown)
        'class A { String n() { return "é"; } }',
    ],
)
def test_no_literal_outside_a_plain_method_body_is_chosen(source):
    assert edited_literal(source) is None


def test_nested_blocks_lambdas_and_throws_clauses_are_method_bodies():
    source = (
        "public class A<T> {\n"
        '  private String f = "field";\n'
        "  public A() throws java.io.IOException {\n"
        '    if (true) { Runnable r = () -> { System.out.println("in lambda"); }; }\n'
        "  }\n"
        "}\n"
    )
    assert edited_literal(source) == '"in lambda"'


def test_find_edit_scans_main_sources_only_and_never_follows_symlinks(tmp_path):
    outside = write_files(tmp_path / "outside", {"Evil.java": GREETER_JAVA})
    checkout = write_files(
        tmp_path / "checkout",
        {
            "src/test/java/a/ATest.java": GREETER_JAVA,
            "src/main/java/a/Constants.java": 'class C { static final String X = "x"; }',
            "src/main/java/b/Big.java": GREETER_JAVA + "//" + "x" * 300_000,
            "lib/src/main/java/z/Greeter.java": GREETER_JAVA,
        },
    )
    os.symlink(outside / "Evil.java", checkout / "src/main/java/a/Aaa.java")
    os.symlink(outside, checkout / "src/main/java/aa")
    edit = find_edit(checkout)
    assert edit.path == "lib/src/main/java/z/Greeter.java"
    assert edit.line == 9
    assert (
        edit.describe()
        == "lib/src/main/java/z/Greeter.java line 9 (a string literal in a method body)"
    )
    assert 'return "Hello,  [arena edit 2]" + who;' in edit.text(2)
    assert edit.text(2).replace(" [arena edit 2]", "") == GREETER_JAVA


def test_an_edit_never_writes_through_a_symlink_planted_by_a_build(tmp_path):
    checkout = write_files(tmp_path / "checkout", {"src/main/java/A.java": GREETER_JAVA})
    edit = find_edit(checkout)
    edit.apply(checkout, 1)
    assert "[arena edit 1]" in (checkout / edit.path).read_text()
    victim = write_files(tmp_path / "victim", {"file": "precious"})
    (checkout / edit.path).unlink()
    os.symlink(victim / "file", checkout / edit.path)
    with pytest.raises(EditError):
        edit.apply(checkout, 2)
    os.unlink(checkout / edit.path)
    (checkout / "src/main/java").rename(checkout / "moved")
    os.symlink(victim, checkout / "src/main/java")
    (victim / "A.java").write_text("victim's own file")
    with pytest.raises(EditError):
        edit.apply(checkout, 3)
    assert (victim / "file").read_text() == "precious"
    assert (victim / "A.java").read_text() == "victim's own file"
