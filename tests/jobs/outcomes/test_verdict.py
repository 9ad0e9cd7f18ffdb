"""The verdict: speedup, 95% interval, tie / inconclusive / void / not comparable.

The pure rules are checked on given run times; the races use generated stand-in toolchains
(tests/toolchains.py) through the real recipes, sandbox and artifact checks, so that the
arithmetic is checked on exactly known work.
"""

from types import SimpleNamespace

import pytest

from jobs.outcomes.verdict import bootstrap_interval, class_parity, judge, speedup_interval
from tests.toolchains import toolchain, write_jar
from workers.engine import RaceSpec, run_race
from workers.engine.racing.artifacts import read_jar, side_artifacts

# The same run-to-run variation on both sides (each side sleeps these, in turn), larger than
# the timing jitter of a busy machine: an A/A race whose runs really differ. Long enough that
# the few processes a run starts (tens of ms on a loaded machine) do not bend a 2x ratio.
VARYING = (0.40, 0.52, 0.44, 0.48, 0.42)


def side(name, times, status="success", kind="", classes=None, error=""):
    return SimpleNamespace(
        side=name, status=status, error_kind=kind, error=error, run_times_ms=times,
        class_names=classes,
    )  # fmt: skip


def verdict_of(standard_ms, elide_ms, tolerance=0.01, **sides):
    return judge(
        side("standard", standard_ms, **sides.get("standard", {})),
        side("elide", elide_ms, **sides.get("elide", {})),
        tie_tolerance=tolerance,
        parity_tolerance=0.02,
    )


def test_interval_is_the_mann_whitney_rank_interval_of_pairwise_ratios():
    estimate, (low, high), coverage = speedup_interval([400, 520, 440, 480, 420], [200] * 5)
    assert estimate == pytest.approx(2.2)  # the median pairwise ratio
    assert (low, high) == pytest.approx((2.0, 2.6))  # 3rd smallest, 3rd largest of 25
    assert coverage == pytest.approx(1 - 2 * 4 / 252)  # P(U <= 2) = 4/252 for 5 and 5 runs
    estimate, interval, coverage = speedup_interval([300], [100])
    assert estimate == pytest.approx(3.0) and interval is None and coverage is None
    _, interval, coverage = speedup_interval([300, 310, 320], [100, 110, 120])
    assert interval == pytest.approx((300 / 120, 320 / 100)) and coverage == pytest.approx(0.9)


def test_verdict_rules():
    assert verdict_of([1000] * 5, [500] * 5).verdict == "elide"
    assert verdict_of([500] * 5, [1000] * 5).verdict == "standard"
    steady = verdict_of([1000, 1001, 1002], [1000, 1001, 1003])
    assert steady.verdict == "tie" and steady.winner == "tie"  # the interval is in the band
    noisy = verdict_of([1000, 1300, 900, 1100], [1000, 1200, 950, 1250])
    assert noisy.verdict == "inconclusive" and noisy.winner is None
    assert noisy.ci95[0] < 1 < noisy.ci95[1]
    assert verdict_of([1000], [1004]).verdict == "tie"  # no interval: the estimate decides
    # One run a side never names a winner: tie inside the band, else inconclusive.
    assert verdict_of([1000], [800]).verdict == "inconclusive"
    assert verdict_of([800], [1000]).winner is None
    assert verdict_of([1000, 1010], [800, 805]).verdict == "elide"  # two runs: the estimate
    forfeit = verdict_of([1000], [10], elide={"status": "failure", "kind": "build"})
    assert forfeit.verdict == "standard" and forfeit.speedup is None
    void = verdict_of(
        [1000], [], elide={"status": "failure", "kind": "infrastructure", "error": "no elide"}
    )
    assert (void.verdict, void.void_reason, void.winner, void.counted) == (
        "void", "no elide", None, False,
    )  # fmt: skip


def test_class_sets_that_differ_beyond_the_tolerance_are_not_comparable():
    full = {f"C{i}.class" for i in range(100)}
    assert class_parity(full, full)["difference"] == 0
    almost = verdict_of([1000, 1000], [500, 500], standard={"classes": full},
                        elide={"classes": full - {"C0.class"}})  # fmt: skip
    assert almost.verdict == "elide" and almost.parity["difference"] == 0.01
    half = verdict_of([1000], [500], standard={"classes": full},
                      elide={"classes": set(sorted(full)[:50])})  # fmt: skip
    assert half.verdict == "not_comparable" and half.speedup is None and not half.counted
    assert half.parity["standardOnly"] == 50 and half.parity["difference"] == 0.5


def test_bootstrap_is_reproducible_and_brackets_the_statistic():
    values = [1.2, 1.5, 1.7, 2.0, 1.4, 1.6]
    mean = lambda sample: sum(sample) / len(sample)  # noqa: E731
    first = bootstrap_interval(values, mean, seed=7)
    assert first == bootstrap_interval(values, mean, seed=7)
    assert first[0] < mean(values) < first[1]
    assert bootstrap_interval([1.5], mean) is None


def test_jars_are_read_from_the_central_directory_only(tmp_path):
    write_jar(tmp_path / "a" / "target" / "a.jar", ["x/A.class", "x/B.class"])
    write_jar(tmp_path / "b" / "build" / "libs" / "b.jar", ["META-INF/versions/11/x/A.class"])
    (tmp_path / "c" / "target").mkdir(parents=True)
    (tmp_path / "c" / "target" / "linked.jar").symlink_to(tmp_path / "a" / "target" / "a.jar")
    (tmp_path / "c" / "target" / "fake.jar").write_text("not a zip")
    found = side_artifacts("standard", tmp_path)
    assert found.class_names == {"x/A.class", "x/B.class"}
    assert (found.files, found.classes) == (3, 2)  # the link is not followed; fake.jar counts
    assert any("not a zip" in note for note in found.notes)
    size, classes, note = read_jar(tmp_path / "a" / "target" / "a.jar", max_entries=2)
    assert classes is None and "too many" in note and size > 0  # 3 entries > cap of 2
    assert side_artifacts("elide", tmp_path).files == 0
    write_jar(tmp_path / ".dev" / "artifacts" / "jvm" / "e.jar", ["x/E.class"])
    assert side_artifacts("elide", tmp_path).class_names == {"x/E.class"}
    # A custom command may run any tool on either side: both layouts are searched.
    both = side_artifacts("elide", tmp_path, custom=True)
    assert both.class_names == {"x/A.class", "x/B.class", "x/E.class"} and both.files == 4


def race_with(config, repo, tmp_path, *, standard, elide, iterations=5):
    config = config.with_changes(
        toolchains__mvn=toolchain(tmp_path / "mvn-bin", "mvn", **standard),
        toolchains__elide=toolchain(tmp_path / "elide-bin", "elide", **elide),
    )
    return run_race(RaceSpec(str(repo), iterations=iterations), config)


def test_a_a_race_of_5_runs_is_tie_or_inconclusive_with_an_interval_containing_1(
    config, repo, tmp_path
):
    outcome = race_with(
        config, repo, tmp_path, standard={"seconds": VARYING}, elide={"seconds": VARYING}
    )
    verdict = outcome.verdict
    assert verdict.verdict in ("tie", "inconclusive"), outcome.sides
    low, high = verdict.ci95
    assert low <= 1.0 <= high and 0.8 < verdict.speedup < 1.25
    assert outcome.sides["elide"].artifacts["classes"] == 10


def test_twice_the_work_on_one_side_is_near_2_with_an_interval_excluding_1(config, repo, tmp_path):
    doubled = tuple(2 * seconds for seconds in VARYING)
    outcome = race_with(
        config, repo, tmp_path, standard={"seconds": doubled}, elide={"seconds": VARYING}
    )
    verdict = outcome.verdict
    assert verdict.verdict == "elide", outcome.sides
    assert verdict.speedup == pytest.approx(2.0, abs=0.25)
    assert 1.0 < verdict.ci95[0] <= verdict.speedup <= verdict.ci95[1]
    assert verdict.confidence >= 0.95


def test_an_elide_side_compiling_half_the_classes_makes_the_race_not_comparable(
    config, repo, tmp_path
):
    outcome = race_with(
        config, repo, tmp_path, iterations=1,
        standard={"classes": 40}, elide={"classes": 20},
    )  # fmt: skip
    assert outcome.sides["elide"].status == "success"
    verdict = outcome.verdict
    assert verdict.verdict == "not_comparable" and verdict.speedup is None
    assert verdict.parity["difference"] == 0.5 and verdict.parity["standardOnly"] == 20


def test_a_custom_elide_command_is_judged_on_the_jars_it_left_wherever_its_tool_puts_them(
    config, repo, tmp_path
):
    """A second real configuration on the elide side (say, Maven in parallel mode) leaves its
    jars in target/: they are counted and compared with the standard side's."""
    maven = toolchain(tmp_path / "mvn-bin", "mvn", classes=40)
    # A custom command's own executable is shown to the sandbox like any operator's install.
    config = config.with_changes(
        toolchains__mvn=maven, isolation__extra_ro_binds=(str(tmp_path / "mvn-bin"),)
    )
    spec = RaceSpec(str(repo), iterations=1, elide_cmd=[maven, "-T", "2", "package"])
    outcome = run_race(spec, config)
    elide = outcome.sides["elide"]
    assert elide.status == "success" and elide.artifacts["classes"] == 40
    assert outcome.verdict.parity["difference"] == 0.0
