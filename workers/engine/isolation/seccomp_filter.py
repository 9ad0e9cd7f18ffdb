"""The seccomp filter of every build, built with libseccomp's own Python bindings.

Run as a script by the system's Python (`/usr/bin/python3 seccomp_filter.py`), where Debian's
python3-seccomp provides the `seccomp` module: it writes the compiled BPF program to stdout and
the engine hands it to bubblewrap with `--seccomp FD`. libseccomp resolves syscall numbers per
architecture and emits the architecture checks, so nothing here is hand-written BPF.

Denied with EPERM (the build sees an ordinary "Operation not permitted"):
- mounting and namespaces: mount, umount2, pivot_root, move_mount, open_tree, fsopen,
  fsconfig, fsmount, fspick, mount_setattr, unshare, setns, and clone with any CLONE_NEW*
  flag; clone3 answers ENOSYS, so the C library falls back to clone, whose flags are checked;
- other processes: ptrace (every use, even inside the build's own PID namespace; builds do not
  debug), process_vm_readv/writev, kcmp, pidfd_getfd;
- the kernel's keyrings, BPF and performance counters: keyctl, add_key, request_key, bpf,
  perf_event_open, userfaultfd;
- the machine: kexec_load, kexec_file_load, reboot, init_module, finit_module, delete_module,
  swapon, swapoff, acct, quotactl, quotactl_fd, settimeofday, clock_settime, clock_adjtime,
  adjtimex, iopl, ioperm, modify_ldt, syslog, open_by_handle_at, name_to_handle_at,
  lookup_dcookie, uselib, vhangup, fanotify_init;
- kernel interfaces with their own history of privilege escalations and nothing a build needs:
  io_uring_setup, io_uring_enter, io_uring_register (io_uring runs operations outside
  seccomp's view), memfd_secret, process_madvise;
- CPU placement: sched_setaffinity, so a build pinned to its CPUs (parallel mode) cannot widen
  them; reading its affinity (sched_getaffinity) stays allowed;
- socket families other than AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK (NETLINK_ROUTE only,
  which the C library and the JDK use to list interfaces) answer EAFNOSUPPORT, for socket and
  socketpair: vsock (not namespaced: it reaches the host and a hypervisor around the network
  namespace), packet, bluetooth, CAN, XDP, alg and every family to come. The 32-bit socketcall
  multiplexer, whose arguments seccomp cannot read, is denied whole.
The 32-bit (x86) and x32 system-call tables get the same rules, so `int 0x80` is no way round.
"""

import contextlib
import sys

DENIED = """
    mount umount2 pivot_root move_mount open_tree fsopen fsconfig fsmount fspick mount_setattr
    unshare setns ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd
    keyctl add_key request_key bpf perf_event_open userfaultfd
    kexec_load kexec_file_load reboot init_module finit_module delete_module swapon swapoff
    acct quotactl quotactl_fd settimeofday clock_settime clock_adjtime adjtimex iopl ioperm
    modify_ldt syslog open_by_handle_at name_to_handle_at lookup_dcookie uselib vhangup
    fanotify_init io_uring_setup io_uring_enter io_uring_register memfd_secret process_madvise
    sched_setaffinity socketcall
""".split()  # noqa: SIM905 (reads as the list in the docstring)
CLONE_NEW_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
    "CLONE_NEWTIME": 0x00000080,
}
EPERM, ENOSYS, EAFNOSUPPORT = 1, 38, 97
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16
ALLOWED_FAMILIES = (AF_UNIX, AF_INET, AF_INET6, AF_NETLINK)
NETLINK_ROUTE = 0


def build_filter(seccomp):
    """A SyncFilter allowing everything but the calls above (libseccomp's `seccomp` module)."""
    policy = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for arch in (seccomp.Arch.X86, seccomp.Arch.X32):
        with contextlib.suppress(Exception):  # already there, or not supported here
            policy.add_arch(arch)
    for name in DENIED:
        try:
            policy.add_rule(seccomp.ERRNO(EPERM), name)
        except (RuntimeError, ValueError):
            continue  # a call this kernel's headers do not know cannot be made either
    policy.add_rule(seccomp.ERRNO(ENOSYS), "clone3")
    for flag in CLONE_NEW_FLAGS.values():
        flag_set = seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag)
        policy.add_rule(seccomp.ERRNO(EPERM), "clone", flag_set)
    for call in ("socket", "socketpair"):
        _allow_families(seccomp, policy, call)
    return policy


def _allow_families(seccomp, policy, call):
    """Every address family but ALLOWED_FAMILIES answers EAFNOSUPPORT (an allow-list written
    as the gaps between the allowed numbers, since a rule compares one value)."""
    refuse = seccomp.ERRNO(EAFNOSUPPORT)
    previous = -1
    for family in ALLOWED_FAMILIES:
        for gap in range(previous + 1, family):
            policy.add_rule(refuse, call, seccomp.Arg(0, seccomp.EQ, gap))
        previous = family
    policy.add_rule(refuse, call, seccomp.Arg(0, seccomp.GT, ALLOWED_FAMILIES[-1]))
    netlink_other = seccomp.Arg(2, seccomp.NE, NETLINK_ROUTE)
    policy.add_rule(refuse, call, seccomp.Arg(0, seccomp.EQ, AF_NETLINK), netlink_other)


def main():
    import seccomp  # Debian's python3-seccomp, importable by the system's Python

    build_filter(seccomp).export_bpf(sys.stdout)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
