"""The many-hosts drill's machinery (scripts/netns_drill.py): network namespaces joined to this
machine by veth pairs, and a private PostgreSQL cluster listening on their host-side ends.

Names and addresses carry a number taken from the drill's pid (RUN) so that two drills never
collide; everything here is undone by `Hosts.remove` and `Cluster.stop`.
"""

import os
import pwd
import socket
import subprocess
import time
from pathlib import Path

HOSTS = ("h1", "h2", "h3")
RUN = os.getpid() % 200 + 20  # the drill's own addresses and interface names
SUBNET = f"10.231.{RUN}.0/24"


def run(*argv, check=True, user=None, **kwargs):
    if user:
        argv = ("runuser", "-u", user, "--", *argv)
    return subprocess.run(argv, check=check, capture_output=True, text=True, **kwargs)


def addresses(index):
    return f"10.231.{RUN}.{4 * index + 1}", f"10.231.{RUN}.{4 * index + 2}"


def veth(host):
    """(this machine's end, the namespace's end) of the host's link."""
    return f"vd{RUN}{host}", f"vn{RUN}{host}"


class Hosts:
    """One network namespace per host, each held by a process of its own (`unshare --net`),
    joined to this machine by a veth pair; `remove` undoes exactly what `create` made.

    The namespaces are reached through their holder's pid (nsenter), not through mounts
    under /run/netns, so nothing else on the machine can unmount them mid-drill.
    """

    def __init__(self):
        self.holders = {}

    def create(self):
        self.remove()  # leftovers of an interrupted drill (same names: only ours)
        for index, host in enumerate(HOSTS):
            ours, theirs = addresses(index)
            holder = subprocess.Popen(["unshare", "--net", "--", "sleep", "infinity"])
            self.holders[host] = holder
            deadline = time.monotonic() + 5
            while os.readlink(f"/proc/{holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
                if time.monotonic() > deadline:
                    raise SystemExit("could not create a network namespace")
                time.sleep(0.01)
            here, there = veth(host)
            run("ip", "link", "add", here, "type", "veth",
                "peer", "name", there, "netns", str(holder.pid))  # fmt: skip
            run("ip", "addr", "add", f"{ours}/30", "dev", here)
            run("ip", "link", "set", here, "up")
            run(*self.inside(host), "ip", "addr", "add", f"{theirs}/30", "dev", there)
            run(*self.inside(host), "ip", "link", "set", there, "up")
            run(*self.inside(host), "ip", "link", "set", "lo", "up")

    def inside(self, host):
        """The command prefix that runs a program in the host's network namespace."""
        return ("nsenter", "-t", str(self.holders[host].pid), "-n", "--")

    def cut(self, host):
        run(*self.inside(host), "ip", "link", "set", veth(host)[1], "down")

    def remove(self):
        for holder in self.holders.values():
            holder.kill()
            holder.wait()
        self.holders.clear()
        for host in HOSTS:  # gone with its namespace; a leftover of a crashed run is not
            run("ip", "link", "del", veth(host)[0], check=False)


class Cluster:
    """A private PostgreSQL cluster reachable on 127.0.0.1 and the host-side veth addresses."""

    def __init__(self, root):
        self.root = Path(root)
        self.data = self.root / "data"
        self.port = free_port()
        self.bin = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))[-1]).parent

    def start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        owner = pwd.getpwnam("postgres")
        os.chown(self.root, owner.pw_uid, owner.pw_gid)
        run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            user="postgres")  # fmt: skip
        listen = ",".join(["127.0.0.1", *(addresses(i)[0] for i in range(len(HOSTS)))])
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '{listen}'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\nfsync = off\n"
            )
        (self.data / "pg_hba.conf").write_text(
            f"local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all {SUBNET} trust\n"
        )
        run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-w", "start", user="postgres")  # fmt: skip
        run(str(self.bin / "createdb"), "-h", str(self.root), "-p", str(self.port), "arena",
            user="postgres")  # fmt: skip

    def url(self, address="127.0.0.1"):
        return f"postgres://postgres@{address}:{self.port}/arena"

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop",
                user="postgres", check=False)  # fmt: skip


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
