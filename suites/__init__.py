"""Continuous benchmarking: suites of repositories raced once for every new toolchain version
the workers report, results read per version, regressions found and announced."""
