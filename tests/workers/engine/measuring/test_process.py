"""The process runner and the output pipeline: timing, chunks, kill of a whole tree, caps."""

import os
import threading
import time

from tests.support import require_tool
from workers.engine.measuring.cpuaccount import CpuAccount
from workers.engine.measuring.output import OutputCap, TextDecoder
from workers.engine.measuring.process import Launch, run_process


def run(argv, timeout=30, cancel=None, **kwargs):
    chunks = []
    started = time.monotonic()

    def on_output(data):
        chunks.append((data, time.monotonic() - started))

    outcome = run_process(
        Launch(argv), timeout=timeout, on_output=on_output, cancel=cancel, **kwargs
    )
    return outcome, chunks


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_output_arrives_in_chunks_while_the_command_runs_and_timing_is_measured():
    outcome, chunks = run(["sh", "-c", "echo one; sleep 0.4; echo two 1>&2; sleep 0.2"])
    assert outcome.exit_code == 0 and outcome.ok
    assert b"".join(data for data, _ in chunks) == b"one\ntwo\n"  # stderr merged in order
    first = next(at for data, at in chunks if b"one" in data)
    second = next(at for data, at in chunks if b"two" in data)
    assert second - first >= 0.35  # delivered as it came, not at the end
    assert 550 <= outcome.elapsed_ms < 2000


def test_exit_code_and_signal_death_are_reported():
    assert run(["sh", "-c", "exit 3"])[0].exit_code == 3
    assert run(["sh", "-c", "kill -KILL $$"])[0].exit_code == 128 + 9


def test_missing_executable_is_a_clear_error():
    outcome, _ = run(["/nonexistent/tool", "build"])
    assert outcome.exit_code is None
    assert "could not start /nonexistent/tool" in outcome.error


def test_timeout_kills_a_tree_whose_child_ignores_sigterm(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = f"sh -c 'trap \"\" TERM; echo $$ > {pid_file}; while true; do sleep 0.1; done' & wait"
    started = time.monotonic()
    outcome, _ = run(["sh", "-c", script], timeout=1, kill_grace=0.5)
    assert outcome.timed_out and not outcome.ok
    assert time.monotonic() - started < 5
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 3
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_a_child_that_left_its_process_group_is_killed_too(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = f"setsid sh -c 'trap \"\" TERM; echo $$ > {pid_file}; sleep 60' & sleep 60"
    outcome, _ = run(["sh", "-c", script], timeout=1, kill_grace=0.3)
    assert outcome.timed_out
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 3
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_cancel_stops_the_command_within_a_second():
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    outcome, _ = run(["sh", "-c", "sleep 30"], cancel=cancel)
    assert outcome.cancelled and not outcome.timed_out
    assert time.monotonic() - started < 2


def test_a_stopped_tree_runs_no_further_command_however_slowly_it_is_signalled(monkeypatch):
    """On a busy host the signals of one stop reach a tree's processes milliseconds apart: a
    shell whose child died first must not see it die and run its next command."""
    real_kill = os.kill

    def slow_kill(pid, sig):
        real_kill(pid, sig)
        time.sleep(0.1)  # the signalling thread loses the CPU between two processes

    monkeypatch.setattr(os, "kill", slow_kill)
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    outcome, chunks = run(["sh", "-c", "echo started; sleep 30; echo late"], cancel=cancel)
    output = b"".join(data for data, _ in chunks)
    assert outcome.cancelled
    assert b"started" in output and b"late" not in output


def test_leftover_background_process_holding_the_pipe_does_not_hang_the_run():
    started = time.monotonic()
    outcome, _ = run(["sh", "-c", "sleep 30 & echo done"])
    assert outcome.exit_code == 0
    assert time.monotonic() - started < 3


def test_invalid_utf8_and_nul_bytes_become_safe_text():
    outcome, chunks = run(["printf", "ok \\377\\376 nul:\\000: caf\\303\\251\\n"])
    assert outcome.exit_code == 0
    decoder = TextDecoder()
    text = "".join(decoder.decode(data) for data, _ in chunks) + decoder.flush()
    assert "\x00" not in text
    assert text == "ok \ufffd\ufffd nul:\ufffd: café\n"


def test_decoder_joins_a_character_split_across_chunks():
    data = "é🔔".encode()
    for cut in range(len(data) + 1):
        decoder = TextDecoder()
        assert decoder.decode(data[:cut]) + decoder.decode(data[cut:]) + decoder.flush() == "é🔔"


def test_output_cap_keeps_head_and_tail_and_marks_the_cut():
    cap = OutputCap(cap=100, tail=30)
    lines = [f"line {i:04d}\n" for i in range(200)]  # 10 characters each
    published = "".join(cap.feed(line) for line in lines) + cap.finish()
    full = "".join(lines)
    assert published.startswith(full[:70])
    assert published.endswith(full[-30:])
    assert "output cap of 100 characters reached" in published
    assert f"[arena: {len(full) - 100} characters cut here]" in published
    assert len(published) < 100 + 250


def test_output_cap_publishes_everything_under_the_cap():
    cap = OutputCap(cap=1000, tail=100)
    assert cap.feed("hello\n") == "hello\n"
    assert cap.finish() == ""


def test_output_cap_on_a_real_noisy_command():
    cap = OutputCap(cap=5000, tail=1000)
    decoder = TextDecoder()
    outcome, chunks = run(["sh", "-c", "seq 1 100000; echo THE-END"])
    assert outcome.exit_code == 0
    published = "".join(cap.feed(decoder.decode(data)) for data, _ in chunks) + cap.finish()
    assert published.startswith("1\n2\n3\n")
    assert published.rstrip().endswith("99999\n100000\nTHE-END")
    assert "characters cut here" in published
    assert len(published) < 5500


def test_the_cpu_time_of_the_whole_tree_is_measured():
    """A child of the command burns CPU: its time is the command's (the host noise meter
    subtracts it); a sleeping command uses next to none."""
    burn = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
    outcome, _ = run(["sh", "-c", f'python3 -c "{burn}"; echo done'])
    assert outcome.ok and outcome.cpu_seconds >= 0.45
    idle, _ = run(["sleep", "0.3"])
    assert idle.ok and idle.cpu_seconds < 0.1


def test_a_pid_namespace_hides_nothing_from_the_cpu_count():
    """bubblewrap's own PID namespace reaps the build out of wait4's sight; the command's cgroup
    (cpuaccount.py) still counts it. Without a cgroup the count is unknown, never too low."""
    require_tool("bwrap", "the sandbox's PID namespace")
    burn = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
    argv = ["bwrap", "--unshare-pid", "--dev-bind", "/", "/", "python3", "-c", burn]
    outcome = run_process(Launch(argv, reaped_inside=True), timeout=30, on_output=lambda data: None)
    assert outcome.ok
    assert outcome.cpu_seconds is None or outcome.cpu_seconds >= 0.45
    assert outcome.reaped_cpu_seconds < 0.1  # what wait4 alone would have said
    probe = CpuAccount()
    counting = probe.path is not None  # a writable cgroup hierarchy, as on a root worker
    probe.close()
    if counting:
        assert outcome.cpu_seconds >= 0.45
