"""A side's phases around its measured runs: JDK choice, the unmeasured prepare phase, and what
each measured run starts from (cache state, fresh copy, source change).

Each side reports `phases` = {"clone_ms", "prepare_ms", "runs_ms": [...]}: the race's clone
(shared by both sides), its own prepare phase (warming the cache, the scenario's initial
build; never measured) and its measured runs, so nobody mistakes a download for a build.
"""

import time

from workers.engine.checkout.cache import cache_state, cache_tool
from workers.engine.checkout.carried import carried_summary
from workers.engine.checkout.scenarios import CLEAN, INCREMENTAL
from workers.engine.checkout.trees import tree_summary
from workers.engine.failures import BuildFailure, EngineFailure, EnvironmentFailure
from workers.engine.measuring.measure import Cancelled
from workers.engine.racing import diagnosis
from workers.engine.tools.jdk import jdk_for_project


def _ms_since(start):
    return round((time.monotonic() - start) * 1000)


def choose_jdk(runner):
    """Pick the side's JDK (jdk.py); EnvironmentFailure when none fits."""
    choice = jdk_for_project(runner.race.workspace.checkout, runner.config)
    if choice.jdk is None:
        raise EnvironmentFailure(choice.error)
    runner.java_home = choice.jdk.home
    runner.result.jdk = f"{choice.jdk.major} ({choice.jdk.home})"
    runner.note(choice.describe())


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
    """Run every step of the side's recipe once, unmeasured; a step that fails raises its
    BuildFailure or EnvironmentFailure."""
    runner.say(f"{runner._newline()}=== {label} (not measured) ===\n")
    timeout = runner.race.timeout
    for step in runner.recipe.steps:
        outcome = runner._run(step.argv, timeout=timeout)
        if outcome.cancelled:
            raise Cancelled()
        timeout = max(timeout - outcome.elapsed_ms / 1000, 0.001)
        if outcome.timed_out:
            raise BuildFailure(f"{label}: timed out after {runner.race.timeout:g} s")
        if runner.quota_error:  # the build filled its disk: its own doing
            raise BuildFailure(f"{label}: {runner.quota_error}")
        if outcome.error:  # the process could not be started: the arena's problem
            raise EnvironmentFailure(f"{label}: {outcome.error}")
        if outcome.exit_code != 0:
            raise diagnosis.exit_failure(
                f"{label}: the build exited", outcome.exit_code, runner._tail
            )


def prepare_phase(runner):
    """The side's unmeasured prepare phase (timed into phases["prepare_ms"]). A build that
    fails here raises the project's BuildFailure, a cache that cannot be set up the arena's
    CacheError."""
    race = runner.race
    caches = race.caches
    start = time.monotonic()
    tool = side_cache_state(runner)
    workspace = race.workspace
    try:
        if caches.warm:
            race.listener.on_state(runner.side, "prepare: warming the cache (not measured)")

            def fill():
                workspace.fresh_copy(runner.side, runner._owner())
                caches.start_from(workspace.home(runner.side), None, runner._owner())
                build_unmeasured(runner, "prepare: one full build fills the cache")
                return workspace.home(runner.side)

            _, how = caches.warm_state(tool, fill, project=workspace.src(runner.side))
            runner.note(f"warm cache for {side_cache_tool(runner)}: {how} (state {tool})")
        if race.spec.scenario != CLEAN:
            race.listener.on_state(runner.side, "prepare: initial build (not measured)")
            workspace.fresh_copy(runner.side, runner._owner())
            start_run_cache(runner, tool)
            note_cache_state(runner, tool)
            build_unmeasured(runner, f"initial build for the {race.spec.scenario} runs")
    except EngineFailure:
        runner.result.phases["prepare_ms"] = _ms_since(start)
        raise
    runner.result.phases["prepare_ms"] = _ms_since(start)
    runner.note(f"prepare phase: {runner.result.phases['prepare_ms']} ms (not measured)")


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
    cache policy say. `number` counts the side's runs from 1. A cache or a change that
    cannot be set up raises its EnvironmentFailure (CacheError, EditError)."""
    race = runner.race
    scenario = race.spec.scenario
    workspace = race.workspace
    if scenario == CLEAN:
        workspace.fresh_copy(runner.side, runner._owner())
        tool = side_cache_state(runner)
        start_run_cache(runner, tool)
        note_cache_state(runner, tool)
    elif scenario == INCREMENTAL:
        edit = race.source_edit
        edit.apply(workspace.src(runner.side), number)
        runner.note(f"incremental change {number}: {edit.describe()}")
