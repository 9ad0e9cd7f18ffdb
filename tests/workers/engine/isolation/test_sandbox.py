"""The sandbox: scrubbed environment, private filesystem, network on/off, hostile builds."""

import ipaddress
import json
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tests.repos import make_git_repo, maven_project_files
from tests.support import PROJECT_DIR, require_tool
from workers.engine import EngineConfig, RaceListener, RaceSpec, run_race
from workers.engine.isolation.sandbox import Sandbox
from workers.engine.measuring.process import run_process

HOSTILE_MVNW = Path(__file__).with_name("hostile_mvnw.sh")


@pytest.fixture
def config(tmp_path):
    require_tool("bwrap", "the sandbox tests run builds in bubblewrap")
    require_tool("slirp4netns", "network mode on uses slirp4netns")
    return EngineConfig(workspace_root=tmp_path / "workspaces").with_changes(
        toolchains__maven_args=("-o", "-Dmaven.repo.local=/usr/share/maven-repo")
    )


@pytest.fixture
def side(tmp_path):
    side_dir = tmp_path / "workspaces" / "race" / "standard"
    (side_dir / "src").mkdir(parents=True)
    (side_dir / "home").mkdir()
    return side_dir


def run_in_sandbox(config, side_dir, argv, timeout=30):
    chunks = []
    sandbox = Sandbox(config)
    assert not sandbox.error, sandbox.error
    for directory in (side_dir / "src", side_dir / "home"):  # as Workspace.fresh_copy does
        os.chown(directory, sandbox.identity.uid, sandbox.identity.gid)
    launch = sandbox.launch(
        argv, workdir=side_dir / "src", home=side_dir / "home", side_dir=side_dir
    )
    outcome = run_process(launch, timeout=timeout, on_output=chunks.append)
    return outcome, b"".join(chunks).decode()


class Listener:
    """TCP listeners on the host: one on loopback, one on a non-loopback address."""

    def __init__(self, host):
        self.sock = socket.create_server((host, 0))
        self.host, self.port = host, self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.sendall(b"hello from the host\n")
            conn.close()

    def close(self):
        self.sock.close()


def outside_address():
    """This host's address on its network (not loopback), or None."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.123", 9))  # no packet is sent for a UDP connect
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


CONNECT = (
    "import socket,sys\n"
    "for target in sys.argv[1:]:\n"
    "    host, port = target.rsplit(':', 1)\n"
    "    try:\n"
    "        s = socket.create_connection((host, int(port)), timeout=3)\n"
    "        print('CONNECTED', target, s.recv(100).decode().strip())\n"
    "    except OSError as exc:\n"
    "        print('REFUSED', target, type(exc).__name__)\n"
)


@pytest.fixture
def listeners():
    address = outside_address()
    if address is None:
        pytest.skip("this host has no non-loopback address to act as an outside host")
    local, outside = Listener("127.0.0.1"), Listener(address)
    yield local, outside
    local.close()
    outside.close()


def targets(local, outside):
    return [
        f"127.0.0.1:{local.port}",
        f"10.0.2.2:{local.port}",  # slirp4netns' alias for the host's loopback
        f"{outside.host}:{outside.port}",  # the host's own address on its network
    ]


# Refused by the build's own routes before any packet leaves it (no machine is contacted).
NEIGHBOURHOOD = ["169.254.169.254:80", "10.1.2.3:80", "172.16.5.5:80", "192.168.1.1:80"]


def test_network_on_blocks_the_host_link_local_and_private_ranges(config, side, listeners):
    """Outside hosts stay reachable (tests/workers/engine/isolation/test_network.py downloads from
    Maven Central); the host itself, through any of its addresses, and its neighbourhood do
    not."""
    local, outside = listeners
    outcome, output = run_in_sandbox(
        config, side, ["python3", "-c", CONNECT, *targets(local, outside), *NEIGHBOURHOOD]
    )
    assert outcome.exit_code == 0, output
    assert f"REFUSED 127.0.0.1:{local.port}" in output
    assert f"REFUSED 10.0.2.2:{local.port}" in output
    assert f"REFUSED {outside.host}:{outside.port} PermissionError" in output
    for target in NEIGHBOURHOOD:
        assert f"REFUSED {target} PermissionError" in output
    assert local.accepted == 0 and outside.accepted == 0


def test_private_ranges_open_only_when_allowed(config, side):
    script = "ip route show type prohibit"
    _, blocked = run_in_sandbox(config, side, ["sh", "-c", script])
    _, allowed = run_in_sandbox(
        config.with_changes(isolation__allow_private_nets=True), side, ["sh", "-c", script]
    )
    for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"):
        assert f"prohibit {network}" in blocked
    assert "prohibit 169.254.0.0/16" in allowed
    assert "10.0.0.0/8" not in allowed and "192.168.0.0/16" not in allowed
    own = outside_address()
    assert own is None or f"prohibit {own}" in allowed  # the host stays closed either way


def subnet_neighbour():
    """(an address of this host's own subnet that is not the host's, the subnet), or None."""
    rows = json.loads(subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True,
                                     text=True, check=True).stdout)  # fmt: skip
    for row in rows:
        for address in row.get("addr_info", ()):
            own = ipaddress.ip_interface(f"{address['local']}/{address['prefixlen']}")
            if own.is_loopback or own.network.prefixlen > 30:
                continue
            others = [host for host in own.network.hosts() if host != own.ip]
            return str(others[-1]), str(own.network)
    return None


# Asks the build's routing table only: a UDP connect sends nothing, and TCP is tried only
# once UDP was refused (so refused locally, by a prohibit route), never towards the LAN.
ROUTE_PROBE = (
    "import socket,sys\n"
    "udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "try:\n"
    "    udp.connect((sys.argv[1], 9))\n"
    "    print('ROUTED', sys.argv[1])\n"
    "except OSError as exc:\n"
    "    print('UDP REFUSED', type(exc).__name__)\n"
    "    try:\n"
    "        socket.create_connection((sys.argv[1], 80), timeout=3)\n"
    "        print('CONNECTED')\n"
    "    except OSError as exc:\n"
    "        print('TCP REFUSED', type(exc).__name__)\n"
)


def test_the_hosts_own_subnet_is_refused_even_where_private_ranges_are_allowed(config, side):
    """The host's LAN is blocked as a subnet of the host, whether or not it is a private range
    (this one, where the tests run, may be public)."""
    found = subnet_neighbour()
    if found is None:
        pytest.skip("this host has no IPv4 subnet on a non-loopback interface")
    neighbour, subnet = found
    outcome, output = run_in_sandbox(
        config.with_changes(isolation__allow_private_nets=True),
        side,
        ["sh", "-c", f'ip route show type prohibit; python3 -c "$0" {neighbour}', ROUTE_PROBE],
    )
    assert outcome.exit_code == 0, output
    assert f"prohibit {subnet}" in output
    assert "UDP REFUSED PermissionError" in output and "TCP REFUSED PermissionError" in output
    assert "ROUTED" not in output and "CONNECTED" not in output


def test_network_on_has_no_ipv6_route(config, side):
    """slirp4netns runs without IPv6, so no IPv6 address outside the build is reachable (a
    UDP connect asks the routing table only: nothing is sent)."""
    probe = (
        "import socket\n"
        "try:\n"
        "    socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).connect(('2001:db8::1', 9))\n"
        "    print('ROUTED')\n"
        "except OSError as exc:\n"
        "    print('UNREACHABLE', exc.errno)\n"
    )
    outcome, output = run_in_sandbox(config, side, ["python3", "-c", probe])
    assert outcome.exit_code == 0, output
    assert "UNREACHABLE 101" in output  # ENETUNREACH


def test_network_off_reaches_nothing(config, side, listeners):
    local, outside = listeners
    outcome, output = run_in_sandbox(
        config.with_changes(isolation__network="off"),
        side,
        ["python3", "-c", CONNECT, *targets(local, outside)],
    )
    assert outcome.exit_code == 0, output
    assert "CONNECTED" not in output
    assert output.count("REFUSED") == 3
    assert local.accepted == 0 and outside.accepted == 0


def test_environment_is_an_allow_list(config, side, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s3cr3t-key-value")
    monkeypatch.setenv("DATABASE_URL", "postgres://user:pw@db/arena")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setenv("MAVEN_OPTS", "-Xmx512m")
    outcome, output = run_in_sandbox(config, side, ["env"])
    assert outcome.exit_code == 0
    env = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    assert "s3cr3t" not in output and "aws-secret" not in output and "pw@db" not in output
    assert {"SECRET_KEY", "DATABASE_URL", "AWS_SECRET_ACCESS_KEY"}.isdisjoint(env)
    assert env["HOME"] == "/build/home"
    assert env["MAVEN_OPTS"].startswith("-Xmx512m")
    assert set(env) <= {
        "PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "TERM", "LANG", "LC_ALL", "TZ",
        "JAVA_HOME", "MAVEN_OPTS", "GRADLE_OPTS", "JAVA_OPTS", "GRADLE_USER_HOME", "PWD",
    }  # fmt: skip


def test_filesystem_shows_the_workspace_only(config, side):
    script = (
        f"ls {PROJECT_DIR} 2>&1; ls {side.parent.parent} 2>&1; "
        "touch /usr/pwned 2>&1; touch /etc/pwned 2>&1; echo ok > built.txt; "
        "echo tmp > /tmp/x && cat /tmp/x; id -u; ls /proc | grep -c '^[0-9]'"
    )
    outcome, output = run_in_sandbox(config, side, ["sh", "-c", script])
    assert outcome.exit_code == 0, output
    lines = output.splitlines()
    assert "manage.py" not in output and "build-arena" not in output
    assert "Read-only file system" in output or "Permission denied" in output
    assert (side / "src" / "built.txt").read_text() == "ok\n"
    assert not Path("/usr/pwned").exists() and not Path("/etc/pwned").exists()
    assert "tmp" in lines and "1000" in lines
    assert int(lines[-1]) <= 5  # its own PID namespace: only the build's processes


def test_hostile_repository_is_contained_and_the_race_completes(
    config, tmp_path, monkeypatch, listeners
):
    """Its build script hunts for secrets, the database, the host and the network."""
    local, _ = listeners
    monkeypatch.setenv("SECRET_KEY", "the-arena-secret-key")
    monkeypatch.setenv("DATABASE_URL", "postgres://arena:hunter2@127.0.0.1/arena")
    database = tmp_path / "build-arena.db"
    database.write_text("SQLite format 3 ... every race")
    outside = tmp_path / "outside.txt"
    mvnw = HOSTILE_MVNW.read_text().format(
        database=database,
        project_db=PROJECT_DIR / "build-arena.db",
        settings=PROJECT_DIR / "buildarena" / "settings.py",
        outside=outside,
        project_file=PROJECT_DIR / "pwned.txt",
        port=local.port,
    )
    # The standard side never runs a repository's ./mvnw: the hostile script is the
    # operator's Maven here (ARENA_MVN), run in the sandbox like any build.
    files = {**maven_project_files(), "mvnw": mvnw}
    repo = make_git_repo(tmp_path / "hostile", files, executable=("mvnw",))
    mvn = tmp_path / "operator-maven" / "mvn"
    mvn.parent.mkdir()
    mvn.write_text(mvnw)
    mvn.chmod(0o755)
    config = config.with_changes(toolchains__mvn=str(mvn))
    collected = {}

    class Collect(RaceListener):
        def on_output(self, side, text, elapsed_ms):
            collected[side] = collected.get(side, "") + text

    spec = RaceSpec(str(repo), elide_cmd=["sh", "-c", "echo BUILD SUCCESS"])
    outcome = run_race(spec, config, Collect())
    output = collected["standard"]
    assert outcome.status == "completed"
    assert f"$ {mvn} -B package -DskipTests" in output
    assert "LEAK" not in output
    for attack in ("env", "proc-environ", "database", "project-db", "settings", "outside",
                   "project-file", "loopback", "host-alias"):  # fmt: skip
        assert f"blocked: {attack}" in output, attack
    assert "the-arena-secret-key" not in output and "hunter2" not in output
    assert not outside.exists()
    assert not (PROJECT_DIR / "pwned.txt").exists()
    assert database.read_text() == "SQLite format 3 ... every race"
    assert local.accepted == 0
    standard = outcome.sides["standard"]
    # It ran to its end (exit 0) but built nothing: the jar rule fails it.
    assert standard.exit_code == 0 and standard.error == "no jar produced", standard
    assert outcome.sides["elide"].status == "success"
