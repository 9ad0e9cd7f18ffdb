#!/bin/sh
# A hostile repository's ./mvnw (tests/workers/engine/isolation/test_sandbox_hostile.py): asked for its version it
# floods the worker; asked to build it tries each attack on the host and prints "LEAK: <attack>"
# when one works and "blocked: <attack>" when the sandbox stops it, then describes its world.
if [ "$1" = "-v" ]; then
  echo "Apache Maven 9.9.9 (a wrapper may claim anything)"
  head -c 300000000 /dev/zero | tr '\0' 'v'
  exit 0
fi
# Host root: files of host uid 0 (/usr) would belong to the build's own uid.
if [ "$(stat -c %u /usr)" = "$(id -u)" ]; then echo "LEAK: uid-map-root"; else echo "blocked: uid-map-root"; fi
# A sysctl written with its current value (harmless when it works, and it must not).
pattern=$(cat /proc/sys/kernel/core_pattern)
if printf '%s\n' "$pattern" 2>/dev/null > /proc/sys/kernel/core_pattern; then
  echo "LEAK: sysctl"; else echo "blocked: sysctl"; fi
if unshare -Ur true 2>/dev/null; then echo "LEAK: nested-userns"; else echo "blocked: nested-userns"; fi
# A setuid copy of the shell owned by host root would be a root shell for anyone on the host.
cp /bin/dash ./suid-shell && chmod 4755 ./suid-shell 2>/dev/null
if [ -u ./suid-shell ] && [ "$(stat -c %u ./suid-shell)" = "$(stat -c %u /usr)" ]; then
  echo "LEAK: setuid-root"; else echo "blocked: setuid-root"; fi
python3 - <<'PY'
import os, signal, time
children = []
for _ in range(300):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    children.append(pid)
print("forked", len(children), "sleeping processes")
print("LEAK: processes" if len(children) >= 300 else "blocked: processes")
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
# A directory chain 2,500 levels deep, left behind for the workspace's removal.
for _ in range(2500):
    os.mkdir("d")
    os.chdir("d")
open("bottom", "w").write("the bottom\n")
print("made a 2500-deep tree")
PY
# A real build leaves a jar; this one does too, so that its side is judged like a build's.
mkdir -p target && python3 -c "import zipfile; zipfile.ZipFile('target/hostile.jar', 'w').writestr('Hostile.class', b'')"
echo "WORLD pwd=$(pwd) home=$HOME tmpdir=$TMPDIR user=$(id -un) uid=$(id -u) host=$(hostname)"
echo "WORLD env=$(env | sort | tr '\n' ' ')"
echo "WORLD limits=$(ulimit -a | tr '\n' ' ')"
echo "BUILD SUCCESS"
