"""The build's network when it is on: slirp4netns, and routes that forbid the host's neighbourhood.

slirp4netns (with `--enable-sandbox --enable-seccomp`, so a flaw in its TCP/IP stack lands in
an empty mount namespace without capabilities and behind a seccomp filter) connects the build's
network namespace to the outside through the host's sockets, with `--disable-host-loopback`
so that 127.0.0.1 and its alias 10.0.2.2 are refused. slirp4netns forwards anything else, the
host's own addresses and its LAN included, so before the build starts the worker (root, which
holds CAP_NET_ADMIN over every network namespace) adds `prohibit` routes inside the build's
namespace: link-local 169.254.0.0/16, 0.0.0.0/8, multicast and reserved ranges, every address
of the host's interfaces, the host's connected subnets and every other destination of its
routing tables but the default route (its LAN and whatever it reaches through a gateway of
its own, public addresses or not), and the private ranges unless ARENA_BUILD_ALLOW_PRIVATE_NETS
is set. slirp4netns runs without IPv6, so the build has no IPv6 route at all.
slirp's own 10.0.2.0/24 (DNS on 10.0.2.3) is a more specific route and keeps working. The build
has no capability in its namespace, so it cannot change the routes, and without CAP_NET_RAW it
cannot send packets that bypass them.
"""

import contextlib
import ipaddress
import json
import os
import select
import shutil
import subprocess
import time

from workers.engine.measuring.process import LaunchError

SLIRP_READY_TIMEOUT = 10.0
ALWAYS_BLOCKED = ("0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
# slirp4netns' own network inside the build's namespace (its gateway and DNS resolver).
SLIRP_NETWORK = ipaddress.ip_network("10.0.2.0/24")


def host_addresses():
    """IPv4 addresses of this host's interfaces (loopback aside), from `ip -j addr`."""
    ip = shutil.which("ip")
    if ip is None:
        raise LaunchError("iproute2 (ip) is not installed: cannot protect the host's addresses")
    result = subprocess.run(
        [ip, "-j", "-4", "addr", "show"], capture_output=True, text=True, timeout=10, check=True
    )
    found = []
    for interface in json.loads(result.stdout or "[]"):
        for address in interface.get("addr_info", ()):
            local = address.get("local")
            if local and not ipaddress.ip_address(local).is_loopback:
                found.append(local)
    return found


def host_subnets():
    """IPv4 networks this host reaches otherwise than through its default route: those of
    its interfaces' addresses and every other route's destination (a /8 or narrower), in
    every table."""
    ip = shutil.which("ip")
    if ip is None:
        raise LaunchError("iproute2 (ip) is not installed: cannot protect the host's networks")
    found = []
    for argv in (
        [ip, "-j", "-4", "addr", "show"],
        [ip, "-j", "-4", "route", "show", "table", "all"],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True)
        for row in json.loads(result.stdout or "[]"):
            for address in row.get("addr_info", ()):
                found.append(f"{address['local']}/{address.get('prefixlen', 32)}")
            if row.get("type", "unicast") == "unicast" and row.get("dst", "default") != "default":
                found.append(row["dst"] if "/" in row["dst"] else f"{row['dst']}/32")
    networks = {ipaddress.ip_network(net, strict=False) for net in found}
    # Routes wider than a /8 stand for a default route (a VPN's 0.0.0.0/1 + 128.0.0.0/1);
    # inside slirp's own 10.0.2.0/24 a host address names slirp's gateway, not the host's LAN.
    return sorted(
        str(net)
        for net in networks
        if not net.is_loopback and net.prefixlen >= 8 and not net.subnet_of(SLIRP_NETWORK)
    )


def blocked_networks(allow_private):
    networks = [*ALWAYS_BLOCKED, *(() if allow_private else PRIVATE_RANGES)]
    own = [f"{address}/32" for address in host_addresses()]
    return list(dict.fromkeys([*networks, *own, *host_subnets()]))


def describe_blocked(allow_private):
    private = "" if allow_private else ", private ranges"
    return f"loopback, the host's own addresses and subnets, link-local{private}"


NEEDS_ROOT = (
    "network on needs a worker running as root (to start slirp4netns and block the host's "
    "addresses and local networks from the build); run the worker as root or set "
    "ARENA_BUILD_NETWORK=off"
)


def apply_route_policy(child_pid, allow_private):
    """Add the prohibit routes in the network namespace of `child_pid` (needs root)."""
    commands = "".join(f"route add prohibit {net}\n" for net in blocked_networks(allow_private))
    try:
        result = subprocess.run(
            ["nsenter", f"--net=/proc/{child_pid}/ns/net", "--", "ip", "-batch", "-"],
            input=commands,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LaunchError(f"could not restrict the build's network: {exc}") from None
    if result.returncode != 0:
        raise LaunchError(f"could not restrict the build's network: {result.stderr.strip()[:300]}")


def start_slirp(slirp, child_pid):
    """Start slirp4netns for the network namespace of `child_pid`; returns (process, exit fd)
    once the interface is up.

    It runs as the worker (root): it opens /dev/net/tun inside the build's namespace, a device
    that is mode 0600 on some hosts. `--enable-sandbox` then puts it in a mount namespace of
    its own holding nothing of the host and drops every capability but NET_BIND_SERVICE, and
    `--enable-seccomp` limits its system calls, before it handles a single packet.
    """
    net_fd = os.open(f"/proc/{child_pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()
    try:
        process = subprocess.Popen(
            [
                slirp,
                "--configure",
                "--mtu=65520",
                "--disable-host-loopback",
                "--enable-sandbox",
                "--enable-seccomp",
                "--ready-fd",
                str(ready_w),
                "--exit-fd",
                str(exit_r),
                "--netns-type=path",
                f"/proc/self/fd/{net_fd}",
                "tap0",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(ready_w, exit_r, net_fd),
            start_new_session=True,
        )
    finally:
        for fd in (ready_w, exit_r, net_fd):
            os.close(fd)
    try:
        ready, _, _ = select.select([ready_r], [], [], SLIRP_READY_TIMEOUT)
        if not ready or os.read(ready_r, 1) != b"1":
            process.kill()
            process.wait()
            os.close(exit_w)
            raise LaunchError("could not set up the build's network (slirp4netns failed)")
    finally:
        os.close(ready_r)
    return process, exit_w


def stop_slirp(process):
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def read_info(fd):
    """bubblewrap's --info-fd JSON ({"child-pid": ...}), or None when it exited first."""
    data = b""
    while True:
        ready, _, _ = select.select([fd], [], [], SLIRP_READY_TIMEOUT)
        if not ready:
            raise LaunchError("bubblewrap did not start in time")
        chunk = os.read(fd, 4096)
        if not chunk:
            return None
        data += chunk
        with contextlib.suppress(ValueError):
            return json.loads(data)


def wait_for_loopback(child_pid, timeout=SLIRP_READY_TIMEOUT):
    """Wait until bubblewrap has brought up the sandbox's loopback device.

    bubblewrap configures `lo` right after writing --info-fd; slirp4netns configuring tap0 in
    the same namespace at that moment makes bubblewrap's netlink request fail now and then
    ("loopback: Failed RTM_NEWADDR"). The local route of 127.0.0.1 exists once lo is up.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child_pid}/net/fib_trie") as trie:
                if "127.0.0.1" in trie.read():
                    return True
        except OSError:
            return False
        time.sleep(0.001)
    raise LaunchError("the sandbox did not set up its network in time")
