"""The toolchains a side runs: provisioned Maven and Gradle, the JDK, Elide's versions and each
side's recipe."""
