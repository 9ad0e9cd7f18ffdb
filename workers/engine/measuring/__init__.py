"""Running and timing one build: processes, CPU accounting, host noise, the measurement lock,
calibration, output and the artifacts a run downloaded."""
