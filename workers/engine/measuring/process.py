"""Running one command: streamed output, precise timing, timeouts, and killing the whole tree.

Timing uses the monotonic clock and a pidfd, so the end of a build is seen the moment the
process exits (no polling delay in the measurement). Output (stdout and stderr merged in
order through one pipe) is handed to a callback chunk by chunk as it arrives.

A launch may carry a watch (a check run every few seconds in a thread of its own, such as the
disk quota) and a run may cap its output: either stops the command like a timeout, with a
message saying why. The watch never runs in the supervising thread, so it cannot delay the
moment the end of a build is seen.

Stopping (timeout, cancel, watch or output cap) sends SIGTERM to the process group and every
descendant, then SIGKILL after a short grace, so a child that ignores SIGTERM dies too. Inside
the sandbox the build also lives in its own PID namespace that dies with bubblewrap.
"""

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from workers.engine.measuring.cpuaccount import CpuAccount

READ_SIZE = 65536
# After the main process exits, how long to keep reading output that descendants still write.
DRAIN_GRACE = 0.5


class LaunchError(Exception):
    """The command could not be started (sandbox setup failed, executable missing...)."""


@dataclass
class Launch:
    """A command ready to start. Sandbox launches block until `started` releases them."""

    argv: list
    cwd: str | None = None
    env: dict | None = None
    pass_fds: tuple = ()
    # Called with the Popen object right after spawning; returns when the command may run.
    on_spawn: object = None
    # Called once the process is gone (stops helpers such as slirp4netns).
    on_close: object = None
    # True when the command waits for `on_spawn` (timing then starts after it returns).
    blocks: bool = False
    notes: list = field(default_factory=list)
    # (seconds, check): check() is called every `seconds` while the command runs; a non-empty
    # message it returns stops the command and becomes the outcome's error.
    watch: tuple | None = None
    # True when the command's processes are reaped inside a PID namespace of its own
    # (bubblewrap): its rusage then misses them, and only a cgroup counts their CPU.
    reaped_inside: bool = False


@dataclass
class ProcessOutcome:
    exit_code: int | None
    elapsed_ms: int
    timed_out: bool = False
    cancelled: bool = False
    error: str = ""
    # CPU seconds the command's process tree used (its cgroup, else its rusage), None when not
    # known; and the part of it the worker reaped itself (wait4's rusage of the command).
    cpu_seconds: float | None = None
    reaped_cpu_seconds: float = 0.0

    @property
    def ok(self):
        return self.exit_code == 0 and not (self.timed_out or self.cancelled or self.error)


class _Stop:
    """Why a command is being stopped early (watch or output cap): set once, read by _supervise."""

    def __init__(self):
        self.event = threading.Event()
        self.reason = ""

    def set(self, reason):
        if not self.event.is_set():
            self.reason = reason
            self.event.set()


def _start_watch(launch, stop, done):
    if launch.watch is None:
        return None
    interval, check = launch.watch

    def watch():
        pause = interval
        while not done.wait(pause):
            started = time.monotonic()
            message = check()
            if message:
                stop.set(message)
                return
            # A check that takes long (a huge dependency cache to measure) runs less often,
            # so the watch never takes more than about a tenth of one CPU from the build.
            pause = max(interval, 10 * (time.monotonic() - started))

    thread = threading.Thread(target=watch, name="arena-watch", daemon=True)
    thread.start()
    return thread


def run_process(launch, *, timeout, on_output, cancel=None, kill_grace=1.0, max_output=None):
    """Run `launch` to its end or until `timeout` seconds pass, `cancel` (an Event) is set,
    its watch objects or it writes more than `max_output` bytes (the rest is not read)."""
    started_ns = time.monotonic_ns()
    # Joined by the command itself before it execs (so before it can fork): its cgroup counts
    # the CPU of the whole tree, sandboxed or not (cpuaccount.py).
    account = CpuAccount()
    try:
        proc = subprocess.Popen(
            account.joining(launch.argv) if _runnable(launch) else launch.argv,
            cwd=launch.cwd,
            env=launch.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=launch.pass_fds,
        )
    except OSError as exc:
        account.close()
        _close(launch)
        return ProcessOutcome(None, 0, error=f"could not start {launch.argv[0]}: {exc.strerror}")
    stop, done = _Stop(), threading.Event()
    watch = None
    try:
        if launch.on_spawn is not None:
            launch.on_spawn(proc)
        if launch.blocks:
            started_ns = time.monotonic_ns()
        watch = _start_watch(launch, stop, done)
        limits = (cancel, stop, max_output)
        outcome = _supervise(proc, started_ns, timeout, on_output, limits, kill_grace)
        counted = account.seconds()
        if counted is not None:
            outcome.cpu_seconds = counted
        elif launch.reaped_inside:
            outcome.cpu_seconds = None  # the rusage misses the tree: unknown
        return outcome
    except LaunchError as exc:
        _kill_tree(proc, signal.SIGKILL)
        proc.wait()
        return ProcessOutcome(None, 0, error=str(exc))
    finally:
        done.set()
        if watch is not None:
            watch.join()
        if proc.poll() is None:
            _kill_tree(proc, signal.SIGKILL)
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        account.close()
        _close(launch)


def _runnable(launch):
    """Whether the command's program exists: one that does not is started bare, so that Popen
    says so (through /bin/sh it would only exit 127)."""
    path = (launch.env or os.environ).get("PATH", os.defpath)
    return shutil.which(launch.argv[0], path=path) is not None


def _close(launch):
    if launch.on_close is not None:
        launch.on_close()


def _supervise(proc, started_ns, timeout, on_output, limits, kill_grace):
    cancel, stop, max_output = limits
    received = 0
    out_fd = proc.stdout.fileno()
    os.set_blocking(out_fd, False)
    pidfd = os.pidfd_open(proc.pid)
    selector = selectors.DefaultSelector()
    selector.register(out_fd, selectors.EVENT_READ, "out")
    selector.register(pidfd, selectors.EVENT_READ, "exit")
    deadline = started_ns + int(timeout * 1e9)
    exit_ns = None
    eof = False
    timed_out = cancelled = False
    kill_at = None
    doomed = set()  # (pid, start time) of every descendant seen when stopping began
    try:
        while not (eof and exit_ns is not None):
            now = time.monotonic_ns()
            if exit_ns is None and kill_at is None:
                if now >= deadline:
                    timed_out = True
                elif cancel is not None and cancel.is_set():
                    cancelled = True
                if timed_out or cancelled or stop.event.is_set():
                    doomed |= _kill_tree(proc, signal.SIGTERM)
                    kill_at = now + int(kill_grace * 1e9)
            if kill_at is not None and now >= kill_at:
                _kill_tree(proc, signal.SIGKILL, doomed)
                kill_at = None
            if exit_ns is not None and now - exit_ns > DRAIN_GRACE * 1e9:
                break  # descendants still hold the pipe; they are killed below
            for key, _ in selector.select(0.05):
                if key.data == "exit":
                    exit_ns = time.monotonic_ns()
                    selector.unregister(pidfd)
                    continue
                try:
                    data = os.read(out_fd, READ_SIZE)
                except BlockingIOError:
                    continue
                if data:
                    if max_output is not None and received + len(data) > max_output:
                        data = data[: max_output - received]
                        stop.set(f"stopped after {max_output:,} bytes of output")
                        eof = True  # the rest is never read: the pipe is closed below
                        selector.unregister(out_fd)
                    received += len(data)
                    if data:
                        on_output(data)
                else:
                    eof = True
                    selector.unregister(out_fd)
    finally:
        selector.close()
        os.close(pidfd)
    # Whatever the build left behind in its process group (daemons, stragglers) goes too.
    _kill_tree(proc, signal.SIGKILL, doomed)
    returncode, cpu_seconds = _reap(proc)
    exit_code = 128 - returncode if returncode < 0 else returncode
    elapsed_ms = round((exit_ns - started_ns) / 1e6)
    error = "" if timed_out or cancelled else stop.reason
    return ProcessOutcome(
        exit_code, elapsed_ms, timed_out, cancelled, error=error, cpu_seconds=cpu_seconds,
        reaped_cpu_seconds=cpu_seconds or 0.0,
    )  # fmt: skip


def _reap(proc):
    """Wait for the process: (its return code, the CPU seconds of its tree, or None).

    wait4 gives the rusage of the process and of every descendant it (or they) waited for:
    inside the sandbox, bubblewrap and the PID namespace's init reap the whole build, so this
    is the build's own CPU time, which the host noise meter must not count as noise.
    """
    if proc.returncode is not None:
        return proc.returncode, None
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:
        return proc.wait(), None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def _kill_tree(proc, sig, also=()):
    """Signal the process group and every descendant (found through /proc) of `proc`.

    `also` holds descendants seen earlier: a child that ignored SIGTERM may have been
    reparented since (its parent died), and must still get the SIGKILL. Each entry carries
    its start time so that a recycled PID is never hit. Returns the descendants it found.

    A catchable signal is sent to a frozen tree (SIGSTOP to all, the signal to all, SIGCONT
    to all): signalled one by one, a shell whose child died first would see it die and run
    its next command (print, start another step) before its own signal arrived.
    """
    found = set(_descendants(proc.pid))
    alive = [pid for pid, started in found | set(also) if process_start_time(pid) == started]
    steps = (sig,) if sig == signal.SIGKILL else (signal.SIGSTOP, sig, signal.SIGCONT)
    for step in steps:
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, step)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, step)
        # os.kill, not proc.send_signal: that polls, and reaping here would lose the tree's
        # rusage (_reap). Until it is reaped the PID stays this process's, even as a zombie.
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(proc.pid, step)
    return found


def _read_stat(pid):
    """The fields of /proc/PID/stat after the command name (which may hold spaces)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return None
    return text[text.rfind(b")") + 2 :].split()


def process_start_time(pid):
    """When a live process started (clock ticks since boot; tells a recycled PID), or None."""
    fields = _read_stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def _descendants(root_pid):
    """(pid, start time) of every descendant of root_pid."""
    children = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _read_stat(entry.name)
        if fields and len(fields) > 19:
            children.setdefault(int(fields[1]), []).append((int(entry.name), int(fields[19])))
    found, stack = [], [root_pid]
    while stack:
        for child, started in children.get(stack.pop(), ()):
            found.append((child, started))
            stack.append(child)
    return found
