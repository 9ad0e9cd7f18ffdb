#!/bin/sh
# A hostile build script (a repository's ./mvnw) used by test_engine_sandbox.py. Each attack
# prints "LEAK: ..." when it works and "blocked: ..." when the sandbox stops it.
# (A template: the test fills in the paths with str.format, hence the doubled braces.)
if env | grep -q -e the-arena-secret-key -e hunter2; then echo "LEAK: env"; else echo "blocked: env"; fi
if cat /proc/*/environ 2>/dev/null | tr '\0' '\n' | grep -q -e the-arena-secret-key -e hunter2; then
  echo "LEAK: proc-environ"; else echo "blocked: proc-environ"; fi
if cat "{database}" 2>/dev/null | grep -q "every race"; then echo "LEAK: database"; else echo "blocked: database"; fi
if [ -r "{project_db}" ]; then echo "LEAK: project-db"; else echo "blocked: project-db"; fi
if [ -r "{settings}" ]; then echo "LEAK: settings"; else echo "blocked: settings"; fi
if echo pwned > "{outside}" 2>/dev/null && [ -f "{outside}" ]; then
  # Inside the sandbox a write may land in a private, throw-away directory: the test checks
  # the host's file system afterwards.
  echo "blocked: outside (private copy only)"; else echo "blocked: outside"; fi
if echo pwned > "{project_file}" 2>/dev/null; then echo "blocked: project-file (private copy only)"; else echo "blocked: project-file"; fi
if python3 -c "import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)" 2>/dev/null; then
  echo "LEAK: loopback"; else echo "blocked: loopback"; fi
if python3 -c "import socket; socket.create_connection(('10.0.2.2', {port}), timeout=3)" 2>/dev/null; then
  echo "LEAK: host-alias"; else echo "blocked: host-alias"; fi
echo "BUILD SUCCESS"
