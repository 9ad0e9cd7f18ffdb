"""Regressions the chaos drill found (scripts/chaos_drill.py)."""

import os

from workers.engine.checkout.workspace import OWNER_FILE, Workspace, remove_abandoned


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


def test_workers_removing_the_same_abandoned_workspace_at_once_do_not_fail(tmp_path):
    """Every race starts by removing workspaces of dead workers; two races starting together
    removed the same tree, and the one that lost a file to the other failed its race."""
    import subprocess
    import threading

    root = tmp_path / "workspaces"
    dead = subprocess.Popen(["true"])
    dead.wait()
    for n in range(3):
        tree = root / f"dead-race-{n}"
        for d in range(40):
            (tree / "checkout" / f"dir{d}").mkdir(parents=True)
            for f in range(25):
                (tree / "checkout" / f"dir{d}" / f"file{f}").write_text("x")
        (tree / OWNER_FILE).write_text(f"{dead.pid} 1")
    errors = []

    def clean():
        try:
            remove_abandoned(root)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=clean) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(root.iterdir()) == []
