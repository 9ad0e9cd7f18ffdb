"""A side's phases around its measured runs: JDK choice, the unmeasured prepare phase, and what
each measured run starts from (cache state, fresh copy, source change).

Each side reports `phases` = {"clone_ms", "prepare_ms", "runs_ms": [...]}: the race's clone
(shared by both sides), its own prepare phase (warming the cache, the scenario's initial
build; never measured) and its measured runs, so nobody mistakes a download for a build.
"""

import time

from jobs.outcomes.vocabulary import BUILD, INFRASTRUCTURE
from workers.engine import diagnosis
from workers.engine.cache import CacheError, cache_state, cache_tool
from workers.engine.carried import carried_summary
from workers.engine.jdk import jdk_for_project
from workers.engine.measure import Cancelled
from workers.engine.scenarios import CLEAN, INCREMENTAL, EditError
from workers.engine.trees import tree_summary


def _ms_since(start):
    return round((time.monotonic() - start) * 1000)


def choose_jdk(runner):
    """Pick the side's JDK (jdk.py); returns an error message when none fits."""
    choice = jdk_for_project(runner.race.workspace.checkout, runner.config)
    if choice.jdk is None:
        return choice.error
    runner.java_home = choice.jdk.home
    runner.result.jdk = f"{choice.jdk.major} ({choice.jdk.home})"
    runner.note(choice.describe())
    return ""


def side_cache_tool(runner):
    steps = runner.recipe.steps if runner.recipe else []
    return cache_tool(runner.recipe.tool, steps[0].argv if steps else [])


def side_cache_state(runner):
    """The warm state a side uses: its tool, command, tool version and JDK (cache_state)."""
    steps = runner.recipe.steps if runner.recipe else []
    return cache_state(
        side_cache_tool(runner),
        [step.argv for step in steps],
        runner.result.tool_version,
        runner.result.jdk,
    )


def start_run_cache(runner, state):
    """Give the side's home (and its fresh source copy) the state a run starts from."""
    workspace = runner.race.workspace
    notes = runner.race.caches.start_from(
        workspace.home(runner.side), state, runner._owner(), project=workspace.src(runner.side)
    )
    for line in notes:
        runner.note(line)


def build_unmeasured(runner, label):
    """Run every step of the side's recipe once, unmeasured: (error message, error kind),
    ("", "") when it built."""
    runner.say(f"{runner._newline()}=== {label} (not measured) ===\n")
    timeout = runner.race.timeout
    for step in runner.recipe.steps:
        outcome = runner._run(step.argv, timeout=timeout)
        if outcome.cancelled:
            raise Cancelled()
        timeout = max(timeout - outcome.elapsed_ms / 1000, 0.001)
        if outcome.timed_out:
            return f"{label}: timed out after {runner.race.timeout:g} s", BUILD
        if runner.quota_error:  # the build filled its disk: its own doing
            return f"{label}: {runner.quota_error}", BUILD
        if outcome.error:  # the process could not be started: the arena's problem
            return f"{label}: {outcome.error}", INFRASTRUCTURE
        if outcome.exit_code != 0:
            return diagnosis.exit_failure(
                f"{label}: the build exited", outcome.exit_code, runner._tail
            )
    return "", ""


def prepare_phase(runner):
    """The side's unmeasured prepare phase (timed into phases["prepare_ms"]); returns (error
    message, error kind): a build that fails here is the project's failure, a cache that
    cannot be set up the arena's."""
    race = runner.race
    caches = race.caches
    start = time.monotonic()
    error, kind = "", ""
    tool = side_cache_state(runner)
    workspace = race.workspace
    try:
        if caches.warm:
            race.listener.on_state(runner.side, "prepare: warming the cache (not measured)")

            fill_kind = []

            def fill():
                workspace.fresh_copy(runner.side, runner._owner())
                caches.start_from(workspace.home(runner.side), None, runner._owner())
                failure, failure_kind = build_unmeasured(
                    runner, "prepare: one full build fills the cache"
                )
                fill_kind.append(failure_kind)
                return (None, failure) if failure else (workspace.home(runner.side), "")

            snapshot, how = caches.warm_state(tool, fill, project=workspace.src(runner.side))
            if snapshot is None:
                error = how
                kind = fill_kind[-1] if fill_kind and fill_kind[-1] else INFRASTRUCTURE
            else:
                runner.note(f"warm cache for {side_cache_tool(runner)}: {how} (state {tool})")
        if not error and race.spec.scenario != CLEAN:
            race.listener.on_state(runner.side, "prepare: initial build (not measured)")
            workspace.fresh_copy(runner.side, runner._owner())
            start_run_cache(runner, tool)
            note_cache_state(runner, tool)
            error, kind = build_unmeasured(
                runner, f"initial build for the {race.spec.scenario} runs"
            )
    except CacheError as exc:
        error, kind = str(exc), INFRASTRUCTURE
    runner.result.phases["prepare_ms"] = _ms_since(start)
    if not error:
        runner.note(f"prepare phase: {runner.result.phases['prepare_ms']} ms (not measured)")
    return error, kind


def note_cache_state(runner, tool):
    home = runner.race.workspace.home(runner.side)
    files, size, fingerprint = tree_summary(home)
    mode = runner.race.caches.mode
    project_files, project_bytes = carried_summary(runner.race.workspace.src(runner.side))
    in_project = (
        f", and {project_files} files, {project_bytes / 1e6:.1f} MB in the project's "
        "dependency store"
        if project_files
        else ""
    )
    runner.note(
        f"{mode} cache: starting from {files} files, {size / 1e6:.1f} MB{in_project} "
        f"(state {fingerprint}, {tool})"
    )


def before_run(runner, number):
    """Set up the tree and home a measured (or warm-up) run starts from, as the scenario and
    cache policy say. `number` counts the side's runs from 1."""
    race = runner.race
    scenario = race.spec.scenario
    workspace = race.workspace
    if scenario == CLEAN:
        workspace.fresh_copy(runner.side, runner._owner())
        tool = side_cache_state(runner)
        try:
            start_run_cache(runner, tool)
        except CacheError as exc:
            return str(exc)
        note_cache_state(runner, tool)
        return ""
    if scenario == INCREMENTAL:
        edit = race.source_edit
        try:
            edit.apply(workspace.src(runner.side), number)
        except EditError as exc:
            return str(exc)
        runner.note(f"incremental change {number}: {edit.describe()}")
    return ""
