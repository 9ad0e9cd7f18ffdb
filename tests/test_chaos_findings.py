"""Regressions the chaos drill found (scripts/chaos_drill.py)."""

import os

from workers.engine.workspace import OWNER_FILE, Workspace, remove_abandoned


def test_a_workspace_whose_owner_file_is_being_written_is_not_abandoned(tmp_path):
    """Workers on one host share the workspace root; one that starts a race removes the
    abandoned workspaces of dead ones. An owner file caught half-written (empty) used to
    count as abandoned, and a live race lost its checkout mid-build."""
    root = tmp_path / "workspaces"
    being_created = root / "race-being-created"
    being_created.mkdir(parents=True)
    (being_created / OWNER_FILE).write_text("")
    live = Workspace(root / "live-race").create()

    assert remove_abandoned(root) == 0
    assert being_created.exists() and live.root.exists()
    assert sorted(p.name for p in live.root.iterdir()) == [OWNER_FILE]
    assert (live.root / OWNER_FILE).read_text().split()[0] == str(os.getpid())

    os.utime(being_created, (0, 0))  # an empty owner file long after: abandoned
    assert remove_abandoned(root) == 1
    assert not being_created.exists() and live.root.exists()
